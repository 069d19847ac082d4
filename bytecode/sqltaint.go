package bytecode

import (
	"strings"

	"tova/frontend/ast"
)

// sqlMethods are the db functions whose first argument is SQL text.
var sqlMethods = map[string]bool{"query": true, "get": true, "run": true, "exec": true}

// txNames are the names a transaction's handle goes by
// (db.transaction(fn(tx) { tx.query(...) }), and a helper's
// fn save(tx, ...)), whose SQL is checked as db's is.
var txNames = map[string]bool{"tx": true, "trx": true}

// warnInterpolatedSQL warns of SQL text (call, db.query's) with a value
// interpolated into it that may come from a request: a parameter of the
// function (or of one it is in), or a local computed from one. A
// request's value there changes the statement (SQL injection), where a
// parameter ($1) is only ever a value. Module constants (a table's
// name), literals, locals of literals (a LIMIT 5, an ORDER BY chosen
// between "ASC" and "DESC"), numbers and parameters declared Int, Float
// or Bool are not warned of, nor is a helper's parameter named sql
// (its callers write it).
func (f *fstate) warnInterpolatedSQL(call string, sql ast.Expr) {
	if !f.c.servers {
		return // (a script: no request gives its functions values)
	}
	t := f.requestTaint()
	if at := t.inSQL(sql, 0); at != nil {
		with := call
		if recv, ok := strings.CutSuffix(call, ".exec"); ok {
			with = recv + ".run" // (exec takes no parameters)
		}
		f.c.warnf(at.Pos(), "%s: a value interpolated into SQL text becomes part of the statement, and a request's value there can change what it does (SQL injection): pass it as a parameter, %s(\"... WHERE name = $1\", name)", call, with)
	}
}

// inSQL is the part of the SQL text sql that holds a request's value:
// an interpolated one, one joined with +, an argument of fmt, a list
// joined, or, of a local the text was put in first (sql = "...";
// db.query(sql)), the value it was given; nil if none.
func (t taint) inSQL(sql ast.Expr, depth int) ast.Expr {
	switch e := sql.(type) {
	case *ast.InterpString:
		for _, p := range e.Parts {
			if t.of(p) {
				return p
			}
		}
	case *ast.Binary:
		if e.Op == "+" || e.Op == "++" {
			if at := t.inSQL(e.X, depth); at != nil {
				return at
			}
			if _, lit := e.Y.(*ast.StringLit); !lit && t.of(e.Y) {
				return e.Y
			}
			return t.inSQL(e.Y, depth)
		}
	case *ast.Ident:
		if depth < 4 && e.Binding != nil {
			for _, v := range t.texts[origin(e.Binding)] {
				if t.inSQL(v, depth+1) != nil {
					return e
				}
			}
		}
	case *ast.Call:
		args := e.Args
		name := ""
		switch fn := e.Fn.(type) {
		case *ast.Ident:
			if isBuiltin(fn, fn.Name) {
				name = fn.Name
			}
		case *ast.Member:
			// ("..." .trim(), parts.join(" AND "))
			name = fn.Name
			args = append([]*ast.Arg{{Value: fn.X}}, args...)
		}
		return t.textCall(name, args, depth)
	case *ast.Pipe:
		// (parts |> join(" AND "), sql |> trim())
		if c, ok := e.Target.(*ast.Call); ok {
			if id, ok := c.Fn.(*ast.Ident); ok && isBuiltin(id, id.Name) {
				return t.textCall(id.Name, append([]*ast.Arg{{Value: e.X}}, c.Args...), depth)
			}
		}
	}
	return nil
}

// textMethods are the calls whose value is their first argument's text
// changed (trimmed, cased, replaced): SQL text in it stays there.
var textMethods = map[string]bool{"trim": true, "trim_start": true, "trim_end": true, "strip": true, "lower": true, "upper": true,
	"replace": true, "replace_first": true, "dedent": true}

// textCall is inSQL of a call of name with args (a method's receiver
// first): fmt's arguments filled in, a list joined, a text changed.
func (t taint) textCall(name string, args []*ast.Arg, depth int) ast.Expr {
	if len(args) == 0 {
		return nil
	}
	switch {
	case name == "fmt":
		for _, a := range args[1:] {
			if t.of(a.Value) {
				return a.Value
			}
		}
		return t.inSQL(args[0].Value, depth)
	case name == "join":
		if t.of(args[0].Value) {
			return args[0].Value
		}
	case textMethods[name]:
		return t.inSQL(args[0].Value, depth)
	}
	return nil
}

