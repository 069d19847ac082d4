package scan

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"tova/frontend/token"
)

// copyChar appends the current character to b (a line break as "\n").
func (s *scanner) copyChar(b *strings.Builder) {
	c := s.src[s.off]
	switch {
	case isLineBreak(c):
		b.WriteByte('\n')
	case c < utf8.RuneSelf:
		b.WriteByte(c)
	default:
		_, n := utf8.DecodeRune(s.src[s.off:])
		b.Write(s.src[s.off : s.off+n])
	}
	s.next()
}

// escape decodes the escape sequence at the backslash. An unknown escape
// keeps its backslash. In single-quoted strings braces are literal, so \{
// and \} keep the backslash there. \xHH, \uXXXX and \u{...} read as
// JavaScript reads them (the reference compiles a string to a JavaScript
// literal), except that a string holds code points: a UTF-16 surrogate
// pair written as two \uXXXX escapes is the one code point it encodes,
// and a lone surrogate is an error.
func (s *scanner) escape(b *strings.Builder, quote byte) {
	start := s.pos()
	s.next()
	if s.off >= len(s.src) {
		b.WriteByte('\\')
		return
	}
	c := s.src[s.off]
	switch c {
	case 'n':
		b.WriteByte('\n')
	case 't':
		b.WriteByte('\t')
	case 'r':
		b.WriteByte('\r')
	case '0':
		b.WriteByte(0)
	case '\\', '"', '\'':
		b.WriteByte(c)
	case '{', '}':
		if quote == '\'' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	case 'x':
		s.next()
		v, ok := s.hexDigits(2)
		if !ok {
			s.error(start, s.pos(), `malformed \x escape: \x takes two hex digits (\x41 is "A")`)
			return
		}
		b.WriteRune(rune(v))
		return
	case 'u':
		if s.peekByte(1) == '{' {
			s.bracedCodePoint(b, start)
			return
		}
		s.next()
		r, ok := s.utf16Escape(start)
		if ok {
			b.WriteRune(r)
		}
		return
	default:
		b.WriteByte('\\')
		s.copyChar(b)
		return
	}
	s.next()
}

// hexDigits reads exactly n hex digits at s.off. It reports false, with
// the scanner after the digits that were there, when fewer come.
func (s *scanner) hexDigits(n int) (uint32, bool) {
	var v uint32
	for i := 0; i < n; i++ {
		if s.off >= len(s.src) || !isDigitOf(s.src[s.off], 16) {
			return 0, false
		}
		c := s.src[s.off]
		d := uint32(c - '0')
		if c > '9' {
			d = uint32(c|0x20-'a') + 10
		}
		v = v<<4 | d
		s.next()
	}
	return v, true
}

// utf16Escape reads the four hex digits of a \uXXXX escape, s.off after
// the u, and a second \uXXXX when the first is a high surrogate. start
// is the escape's backslash, where errors begin.
func (s *scanner) utf16Escape(start token.Pos) (rune, bool) {
	v, ok := s.hexDigits(4)
	if !ok {
		s.error(start, s.pos(), `malformed \u escape: \u takes four hex digits (\u00e9) or a code point in braces (\u{e9})`)
		return 0, false
	}
	r := rune(v)
	if !utf16.IsSurrogate(r) {
		return r, true
	}
	if r < 0xDC00 && s.peekByte(0) == '\\' && s.peekByte(1) == 'u' && s.peekByte(2) != '{' {
		off, line, col := s.off, s.line, s.col
		s.next()
		s.next()
		if lo, ok := s.hexDigits(4); ok && lo >= 0xDC00 && lo < 0xE000 {
			return utf16.DecodeRune(r, rune(lo)), true
		}
		s.off, s.line, s.col = off, line, col
	}
	s.error(start, s.pos(), fmt.Sprintf(`lone surrogate \u%04X: a string holds code points, so a surrogate needs its pair (\uD83D\uDE00) or the code point (\u{1F600})`, r))
	return 0, false
}

// bracedCodePoint reads a \u{...} escape, s.off at the u.
func (s *scanner) bracedCodePoint(b *strings.Builder, start token.Pos) {
	s.next()
	s.next()
	begin := s.off
	for s.off < len(s.src) && isDigitOf(s.src[s.off], 16) {
		s.next()
	}
	hex := string(s.src[begin:s.off])
	if s.peekByte(0) != '}' {
		s.error(start, s.pos(), `malformed \u{...} escape`)
		return
	}
	s.next()
	v, err := strconv.ParseUint(hex, 16, 32)
	if err != nil || hex == "" || v > utf8.MaxRune || v >= 0xD800 && v < 0xE000 {
		s.error(start, s.pos(), `invalid code point in \u{`+hex+`} escape`)
		return
	}
	b.WriteRune(rune(v))
}

// unclosedInterpolation is the error of a `{` in a string that nothing
// closes: most often a brace meant as text ("{bad", JSON in a string).
const unclosedInterpolation = "unterminated string interpolation: this '{' begins an expression that no '}' ends (write \\{ for a literal brace, or use '...' quotes)"

