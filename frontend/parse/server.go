package parse

import (
	"fmt"
	"strings"

	"tova/frontend/ast"
	"tova/frontend/diag"
	"tova/frontend/token"
)

// Server declarations are recognised by a leading word (an ordinary
// identifier, so `port`, `model` or `health` remain usable as names) and
// the shape of what follows it on the same line.

var hookKinds = map[string]bool{
	"middleware": true, "on_error": true, "on_start": true, "on_stop": true, "background": true,
}

// hookShapes is how each hook is written, for the error of one written
// otherwise.
var hookShapes = map[string]string{
	"middleware": "middleware fn name(req, next) { … } or middleware fn name(req, res) { … }",
	"on_error":   "on_error fn(err, req) { … } or on_error fn(err, req, res) { … }",
	"on_start":   "on_start fn() { … }",
	"on_stop":    "on_stop fn() { … }",
	"background": "background fn name(args) { … }",
}

// wordLike reports whether t is a name or a literal: after a server
// word on its line, the start of a declaration written wrong, never of
// an expression the word begins (`health = …`, `middleware(x)`).
func wordLike(t token.Token) bool {
	switch t.Kind {
	case token.IDENT, token.INT, token.FLOAT, token.STRING, token.TRUE, token.FALSE, token.NIL:
		return true
	}
	return false
}

// HTTPMethods are the methods a route may name (upper case); a compiled
// route holds one of them.
var HTTPMethods = map[string]bool{
	"GET": true, "POST": true, "PUT": true, "DELETE": true, "PATCH": true, "HEAD": true, "OPTIONS": true,
}

// startsOperand reports whether t (followed by t2) can begin the operand
// of `port` or `max_body` written without parentheses. A minus sign
// written against a number (`port -1`) negates it: the statement is the
// declaration with a value its check then refuses, not a subtraction
// from an undefined `port`. With a space after the minus (`port - 1`) it
// stays a subtraction.
func startsOperand(t, t2 token.Token) bool {
	switch t.Kind {
	case token.INT, token.FLOAT, token.STRING, token.IDENT, token.TRUE, token.FALSE, token.NIL:
		return true
	case token.SUB:
		return (t2.Kind == token.INT || t2.Kind == token.FLOAT) && t2.Pos == t.End
	}
	return false
}

// unquotedPath reports whether n1 n2 are a path written without its
// quotes (`/healthz`): a "/" joined to the name after it.
func unquotedPath(n1, n2 token.Token) bool {
	return n1.Kind == token.DIV && n2.Kind == token.IDENT && n2.Pos == n1.End
}

// spacedParen reports whether next is a "(" set apart from word by a
// space: `port (3000 + 1)` declares a port, `port(3000)` calls port.
func spacedParen(word, next token.Token) bool {
	return next.Kind == token.LPAREN && next.Pos != word.End
}

