package scan

import (
	"bytes"
	"slices"
	"strconv"
	"unicode"
	"unicode/utf8"

	"tova/frontend/token"
)

// ErrorHandler receives each lexical error.
type ErrorHandler func(pos, end token.Pos, msg string)

// maxInterpDepth bounds nesting of interpolated strings inside one another.
const maxInterpDepth = 64

// bom is the UTF-8 byte order mark some editors put at a file's start.
var bom = []byte("\ufeff")

// Scan returns the tokens of src, ending with an EOF token. Errors are
// reported to errh (which may be nil); scanning always continues to the end.
func Scan(src []byte, errh ErrorHandler) []token.Token {
	s := &scanner{src: src, line: 1, col: 1, errh: errh, rereads: 4 * len(src)}
	if bytes.HasPrefix(src, bom) {
		s.off = len(bom) // an editor's byte order mark: not text, not a column
	}
	if enc := wideEncoding(src); enc != "" {
		// A file saved as "Unicode" (UTF-16 on Windows) or UTF-32: a
		// NUL in every other (or three in four) bytes, said once, not
		// as a page of errors about '\x00'
		s.error(s.pos(), token.Pos{Line: 1, Col: 2}, "the file is "+enc+": save it as UTF-8")
		return []token.Token{{Kind: token.EOF, Pos: s.pos(), End: s.pos()}}
	}
	if bytes.HasPrefix(src[s.off:], []byte("#!")) {
		for s.off < len(src) && src[s.off] != '\n' && src[s.off] != '\r' {
			s.next()
		}
	}
	toks, _ := s.scanTokens(false)
	return toks
}

// wideEncoding names the encoding of src when it is UTF-16 or UTF-32
// rather than UTF-8: by its byte order mark, or (UTF-16 without one) by
// its first characters being ASCII with a NUL beside each. "" for
// anything else.
func wideEncoding(src []byte) string {
	switch {
	case bytes.HasPrefix(src, []byte{0xFF, 0xFE, 0, 0}) || bytes.HasPrefix(src, []byte{0, 0, 0xFE, 0xFF}):
		return "UTF-32 (it begins with UTF-32's byte order mark)"
	case bytes.HasPrefix(src, []byte{0xFF, 0xFE}) || bytes.HasPrefix(src, []byte{0xFE, 0xFF}):
		return "UTF-16 (it begins with UTF-16's byte order mark)"
	}
	// Without one: NUL bytes, a share no UTF-8 text has, at the places
	// the wide encodings put them (text in Latin letters leaves one in
	// two bytes NUL in UTF-16, three in four in UTF-32).
	n := min(len(src), 64) / 4 * 4
	if n < 8 {
		return ""
	}
	var at [4]int // the NULs at each place modulo 4
	nuls := 0
	for i, c := range src[:n] {
		if c == 0 {
			at[i%4]++
			nuls++
		}
	}
	switch q := n / 4; {
	case nuls*10 < n*3:
		return "" // (under 30%: a NUL or two in a string)
	case at[1] == q && at[2] == q && at[3] == q || at[0] == q && at[1] == q && at[2] == q:
		return "UTF-32 (three NUL bytes beside each character)"
	case at[0]+at[2] == 0 || at[1]+at[3] == 0:
		return "UTF-16 (a NUL byte beside each character)"
	}
	return ""
}

type scanner struct {
	src   []byte
	off   int
	line  int32
	col   int32
	errh  ErrorHandler
	depth int // interpolation nesting
	// rereads is how many bytes unclosed interpolations may still have
	// read before being read again as text (interpolationPart): a few
	// times the source, so that unclosed braces cost a few readings of
	// it at most.
	rereads int
	// noRegexLine is a line where a '/' opened no regex literal (none
	// ended on it): the line's later slashes are operators, so that a
	// line of many is read once, not once per slash.
	noRegexLine int32
	// cut is set when the source ended inside a string or comment (an
	// error reported): the final EOF is marked Cut.
	cut bool
}

func (s *scanner) pos() token.Pos { return token.Pos{Line: s.line, Col: s.col} }

