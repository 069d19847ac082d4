package parse

import (
	"maps"
	"slices"

	"tova/frontend/ast"
	"tova/frontend/diag"
	"tova/frontend/token"
)

// stmtCtx says where a statement list is: at file level, directly in a
// server (or routes) body, or in a function body or other block. Server
// declarations are recognised at file level and in server bodies.
type stmtCtx uint8

const (
	ctxTop stmtCtx = iota
	ctxServer
	ctxBlock
)

// stmtList parses statements up to (not including) end.
func (p *parser) stmtList(ctx stmtCtx, end token.Kind) []ast.Stmt {
	var list []ast.Stmt
	for {
		p.skipSeps()
		if p.at(end) || p.at(token.EOF) {
			return list
		}
		if isCloser(p.tok.Kind) {
			p.errorAt(p.tok.Pos, p.tok.End, "unexpected "+p.tok.String())
			p.next()
			continue
		}
		if ctx == ctxTop && p.at(token.SHARED) && p.peek(1).Kind == token.LBRACE {
			// shared { ... } holds ordinary top-level statements.
			p.next()
			open := p.tok
			p.next()
			list = append(list, p.stmtList(ctxTop, token.RBRACE)...)
			if !p.at(token.RBRACE) {
				if !p.tok.Cut {
					p.errorAt(p.tok.Pos, p.tok.End, "unclosed '{' opened at "+open.Pos.String())
				}
				return list
			}
			p.next()
			continue
		}
		start := p.p
		var s ast.Stmt
		p.recoverTo(start, func() {
			s = p.stmt(ctx)
			if !p.atStmtEnd() {
				p.slip(s, ctx)
			}
			p.endStmt()
		})
		if s != nil {
			list = append(list, s)
		}
	}
}

// noConcurrency is the end of the message for the reference's structured
// concurrency, which this runtime does not have.
const noConcurrency = "this runtime has no structured concurrency (concurrent, spawn, select, Channel): " +
	"call the functions one after another (a call returns its value), use parallel(list), " +
	"or run work apart with spawn_job or a background fn"

// concurrency reports the reference's `concurrent { ... }` block and
// `select { msg from ch => ... }` at the statement that t begins. Either
// would otherwise read as a call with an object argument and fail at a
// token inside it, with a message about object entries.
func (p *parser) concurrency(t token.Token) {
	next := p.peek(1)
	switch t.Lit {
	case "concurrent":
		if next.Kind == token.LBRACE || next.Kind == token.IDENT && (next.Lit == "cancel_on_error" || next.Lit == "first" || next.Lit == "timeout") {
			p.failAt(t.Pos, t.End, "concurrent blocks are not available: %s", noConcurrency)
		}
	case "select":
		if next.Kind != token.LBRACE {
			return
		}
		i := p.p + 2
		for i < len(p.toks) && p.toks[i].Kind == token.NEWLINE {
			i++
		}
		if i+1 < len(p.toks) && p.toks[i+1].Kind == token.FROM {
			p.failAt(t.Pos, t.End, "select blocks are not available: %s", noConcurrency)
		}
	}
}

// keywordWords are the words that begin statements, for the "did you
// mean" of a misspelt one; serverWords those that declare part of a
// server.
var (
	keywordWords = []string{"fn", "return", "if", "elif", "else", "for", "while", "loop", "match", "type", "var", "let",
		"import", "server", "break", "continue", "throw", "try", "catch", "defer", "guard", "impl", "trait", "interface",
		"async", "await", "yield", "pub", "shared", "data"}
	serverWords = map[string]bool{"route": true, "routes": true, "middleware": true, "on_error": true, "on_start": true,
		"on_stop": true, "background": true, "health": true, "port": true, "max_body": true, "static": true,
		"schedule": true, "subscribe": true, "model": true, "env": true, "websocket": true, "sse": true, "discover": true}
)

// slip reports the statement s, a lone name followed on its line by
// more than a statement may hold, as what it most likely is: a server
// declaration written inside a function or block (`route GET ...` in an
// if), or a misspelt keyword (`retrun 1`, `fnn add(a, b)`). Otherwise
// endStmt says that the statement should have ended.
func (p *parser) slip(s ast.Stmt, ctx stmtCtx) {
	es, ok := s.(*ast.ExprStmt)
	if !ok {
		return
	}
	id, ok := es.X.(*ast.Ident)
	if !ok || id.PosV.Line != p.tok.Pos.Line {
		return
	}
	end := token.Pos{Line: id.PosV.Line, Col: id.PosV.Col + int32(len(id.Name))}
	words := append(slices.Clone(keywordWords), slices.Sorted(maps.Keys(serverWords))...)
	switch {
	case ctx == ctxBlock && serverWords[id.Name]:
		p.failAt(id.PosV, end, "%s is declared directly in a server block (or a routes group), "+
			"not inside a function or a block such as if or for: the server reads its declarations when it starts, not as code runs", id.Name)
	case id.Name == "function":
		name := "name"
		if p.tok.Kind == token.IDENT {
			name = p.tok.Lit
		}
		p.failAt(id.PosV, end, "unknown word function (Tova declares functions with fn: fn %s(...) { ... })", name)
	case foreignWords[id.Name] != "":
		// switch x { ... }, class User { ... }, raise E(...): another
		// language's word, not a misspelt Tova one
		p.failAt(id.PosV, end, "unknown word %s: %s", id.Name, foreignWords[id.Name])
	case blockExample[id.Name] != "":
		// cache "public, max-age=60": a config block written as a
		// setting (not "did you mean catch?")
		p.fail("expected newline or ';' after statement, found %s: %s takes a block of settings, %s { %s }", p.tok, id.Name, id.Name, blockExample[id.Name])
	case id.Name == "def" || id.Name == "func" || id.Name == "fun":
		p.failAt(id.PosV, end, "unknown word %s (did you mean fn?)", id.Name)
	case diag.Closest(id.Name, words) != "":
		p.failAt(id.PosV, end, "unknown word %s (did you mean %s?)", id.Name, diag.Closest(id.Name, words))
	}
}

