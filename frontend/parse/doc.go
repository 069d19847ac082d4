// Package parse builds the syntax tree (package ast) of one Tova source
// file.
//
// It is a hand-written recursive-descent parser over the tokens of package
// scan. Statements end at line breaks; an error abandons the current
// statement, skips to the next line of the same block and goes on, so one
// run reports several errors. Messages read "expected X, found Y", and a
// missing closing bracket names its opener.
//
// The parser also performs the desugarings listed in package ast's
// documentation: column shorthand (.name), method pipes (x |> .m()), and
// unit literals (30.seconds).
package parse