func (s *scanner) error(pos, end token.Pos, msg string) {
	if s.errh != nil {
		s.errh(pos, end, msg)
	}
}

// peekByte returns the byte at off+i, or 0 past the end.
func (s *scanner) peekByte(i int) byte {
	if s.off+i < len(s.src) {
		return s.src[s.off+i]
	}
	return 0
}

// next consumes one character (a whole line break, including \r\n).
func (s *scanner) next() {
	if s.off >= len(s.src) {
		return
	}
	c := s.src[s.off]
	switch {
	case c == '\n':
		s.off++
		s.line++
		s.col = 1
	case c == '\r':
		s.off++
		if s.off < len(s.src) && s.src[s.off] == '\n' {
			s.off++
		}
		s.line++
		s.col = 1
	case c < utf8.RuneSelf:
		s.off++
		s.col++
	default:
		_, n := utf8.DecodeRune(s.src[s.off:])
		s.off += n
		s.col++
	}
}

func isLineBreak(c byte) bool { return c == '\n' || c == '\r' }

// scanTokens scans until EOF, or, for an interpolation, until the `}`
// that closes it (consumed). closed reports that the closing `}` was seen.
func (s *scanner) scanTokens(interp bool) (toks []token.Token, closed bool) {
	if !interp {
		toks = make([]token.Token, 0, len(s.src)/5+4)
	}
	var stack []byte // open brackets: ( [ {
	// The depths in stack of the '(' open that begin a function's
	// parameters, and the index in toks of the last ')' that closed
	// some: a lambda's body follows it, where a '/' opens a regex
	// (`fn(s) /^a/.test(s)`).
	var params []int
	paramsEnd := -1
	nl := false // a line break since the last token
	emitNL := func() bool {
		if len(stack) == 0 {
			return !interp
		}
		return stack[len(stack)-1] == '{'
	}
	lineBreak := func() {
		nl = true
		if emitNL() && len(toks) > 0 && toks[len(toks)-1].Kind != token.NEWLINE {
			p := s.pos()
			toks = append(toks, token.Token{Kind: token.NEWLINE, Pos: p, End: p, NLBefore: true})
		}
	}
	for {
		// Whitespace, line breaks and comments.
		c := s.peekByte(0)
		switch {
		case s.off >= len(s.src):
			p := s.pos()
			if interp {
				return toks, false
			}
			toks = append(toks, token.Token{Kind: token.EOF, Pos: p, End: p, NLBefore: nl, Cut: s.cut})
			return toks, true
		case c == ' ' || c == '\t' || c == '\f' || c == '\v':
			s.next()
			continue
		case isLineBreak(c):
			lineBreak()
			s.next()
			continue
		case c == '/' && s.peekByte(1) == '/':
			at, start := s.pos(), s.off
			for s.off < len(s.src) && !isLineBreak(s.src[s.off]) {
				s.next()
			}
			if numberComment(s.src[start+2:s.off]) && len(toks) > 0 && toks[len(toks)-1].End.Line == at.Line && arithmeticOperand(toks) {
				// n // 2: Python's floor division, a comment here
				s.error(at, token.Pos{Line: at.Line, Col: at.Col + 2}, FloorDiv)
			}
			continue
		case c == '/' && s.peekByte(1) == '*':
			if s.blockComment() {
				lineBreak()
			}
			continue
		case c == '}' && interp && !slices.Contains(stack, '{'):
			// The interpolation's end, even with a '(' or '[' of its
			// expression left open: the parser reports that bracket
			// unclosed at this brace.
			s.next()
			return toks, true
		}

		t, ok := token.Token{}, false
		if c == '/' && (!endsOperand(toks) || closesParams(toks, paramsEnd)) && s.line != s.noRegexLine {
			t, ok = s.regex()
		}
		if !ok {
			depth := len(stack)
			t = s.scanToken(&stack)
			switch {
			case t.Kind == token.LPAREN && opensParams(toks):
				params = append(params, depth)
			case t.Kind == token.RPAREN && len(params) > 0 && len(stack) == params[len(params)-1]:
				params = params[:len(params)-1]
				paramsEnd = len(toks)
			}
		}
		t.NLBefore = nl
		nl = false
		toks = append(toks, t)
		if len(stack) > maxOpen {
			// Far past what the parser takes (it refuses the program,
			// nested too deeply, some hundreds of brackets in): the rest
			// is not scanned (4 MiB of '(' took seconds and a gigabyte).
			s.error(t.Pos, t.End, TooDeep)
			p := s.pos()
			return append(toks, token.Token{Kind: token.EOF, Pos: p, End: p, Cut: true}), true
		}
	}
}

