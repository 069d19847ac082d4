package resolve

import (
	"fmt"
	"slices"
	"strings"

	"tova/frontend/ast"
	"tova/frontend/token"
)

// ident resolves a use of a name.
// missingGlobals say what to write instead of names of the reference's
// (JavaScript's) globals that this runtime does not have.
var missingGlobals = map[string]string{
	"Channel": "this runtime has no channels or structured concurrency (concurrent, spawn, select): " +
		"run work apart with spawn_job, a background fn, or publish and subscribe",
	"race": "a call returns its value here, not a promise, so there is nothing to race: call the one you need, " +
		"and bound slow code with a deadline (limits { timeout: 5.seconds }, or a route's with timeout(5.seconds))",
	"Promise": "a call returns its value here, not a promise: await is not needed, " +
		"and parallel(list) takes the list of values (Promise.all([a, b]) is [a, b])",
	"sse": "the reference's sse(fn(send, close)) streamed response: this runtime does not serve server-sent events yet",
	"req": "a handler, middleware or guard gets the request as a parameter: write fn(req) { ... } (fn(req, res) for the response too)",
	"res": "a handler, middleware or guard gets the response being built as a parameter: write fn(req, res) { ... }",

	// The reference's terminal and scripting builtins this runtime
	// does not have (its colour and style functions it has).
	"table":       notHere("table(rows)", "print the rows, or write(rows, path) a CSV"),
	"panel":       notHere("panel(title, content)", "print the text"),
	"progress":    notHere("progress(items)", "loop over the items themselves"),
	"spin":        notHere("spin(label, fn)", "call the function"),
	"ask":         notHere("ask(prompt)", "read answers with read_lines() or take them as args()"),
	"confirm":     notHere("confirm(prompt)", "read answers with read_lines() or take them as args()"),
	"choose":      notHere("choose(prompt, options)", "read answers with read_lines() or take them as args()"),
	"choose_many": notHere("choose_many(prompt, options)", "read answers with read_lines() or take them as args()"),
	"secret":      notHere("secret(prompt)", "take secrets from env(name)"),
	"parse_args":  notHere("parse_args()", "read the arguments with args()"),
	"on_signal":   notHere("on_signal(signal, handler)", "Ctrl-C or SIGTERM ends a script, and tova run exits with 128 + the signal's number"),
	"spawn":       notHere("spawn(cmd, args)", "exec(cmd, args) runs a command to its end and returns its output"),
	"debounce":    notHere("debounce(fn, ms)", "a handler runs per request; keep the time of the last call in a var and compare with now()"),
	"throttle":    notHere("throttle(fn, ms)", "limit a route with rate_limit, or keep the time of the last call in a var"),
	// The reference's charts, which draw SVG.
	"bar_chart":     notHere("bar_chart(rows, ...)", "this runtime draws no charts: write(rows, \"data.csv\") and chart them elsewhere"),
	"line_chart":    notHere("line_chart(rows, ...)", "this runtime draws no charts: write(rows, \"data.csv\") and chart them elsewhere"),
	"scatter_chart": notHere("scatter_chart(rows, ...)", "this runtime draws no charts: write(rows, \"data.csv\") and chart them elsewhere"),
	"pie_chart":     notHere("pie_chart(rows, ...)", "this runtime draws no charts: write(rows, \"data.csv\") and chart them elsewhere"),
	"histogram":     notHere("histogram(rows, ...)", "this runtime draws no charts: write(rows, \"data.csv\") and chart them elsewhere"),
	"heatmap":       notHere("heatmap(rows, ...)", "this runtime draws no charts: write(rows, \"data.csv\") and chart them elsewhere"),
	"write_text":    "a file's text is written with fs.write_text(path, text), and rows with write(rows, path)",
	"table_where":   "the reference's table_where(t, pred) is where(t, pred) here (t |> where(.x > 1))",
	"table_select":  "the reference's table_select(t, ...) is select(t, ...) here (t |> select(.a, .b))",
	"table_derive":  "the reference's table_derive(t, ...) is derive(t, ...) here (t |> derive(total: .a + .b))",
	"date_from_ts":  "a number of milliseconds since the epoch is taken as a Date already: time_ago(ms), date_format(ms, \"iso\")",
	"http":          "the reference's http.get/post(...) is not available in this runtime: an outbound call is fetch(url, { method: \"POST\", body: data }), and its answer's r.json()",
	// The reference's test runner's helpers (tova test), which this
	// runtime does not have.
	"Gen":             notHere("Gen", "check chosen values with assert_eq in a script that tova run runs"),
	"forAll":          notHere("forAll(generators, property)", "check chosen values with assert_eq in a script that tova run runs"),
	"assert_snapshot": notHere("assert_snapshot(value)", "compare with assert_eq(value, expected)"),
	"create_spy":      notHere("create_spy()", "count calls in a var the function updates"),
	"create_mock":     notHere("create_mock(value)", "pass a function that returns the value, fn(...args) value"),
	// The reference's server builtins its docs use.
	"withLock":       notHere("withLock(fn)", "a statement that writes server state is one step already (docs/server.md); for rows, db.transaction(fn() ...)"),
	"__getRequestId": notHere("__getRequestId()", "the request's id is req.id, and a log line of the request names it"),
	// JavaScript's constructors, which the reference's Type.new() calls.
	"Map":    "the reference's Map.new() is JavaScript's Map, which this runtime does not have: use an object ({}, with keys as strings) or collections.OrderedDict()",
	"Set":    "the reference's Set.new(xs) is JavaScript's Set, which this runtime does not have: unique(xs) gives the distinct values, x in xs tests one, and collections.Counter(xs) counts them",
	"RegExp": "the reference's RegExp.new(pattern, flags) is JavaScript's RegExp, which this runtime does not have: write a regex literal, /\\d+/g, or give the pattern as a String to regex functions",
	"Error":  "the reference's Error(message) is JavaScript's: throw the message itself (throw \"failed\"), or an object ({ message, code }); a caught error's message is e.message",
	// Other languages' globals and objects, with Tova's ways.
	"Object":     "JavaScript's Object is not Tova's: keys(o), values(o), entries(o) and merge(a, b) are builtins (o.keys() too)",
	"Array":      "JavaScript's Array is not Tova's: a list is [...], and len, push, map, filter and the rest are builtins (xs.push(x) too)",
	"String":     "String is a type, for annotations and `is`: a value's text is to_string(x), or \"{x}\"",
	"Number":     "Number is a type, for annotations and `is`: text's number is to_int(s) or to_float(s)",
	"Boolean":    "Tova's type is Bool, for annotations and `is`",
	"Int":        "Int is a type, for annotations and `is`: text's number is to_int(s), a Float's whole part trunc(x)",
	"Float":      "Float is a type, for annotations and `is`: text's number is to_float(s)",
	"Bool":       "Bool is a type, for annotations and `is`: a value's truth is to_bool(x)",
	"parseInt":   "Tova's is to_int(s)",
	"parseFloat": "Tova's is to_float(s)",
	"require":    "a program is one file: builtins need no import, and a module of the reference's is imported with import { name } from \"module\"",
	"setTimeout": "a handler runs to its end: wait with sleep(ms), or run work later with spawn_job or a schedule",
	"route":      "routes are declared in a server block, not called: route GET \"/x\" => fn(req) { ... }",
	"app":        "Tova has no app object: a server block declares its routes, route GET \"/x\" => fn(req) { ... }",
	// Other frameworks' and languages' functions, whose "did you mean"
	// named something unrelated (abort: cbrt, getenv: set_env).
	"abort":              "Flask's abort(404) is Tova's respond(404, { error: \"...\" }), returned from the handler (or throw, which answers 500)",
	"die":                "PHP's die() is Tova's respond(code, body), returned from the handler (or exit(code) in a script)",
	"getenv":             "the environment is read with env(\"HOME\"), or declared: env HOME: String",
	"listen":             "a server's port is written in its block, port 3000 (or env PORT), and tova serve listens",
	"jsonify":            "a handler's value is answered as JSON already: return the object itself (respond(code, body) for another status)",
	"render_template":    "a page is answered with html(\"...\"), its text built with \"{x}\" interpolation (escape_html(x) for a user's text)",
	"redirect_to":        "Tova's is redirect(\"/path\") (redirect(url, 301) for another status)",
	"http_response_code": "a status is given with respond(code, body), or res.status(code) with fn(req, res)",
	"header":             "a response header is set with res.setHeader(name, value) (fn(req, res)), or with_headers(body, { name: value }); a request's is req.headers[\"x-name\"]",
	"isset":              "a missing value is nil here: x != nil, or x ?? default",
	"begin":              "Ruby's begin ... rescue is Tova's try { ... } catch e { ... }",
	"rescue":             "Ruby's rescue is Tova's catch: try { ... } catch e { ... }",
	"sprintf":            "Tova's is fmt(\"{} and {:.2f}\", a, b), or \"{a}\" interpolation",
	"printf":             "write print(fmt(\"{} and {:.2f}\", a, b)), or print(\"{a}\")",
	"this":               "a method's receiver is self, its first parameter: impl User { fn greet(self) { \"hi {self.name}\" } }",
	"use":                "middleware is declared in a server block, middleware fn log(req, next) { next(req) }, or a route's own with guard",
	"isinstance":         "a value's kind is tested with is: x is Int, x is String, x is User",
	"axios":              "an outbound HTTP call is fetch(url, { method: \"POST\", body: data }), and its answer's r.json()",
	"module":             "a program is one file: pub fn and pub x = ... mark what another program may import",
	"exports":            "a program is one file: pub fn and pub x = ... mark what another program may import",
	"errors":             "an error is thrown as its message, throw \"failed\", or as an object, throw { message, code }; a function that may fail returns Err(\"...\")",
	"os":                 "the environment is env(\"NAME\"), a script's arguments args(), files fs.read_text(path), and exit(code) ends a script",
	"ENV":                "Ruby's ENV[\"NAME\"] is env(\"NAME\") here, or declared: env NAME: String",
	"time":               "a pause is sleep(ms) (sleep(1.second)), the time now() or Date.now(), and a duration 5.seconds",
}