// serverStmt parses a server declaration at the current identifier, or
// returns nil when the statement is an ordinary one.
func (p *parser) serverStmt(ctx stmtCtx) ast.Stmt {
	word := p.tok.Lit
	n1, n2 := p.peek(1), p.peek(2)
	switch {
	case word == "route" && (n1.Kind == token.IDENT && (n2.Kind == token.STRING || HTTPMethods[strings.ToUpper(n1.Lit)]) || n1.Kind == token.STRING):
		// (a method not followed by a string, or a path with no method
		// before it, is a route written wrong: say so, not that a
		// statement ended early)
		return p.routeDecl()
	case word == "routes" && n1.Kind == token.STRING:
		return p.routesGroup()
	case hookKinds[word] && (n1.Kind == token.FN || n1.Kind == token.ASYNC && n2.Kind == token.FN):
		pos := p.tok.Pos
		p.next()
		fn, name := p.fnAfterWord()
		return &ast.HookDecl{PosV: pos, Kind: word, Name: name, Fn: fn}
	case hookKinds[word] && n1.Pos.Line == p.tok.Pos.Line && wordLike(n1):
		// `middleware logger`: a statement the grammar has no place
		// for; say what it takes rather than that a statement ended.
		p.failAt(p.tok.Pos, n1.End, "%s takes a function written in place: %s", word, hookShapes[word])
	case hookKinds[word] && n1.Kind == token.LPAREN && n1.Pos.Line == p.tok.Pos.Line && p.blockAfterParens(1):
		// `on_error(err, req) { … }`: the function's parameters written
		// after the word, as a declaration's (it said a statement ended
		// at the '{')
		p.failAt(p.tok.Pos, n1.End, "%s takes a function written in place: %s", word, hookShapes[word])
	case word == "health" && n1.Kind == token.STRING:
		return p.healthDecl()
	case word == "health" && n1.Pos.Line == p.tok.Pos.Line && wordLike(n1):
		p.failAt(p.tok.Pos, n1.End, `health takes a path string: health "/health" (with checks: health "/health" { check_memory, check_db })`)
	case word == "port" && (startsOperand(n1, n2) || spacedParen(p.tok, n1)):
		pos := p.tok.Pos
		p.next()
		return &ast.PortStmt{PosV: pos, X: p.expr()}
	case word == "max_body" && (startsOperand(n1, n2) || spacedParen(p.tok, n1)):
		pos := p.tok.Pos
		p.next()
		return &ast.MaxBodyStmt{PosV: pos, X: p.expr()}
	case word == "static" && n1.Kind == token.STRING:
		return p.staticDecl()
	case word == "websocket" && n1.Kind == token.STRING, word == "ws" && n1.Kind == token.LBRACE:
		return p.websocketDecl()
	case word == "sse" && n1.Kind == token.STRING:
		pos := p.tok.Pos
		p.next()
		path := p.plainString("path")
		fn, _ := p.fnAfterWord()
		return &ast.SSEDecl{PosV: pos, Path: path, Fn: fn}
	case word == "schedule" && n1.Kind == token.STRING && n2.Kind == token.IDENT && (n2.Lit == "every" || n2.Lit == "at"):
		// schedule "c" every(5.minutes) { … }
		p.failAt(n2.Pos, n2.End, `a schedule is written schedule "5m" fn %s() { … } (an interval), or schedule "%s" cron("0 * * * *") fn() { … }`, n1.Lit, n1.Lit)
	case word == "schedule" && n1.Kind == token.STRING:
		return p.scheduleDecl()
	case word == "schedule" && n1.Kind == token.IDENT && n1.Lit == "cron" && n2.Kind == token.LPAREN:
		// (it said a statement ended at "cron")
		p.failAt(n1.Pos, n1.End, "a schedule needs a name before its cron: schedule \"name\" cron(\"0 * * * *\") { … }")
	case word == "subscribe" && n1.Kind == token.STRING:
		pos := p.tok.Pos
		p.next()
		topic := p.plainString("topic")
		fn, name := p.fnAfterWord()
		return &ast.SubscribeDecl{PosV: pos, Topic: topic, Name: name, Fn: fn}
	case word == "discover" && n1.Kind == token.STRING:
		return p.discoverDecl()
	case (word == "subscribe" || word == "discover") && n1.Kind == token.IDENT && n1.Pos.Line == p.tok.Pos.Line && ctx == ctxServer:
		// subscribe user_created fn(u) { … }, discover worker { … }
		what := map[string]string{"subscribe": `its topic: subscribe "%s" fn(data) { … }`, "discover": `the server's name: discover "%s" { url: … }`}[word]
		p.failAt(n1.Pos, n1.End, "%s takes a string literal, "+what+" (a name holding one is not taken)", word, n1.Lit)
	case hookKinds[word] && n1.Kind == token.LBRACE && ctx == ctxServer:
		// on_start { print("start") }: read as a config block, it
		// failed inside, about an object's entries
		p.failAt(p.tok.Pos, n1.End, "%s takes a function written in place: %s", word, hookShapes[word])
	case word == "health" && ctx == ctxServer && (n1.Kind == token.NEWLINE || n1.Kind == token.SEMI || n1.Kind == token.EOF || n1.Kind == token.RBRACE):
		p.failAt(p.tok.Pos, p.tok.End, `health takes a path string: health "/health" (with checks: health "/health" { check_memory, check_db })`)
	case word == "model" && n1.Kind == token.IDENT:
		return p.modelDecl()
	case word == "env" && n1.Kind == token.IDENT && n2.Kind == token.ASSIGN:
		// env API_KEY = "x": it said '=' was expected, before the '='
		typ := "String"
		if n3 := p.peek(3); n3.Kind == token.INT {
			typ = "Int" // (env PORT = 8080)
		} else if n3.Kind == token.FLOAT {
			typ = "Float"
		}
		p.failAt(n2.Pos, n2.End, "an env declaration gives the variable's type: env %s: %s = ... (or Int, Float, Bool, Duration, Option<...>)", n1.Lit, typ)
	case word == "env" && n1.Kind == token.IDENT && (n2.Kind == token.NEWLINE || n2.Kind == token.EOF || n2.Kind == token.SEMI || n2.Kind == token.RBRACE):
		// env API_KEY
		p.failAt(n1.Pos, n1.End, "an env declaration gives the variable's type: env %s: String (or Int, Float, Bool, Duration, Option<...>)", n1.Lit)
	case word == "env" && n1.Kind == token.IDENT && n2.Kind == token.COLON:
		pos := p.tok.Pos
		p.next()
		e := &ast.EnvDecl{PosV: pos, Name: p.ident()}
		p.expect(token.COLON)
		e.Type = p.typeExpr()
		if p.got(token.ASSIGN) {
			e.Default = p.expr()
		}
		return e
	case word == "data" && n1.Kind == token.LBRACE:
		// (inside a server too, where the compiler refuses it by name)
		return p.dataBlock()
	case word == "routes" && n1.Kind == token.LBRACE:
		p.failAt(p.tok.Pos, p.tok.End, `routes needs a path prefix: routes "/api" { ... }`)
	case word == "routes" && n1.Pos.Line == p.tok.Pos.Line && (wordLike(n1) || n1.Kind == token.INT || unquotedPath(n1, n2)):
		// `routes api {`: the word is right, its prefix is not a string
		p.failAt(n1.Pos, n1.End, `routes needs its path prefix as a string: routes "/api" { ... }`)
	case (word == "health" || word == "static") && unquotedPath(n1, n2):
		p.failAt(n1.Pos, n2.End, `%s takes a path string: %s "/%s"`, word, word, n2.Lit)
	case ctx == ctxServer && (word == "port" || word == "max_body") && (n1.Kind == token.NEWLINE || n1.Kind == token.SEMI || n1.Kind == token.EOF || n1.Kind == token.RBRACE):
		// a lone word: its value was left out
		example := map[string]string{"port": "port 8080", "max_body": "max_body 10.megabytes"}[word]
		p.failAt(p.tok.Pos, p.tok.End, "%s needs a value: %s", word, example)
	case word == "model" && n1.Kind == token.LBRACE:
		p.failAt(p.tok.Pos, p.tok.End, "model needs a name: model Post { title: String }")
	case n1.Kind == token.LBRACE:
		if c := diag.Closest(word, []string{"server", "routes", "shared", "data"}); c != "" {
			// `sever { ... }` would read as a config block named sever,
			// and fail inside it, about its entries
			p.failAt(p.tok.Pos, p.tok.End, "unknown block %s (did you mean %s?)", word, c)
		}
		pos := p.tok.Pos
		p.next()
		return &ast.ConfigBlock{PosV: pos, Kind: word, Entries: p.configBody()}
	}
	return nil
}