// arithmeticOperand reports whether the last of toks ends an operand a
// number could be divided by: a name, a number, or a parenthesized
// expression, but not a call's arguments (`print(x)  // 1`, a
// document's expected output), a text, a list or a block.
func arithmeticOperand(toks []token.Token) bool {
	n := len(toks)
	if n == 0 {
		return false
	}
	switch toks[n-1].Kind {
	case token.IDENT, token.INT, token.FLOAT:
		return true
	case token.RPAREN:
		depth := 0
		for i := n - 1; i >= 0; i-- {
			switch toks[i].Kind {
			case token.RPAREN:
				depth++
			case token.LPAREN:
				if depth--; depth == 0 {
					// a call's (f(x), f(x)(y), xs[0](y)) or a group's
					return i == 0 || !endsOperand(toks[:i])
				}
			}
		}
	}
	return false
}

// FloorDiv is the notice (not an error) of a comment that follows an
// operand on its line and holds a number alone, `half = n // 2`:
// Python's floor division, which here comments out the rest of the line.
const FloorDiv = "// begins a comment here, to the end of the line: Python's floor division a // b is floor(a / b)"

// numberComment reports whether a comment's text (after its //) is a
// number alone, with closing brackets after it: "2", " 2 }", "10)".
func numberComment(text []byte) bool {
	t := bytes.TrimRight(bytes.TrimSpace(text), ")]} \t") // (no copy of every comment's text)
	if len(t) == 0 {
		return false
	}
	dot := false
	for i, c := range t {
		switch {
		case c >= '0' && c <= '9':
		case c == '.' && !dot && i > 0:
			dot = true
		default:
			return false
		}
	}
	return true
}

// maxOpen bounds the brackets open at once that the scanner reads on
// through.
const maxOpen = 2000

// TooDeep is the error of a scan stopped at maxOpen brackets open. The
// parser refuses such a program sooner, nested too deeply, and then
// leaves this error out: one error for one cause.
const TooDeep = "program nested too deeply: more than 2000 brackets open"

// endsOperand reports whether the last of toks ends an operand, so that
// a '/' after it divides; elsewhere (at a statement's start, after an
// operator, a '(' or a ',') it opens a regex literal.
func endsOperand(toks []token.Token) bool {
	if len(toks) == 0 {
		return false
	}
	switch toks[len(toks)-1].Kind {
	case token.IDENT, token.INT, token.FLOAT, token.STRING, token.REGEX, token.RPAREN, token.RBRACK, token.RBRACE,
		token.TRUE, token.FALSE, token.NIL, token.QUESTION:
		return true
	}
	return false
}

// opensParams reports whether a '(' after toks begins a function's
// parameters: after `fn` or `fn name`.
func opensParams(toks []token.Token) bool {
	n := len(toks)
	return n >= 1 && toks[n-1].Kind == token.FN ||
		n >= 2 && toks[n-1].Kind == token.IDENT && toks[n-2].Kind == token.FN
}

// closesParams reports whether the last of toks ends a function's
// parameters (the ')' at index end of toks), or the return type
// named after them (`fn(s) -> Bool`, `-> Bool?`), where its body begins.
func closesParams(toks []token.Token, end int) bool {
	if end < 0 {
		return false
	}
	switch n := len(toks) - 1 - end; {
	case n == 0:
		return true
	case n == 3 && toks[len(toks)-1].Kind == token.QUESTION:
		fallthrough
	case n == 2:
		return toks[end+1].Kind == token.ARROW && toks[end+2].Kind == token.IDENT
	}
	return false
}

