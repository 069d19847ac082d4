package bytecode

import (
	"slices"
	"strings"

	"tova/frontend/ast"
	"tova/frontend/token"
)

// sink says where the value of a block or expression goes: into
// register reg (reg >= 0), returned from the function (ret), or dropped.
type sink struct {
	reg int
	ret bool
}

var discard = sink{reg: -1}

func toReg(r int) sink { return sink{reg: r} }

var tail = sink{reg: -1, ret: true}

// block compiles a block whose value goes to s. Bindings declared
// directly in the block get registers for the block's duration.
func (f *fstate) block(b *ast.Block, dst int) {
	s := discard
	if dst >= 0 {
		s = toReg(dst)
	}
	f.blockTo(b, s)
}

func (f *fstate) blockTo(b *ast.Block, s sink) {
	saved, mark := f.top, len(f.decls)
	f.blockStmts(b.Stmts, s)
	f.release(saved)
	for _, d := range f.decls[mark:] {
		delete(f.regOf, d)
	}
	f.decls = f.decls[:mark]
}

func (f *fstate) blockStmts(stmts []ast.Stmt, s sink) {
	f.predeclare(stmts)
	for _, st := range stmts {
		if td, ok := st.(*ast.TypeDecl); ok {
			f.setPos(td.PosV)
			f.typeDecl(td)
		}
	}
	f.envDecls(stmts)
	f.hoistFuncs(stmts)
	f.implDecls(stmts)
	for i, st := range stmts {
		f.signedLine(st, i > 0, i == len(stmts)-1)
		if d, ok := st.(*ast.Defer); ok {
			// `defer X` runs X when the rest of the block is left: the
			// rest becomes the body of a try/finally.
			f.setPos(d.PosV)
			f.tryFinally(func(s sink) { f.blockStmts(stmts[i+1:], s) }, d.Body, s)
			return
		}
		if i == len(stmts)-1 {
			if es, ok := st.(*ast.ExprStmt); ok && s == discard {
				if lam, ok := es.X.(*ast.Lambda); ok {
					f.c.warnLambdaStmt(lam) // (the last of a file's too)
				}
			}
			f.stmtValue(st, s)
			return
		}
		f.stmt(st)
	}
	f.sinkNil(s)
}

// signedLine warns of a statement that is a unary + (or a - whose value
// is unused) after another: a line beginning with an operator is a
// statement of its own, not the rest of the line before (`total = a\n
// + b` leaves total a).
func (f *fstate) signedLine(st ast.Stmt, after, last bool) {
	es, ok := st.(*ast.ExprStmt)
	if !ok || !after {
		return
	}
	if u, ok := es.X.(*ast.Unary); ok && (u.Op == "+" || u.Op == "-" && !last) {
		f.c.warnf(u.PosV, "this line begins with %s: it is a statement of its own, whose value is unused, not the rest of the line before it; end that line with the operator to continue it", u.Op)
	}
}

// predeclare gives registers (and fresh cells) to the bindings that the
// statements declare directly.
func (f *fstate) predeclare(stmts []ast.Stmt) {
	for _, st := range stmts {
		switch st := st.(type) {
		case *ast.Assign:
			for _, p := range st.Targets {
				f.predeclarePattern(p)
			}
		case *ast.VarDecl:
			for _, p := range st.Targets {
				f.predeclarePattern(p)
			}
		case *ast.FnDecl:
			f.declare(st.Name.Binding)
		case *ast.TypeDecl:
			f.declare(st.Name.Binding)
			for _, v := range st.Variants {
				// (its variants, named alone: Circle(2.0) in the
				// function that declares the type)
				if b := f.c.variantBinding(v); b != nil {
					f.declare(b)
				}
			}
		case *ast.EnvDecl:
			f.declare(st.Name.Binding)
		}
	}
}

func (f *fstate) predeclarePattern(p ast.Pattern) {
	walkBinds(p, func(id *ast.Ident) { f.declare(id.Binding) })
}

// walkBinds calls fn for every name a pattern binds.
func walkBinds(p ast.Pattern, fn func(*ast.Ident)) {
	switch p := p.(type) {
	case *ast.PBind:
		fn(p.Name)
	case *ast.PArray:
		for _, e := range p.Elems {
			walkBinds(e, fn)
		}
		if p.Rest != nil {
			fn(p.Rest)
		}
	case *ast.PObject:
		for _, fl := range p.Fields {
			walkBinds(fl.Pattern, fn)
		}
		if p.Rest != nil {
			fn(p.Rest)
		}
	case *ast.PVariant:
		for _, a := range p.Args {
			walkBinds(a, fn)
		}
	case *ast.PStrPrefix:
		walkBinds(p.Rest, fn)
	case *ast.POr:
		for _, a := range p.Alts {
			walkBinds(a, fn)
		}
	}
}

// declare gives a Local or Cell binding its register (once).
func (f *fstate) declare(b *ast.Binding) {
	if b == nil || (b.Scope != ast.Local && b.Scope != ast.Cell) {
		return
	}
	if _, ok := f.regOf[b]; ok {
		return
	}
	r := f.alloc(1)
	f.regOf[b] = r
	f.decls = append(f.decls, b)
	if b.Scope == ast.Cell {
		f.emit(LOADNIL, r, 0, 0)
		f.emit(MKCELL, r, 0, 0)
	}
}

// declareAt binds b to register r, which already holds the value.
func (f *fstate) declareAt(b *ast.Binding, r int) {
	f.regOf[b] = r
	f.decls = append(f.decls, b)
	if b.Scope == ast.Cell {
		f.emit(MKCELL, r, 0, 0)
	}
}

// annotatedKinds are the annotations a literal is checked against:
// annotations are not checked when the program runs (gradual typing, as
// the reference's analyzer), but a literal of another type is warned of.
var annotatedKinds = map[string]bool{"Int": true, "Float": true, "String": true, "Bool": true, "Duration": true, "Size": true}

// literalMismatch is the type of the literal e when annotation t, a
// plain scalar type, does not take it ("" when it does, or when e is
// no literal).
func literalMismatch(t *ast.TypeExpr, e ast.Expr) string {
	if t != nil && (t.Name == "?" || t.Name == "Option") && len(t.Args) == 1 {
		t = t.Args[0] // (z: String? = 5: a literal, if given, is the inner type's)
	}
	if t != nil && (t.Name == "[]" && len(t.Args) == 1 || t.Name == "Result" && len(t.Args) == 2) {
		// (xs: [Int] = "no", [String] = [1, 2], r: Result<Int, String> = 3)
		if arr, ok := e.(*ast.ArrayLit); ok && t.Name == "[]" {
			for _, el := range arr.Elems {
				if got := literalMismatch(t.Args[0], el); got != "" {
					return "List holding " + articled(got)
				}
			}
			return ""
		}
		return literalType(e)
	}
	if t == nil || len(t.Args) > 0 || !annotatedKinds[t.Name] {
		return ""
	}
	got := literalType(e)
	if got == "" || got == t.Name || t.Name == "Float" && got == "Int" || wholeFloat(t.Name, e) {
		return ""
	}
	return got
}

// annotText is an annotation as written (String?, not ?<String>).
func annotText(t *ast.TypeExpr) string {
	if t.Name == "?" && len(t.Args) == 1 {
		return typeString(t.Args[0]) + "?"
	}
	return typeString(t)
}

// checkAnnotatedLiteral warns of x: Int = "hello": the binding holds a
// String, whatever its annotation says.
func (f *fstate) checkAnnotatedLiteral(t *ast.TypeExpr, e ast.Expr, target ast.Pattern) {
	got := literalMismatch(t, e)
	if got == "" {
		return
	}
	name := "the binding"
	if b, ok := target.(*ast.PBind); ok && b.Name != nil {
		name = b.Name.Name
	}
	f.c.warnf(e.Pos(), "%s is annotated %s but given %s: annotations are not checked when the program runs", name, annotText(t), articled(got))
}

