// Package resolve binds every identifier of a parsed program to its
// declaration and decides where each binding lives at run time.
//
// It fills the fields the compiler reads (see package ast): Ident.Binding,
// Function.Locals and FreeVars, File.Locals and Globals, Assign.Declares.
//
// Storage classes:
//   - Global (module slot): every top-level function, type, variant,
//     model, env, named hook and data source; every binding declared in a
//     server body (outside functions); and every other top-level binding
//     that some function, server block or other file refers to.
//   - Local: a register slot of a function. The top-level code of each
//     file is that file's main function; its remaining top-level bindings
//     are its locals (File.Locals).
//   - Cell / Free: closure conversion. A local captured by an inner
//     function becomes a Cell in its owner; each function between the
//     owner and the user gets a Free binding whose Outer is the binding one
//     level out.
//
// Assignment follows Decision 3 of the semantics: `x = e` assigns a
// visible `var`, is an error on a visible immutable binding, and otherwise
// declares a new immutable binding in the current scope. A top-level
// binding of an assignment or `var` is visible to assignments only below
// its declaration (code above may read it).
//
// A program is one file: an import may only name builtins of a builtin
// module (under another name with `as`); any other import is an error.
package resolve