// configBlockForms are the config blocks' forms, for the note of one
// used as a value (cors ["https://a.com"]).
var configBlockForms = map[string]string{
	"cors": `cors { origins: ["https://app.example"] }`, "session": `session { secret: env("SESSION_SECRET") }`,
	"sessions": `sessions { secret: env("SESSION_SECRET") }`, "auth": `auth { secret: env("AUTH_SECRET") }`,
	"tls": `tls { cert: "cert.pem", key: "key.pem" }`, "cache": `cache { default: "public, max-age=60" }`,
	"compression": "compression { min_size: 1.kilobyte }", "upload": "upload { max_size: 5.megabytes }",
	"uploads": "uploads { max_size: 5.megabytes }", "jobs": "jobs { workers: 4 }", "limits": "limits { timeout: 10.seconds }",
	"security": "security { trust_proxy: true }", "db": `db { database: "app.db" }`,
}

// notHere is the note of an undefined name that is a builtin of the
// reference's that this runtime does not provide.
func notHere(what, instead string) string {
	return "the reference's builtin " + what + " is not available in this runtime (" + instead + ")"
}

// foreignNames are other languages' spellings of Tova's constants:
// "undefined: null (Tova's is nil)". They are too far from the Tova
// word for a "did you mean".
var foreignNames = map[string]string{"null": "nil", "NULL": "nil", "undefined": "nil", "True": "true", "False": "false", "TRUE": "true", "FALSE": "false"}