// checkReturnLiterals warns of a literal a function returns that its
// declared return type does not take (fn f() -> Int { "s" }).
func (f *fstate) checkReturnLiterals(fd *ast.FnDecl) {
	if fd.RetType == nil || fd.Fn == nil || fd.Fn.Body == nil {
		return
	}
	warn := func(e ast.Expr) {
		if got := literalMismatch(fd.RetType, e); got != "" {
			f.c.warnf(e.Pos(), "fn %s returns %s, but this is %s: annotations are not checked when the program runs", fd.Name.Name, annotText(fd.RetType), articled(got))
		}
	}
	body := fd.Fn.Body
	ast.Inspect(body, func(n any) bool {
		switch n := n.(type) {
		case *ast.Lambda, *ast.FnDecl:
			return false // (their returns are theirs)
		case *ast.Return:
			if n.X != nil {
				tails(n.X, warn)
			}
		}
		return true
	})
	tails(body, warn)
}

// tails calls visit with each expression whose value e gives: e, or
// the last value of each branch of an if or a match, or a block's
// last expression.
func tails(e ast.Expr, visit func(ast.Expr)) {
	switch e := e.(type) {
	case *ast.Block:
		if e != nil && len(e.Stmts) > 0 {
			if st, ok := e.Stmts[len(e.Stmts)-1].(*ast.ExprStmt); ok {
				tails(st.X, visit)
			}
		}
	case *ast.If:
		tails(e.Then, visit)
		for _, el := range e.Elifs {
			tails(el.Body, visit)
		}
		if e.Else != nil {
			tails(e.Else, visit)
		}
	case *ast.Match:
		for _, arm := range e.Arms {
			tails(arm.Body, visit)
		}
	case nil:
	default:
		visit(e)
	}
}

// hoistFuncs creates the closures of the block's function declarations
// before any other statement runs, so they may call each other.
// A top-level background fn of a program without server blocks, which
// belongs to its one server (set up after the top-level code), is bound
// here too: the top-level code may name it (`kinds = { img: resize }`),
// as it names a plain fn.
func (f *fstate) hoistFuncs(stmts []ast.Stmt) {
	for _, st := range stmts {
		switch st := st.(type) {
		case *ast.FnDecl:
			f.checkReturnLiterals(st)
			f.checkTypeNames(st.RetType, append(f.generics(), st.Fn.TypeParams...))
			f.bindFunc(st.Fn, st.Name, st.PosV)
		case *ast.TypeDecl:
			f.checkTypeDecl(st)
		case *ast.HookDecl:
			if st.Kind == "background" && st.Name != nil && st.Name.Binding != nil && f.c.implicitServer && f.af == nil && f.srv == nil {
				f.bindFunc(st.Fn, st.Name, st.PosV)
			}
		}
	}
}

// bindFunc makes a closure of fn and stores it in the binding of name.
func (f *fstate) bindFunc(fn *ast.Function, name *ast.Ident, pos token.Pos) {
	f.setPos(pos)
	tmp := f.alloc(1)
	f.closure(fn, name.Name, pos, tmp)
	f.store(name.Binding, tmp)
	f.release(tmp)
}

// stmtValue compiles the last statement of a block, whose value is the
// block's value.
func (f *fstate) stmtValue(st ast.Stmt, s sink) {
	if es, ok := st.(*ast.ExprStmt); ok {
		if !f.callWritesShared(es.X) {
			f.exprSink(es.X, s)
			return
		}
		// One step, as a statement (see stmt); the bracket closes before
		// the value is returned.
		f.setPos(es.X.Pos())
		saved := f.top
		r := s.reg
		if r < 0 {
			r = f.alloc(1)
		}
		f.atomicBegin()
		f.exprSink(es.X, sink{reg: r})
		f.atomicEnd()
		if s.reg < 0 {
			f.sinkReg(r, s)
		}
		f.release(saved)
		return
	}
	if w, ok := st.(*ast.With); ok {
		f.setPos(w.PosV)
		f.withStmt(w, s)
		return
	}
	f.stmt(st)
	f.sinkNil(s)
}

// sinkNil delivers nil to s.
func (f *fstate) sinkNil(s sink) {
	switch {
	case s.ret:
		f.emitReturn(-1)
	case s.reg >= 0:
		f.emit(LOADNIL, s.reg, 0, 0)
	}
}

// sinkReg delivers the value in register r to s.
func (f *fstate) sinkReg(r int, s sink) {
	switch {
	case s.ret:
		f.emitReturn(r)
	case s.reg >= 0 && s.reg != r:
		f.emit(MOVE, s.reg, r, 0)
	}
}

// emitReturn returns register r (nil when r < 0), running the finally
// blocks of the try statements it leaves.
func (f *fstate) emitReturn(r int) {
	if c := f.cancelling; c != nil {
		// (a `?` in a cancellation's cleanup goes on with the
		// cancellation, as a return there does)
		f.emit(THROW, c.reg, 0, 0)
		return
	}
	if len(f.tries) > 0 {
		if r >= 0 {
			// Keep the value safe from the finally code.
			tmp := f.alloc(1)
			f.emit(MOVE, tmp, r, 0)
			r = tmp
		}
		f.unwindTries(0)
	}
	if r < 0 {
		f.emit(RETNIL, 0, 0, 0)
	} else {
		f.emit(RET, r, 0, 0)
	}
}

// unwindTries leaves the try statements above depth: pops their
// handlers and runs their finally blocks, innermost first.
func (f *fstate) unwindTries(depth int) {
	saved := f.tries
	for i := len(saved) - 1; i >= depth; i-- {
		t := saved[i]
		if t.handler {
			f.emit(TRYEND, 0, 0, 0)
		}
		if t.finally != nil && !t.inFinish {
			f.tries = saved[:i]
			f.block(t.finally, -1)
		}
	}
	f.tries = saved
}