// blockAfterParens reports whether the token k ahead, a '(', closes
// within a few tokens and a '{' follows on the same line.
func (p *parser) blockAfterParens(k int) bool {
	depth := 0
	for i := k; i < k+64; i++ {
		switch t := p.peek(i); t.Kind {
		case token.LPAREN:
			depth++
		case token.RPAREN:
			if depth--; depth == 0 {
				next := p.peek(i + 1)
				return next.Kind == token.LBRACE && next.Pos.Line == t.Pos.Line
			}
		case token.EOF, token.NEWLINE, token.LBRACE, token.RBRACE:
			return false
		}
	}
	return false
}

// serverDecl parses `server ["name"] { ... }`.
func (p *parser) serverDecl() ast.Stmt {
	s := &ast.ServerDecl{PosV: p.tok.Pos}
	p.next()
	if p.at(token.STRING) {
		s.Name = p.plainString("server name")
	} else if n := p.tok; n.Kind == token.IDENT && p.peek(1).Kind == token.LBRACE {
		// (it said '{' was expected, at the name)
		p.failAt(n.Pos, n.End, "a server's name is a string: server %q { ... }", n.Lit)
	} else if p.at(token.LPAREN) && p.peek(1).Kind == token.STRING && p.peek(2).Kind == token.RPAREN {
		// server("api") { ... }
		p.failAt(p.tok.Pos, p.toks[p.p+2].End, "a server's name is written without parentheses: server %q { ... }", p.peek(1).Lit)
	}
	s.Body = p.serverBody()
	return s
}