// taint is what may come from a request: the bindings (tainted), and
// the values each local was given (texts), to follow SQL text put in a
// local before the call.
type taint struct {
	tainted map[*ast.Binding]bool
	texts   map[*ast.Binding][]ast.Expr
	lists   map[*ast.Binding]bool // parameters annotated a list ([String])
}

// origin is the binding a closure's free variable captures.
func origin(b *ast.Binding) *ast.Binding {
	for b != nil && b.Scope == ast.Free && b.Outer != nil {
		b = b.Outer
	}
	return b
}

// requestTaint is the taint of the function being compiled: the
// parameters of it and of the functions it is in (but those declared a
// number or a Bool), and the locals assigned from them.
func (f *fstate) requestTaint() taint {
	t := taint{tainted: map[*ast.Binding]bool{}, texts: map[*ast.Binding][]ast.Expr{}, lists: map[*ast.Binding]bool{}}
	var bodies []*ast.Block
	for g := f; g != nil; g = g.parent {
		if g.af == nil {
			continue
		}
		bodies = append(bodies, g.af.Body)
		for _, p := range g.af.Params {
			if ty := p.Type; ty != nil && p.Name != nil && p.Name.Binding != nil {
				if (ty.Name == "?" || ty.Name == "Option") && len(ty.Args) == 1 {
					ty = ty.Args[0]
				}
				t.lists[origin(p.Name.Binding)] = ty.Name == "[]"
			}
			if numericType(p.Type) {
				continue // (a number changes no statement)
			}
			if p.Name != nil && (p.Name.Name == "sql" || strings.HasSuffix(p.Name.Name, "_sql")) && g.af.Name != "" && !f.c.isHandler(g.af) {
				continue // (fn q(sql, ...args): its callers' SQL text; a handler's is the request's)
			}
			if p.Name != nil && p.Name.Binding != nil {
				t.tainted[origin(p.Name.Binding)] = true
			}
			for _, b := range patternBindings(p.Pattern) {
				t.tainted[origin(b)] = true
			}
		}
	}
	// What each binding is given: an assignment's or a declaration's
	// value (a destructuring pattern's every name), a loop's iterable, a
	// match's subject.
	type flow struct {
		to   []*ast.Binding
		from ast.Expr
	}
	var flows []flow
	for _, body := range bodies {
		ast.Inspect(body, func(n any) bool {
			var targets []ast.Pattern
			var values []ast.Expr
			switch n := n.(type) {
			case *ast.Assign:
				targets, values = n.Targets, n.Values
			case *ast.VarDecl:
				targets, values = n.Targets, n.Values
			case *ast.For:
				var bs []*ast.Binding
				for _, v := range n.Vars {
					bs = append(bs, patternBindings(v)...)
				}
				flows = append(flows, flow{bs, n.Iter})
				return true
			case *ast.Match:
				for _, arm := range n.Arms {
					flows = append(flows, flow{patternBindings(arm.Pattern), n.Subject})
				}
				return true
			case *ast.Call:
				// (parts.push(name), push(parts, name): parts holds it)
				list, added := addedTo(n)
				if list != nil && list.Binding != nil {
					for _, a := range added {
						flows = append(flows, flow{[]*ast.Binding{list.Binding}, a.Value})
					}
				}
				return true
			default:
				return true
			}
			if len(values) == 0 {
				return true
			}
			for i, tg := range targets {
				v := values[min(i, len(values)-1)]
				bs := patternBindings(tg)
				flows = append(flows, flow{bs, v})
				if pb, ok := tg.(*ast.PBind); ok && pb.Name != nil && pb.Name.Binding != nil {
					b := origin(pb.Name.Binding)
					t.texts[b] = append(t.texts[b], v)
				}
			}
			return true
		})
	}
	for changed, rounds := true, 0; changed && rounds < 8; rounds++ {
		changed = false
		for _, fl := range flows {
			if !t.of(fl.from) {
				continue
			}
			for _, b := range fl.to {
				if b = origin(b); !t.tainted[b] {
					t.tainted[b] = true
					changed = true
				}
			}
		}
	}
	return t
}

