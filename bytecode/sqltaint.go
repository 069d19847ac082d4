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
	is, ok := sql.(*ast.InterpString)
	if !ok {
		return
	}
	t := f.requestTaint()
	for _, p := range is.Parts {
		if t.of(p) {
			f.c.warnf(p.Pos(), "%s: a value interpolated into SQL text becomes part of the statement, and a request's value there can change what it does (SQL injection): pass it as a parameter, %s(\"... WHERE name = $1\", name)", call, call)
			return
		}
	}
}

// taint is the set of bindings whose values may come from a request.
type taint map[*ast.Binding]bool

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
	t := taint{}
	var bodies []*ast.Block
	for g := f; g != nil; g = g.parent {
		if g.af == nil {
			continue
		}
		bodies = append(bodies, g.af.Body)
		for _, p := range g.af.Params {
			if p.Name == nil || p.Name.Binding == nil {
				continue
			}
			if p.Type != nil && len(p.Type.Args) == 0 && (p.Type.Name == "Int" || p.Type.Name == "Float" || p.Type.Name == "Bool") {
				continue // (a number changes no statement)
			}
			t[origin(p.Name.Binding)] = true
		}
	}
	// Locals assigned from tainted values, to a fixed point (a chain of
	// a few assignments).
	for changed, rounds := true, 0; changed && rounds < 8; rounds++ {
		changed = false
		for _, body := range bodies {
			ast.Inspect(body, func(n any) bool {
				var targets []ast.Pattern
				var values []ast.Expr
				switch n := n.(type) {
				case *ast.Assign:
					targets, values = n.Targets, n.Values
				case *ast.VarDecl:
					targets, values = n.Targets, n.Values
				default:
					return true
				}
				for i, tg := range targets {
					pb, ok := tg.(*ast.PBind)
					if !ok || pb.Name == nil || pb.Name.Binding == nil {
						continue
					}
					v := values[min(i, len(values)-1)]
					if b := origin(pb.Name.Binding); !t[b] && t.of(v) {
						t[b] = true
						changed = true
					}
				}
				return true
			})
		}
	}
	return t
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
		return e.Binding != nil && t[origin(e.Binding)]
	case *ast.StringLit, *ast.IntLit, *ast.FloatLit, *ast.BoolLit, *ast.NilLit, *ast.Lambda:
		return false
	case *ast.Binary:
		switch e.Op {
		case "==", "!=", "<", "<=", ">", ">=", "and", "or", "&&", "||", "in", "not in":
			return false // a Bool
		}
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
	}
	found := false
	ast.Inspect(e, func(n any) bool {
		switch n := n.(type) {
		case *ast.Lambda, *ast.Function:
			return false
		case *ast.Ident:
			if n.Binding != nil && t[origin(n.Binding)] {
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
