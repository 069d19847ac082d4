package resolve

import "tova/frontend/ast"

// guardElse checks that the else block of `guard cond else { … }`
// cannot fall through to the statement after the guard: the guard is
// there so that the code after it runs only when cond holds (spec
// §4.14). A block ending in a value the author meant to give back
// (`else { Err("too short") }`) would otherwise be computed and
// dropped, and the invalid input accepted.
func (r *resolver) guardElse(g *ast.Guard) {
	if g.Else == nil || leaves(g.Else) {
		return
	}
	pos := g.PosV
	end := pos
	end.Col += int32(len("guard"))
	if n := len(g.Else.Stmts); n > 0 {
		if es, ok := g.Else.Stmts[n-1].(*ast.ExprStmt); ok && !isCall(es.X, "print") {
			r.errorf(pos, end, "the else block of a guard must leave (return, break, continue or throw): it ends in a value that is dropped, and the code after the guard runs anyway; did you mean `return %s`?", shortExpr(es.X))
			return
		}
	}
	r.errorf(pos, end, "the else block of a guard must leave (return, break, continue or throw), else the code after the guard runs anyway")
}

// leaves reports whether control never reaches the end of b: its last
// statement returns, breaks, continues, throws, calls exit or panic, or
// is an if/else, match or try each of whose ways out leaves.
func leaves(b *ast.Block) bool {
	if b == nil || len(b.Stmts) == 0 {
		return false
	}
	switch s := b.Stmts[len(b.Stmts)-1].(type) {
	case *ast.Return, *ast.Break, *ast.Continue, *ast.Throw:
		return true
	case *ast.ExprStmt:
		return exprLeaves(s.X)
	case *ast.Loop:
		// Left only by return or throw, when no break ends it.
		return !breaksOut(s.Body, s.Label)
	case *ast.While:
		if b, ok := s.Cond.(*ast.BoolLit); ok && b.Value {
			return !breaksOut(s.Body, s.Label)
		}
	}
	return false
}

// breaksOut reports whether body, a loop's (labelled label), holds a
// break that ends that loop: one with no label outside any inner loop,
// or one naming it. Functions declared inside do not count.
func breaksOut(body *ast.Block, label string) bool {
	return breaksTo(body, label, true)
}

// breaksTo reports whether n holds a break naming label, or, with
// unlabelled, one with no label outside the loops inside n.
func breaksTo(n any, label string, unlabelled bool) bool {
	found := false
	ast.Inspect(n, func(x any) bool {
		switch x := x.(type) {
		case *ast.Break:
			found = found || x.Label == "" && unlabelled || x.Label != "" && x.Label == label
		case *ast.While:
			// An unlabelled break in an inner loop ends that loop.
			found = found || breaksTo(x.Cond, label, unlabelled) || label != "" && breaksTo(x.Body, label, false)
			return false
		case *ast.Loop:
			found = found || label != "" && breaksTo(x.Body, label, false)
			return false
		case *ast.For:
			found = found || breaksTo([]any{x.Iter, x.When, x.Else}, label, unlabelled) || label != "" && breaksTo(x.Body, label, false)
			return false
		case *ast.Function, *ast.Lambda, *ast.FnDecl:
			return false
		}
		return !found
	})
	return found
}

func exprLeaves(x ast.Expr) bool {
	switch x := x.(type) {
	case *ast.Block:
		return leaves(x)
	case *ast.If:
		if x.Else == nil || !leaves(x.Then) || !leaves(x.Else) {
			return false
		}
		for _, e := range x.Elifs {
			if !leaves(e.Body) {
				return false
			}
		}
		return true
	case *ast.Match:
		if len(x.Arms) == 0 {
			return false
		}
		for _, a := range x.Arms {
			if !exprLeaves(a.Body) {
				return false
			}
		}
		return true
	case *ast.Try:
		if x.Finally != nil && leaves(x.Finally) {
			return true
		}
		return leaves(x.Body) && (x.Catch == nil || leaves(x.Catch))
	case *ast.Call:
		return isCall(x, "exit") || isCall(x, "panic")
	}
	return false
}

// isCall reports whether x calls the builtin name (not a binding of
// the program's that shadows it).
func isCall(x ast.Expr, name string) bool {
	c, ok := x.(*ast.Call)
	if !ok {
		return false
	}
	id, ok := c.Fn.(*ast.Ident)
	return ok && id.Name == name && id.Binding != nil && id.Binding.Scope == ast.Builtin
}

// shortExpr is a short rendering of x for a hint: the callee and an
// ellipsis for a call (`Err(...)`), else "…".
func shortExpr(x ast.Expr) string {
	if c, ok := x.(*ast.Call); ok {
		if id, ok := c.Fn.(*ast.Ident); ok {
			if len(c.Args) == 0 {
				return id.Name + "()"
			}
			return id.Name + "(...)"
		}
	}
	return "..."
}
