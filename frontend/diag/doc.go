// Package diag holds the compile-time error type shared by the scanner,
// parser and resolver, and the one text format used to show it:
//
//	file:line:col: message
//	<the source line>
//	<caret line: ^ under the start, ~ to the end of the span>
//
// The core packages only build errors; printing is left to the command line.
package diag
