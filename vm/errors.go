package vm

import (
	"errors"
	"fmt"
	"strings"
)

// StackFrame is one line of a Tova stack trace.
type StackFrame struct {
	Func string
	File string
	Line int
	Col  int
	// Omitted, when not 0, makes this line stand for that many frames
	// left out of a deep stack.
	Omitted int
}

func (f StackFrame) String() string {
	if f.Omitted > 0 {
		return fmt.Sprintf("... %d more frames", f.Omitted)
	}
	return fmt.Sprintf("%s (%s:%d:%d)", f.Func, f.File, f.Line, f.Col)
}

// Error is a Tova runtime error: raised by `throw`, by a failing builtin or
// by the VM itself. It carries a Tova stack trace, never a Go one.
type Error struct {
	Kind  string // "Error" (thrown), "TypeError", "ValueError", "OverflowError", "StackOverflow", "Cancelled", ...
	Msg   string
	Value Value // the thrown value; Nil for errors raised by the runtime
	Stack []StackFrame
	// Cause is the Go error a builtin returned, if any.
	Cause error
}

func (e *Error) Error() string { return e.Msg }

func (e *Error) Unwrap() error { return e.Cause }

// Pos returns the innermost stack frame, if any.
func (e *Error) Pos() (StackFrame, bool) {
	if len(e.Stack) == 0 {
		return StackFrame{}, false
	}
	return e.Stack[0], true
}

// Trace formats the stack trace, innermost call first.
func (e *Error) Trace() string {
	var b strings.Builder
	for _, f := range e.Stack {
		if f.Omitted > 0 {
			fmt.Fprintf(&b, "  %s\n", f)
			continue
		}
		fmt.Fprintf(&b, "  at %s\n", f)
	}
	return b.String()
}

// Errorf makes a runtime error of the given kind for a builtin to return.
func Errorf(kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// TypeErrorf makes a TypeError.
func TypeErrorf(format string, args ...any) *Error { return Errorf("TypeError", format, args...) }

// ErrCancelled is the kind of the error raised when a thread's context ends.
const ErrCancelled = "Cancelled"

// IsCancelled reports whether err is, or wraps, a runtime error of the
// kind ErrCancelled.
func IsCancelled(err error) bool {
	var ve *Error
	return errors.As(err, &ve) && ve.Kind == ErrCancelled
}

// ErrExit is the kind of the error exit(code) raises to end a script:
// no handler catches it, and its Value is the exit code (an Int).
const ErrExit = "Exit"

// ErrorValue is the Tova value of a caught error: a record with message,
// kind, stack and value.
func ErrorValue(e *Error) Value { return errorValue(e) }