func (r *resolver) ident(id *ast.Ident) {
	if id.Name == "_" {
		r.errorf(id.PosV, identEnd(id), "cannot use _ as a value")
		id.Binding = &ast.Binding{Name: id.Name, Scope: ast.Undefined}
		return
	}
	b := r.lookup(id.Name)
	if b != nil && r.ownBindings[b] {
		b = r.lookupAbove(b) // an outer binding of the name, else the builtin
	}
	if b != nil {
		if r.aliases[b] {
			r.errorf(id.PosV, identEnd(id), "%s is a type alias: it names a type (for annotations, parameters and `is`) and has no value to call or use", id.Name)
		}
		b.Read = true
		id.Binding = r.use(b, id)
		return
	}
	if r.isBuiltin(id.Name) {
		id.Binding = r.builtin(id.Name)
		return
	}
	if base, ok := strings.CutSuffix(id.Name, "Model"); ok && base != "" {
		// The reference's name of model User's value is UserModel too
		// (where the program declares no UserModel of its own).
		if b := r.lookup(base); b != nil && r.info[b] != nil && r.info[b].kind == kindModel {
			b.Read = true
			id.Binding = r.use(b, id)
			return
		}
	}
	msg := "undefined: " + id.Name
	if note, ok := r.serverNote(id.Name); ok {
		msg += note
	} else if note := missingGlobals[id.Name]; note != "" {
		msg += ": " + note
	} else if ex := configBlockForms[id.Name]; ex != "" {
		// cors ["https://a.com"]: read as an index of a name (did you
		// mean cos?)
		msg += ": " + id.Name + " is a block of settings, " + ex
	} else if tova := foreignNames[id.Name]; tova != "" {
		msg += " (Tova's is " + tova + ")"
	} else if r.suggested < maxSuggested {
		r.suggested++
		s := r.suggest(id.Name)
		if c := id.Name[0]; c >= 'A' && c <= 'Z' && r.memberRecv == id && (s == "" || s[0] >= 'a' && s[0] <= 'z') {
			// Product.all(), User.update(...): a model's name, not the
			// builtin product or the parameter user
			msg += ": no model or type of that name is declared (model " + id.Name + " { name: String })"
		} else if s != "" {
			msg += " (did you mean " + s + "?)"
		}
	}
	r.errorf(id.PosV, identEnd(id), "%s", msg)
	id.Binding = &ast.Binding{Name: id.Name, Scope: ast.Undefined}
}