func (f *fstate) stmt(st ast.Stmt) {
	f.setPos(st.Pos())
	saved := f.top
	defer f.release(saved)
	switch st := st.(type) {
	case *ast.ExprStmt:
		if lam, ok := st.X.(*ast.Lambda); ok {
			f.c.warnLambdaStmt(lam)
		}
		if call, ok := st.X.(*ast.Call); ok {
			if id, ok := call.Fn.(*ast.Ident); ok && (isBuiltin(id, "rate_limit") || isBuiltin(id, "timeout")) {
				// rate_limit({ max: 100, window: 60 }): a guard made and
				// dropped (serve then blamed its max)
				f.c.errorf(id.PosV, "%s(...) makes a route's guard (route GET \"/x\" with %s), which a statement drops: %s", id.Name, guardExample[id.Name], blockForm[id.Name])
			}
		}
		if f.callWritesShared(st.X) {
			f.atomicBegin()
			defer f.atomicEnd()
		}
		f.exprSink(st.X, discard)
	case *ast.Assign:
		f.checkTypeNames(st.Type, f.generics())
		if st.Type != nil && len(st.Values) == 1 && len(st.Targets) == 1 {
			f.checkAnnotatedLiteral(st.Type, st.Values[0], st.Targets[0])
		}
		if f.af != nil && f.c.assignsShared(st) {
			f.atomicBegin()
			defer f.atomicEnd()
		}
		if f.af != nil && st.Op == "=" {
			f.checkShadowedVar(st)
		}
		f.assign(st)
	case *ast.VarDecl:
		f.checkTypeNames(st.Type, f.generics())
		if st.Type != nil && len(st.Values) == 1 && len(st.Targets) == 1 {
			f.checkAnnotatedLiteral(st.Type, st.Values[0], st.Targets[0])
		}
		if f.af != nil && f.c.servers && slices.ContainsFunc(st.Values, f.c.changesShared) {
			// (var n = len(todos.push(x)): one step, as the assignment)
			f.atomicBegin()
			defer f.atomicEnd()
		}
		f.assignValues(st.Targets, st.Values, true)
	case *ast.FnDecl:
		// hoisted by the enclosing block
	case *ast.TypeDecl, *ast.ImplDecl, *ast.TraitDecl:
		// hoisted by the enclosing block
	case *ast.Return:
		if c := f.cancelling; c != nil {
			// (a cancellation's cleanup goes on with the cancellation:
			// a return there let the request's code run on after its
			// deadline)
			if st.X != nil {
				f.exprSink(st.X, discard)
			}
			f.emit(THROW, c.reg, 0, 0)
			return
		}
		if st.X == nil {
			f.emitReturn(-1)
			return
		}
		if f.callWritesShared(st.X) {
			// (return todos.push(x): one step, as the statement; the
			// bracket closes before the return)
			r := f.alloc(1)
			f.atomicBegin()
			f.exprSink(st.X, sink{reg: r})
			f.atomicEnd()
			f.emitReturn(r)
			return
		}
		f.exprSink(st.X, tail)
	case *ast.Break:
		f.breakContinue(st.Label, true)
	case *ast.Continue:
		f.breakContinue(st.Label, false)
	case *ast.While:
		f.whileLoop(st)
	case *ast.Loop:
		f.loopStmt(st)
	case *ast.For:
		f.forLoop(st)
	case *ast.Guard:
		skip := f.condJump(st.Cond, true)
		f.block(st.Else, -1)
		f.patchAll(skip, f.here())
	case *ast.Defer:
		// handled by blockStmts; a defer as the last statement runs at once
		f.block(st.Body, -1)
	case *ast.With:
		f.withStmt(st, discard)
	case *ast.Throw:
		var r int
		if f.callWritesShared(st.X) {
			r = f.alloc(1)
			f.atomicBegin()
			f.exprSink(st.X, sink{reg: r})
			f.atomicEnd()
		} else {
			r = f.operand(st.X)
		}
		f.setPos(st.PosV)
		f.emit(THROW, r, 0, 0)
	case *ast.Import:
	default:
		f.serverStmt(st)
	}
}

// ---------------------------------------------------------------- assignment

// A statement of a function that writes module state (a server's
// `var`s) is bracketed by ATOMIC, so that the thread running it gives
// way to others of the instance only after a long slice:
// `todos = [...todos, make(t)]` reads, calls and writes as one step.
// (Top-level code and server bodies run once, before any request.) (A statement left by an error or a
// return inside it leaves the bracket open until a catch or the end of
// the thread's call restores it.)

// assignsShared reports whether an assignment may write module state
// after reading it: its target is rooted at a module slot (x, x.f, x[k],
// x.f[k].g), or, in a program with servers, it writes a field or an
// element of another value and reads what it writes (`o.f += 1`, `o.f =
// o.f + g()`) or module state (`o.f = stats.f + 1`). Such a value may be
// server state reached through another name: a local (`o = stats`), a
// parameter (`fn bump(o) { o.hits = o.hits + 1 }`), a loop variable
// (`for it in items { it.n += 1 }`), which the compiler cannot tell from
// a value of the request's own. A write that reads neither (`r.x =
// work()`, to a record being built) cannot lose an update, and is left
// out: bracketed, long work in it would hold up every request that
// reads state for up to a second.
func (c *compiler) assignsShared(st *ast.Assign) bool {
	if c.servers {
		for _, v := range st.Values {
			if c.changesShared(v) {
				return true // (r = push(todos, make(t)))
			}
		}
	}
	var leaves []ast.Pattern
	for _, t := range st.Targets {
		leaves = targetLeaves(t, leaves)
	}
	for _, t := range leaves {
		switch t := t.(type) {
		case *ast.PBind:
			if t.Name.Binding != nil && t.Name.Binding.Scope == ast.Global {
				return true
			}
		case *ast.PTarget:
			if sharedRoot(t.X) {
				return true
			}
			if !c.servers {
				continue
			}
			root := rootIdent(t.X)
			if st.Op != "=" || root == nil {
				return true
			}
			for _, v := range st.Values {
				if c.readsStateOr(v, outermost(root.Binding)) {
					return true
				}
			}
		}
	}
	return false
}

// targetLeaves appends to out the names and places a target assigns:
// itself, or those of the patterns a destructuring one holds (`[hits,
// other] = ...`, `{ a, ...rest } = ...`).
func targetLeaves(t ast.Pattern, out []ast.Pattern) []ast.Pattern {
	rest := func(id *ast.Ident) {
		if id != nil {
			out = append(out, &ast.PBind{Name: id})
		}
	}
	switch t := t.(type) {
	case *ast.PArray:
		for _, e := range t.Elems {
			out = targetLeaves(e, out)
		}
		rest(t.Rest)
	case *ast.PObject:
		for _, f := range t.Fields {
			out = targetLeaves(f.Pattern, out)
		}
		rest(t.Rest)
	case *ast.PVariant:
		for _, a := range t.Args {
			out = targetLeaves(a, out)
		}
	default:
		out = append(out, t)
	}
	return out
}

// rootIdent is the variable a target (x.f[k].g) is rooted at, or nil.
func rootIdent(e ast.Expr) *ast.Ident {
	for {
		switch x := e.(type) {
		case *ast.Ident:
			return x
		case *ast.Member:
			e = x.X
		case *ast.Index:
			e = x.X
		default:
			return nil
		}
	}
}

// outermost is the declaration a captured variable's binding refers to.
func outermost(b *ast.Binding) *ast.Binding {
	for b != nil && b.Outer != nil {
		b = b.Outer
	}
	return b
}

// readsStateOr reports whether e names variable b, or a module slot that
// is not a function (one declared with fn, or bound to a lambda), or a
// function that reads one (`o.hits = cur() + 1`, where cur reads
// stats.hits: the statement reads server state through it).
func (c *compiler) readsStateOr(e ast.Expr, b *ast.Binding) bool {
	c.indexDecls()
	found := false
	// A function held by a local or a parameter (get = fn() stats.hits;
	// o.hits = get() + 1) may read server state: its code is not known here.
	ast.Inspect(e, func(n any) bool {
		if call, ok := n.(*ast.Call); ok && !found {
			if id, ok := call.Fn.(*ast.Ident); ok && id.Binding != nil {
				r := outermost(id.Binding)
				found = r != nil && r.Scope != ast.Global && r.Scope != ast.Builtin
			}
		}
		return !found
	})
	if found {
		return true
	}
	eachIdent(e, func(id *ast.Ident) bool {
		r := outermost(id.Binding)
		if r == nil {
			return true
		}
		if r == b {
			found = true
		} else if r.Scope == ast.Global {
			fn := c.fnDecls[fnAt{c.file, r.Decl}]
			found = fn == nil || c.fnReadsState(fn)
		}
		return !found
	})
	return found
}

// fnReadsState reports whether the function fn (its body, and the
// module functions it names, to any depth) names a module slot that is
// not a function.
func (c *compiler) fnReadsState(fn *ast.Function) bool {
	if c.readsState == nil {
		c.readsState = map[*ast.Function]bool{}
	}
	if v, ok := c.readsState[fn]; ok {
		return v // (false while it is being looked at: a recursion adds nothing)
	}
	c.readsState[fn] = false
	found := false
	eachIdent(fn.Body, func(id *ast.Ident) bool {
		r := outermost(id.Binding)
		if r != nil && r.Scope == ast.Global {
			g := c.fnDecls[fnAt{c.file, r.Decl}]
			found = g == nil || c.fnReadsState(g)
		}
		return !found
	})
	c.readsState[fn] = found
	return found
}

