package diag

import (
	"errors"
	"testing"

	"tova/frontend/token"
)

func pos(l, c int32) token.Pos { return token.Pos{Line: l, Col: c} }

func TestFormat(t *testing.T) {
	src := []byte("x = 1\ny = prnt(x)\n\tz = ünï + q\r\nlast")
	tests := []struct {
		e    *Error
		want string
	}{
		{
			&Error{File: "a.tova", Pos: pos(2, 5), End: pos(2, 9), Msg: "undefined: prnt (did you mean print?)"},
			"a.tova:2:5: undefined: prnt (did you mean print?)\ny = prnt(x)\n    ^~~~",
		},
		{ // a one-character span has no tildes
			&Error{File: "a.tova", Pos: pos(1, 5), End: pos(1, 6), Msg: "m"},
			"a.tova:1:5: m\nx = 1\n    ^",
		},
		{ // tabs are kept, columns count characters
			&Error{File: "a.tova", Pos: pos(3, 12), End: pos(3, 13), Msg: "undefined: q"},
			"a.tova:3:12: undefined: q\n\tz = ünï + q\n\t          ^",
		},
		{ // span across lines: caret only
			&Error{File: "a.tova", Pos: pos(3, 6), End: pos(4, 2), Msg: "m"},
			"a.tova:3:6: m\n\tz = ünï + q\n\t    ^",
		},
		{ // \r\n line ending, last line without newline
			&Error{File: "a.tova", Pos: pos(4, 1), End: pos(4, 5), Msg: "m"},
			"a.tova:4:1: m\nlast\n^~~~",
		},
		{ // past the end of the input
			&Error{File: "a.tova", Pos: pos(5, 1), Msg: "expected '}', found end of file"},
			"a.tova:5:1: expected '}', found end of file\n\n^",
		},
		{ // notes follow in the same shape
			&Error{File: "a.tova", Pos: pos(2, 1), End: pos(2, 2), Msg: "cannot assign to immutable binding y",
				Notes: []Note{{Pos: pos(1, 1), Msg: "y declared here"}}},
			"a.tova:2:1: cannot assign to immutable binding y\ny = prnt(x)\n^\na.tova:1:1: note: y declared here\nx = 1\n^",
		},
		{ // no position
			&Error{File: "a.tova", Msg: "internal"},
			"a.tova: internal",
		},
	}
	for _, tt := range tests {
		if got := Format(tt.e, src); got != tt.want {
			t.Errorf("Format:\n got %q\nwant %q", got, tt.want)
		}
	}
}

func TestList(t *testing.T) {
	var l List
	if l.Err() != nil {
		t.Fatal("empty list must give a nil error")
	}
	l.Add("b.tova", pos(1, 1), token.Pos{}, "third")
	l.Add("a.tova", pos(3, 1), token.Pos{}, "second")
	l.Add("a.tova", pos(1, 9), token.Pos{}, "first")
	err := l.Err()
	want := "a.tova:1:9: first\na.tova:3:1: second\nb.tova:1:1: third"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
	var dl List
	if !errors.As(err, &dl) || len(dl) != 3 || dl[0].Msg != "first" {
		t.Errorf("errors.As gave %v", dl)
	}
	if (&Error{File: "f", Pos: pos(2, 3), Msg: "m"}).Error() != "f:2:3: m" {
		t.Error("Error() format")
	}
}