// foreignWords are other languages' statement words, and what Tova
// writes instead.
var foreignWords = map[string]string{
	"switch": "Tova's is match: match x { 1 => ..., _ => ... }",
	"class":  "Tova declares a record type with type Name { field: Type } (and a table's rows with model Name { ... }), its methods in impl Name { ... }",
	"raise":  "Tova throws with throw: throw \"message\" (or a value, { code: 404 })",
	"group":  "routes under one prefix are written routes \"/prefix\" { ... }",
	"new":    "Tova has no new: call the function or the type itself, User(...)",
	"struct": "Tova declares a record type with type Name { field: Type }",
	"enum":   "Tova declares a type of variants with type Name { A, B, C(field: Type) }",
	"puts":   "Tova prints with print(...)",
	"echo":   "Tova prints with print(...)",
}

// endStmt checks that a statement is followed by a line break, ';', '}'
// or the end of the input.
func (p *parser) endStmt() {
	switch p.tok.Kind {
	case token.NEWLINE, token.SEMI:
		p.next()
	case token.RBRACE, token.EOF:
	default:
		if p.p > 0 {
			prev := p.toks[p.p-1]
			switch {
			case prev.Kind == token.IDENT && prev.Lit == "new" && p.tok.Kind == token.IDENT:
				// throw new Error("x")
				if p.tok.Lit == "Error" {
					p.fail("expected newline or ';' after statement, found %s: Tova has no new, and Error(...) is JavaScript's: throw the message itself, throw \"...\"", p.tok)
				}
				p.fail("expected newline or ';' after statement, found %s: Tova has no new: call %s(...) itself", p.tok, p.tok.Lit)
			case prev.Kind == token.QUESTION && prev.End == prev.Pos || prev.Kind == token.QUESTION && !p.tok.NLBefore && p.tok.Kind != token.COLON:
				// x > 3 ? "big" : "small"
				p.fail("expected newline or ';' after statement, found %s: Tova has no ?: operator: write if c { a } else { b }", p.tok)
			case p.tok.Kind == token.IF && !p.tok.NLBefore:
				// "big" if x > 3 else "small" (Python)
				p.fail("expected newline or ';' after statement, found 'if': a value chosen by a condition is written if c { a } else { b }")
			case p.tok.Kind == token.COLON && prev.Kind == token.IDENT && serverWords[prev.Lit]:
				// port: 8080
				example := prev.Lit + " ..."
				if prev.Lit == "port" {
					example = "port 8080"
				}
				p.fail("expected newline or ';' after statement, found ':': %s is written without a colon (%s)", prev.Lit, example)
			}
		}
		if prev := p.toks[p.p-1]; p.tok.Kind == token.LBRACE && prev.Kind == token.IDENT && !p.tok.NLBefore && prev.Lit[0] >= 'A' && prev.Lit[0] <= 'Z' {
			// User { name: "a" } (Rust's, Go's)
			p.fail("expected newline or ';' after statement, found '{': a record is made by calling its type, %s(name: value, ...), or written as an object, { name: value }", prev.Lit)
		}
		if prev := p.toks[p.p-1]; p.tok.Kind == token.LBRACE && prev.Kind == token.RPAREN && !p.tok.NLBefore {
			// => (req) { "hi" }: JavaScript's arrow without its arrow
			p.fail("expected newline or ';' after statement, found '{': a function with a block body is written fn(req) { ... } (or (req) => expr)")
		}
		if p.tok.Kind == token.IDENT {
			// `} esle {` after an if's block
			if c := diag.Closest(p.tok.Lit, []string{"else", "elif"}); c != "" {
				p.failAt(p.tok.Pos, p.tok.End, "unknown word %s (did you mean %s?)", p.tok.Lit, c)
			}
		}
		p.errorExpected("newline or ';' after statement")
	}
}