// eachIdent calls visit with each identifier of the syntax tree n (in
// nested functions too), until visit returns false.
func eachIdent(n any, visit func(*ast.Ident) bool) {
	more := true
	ast.Inspect(n, func(x any) bool {
		if id, ok := x.(*ast.Ident); ok && more {
			more = visit(id)
		}
		return more
	})
}

// callWritesShared reports whether e, a statement of a function, is a
// call that may write module state after reading it: a method call on a
// value rooted at a module slot (`todos.push(t)`), a builtin that
// changes its first argument in place called on one (`push(todos,
// make(t))`: make ran after todos was read, and another request's
// `todos = [...todos, t]` meanwhile lost the push), or, in a program
// with servers, an in-place sort with a key function.
func (f *fstate) callWritesShared(e ast.Expr) bool {
	if f.af == nil {
		return false
	}
	if call, ok := e.(*ast.Call); ok && (methodOnShared(call) || f.c.servers && sortsWithCallback(call)) {
		return true
	}
	return f.c.changesShared(e)
}

// changesShared reports whether expression e (outside the functions it
// makes) calls what may change module state in place: a method or
// builtin of inPlace on a value rooted at a module slot (also as a
// pipe's target, `todos |> push(x)`, and as an assignment's value, `r =
// push(todos, x)`), or, in a program with servers, a function of the
// program given such a value (`add(todos, make(t))`, whose parameter
// the helper pushes to).
func (c *compiler) changesShared(e ast.Expr) bool {
	c.indexDecls()
	found := false
	check := func(fn ast.Expr, first ast.Expr, args []*ast.Arg) {
		switch fn := fn.(type) {
		case *ast.Member:
			found = found || inPlace[fn.Name] && sharedRoot(fn.X)
		case *ast.Ident:
			if fn.Binding == nil {
				return
			}
			if fn.Binding.Scope == ast.Builtin {
				found = found || inPlace[fn.Binding.Name] && first != nil && sharedRoot(first)
				return
			}
			if r := outermost(fn.Binding); c.servers && r != nil && r.Scope == ast.Global && c.fnDecls[fnAt{c.file, r.Decl}] != nil {
				shared := first != nil && sharedRoot(first)
				for _, a := range args {
					shared = shared || sharedRoot(a.Value)
				}
				found = found || shared
			}
		}
	}
	ast.Inspect(e, func(n any) bool {
		if found {
			return false
		}
		switch n := n.(type) {
		case *ast.Lambda:
			return false // (its code runs when it is called)
		case *ast.Call:
			var first ast.Expr
			if len(n.Args) > 0 {
				first = n.Args[0].Value
			}
			check(n.Fn, first, n.Args)
		case *ast.Pipe:
			if call, ok := n.Target.(*ast.Call); ok {
				check(call.Fn, n.X, call.Args)
			}
		}
		return true
	})
	return found
}

// inPlace are the builtins (and methods) that change the list or object
// they are given.
var inPlace = map[string]bool{
	"push": true, "append": true, "pop": true, "shift": true, "unshift": true,
	"insert": true, "remove": true, "clear": true, "sort": true, "reverse": true,
}

// sortsWithCallback reports whether a call sorts a list in place with a
// key function (`l.sort(fn(x) ...)`, `sort(l, key)`): the key function
// is Tova code, so the thread may give way in the middle of the sort,
// and a push to the list meanwhile would be lost.
func sortsWithCallback(c *ast.Call) bool {
	switch fn := c.Fn.(type) {
	case *ast.Member:
		return fn.Name == "sort" && len(c.Args) >= 1
	case *ast.Ident:
		return isBuiltin(fn, "sort") && len(c.Args) >= 2
	}
	return false
}

// isBuiltin reports whether id names the builtin name, under its own
// name or another (`import { range as r } from "collections"`).
func isBuiltin(id *ast.Ident, name string) bool {
	return id.Binding != nil && id.Binding.Scope == ast.Builtin && id.Binding.Name == name
}

// methodOnShared reports whether a call is a method call on a value
// rooted at a module slot (`todos.push(x)`).
func methodOnShared(c *ast.Call) bool {
	m, ok := c.Fn.(*ast.Member)
	return ok && sharedRoot(m.X)
}

// sharedRoot reports whether e (x.f[k].g) is rooted at a module slot.
func sharedRoot(e ast.Expr) bool {
	id := rootIdent(e)
	return id != nil && id.Binding != nil && id.Binding.Scope == ast.Global
}

// warnLambdaStmt warns of a function written as a statement whose value
// is dropped: it is never called (`health => fn() "ok"` read as a
// function of a parameter named health; `fn (x) { ... }` meant as a
// declaration).
func (c *compiler) warnLambdaStmt(lam *ast.Lambda) {
	ps := lam.Fn.Params
	if len(ps) == 1 && ps[0].Name != nil {
		switch w := ps[0].Name.Name; w {
		case "health", "middleware", "on_error", "on_start", "on_stop", "static":
			c.warnf(lam.PosV, "this is a function of a parameter named %s, made and dropped, never called: %s is written %s", w, w, serverWordForm[w])
			return
		}
	}
	c.warnf(lam.PosV, "this function is made and dropped, never called: declare it with a name (fn name(...) { ... }), or assign it")
}

// guardExample and blockForm are how rate_limit and timeout are used:
// as a route's guard, and as a server's setting.
var (
	guardExample = map[string]string{"rate_limit": "rate_limit(100, 1.minute)", "timeout": "timeout(5.seconds)"}
	blockForm    = map[string]string{
		"rate_limit": "a server's limit is a block, rate_limit { max: 100, window: 1.minute }",
		"timeout":    "a server's deadline is a block, limits { timeout: 5.seconds }",
	}
)

// serverWordForm is how each server word that takes a value is written.
var serverWordForm = map[string]string{
	"health": "health \"/health\" (or a route of its own)", "middleware": "middleware fn name(req, next) { ... }",
	"on_error": "on_error fn(err, req) { ... }", "on_start": "on_start fn() { ... }", "on_stop": "on_stop fn() { ... }",
	"static": "static \"/prefix\" => \"dir\"",
}

// checkShadowedVar warns of `x = v` in a function declared above the
// module's `var x`: it declares a new x of the function's (a name is
// declared where it is written), which nothing reads, and the module's
// var is not assigned (a counter updated by a helper stayed 0).
func (f *fstate) checkShadowedVar(st *ast.Assign) {
	for _, t := range st.Targets {
		pb, ok := t.(*ast.PBind)
		if !ok || pb.Name.Binding == nil || pb.Name.Binding.Read || !pb.Name.Binding.ShadowsVar.IsValid() {
			continue
		}
		at := pb.Name.Binding.ShadowsVar
		f.c.warnf(pb.Name.PosV, "%s = ... declares a new %s of this function's, which nothing reads: the module's var %s, declared below (%d:%d), is not assigned; declare it above this function to assign it", pb.Name.Name, pb.Name.Name, pb.Name.Name, at.Line, at.Col)
	}
}

func (f *fstate) assign(st *ast.Assign) {
	if st.Op != "=" {
		// Compound assignment: target = target op value.
		op := st.Op[:len(st.Op)-1]
		t := st.Targets[0]
		switch t := t.(type) {
		case *ast.PBind:
			f.assignExprTo(t.Name.Binding, &ast.Binary{PosV: st.PosV, Op: op, X: t.Name, Y: st.Values[0]})
		case *ast.PTarget:
			f.compoundTarget(t.X, op, st.Values[0], st)
		default:
			f.c.errorf(st.PosV, "cannot use %s with a destructuring pattern", st.Op)
		}
		return
	}
	f.assignValues(st.Targets, st.Values, false)
}

