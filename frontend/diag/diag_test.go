package diag

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

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

// A very long line (minified or generated code) is shown as a window of
// snippetWidth characters around the column, "…" marking what was cut.
func TestSnippetLongLine(t *testing.T) {
	line := strings.Repeat("a", 1000) + "bbbbb" + strings.Repeat("c", 1000)
	src := []byte("x\n" + line + "\n")
	got := Snippet(src, pos(2, 1001), pos(2, 1006))
	shownLine, carets, _ := strings.Cut(got, "\n")
	want := "…" + strings.Repeat("a", 80) + "bbbbb" + strings.Repeat("c", 75) + "…"
	if shownLine != want {
		t.Errorf("window:\n got %q\nwant %q", shownLine, want)
	}
	if carets != strings.Repeat(" ", 81)+"^~~~~" {
		t.Errorf("carets %q: the caret must sit under the first b", carets)
	}
	// Near the start: no "…" before; near the end: none after.
	if got := Snippet(src, pos(2, 3), pos(2, 4)); !strings.HasPrefix(got, "aaa") || !strings.HasSuffix(got, "…\n  ^") {
		t.Errorf("start of a long line: %q", got)
	}
	end := Snippet(src, pos(2, 2005), token.Pos{})
	l, c, _ := strings.Cut(end, "\n")
	if !strings.HasPrefix(l, "…") || strings.HasSuffix(l, "…") || len([]rune(l)) != snippetWidth+1 || len(c) != snippetWidth+1 {
		t.Errorf("end of a long line: %d runes, caret at %d: %q", len([]rune(l)), len(c), end)
	}
	// A span running past the window is cut at its edge.
	if got := Snippet(src, pos(2, 1001), pos(2, 1900)); !strings.HasSuffix(got, "^"+strings.Repeat("~", 79)) {
		t.Errorf("long span: %q", got[strings.Index(got, "\n")+1:])
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

// A source line shown in an error never carries control characters or
// bidirectional overrides to the terminal: each is shown as U+FFFD, in
// its column.
func TestSnippetEscapesControls(t *testing.T) {
	src := []byte("x = \x1b[31m\u202eevil\u202c\x07 + 1\n")
	got := Snippet(src, token.Pos{Line: 1, Col: 5}, token.Pos{})
	if want := "x = \uFFFD[31m\uFFFDevil\uFFFD\uFFFD + 1\n    ^"; got != want {
		t.Errorf("Snippet = %q, want %q", got, want)
	}
}

// Bytes that are no UTF-8 are shown one U+FFFD each, as the scanner
// counts each a column: the caret stays under the token it points at
// (a run of them shown as one put it a column right per byte more).
func TestSnippetInvalidUTF8(t *testing.T) {
	src := []byte("x = \"\xff\xfe\xfd\" + y\n")
	got := Snippet(src, token.Pos{Line: 1, Col: 13}, token.Pos{Line: 1, Col: 14})
	if want := "x = \"\uFFFD\uFFFD\uFFFD\" + y\n            ^"; got != want {
		t.Errorf("Snippet = %q, want %q", got, want)
	}
}

// A message quoting a huge token (a 5 MB identifier of a generated or
// broken file) is cut at a character boundary, saying how much was left
// out; its snippet is cut as any long line is.
func TestLongMessageIsCut(t *testing.T) {
	name := strings.Repeat("é", 3000) // 6000 bytes
	e := &Error{File: "a.tova", Pos: token.Pos{Line: 1, Col: 1}, Msg: "undefined: " + name}
	got := e.Error()
	if !utf8.ValidString(got) || !strings.HasPrefix(got, "a.tova:1:1: undefined: éé") {
		t.Fatalf("cut message %.80q", got)
	}
	if !strings.HasSuffix(got, "… (5012 more bytes)") || len(got) > maxMsg+40 {
		t.Errorf("cut message ends %q, %d bytes", got[len(got)-30:], len(got))
	}
	if short := (&Error{Msg: "undefined: x"}).Error(); short != "undefined: x" {
		t.Errorf("short message %q", short)
	}
}

// The caret is put under its token as a terminal shows the line: two
// columns for each wide character before it (CJK, emoji), none for a
// combining mark (it was a column per character, left of the token).
func TestSnippetWideCharacters(t *testing.T) {
	src := []byte("name = \"日本語😀e\u0301\"; y = z\n")
	got := Snippet(src, token.Pos{Line: 1, Col: 22}, token.Pos{}) // z
	if want := "name = \"日本語😀e\u0301\"; y = z\n" + strings.Repeat(" ", 24) + "^"; got != want {
		t.Errorf("Snippet = %q, want %q", got, want)
	}
}