// block parses { statements }.
func (p *parser) block() *ast.Block {
	p.enter()
	defer p.leave()
	open := p.tok
	if !p.at(token.LBRACE) {
		p.errorExpected("'{'")
	}
	p.next()
	colArg, colRefs, noArrow, cond := p.colArg, p.colRefs, p.noArrow, p.cond
	p.colArg, p.colRefs, p.noArrow, p.cond = false, 0, 0, ""
	defer func() { p.colArg, p.colRefs, p.noArrow, p.cond = colArg, colRefs, noArrow, cond }()
	b := &ast.Block{PosV: open.Pos}
	b.Stmts = p.stmtList(ctxBlock, token.RBRACE)
	p.expectClose(open)
	return b
}

// stmt parses one statement; nil for the `...` placeholder.
func (p *parser) stmt(ctx stmtCtx) ast.Stmt {
	p.enter()
	defer p.leave()
	t := p.tok
	if t.Kind == token.IDENT && t.Lit == "const" && p.peek(1).Kind == token.IDENT && p.peek(2).Kind == token.ASSIGN {
		// JavaScript's `const x = 5`: a name is bound once by `x = 5`
		p.failAt(t.Pos, t.End, "unknown word const: Tova binds a name with x = 5 (it cannot be rebound), or var x = 5 for one that changes")
	}
	switch t.Kind {
	case token.ELLIPSIS:
		switch p.peek(1).Kind {
		case token.NEWLINE, token.SEMI, token.RBRACE, token.EOF:
			// `...` as a statement is a placeholder for omitted code
			// (warned of: a route of only `...` answered null).
			p.placeholders = append(p.placeholders, t.Pos)
			p.next()
			return nil
		}
	case token.PUB:
		// `pub` makes a declaration visible to the files that import it.
		// A program is one file: the declaration is read as if it had
		// none.
		switch p.peek(1).Kind {
		case token.FN, token.ASYNC, token.TYPE, token.VAR, token.LET, token.TRAIT, token.INTERFACE, token.IDENT, token.LBRACK, token.LBRACE:
			p.next()
			return p.stmt(ctx)
		}
		p.next()
		p.errorExpected("a declaration after 'pub' (fn, type, var or name = value)")
	case token.VAR:
		return p.varDecl()
	case token.LET:
		p.next()
		return p.assignment()
	case token.FN:
		if k := p.peek(1).Kind; k == token.IDENT || k.IsKeyword() {
			return p.fnDecl(false)
		}
	case token.ASYNC:
		if p.peek(1).Kind == token.FN && p.peek(2).Kind == token.IDENT {
			p.next()
			return p.fnDecl(true)
		}
	case token.TYPE:
		return p.typeDecl()
	case token.IMPL:
		return p.implDecl()
	case token.TRAIT, token.INTERFACE:
		return p.traitDecl()
	case token.RETURN:
		p.next()
		r := &ast.Return{PosV: t.Pos}
		if p.inArm {
			p.inArm = false // (a match inside the value is not the arm's)
			if !p.atExprEnd() {
				r.X = p.expr()
			}
		} else if !p.atExprEnd() {
			r.X = p.exprOrTuple()
		}
		return r
	case token.BREAK, token.CONTINUE:
		p.next()
		label := ""
		if p.at(token.IDENT) {
			label = p.tok.Lit
			p.next()
		}
		if t.Kind == token.BREAK {
			return &ast.Break{PosV: t.Pos, Label: label}
		}
		return &ast.Continue{PosV: t.Pos, Label: label}
	case token.FOR, token.WHILE, token.LOOP:
		return p.loop("")
	case token.GUARD:
		p.next()
		g := &ast.Guard{PosV: t.Pos, Cond: p.expr()}
		p.expect(token.ELSE)
		g.Else = p.block()
		return g
	case token.DEFER:
		p.next()
		d := &ast.Defer{PosV: t.Pos}
		if p.at(token.LBRACE) {
			d.Body = p.block()
		} else {
			x := p.expr()
			d.Body = &ast.Block{PosV: x.Pos(), Stmts: []ast.Stmt{&ast.ExprStmt{X: x}}}
		}
		return d
	case token.WITH:
		return p.withStmt()
	case token.THROW:
		p.next()
		return &ast.Throw{PosV: t.Pos, X: p.expr()}
	case token.IMPORT:
		return p.importDecl()
	case token.SERVER:
		if ctx == ctxTop {
			return p.serverDecl()
		}
		p.fail("server blocks are only allowed at top level")
	case token.CLIENT, token.BROWSER:
		if p.peek(1).Kind == token.LBRACE || p.peek(1).Kind == token.STRING {
			p.fail("%s blocks are not supported: this runtime runs server code only", t.Lit)
		}
	case token.IDENT:
		p.concurrency(t)
		if k := p.peek(1).Kind; k == token.COLON {
			switch p.peek(2).Kind {
			case token.FOR, token.WHILE, token.LOOP:
				p.next()
				p.next()
				return p.loop(t.Lit)
			}
		}
		if ctx != ctxBlock {
			if s := p.serverStmt(ctx); s != nil {
				return s
			}
		} else if next := p.peek(1); serverWords[t.Lit] && next.Pos.Line == t.Pos.Line &&
			(next.Kind == token.IDENT || next.Kind == token.STRING || next.Kind == token.INT) {
			// `env RETRIES: Int = 3` in a function: a server declaration
			// out of place, whatever follows its name (slip tells those
			// that end without an '=').
			s := &ast.ExprStmt{X: &ast.Ident{PosV: t.Pos, Name: t.Lit}}
			p.next()
			p.slip(s, ctx)
			return s
		}
	case token.LBRACE:
		if !p.isAssignment() && !p.looksLikeObject(p.p) && !p.isShorthandObject(p.p) {
			return &ast.ExprStmt{X: p.block()}
		}
	}
	return p.simpleStmt()
}