// serverBody parses { server statements }.
func (p *parser) serverBody() []ast.Stmt {
	open := p.tok
	if !p.at(token.LBRACE) {
		p.errorExpected("'{'")
	}
	p.next()
	body := p.stmtList(ctxServer, token.RBRACE)
	p.expectClose(open)
	return body
}

// plainString consumes a string literal without interpolation.
func (p *parser) plainString(what string) string {
	t := p.tok
	if t.Kind != token.STRING {
		p.errorExpected(what + " string")
	}
	if t.Parts != nil {
		if what == "route path" || what == "route prefix" {
			// "/u/{id}" (OpenAPI's, and other frameworks')
			p.fail("%s must be a plain string (no {interpolation}): a path parameter is written :name, \"/users/:id\"", what)
		}
		p.fail("%s must be a plain string (no {interpolation})", what)
	}
	p.next()
	return t.Lit
}

// fnAfterWord parses `[async] fn [name] [<T>](params) [-> T] { body }`,
// the function that follows a server keyword.
func (p *parser) fnAfterWord() (*ast.Function, *ast.Ident) {
	async := p.got(token.ASYNC)
	if !p.at(token.FN) {
		p.errorExpected("'fn'")
	}
	p.next()
	fn := &ast.Function{Async: async}
	var name *ast.Ident
	if p.at(token.IDENT) {
		name = p.ident()
		fn.Name = name.Name
	}
	fn.TypeParams = p.typeParams()
	fn.Params = p.params()
	if p.got(token.ARROW) {
		p.typeExpr()
	}
	if !p.at(token.LBRACE) && (name != nil || lineEnd(p.tok.Kind)) {
		// (as a top-level fn's: `fn m(req, next) next(req)` said only
		// that a '{' was wanted)
		if name == nil {
			p.errorExpected("'{' to start the body (or one expression)")
		}
		p.fail("expected '{', found %s: the body of fn %s is a block, { … }; an unnamed fn(…) may be one expression", p.tok, name.Name)
	}
	// Unnamed, a hook is a lambda, whose body may be one expression, as
	// a handler's and a guard's: on_error fn(err) text("sorry").
	fn.Body = p.fnBody(fn, name == nil)
	return fn, name
}