// regex scans /pattern/flags where an operand begins, s.off at the
// slash: the pattern runs to the next '/' outside a [...] class and not
// escaped, on the same line; the flags are the letters after it. ok is
// false for a slash with no such end on its line, which scans as an
// operator, as before.
func (s *scanner) regex() (t token.Token, ok bool) {
	start := s.pos()
	i, class := s.off+1, false
	for ; i < len(s.src) && !isLineBreak(s.src[i]); i++ {
		c := s.src[i]
		switch {
		case c == '\\':
			i++
		case c == '[':
			class = true
		case c == ']':
			class = false
		case c == '/' && !class:
			j := i + 1
			for j < len(s.src) && (s.src[j] >= 'a' && s.src[j] <= 'z' || s.src[j] >= 'A' && s.src[j] <= 'Z') {
				j++
			}
			lit := string(s.src[s.off:j])
			for s.off < j {
				s.next()
			}
			return token.Token{Kind: token.REGEX, Pos: start, End: s.pos(), Lit: lit}, true
		}
	}
	s.noRegexLine = s.line
	return token.Token{}, false
}

// blockComment skips a nested /* */ comment and reports whether it spanned lines.
func (s *scanner) blockComment() bool {
	start := s.pos()
	startLine := s.line
	s.next()
	s.next()
	depth := 1
	for s.off < len(s.src) {
		c := s.src[s.off]
		if c == '/' && s.peekByte(1) == '*' {
			s.next()
			s.next()
			depth++
			continue
		}
		if c == '*' && s.peekByte(1) == '/' {
			s.next()
			s.next()
			depth--
			if depth == 0 {
				return s.line != startLine
			}
			continue
		}
		s.next()
	}
	s.cut = true
	s.error(start, token.Pos{Line: start.Line, Col: start.Col + 2}, "unterminated block comment")
	return s.line != startLine
}