// simpleStmt parses an assignment or an expression statement.
func (p *parser) simpleStmt() ast.Stmt {
	if p.isAssignment() {
		return p.assignment()
	}
	return &ast.ExprStmt{X: p.exprOrTuple()}
}

// exprOrTuple parses an expression, or several separated by commas:
// the reference's way of returning several values (`min_val, max_val`
// as a function's last line, `return a, b`), a tuple, as (a, b) is.
func (p *parser) exprOrTuple() ast.Expr {
	pos := p.tok.Pos
	x := p.expr()
	if !p.at(token.COMMA) {
		return x
	}
	elems := []ast.Expr{x}
	for p.got(token.COMMA) {
		p.skipNewlines()
		elems = append(elems, p.expr())
	}
	return &ast.ArrayLit{PosV: pos, Elems: elems}
}

// assignOps maps assignment tokens to Assign.Op.
var assignOps = map[token.Kind]string{
	token.ASSIGN:    "=",
	token.ADDASSIGN: "+=",
	token.SUBASSIGN: "-=",
	token.MULASSIGN: "*=",
	token.DIVASSIGN: "/=",
	token.MODASSIGN: "%=",
	token.POWASSIGN: "**=",
	token.ANDASSIGN: "&=",
	token.ORASSIGN:  "|=",
	token.XORASSIGN: "^=",
	token.SHLASSIGN: "<<=",
	token.SHRASSIGN: ">>=",
}

// isAssignment reports whether the statement at the current token contains
// an assignment operator outside any brackets.
func (p *parser) isAssignment() bool {
	depth := 0
	for i := p.p; i < len(p.toks); i++ {
		k := p.toks[i].Kind
		switch k {
		case token.LPAREN, token.LBRACK, token.LBRACE:
			depth++
		case token.RPAREN, token.RBRACK, token.RBRACE:
			depth--
			if depth < 0 {
				return false
			}
		case token.NEWLINE, token.SEMI, token.EOF:
			if depth == 0 || k == token.EOF {
				return false
			}
		case token.FATARROW:
			if depth == 0 {
				return false // x => y = ... is a lambda
			}
		default:
			if _, ok := assignOps[k]; ok && depth == 0 {
				return true
			}
		}
	}
	return false
}

// assignment parses `targets [: Type] op values`.
func (p *parser) assignment() ast.Stmt {
	a := &ast.Assign{PosV: p.tok.Pos}
	for {
		a.Targets = append(a.Targets, p.target())
		if !p.got(token.COMMA) {
			break
		}
	}
	if p.at(token.COLON) {
		if _, ok := a.Targets[0].(*ast.PBind); !ok || len(a.Targets) != 1 {
			if n := p.peek(1); n.Kind == token.ASSIGN && n.Pos == p.tok.End {
				// v, err := f() (Go)
				p.fail(":= is not Tova: write the names and = (a, b = f()), and var before them for bindings that change")
			}
			p.fail("a type annotation needs a single name before it")
		}
		p.next()
		a.Type = p.typeExpr()
	}
	op, ok := assignOps[p.tok.Kind]
	if !ok {
		p.errorExpected("'='")
	}
	if op != "=" && (len(a.Targets) != 1 || a.Type != nil) {
		p.fail("%s needs a single target", op)
	}
	if op != "=" {
		switch a.Targets[0].(type) {
		case *ast.PBind, *ast.PTarget:
		default:
			p.fail("cannot use %s with a destructuring pattern", op)
		}
	}
	a.Op = op
	p.next()
	p.skipNewlines()
	a.Values = p.exprList()
	return a
}

func (p *parser) exprList() []ast.Expr {
	list := []ast.Expr{p.expr()}
	for p.got(token.COMMA) {
		p.skipNewlines()
		list = append(list, p.expr())
	}
	return list
}

// target parses one assignment target: a name, a destructuring pattern, or
// a member or index expression.
func (p *parser) target() ast.Pattern {
	switch p.tok.Kind {
	case token.LBRACE, token.LBRACK:
		return p.bindPattern()
	case token.LPAREN:
		if p.tupleTarget() {
			return p.bindPattern() // let (x, y) = (1, 2)
		}
	case token.IDENT:
		if p.tok.Lit == "_" {
			pos := p.tok.Pos
			p.next()
			return &ast.PWild{PosV: pos}
		}
	}
	start := p.tok
	x := p.postfix()
	switch x := x.(type) {
	case *ast.Ident:
		return &ast.PBind{Name: x}
	case *ast.Member:
		if x.Optional {
			break
		}
		return &ast.PTarget{X: x}
	case *ast.Index:
		if x.Optional {
			break
		}
		return &ast.PTarget{X: x}
	}
	p.failAt(start.Pos, start.End, "cannot assign to this expression")
	return nil
}