// routeDecl parses `route METHOD "path" [body: T] [with g1, g2(x)] [-> T] => handler`
// (the optional parts in any order).
func (p *parser) routeDecl() ast.Stmt {
	r := &ast.RouteDecl{PosV: p.tok.Pos}
	p.next()
	m := p.tok
	if m.Kind == token.STRING {
		method, path := "GET", m.Lit
		if verb, rest, ok := strings.Cut(m.Lit, " "); ok && HTTPMethods[strings.ToUpper(verb)] {
			// route "GET /users/:id": the method written in the path
			method, path = strings.ToUpper(verb), strings.TrimSpace(rest)
		}
		p.failAt(m.Pos, m.End, "a route needs a method before its path, as in route %s %q => handler", method, path)
	}
	r.Method = strings.ToUpper(m.Lit)
	if !HTTPMethods[r.Method] {
		p.failAt(m.Pos, m.End, "unknown HTTP method %s (want GET, POST, PUT, DELETE, PATCH, HEAD or OPTIONS)", m.Lit)
	}
	p.next()
	if !p.at(token.STRING) {
		p.errorExpected(`the route path (a string such as "/users/:id")`)
	}
	r.PathPos = p.tok.Pos
	r.Path = p.plainString("route path")
	var bodyAt token.Pos // (of the first body:)
loop:
	for {
		switch {
		case p.at(token.IDENT) && p.tok.Lit == "body" && p.peek(1).Kind == token.COLON:
			at := p.tok.Pos
			p.next()
			p.next()
			if r.BodyType == nil {
				bodyAt = at
			} else {
				first := bodyAt
				p.errorAt(at, token.Pos{Line: at.Line, Col: at.Col + 4}, fmt.Sprintf("a second body: for the route (the first is at %d:%d): a route's body has one type", first.Line, first.Col))
			}
			r.BodyType = p.typeExpr()
		case p.at(token.WITH):
			p.next()
			notGuard := func() {
				if b := p.tok; b.Kind == token.IDENT && b.Lit == "body" && p.peek(1).Kind == token.COLON {
					p.failAt(b.Pos, b.End, "body: is not a middleware: write it outside the with list, as in route %s %q body: T with auth => handler", r.Method, r.Path)
				}
			}
			notGuard()
			p.noArrow++
			for {
				r.Guards = append(r.Guards, p.postfix())
				if !p.got(token.COMMA) {
					break
				}
				notGuard() // (with auth, body: User)
			}
			p.noArrow--
		case p.at(token.ARROW):
			p.next()
			r.RetType = p.typeExpr()
		default:
			break loop
		}
	}
	if !p.at(token.FATARROW) {
		p.errorExpected("'=>' before the route handler")
	}
	p.next()
	p.skipNewlines()
	r.Handler = p.expr()
	if w := p.tok; w.Kind == token.WITH && p.p > 0 && w.Pos.Line == p.toks[p.p-1].End.Line {
		// (on the line the handler ends on: `} with admin` too; on a
		// line of its own, `with` begins a statement)
		// (it said a statement ended at 'with')
		p.failAt(w.Pos, w.End, "a route's guards come before its handler: route %s %q with guard => handler", r.Method, r.Path)
	}
	return r
}

// routesGroup parses `routes "/prefix" [key: value ...] { ... }`; the
// optional metadata (version, deprecated) is resolved and warned of
// (the compiler), and has no effect.
func (p *parser) routesGroup() ast.Stmt {
	g := &ast.RoutesGroup{PosV: p.tok.Pos}
	p.next()
	g.Prefix = p.plainString("route prefix")
	for isName(p.tok) && p.peek(1).Kind == token.COLON {
		g.MetaKeys, g.MetaPos = append(g.MetaKeys, p.tok.Lit), append(g.MetaPos, p.tok.Pos)
		p.next()
		p.next()
		g.Meta = append(g.Meta, p.expr())
		p.got(token.COMMA)
	}
	g.Body = p.serverBody()
	return g
}

// healthDecl parses `health "/path" [{ check_memory, check_db }]`.
func (p *parser) healthDecl() ast.Stmt {
	h := &ast.HealthDecl{PosV: p.tok.Pos}
	p.next()
	h.Path = p.plainString("health path")
	if p.at(token.LBRACE) {
		open := p.tok
		p.next()
		for {
			for p.at(token.NEWLINE) || p.at(token.COMMA) {
				p.next()
			}
			if p.at(token.RBRACE) || p.at(token.EOF) {
				break
			}
			h.Checks = append(h.Checks, p.ident().Name)
		}
		p.expectClose(open)
	}
	return h
}

// staticDecl parses `static "/prefix" => dir [fallback "index.html"]`.
func (p *parser) staticDecl() ast.Stmt {
	s := &ast.StaticDecl{PosV: p.tok.Pos}
	p.next()
	s.Prefix = p.plainString("static prefix")
	if !p.at(token.FATARROW) {
		if p.tok.NLBefore || p.at(token.RBRACE) || p.at(token.EOF) {
			// static "public" (express.static's): the directory alone
			p.fail("expected '=>' after the static prefix, found %s: static takes the prefix it serves at and the directory, static \"/\" => %q (or static { dir: %q })", p.tok, s.Prefix, s.Prefix)
		}
		p.errorExpected("'=>' after the static prefix")
	}
	p.next()
	s.Dir = p.expr()
	if p.at(token.IDENT) && p.tok.Lit == "fallback" {
		p.next()
		s.Fallback = p.plainString("fallback file")
	}
	return s
}