func (f *fstate) assignValues(targets []ast.Pattern, values []ast.Expr, isVar bool) {
	if len(values) == 0 {
		// `var x` without a value
		for _, t := range targets {
			if pb, ok := t.(*ast.PBind); ok {
				r := f.alloc(1)
				f.emit(LOADNIL, r, 0, 0)
				f.store(pb.Name.Binding, r)
			}
		}
		return
	}
	if len(targets) == 1 && len(values) == 1 {
		if pb, ok := targets[0].(*ast.PBind); ok {
			if lam, isLambda := values[0].(*ast.Lambda); isLambda {
				// (validate = fn(o) ...: its frames in a stack trace
				// read validate, not <lambda>)
				f.namedLambdaTo(pb.Name.Binding, lam, pb.Name.Name)
				return
			}
			f.assignExprTo(pb.Name.Binding, values[0])
			return
		}
		r := f.operand(values[0])
		f.bindPattern(targets[0], r)
		return
	}
	if len(values) == 1 {
		// a, b = pair: destructure a list
		r := f.operand(values[0])
		names := make([]string, len(targets))
		for i, t := range targets {
			names[i] = patternText(t)
		}
		f.setPos(targets[0].Pos())
		f.emit(UNPACK, r, 0, f.c.kString(strings.Join(names, ", ")))
		tmp := f.alloc(2)
		for i, t := range targets {
			f.emit(LOADINT, tmp, i+SBias, 0)
			f.emit(GETINDEX, tmp+1, r, tmp)
			f.bindPattern(t, tmp+1)
		}
		return
	}
	if len(values) != len(targets) {
		f.c.errorf(targets[0].Pos(), "assignment has %d targets but %d values", len(targets), len(values))
		return
	}
	// a, b = b, a: evaluate every value first.
	base := f.alloc(len(values))
	for i, v := range values {
		f.exprTo(v, base+i)
	}
	for i, t := range targets {
		f.bindPattern(t, base+i)
	}
}

// assignExprTo evaluates e straight into b's register where possible.
func (f *fstate) assignExprTo(b *ast.Binding, e ast.Expr) {
	if b.Scope == ast.Local {
		r, ok := f.regOf[b]
		if !ok {
			f.declare(b)
			r = f.regOf[b]
		}
		f.exprTo(e, r)
		return
	}
	r := f.operand(e)
	f.store(b, r)
}

// namedLambdaTo binds b to the lambda lam, the function taking name.
func (f *fstate) namedLambdaTo(b *ast.Binding, lam *ast.Lambda, name string) {
	if b.Scope == ast.Local {
		r, ok := f.regOf[b]
		if !ok {
			f.declare(b)
			r = f.regOf[b]
		}
		f.closure(lam.Fn, name, lam.PosV, r)
		return
	}
	r := f.alloc(1)
	f.closure(lam.Fn, name, lam.PosV, r)
	f.store(b, r)
}

// store writes register r into binding b.
func (f *fstate) store(b *ast.Binding, r int) {
	switch b.Scope {
	case ast.Local:
		dst, ok := f.regOf[b]
		if !ok {
			f.declare(b)
			dst = f.regOf[b]
		}
		if dst != r {
			f.emit(MOVE, dst, r, 0)
		}
	case ast.Cell:
		dst, ok := f.regOf[b]
		if !ok {
			f.declare(b)
			dst = f.regOf[b]
		}
		f.emit(SETCELL, dst, r, 0)
	case ast.Free:
		f.emit(SETFREE, r, b.Index, 0)
	case ast.Global:
		f.emit(SETG, r, f.c.global(b), 0)
	default:
		f.c.errorf(b.Decl, "cannot assign to %s", b.Name)
	}
}

// compoundTarget compiles obj.f op= v and xs[i] op= v.
func (f *fstate) compoundTarget(target ast.Expr, op string, val ast.Expr, st *ast.Assign) {
	switch t := target.(type) {
	case *ast.Member:
		obj := f.operand(t.X)
		cur := f.alloc(1)
		k := f.c.kString(t.Name)
		f.emit(GETFIELD, cur, obj, k)
		v := f.operand(val)
		f.arith(op, cur, cur, v)
		f.emit(SETFIELD, obj, k, cur)
	case *ast.Index:
		obj := f.operand(t.X)
		idx := f.operand(t.Index)
		cur := f.alloc(1)
		f.emit(GETINDEX, cur, obj, idx)
		v := f.operand(val)
		f.arith(op, cur, cur, v)
		f.emit(SETINDEX, obj, idx, cur)
	default:
		f.c.errorf(st.PosV, "invalid assignment target")
	}
}