// scanToken scans one token starting at a non-space character.
func (s *scanner) scanToken(stack *[]byte) token.Token {
	start := s.pos()
	c := s.src[s.off]
	tok := func(k token.Kind, n int) token.Token {
		for i := 0; i < n; i++ {
			s.next()
		}
		return token.Token{Kind: k, Pos: start, End: s.pos()}
	}
	switch {
	case c >= '0' && c <= '9':
		return s.number()
	case c == '"':
		if s.peekByte(1) == '"' && s.peekByte(2) == '"' {
			return s.tripleString()
		}
		return s.string(start)
	case c == '\'':
		return s.singleString()
	case c == '_' || c == '$' || (c|0x20) >= 'a' && (c|0x20) <= 'z':
		return s.ident()
	case c >= utf8.RuneSelf:
		r, n := utf8.DecodeRune(s.src[s.off:])
		if r == utf8.RuneError && n <= 1 {
			s.next()
			s.error(start, s.pos(), "invalid UTF-8 encoding")
			return token.Token{Kind: token.ILLEGAL, Pos: start, End: s.pos()}
		}
		if unicode.IsLetter(r) {
			return s.ident()
		}
		s.next()
		s.error(start, s.pos(), "unexpected character "+quoteRune(r)+charHint(r))
		return token.Token{Kind: token.ILLEGAL, Pos: start, End: s.pos(), Lit: string(r)}
	}

	c1 := s.peekByte(1)
	c2 := s.peekByte(2)
	switch c {
	case '(':
		*stack = append(*stack, c)
		return tok(token.LPAREN, 1)
	case '[':
		*stack = append(*stack, c)
		return tok(token.LBRACK, 1)
	case '{':
		*stack = append(*stack, c)
		return tok(token.LBRACE, 1)
	case ')':
		popTo(stack, '(')
		return tok(token.RPAREN, 1)
	case ']':
		popTo(stack, '[')
		return tok(token.RBRACK, 1)
	case '}':
		popTo(stack, '{')
		return tok(token.RBRACE, 1)
	case ',':
		return tok(token.COMMA, 1)
	case ';':
		return tok(token.SEMI, 1)
	case '@':
		return tok(token.AT, 1)
	case '~':
		return tok(token.TILDE, 1)
	case ':':
		if c1 == ':' {
			return tok(token.DCOLON, 2)
		}
		return tok(token.COLON, 1)
	case '.':
		if c1 == '.' {
			if c2 == '.' {
				return tok(token.ELLIPSIS, 3)
			}
			if c2 == '=' {
				return tok(token.DOTDOTEQ, 3)
			}
			return tok(token.DOTDOT, 2)
		}
		return tok(token.DOT, 1)
	case '?':
		switch c1 {
		case '.':
			return tok(token.QDOT, 2)
		case '?':
			return tok(token.QQ, 2)
		}
		return tok(token.QUESTION, 1)
	case '=':
		switch c1 {
		case '=':
			return tok(token.EQ, 2)
		case '>':
			return tok(token.FATARROW, 2)
		}
		return tok(token.ASSIGN, 1)
	case '!':
		if c1 == '=' {
			return tok(token.NE, 2)
		}
		return tok(token.BANG, 1)
	case '<':
		switch c1 {
		case '=':
			return tok(token.LE, 2)
		case '<':
			if c2 == '=' {
				return tok(token.SHLASSIGN, 3)
			}
			return tok(token.SHL, 2)
		}
		return tok(token.LT, 1)
	case '>':
		switch c1 {
		case '=':
			return tok(token.GE, 2)
		case '>':
			if c2 == '=' {
				return tok(token.SHRASSIGN, 3)
			}
			return tok(token.SHR, 2)
		}
		return tok(token.GT, 1)
	case '+':
		switch c1 {
		case '=':
			return tok(token.ADDASSIGN, 2)
		case '+':
			return tok(token.CONCAT, 2)
		}
		return tok(token.ADD, 1)
	case '-':
		switch c1 {
		case '=':
			return tok(token.SUBASSIGN, 2)
		case '>':
			return tok(token.ARROW, 2)
		}
		return tok(token.SUB, 1)
	case '*':
		switch c1 {
		case '=':
			return tok(token.MULASSIGN, 2)
		case '*':
			if c2 == '=' {
				return tok(token.POWASSIGN, 3)
			}
			return tok(token.POW, 2)
		}
		return tok(token.MUL, 1)
	case '/':
		if c1 == '=' {
			return tok(token.DIVASSIGN, 2)
		}
		return tok(token.DIV, 1)
	case '%':
		if c1 == '=' {
			return tok(token.MODASSIGN, 2)
		}
		return tok(token.MOD, 1)
	case '&':
		switch c1 {
		case '=':
			return tok(token.ANDASSIGN, 2)
		case '&':
			return tok(token.ANDAND, 2)
		}
		return tok(token.AMP, 1)
	case '|':
		switch c1 {
		case '=':
			return tok(token.ORASSIGN, 2)
		case '|':
			return tok(token.OROR, 2)
		case '>':
			return tok(token.PIPE, 2)
		}
		return tok(token.BAR, 1)
	case '^':
		if c1 == '=' {
			return tok(token.XORASSIGN, 2)
		}
		return tok(token.CARET, 1)
	}
	s.next()
	s.error(start, s.pos(), "unexpected character "+quoteRune(rune(c))+charHint(rune(c)))
	return token.Token{Kind: token.ILLEGAL, Pos: start, End: s.pos(), Lit: string(rune(c))}
}