// brace reads what a '{' in a string begins, s.off at it: `{}` is text
// (it holds no expression: the placeholder of fmt("{} + {}", 1, 2)),
// else an interpolation, appended to parts after flush has ended the
// text before it, and a new text run starts at *textPos. It reports
// whether the string goes on (false: the interpolation was unclosed,
// and the string ends with the source).
func (s *scanner) brace(b *strings.Builder, parts *[]token.StrPart, textPos *token.Pos, flush func()) bool {
	if s.peekByte(1) == '}' {
		b.WriteString("{}")
		s.next()
		s.next()
		return true
	}
	flush()
	at := s.pos()
	part, status := s.interpolationPart()
	if status == interpRewound {
		b.WriteByte('{') // (read on as text; reported)
		*textPos = at
		return true
	}
	*parts = append(*parts, part)
	*textPos = s.pos()
	return status == interpClosed
}

// How interpolationPart ended.
const (
	interpClosed   = iota // its '}' came
	interpRewound         // none came: the scanner is back after the '{'
	interpUnclosed        // none came, and the scanner is at the end
)

// interpolationPart scans `{expr}` in a string, s.off at the brace.
// When no '}' ends it, the brace is reported alone, not what reading the
// rest of the source as its expression met (a quote further on taken
// for a string opening). Then, outside any other interpolation and
// while s.rereads allows, the scanner goes back to after the brace, so
// that the string reads on as text to its own end and what follows it
// scans as it should (interpRewound); otherwise the string ends there,
// at the end of the source (interpUnclosed). (Going back from inside
// another interpolation, or without a bound, would read the rest of the
// source once per brace: exponential time in the nesting.)
func (s *scanner) interpolationPart() (part token.StrPart, status int) {
	brace := s.pos()
	s.next()
	off, line, col, cut := s.off, s.line, s.col, s.cut
	type held struct {
		pos, end token.Pos
		msg      string
	}
	var errs []held
	report := s.errh
	if report != nil {
		s.errh = func(pos, end token.Pos, msg string) { errs = append(errs, held{pos, end, msg}) }
	}
	exprPos := s.pos()
	toks, ok := s.interpolation()
	s.errh = report
	part = token.StrPart{Pos: exprPos, Tokens: toks}
	if !ok {
		s.error(brace, token.Pos{Line: brace.Line, Col: brace.Col + 1}, unclosedInterpolation)
		read := s.off - off
		if s.depth > 0 || read > s.rereads {
			s.cut = true
			return part, interpUnclosed
		}
		s.rereads -= read
		s.off, s.line, s.col, s.cut = off, line, col, cut
		return token.StrPart{}, interpRewound
	}
	for _, e := range errs {
		s.error(e.pos, e.end, e.msg)
	}
	return part, interpClosed
}

// interpolation scans the expression tokens after a `{` inside a string,
// up to and including the closing `}`. ok is false at end of input.
func (s *scanner) interpolation() (toks []token.Token, ok bool) {
	if s.depth >= maxInterpDepth {
		start := s.pos()
		depth := 1
		for s.off < len(s.src) && depth > 0 {
			switch s.src[s.off] {
			case '{':
				depth++
			case '}':
				depth--
			}
			s.next()
		}
		s.error(start, s.pos(), "string interpolation nested too deeply")
		p := s.pos()
		return []token.Token{{Kind: token.EOF, Pos: p, End: p}}, depth == 0
	}
	s.depth++
	toks, ok = s.scanTokens(true)
	s.depth--
	// The EOF marks where the expression ends: on the closing brace,
	// which it names (Lit "}") for the parser's messages.
	end := token.Token{Kind: token.EOF, Pos: s.pos(), End: s.pos()}
	if ok {
		end.Pos.Col--
		end.End = end.Pos
		end.Lit = "}"
	}
	toks = append(toks, end)
	return toks, ok
}

// string scans "..." (also f"..."): escapes and {expr} interpolation.
// start is the position of the opening quote or prefix.
func (s *scanner) string(start token.Pos) token.Token {
	s.next() // "
	var parts []token.StrPart
	var b strings.Builder
	textPos := s.pos()
	flush := func() {
		if b.Len() > 0 {
			parts = append(parts, token.StrPart{Pos: textPos, Text: b.String()})
			b.Reset()
		}
	}
	for {
		if s.off >= len(s.src) {
			s.cut = true
			s.error(start, token.Pos{Line: start.Line, Col: start.Col + 1}, "unterminated string literal")
			break
		}
		c := s.src[s.off]
		if c == '"' {
			s.next()
			break
		}
		if c == '\\' {
			s.escape(&b, '"')
			continue
		}
		if c == '{' {
			if !s.brace(&b, &parts, &textPos, flush) {
				break
			}
			continue
		}
		s.copyChar(&b)
	}
	flush()
	return stringToken(start, s.pos(), parts)
}