// tupleTarget reports whether the parenthesis at p.tok opens a tuple of
// targets, `(x, y)` or `(x, ...rest)`, rather than an expression to
// assign into, `(obj.x)`.
func (p *parser) tupleTarget() bool {
	depth := 0
	for i := 0; ; i++ {
		switch p.peek(i).Kind {
		case token.LPAREN, token.LBRACK, token.LBRACE:
			depth++
		case token.RPAREN, token.RBRACK, token.RBRACE:
			if depth--; depth == 0 {
				return false
			}
		case token.COMMA, token.ELLIPSIS:
			if depth == 1 {
				return true
			}
		case token.EOF, token.NEWLINE:
			return false
		}
	}
}

// varDecl parses `var targets [: Type] [= values]`; without values every
// target starts as nil.
func (p *parser) varDecl() ast.Stmt {
	v := &ast.VarDecl{PosV: p.tok.Pos}
	p.next()
	for {
		v.Targets = append(v.Targets, p.bindPattern())
		if !p.got(token.COMMA) {
			break
		}
	}
	if p.got(token.COLON) {
		if _, ok := v.Targets[0].(*ast.PBind); !ok || len(v.Targets) != 1 {
			p.fail("a type annotation needs a single name before it")
		}
		v.Type = p.typeExpr()
	}
	if p.got(token.ASSIGN) {
		p.skipNewlines()
		v.Values = p.exprList()
		return v
	}
	if !p.atStmtEnd() {
		p.errorExpected("'=' or end of statement")
	}
	for _, t := range v.Targets {
		if _, ok := t.(*ast.PBind); !ok {
			p.failAt(t.Pos(), t.Pos(), "a destructuring var needs a value")
		}
		v.Values = append(v.Values, &ast.NilLit{PosV: t.Pos()})
	}
	return v
}

// fnDecl parses `fn name[<T>](params) [-> T] { body }` (after `async`).
func (p *parser) fnDecl(async bool) ast.Stmt {
	pos := p.tok.Pos
	p.expect(token.FN)
	name := p.ident()
	fn := &ast.Function{Name: name.Name, Async: async}
	fn.TypeParams = p.typeParams()
	fn.Params = p.params()
	d := &ast.FnDecl{PosV: pos, Name: name, Fn: fn}
	if p.got(token.ARROW) {
		d.RetType = p.typeExpr()
	}
	fn.Body = p.fnBody(fn, false)
	return d
}

// withStmt parses `with expr as name { ... }`.
func (p *parser) withStmt() *ast.With {
	w := &ast.With{PosV: p.tok.Pos}
	p.next()
	w.X = p.expr()
	p.expect(token.AS)
	w.Name = p.ident()
	w.Body = p.block()
	pos := w.Name.PosV
	w.Close = &ast.Block{PosV: pos, Stmts: []ast.Stmt{&ast.ExprStmt{X: &ast.Call{PosV: pos,
		Fn:   &ast.Ident{PosV: pos, Name: "__dispose"},
		Args: []*ast.Arg{{PosV: pos, Value: &ast.Ident{PosV: pos, Name: w.Name.Name}}}}}}}
	return w
}

// ident consumes an identifier (not a keyword).
func (p *parser) ident() *ast.Ident {
	t := p.tok
	if t.Kind != token.IDENT {
		if t.Kind.IsKeyword() {
			p.fail("expected name, found keyword '%s'", t.Kind)
		}
		p.errorExpected("name")
	}
	p.next()
	return &ast.Ident{PosV: t.Pos, Name: t.Lit}
}

