package diag

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"

	"tova/frontend/token"
)

// Error is one compile-time error. End is just past the last character of
// the offending span (zero when only the start is known).
type Error struct {
	File     string
	Pos, End token.Pos
	Msg      string
	Notes    []Note
}

// Note points at a second position that explains the error, such as the
// declaration of a binding ("x declared here").
type Note struct {
	Pos token.Pos
	Msg string
}

// Error returns "file:line:col: message".
func (e *Error) Error() string {
	return header(e.File, e.Pos, e.Msg)
}

// maxMsg bounds the bytes of a message shown: one quoting a token of
// a broken or generated file (a 5 MB identifier) is cut, as its source
// line is in a snippet.
const maxMsg = 1000

func header(file string, pos token.Pos, msg string) string {
	if len(msg) > maxMsg {
		cut := maxMsg
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = fmt.Sprintf("%s… (%d more bytes)", msg[:cut], len(msg)-cut)
	}
	var b strings.Builder
	if file != "" {
		b.WriteString(file)
		b.WriteByte(':')
	}
	if pos.IsValid() {
		fmt.Fprintf(&b, "%d:%d: ", pos.Line, pos.Col)
	} else if file != "" {
		b.WriteByte(' ')
	}
	b.WriteString(msg)
	return b.String()
}

// List is a list of errors; as an error it prints one per line.
type List []*Error

// Add appends an error.
func (l *List) Add(file string, pos, end token.Pos, msg string, notes ...Note) {
	*l = append(*l, &Error{File: file, Pos: pos, End: end, Msg: msg, Notes: notes})
}

func (l List) Len() int      { return len(l) }
func (l List) Swap(i, j int) { l[i], l[j] = l[j], l[i] }
func (l List) Less(i, j int) bool {
	a, b := l[i], l[j]
	if a.File != b.File {
		return a.File < b.File
	}
	return a.Pos.Before(b.Pos)
}

// Sort orders the list by file and position (stable for equal positions).
func (l List) Sort() { sort.Stable(l) }

// Error returns the errors, sorted by position, one per line.
func (l List) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	s := make(List, len(l))
	copy(s, l)
	s.Sort()
	var b strings.Builder
	for i, e := range s {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Err returns nil for an empty list, else the list sorted by position.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	l.Sort()
	return l
}

// Format renders e with its source line and a caret line under the span:
//
//	app.tova:3:7: undefined: prnt (did you mean print?)
//	  x = prnt(1)
//	      ^~~~
//
// Columns count characters; tabs before the column are kept as tabs in the
// caret line so the caret lines up in any tab width. Each note follows in
// the same shape with "note: " before its message. There is no trailing
// newline.
func Format(e *Error, src []byte) string {
	var b strings.Builder
	b.WriteString(e.Error())
	writeSnippet(&b, src, e.Pos, e.End)
	for _, n := range e.Notes {
		b.WriteByte('\n')
		b.WriteString(header(e.File, n.Pos, "note: "+n.Msg))
		writeSnippet(&b, src, n.Pos, token.Pos{})
	}
	return b.String()
}

// writeSnippet writes "\n<line>\n<carets>" for pos, if pos is valid.
func writeSnippet(b *strings.Builder, src []byte, pos, end token.Pos) {
	if !pos.IsValid() {
		return
	}
	b.WriteByte('\n')
	b.WriteString(Snippet(src, pos, end))
}

// snippetWidth bounds the characters of a source line a snippet shows:
// a longer line (minified or generated code) is cut to a window around
// the column, marked with "…" where text was left out.
const snippetWidth = 160

// Snippet returns the source line of pos and, under it, a caret at pos
// (with tildes up to end, on the same line): "<line>\n<carets>". Columns
// count characters; tabs before the column are kept as tabs in the caret
// line, so that the caret lines up in any tab width.
func Snippet(src []byte, pos, end token.Pos) string {
	line := []rune(SourceLine(src, int(pos.Line)))
	for i, r := range line {
		// A control character or a bidirectional override would act on
		// the terminal (escape sequences, reordered text): shown as
		// U+FFFD, one column as before.
		if r < 0x20 && r != '\t' || r == 0x7f || r >= 0x80 && r < 0xa0 || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
			line[i] = '\uFFFD'
		}
	}
	col := int(pos.Col) // 1-based, in line
	span := 1
	if end.Line == pos.Line && end.Col > pos.Col+1 {
		span = int(end.Col - pos.Col)
	}
	if len(line) > snippetWidth {
		// A window around the column, "…" in place of each cut end.
		from := max(0, min(col-1-snippetWidth/2, len(line)-snippetWidth))
		to := from + snippetWidth
		window := slices.Clip(line[from:to])
		col -= from
		if from > 0 {
			window = append([]rune{'…'}, window...)
			col++
		}
		span = max(1, min(span, len(window)-col+1)) // not past the window
		if to < len(line) {
			window = append(window, '…')
		}
		line = window
	}
	var b strings.Builder
	b.WriteString(string(line))
	b.WriteByte('\n')
	c := 1
	for _, r := range line {
		if c >= col {
			break
		}
		switch {
		case r == '\t':
			b.WriteByte('\t')
		default:
			// as wide as the character is shown: two columns for a
			// wide one (CJK, emoji), none for a combining mark
			b.WriteString(strings.Repeat(" ", displayWidth(r)))
		}
		c++
	}
	for ; c < col; c++ {
		b.WriteByte(' ')
	}
	b.WriteByte('^')
	b.WriteString(strings.Repeat("~", span-1))
	return b.String()
}

// displayWidth is how many columns a terminal gives r.
func displayWidth(r rune) int {
	switch {
	case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) || r == '\u200d':
		return 0
	}
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}

// SourceLine returns line n (1-based) of src without its terminator; it
// accepts \n, \r\n and \r line endings, like the scanner.
func SourceLine(src []byte, n int) string {
	if n < 1 {
		return ""
	}
	line := 1
	start := 0
	for i := 0; i < len(src) && line < n; i++ {
		switch src[i] {
		case '\n':
			line++
			start = i + 1
		case '\r':
			if i+1 < len(src) && src[i+1] == '\n' {
				i++
			}
			line++
			start = i + 1
		}
	}
	if line < n {
		return ""
	}
	end := start
	for end < len(src) && src[end] != '\n' && src[end] != '\r' {
		end++
	}
	s := src[start:end]
	if n == 1 {
		s = bytes.TrimPrefix(s, []byte("\ufeff")) // the scanner skips it too
	}
	if !utf8.Valid(s) {
		// One U+FFFD per byte that is no UTF-8, as the scanner counts
		// each such byte a column (a run as one put the caret off).
		var b strings.Builder
		for len(s) > 0 {
			r, size := utf8.DecodeRune(s)
			if r == utf8.RuneError && size == 1 {
				b.WriteString("\uFFFD")
			} else {
				b.Write(s[:size])
			}
			s = s[size:]
		}
		return b.String()
	}
	return string(s)
}