// numericType reports whether a parameter's declared type holds only
// numbers or Bools (Int, Float?, Option<Bool>): it changes no statement.
func numericType(t *ast.TypeExpr) bool {
	if t == nil {
		return false
	}
	if (t.Name == "?" || t.Name == "Option") && len(t.Args) == 1 {
		t = t.Args[0]
	}
	return len(t.Args) == 0 && (t.Name == "Int" || t.Name == "Float" || t.Name == "Bool")
}

// addedTo is the list a call adds its arguments to (xs.push(x),
// push(xs, x), xs.append(x)), with the arguments, or nil.
func addedTo(c *ast.Call) (*ast.Ident, []*ast.Arg) {
	switch fn := c.Fn.(type) {
	case *ast.Member:
		if id, ok := fn.X.(*ast.Ident); ok && (fn.Name == "push" || fn.Name == "append" || fn.Name == "unshift" || fn.Name == "insert" || fn.Name == "extend") {
			return id, c.Args
		}
	case *ast.Ident:
		if isBuiltin(fn, fn.Name) && (fn.Name == "push" || fn.Name == "append") && len(c.Args) > 1 {
			if id, ok := c.Args[0].Value.(*ast.Ident); ok {
				return id, c.Args[1:]
			}
		}
	}
	return nil, nil
}

// patternBindings are the bindings a pattern names.
func patternBindings(p ast.Pattern) []*ast.Binding {
	if p == nil {
		return nil
	}
	var out []*ast.Binding
	ast.Inspect(p, func(n any) bool {
		switch n := n.(type) {
		case *ast.Lambda, *ast.Function:
			return false
		case *ast.Ident:
			if n.Binding != nil && n.Binding.Scope != ast.Builtin && n.Binding.Scope != ast.Global {
				out = append(out, n.Binding)
			}
		}
		return true
	})
	return out
}

// numericBuiltins are builtins whose value is a number or a Bool
// whatever their arguments: it changes no statement.
var numericBuiltins = map[string]bool{"to_int": true, "to_float": true, "to_bool": true, "len": true, "count": true,
	"round": true, "floor": true, "ceil": true, "trunc": true, "abs": true, "min": true, "max": true, "sum": true}

// of reports whether the value of e may hold a tainted value.
func (t taint) of(e ast.Expr) bool {
	switch e := e.(type) {
	case nil:
		return false
	case *ast.Ident:
		return e.Binding != nil && t.tainted[origin(e.Binding)]
	case *ast.StringLit, *ast.IntLit, *ast.FloatLit, *ast.BoolLit, *ast.NilLit, *ast.Lambda:
		return false
	case *ast.Binary:
		switch e.Op {
		case "==", "!=", "<", "<=", ">", ">=", "in", "not in":
			return false // a Bool
		case "-", "/", "%", "**", "&", "|", "^", "<<", ">>":
			return false // a number ((page - 1) * per; * repeats a text)
		}
		// (and, or and ?? give an operand: name or "alice")
		return t.of(e.X) || t.of(e.Y)
	case *ast.Unary:
		return e.Op == "+" && t.of(e.X)
	case *ast.ArrayLit:
		// (each element as it is: ["name = $" + str(len(args))] holds
		// no request's value, though args does)
		for _, el := range e.Elems {
			if t.of(el) {
				return true
			}
		}
		return false
	case *ast.ObjectLit:
		for _, en := range e.Entries {
			if en.Spread != nil && t.of(en.Spread) || en.Value != nil && t.of(en.Value) {
				return true
			}
		}
		return false
	case *ast.Member:
		if e.Name == "length" {
			return false // (a number)
		}
	case *ast.Chain, *ast.Is:
		return false
	case *ast.If:
		// (its value is a branch's: the condition chooses, as
		// if desc { "DESC" } else { "ASC" }; a branch giving what the
		// condition found in a list of the program's, if ALLOWED
		// .contains(col) { col }, gives one of those)
		if !allowListed(e.Cond, e.Then) && t.ofBlock(e.Then) || t.ofBlock(e.Else) {
			return true
		}
		for _, el := range e.Elifs {
			if t.ofBlock(el.Body) {
				return true
			}
		}
		return false
	case *ast.Match:
		for _, arm := range e.Arms {
			if b, ok := arm.Body.(*ast.Block); ok && t.ofBlock(b) || !ok && t.of(arm.Body) {
				return true
			}
		}
		return false
	case *ast.Block:
		return t.ofBlock(e)
	case *ast.Call:
		// A call's value may hold what its arguments, its receiver or
		// the function called hold, but a numeric builtin's is a number
		// (str(to_int(p)), range(1, len(xs) + 1)), and a map's is its
		// function's (xs |> map(fn(_) "?")).
		switch fn := e.Fn.(type) {
		case *ast.Ident:
			if isBuiltin(fn, fn.Name) {
				return t.ofCall(fn.Name, nil, e.Args)
			}
			if t.of(fn) {
				return true
			}
			return t.ofCall("", nil, e.Args)
		case *ast.Member:
			return t.ofCall(fn.Name, fn.X, e.Args)
		}
	case *ast.Pipe:
		// (x |> to_int(), x |> f(y): f(x, y))
		switch target := e.Target.(type) {
		case *ast.Call:
			if id, ok := target.Fn.(*ast.Ident); ok && (isBuiltin(id, id.Name) || !t.of(id)) && !pipeHole(target) {
				name := ""
				if isBuiltin(id, id.Name) {
					name = id.Name
				}
				return t.ofCall(name, e.X, target.Args)
			}
		case *ast.Ident:
			if isBuiltin(target, target.Name) {
				return t.ofCall(target.Name, e.X, nil)
			}
		}
	}
	found := false
	ast.Inspect(e, func(n any) bool {
		switch n := n.(type) {
		case *ast.Lambda, *ast.Function:
			return false
		case *ast.Ident:
			if n.Binding != nil && t.tainted[origin(n.Binding)] {
				found = true
			}
		}
		return !found
	})
	return found
}