// patternText is a destructuring pattern as an error message shows it.
func patternText(p ast.Pattern) string {
	switch p := p.(type) {
	case *ast.PBind:
		return p.Name.Name
	case *ast.PArray:
		parts := make([]string, 0, len(p.Elems)+1)
		for i, e := range p.Elems {
			if i == p.RestIndex {
				parts = append(parts, "..."+restName(p.Rest))
			}
			parts = append(parts, patternText(e))
		}
		if p.RestIndex >= len(p.Elems) {
			parts = append(parts, "..."+restName(p.Rest))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case *ast.PObject:
		parts := make([]string, 0, len(p.Fields)+1)
		for _, fl := range p.Fields {
			if b, ok := fl.Pattern.(*ast.PBind); ok && b.Name.Name == fl.Key {
				parts = append(parts, fl.Key)
			} else {
				parts = append(parts, fl.Key+": "+patternText(fl.Pattern))
			}
		}
		if p.Rest != nil {
			parts = append(parts, "..."+p.Rest.Name)
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	}
	return "_"
}

func restName(id *ast.Ident) string {
	if id == nil {
		return ""
	}
	return id.Name
}

// bindPattern destructures the value in register r into a pattern used
// as an assignment target (irrefutable: missing parts become nil or the
// default).
func (f *fstate) bindPattern(p ast.Pattern, r int) {
	switch p := p.(type) {
	case *ast.PBind:
		f.store(p.Name.Binding, r)
	case *ast.PWild:
	case *ast.PTarget:
		switch t := p.X.(type) {
		case *ast.Member:
			obj := f.operand(t.X)
			f.setPos(t.PosV)
			f.emit(SETFIELD, obj, f.c.kString(t.Name), r)
		case *ast.Index:
			obj := f.operand(t.X)
			idx := f.operand(t.Index)
			f.setPos(t.PosV)
			f.emit(SETINDEX, obj, idx, r)
		default:
			f.c.errorf(p.Pos(), "invalid assignment target")
		}
	case *ast.PArray:
		f.setPos(p.PosV)
		f.emit(UNPACK, r, 0, f.c.kString(patternText(p)))
		saved := f.top
		tmp := f.alloc(2)
		after := len(p.Elems) - max(p.RestIndex, 0)
		if p.RestIndex < 0 {
			after = 0
		}
		for i, e := range p.Elems {
			idx := i
			if p.RestIndex >= 0 && i >= p.RestIndex {
				idx = i - len(p.Elems) // count from the end
			}
			f.emit(LOADINT, tmp, idx+SBias, 0)
			f.emit(GETINDEX, tmp+1, r, tmp)
			f.bindPattern(e, tmp+1)
		}
		if p.RestIndex >= 0 && p.Rest != nil {
			f.sliceRest(r, p.RestIndex, after, p.Rest.Binding)
		}
		f.release(saved)
	case *ast.PObject:
		f.setPos(p.PosV) // (a value with no such field fails here, not at the fn)
		saved := f.top
		tmp := f.alloc(2)
		for _, fl := range p.Fields {
			if fl.Default == nil {
				f.emit(GETFIELD, tmp, r, f.c.kString(fl.Key))
			} else {
				f.emit(LOADK, tmp+1, f.c.kString(fl.Key), 0)
				f.fieldOrDefault(tmp, r, tmp+1, fl.Key, fl.Default)
			}
			f.bindPattern(fl.Pattern, tmp)
		}
		if p.Rest != nil {
			f.objectRest(r, p)
		}
		f.release(saved)
	default:
		f.c.errorf(p.Pos(), "this pattern cannot be used in an assignment")
	}
}

// sliceRest binds rest = value[from : len-after].
func (f *fstate) sliceRest(r, from, after int, b *ast.Binding) {
	f.store(b, f.sliceOf(r, from, after))
}

// sliceOf emits value[from : len-after] (to the end when after is 0)
// and returns the register holding it.
func (f *fstate) sliceOf(r, from, after int) int {
	base := f.alloc(4)
	f.emit(MOVE, base, r, 0)
	f.emit(LOADINT, base+1, from+SBias, 0)
	if after > 0 {
		f.emit(LOADINT, base+2, -after+SBias, 0)
	} else {
		f.emit(LOADNIL, base+2, 0, 0)
	}
	f.emit(LOADNIL, base+3, 0, 0)
	f.emit(SLICE, base, base, 0)
	return base
}

// objectRest binds the ...rest of an object pattern: a copy without the
// named keys.
func (f *fstate) objectRest(r int, p *ast.PObject) {
	base := f.alloc(2 + len(p.Fields))
	f.emit(GETBUILTIN, base, f.c.builtin("__omit"), 0)
	f.emit(MOVE, base+1, r, 0)
	for i, fl := range p.Fields {
		f.emit(LOADK, base+2+i, f.c.kString(fl.Key), 0)
	}
	f.emit(CALL, base, 1+len(p.Fields), 0)
	f.store(p.Rest.Binding, base)
}

// ---------------------------------------------------------------- loops

// atomicBegin opens an ATOMIC bracket, atomicEnd closes it.
func (f *fstate) atomicBegin() {
	f.emit(ATOMIC, 1, 0, 0)
	f.atomics++
}

func (f *fstate) atomicEnd() {
	f.emit(ATOMIC, 0, 0, 0)
	f.atomics--
}

func (f *fstate) pushLoop(label string) *loopCtx {
	l := &loopCtx{label: label, tryDepth: len(f.tries), atomics: f.atomics, contTarget: -1}
	f.loops = append(f.loops, l)
	return l
}

func (f *fstate) popLoop(l *loopCtx, contTarget, exit int) {
	f.loops = f.loops[:len(f.loops)-1]
	f.patchAll(l.continues, contTarget)
	f.patchAll(l.breaks, exit)
}

func (f *fstate) breakContinue(label string, isBreak bool) {
	var l *loopCtx
	for i := len(f.loops) - 1; i >= 0; i-- {
		if label == "" || f.loops[i].label == label {
			l = f.loops[i]
			break
		}
	}
	what := "continue"
	if isBreak {
		what = "break"
	}
	if l == nil {
		if label != "" {
			f.c.errorf(f.pos, "%s to unknown label %s", what, label)
		} else {
			f.c.errorf(f.pos, "%s outside a loop", what)
		}
		return
	}
	if c := f.cancelling; c != nil && slices.Index(f.loops, l) < c.loops {
		// out of a cancellation's cleanup: the cancellation goes on
		f.emit(THROW, c.reg, 0, 0)
		return
	}
	f.unwindTries(l.tryDepth)
	for range f.atomics - l.atomics {
		// out of a statement writing module state begun in the loop
		// (`total = total + (if x > 1 { break } else { x })`): its
		// bracket closes, or the rest of the function would run as one
		// step
		f.emit(ATOMIC, 0, 0, 0)
	}
	j := f.emit(JMP, 0, 0, 0)
	if isBreak {
		l.breaks = append(l.breaks, j)
	} else {
		l.continues = append(l.continues, j)
	}
}

func (f *fstate) whileLoop(st *ast.While) {
	l := f.pushLoop(st.Label)
	start := f.here()
	exit := f.condJump(st.Cond, false)
	f.block(st.Body, -1)
	f.emit(JMP, 0, start, 0)
	end := f.here()
	f.patchAll(exit, end)
	f.popLoop(l, start, end)
}

func (f *fstate) loopStmt(st *ast.Loop) {
	l := f.pushLoop(st.Label)
	start := f.here()
	f.block(st.Body, -1)
	f.emit(JMP, 0, start, 0)
	f.popLoop(l, start, f.here())
}

// forLoop compiles the for forms. `for i in range(...)` and `for i in
// a..b` become a numeric loop; everything else uses an iterator.
func (f *fstate) forLoop(st *ast.For) {
	ran := 0 // times the body ran, for `else`
	if st.Else != nil {
		ran = f.alloc(1)
		f.emit(LOADBOOL, ran, 0, 0)
	}
	if lo, hi, step, ok := f.numericRange(st); ok {
		base := f.alloc(4)
		f.exprTo(lo, base)
		f.exprTo(hi, base+1)
		if step != nil {
			f.exprTo(step, base+2)
		} else {
			f.emit(LOADINT, base+2, 1+SBias, 0)
		}
		closed := 0 // a..=b: b is in the range (and b+1 may be past an Int)
		if r, ok := st.Iter.(*ast.Range); ok && r.Inclusive {
			closed = 1
		}
		mode := closed
		if c, ok := st.Iter.(*ast.Call); ok && len(c.Args) == 2 {
			mode = 2 // range(a, b) counts down when b < a
		}
		prep := f.emit(FORPREP, base, 0, mode)
		bodyStart := f.here()
		l := f.pushLoop(st.Label)
		b := st.Vars[0].(*ast.PBind).Name.Binding
		f.bindLoopVar(b, base+3)
		f.loopBody(st, ran)
		cont := f.here()
		f.emit(FORLOOP, base, bodyStart, closed)
		exit := f.here()
		f.patch(prep, exit)
		f.popLoop(l, cont, exit)
	} else {
		seq := f.operand(st.Iter)
		it := f.alloc(1)
		nv := 1
		if len(st.Vars) == 2 {
			nv = 2
		}
		f.setPos(st.Iter.Pos()) // (what is not iterable: the caret was under the for)
		f.emit(ITERPREP, it, seq, nv)
		vars := f.alloc(nv)
		l := f.pushLoop(st.Label)
		next := f.emit(ITERNEXT, it, vars, 0)
		for i, p := range st.Vars {
			if pb, ok := p.(*ast.PBind); ok {
				f.bindLoopVar(pb.Name.Binding, vars+i)
			} else {
				f.predeclarePattern(p)
				f.bindPattern(p, vars+i)
			}
		}
		f.loopBody(st, ran)
		f.emit(JMP, 0, next, 0)
		exit := f.here()
		f.patch(next, exit)
		f.popLoop(l, next, exit)
	}
	if st.Else != nil {
		skip := f.emit(JMPT, ran, 0, 0)
		f.block(st.Else, -1)
		f.patch(skip, f.here())
	}
}

func (f *fstate) loopBody(st *ast.For, ran int) {
	if st.Else != nil {
		f.emit(LOADBOOL, ran, 1, 0)
	}
	var skip []int
	if st.When != nil {
		skip = f.condJump(st.When, false)
	}
	f.block(st.Body, -1)
	if skip != nil {
		f.patchAll(skip, f.here())
	}
}

// withStmt compiles `with X as name { body }`: name holds X's value
// in body, and st.Close (__dispose(name)) runs however body is left.
// The body's value goes to s: a with block that ends a function is its
// value, as an if or a try is.
func (f *fstate) withStmt(st *ast.With, s sink) {
	saved, mark := f.top, len(f.decls)
	r := f.alloc(1)
	f.exprTo(st.X, r)
	if b := st.Name.Binding; b.Scope == ast.Local || b.Scope == ast.Cell {
		f.declareAt(b, r)
	} else {
		f.store(b, r)
	}
	f.setPos(st.PosV)
	f.tryFinally(func(s sink) { f.blockTo(st.Body, s) }, st.Close, s)
	f.release(saved)
	for _, d := range f.decls[mark:] {
		delete(f.regOf, d)
	}
	f.decls = f.decls[:mark]
}

// bindLoopVar makes register r (written by the loop instruction) the
// loop variable; a captured loop variable gets a fresh cell per pass.
func (f *fstate) bindLoopVar(b *ast.Binding, r int) {
	switch b.Scope {
	case ast.Local:
		f.regOf[b] = r
	case ast.Cell:
		f.regOf[b] = r
		f.emit(MKCELL, r, 0, 0)
	default:
		f.store(b, r)
	}
}

// numericRange recognises `for x in range(a[, b[, step]])` (the builtin)
// and `for x in a..b` with one plain variable.
func (f *fstate) numericRange(st *ast.For) (lo, hi, step ast.Expr, ok bool) {
	if len(st.Vars) != 1 {
		return
	}
	if _, isBind := st.Vars[0].(*ast.PBind); !isBind {
		return
	}
	switch it := st.Iter.(type) {
	case *ast.Range:
		return it.Lo, it.Hi, nil, true
	case *ast.Call:
		id, isId := it.Fn.(*ast.Ident)
		if !isId || !isBuiltin(id, "range") {
			return
		}
		for _, a := range it.Args {
			if a.Name != "" || a.Spread {
				return
			}
		}
		switch len(it.Args) {
		case 1:
			return &ast.IntLit{PosV: it.PosV}, it.Args[0].Value, nil, true
		case 2:
			return it.Args[0].Value, it.Args[1].Value, nil, true
		case 3:
			return it.Args[0].Value, it.Args[1].Value, it.Args[2].Value, true
		}
	}
	return
}

// ---------------------------------------------------------------- try

// tryFinally compiles body with a finally block: fin runs when body
// finishes normally, returns, breaks, or raises (then the error goes on).
func (f *fstate) tryFinally(body func(sink), fin *ast.Block, s sink) {
	f.tryStmt(body, nil, nil, fin, s)
}

// tryStmt compiles try/catch/finally. catchVar may be nil; catch may be
// nil when fin is set.
func (f *fstate) tryStmt(body func(sink), catchVar *ast.Ident, catch *ast.Block, fin *ast.Block, s sink) {
	val := s
	errReg := f.alloc(1)
	ctx := &tryCtx{finally: fin, handler: true}
	begin := f.emit(TRYBEGIN, errReg, 0, 0)
	f.tries = append(f.tries, ctx)
	body(val)
	f.tries = f.tries[:len(f.tries)-1]
	f.emit(TRYEND, 0, 0, 0)
	if fin != nil {
		f.block(fin, -1)
	}
	ends := []int{f.emit(JMP, 0, 0, 0)}
	f.patch(begin, f.here())
	// A cancellation (the request's deadline) is caught by no catch
	// block, but runs the finally block, and the deferred code, which
	// put back what the try changed (a count of requests in flight):
	// the handler's C is where it goes, the finally path.
	if catch != nil {
		if fin != nil {
			// errors inside the catch block must still run finally
			err2 := f.alloc(1)
			ctx2 := &tryCtx{finally: fin, handler: true}
			b2 := f.emit(TRYBEGIN, err2, 0, 0)
			f.tries = append(f.tries, ctx2)
			f.catchBlock(catchVar, catch, errReg, val)
			f.tries = f.tries[:len(f.tries)-1]
			f.emit(TRYEND, 0, 0, 0)
			f.block(fin, -1)
			ends = append(ends, f.emit(JMP, 0, 0, 0))
			f.patch(b2, f.here())
			f.block(fin, -1)
			f.emit(THROW, err2, 0, 0)
			f.cleanupPath(b2, fin, err2)
			// (a cancellation in the try block skips the catch block)
			f.cancelPath(begin, fin, errReg)
		} else {
			f.catchBlock(catchVar, catch, errReg, val)
			ends = append(ends, f.emit(JMP, 0, 0, 0))
		}
	} else {
		f.block(fin, -1)
		f.emit(THROW, errReg, 0, 0)
		f.cleanupPath(begin, fin, errReg)
	}
	f.patchAll(ends, f.here())
}

// cleanupPath gives the TRYBEGIN at begin, whose error path (its B) runs
// fin and raises reg again, its cancellation's path: that same code when
// nothing in fin can end the cancellation (a copy per finally block made
// nested ones grow as 3^depth), else a copy of its own (cancelPath).
func (f *fstate) cleanupPath(begin int, fin *ast.Block, reg int) {
	if leavesBlock(fin) {
		f.cancelPath(begin, fin, reg)
		return
	}
	f.patchCleanup(begin, f.fn.Code[begin].B())
}

// leavesBlock reports whether a finally block has a way out other than
// its end: a return, a break or continue, a `?` (its own functions'
// aside). On a cancellation's path such a block needs its own copy (see
// cancelPath).
func leavesBlock(b *ast.Block) bool {
	found := false
	ast.Inspect(b, func(n any) bool {
		switch n.(type) {
		case *ast.Lambda, *ast.FnDecl:
			return false
		case *ast.Return, *ast.Break, *ast.Continue, *ast.Propagate:
			found = true
		}
		return !found
	})
	return found
}

// cancelCtx is a finally block being compiled for a cancellation's path:
// reg holds the cancellation, loops is how many loops enclose the block.
type cancelCtx struct {
	reg, loops int
}

// cancelPath compiles fin for the cancellation's path of the TRYBEGIN
// at begin (its C, here): the block, then the cancellation raised again.
// A return, a `?`, or a break or continue out of the block, raises it
// too: the block's copy for errors lets them end the error (as a finally
// block may), which let the request's code run on after its deadline.
func (f *fstate) cancelPath(begin int, fin *ast.Block, reg int) {
	f.patchCleanup(begin, f.here())
	saved := f.cancelling
	f.cancelling = &cancelCtx{reg: reg, loops: len(f.loops)}
	f.block(fin, -1)
	f.cancelling = saved
	f.emit(THROW, reg, 0, 0)
}

func (f *fstate) catchBlock(v *ast.Ident, body *ast.Block, errReg int, s sink) {
	saved := f.top
	if v != nil && v.Binding != nil {
		r := f.alloc(1)
		f.emit(MOVE, r, errReg, 0)
		if v.Binding.Scope == ast.Local || v.Binding.Scope == ast.Cell {
			f.declareAt(v.Binding, r)
		} else {
			f.store(v.Binding, r)
		}
	}
	f.blockTo(body, s)
	f.release(saved)
}

// ---------------------------------------------------------------- types

// fieldDefaults gives the defaults of a type's or variant's fields (see
// checkFieldDefault checks a field's literal default against its type
// (Int, Float, String, Bool, Duration or Size): a constructor, a
// handler's record parameter and a model take the default as it is
// written, and the value in an Int field was a String (a client
// sending no age got 400 "u.age must be an integer"). It says whether
// the default is sound.
func (f *fstate) checkFieldDefault(owner string, fl *ast.FieldDecl) bool {
	t := fl.Type
	if t == nil {
		return true
	}
	d := fl.Default
	if u, ok := d.(*ast.Unary); ok && u.Op == "-" {
		d = u.X
	}
	got, want := literalType(d), t.Name
	if got == "" || got == want || !slices.Contains([]string{"Int", "Float", "String", "Bool", "Duration", "Size"}, want) ||
		want == "Float" && got == "Int" || wholeFloat(want, d) {
		return true
	}
	hint := ""
	if want == "Duration" || want == "Size" {
		// (a unit literal, 5.seconds, is no default a type's field
		// takes: numbers, strings and booleans only)
		hint = ": a type's field takes a number, a string or a boolean as its default; leave it out, and pass the " + want + " to the constructor"
	}
	f.c.errorf(fl.Default.Pos(), "the default of %s's field %s: %s is %s, not %s%s", owner, fl.Name, want, articled(got), articled(want), hint)
	return false
}

// TypeDesc.Defaults): a literal's constant. Another default (an
// expression, a list) is warned of and not applied, but for a type a
// model is made of: the model applies it.
func (f *fstate) fieldDefaults(typ, owner string, fields []*ast.FieldDecl) []int {
	var out []int
	for i, fl := range fields {
		if fl.Default == nil {
			continue
		}
		if _, isNil := fl.Default.(*ast.NilLit); isNil {
			continue // (a field left out is nil: the same)
		}
		k := -1
		if v, ok := literal(fl.Default); ok {
			if !f.checkFieldDefault(owner, fl) {
				continue
			}
			switch v := v.(type) {
			case int64:
				if fl.Type != nil && fl.Type.Name == "Float" {
					k = f.c.kFloat(float64(v)) // (ratio: Float = 2 is the Float 2, as from_json gives it)
					break
				}
				k = f.c.kInt(v)
			case float64:
				k = f.c.kFloat(v)
			case string:
				k = f.c.kString(v)
			case bool:
				k = f.c.kBool(v)
			}
		}
		if k < 0 {
			if !f.c.models[typ] {
				f.c.warnf(fl.PosV, "the default of %s's field %s is not applied: a constructor takes literal defaults "+
					"(numbers, strings, booleans); pass the value, or write a function that does", owner, fl.Name)
			}
			continue
		}
		if out == nil {
			out = make([]int, len(fields))
		}
		out[i] = k + 1
	}
	return out
}

// builtinVariantOf names the builtin type of each builtin variant.
var builtinVariantOf = map[string]string{"Ok": "Result", "Err": "Result", "Some": "Option", "None": "Option"}

func (f *fstate) typeDecl(st *ast.TypeDecl) {
	if slices.Contains([]string{"Int", "Float", "String", "Bool", "Number", "Date", "Duration", "Size"}, st.Name.Name) {
		// (type Int { v: Int }: annotations then name it, as the
		// builtin kind, in silence; a variant named None is warned of)
		f.c.warnf(st.Name.PosV, "type %s takes the name of a builtin kind: annotations (x: %s, fn(n: %s)) may mean either, and `is %s` still tests the builtin; name it otherwise", st.Name.Name, st.Name.Name, st.Name.Name, st.Name.Name)
	}
	if st.Alias != nil {
		// type aliases and refinements have no run-time value
		return
	}
	td := &TypeDesc{Name: st.Name.Name, Derive: st.Derive}
	for _, d := range st.Derive {
		if d != "JSON" && d != "Eq" && d != "Show" {
			// derive [JSNO]: it showed only at run time, as "P has no
			// associated function from_json".
			hint := ""
			if strings.EqualFold(d, "json") || strings.EqualFold(d, "jsno") || strings.EqualFold(d, "jons") {
				hint = " (did you mean JSON?)"
			}
			f.c.warnf(st.PosV, "type %s: derive %s is not one this runtime knows: it has no effect (derive takes JSON, Eq and Show)%s", st.Name.Name, d, hint)
		}
	}
	f.c.indexDecls()
	if len(st.Fields) > 0 && len(st.Variants) > 0 {
		// A value of the type is one of its variants, which have only
		// their own fields: the field was dropped without a word, and
		// Dog("rex", "lab") was "Dog takes 1 value".
		fl, v := st.Fields[0], st.Variants[0]
		f.c.errorf(fl.PosV, "type %s: the field %s beside its variants belongs to none of them (a value of %s is one of its variants): write it in each variant that has it, %s(%s: ..., ...)",
			st.Name.Name, fl.Name, st.Name.Name, v.Name, fl.Name)
	}
	for _, fl := range st.Fields {
		td.Fields = append(td.Fields, fl.Name)
		// (aliases followed, as serve converts a request's fields by them)
		td.FieldTypes = append(td.FieldTypes, f.c.handlerType(f.c.declScope[st], fl.Type))
	}
	td.Defaults = f.fieldDefaults(st.Name.Name, st.Name.Name, st.Fields)
	for _, v := range st.Variants {
		if of := builtinVariantOf[v.Name]; of != "" {
			// (the parser dropped a declaration of the builtin's own shape)
			f.c.warnf(v.PosV, "%s here is %s's variant, and hides the builtin %s's %s in this program: ?, unwrap and the other "+
				"methods do not treat it as one; give it another name if the program uses %s", v.Name, st.Name.Name, of, v.Name, of)
		}
		vd := VariantDesc{Name: v.Name, Defaults: f.fieldDefaults(st.Name.Name, v.Name, v.Fields)}
		for _, fl := range v.Fields {
			vd.Fields = append(vd.Fields, fl.Name)
			vd.FieldTypes = append(vd.FieldTypes, f.c.handlerType(f.c.declScope[st], fl.Type))
		}
		td.Variants = append(td.Variants, vd)
	}
	idx := len(f.c.prog.Types)
	f.c.prog.Types = append(f.c.prog.Types, td)
	if f.c.typeIndex == nil {
		f.c.typeIndex = map[*ast.Binding]int{}
	}
	f.c.typeIndex[st.Name.Binding] = idx
	r := f.alloc(1)
	f.emit(DEFTYPE, r, idx, 0)
	f.store(st.Name.Binding, r)
	for j, v := range st.Variants {
		b := f.c.variantBinding(v)
		if b == nil {
			continue
		}
		f.emit(DEFTYPE, r, idx, j+1)
		f.store(b, r)
	}
}

// implDecls gives the types of the statements' impl blocks their
// methods, after the types and the functions they may call are made:
// each method a closure, registered on its type (DEFMETHOD) with the
// trait's defaults the block does not override.
func (f *fstate) implDecls(stmts []ast.Stmt) {
	for _, st := range stmts {
		d, ok := st.(*ast.ImplDecl)
		if !ok {
			continue
		}
		idx, ok := f.c.typeIndex[d.Type.Binding]
		if !ok {
			f.c.errorf(d.Type.PosV, "impl %s: the type is not declared here (declare it beside its impl blocks)", d.Type.Name)
			continue
		}
		for _, m := range append(d.Methods[:len(d.Methods):len(d.Methods)], d.Defaults...) {
			f.setPos(m.PosV)
			tmp := f.alloc(1)
			saved := f.c.selfType
			f.c.selfType = d.Type.Name // (x is Self)
			f.closure(m.Fn, d.Type.Name+"."+m.Name.Name, m.PosV, tmp)
			f.c.selfType = saved
			f.emit(DEFMETHOD, tmp, idx, f.c.kString(m.Name.Name))
			f.release(tmp)
		}
	}
}

// variantBinding finds the module binding of a variant constructor.
func (c *compiler) variantBinding(v *ast.VariantDecl) *ast.Binding {
	if v.Binding != nil && (v.Binding.Scope == ast.Local || v.Binding.Scope == ast.Cell) {
		return v.Binding // (a type declared in a function or a block)
	}
	var byName *ast.Binding
	for _, b := range c.globalsNamed[v.Name] {
		if b.Decl == v.PosV {
			return b
		}
		byName = b
	}
	return byName
}