var wsHandlers = map[string]bool{"on_open": true, "on_message": true, "on_close": true, "on_error": true}

// websocketDecl parses `websocket "/path" { on_open fn(ws) {...} ... }`
// and `ws { ... }`, with optional `key: value` settings.
func (p *parser) websocketDecl() ast.Stmt {
	w := &ast.WebSocketDecl{PosV: p.tok.Pos, Handlers: map[string]*ast.Function{}}
	p.next()
	if p.at(token.STRING) {
		w.Path = p.plainString("websocket path")
	}
	p.braceItems("'{'", func() {
		t := p.tok
		switch {
		case t.Kind == token.ELLIPSIS:
			p.next()
		case t.Kind == token.IDENT && (p.peek(1).Kind == token.FN || p.peek(1).Kind == token.ASYNC):
			if !wsHandlers[t.Lit] {
				p.fail("unknown websocket handler %s (want on_open, on_message, on_close or on_error)", t.Lit)
			}
			if w.Handlers[t.Lit] != nil {
				p.fail("duplicate %s handler", t.Lit)
			}
			p.next()
			fn, _ := p.fnAfterWord()
			fn.Name = t.Lit
			w.Handlers[t.Lit] = fn
			w.Order = append(w.Order, t.Lit)
		case isName(t) && p.peek(1).Kind == token.COLON:
			p.next()
			p.next()
			w.Config = append(w.Config, &ast.ObjEntry{PosV: t.Pos, Key: t.Lit, Value: p.expr()})
		default:
			p.errorExpected("websocket handler (on_message fn(ws, msg) { ... }) or 'key: value'")
		}
	})
	return w
}

// scheduleDecl parses `schedule "name" cron("expr") { ... }`,
// `schedule "expr-or-30s" fn [name]() { ... }` and `schedule "30s" { ... }`.
func (p *parser) scheduleDecl() ast.Stmt {
	s := &ast.ScheduleDecl{PosV: p.tok.Pos}
	p.next()
	s.ArgPos = p.tok.Pos
	str := p.plainString("schedule")
	switch {
	case p.at(token.IDENT) && p.tok.Lit == "cron" && p.peek(1).Kind == token.LPAREN:
		p.next()
		open := p.tok
		p.next()
		s.Name = str
		s.ArgPos = p.tok.Pos
		s.Cron = p.plainString("cron expression")
		p.expectClose(open)
		if p.at(token.FN) || p.at(token.ASYNC) {
			// schedule "cleanup" cron("…") fn() { … }: the reference's
			// fn after the guide's cron, taken as the body it is
			s.Fn, s.FnName = p.fnAfterWord()
			if s.Fn.Name == "" {
				s.Fn.Name = str
			}
			break
		}
		s.Fn = &ast.Function{Name: str}
		s.Fn.Body = p.fnBody(s.Fn, false)
	case p.at(token.LBRACE):
		s.Pattern = str
		s.Fn = &ast.Function{}
		s.Fn.Body = p.fnBody(s.Fn, false)
	default:
		s.Pattern = str
		s.Fn, s.FnName = p.fnAfterWord()
	}
	return s
}

// discoverDecl parses `discover "name" { url: ..., circuit_breaker: {...} }`
// and `discover "name" at <url> [with { ... }]`.
func (p *parser) discoverDecl() ast.Stmt {
	d := &ast.DiscoverDecl{PosV: p.tok.Pos}
	p.next()
	d.Name = p.plainString("service name")
	switch {
	case p.at(token.LBRACE):
		d.Config = p.configBody()
	case p.at(token.IDENT) && p.tok.Lit == "at":
		p.next()
		d.URL = p.expr()
		if p.got(token.WITH) {
			d.Config = p.configBody()
		}
	default:
		p.errorExpected("'{' or 'at' after the discovered name")
	}
	return d
}