// ofCall is of a call of name (a builtin's or a method's; "" for
// another function) with receiver recv (nil for none) and args.
func (t taint) ofCall(name string, recv ast.Expr, args []*ast.Arg) bool {
	if numericBuiltins[name] {
		return false
	}
	if (name == "map" || name == "flat_map") && len(args) > 0 {
		// (the function's values: tainted if it gives its element, or
		// a request's value of its own)
		list := recv
		rest := args
		if list == nil && len(args) > 1 {
			list, rest = args[0].Value, args[1:]
		}
		if lam, ok := rest[0].Value.(*ast.Lambda); ok && list != nil {
			return t.ofLambda(lam, t.of(list), t.knownList(list))
		}
	}
	if recv != nil && t.of(recv) {
		return true
	}
	for _, a := range args {
		if t.of(a.Value) {
			return true
		}
	}
	return false
}

// ofLambda is of the value of lam called with an argument tainted or
// not: of a list's map, with its element (and its index, a number), of
// another value's (an object's), with its key and value.
func (t taint) ofLambda(lam *ast.Lambda, argTainted, list bool) bool {
	var marked []*ast.Binding
	if argTainted && len(lam.Fn.Params) > 0 {
		params := lam.Fn.Params
		if list {
			params = params[:1] // (fn(_, i) "${i + 1}": i is a number)
		}
		for _, p := range params {
			bs := patternBindings(p.Pattern)
			if p.Name != nil && p.Name.Binding != nil {
				bs = append(bs, p.Name.Binding)
			}
			for _, b := range bs {
				if !t.tainted[b] {
					t.tainted[b] = true
					marked = append(marked, b)
				}
			}
		}
	}
	v := t.ofBlock(lam.Fn.Body)
	for _, b := range marked {
		delete(t.tainted, b)
	}
	return v
}

// knownList reports whether e is a list for certain (a list literal, a
// parameter annotated a list, a builtin that gives one), so that a
// map's second callback parameter is its index, not an object's value.
func (t taint) knownList(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.ArrayLit:
		return true
	case *ast.Ident:
		return e.Binding != nil && t.lists[origin(e.Binding)]
	case *ast.Call:
		if id, ok := e.Fn.(*ast.Ident); ok && isBuiltin(id, id.Name) {
			return listBuiltins[id.Name]
		}
		if m, ok := e.Fn.(*ast.Member); ok {
			return listBuiltins[m.Name]
		}
	case *ast.Pipe:
		target := e.Target
		if c, ok := target.(*ast.Call); ok {
			target = c.Fn
		}
		if id, ok := target.(*ast.Ident); ok && isBuiltin(id, id.Name) {
			return listBuiltins[id.Name]
		}
	}
	return false
}

// listBuiltins are the builtins (and methods) whose value is a list.
var listBuiltins = map[string]bool{"split": true, "range": true, "keys": true, "values": true, "sorted": true,
	"filter": true, "map": true, "unique": true, "lines": true, "words": true, "chars": true, "entries": true}

