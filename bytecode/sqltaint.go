package bytecode

import "tova/frontend/ast"

// sqlMethods are the db functions whose first argument is SQL text.
var sqlMethods = map[string]bool{"query": true, "get": true, "run": true, "exec": true}

// txNames are the names a transaction's handle goes by
// (db.transaction(fn(tx) { tx.query(...) })), whose SQL is checked as
// db's is.
var txNames = map[string]bool{"tx": true, "trx": true, "conn": true}

// warnInterpolatedSQL warns of SQL text (call, db.query's) with a value
// interpolated into it that may come from a request: a parameter of the
// function (or of one it is in), or a local computed from one. A
// request's value there changes the statement (SQL injection), where a
// parameter ($1) is only ever a value. Module constants (a table's
// name), literals, locals of literals (a LIMIT 5, an ORDER BY chosen
// between "ASC" and "DESC"), numbers and parameters declared Int, Float
// or Bool are not warned of.
func (f *fstate) warnInterpolatedSQL(call string, sql ast.Expr) {
	t := f.requestTaint()
	if at := t.inSQL(sql, 0); at != nil {
		f.c.warnf(at.Pos(), "%s: a value interpolated into SQL text becomes part of the statement, and a request's value there can change what it does (SQL injection): pass it as a parameter, %s(\"... WHERE name = $1\", name)", call, call)
	}
}

// inSQL is the part of the SQL text sql that holds a request's value:
// an interpolated one, one joined with +, or, of a local the text was
// put in first (sql = "..."; db.query(sql)), the value it was given;
// nil if none.
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
	}
	return nil
}

// taint is what may come from a request: the bindings (tainted), and
// the values each local was given (texts), to follow SQL text put in a
// local before the call.
type taint struct {
	tainted map[*ast.Binding]bool
	texts   map[*ast.Binding][]ast.Expr
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
	t := taint{tainted: map[*ast.Binding]bool{}, texts: map[*ast.Binding][]ast.Expr{}}
	var bodies []*ast.Block
	for g := f; g != nil; g = g.parent {
		if g.af == nil {
			continue
		}
		bodies = append(bodies, g.af.Body)
		for _, p := range g.af.Params {
			if p.Type != nil && len(p.Type.Args) == 0 && (p.Type.Name == "Int" || p.Type.Name == "Float" || p.Type.Name == "Bool") {
				continue // (a number changes no statement)
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
		}
		// (and, or and ?? give an operand: name or "alice")
		return t.of(e.X) || t.of(e.Y)
	case *ast.Chain, *ast.Is:
		return false
	case *ast.If:
		// (its value is a branch's: the condition chooses, as
		// if desc { "DESC" } else { "ASC" })
		if t.ofBlock(e.Then) || t.ofBlock(e.Else) {
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
		if id, ok := e.Fn.(*ast.Ident); ok && id.Binding != nil && id.Binding.Scope == ast.Builtin && numericBuiltins[id.Name] {
			return false
		}
		if m, ok := e.Fn.(*ast.Member); ok && numericBuiltins[m.Name] {
			return false // (n.to_int())
		}
	case *ast.Pipe:
		// (x |> to_int())
		target := e.Target
		if c, ok := target.(*ast.Call); ok {
			target = c.Fn
		}
		if id, ok := target.(*ast.Ident); ok && id.Binding != nil && id.Binding.Scope == ast.Builtin && numericBuiltins[id.Name] {
			return false
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
