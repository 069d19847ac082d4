package parse

import (
	"fmt"
	"slices"
	"strings"

	"tova/frontend/ast"
	"tova/frontend/diag"
	"tova/frontend/scan"
	"tova/frontend/token"
)

// ParseFile parses the source of one file. On errors it returns the tree
// built so far (never nil) and a diag.List, sorted by position.
func ParseFile(name string, src []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f = &ast.File{Name: name}
			err = diag.List{{File: name, Msg: fmt.Sprintf("internal parser error: %v", r)}}
		}
	}()
	return parseFile(name, src)
}

func parseFile(name string, src []byte) (*ast.File, error) {
	p := &parser{file: name, errAt: map[token.Pos]bool{}}
	var stopped *diag.Error // the scanner's scan.TooDeep, held
	p.toks = scan.Scan(src, func(pos, end token.Pos, msg string) {
		if msg == scan.TooDeep {
			stopped = &diag.Error{File: name, Pos: pos, End: end, Msg: msg}
			return
		}
		if msg == scan.FloorDiv {
			p.floorDivs = append(p.floorDivs, pos) // (a notice, not an error)
			return
		}
		p.errAt[pos] = true
		p.errs.Add(name, pos, end, msg)
	})
	p.p = -1
	p.next()
	f := &ast.File{Name: name}
	f.Stmts = p.stmtList(ctxTop, token.EOF)
	f.Placeholders = p.placeholders
	f.FloorDivs = p.floorDivs
	if stopped != nil && !p.tooDeep {
		p.errs = append(p.errs, stopped)
	}
	return f, p.errs.Err()
}

// bailout unwinds the parser to the innermost recovery point (a statement,
// a match arm, an entry) after an error has been recorded.
type bailout struct{}

// maxDepth bounds the nesting of expressions and blocks.
const maxDepth = 500

// maxChain bounds the calls, members and indexes applied in a row to one
// operand (`f()()…`, `a.b[0].c…`): each is a level of the tree the later
// passes walk, as a nesting level is.
const maxChain = 10000

type parser struct {
	interp int // inside how many interpolations the tokens are
	file   string
	// placeholders are where `...` stood as a statement
	placeholders []token.Pos
	// floorDivs are the scanner's scan.FloorDiv notices
	floorDivs []token.Pos
	toks      []token.Token
	p         int         // index of tok in toks
	tok       token.Token // current token
	// errs holds every error found, however many: the driver shows the
	// first ones and counts the rest, so the count a user reads is true.
	errs  diag.List
	errAt map[token.Pos]bool // positions holding an error in errs

	// inArm: parsing a match arm's return statement, which ends at a
	// comma (the next arm's), not a tuple (return a, b)
	inArm   bool
	depth   int             // nesting, against stack exhaustion
	tooDeep bool            // depth passed maxDepth (reported)
	fns     []*ast.Function // enclosing functions, innermost last
	noArrow int             // >0: `x => e` is not a lambda here (match guards)
	cond    string          // the keyword whose condition is being parsed, if any

	// Column shorthand: colArg is set while parsing a call argument;
	// colRefs counts the .name references made there and not yet wrapped;
	// colMember marks the Member nodes those references became.
	colArg  bool
	colRefs int
	// pipeTarget is set while the target of a pipe is parsed, until its
	// call takes it; argPos and argPiped say, as an argument is parsed,
	// its place among its call's positional ones and whether that call
	// is a pipe's target (keyCalls).
	pipeTarget bool
	argPos     int
	argPiped   bool
	colMember  map[*ast.Member]bool

	// closer, made on first use, is the index of the token closing each
	// bracket token (any kind closing any kind, as isArrowParams counts
	// them), -1 if none does.
	closer []int32
}

// ---------------------------------------------------------------- tokens

func (p *parser) next() {
	if p.p < len(p.toks)-1 {
		p.p++
	}
	p.tok = p.toks[p.p]
}