// pipeHole reports whether a pipe's call places its value at a _
// (x |> f(a, _)).
func pipeHole(c *ast.Call) bool {
	for _, a := range c.Args {
		if id, ok := a.Value.(*ast.Ident); ok && id.Name == "_" {
			return true
		}
	}
	return false
}

// allowListed reports whether the branch then of a condition cond
// gives a value cond found in a list of the program's own: if ALLOWED
// .contains(col) { col }, if col in ["a", "b"] { col }.
func allowListed(cond ast.Expr, then *ast.Block) bool {
	if then == nil || len(then.Stmts) == 0 {
		return false
	}
	es, ok := then.Stmts[len(then.Stmts)-1].(*ast.ExprStmt)
	if !ok {
		return false
	}
	v, ok := es.X.(*ast.Ident)
	if !ok || v.Binding == nil {
		return false
	}
	same := func(x ast.Expr) bool {
		id, ok := x.(*ast.Ident)
		return ok && id.Binding != nil && origin(id.Binding) == origin(v.Binding)
	}
	ownList := func(x ast.Expr) bool {
		switch x := x.(type) {
		case *ast.ArrayLit:
			for _, el := range x.Elems {
				if _, ok := el.(*ast.StringLit); !ok {
					return false
				}
			}
			return true
		case *ast.Ident:
			return x.Binding != nil && x.Binding.Scope == ast.Global && !x.Binding.Mutable
		}
		return false
	}
	switch c := cond.(type) {
	case *ast.Binary:
		return c.Op == "in" && same(c.X) && ownList(c.Y)
	case *ast.Call:
		if m, ok := c.Fn.(*ast.Member); ok && (m.Name == "contains" || m.Name == "includes" || m.Name == "has") && len(c.Args) == 1 {
			return ownList(m.X) && same(c.Args[0].Value)
		}
		if id, ok := c.Fn.(*ast.Ident); ok && isBuiltin(id, "contains") && len(c.Args) == 2 {
			return ownList(c.Args[0].Value) && same(c.Args[1].Value)
		}
	}
	return false
}

// ofBlock is of the value of a block: its last expression's.
func (t taint) ofBlock(b *ast.Block) bool {
	if b == nil || len(b.Stmts) == 0 {
		return false
	}
	if es, ok := b.Stmts[len(b.Stmts)-1].(*ast.ExprStmt); ok {
		return t.of(es.X)
	}
	return false
}

// txHandle reports whether b is the parameter of a function given to
// db.transaction (its handle, tx.query(...)): found once, in every
// file of the program.
func (c *compiler) txHandle(b *ast.Binding) bool {
	if c.txHandles == nil {
		c.txHandles = map[*ast.Binding]bool{}
		for _, src := range c.srcs {
			ast.Inspect(src.File, func(n any) bool {
				call, ok := n.(*ast.Call)
				if !ok || len(call.Args) == 0 {
					return true
				}
				m, ok := call.Fn.(*ast.Member)
				if !ok || m.Name != "transaction" {
					return true
				}
				if id, ok := m.X.(*ast.Ident); !ok || !isBuiltin(id, "db") {
					return true
				}
				if lam, ok := call.Args[0].Value.(*ast.Lambda); ok && len(lam.Fn.Params) > 0 && lam.Fn.Params[0].Name != nil && lam.Fn.Params[0].Name.Binding != nil {
					c.txHandles[lam.Fn.Params[0].Name.Binding] = true
				}
				return true
			})
		}
	}
	return c.txHandles[origin(b)]
}

// isHandler reports whether fn, a named function, answers a route
// (route GET "/d" => find): its parameters are the request's, whatever
// their names. Found once, in every file of the program.
func (c *compiler) isHandler(fn *ast.Function) bool {
	if c.handlerFns == nil {
		c.handlerFns = map[*ast.Function]bool{}
		saved := c.file
		for i, src := range c.srcs {
			c.file = i // (namedHandler looks names up in the file being read)
			ast.Inspect(src.File, func(n any) bool {
				if r, ok := n.(*ast.RouteDecl); ok {
					if h := c.namedHandler(r.Handler); h != nil {
						c.handlerFns[h] = true
					}
				}
				return true
			})
		}
		c.file = saved
	}
	return c.handlerFns[fn]
}