// configBody parses `{ key: value ... }`: entries separated by commas or
// line breaks (or just spaces), keys may be keywords or strings, a bare
// name is shorthand for `name: name`.
func (p *parser) configBody() []*ast.ObjEntry {
	var entries []*ast.ObjEntry
	p.braceItems("'{'", func() {
		t := p.tok
		switch {
		case t.Kind == token.ELLIPSIS:
			p.next()
			if !p.atStmtEnd() {
				entries = append(entries, &ast.ObjEntry{PosV: t.Pos, Spread: p.expr()})
			}
		case (isName(t) || t.Kind == token.STRING && t.Parts == nil) && p.peek(1).Kind == token.COLON:
			p.next()
			p.next()
			p.skipNewlines()
			entries = append(entries, &ast.ObjEntry{PosV: t.Pos, Key: t.Lit, Value: p.expr()})
		case t.Kind == token.IDENT:
			p.next()
			entries = append(entries, &ast.ObjEntry{PosV: t.Pos, Key: t.Lit, Value: &ast.Ident{PosV: t.Pos, Name: t.Lit}})
		default:
			p.errorExpected("'key: value'")
		}
		switch p.tok.Kind {
		case token.NEWLINE, token.COMMA, token.SEMI, token.RBRACE, token.EOF:
		default:
			if prev := p.toks[p.p-1]; p.tok.Kind == token.IDENT && (prev.Kind == token.INT || prev.Kind == token.FLOAT) && prev.End == p.tok.Pos && closestUnit(p.tok.Lit) != "" {
				// limits { timeout: 30s }: read as 30 and an entry s
				// ("undefined: s")
				p.unitSlip()
			}
			if !p.startsEntry() && !p.at(token.IDENT) {
				if p.at(token.ASSIGN) && len(entries) > 0 {
					// db { adapter = "sqlite" }
					p.fail("expected ',' or newline between entries, found '=': a setting is written key: value (%s: ...)", entries[len(entries)-1].Key)
				}
				p.errorExpected("',' or newline between entries")
			}
		}
	})
	return entries
}

// modelOptions are the `key: value` settings of a model; other entries
// are fields with a type.
var modelOptions = map[string]bool{
	"table": true, "timestamps": true, "belongs_to": true, "has_many": true, "has_one": true,
	"soft_delete": true, "primary_key": true, "indexes": true,
}

// modelDecl parses `model User` and
// `model Task { title: String  done: Bool = false  table: "tasks" }`.
func (p *parser) modelDecl() ast.Stmt {
	m := &ast.ModelDecl{PosV: p.tok.Pos}
	p.next()
	m.Name = p.ident()
	if !p.at(token.LBRACE) {
		return m
	}
	p.braceItems("'{'", func() {
		t := p.tok
		if !isName(t) {
			p.errorExpected("field name")
		}
		p.next()
		p.expect(token.COLON)
		relation := t.Lit == "belongs_to" || t.Lit == "has_many" || t.Lit == "has_one"
		if v := p.tok; modelOptions[t.Lit] && !relation && v.Kind == token.IDENT && looksLikeType(v.Lit) {
			// `table: Int`: a field the option's name shadows
			p.failAt(t.Pos, v.End, "model %s: %s is a model option, not a field; a field of that name is declared in a type: type %s { %s: %s }, then model %s",
				m.Name.Name, t.Lit, m.Name.Name, t.Lit, v.Lit, m.Name.Name)
		}
		if modelOptions[t.Lit] || isLiteralStart(p.tok.Kind) {
			m.Options = append(m.Options, &ast.ObjEntry{PosV: t.Pos, Key: t.Lit, Value: p.expr()})
			return
		}
		f := &ast.FieldDecl{PosV: t.Pos, Name: t.Lit, Type: p.typeExpr()}
		if p.got(token.ASSIGN) {
			f.Default = defaultThunk(p.expr())
		}
		m.Fields = append(m.Fields, f)
	})
	return m
}