// maxSuggested bounds the errors an undefined name gets a "did you mean"
// in: each looks at every name in scope, and past the first errors
// (tova shows 50) nobody reads them, while thousands of them, among
// thousands of names, took seconds each.
const maxSuggested = 60

func (r *resolver) expr(e ast.Expr) {
	switch e := e.(type) {
	case nil:
	case *ast.Ident:
		r.ident(e)
	case *ast.IntLit, *ast.FloatLit, *ast.StringLit, *ast.BoolLit, *ast.NilLit, *ast.UnitLit:
	case *ast.InterpString:
		for _, p := range e.Parts {
			if o, ok := p.(*ast.ObjectLit); ok && len(o.Entries) == 1 {
				// "<p>{{ message }}</p>" of a Vue or Handlebars template,
				// whose names are no Tova names: "undefined: message"
				if en := o.Entries[0]; en.Spread == nil {
					if id, ok := en.Value.(*ast.Ident); ok && id.Name == en.Key && id.PosV == en.PosV && r.lookup(id.Name) == nil && !r.isBuiltin(id.Name) {
						r.errorf(id.PosV, identEnd(id), "undefined: %s: {{%s}} in a \"...\" string interpolates an object of it; for a template's braces (Vue, Handlebars) write the string in single quotes, '...{{%s}}...', which interpolate nothing, or each brace as \\{", id.Name, id.Name, id.Name)
						id.Binding = &ast.Binding{Name: id.Name, Scope: ast.Undefined}
						continue
					}
				}
			}
			r.expr(p)
		}
	case *ast.ArrayLit:
		for _, x := range e.Elems {
			r.expr(x)
		}
	case *ast.ObjectLit:
		r.entries(e.Entries)
	case *ast.Spread:
		r.expr(e.X)
	case *ast.Unary:
		r.expr(e.X)
	case *ast.Binary:
		r.expr(e.X)
		r.expr(e.Y)
	case *ast.Chain:
		for _, x := range e.Operands {
			r.expr(x)
		}
	case *ast.Range:
		r.expr(e.Lo)
		r.expr(e.Hi)
	case *ast.Is:
		r.expr(e.X)
	case *ast.Call:
		r.spawnByName(e)
		r.expr(e.Fn)
		if m, ok := e.Fn.(*ast.Member); ok && r.peerCalls[m] != nil {
			r.peerNamedArgs(e, m, r.peerCalls[m])
		}
		if fn, ok := e.Fn.(*ast.Ident); ok && fn.Binding != nil && fn.Binding.Scope == ast.Builtin && fn.Binding.Name == "role" && len(e.Args) == 1 {
			if id, ok := e.Args[0].Value.(*ast.Ident); ok && r.lookup(id.Name) == nil && !r.isBuiltin(id.Name) {
				// with role(admin): "undefined: admin (did you mean asin?)"
				r.errorf(id.PosV, identEnd(id), "role takes the role's name as a string: role(%q)", id.Name)
				id.Binding = &ast.Binding{Name: id.Name, Scope: ast.Undefined}
				break
			}
		}
		r.args(e.Args, false)
	case *ast.Member:
		if !r.peerMember(e) {
			if id, ok := e.X.(*ast.Ident); ok {
				r.memberRecv = id // (User.find: read as a model's name)
			}
			r.expr(e.X)
			r.memberRecv = nil
		}
	case *ast.Index:
		r.expr(e.X)
		r.expr(e.Index)
	case *ast.Slice:
		r.expr(e.X)
		r.expr(e.Lo)
		r.expr(e.Hi)
		r.expr(e.Step)
	case *ast.Lambda:
		r.function(e.Fn)
	case *ast.Pipe:
		r.expr(e.X)
		if c, ok := e.Target.(*ast.Call); ok {
			r.expr(c.Fn)
			r.args(c.Args, true)
		} else {
			r.expr(e.Target)
		}
	case *ast.If:
		r.expr(e.Cond)
		r.block(e.Then)
		for _, c := range e.Elifs {
			r.expr(c.Cond)
			r.block(c.Body)
		}
		r.block(e.Else)
	case *ast.Match:
		r.expr(e.Subject)
		for _, arm := range e.Arms {
			r.push(scopeBlock)
			r.declarePattern(arm.Pattern, kindPattern, true)
			r.expr(arm.Guard)
			r.expr(arm.Body)
			r.pop()
		}
	case *ast.Try:
		r.block(e.Body)
		if e.Catch != nil {
			r.push(scopeBlock)
			if e.CatchVar != nil {
				r.declare(r.cur, e.CatchVar, kindCatch)
			}
			r.resolveStmts(e.Catch.Stmts, true)
			r.pop()
		}
		r.block(e.Finally)
	case *ast.Block:
		r.block(e)
	case *ast.ListComp:
		r.expr(e.Iter)
		r.push(scopeBlock)
		for _, v := range e.Vars {
			r.declarePattern(v, kindLoop, false)
		}
		r.expr(e.Cond)
		for _, m := range e.More {
			// Each clause sees the variables of those before it.
			r.expr(m.Iter)
			r.push(scopeBlock)
			for _, v := range m.Vars {
				r.declarePattern(v, kindLoop, false)
			}
			r.expr(m.Cond)
		}
		r.expr(e.Elem)
		for range e.More {
			r.pop()
		}
		r.pop()
	case *ast.DictComp:
		r.expr(e.Iter)
		r.push(scopeBlock)
		for _, v := range e.Vars {
			r.declarePattern(v, kindLoop, false)
		}
		r.expr(e.Cond)
		r.expr(e.Key)
		r.expr(e.Value)
		r.pop()
	case *ast.Await:
		r.expr(e.X)
	case *ast.Propagate:
		r.expr(e.X)
	case *ast.Yield:
		r.expr(e.X)
	default:
		panic(fmt.Sprintf("resolve: unexpected expression %T", e))
	}
}