// peek returns the token n positions ahead (the final EOF past the end).
func (p *parser) peek(n int) token.Token {
	if i := p.p + n; i < len(p.toks) {
		return p.toks[i]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) at(k token.Kind) bool { return p.tok.Kind == k }

func (p *parser) got(k token.Kind) bool {
	if p.tok.Kind == k {
		p.next()
		return true
	}
	return false
}

func (p *parser) skipNewlines() {
	for p.tok.Kind == token.NEWLINE {
		p.next()
	}
}

// skipSeps skips statement separators: newlines and semicolons.
func (p *parser) skipSeps() {
	for p.tok.Kind == token.NEWLINE || p.tok.Kind == token.SEMI {
		p.next()
	}
}

// peekPastNewlines reports whether the next token that is not a newline
// has kind k, and skips the newlines if so. It lets `} else {`, `catch` or
// `|>` stand on the next line.
func (p *parser) peekPastNewlines(k token.Kind) bool {
	if p.tok.Kind == k {
		return true
	}
	if p.tok.Kind != token.NEWLINE {
		return false
	}
	i := p.p
	for i < len(p.toks) && p.toks[i].Kind == token.NEWLINE {
		i++
	}
	if i < len(p.toks) && p.toks[i].Kind == k {
		p.p = i - 1
		p.next()
		return true
	}
	return false
}

// atStmtEnd reports whether the current token ends a statement.
func (p *parser) atStmtEnd() bool {
	switch p.tok.Kind {
	case token.NEWLINE, token.SEMI, token.RBRACE, token.EOF:
		return true
	}
	return false
}

// ---------------------------------------------------------------- errors

func (p *parser) errorAt(pos, end token.Pos, msg string, notes ...diag.Note) {
	if p.errAt[pos] {
		return // one error per position
	}
	p.errAt[pos] = true
	p.errs.Add(p.file, pos, end, msg, notes...)
}

// fail records an error at the current token and abandons the construct.
// At the end of the file, the error points just past the last token:
// the end of the file may be lines below what is missing. At an end cut
// short (token.Token.Cut) it records nothing: the string or comment that
// ran to the end was reported, and the brackets it swallowed are no
// error of their own.
func (p *parser) fail(format string, args ...any) {
	pos, end := p.tok.Pos, p.tok.End
	if p.tok.Kind == token.EOF && p.tok.Cut {
		panic(bailout{})
	}
	if p.tok.Kind == token.EOF && p.tok.Lit != "}" {
		for i := p.p - 1; i >= 0; i-- {
			if t := p.toks[i]; t.Kind != token.NEWLINE {
				pos, end = t.End, t.End
				break
			}
		}
	}
	p.failAt(pos, end, format, args...)
}

// braceHint says that a '{' in a string began an interpolation.
const braceHint = ": the '{' before it, in a string, begins an interpolation (write \\{ for a literal brace, or use '...' quotes)"

func (p *parser) failAt(pos, end token.Pos, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if p.interp > 0 && (p.tok.Kind == token.COLON || p.tok.Kind == token.SEMI || p.tok.Kind.IsKeyword()) {
		// CSS, JavaScript or JSON in a string ("body { color: red }",
		// "function f() { return 1 }"): its brace began an
		// interpolation. (An interpolation's own mistake, {x + }, is
		// said as it is.)
		msg += braceHint
	}
	p.errorAt(pos, end, msg)
	panic(bailout{})
}

// errorExpected reports "expected what, found <current token>". An illegal
// token was already reported by the scanner, so it only bails out then.
func (p *parser) errorExpected(what string) {
	if p.tok.Kind == token.ILLEGAL {
		panic(bailout{})
	}
	if p.tok.Kind.IsKeyword() && p.p > 0 {
		if p.toks[p.p-1].Kind == token.LET && p.tok.Lit == "mut" {
			// let mut x = 5 (Rust)
			p.fail("expected %s, found 'mut': let mut is Rust's: a binding that changes is declared var x = 5", what)
		}
		switch p.toks[p.p-1].Kind {
		case token.FN, token.VAR, token.LET:
			// fn guard(req, next): guard is a statement (guard c else
			// { … }), and the message said only that a '(' was wanted.
			p.fail("expected %s, found %s: %s is a reserved word, which cannot be a name: name it otherwise", what, p.tok, p.tok)
		}
	}
	switch {
	case what == "type" && p.tok.Kind == token.ASSIGN && p.p > 0 && p.toks[p.p-1].Kind == token.COLON && p.toks[p.p-1].End == p.tok.Pos:
		// x := 5 (Go)
		p.fail("expected %s, found '=': := is not Tova: write x = 5 (or var x = 5 for a binding that changes)", what)
	case p.tok.Kind.IsKeyword() && p.peek(1).Kind == token.ASSIGN && (p.p < 1 || p.toks[p.p-1].Kind == token.NEWLINE || p.toks[p.p-1].Kind == token.LBRACE || p.toks[p.p-1].Kind == token.SEMI):
		// from = 5: a reserved word as a name, met as the statement's start
		p.fail("expected %s, found %s: %s is a reserved word, which cannot be a name: name it otherwise", what, p.tok, p.tok)
	case p.tok.Kind == token.ASSIGN && p.p > 0 && p.toks[p.p-1].Kind.IsKeyword() && (p.p < 2 || p.toks[p.p-2].Kind == token.NEWLINE || p.toks[p.p-2].Kind == token.LBRACE || p.toks[p.p-2].Kind == token.SEMI):
		// type = "user": a reserved word as a name
		k := p.toks[p.p-1]
		p.fail("expected %s, found '=': %s is a reserved word, which cannot be a name: name it otherwise", what, k)
	case p.tok.Kind == token.BANG && p.p > 0 && p.toks[p.p-1].End == p.tok.Pos && rustMacros[p.toks[p.p-1].Lit] != "":
		// println!("{}", x) (Rust)
		m := p.toks[p.p-1].Lit
		p.fail("expected %s, found '!': %s! is Rust's macro: %s", what, m, rustMacros[m])
	case p.tok.Kind == token.BANG && p.p > 0 && p.toks[p.p-1].End == p.tok.Pos:
		// r! (the spec's error propagation, which the reference does
		// not take)
		p.fail("expected %s, found %s: an Err or None is passed on with ? (r?), not !", what, p.tok)
	case what == "newline or ';' after statement" && p.p > 0 && p.toks[p.p-1].Kind == token.IDENT && blockExample[p.toks[p.p-1].Lit] != "" &&
		(p.p < 2 || p.toks[p.p-2].Kind == token.NEWLINE || p.toks[p.p-2].Kind == token.LBRACE):
		// rate_limit 100: a config block written as a setting
		k := p.toks[p.p-1].Lit
		p.fail("expected %s, found %s: %s takes a block of settings, %s { %s }", what, p.tok, k, k, blockExample[k])
	case what == "newline or ';' after statement" && p.tok.Kind == token.STRING && p.p > 0 && p.toks[p.p-1].Kind == token.IDENT &&
		(p.toks[p.p-1].Lit == "test" || p.toks[p.p-1].Lit == "describe") && (p.p < 2 || p.toks[p.p-2].Kind == token.NEWLINE || p.toks[p.p-2].Kind == token.LBRACE || p.toks[p.p-2].Kind == token.SEMI):
		// test "reverse" { ... } (the reference's tova test)
		p.fail("expected %s, found %s: %s \"...\" { ... } blocks are the reference's test runner's (tova test), which this runtime does not have: check with assert_eq(actual, expected) in a script that tova run runs", what, p.tok, p.toks[p.p-1].Lit)
	case p.tok.Kind == token.MUT && p.peek(1).Kind == token.IDENT:
		// (the reference's docs write mut x = ...)
		p.fail("expected %s, found %s: a binding that changes is declared with var (var %s = ...)", what, p.tok, p.peek(1).Lit)
	case p.p > 0 && p.toks[p.p-1].Kind == token.IDENT && p.toks[p.p-1].Lit == "typeof" && !p.tok.NLBefore:
		// typeof x (JavaScript)
		p.fail("expected %s, found %s: typeof is JavaScript's: write type_of(x), or test a kind with x is Int", what, p.tok)
	case p.p > 0 && p.toks[p.p-1].Kind == token.IDENT && p.toks[p.p-1].Lit == "unless" && !p.tok.NLBefore:
		// unless cond { ... } (Ruby)
		p.fail("expected %s, found %s: unless is Ruby's: write if not cond { ... }", what, p.tok)
	case p.p > 0 && p.toks[p.p-1].Kind == token.IDENT && p.toks[p.p-1].Lit == "lambda" && !p.tok.NLBefore:
		// lambda x: x * 2 (Python)
		p.fail("expected %s, found %s: lambda is Python's: a function is written fn(x) x * 2, or x => x * 2", what, p.tok)
	case p.tok.Kind == token.BAR && what == "expression" && (p.peek(1).Kind == token.IDENT || p.peek(1).Kind == token.BAR):
		// |x| x * 2 (Rust, Ruby's blocks)
		p.fail("expected %s, found '|': |x| ... is Rust's closure: a function is written fn(x) x * 2, or x => x * 2", what)
	case p.tok.Kind == token.DIV && what == "expression" && p.p > 0 && slices.Contains([]token.Kind{token.ASSIGN, token.LPAREN, token.COMMA, token.LBRACK, token.COLON}, p.toks[p.p-1].Kind):
		// r = /abc (a regex not closed on its line)
		p.fail("expected %s, found '/': a regex literal ends with a / on its line, /abc/", what)
	case p.tok.Kind == token.FROM && p.peek(1).Kind == token.IDENT && p.peek(2).Kind == token.IMPORT:
		// from os import environ (Python)
		p.fail("expected %s, found 'from': from ... import is Python's: builtins need no import, and a module is imported with import { name } from \"module\"", what)
	case p.tok.Kind == token.IDENT && p.p > 0 && (p.toks[p.p-1].Kind == token.INT || p.toks[p.p-1].Kind == token.FLOAT) && p.toks[p.p-1].End == p.tok.Pos && closestUnit(p.tok.Lit) != "":
		// reset_timeout: 30s (the guide's tables write durations so)
		p.unitSlip()
	case p.tok.Kind == token.IDENT && p.tok.Lit == "instanceof":
		p.fail("expected %s, found 'instanceof': instanceof is JavaScript's: test a kind with x is Int (or type_of(x))", what)
	case p.tok.Kind == token.AT && p.peek(1).Kind == token.IDENT && (p.p == 0 || p.toks[p.p-1].Kind == token.NEWLINE || p.toks[p.p-1].Kind == token.LBRACE):
		// @app.get("/hi") (Flask's, FastAPI's decorators)
		method, path := "GET", "/hi"
		if m, at := p.peek(3), p.peek(5); m.Kind == token.IDENT && at.Kind == token.STRING && at.Parts == nil && httpMethods[strings.ToUpper(m.Lit)] {
			method, path = strings.ToUpper(m.Lit), at.Lit // (@app.post("/x"))
		}
		p.fail("expected %s, found '@': Tova has no decorators: a route is declared in a server block, route %s %q => fn(req) { ... } (a guard is written with: route %s %q with auth => ...)", what, method, path, method, path)
	case p.tok.Kind == token.DCOLON:
		p.fail("expected %s, found %s: a module's member is written with a dot (math.sqrt), not ::", what, p.tok)
	}
	p.fail("expected %s, found %s", what, p.tok)
}

// unitSlip fails at a number glued to a unit (30s, 5mb, 10m), the token
// before p.tok: a duration or a size is written 30.seconds. In a size
// setting (max_body, max_size), m is megabytes (nginx's 10m).
func (p *parser) unitSlip() {
	n := p.toks[p.p-1]
	unit := closestUnit(p.tok.Lit)
	if strings.ToLower(p.tok.Lit) == "m" && p.p >= 3 {
		switch k := p.toks[p.p-2]; {
		case k.Kind == token.IDENT && k.Lit == "max_body",
			k.Kind == token.COLON && p.toks[p.p-3].Kind == token.IDENT && sizeKeys[p.toks[p.p-3].Lit]:
			unit = "megabytes"
		}
	}
	if n.Lit == "1" {
		unit = strings.TrimSuffix(unit, "s") // (1.minute)
	}
	p.failAt(n.Pos, p.tok.End, "%s%s is no Tova literal: a duration or a size is written %s.%s", n.Lit, p.tok.Lit, n.Lit, unit)
}

// httpMethods are the methods a route is declared with.
var httpMethods = map[string]bool{"GET": true, "POST": true, "PUT": true, "DELETE": true, "PATCH": true, "HEAD": true, "OPTIONS": true}

// sizeKeys are the settings whose value is a Size (max_backoff and
// max_age are durations).
var sizeKeys = map[string]bool{"max_body": true, "max_size": true, "max_file_size": true, "min_size": true}

// rustMacros are Rust's macros a program may call with !, and what Tova
// writes instead.
var rustMacros = map[string]string{
	"println": "write print(...), which takes the values, or \"{x}\" in a string",
	"print":   "write print(...)",
	"format":  "write \"... {x} ...\", or fmt(\"{}\", x)",
	"vec":     "a list is written [1, 2, 3]",
	"panic":   "throw \"message\" raises an error",
	"assert":  "write assert(condition, \"message\")",
}

// expect consumes a token of kind k or fails.
func (p *parser) expect(k token.Kind) token.Token {
	t := p.tok
	if t.Kind != k {
		p.errorExpected("'" + k.String() + "'")
	}
	p.next()
	return t
}

// closeOf maps an opening bracket to its closer.
func closeOf(k token.Kind) token.Kind {
	switch k {
	case token.LPAREN:
		return token.RPAREN
	case token.LBRACK:
		return token.RBRACK
	}
	return token.RBRACE
}

// expectClose consumes the bracket closing open. At the end of the input,
// or in front of a different closing bracket, the message names the opener.
func (p *parser) expectClose(open token.Token) token.Token {
	k := closeOf(open.Kind)
	t := p.tok
	if t.Kind == k {
		p.next()
		return t
	}
	if t.Kind == token.EOF || isCloser(t.Kind) || t.NLBefore && open.Kind != token.LBRACE {
		for _, at := range p.floorDivs {
			if !at.Before(open.Pos) && at.Before(t.Pos) {
				// (n // 2 }: the comment took the closing bracket)
				p.fail("unclosed '%s' opened at %d:%d: the // at %d:%d begins a comment, to the end of its line, which took the '%s' after it (Python's floor division a // b is floor(a / b))",
					open.Kind, open.Pos.Line, open.Pos.Col, at.Line, at.Col, closeOf(open.Kind))
			}
		}
		p.fail("unclosed '%s' opened at %d:%d", open.Kind, open.Pos.Line, open.Pos.Col)
	}
	if t.Pos.Line != open.Pos.Line && t.Kind != token.ILLEGAL {
		// x = (1 +\n y = 2: the '(' is lines away from what it met
		p.fail("expected '%s' to close the '%s' opened at %d:%d, found %s", k, open.Kind, open.Pos.Line, open.Pos.Col, t)
	}
	p.errorExpected("'" + k.String() + "'")
	return t
}

// closeList ends a comma-separated list opened by open: it consumes the
// closer, or reports what was expected instead ("',' or ')' in what").
func (p *parser) closeList(open token.Token, what string) {
	k := closeOf(open.Kind)
	if t := p.tok; t.NLBefore && open.Kind != token.LBRACE && t.Kind != k && t.Kind != token.EOF && !isCloser(t.Kind) {
		if at, ok := p.closedLater(k); ok {
			// [\n 1\n 2\n]: not unclosed, a comma missing
			p.fail("expected ',' before %s: a newline does not separate the elements of the %s opened at %d:%d (and closed at %d:%d)", t, what, open.Pos.Line, open.Pos.Col, at.Line, at.Col)
		}
	}
	if p.tok.Kind == k || p.tok.Kind == token.EOF || isCloser(p.tok.Kind) || p.tok.NLBefore && open.Kind != token.LBRACE {
		p.expectClose(open)
		return
	}
	if what == "parameter list" && p.tok.Kind == token.LBRACK && p.p > 0 && p.toks[p.p-1].Kind == token.IDENT && p.toks[p.p-1].End == p.tok.Pos {
		// fn(q: Optional[str] = None), fn(xs: List[int]) (Python's)
		p.fail("expected ',' or ')' in parameter list, found '[': a type's arguments are written in <>, Option<String> (or String?), [Int] for a list, not Python's %s[...]", p.toks[p.p-1].Lit)
	}
	p.errorExpected("',' or '" + k.String() + "' in " + what)
}

// closedLater reports whether the bracket open at the current token's
// depth is closed, by k, further on, and where.
func (p *parser) closedLater(k token.Kind) (token.Pos, bool) {
	depth := 0
	for _, t := range p.toks[p.p:] {
		switch t.Kind {
		case token.LPAREN, token.LBRACK, token.LBRACE:
			depth++
		case token.RPAREN, token.RBRACK, token.RBRACE:
			if depth == 0 {
				return t.Pos, t.Kind == k
			}
			depth--
		}
	}
	return token.Pos{}, false
}

// blockExample is a block of settings of each config block that is
// written with one only (rate_limit { ... }, never rate_limit 100).
var blockExample = map[string]string{
	"rate_limit": "requests: 100, window: 1.minute", "cors": `origins: ["https://app.example"]`,
	"session": `secret: env("SESSION_SECRET")`, "sessions": `secret: env("SESSION_SECRET")`,
	"auth": `secret: env("AUTH_SECRET")`, "tls": `cert: "cert.pem", key: "key.pem"`,
	"cache": `default: "public, max-age=60"`, "compression": "min_size: 1.kilobyte",
	"upload": "max_size: 5.megabytes", "uploads": "max_size: 5.megabytes", "jobs": "workers: 4",
	"limits": "timeout: 10.seconds", "http": "timeout: 10.seconds", "db": `database: "app.db"`,
	"security": "trust_proxy: true",
}

// enter guards against unbounded nesting; pair with a deferred leave.
func (p *parser) enter() {
	p.depth++
	if p.depth > maxDepth {
		p.tooDeep = true
		p.fail("program nested too deeply")
	}
}

func (p *parser) leave() { p.depth-- }

// recoverTo runs f; if f bails out, it skips to the end of the construct
// that began at token index start (see sync) and reports false.
func (p *parser) recoverTo(start int, f func()) (ok bool) {
	depth, fns, noArrow := p.depth, len(p.fns), p.noArrow
	colArg, colRefs := p.colArg, p.colRefs
	defer func() {
		if r := recover(); r != nil {
			if _, isBail := r.(bailout); !isBail {
				panic(r)
			}
			p.depth, p.fns, p.noArrow = depth, p.fns[:fns], noArrow
			p.colArg, p.colRefs = colArg, colRefs
			p.sync(start)
			ok = false
		}
	}()
	f()
	return true
}

// sync skips the rest of a failed statement (or entry) that began at token
// index start: up to the next line break or ';' at the statement's own
// nesting level, or up to (not including) a '}' that closes the
// surrounding block. Braces the statement opened before failing are
// skipped together with their contents.
func (p *parser) sync(start int) {
	open := 0
	for i := start; i < p.p && i < len(p.toks); i++ {
		switch p.toks[i].Kind {
		case token.LBRACE:
			open++
		case token.RBRACE:
			if open > 0 {
				open--
			}
		}
	}
	if p.p == start && p.tok.Kind != token.EOF && p.tok.Kind != token.RBRACE {
		p.next() // always make progress
	}
	depth := 0
	for {
		switch p.tok.Kind {
		case token.EOF:
			return
		case token.LBRACE:
			depth++
		case token.RBRACE:
			switch {
			case depth > 0:
				depth--
			case open > 0:
				open--
			default:
				return
			}
			p.next()
			continue
		case token.NEWLINE, token.SEMI:
			if depth == 0 && open == 0 {
				return
			}
		}
		p.next()
	}
}
