// Package scan turns Tova source text into tokens.
//
// Statements end at line breaks, so the scanner emits NEWLINE tokens, but
// only where a line break can end a statement: at top level and directly
// inside { } (blocks, and object literals, which the parser lets span
// lines). Inside ( ) and [ ] line breaks are insignificant. Every token
// also records whether a line break preceded it (Token.NLBefore), which
// lets the parser blame a missing `)` or `]` on the bracket's opener when
// the next line starts instead.
//
// A string with {expr} interpolation becomes one STRING token whose Parts
// hold the literal text and, for each embedded expression, its own token
// list; nested strings inside an interpolation are scanned the same way.
// Triple-quoted strings are dedented here, so the parser sees final text.
package scan