// args resolves call arguments. An argument that mentions `it` while no
// binding `it` is visible becomes fn(it) <argument> (implicit it), as in
// the reference: the innermost call whose argument mentions `it` takes
// the lambda (print(xs.filter(it > 0)) filters), except that a bare `it`
// argument is left to the call around it (xs.map(str(it)) maps). In a
// pipe call, `_` arguments are placeholders for the piped value and stay
// unresolved.
func (r *resolver) args(list []*ast.Arg, pipe bool) {
	for i, a := range list {
		if a.Name != "" && slices.ContainsFunc(list[:i], func(b *ast.Arg) bool { return b.Name == a.Name }) {
			// (the call would bind one of the two to another parameter,
			// or fail naming another)
			r.errorf(a.PosV, token.Pos{Line: a.PosV.Line, Col: a.PosV.Col + int32(len([]rune(a.Name)))}, "argument %s is named twice in this call", a.Name)
		}
		id, bare := a.Value.(*ast.Ident)
		if bare && id.Name == "_" && pipe {
			continue
		}
		if b := r.lookup("it"); (b == nil || r.implicitIt[b]) && !(bare && id.Name == "it") && mentionsIt(a.Value) {
			pos := a.Value.Pos()
			fn := &ast.Function{
				Params: []*ast.Param{{PosV: pos, Name: &ast.Ident{PosV: pos, Name: "it"}}},
				Body:   &ast.Block{PosV: pos, Stmts: []ast.Stmt{&ast.ExprStmt{X: a.Value}}},
			}
			if r.implicitFns == nil {
				r.implicitFns, r.implicitIt = map[*ast.Function]bool{}, map[*ast.Binding]bool{}
			}
			r.implicitFns[fn] = true
			a.Value = &ast.Lambda{PosV: pos, Fn: fn}
		}
		r.expr(a.Value)
	}
}