// stringToken builds a STRING token: a plain literal when there is no
// embedded expression.
func stringToken(start, end token.Pos, parts []token.StrPart) token.Token {
	t := token.Token{Kind: token.STRING, Pos: start, End: end}
	var text strings.Builder
	hasExpr := false
	kept := parts[:0]
	for _, p := range parts {
		if p.IsExpr() {
			hasExpr = true
		} else if p.Text == "" {
			continue
		}
		text.WriteString(p.Text)
		kept = append(kept, p)
	}
	if hasExpr {
		t.Parts = kept
	} else {
		t.Lit = text.String()
	}
	return t
}

// singleString scans '...': escapes, no interpolation.
func (s *scanner) singleString() token.Token {
	start := s.pos()
	s.next()
	var b strings.Builder
	for {
		if s.off >= len(s.src) {
			s.cut = true
			s.error(start, token.Pos{Line: start.Line, Col: start.Col + 1}, "unterminated string literal")
			break
		}
		c := s.src[s.off]
		if c == '\'' {
			s.next()
			break
		}
		if c == '\\' {
			s.escape(&b, '\'')
			continue
		}
		s.copyChar(&b)
	}
	return token.Token{Kind: token.STRING, Pos: start, End: s.pos(), Lit: b.String()}
}

// rawString scans r"...": no escapes, no interpolation. s.off is at the quote.
func (s *scanner) rawString(start token.Pos) token.Token {
	s.next()
	var b strings.Builder
	for {
		if s.off >= len(s.src) {
			s.cut = true
			s.error(start, token.Pos{Line: start.Line, Col: start.Col + 2}, "unterminated raw string literal")
			break
		}
		if s.src[s.off] == '"' {
			s.next()
			break
		}
		s.copyChar(&b)
	}
	return token.Token{Kind: token.STRING, Pos: start, End: s.pos(), Lit: b.String()}
}

// tripleString scans """...""": multi-line, escapes and interpolation,
// then removes the common indentation (see dedent).
func (s *scanner) tripleString() token.Token {
	start := s.pos()
	s.next()
	s.next()
	s.next()
	if s.off < len(s.src) && isLineBreak(s.src[s.off]) {
		s.next()
	}
	var parts []token.StrPart
	var b strings.Builder
	textPos := s.pos()
	flush := func() {
		if b.Len() > 0 {
			parts = append(parts, token.StrPart{Pos: textPos, Text: b.String()})
			b.Reset()
		}
	}
	for {
		if s.off >= len(s.src) {
			s.cut = true
			s.error(start, token.Pos{Line: start.Line, Col: start.Col + 3}, `unterminated """ string literal`)
			break
		}
		c := s.src[s.off]
		if c == '"' && s.peekByte(1) == '"' && s.peekByte(2) == '"' {
			// In a run of more than three quotes, the last three close.
			n := 3
			for s.peekByte(n) == '"' {
				n++
			}
			for ; n > 3; n-- {
				b.WriteByte('"')
				s.next()
			}
			s.next()
			s.next()
			s.next()
			break
		}
		if c == '\\' {
			s.escape(&b, '"')
			continue
		}
		if c == '{' {
			if !s.brace(&b, &parts, &textPos, flush) {
				break
			}
			continue
		}
		s.copyChar(&b)
	}
	flush()
	return stringToken(start, s.pos(), dedent(parts))
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// dedent implements the triple-quoted string layout rule: a last line
// holding only spaces (the indentation of the closing quotes) is dropped
// with its line break, then the smallest indentation of the lines that
// have content is removed from every line; blank lines become empty.
// Embedded expressions count as content.
func dedent(parts []token.StrPart) []token.StrPart {
	if n := len(parts); n > 0 && !parts[n-1].IsExpr() {
		t := parts[n-1].Text
		if i := strings.LastIndexByte(t, '\n'); i >= 0 && strings.Trim(t[i+1:], " \t") == "" {
			parts[n-1].Text = t[:i]
		}
	}

	minIndent := -1
	atStart, run := true, 0
	mark := func() {
		if minIndent < 0 || run < minIndent {
			minIndent = run
		}
		atStart = false
	}
	for _, p := range parts {
		if p.IsExpr() {
			if atStart {
				mark()
			}
			continue
		}
		for j := 0; j < len(p.Text); j++ {
			c := p.Text[j]
			switch {
			case c == '\n':
				atStart, run = true, 0
			case !atStart:
			case isBlank(c):
				run++
			default:
				mark()
			}
		}
	}
	if minIndent <= 0 {
		return parts
	}

	atStart = true
	for i := range parts {
		if parts[i].IsExpr() {
			atStart = false
			continue
		}
		t := parts[i].Text
		last := i == len(parts)-1
		var b strings.Builder
		for j := 0; j < len(t); {
			if atStart {
				atStart = false
				for k := 0; k < minIndent && j < len(t) && isBlank(t[j]); k++ {
					j++
				}
				// A blank line loses all its spaces.
				e := j
				for e < len(t) && isBlank(t[e]) {
					e++
				}
				if e < len(t) && t[e] == '\n' || e == len(t) && last {
					j = e
				}
				continue
			}
			c := t[j]
			b.WriteByte(c)
			j++
			if c == '\n' {
				atStart = true
			}
		}
		parts[i].Text = b.String()
	}
	return parts
}