// params parses a parameter list: names, destructuring patterns, `...rest`,
// with optional type annotations and defaults.
func (p *parser) params() []*ast.Param {
	open := p.tok
	if !p.at(token.LPAREN) {
		p.errorExpected("'(' to start the parameter list")
	}
	p.next()
	defer p.saveArrow()()
	var ps []*ast.Param
	for !p.at(token.RPAREN) {
		q := &ast.Param{PosV: p.tok.Pos}
		q.Rest = p.got(token.ELLIPSIS)
		switch p.tok.Kind {
		case token.LBRACE, token.LBRACK:
			if q.Rest {
				p.errorExpected("parameter name after '...'")
			}
			q.Pattern = p.bindPattern()
		default:
			if p.tok.Kind != token.IDENT {
				if p.tok.Kind.IsKeyword() {
					if p.tok.Kind == token.FROM || p.tok.Kind == token.IN || p.tok.Kind == token.IS {
						// (fn(from, to): a date range's natural names)
						other := ""
						if p.tok.Kind == token.FROM {
							other = " (since, start)"
						}
						p.fail("expected parameter name, found keyword '%s': name the parameter otherwise%s (a route handler reads a query's %s as req.query.%s)", p.tok.Kind, other, p.tok.Kind, p.tok.Kind)
					}
					p.fail("expected parameter name, found keyword '%s'", p.tok.Kind)
				}
				p.errorExpected("parameter name")
			}
			q.Name = p.ident()
		}
		// `b?` (the reference's docs) is `b = nil`: an optional parameter.
		optional := q.Name != nil && !q.Rest && p.at(token.QUESTION)
		if optional {
			q.Default = &ast.NilLit{PosV: p.tok.Pos}
			p.next()
		}
		if p.got(token.COLON) {
			q.Type = p.typeExpr()
		}
		if p.got(token.ASSIGN) {
			if optional {
				p.failAt(q.PosV, q.PosV, "parameter %s: `?` already makes nil its default; write `%s = value` alone", q.Name.Name, q.Name.Name)
			}
			q.Default = p.expr()
		}
		ps = append(ps, q)
		if !p.got(token.COMMA) {
			break
		}
	}
	p.closeList(open, "parameter list")
	for i, q := range ps {
		if q.Rest && i != len(ps)-1 {
			p.errorAt(q.PosV, q.PosV, "a rest parameter must be the last parameter")
		}
	}
	return ps
}

// loop parses for, while and loop statements, with an optional label.
func (p *parser) loop(label string) ast.Stmt {
	t := p.tok
	switch t.Kind {
	case token.WHILE:
		p.next()
		w := &ast.While{PosV: t.Pos, Label: label, Cond: p.condition("while")}
		w.Body = p.block()
		return w
	case token.LOOP:
		p.next()
		return &ast.Loop{PosV: t.Pos, Label: label, Body: p.block()}
	case token.FOR:
		p.next()
		f := &ast.For{PosV: t.Pos, Label: label}
		f.Vars = p.forVars()
		p.expect(token.IN)
		f.Iter = p.expr()
		if p.got(token.WHEN) {
			f.When = p.expr()
		}
		f.Body = p.block()
		if p.peekPastNewlines(token.ELSE) {
			p.next()
			f.Else = p.block()
		}
		return f
	}
	p.errorExpected("'for', 'while' or 'loop' after label")
	return nil
}

// condition parses the condition after keyword kw. A `{` there whose
// block ends the statement is the body itself, the condition forgotten: an
// object literal would be read as the condition, and the error would
// land inside the body, about object keys. The same holds for a `{`
// where the condition's last operand is missing (`if count > {`), which
// primary reports by p.cond.
func (p *parser) condition(kw string) ast.Expr {
	if p.at(token.LBRACE) && p.endsStmt(p.p) {
		p.fail("expected a condition after '%s', found '{'", kw)
	}
	cond := p.cond
	p.cond = kw
	defer func() { p.cond = cond }()
	x := p.expr()
	if p.at(token.ASSIGN) && (kw == "if" || kw == "while" || kw == "elif") {
		// if x = 2 { ... }
		p.fail("expected '{' after the condition, found '=': = assigns; a comparison is written ==")
	}
	return x
}

// endsStmt reports whether the bracket at token index k is closed and
// its closer ends the statement (or the source): a `{` so placed is a
// block body, not an object literal.
func (p *parser) endsStmt(k int) bool {
	depth := 0
	for ; k < len(p.toks); k++ {
		switch p.toks[k].Kind {
		case token.LBRACE, token.LBRACK, token.LPAREN:
			depth++
			continue
		case token.RBRACE, token.RBRACK, token.RPAREN:
			depth--
			if depth > 0 {
				continue
			}
		default:
			continue
		}
		if k+1 >= len(p.toks) {
			return true
		}
		switch p.toks[k+1].Kind {
		case token.NEWLINE, token.SEMI, token.RBRACE, token.EOF, token.ELIF, token.ELSE:
			return true
		}
		return false
	}
	return false
}

// ifExpr parses if/elif/else (statement or expression). `else if` is
// accepted as `elif`.
func (p *parser) ifExpr() ast.Expr {
	x := &ast.If{PosV: p.tok.Pos}
	p.expect(token.IF)
	x.Cond = p.condition("if")
	x.Then = p.block()
	for {
		if p.peekPastNewlines(token.ELIF) {
			pos := p.tok.Pos
			p.next()
			c := &ast.ElifClause{PosV: pos, Cond: p.condition("elif")}
			c.Body = p.block()
			x.Elifs = append(x.Elifs, c)
			continue
		}
		if p.peekPastNewlines(token.ELSE) {
			pos := p.tok.Pos
			p.next()
			if p.at(token.IF) {
				p.next()
				c := &ast.ElifClause{PosV: pos, Cond: p.condition("else if")}
				c.Body = p.block()
				x.Elifs = append(x.Elifs, c)
				continue
			}
			x.Else = p.block()
		}
		return x
	}
}