// function resolves a function (declaration, lambda or hook): parameters
// take locals 0..n-1 (a destructured parameter a hidden slot, its names
// later locals), and the body shares the parameters' scope.
func (r *resolver) function(fn *ast.Function) {
	if fn == nil {
		return
	}
	f := &funcInfo{fn: fn, parent: r.fn}
	// A data block's value may hold a function that reads a later
	// source: it runs when called, maybe after that source has its
	// value (one called at once meets a ReferenceError then).
	defer func(d bool) { r.dataValue = d }(r.dataValue)
	r.dataValue = false
	cur, outer, loops := r.cur, r.fn, r.loops
	r.fn, r.loops = f, nil
	sc := r.push(scopeFunc)
	sc.global = false

	// Parameter slots first, so they are 0..n-1 whatever the defaults hold.
	for i, p := range fn.Params {
		if p.Name != nil {
			p.Name.Binding = r.newBinding(sc, p.Name.Name, p.Name.PosV, kindParam)
			if r.implicitFns[fn] {
				r.implicitIt[p.Name.Binding] = true
			}
		} else {
			r.newBinding(sc, fmt.Sprintf("$arg%d", i), p.PosV, kindHidden)
		}
	}
	// A default sees the parameters before it.
	for _, p := range fn.Params {
		r.expr(p.Default)
		if p.Name == nil {
			continue
		}
		if prev, ok := sc.names[p.Name.Name]; ok {
			r.errs.Add(r.file.Name, p.Name.PosV, identEnd(p.Name),
				fmt.Sprintf("duplicate parameter %s", p.Name.Name),
				diagNote(prev.Decl, p.Name.Name))
			continue
		}
		sc.names[p.Name.Name] = p.Name.Binding
	}
	for _, p := range fn.Params {
		if p.Pattern != nil {
			r.declarePattern(p.Pattern, kindParam, false)
		}
	}
	if fn.Body != nil {
		r.resolveStmts(fn.Body.Stmts, true)
	}

	r.cur, r.fn, r.loops = cur, outer, loops
	fn.Locals = f.locals
	fn.FreeVars = f.free
}