// defaultThunk is a field's default as a model applies it: a literal
// (30.seconds too) as it is, any other expression (uuid(), Date.now(), []) wrapped in
// fn() expr, which each create calls (a default computed once, when the
// model was declared, gave every row the same token). A record's
// constructor applies literal defaults only, and warns of the others.
func defaultThunk(e ast.Expr) ast.Expr {
	x := e
	if u, ok := x.(*ast.Unary); ok && u.Op == "-" {
		x = u.X
		if _, ok := x.(*ast.IntLit); !ok {
			if _, ok := x.(*ast.FloatLit); !ok {
				x = e
			}
		}
	}
	switch x.(type) {
	case *ast.IntLit, *ast.FloatLit, *ast.StringLit, *ast.BoolLit, *ast.NilLit, *ast.UnitLit:
		return e
	}
	pos := e.Pos()
	return &ast.Lambda{PosV: pos, Fn: &ast.Function{
		Body: &ast.Block{PosV: pos, Stmts: []ast.Stmt{&ast.ExprStmt{X: e}}},
	}}
}

// looksLikeType reports whether a name is written as a type's is
// (Int, UserRole), not as a constant's (TABLE).
func looksLikeType(name string) bool {
	return name != "" && name[0] >= 'A' && name[0] <= 'Z' && strings.ToUpper(name) != name
}

func isLiteralStart(k token.Kind) bool {
	switch k {
	case token.STRING, token.INT, token.FLOAT, token.TRUE, token.FALSE, token.SUB, token.LBRACE:
		return true
	}
	return false
}

// dataBlock parses the top-level `data { ... }` block.
func (p *parser) dataBlock() ast.Stmt {
	d := &ast.DataBlock{PosV: p.tok.Pos}
	p.next()
	open := p.tok
	p.next()
	for {
		p.skipSeps()
		if p.at(token.RBRACE) || p.at(token.EOF) {
			break
		}
		p.recoverTo(p.p, func() {
			if item := p.dataItem(); item != nil {
				d.Items = append(d.Items, item)
			}
			p.endStmt()
		})
	}
	p.expectClose(open)
	return d
}

// dataItem parses one statement of a data block:
//
//	source name [: Type] = expr
//	pipeline name = expr
//	refresh name [every] interval | refresh name on_demand
//	validate Type { rule ... }
func (p *parser) dataItem() *ast.DataItem {
	t := p.tok
	if t.Kind == token.ELLIPSIS {
		p.next()
		return nil
	}
	if t.Kind != token.IDENT {
		p.errorExpected("source, pipeline, refresh or validate")
	}
	it := &ast.DataItem{PosV: t.Pos, Kind: t.Lit}
	switch t.Lit {
	case "source", "pipeline":
		p.next()
		it.Name = p.ident()
		if t.Lit == "source" && p.got(token.COLON) {
			it.Type = p.typeExpr()
		}
		p.expect(token.ASSIGN)
		p.skipNewlines()
		it.Value = p.expr()
	case "refresh":
		p.next()
		it.Name = p.ident()
		switch {
		case p.at(token.IDENT) && p.tok.Lit == "on_demand":
			p.next()
			it.OnDemand = true
		default:
			if p.at(token.IDENT) && p.tok.Lit == "every" {
				p.next()
			}
			it.Every = p.expr()
		}
	case "validate":
		p.next()
		it.Name = p.ident()
		p.braceItems("'{'", func() {
			// Each rule is a predicate on the record, named `it`.
			rule := p.expr()
			pos := rule.Pos()
			it.Rules = append(it.Rules, &ast.Lambda{PosV: pos, Fn: &ast.Function{
				Params: []*ast.Param{{PosV: pos, Name: &ast.Ident{PosV: pos, Name: "it"}}},
				Body:   &ast.Block{PosV: pos, Stmts: []ast.Stmt{&ast.ExprStmt{X: rule}}},
			}})
		})
	default:
		p.fail("expected source, pipeline, refresh or validate, found %s", t)
	}
	return it
}

// braceItems parses a brace-delimited list from the current '{': items
// are separated by newlines, commas or semicolons, each is parsed by item
// with error recovery (a bad item is skipped, the rest still parsed), and
// the closing '}' must name its opener when missing.
func (p *parser) braceItems(expected string, item func()) {
	open := p.tok
	if !p.at(token.LBRACE) {
		p.errorExpected(expected)
	}
	p.next()
	for {
		for p.at(token.NEWLINE) || p.at(token.COMMA) || p.at(token.SEMI) {
			p.next()
		}
		if p.at(token.RBRACE) || p.at(token.EOF) {
			break
		}
		p.recoverTo(p.p, item)
	}
	p.expectClose(open)
}