// matchExpr parses `match subject { pattern [if guard] => body ... }`.
func (p *parser) matchExpr() ast.Expr {
	m := &ast.Match{PosV: p.tok.Pos}
	p.expect(token.MATCH)
	m.Subject = p.expr()
	open := p.tok
	if !p.at(token.LBRACE) {
		p.errorExpected("'{' after match subject")
	}
	p.next()
	for {
		for p.at(token.NEWLINE) || p.at(token.SEMI) || p.at(token.COMMA) {
			p.next()
		}
		if p.at(token.RBRACE) || p.at(token.EOF) {
			break
		}
		start := p.p
		p.recoverTo(start, func() {
			arm := p.matchArm()
			m.Arms = append(m.Arms, arm)
			switch p.tok.Kind {
			case token.NEWLINE, token.SEMI, token.COMMA, token.RBRACE:
			default:
				p.errorExpected("newline or ',' after match arm")
			}
		})
	}
	p.expectClose(open)
	return m
}

func (p *parser) matchArm() *ast.MatchArm {
	arm := &ast.MatchArm{PosV: p.tok.Pos}
	arm.Pattern = p.pattern()
	if p.got(token.IF) {
		p.noArrow++
		arm.Guard = p.expr()
		p.noArrow--
	}
	if !p.at(token.FATARROW) {
		p.errorExpected("'=>' after match pattern")
	}
	arrow := p.tok
	p.next()
	p.skipNewlines()
	if p.tok.Pos.Line > arrow.Pos.Line && p.tok.Pos.Col <= arm.PosV.Col && p.lineHasArrow() {
		// `1 =>` (or `=> // ...`) with the next arm below: that arm
		// read as this one's value (`_ => 2`, a lambda), or failed at
		// its own =>
		p.failAt(arrow.Pos, arrow.End, "the match arm at %d:%d has nothing after its =>: write its value there, or on the next line indented under it (the line below, an arm of its own, is the next arm)", arm.PosV.Line, arm.PosV.Col)
	}
	arm.Body = p.armBody()
	return arm
}

// lineHasArrow reports whether the line the current token begins holds
// a => outside brackets: an arm of its own (`_ => 2`), not the value of
// the arm above it.
func (p *parser) lineHasArrow() bool {
	depth := 0
	for i := p.p; i < len(p.toks); i++ {
		switch t := p.toks[i]; t.Kind {
		case token.NEWLINE, token.EOF:
			return false
		case token.LPAREN, token.LBRACK, token.LBRACE:
			depth++
		case token.RPAREN, token.RBRACK, token.RBRACE:
			if depth--; depth < 0 {
				return false
			}
		case token.FATARROW:
			if depth == 0 {
				return true
			}
		}
	}
	return false
}

// armBody parses a match arm's value: a block, an expression, or a
// return/break/continue/throw statement (wrapped in a block).
func (p *parser) armBody() ast.Expr {
	switch p.tok.Kind {
	case token.LBRACE:
		if !p.isAssignment() && !p.looksLikeObject(p.p) {
			return p.block()
		}
	case token.RETURN, token.BREAK, token.CONTINUE, token.THROW:
		outer := p.inArm
		p.inArm = true
		s := p.stmt(ctxBlock)
		p.inArm = outer
		return &ast.Block{PosV: s.Pos(), Stmts: []ast.Stmt{s}}
	}
	return p.expr()
}

// tryExpr parses try { } [catch [name] { }] [finally { }].
func (p *parser) tryExpr() ast.Expr {
	t := &ast.Try{PosV: p.tok.Pos}
	p.expect(token.TRY)
	t.Body = p.block()
	if p.peekPastNewlines(token.CATCH) {
		p.next()
		switch {
		case p.at(token.IDENT):
			t.CatchVar = p.ident()
		case p.at(token.LPAREN) && p.peek(1).Kind == token.IDENT && p.peek(2).Kind == token.RPAREN:
			p.next()
			t.CatchVar = p.ident()
			p.next()
		}
		t.Catch = p.block()
	}
	if p.peekPastNewlines(token.FINALLY) {
		p.next()
		t.Finally = p.block()
	}
	if t.Catch == nil && t.Finally == nil {
		p.errorExpected("'catch' or 'finally' after try block")
	}
	return t
}