// mentionsIt reports whether e uses the name `it` outside nested lambdas
// and outside the arguments of nested calls, which take their own
// implicit `it` (but for a bare `it` argument, which is e's).
func mentionsIt(e ast.Node) bool {
	found := false
	var visit func(n ast.Node)
	visitStmts := func(list []ast.Stmt) {
		for _, s := range list {
			visit(s)
		}
	}
	visitBlock := func(b *ast.Block) {
		if b != nil {
			visitStmts(b.Stmts)
		}
	}
	visit = func(n ast.Node) {
		if found || n == nil {
			return
		}
		switch n := n.(type) {
		case *ast.Ident:
			found = n.Name == "it"
		case *ast.Lambda:
			// its own scope: an `it` there is its own business
		case *ast.InterpString:
			for _, p := range n.Parts {
				visit(p)
			}
		case *ast.ArrayLit:
			for _, x := range n.Elems {
				visit(x)
			}
		case *ast.ObjectLit:
			for _, en := range n.Entries {
				visitExpr(visit, en.KeyExpr)
				visitExpr(visit, en.Value)
				visitExpr(visit, en.Spread)
			}
		case *ast.Spread:
			visit(n.X)
		case *ast.Unary:
			visit(n.X)
		case *ast.Binary:
			visit(n.X)
			visit(n.Y)
		case *ast.Chain:
			for _, x := range n.Operands {
				visit(x)
			}
		case *ast.Range:
			visitExpr(visit, n.Lo)
			visitExpr(visit, n.Hi)
		case *ast.Is:
			visit(n.X)
		case *ast.Call:
			visit(n.Fn)
			for _, a := range n.Args {
				if id, ok := a.Value.(*ast.Ident); ok && id.Name == "it" {
					found = true
				}
			}
		case *ast.Member:
			visit(n.X)
		case *ast.Index:
			visit(n.X)
			visit(n.Index)
		case *ast.Slice:
			visit(n.X)
			visitExpr(visit, n.Lo)
			visitExpr(visit, n.Hi)
			visitExpr(visit, n.Step)
		case *ast.Pipe:
			visit(n.X)
			visit(n.Target)
		case *ast.If:
			visit(n.Cond)
			visitBlock(n.Then)
			for _, c := range n.Elifs {
				visit(c.Cond)
				visitBlock(c.Body)
			}
			visitBlock(n.Else)
		case *ast.Match:
			visit(n.Subject)
			for _, a := range n.Arms {
				visitExpr(visit, a.Guard)
				visit(a.Body)
			}
		case *ast.Try:
			visitBlock(n.Body)
			visitBlock(n.Catch)
			visitBlock(n.Finally)
		case *ast.Block:
			visitStmts(n.Stmts)
		case *ast.ListComp:
			visit(n.Elem)
			visit(n.Iter)
			visitExpr(visit, n.Cond)
			for _, m := range n.More {
				visit(m.Iter)
				visitExpr(visit, m.Cond)
			}
		case *ast.DictComp:
			visit(n.Key)
			visit(n.Value)
			visit(n.Iter)
			visitExpr(visit, n.Cond)
		case *ast.Await:
			visit(n.X)
		case *ast.Propagate:
			visit(n.X)
		case *ast.Yield:
			visitExpr(visit, n.X)
		case *ast.ExprStmt:
			visit(n.X)
		case *ast.Assign:
			for _, v := range n.Values {
				visit(v)
			}
		case *ast.VarDecl:
			for _, v := range n.Values {
				visit(v)
			}
		case *ast.Return:
			visitExpr(visit, n.X)
		case *ast.Throw:
			visit(n.X)
		}
	}
	visit(e)
	return found
}

// visitExpr calls visit for a non-nil expression (avoiding typed nils).
func visitExpr(visit func(ast.Node), e ast.Expr) {
	if e != nil {
		visit(e)
	}
}

// spawnByName makes `spawn_job(process, args)` naming a background fn
// of another server (not visible here) spawn it by name, as
// `spawn_job("process", args)` does: that server runs it.
func (r *resolver) spawnByName(c *ast.Call) {
	fn, ok := c.Fn.(*ast.Ident)
	if !ok || fn.Name != "spawn_job" || len(c.Args) == 0 || r.lookup(fn.Name) != nil {
		return
	}
	a := c.Args[0]
	if call, ok := a.Value.(*ast.Call); ok && a.Name == "" && !a.Spread {
		if id, ok := call.Fn.(*ast.Ident); ok && r.background[id.Name] && (r.lookup(id.Name) == nil || r.info[r.lookup(id.Name)] != nil && r.info[r.lookup(id.Name)].kind == kindFn) {
			// spawn_job(send_email("a@b")): the job ran in the request,
			// and spawn_job got its value (nil: 500; a retry ran it again)
			r.errorf(id.PosV, identEnd(id), "spawn_job(%s(...)) calls %s now, in this request, and gives spawn_job its value: give spawn_job the function and its arguments, spawn_job(%s, ...)", id.Name, id.Name, id.Name)
			return
		}
	}
	id, ok := a.Value.(*ast.Ident)
	if !ok || a.Name != "" || a.Spread {
		return
	}
	b := r.lookup(id.Name)
	if b != nil && !r.background[id.Name] {
		// In a program with servers, a function declared with fn, not
		// background fn: the queue knows no job of that name, and
		// spawn_job would fail at run time (from a subscriber, on each
		// of its attempts). A script (no server) runs it at once.
		if inf := r.info[b]; inf != nil && inf.kind == kindFn && r.hasServer {
			r.errorf(id.PosV, identEnd(id), "spawn_job(%s): %s is a function, not a background fn: declare it `background fn %s(…)` in a server block, or call it", id.Name, id.Name, id.Name)
		}
		return
	}
	if !r.background[id.Name] || b != nil {
		return // (a background fn of another server, also one named as a builtin, process or console: the program's)
	}
	a.Value = &ast.StringLit{PosV: id.PosV, Value: id.Name}
}