// charHint is what an unexpected character most likely stands for, for
// its error: what a word processor or another language put there.
func charHint(r rune) string {
	switch {
	case r == '“' || r == '”' || r == '„' || r == '‘' || r == '’' || r == '‚':
		return " (a typographic quote: write strings in straight quotes, \"text\")"
	case r == '`':
		return " (Tova has no backtick strings: write \"text {expr}\", which interpolates expr)"
	case r == '\u00a0':
		return " (a non-breaking space: write a plain space)"
	case unicode.Is(unicode.Zs, r):
		return " (a Unicode space: write a plain space)"
	case r == '\u200b' || r == '\u200c' || r == '\u200d' || r == '\u2060' || r == '\ufeff':
		return " (an invisible character, pasted with the text: delete it)"
	case r == '–' || r == '—' || r == '−':
		return " (a dash: the minus sign is -)"
	case r == '#':
		return " (Tova's comments are // ... and /* ... */)"
	}
	return ""
}

// popTo pops the innermost open bracket matching open and everything above
// it; a closer without an opener leaves the stack alone.
func popTo(stack *[]byte, open byte) {
	st := *stack
	for i := len(st) - 1; i >= 0; i-- {
		if st[i] == open {
			*stack = st[:i]
			return
		}
	}
}

func quoteRune(r rune) string { return strconv.QuoteRune(r) }

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || (c|0x20) >= 'a' && (c|0x20) <= 'z' || c >= '0' && c <= '9'
}

func (s *scanner) ident() token.Token {
	start := s.pos()
	begin := s.off
	for s.off < len(s.src) {
		c := s.src[s.off]
		if c < utf8.RuneSelf {
			if !isIdentByte(c) {
				break
			}
			s.next()
			continue
		}
		r, n := utf8.DecodeRune(s.src[s.off:])
		if r == utf8.RuneError && n <= 1 || !(unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)) {
			break
		}
		s.next()
	}
	name := string(s.src[begin:s.off])
	if s.off < len(s.src) && s.src[s.off] == '"' {
		switch name {
		case "r":
			return s.rawString(start)
		case "f":
			if s.peekByte(1) == '"' && s.peekByte(2) == '"' {
				t := s.tripleString()
				t.Pos = start
				return t
			}
			return s.string(start)
		}
	}
	return token.Token{Kind: token.Lookup(name), Pos: start, End: s.pos(), Lit: name}
}

func isDigitOf(c byte, base int) bool {
	switch base {
	case 2:
		return c == '0' || c == '1'
	case 8:
		return c >= '0' && c <= '7'
	case 16:
		return c >= '0' && c <= '9' || (c|0x20) >= 'a' && (c|0x20) <= 'f'
	}
	return c >= '0' && c <= '9'
}

func (s *scanner) number() token.Token {
	start := s.pos()
	begin := s.off
	kind := token.INT
	if s.src[s.off] == '0' {
		base := 0
		switch s.peekByte(1) | 0x20 {
		case 'x':
			base = 16
		case 'b':
			base = 2
		case 'o':
			base = 8
		}
		if base != 0 {
			s.next()
			s.next()
			digits := 0
			for s.off < len(s.src) && (isDigitOf(s.src[s.off], base) || s.src[s.off] == '_') {
				if s.src[s.off] != '_' {
					digits++
				}
				s.next()
			}
			if digits == 0 {
				s.error(start, s.pos(), "number literal has no digits after "+string(s.src[begin:begin+2]))
			}
			return token.Token{Kind: token.INT, Pos: start, End: s.pos(), Lit: string(s.src[begin:s.off])}
		}
	}
	s.digits()
	if s.peekByte(0) == '.' && s.peekByte(1) >= '0' && s.peekByte(1) <= '9' {
		kind = token.FLOAT
		s.next()
		s.digits()
	}
	if c := s.peekByte(0); c == 'e' || c == 'E' {
		i := 1
		if c1 := s.peekByte(1); c1 == '+' || c1 == '-' {
			i = 2
		}
		if d := s.peekByte(i); d >= '0' && d <= '9' {
			kind = token.FLOAT
			for ; i > 0; i-- {
				s.next()
			}
			s.digits()
		}
	}
	return token.Token{Kind: kind, Pos: start, End: s.pos(), Lit: string(s.src[begin:s.off])}
}

func (s *scanner) digits() {
	for s.off < len(s.src) && (s.src[s.off] >= '0' && s.src[s.off] <= '9' || s.src[s.off] == '_') {
		s.next()
	}
}