// importDecl parses `import { a, b as c } from "m"`, `import m from "m"`
// (also `import m, { a } from "m"`) and `import "m"`.
func (p *parser) importDecl() ast.Stmt {
	im := &ast.Import{PosV: p.tok.Pos}
	p.next()
	if p.at(token.STRING) {
		im.From, im.FromPos = p.tok.Lit, p.tok.Pos
		p.next()
		return im
	}
	if p.at(token.MUL) {
		p.next()
		p.expect(token.AS)
		im.Star = p.ident()
	}
	if im.Star == nil && p.at(token.IDENT) {
		im.Default = p.ident()
		p.got(token.COMMA)
	}
	if im.Star == nil && p.at(token.LBRACE) {
		open := p.tok
		p.next()
		for {
			p.skipNewlines()
			if p.at(token.RBRACE) {
				break
			}
			n := &ast.ImportName{Name: p.ident()}
			if p.got(token.AS) {
				n.Alias = p.ident()
			}
			im.Names = append(im.Names, n)
			p.skipNewlines()
			if !p.got(token.COMMA) {
				break
			}
		}
		p.skipNewlines()
		p.expectClose(open)
	}
	if im.Star == nil && im.Default == nil && len(im.Names) == 0 {
		p.errorExpected("names to import")
	}
	if im.Default != nil && !p.at(token.FROM) {
		// import os (Python's, Go's)
		p.failAt(im.Default.PosV, token.Pos{Line: im.Default.PosV.Line, Col: im.Default.PosV.Col + int32(len(im.Default.Name))},
			"import %s: builtins need no import (env(\"PORT\"), read(path), exec(cmd), ...); a module is imported with import { name } from \"module\"", im.Default.Name)
	}
	p.expect(token.FROM)
	if !p.at(token.STRING) || p.tok.Parts != nil {
		p.errorExpected("module name string")
	}
	im.From, im.FromPos = p.tok.Lit, p.tok.Pos
	p.next()
	return im
}

// implDecl parses `impl Type { fn ... }` and `impl Trait for Type { fn
// ... }`. A trait's methods take their receiver as self without naming
// it (`fn to_string() { self.name }`): it is added as their first
// parameter.
func (p *parser) implDecl() ast.Stmt {
	d := &ast.ImplDecl{PosV: p.tok.Pos}
	p.next()
	d.Type = p.ident()
	generics := p.typeParams()
	if p.at(token.FOR) {
		p.next()
		d.Trait, d.Type = d.Type, p.ident()
		generics = append(generics, p.typeParams()...)
	}
	for _, m := range p.methodBlock("impl", d.Trait != nil, false) {
		m.Fn.TypeParams = append(m.Fn.TypeParams, generics...)
		d.Methods = append(d.Methods, m)
	}
	return d
}

// traitDecl parses `trait Name { ... }` and `interface Name { ... }`:
// method signatures (`fn name(params) -> Type`) and, in a trait, methods
// with a default body.
func (p *parser) traitDecl() ast.Stmt {
	d := &ast.TraitDecl{PosV: p.tok.Pos, Interface: p.at(token.INTERFACE)}
	kind := p.tok.Kind.String()
	p.next()
	d.Name = p.ident()
	generics := p.typeParams()
	d.Methods = p.methodBlock(kind, true, true)
	for _, m := range d.Methods {
		m.Fn.TypeParams = append(m.Fn.TypeParams, generics...)
	}
	return d
}

// methodBlock parses the braces of an impl, trait or interface: fn
// declarations, one per line. implicitSelf adds self as each one's first
// parameter (unless it names self itself); signatures allows a method
// without a body.
func (p *parser) methodBlock(kind string, implicitSelf, signatures bool) []*ast.FnDecl {
	open := p.tok
	if !p.at(token.LBRACE) {
		p.errorExpected("'{' to start the " + kind + " block")
	}
	p.next()
	var ms []*ast.FnDecl
	for {
		for p.at(token.NEWLINE) || p.at(token.SEMI) || p.at(token.COMMA) {
			p.next()
		}
		if p.at(token.RBRACE) || p.at(token.EOF) {
			break
		}
		async := p.at(token.ASYNC) && p.peek(1).Kind == token.FN
		if async {
			p.next()
		}
		if !p.at(token.FN) {
			p.errorExpected("fn (a method) in the " + kind + " block")
		}
		pos := p.tok.Pos
		p.next()
		var name *ast.Ident
		if p.tok.Kind.IsKeyword() {
			// A method may be named as a keyword (fn default()): it is
			// only ever written after a dot.
			name = &ast.Ident{PosV: p.tok.Pos, Name: p.tok.Kind.String()}
			p.next()
		} else {
			name = p.ident()
		}
		fn := &ast.Function{Name: name.Name, Async: async}
		fn.TypeParams = p.typeParams()
		fn.Params = p.params()
		if implicitSelf && (len(fn.Params) == 0 || fn.Params[0].Name == nil || fn.Params[0].Name.Name != "self") {
			self := &ast.Param{PosV: name.PosV, Name: &ast.Ident{PosV: name.PosV, Name: "self"}}
			fn.Params = append([]*ast.Param{self}, fn.Params...)
		}
		d := &ast.FnDecl{PosV: pos, Name: name, Fn: fn}
		if p.got(token.ARROW) {
			d.RetType = p.typeExpr()
		}
		if signatures && !p.at(token.LBRACE) {
			// A signature: no body.
		} else {
			fn.Body = p.fnBody(fn, false)
		}
		ms = append(ms, d)
		switch p.tok.Kind {
		case token.NEWLINE, token.SEMI, token.RBRACE, token.FN, token.ASYNC:
			// The next method may follow on the same line, as the
			// reference reads it.
		default:
			p.errorExpected("newline after the method")
		}
	}
	p.expectClose(open)
	return ms
}
