package resolve

import (
	"fmt"
	"slices"
	"strings"

	"tova/frontend/ast"
	"tova/frontend/diag"
	"tova/frontend/token"
)

// ---------------------------------------------------------------- hoisting

// predeclareProgram declares, before any code is resolved, the module
// names of all files and the server-level names of every server (servers
// of the same name share one scope), so that code may refer to names
// declared further down.
func (r *resolver) predeclareProgram(files []*ast.File) {
	for _, f := range files {
		r.file, r.fn = f, r.mains[f]
		r.hoist(f.Stmts, r.module)
	}
	for _, f := range files {
		r.file, r.fn = f, r.mains[f]
		r.hoistAssigns(f.Stmts, r.module)
	}

	type body struct {
		file  *ast.File
		stmts []ast.Stmt
	}
	var order []string
	bodies := map[string][]body{}
	for _, f := range files {
		for _, s := range f.Stmts {
			if d, ok := s.(*ast.HookDecl); ok && d.Kind == "background" && d.Name != nil {
				r.background[d.Name.Name] = true // a top-level one: every server's
			}
			// Without a server block, these make the program's one
			// unnamed server.
			r.hasServer = r.hasServer || ast.LoneServerDecl(s) || ast.SharedServerDecl(s)
			if sd, ok := s.(*ast.ServerDecl); ok {
				r.hasServer = true
				if _, seen := bodies[sd.Name]; !seen {
					order = append(order, sd.Name)
				}
				bodies[sd.Name] = append(bodies[sd.Name], body{f, sd.Body})
				r.collectServerFns(sd.Name, sd.Body)
				for _, st := range sd.Body {
					switch d := st.(type) {
					case *ast.DiscoverDecl:
						r.discovered[d.Name] = true
					case *ast.HookDecl:
						if d.Kind == "background" && d.Name != nil {
							r.background[d.Name.Name] = true
						}
					}
				}
			}
		}
	}
	for _, name := range order {
		sc := &scope{parent: r.module, kind: scopeServer, global: true, names: map[string]*ast.Binding{}}
		r.servers[name] = sc
		for _, b := range bodies[name] {
			r.file, r.fn = b.file, nil
			r.hoist(b.stmts, sc)
		}
		for _, b := range bodies[name] {
			r.file, r.fn = b.file, nil
			r.hoistAssigns(b.stmts, sc)
		}
	}
}

func (r *resolver) predeclare(s *scope, id *ast.Ident, kind declKind) *ast.Binding {
	b := r.declare(s, id, kind)
	r.predecl[id] = b
	return b
}

// hoist declares the functions, types, variants, models, envs, named
// hooks, data sources and imports of a statement list (and of its routes
// groups).
func (r *resolver) hoist(list []ast.Stmt, s *scope) {
	for _, st := range list {
		switch st := st.(type) {
		case *ast.FnDecl:
			r.predeclare(s, st.Name, kindFn)
		case *ast.TypeDecl:
			if b := r.predeclare(s, st.Name, kindType); st.Alias != nil {
				r.aliases[b] = true
			}
			if r.typeDecls[s] == nil {
				r.typeDecls[s] = map[string]*ast.TypeDecl{}
			}
			r.typeDecls[s][st.Name.Name] = st
			for _, v := range st.Variants {
				id := &ast.Ident{PosV: v.PosV, Name: v.Name}
				v.Binding = r.predeclare(s, id, kindVariant)
				r.variants[v.Binding] = v
			}
		case *ast.ImplDecl:
			if r.methodsOf[s] == nil {
				r.methodsOf[s] = map[string]map[string]*ast.FnDecl{}
			}
			ms := r.methodsOf[s][st.Type.Name]
			if ms == nil {
				ms = map[string]*ast.FnDecl{}
				r.methodsOf[s][st.Type.Name] = ms
			}
			for _, m := range st.Methods {
				if ms[m.Name.Name] == nil {
					ms[m.Name.Name] = m
				}
			}
		case *ast.ModelDecl:
			r.predeclare(s, st.Name, kindModel)
		case *ast.EnvDecl:
			r.predeclare(s, st.Name, kindEnv)
		case *ast.HookDecl:
			if st.Name != nil {
				r.predeclare(s, st.Name, kindFn)
			}
		case *ast.ScheduleDecl:
			if st.FnName != nil {
				r.predeclare(s, st.FnName, kindFn)
			}
		case *ast.DataBlock:
			for _, it := range st.Items {
				if (it.Kind == "source" || it.Kind == "pipeline") && it.Name != nil {
					r.predeclare(s, it.Name, kindData)
				}
				r.refreshes = r.refreshes || it.Kind == "refresh" && !it.OnDemand
			}
		case *ast.Import:
			r.importDecl(st, s)
		case *ast.RoutesGroup:
			r.hoist(st.Body, s)
		case *ast.TraitDecl:
			if first, ok := r.traits[st.Name.Name]; ok && first != st {
				r.errorf(st.Name.PosV, identEnd(st.Name), "%s %s declared again (first at %d:%d)", traitKind(st), st.Name.Name, first.PosV.Line, first.PosV.Col)
				break
			}
			r.traits[st.Name.Name] = st
		}
	}
}

// hoistAssigns declares, in statement order, the names that `var` and
// declaring assignments introduce at module or server level. A
// server-level `x = v` declares x unless a binding x is visible there:
// one of the server, or one of the module declared above it.
func (r *resolver) hoistAssigns(list []ast.Stmt, s *scope) {
	for _, st := range list {
		switch st := st.(type) {
		case *ast.VarDecl:
			for _, t := range st.Targets {
				patternIdents(t, func(id *ast.Ident) { r.predeclare(s, id, kindVar) })
			}
		case *ast.Assign:
			if st.Op != "=" {
				continue
			}
			for _, t := range st.Targets {
				patternIdents(t, func(id *ast.Ident) {
					if b := lookupFrom(s, id.Name); b == nil || r.declaredAfter(b, id.PosV) {
						r.predeclare(s, id, kindLet)
					}
				})
			}
		case *ast.RoutesGroup:
			r.hoistAssigns(st.Body, s)
		}
	}
}

func lookupFrom(s *scope, name string) *ast.Binding {
	for ; s != nil; s = s.parent {
		if b, ok := s.names[name]; ok {
			return b
		}
	}
	return nil
}

// patternIdents calls f for each name a destructuring pattern binds.
func patternIdents(p ast.Pattern, f func(*ast.Ident)) {
	switch p := p.(type) {
	case *ast.PBind:
		f(p.Name)
	case *ast.PArray:
		for _, e := range p.Elems {
			patternIdents(e, f)
		}
		if p.Rest != nil {
			f(p.Rest)
		}
	case *ast.PObject:
		for _, fl := range p.Fields {
			patternIdents(fl.Pattern, f)
		}
		if p.Rest != nil {
			f(p.Rest)
		}
	case *ast.PVariant:
		for _, a := range p.Args {
			patternIdents(a, f)
		}
	case *ast.PStrPrefix:
		patternIdents(p.Rest, f)
	case *ast.POr:
		for _, a := range p.Alts {
			patternIdents(a, f)
		}
	}
}

// ---------------------------------------------------------------- statements

// resolveStmts resolves a statement list in the current scope; with hoist
// it first declares the list's functions and types (block scopes).
func (r *resolver) resolveStmts(list []ast.Stmt, hoist bool) {
	if hoist {
		r.hoist(list, r.cur)
		r.hoistLambdas(list)
	}
	for _, s := range list {
		r.stmt(s)
	}
}

// hoistLambdas declares, in a function or block scope, the names that
// `name = ...` (where the assignment declares the name) and `var name =
// ...` statements of the list bind to a value with a lambda in it (`fn
// ...`, `memoize(fn ...)`): such a lambda may call itself, and lambdas
// bound in one block may call each other, as functions declared with fn
// may (and as the same lines may at top level). Only the bodies of
// lambdas see the name before its assignment (lookup): the function's
// own code above it sees what it saw before. A builtin's name is not
// hoisted: `round = fn(x) round(x * 100) / 100` calls the builtin.
func (r *resolver) hoistLambdas(list []ast.Stmt) {
	if r.cur.kind == scopeModule || r.cur.kind == scopeServer || r.fn == nil {
		return
	}
	assigned := map[string]bool{}
	for _, st := range list {
		var targets []ast.Pattern
		switch st := st.(type) {
		case *ast.VarDecl:
			targets = st.Targets
			if len(st.Targets) != 1 || len(st.Values) != 1 {
				break
			}
			t, ok := st.Targets[0].(*ast.PBind)
			if !ok || !holdsLambda(st.Values[0]) || assigned[t.Name.Name] || r.isBuiltin(t.Name.Name) {
				break
			}
			b := r.predeclare(r.cur, t.Name, kindVar)
			r.info[b].hoisted = true
		case *ast.Assign:
			targets = st.Targets
			if st.Op != "=" || len(st.Targets) != 1 || len(st.Values) != 1 {
				break
			}
			t, ok := st.Targets[0].(*ast.PBind)
			if !ok || !holdsLambda(st.Values[0]) || assigned[t.Name.Name] || r.isBuiltin(t.Name.Name) {
				break
			}
			if b := r.lookup(t.Name.Name); b != nil && !r.declaredAfter(b, t.Name.PosV) {
				break
			}
			b := r.predeclare(r.cur, t.Name, kindLet)
			r.info[b].hoisted = true
		}
		for _, t := range targets {
			patternIdents(t, func(id *ast.Ident) { assigned[id.Name] = true })
		}
	}
}

// ownValue marks, while the value of a declaration of targets is
// resolved, the module or server bindings it declares that are named as
// builtins and hoisted ahead of it: there the name is the builtin's, as
// a builtin's name is not hoisted (`round = fn(x) round(x * 100) / 100`
// calls the builtin; it called itself until the stack ran out). It
// returns the function that ends that.
func (r *resolver) ownValue(targets []ast.Pattern) func() {
	var own []*ast.Binding
	for _, t := range targets {
		patternIdents(t, func(id *ast.Ident) {
			if b, ok := r.predecl[id]; ok && !r.info[b].declared && r.isBuiltin(id.Name) {
				own = append(own, b)
			}
		})
	}
	if len(own) == 0 {
		return func() {}
	}
	if r.ownBindings == nil {
		r.ownBindings = map[*ast.Binding]bool{}
	}
	for _, b := range own {
		r.ownBindings[b] = true
	}
	return func() {
		for _, b := range own {
			delete(r.ownBindings, b)
		}
	}
}

// holdsLambda reports whether x is a lambda, or a call with one among
// its arguments (memoize(fn ...), a wrapper of a handler).
func holdsLambda(x ast.Expr) bool {
	switch x := x.(type) {
	case *ast.Lambda:
		return true
	case *ast.Call:
		for _, a := range x.Args {
			if holdsLambda(a.Value) {
				return true
			}
		}
	}
	return false
}

// block resolves b in a new nested scope.
func (r *resolver) block(b *ast.Block) {
	if b == nil {
		return
	}
	r.push(scopeBlock)
	r.resolveStmts(b.Stmts, true)
	r.pop()
}

func (r *resolver) stmt(s ast.Stmt) {
	switch s := s.(type) {
	case *ast.ExprStmt:
		r.expr(s.X)
	case *ast.Assign:
		r.assign(s)
	case *ast.VarDecl:
		defer r.ownValue(s.Targets)()
		for _, v := range s.Values {
			r.expr(v)
		}
		for _, t := range s.Targets {
			r.declarePattern(t, kindVar, false)
		}
	case *ast.FnDecl:
		if s.Name.Binding == nil {
			r.declare(r.cur, s.Name, kindFn)
		}
		r.function(s.Fn)
	case *ast.Return:
		if r.fn == nil || r.fn.file != nil {
			// Top-level code and a server block's own statements are in no
			// function: the reference, an ES module, refuses it too.
			r.errorf(s.PosV, token.Pos{Line: s.PosV.Line, Col: s.PosV.Col + int32(len("return"))},
				"return outside a function")
		}
		r.expr(s.X)
	case *ast.Break:
		r.jump("break", s.Label, s.PosV)
	case *ast.Continue:
		r.jump("continue", s.Label, s.PosV)
	case *ast.While:
		r.expr(s.Cond)
		r.loopBody(s.Label, s.Body, nil)
	case *ast.Loop:
		r.loopBody(s.Label, s.Body, nil)
	case *ast.For:
		r.expr(s.Iter)
		r.loopBody(s.Label, s.Body, func() {
			for _, v := range s.Vars {
				r.declarePattern(v, kindLoop, false)
			}
			r.expr(s.When)
		})
		r.block(s.Else)
	case *ast.Guard:
		r.expr(s.Cond)
		r.block(s.Else)
		r.guardElse(s)
	case *ast.Defer:
		r.block(s.Body)
	case *ast.With:
		r.expr(s.X)
		r.push(scopeBlock)
		r.declarePattern(&ast.PBind{Name: s.Name}, kindLet, false)
		r.resolveStmts(s.Close.Stmts, true)
		r.block(s.Body)
		r.pop()
	case *ast.Throw:
		r.expr(s.X)
	case *ast.TraitDecl:
		r.traitDecl(s)
	case *ast.ImplDecl:
		r.implDecl(s)
	case *ast.TypeDecl:
		if s.Name.Binding == nil {
			if b := r.declare(r.cur, s.Name, kindType); s.Alias != nil {
				r.aliases[b] = true
			}
		}
		r.checkFieldNames(s.Name.Name, s.Fields)
		for _, f := range s.Fields {
			r.expr(f.Default)
		}
		for _, v := range s.Variants {
			r.checkFieldNames(v.Name, v.Fields)
			for _, f := range v.Fields {
				r.expr(f.Default)
			}
		}
		if s.Alias != nil {
			r.expr(s.Alias.Check)
		}
	case *ast.Import:
		// declared when its statement list was hoisted
	case *ast.ServerDecl:
		r.server(s)
	case *ast.RoutesGroup:
		defer r.computedElsewhere()()
		for _, m := range s.Meta {
			r.expr(m)
		}
		r.resolveStmts(s.Body, false)
	case *ast.PortStmt:
		if s.Implicit {
			// (the program's one server's, computed in its own code)
			defer r.computedElsewhere()()
		}
		r.expr(s.X)
	case *ast.MaxBodyStmt:
		defer r.computedElsewhere()()
		r.expr(s.X)
	case *ast.RouteDecl:
		defer r.computedElsewhere()()
		r.expr(s.Handler)
		for _, g := range s.Guards {
			r.expr(g)
		}
	case *ast.HookDecl:
		if s.Name != nil && s.Name.Binding == nil {
			r.declare(r.cur, s.Name, kindFn)
		}
		r.function(s.Fn)
	case *ast.HealthDecl:
	case *ast.ConfigBlock:
		r.entries(s.Entries)
	case *ast.StaticDecl:
		defer r.computedElsewhere()()
		r.expr(s.Dir)
	case *ast.WebSocketDecl:
		for _, name := range s.Order {
			r.function(s.Handlers[name])
		}
		r.entries(s.Config)
	case *ast.SSEDecl:
		r.function(s.Fn)
	case *ast.ScheduleDecl:
		if s.FnName != nil && s.FnName.Binding == nil {
			r.declare(r.cur, s.FnName, kindFn)
		}
		r.function(s.Fn)
	case *ast.SubscribeDecl:
		r.function(s.Fn)
	case *ast.DiscoverDecl:
		r.expr(s.URL)
		r.entries(s.Config)
	case *ast.ModelDecl:
		if s.Name.Binding == nil {
			r.declare(r.cur, s.Name, kindModel)
		}
		r.checkFieldNames("model "+s.Name.Name, s.Fields)
		for _, f := range s.Fields {
			r.expr(f.Default)
		}
		r.entries(s.Options)
	case *ast.EnvDecl:
		// The default is computed where the declaration runs: it sees
		// what the code above binds, and the name is read after it.
		r.expr(s.Default)
		if s.Name.Binding == nil {
			r.declare(r.cur, s.Name, kindEnv)
		} else if inf := r.info[s.Name.Binding]; inf != nil {
			inf.declared = true
		}
	case *ast.DataBlock:
		for _, it := range s.Items {
			switch it.Kind {
			case "source", "pipeline":
				r.inData, r.dataValue = r.refreshes, true
				r.expr(it.Value)
				r.inData, r.dataValue = false, false
				if it.Name != nil && it.Name.Binding == nil {
					r.declare(r.cur, it.Name, kindData)
				}
				if it.Name != nil {
					if r.dataReady == nil {
						r.dataReady = map[*ast.Binding]bool{}
					}
					r.dataReady[it.Name.Binding] = true
				}
			case "refresh", "validate":
				if it.Name != nil {
					r.ident(it.Name)
				}
				r.expr(it.Every)
				for _, rule := range it.Rules {
					r.expr(rule)
				}
			}
		}
	}
}

func (r *resolver) entries(list []*ast.ObjEntry) {
	for _, e := range list {
		r.expr(e.KeyExpr)
		r.expr(e.Value)
		r.expr(e.Spread)
	}
}

// loopBody resolves a loop body in a new scope; vars declares the loop
// variables there first.
func (r *resolver) loopBody(label string, body *ast.Block, vars func()) {
	r.push(scopeBlock)
	if vars != nil {
		vars()
	}
	r.loops = append(r.loops, label)
	r.resolveStmts(body.Stmts, true)
	r.loops = r.loops[:len(r.loops)-1]
	r.pop()
}

// jump checks a break or continue: it must be inside a loop of the same
// function, and a label must name one of the enclosing loops.
func (r *resolver) jump(what, label string, pos token.Pos) {
	if len(r.loops) == 0 {
		r.errorf(pos, token.Pos{Line: pos.Line, Col: pos.Col + int32(len(what))}, "%s outside a loop", what)
		return
	}
	if label == "" {
		return
	}
	for _, l := range r.loops {
		if l == label {
			return
		}
	}
	r.errorf(pos, pos, "undefined label %s", label)
}

// computedElsewhere marks what is resolved until the function it returns
// is called as r.elsewhere when the statement is a top-level one (an HTTP
// declaration every server computes in its set-up, not the top-level
// code).
func (r *resolver) computedElsewhere() func() {
	outer := r.elsewhere
	if r.cur.kind == scopeModule {
		r.elsewhere = true
	}
	return func() { r.elsewhere = outer }
}

// server resolves a server body in its (shared) server scope. Server-level
// code belongs to no function: its bindings are module slots.
func (r *resolver) server(sd *ast.ServerDecl) {
	sc := r.servers[sd.Name]
	if sc == nil { // not at file level: give it a scope of its own
		sc = &scope{parent: r.module, kind: scopeServer, global: true, names: map[string]*ast.Binding{}}
		r.servers[sd.Name] = sc
	}
	cur, fn, loops := r.cur, r.fn, r.loops
	r.cur, r.fn, r.loops = sc, nil, nil
	r.resolveStmts(sd.Body, false)
	r.cur, r.fn, r.loops = cur, fn, loops
}

// ---------------------------------------------------------------- assignment

// declaredAfter reports whether b is a module binding of an assignment
// or `var` declared further down the program than pos in the current
// file, and so not yet visible to an assignment at pos. Decision 3 says
// `x = v` declares x unless a binding x is "already visible", in source
// order: code above such a binding may read it (a function declared
// above runs later, when it holds its value), but `x = v` there declares
// a new x. Functions, types and the other hoisted declarations are
// visible everywhere, and so are server-level bindings in their server.
func (r *resolver) declaredAfter(b *ast.Binding, pos token.Pos) bool {
	inf := r.info[b]
	if inf == nil || !inf.module {
		return false
	}
	bf, cf := r.order[inf.file], r.order[r.file]
	return bf > cf || bf == cf && pos.Before(b.Decl)
}

// valueReads records the module bindings that the values of one
// assignment read from the function the assignment is in.
type valueReads struct {
	fn   *funcInfo
	read map[*ast.Binding]bool
}

// add records a read of the module binding b in function fn.
func (v *valueReads) add(fn *funcInfo, b *ast.Binding) {
	if v == nil || v.fn != fn {
		return
	}
	if v.read == nil {
		v.read = make(map[*ast.Binding]bool)
	}
	v.read[b] = true
}

// assign applies Decision 3 to each name target of `=`; compound
// assignment needs a visible mutable binding (any module `var`, wherever
// it is declared: it cannot mean a new binding).
func (r *resolver) assign(a *ast.Assign) {
	outer := r.reads
	reads := &valueReads{fn: r.fn}
	r.reads = reads
	done := func() {}
	if a.Op == "=" {
		done = r.ownValue(a.Targets)
	}
	for _, v := range a.Values {
		r.expr(v)
	}
	done()
	r.reads = outer
	a.Declares = make([]bool, len(a.Targets))
	if a.Op != "=" {
		switch t := a.Targets[0].(type) {
		case *ast.PBind:
			r.assignExisting(t.Name)
		case *ast.PTarget:
			r.expr(t.X)
		}
		return
	}
	for i, t := range a.Targets {
		switch t := t.(type) {
		case *ast.PBind:
			a.Declares[i] = r.assignName(t.Name, reads)
		case *ast.PTarget:
			r.expr(t.X)
		default:
			r.assignPattern(t, reads)
		}
	}
}

// assignPattern applies Decision 3 to each name of a destructuring target.
func (r *resolver) assignPattern(p ast.Pattern, reads *valueReads) {
	switch p := p.(type) {
	case *ast.PBind:
		r.assignName(p.Name, reads)
	case *ast.PTarget:
		r.expr(p.X)
	case *ast.PArray:
		for _, e := range p.Elems {
			r.assignPattern(e, reads)
		}
		if p.Rest != nil {
			r.assignName(p.Rest, reads)
		}
	case *ast.PObject:
		for _, f := range p.Fields {
			r.expr(f.Default)
			r.assignPattern(f.Pattern, reads)
		}
		if p.Rest != nil {
			r.assignName(p.Rest, reads)
		}
	}
}

// assignName resolves the target of `name = value` and reports whether it
// declares a new binding. reads holds what the value read.
func (r *resolver) assignName(id *ast.Ident, reads *valueReads) bool {
	if b, ok := r.predecl[id]; ok {
		id.Binding = b
		r.info[b].declared = true
		return true
	}
	b := r.lookup(id.Name)
	var shadowed token.Pos
	if b != nil && r.declaredAfter(b, id.PosV) {
		// A new binding that shadows the module's b, declared below. If
		// the value reads b, `n = n + 1` surely meant to update it.
		if reads.read[b] {
			r.errs.Add(r.file.Name, id.PosV, identEnd(id),
				fmt.Sprintf("%s = ... declares a new %s here, as the module's %s is declared below, yet the value reads the module's %s: "+
					"declare %s above this line to update it, or give the new binding another name",
					id.Name, id.Name, id.Name, id.Name, id.Name),
				diagNote(b.Decl, id.Name))
		}
		if b.Mutable {
			shadowed = b.Decl
		}
		b = nil
	}
	if b == nil {
		r.declare(r.cur, id, kindLet)
		if id.Binding != nil && r.cur != r.module {
			id.Binding.ShadowsVar = shadowed
		}
		return true
	}
	if !b.Mutable {
		r.immutable(id, b)
	}
	id.Binding = r.use(b, id)
	return false
}

// assignExisting resolves the name target of a compound assignment.
func (r *resolver) assignExisting(id *ast.Ident) {
	b := r.lookup(id.Name)
	if b == nil {
		r.ident(id) // undefined (or a builtin): report it
		if id.Binding.Scope == ast.Builtin {
			r.errorf(id.PosV, identEnd(id), "cannot assign to builtin %s", id.Name)
		}
		return
	}
	if !b.Mutable {
		r.immutable(id, b)
	}
	id.Binding = r.use(b, id)
}

func (r *resolver) immutable(id *ast.Ident, b *ast.Binding) {
	var notes []diag.Note
	if b.Decl.IsValid() {
		notes = append(notes, diag.Note{Pos: b.Decl, Msg: fmt.Sprintf("%s declared here", id.Name)})
	}
	msg := "cannot assign to immutable binding " + id.Name
	if inf := r.info[b]; inf != nil && inf.kind == kindLet {
		// (x = [x] said only that it cannot)
		msg += ": declare it with var (var " + id.Name + " = ...) to assign it again"
	}
	r.errs.Add(r.file.Name, id.PosV, identEnd(id), msg, notes...)
}

// declarePattern declares the names of a destructuring or match pattern
// in the current scope (or binds a hoisted declaration). In a match
// pattern (match) variant names are checked; alternatives of `p | q`
// share their names.
func (r *resolver) declarePattern(p ast.Pattern, kind declKind, match bool) {
	r.declarePat(p, kind, match, false)
}

func (r *resolver) declarePat(p ast.Pattern, kind declKind, match, alt bool) {
	bind := func(id *ast.Ident) {
		if b, ok := r.predecl[id]; ok {
			id.Binding = b
			r.info[b].declared = true
			return
		}
		if alt {
			if b, ok := r.cur.names[id.Name]; ok {
				id.Binding = b
				return
			}
		}
		r.declare(r.cur, id, kind)
	}
	switch p := p.(type) {
	case *ast.PBind:
		bind(p.Name)
	case *ast.PLit:
		r.expr(p.Value)
	case *ast.PRange:
		r.expr(p.Lo)
		r.expr(p.Hi)
	case *ast.PArray:
		for _, e := range p.Elems {
			r.declarePat(e, kind, match, alt)
		}
		if p.Rest != nil {
			bind(p.Rest)
		}
	case *ast.PObject:
		for _, f := range p.Fields {
			r.expr(f.Default)
			r.declarePat(f.Pattern, kind, match, alt)
		}
		if p.Rest != nil {
			bind(p.Rest)
		}
	case *ast.PVariant:
		if match {
			r.checkVariant(p)
		}
		for _, a := range p.Args {
			r.declarePat(a, kind, match, alt)
		}
	case *ast.PStrPrefix:
		r.declarePat(p.Rest, kind, match, alt)
	case *ast.POr:
		r.checkOrBindings(p)
		for i, a := range p.Alts {
			r.declarePat(a, kind, match, alt || i > 0)
		}
	case *ast.PTarget:
		r.expr(p.X)
	}
}

// checkFieldNames reports a field declared twice in one type or variant
// (its second value was dropped, and a pattern by position bound nil).
func (r *resolver) checkFieldNames(owner string, fields []*ast.FieldDecl) {
	first := map[string]*ast.FieldDecl{}
	for _, f := range fields {
		if g := first[f.Name]; g != nil {
			r.errorf(f.PosV, token.Pos{Line: f.PosV.Line, Col: f.PosV.Col + int32(len(f.Name))}, "%s: field %s declared twice (first at %d:%d)", owner, f.Name, g.PosV.Line, g.PosV.Col)
			continue
		}
		first[f.Name] = f
	}
}

// checkOrBindings reports a name that one alternative of an or-pattern
// binds and another does not: where the other matched, it would have no
// value (its slot held what an earlier call left there).
func (r *resolver) checkOrBindings(p *ast.POr) {
	bound := make([]map[string]bool, len(p.Alts))
	all := map[string]bool{} // what any alternative binds
	for i, a := range p.Alts {
		bound[i] = map[string]bool{}
		patternIdents(a, func(id *ast.Ident) {
			if id.Name != "_" {
				bound[i][id.Name], all[id.Name] = true, true
			}
		})
	}
	for i, a := range p.Alts {
		var missing []string
		for name := range all {
			if !bound[i][name] {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			slices.Sort(missing)
			pos := a.Pos()
			r.errorf(pos, token.Pos{Line: pos.Line, Col: pos.Col + 1}, "%s is bound by another alternative of this | pattern but not by this one: every alternative must bind the same names", strings.Join(missing, ", "))
			return
		}
	}
}

// checkVariant reports a variant pattern whose name is neither a declared
// variant nor Ok/Err/Some/None.
func (r *resolver) checkVariant(v *ast.PVariant) {
	if b := r.lookup(v.Name); b == nil || r.variants[b] == nil { // (a program's own Ok is its own)
		switch v.Name {
		case "Ok", "Err", "Some":
			r.checkVariantArity(v, []string{map[string]string{"Ok": "value", "Err": "error", "Some": "value"}[v.Name]})
			return
		case "None":
			r.checkVariantArity(v, nil)
			return
		}
	}
	if b := r.lookup(v.Name); b != nil {
		if inf := r.info[b]; inf != nil && inf.kind == kindVariant {
			if d := r.variants[b]; d != nil {
				names := make([]string, len(d.Fields))
				for i, f := range d.Fields {
					names[i] = f.Name
				}
				r.checkVariantArity(v, names)
			}
			return
		}
	}
	if b := r.lookup(v.Name); b != nil {
		if inf := r.info[b]; inf != nil && inf.kind == kindType {
			td := r.typeDeclOf(v.Name)
			if td != nil && len(td.Variants) > 0 {
				names := make([]string, len(td.Variants))
				for i, vd := range td.Variants {
					names[i] = vd.Name
				}
				r.errorf(v.PosV, v.PosV, "%s is a type, not a variant: match its variants (%s)", v.Name, strings.Join(names, ", "))
				return
			}
			fields := "{ field, ... }"
			if td != nil && len(td.Fields) > 0 {
				names := make([]string, len(td.Fields))
				for i, f := range td.Fields {
					names[i] = f.Name
				}
				fields = "{ " + strings.Join(names, ", ") + " }"
			}
			r.errorf(v.PosV, v.PosV, "%s is a type, not a variant: match a record's fields with an object pattern (%s), or its type with a guard (x if x is %s)",
				v.Name, fields, v.Name)
			return
		}
	}
	msg := "undefined variant " + v.Name
	if s := r.suggestVariant(v.Name); s != "" {
		msg += " (did you mean " + s + "?)"
	}
	r.errorf(v.PosV, v.PosV, "%s", msg)
}

// typeDeclOf is the declaration of the type name in scope, or nil.
func (r *resolver) typeDeclOf(name string) *ast.TypeDecl {
	for s := r.cur; s != nil; s = s.parent {
		if td := r.typeDecls[s][name]; td != nil {
			return td
		}
	}
	return nil
}

// checkVariantArity reports a variant pattern that names more or fewer
// fields than the variant has: it would bind the first ones, or nil for
// the extra, where the arm was most likely written for another shape. A
// bare name (`Rect =>`) matches the variant whatever its fields.
func (r *resolver) checkVariantArity(v *ast.PVariant, fields []string) {
	if len(v.Fields) > 0 {
		// By name: a pattern for each named field, in the variant's
		// order, _ for the others.
		args := make([]ast.Pattern, len(fields))
		ok := true
		for i, id := range v.Fields {
			j := slices.Index(fields, id.Name)
			switch {
			case j < 0:
				msg := fmt.Sprintf("%s has no field %s", v.Name, id.Name)
				if c := diag.Closest(id.Name, fields); c != "" {
					msg += " (did you mean " + c + "?)"
				}
				r.errorf(id.PosV, identEnd(id), "%s: its fields are %s", msg, strings.Join(fields, ", "))
				ok = false
			case args[j] != nil:
				r.errorf(id.PosV, identEnd(id), "field %s named twice in this pattern", id.Name)
				ok = false
			default:
				args[j] = v.Args[i]
			}
		}
		v.Fields = nil
		if !ok {
			return // (the patterns stay, to declare their names)
		}
		for j := range args {
			if args[j] == nil {
				args[j] = &ast.PWild{PosV: v.PosV}
			}
		}
		v.Args = args
		return
	}
	if len(v.Args) == 0 || len(v.Args) == len(fields) {
		return
	}
	has := "no fields"
	switch len(fields) {
	case 0:
	case 1:
		has = "1 field (" + fields[0] + ")"
	default:
		has = fmt.Sprintf("%d fields (%s)", len(fields), strings.Join(fields, ", "))
	}
	write := "_ for a field to leave out"
	if len(fields) == 0 {
		write = v.Name + " alone"
	}
	r.errorf(v.PosV, token.Pos{Line: v.PosV.Line, Col: v.PosV.Col + int32(len(v.Name))},
		"%s has %s, and this pattern names %d: write one pattern per field (%s)", v.Name, has, len(v.Args), write)
}

// suggestVariant returns a visible variant name close to name.
func (r *resolver) suggestVariant(name string) string {
	best, bestD := "", 3
	try := func(c string) {
		if d := diag.Distance(name, c, bestD+1); d < bestD || d == bestD && c < best {
			best, bestD = c, d
		}
	}
	for _, c := range []string{"Ok", "Err", "Some", "None"} {
		try(c)
	}
	for s := r.cur; s != nil; s = s.parent {
		for c, b := range s.names {
			if inf := r.info[b]; inf != nil && inf.kind == kindVariant {
				try(c)
			}
		}
	}
	if bestD > 2 {
		return ""
	}
	return best
}

func traitKind(d *ast.TraitDecl) string {
	if d.Interface {
		return "interface"
	}
	return "trait"
}

// traitDecl resolves a trait's default methods (an interface has none).
func (r *resolver) traitDecl(d *ast.TraitDecl) {
	if r.cur.kind != scopeModule {
		r.errorf(d.PosV, identEnd(d.Name), "%s %s: traits and interfaces are declared at the top level", traitKind(d), d.Name.Name)
	}
	seen := map[string]bool{}
	for _, m := range d.Methods {
		if seen[m.Name.Name] {
			r.errorf(m.Name.PosV, identEnd(m.Name), "%s %s: method %s declared twice", traitKind(d), d.Name.Name, m.Name.Name)
		}
		seen[m.Name.Name] = true
		if m.Fn.Body == nil {
			continue
		}
		if d.Interface {
			r.errorf(m.Name.PosV, identEnd(m.Name), "interface %s: method %s has a body; an interface only names methods (a trait may give a default)", d.Name.Name, m.Name.Name)
			continue
		}
		r.function(m.Fn)
	}
}

// builtinKinds are the names of the builtin kinds of values, which impl
// blocks cannot give methods.
var builtinKinds = []string{"String", "Int", "Float", "Bool", "List", "Object", "Map", "Option", "Result", "Date", "Duration", "Size", "Function", "Nil", "Number", "Any", "Range"}

// implDecl resolves an impl block: its type, its trait (whose methods
// without a default it must give, and whose defaults it takes
// otherwise), and its methods, as functions of the scope it is in.
func (r *resolver) implDecl(d *ast.ImplDecl) {
	if r.cur.kind != scopeModule && r.cur.kind != scopeServer {
		r.errorf(d.PosV, identEnd(d.Type), "impl %s: impl blocks are declared at the top level (or in a server block), beside their type", d.Type.Name)
		return
	}
	if slices.Contains(builtinKinds, d.Type.Name) && r.lookup(d.Type.Name) == nil {
		// (it said "undefined: String (did you mean toString?)")
		fname, arg := "f", strings.ToLower(d.Type.Name[:1])
		if len(d.Methods) > 0 {
			fname = d.Methods[0].Name.Name
		}
		r.errorf(d.Type.PosV, identEnd(d.Type), "impl %s: %s is a builtin kind, which takes no methods of a program's: write a function taking one (fn %s(%s: %s) { ... }), or a type of your own that holds it", d.Type.Name, d.Type.Name, fname, arg, d.Type.Name)
		return
	}
	r.ident(d.Type)
	if b := d.Type.Binding; b != nil && b.Scope != ast.Undefined {
		if inf := r.info[b]; inf == nil || inf.kind != kindType {
			r.errorf(d.Type.PosV, identEnd(d.Type), "impl %s: %s is not a type declared with `type`", d.Type.Name, d.Type.Name)
		} else if r.cur.names[d.Type.Name] == nil {
			// One type, one set of methods: an impl in a server block
			// for a top-level type would give it methods in that
			// server alone.
			r.errorf(d.Type.PosV, identEnd(d.Type), "impl %s: %s is declared in another scope; write its impl blocks beside it", d.Type.Name, d.Type.Name)
		}
	}
	td := r.typeDecls[r.cur][d.Type.Name]
	all := r.methodsOf[r.cur][d.Type.Name] // every impl block's, for this type
	own := map[string]*ast.FnDecl{}
	for _, m := range d.Methods {
		name := m.Name.Name
		first := own[name]
		if first == nil && all[name] != m {
			first = all[name] // in another impl block
		}
		if first != nil {
			r.errorf(m.Name.PosV, identEnd(m.Name), "impl %s: method %s declared twice (first at %d:%d)", d.Type.Name, name, first.PosV.Line, first.PosV.Col)
		}
		own[name] = m
		r.clashes(d, td, m)
		r.function(m.Fn)
	}
	if d.Trait == nil {
		return
	}
	t, ok := r.traits[d.Trait.Name]
	if !ok {
		r.errorf(d.Trait.PosV, identEnd(d.Trait), "impl %s for %s: no trait or interface %s is declared", d.Trait.Name, d.Type.Name, d.Trait.Name)
		return
	}
	var missing []string
	for _, m := range t.Methods {
		if own[m.Name.Name] != nil {
			continue
		}
		if m.Fn.Body == nil {
			missing = append(missing, m.Name.Name)
			continue
		}
		if all[m.Name.Name] != nil {
			continue // the type's own method, from another impl block, wins
		}
		r.clashes(d, td, m)
		r.takeDefault(d, t, m)
		d.Defaults = append(d.Defaults, m)
	}
	if len(missing) > 0 {
		r.errorf(d.PosV, identEnd(d.Type), "impl %s for %s: missing %s, which %s %s declares (at %d:%d)", d.Trait.Name, d.Type.Name,
			strings.Join(missing, ", "), traitKind(t), t.Name.Name, t.PosV.Line, t.PosV.Col)
	}
}

// traitDefault is a trait's default method a type takes.
type traitDefault struct {
	trait *ast.TraitDecl
	fn    *ast.FnDecl
}

// takeDefault notes that impl block d gives its type the default m of
// trait t, and reports another trait's default of that name the type
// takes too: which one self.name calls, in either trait's methods, would
// hang on the order of the impl blocks. The type's own method settles it.
func (r *resolver) takeDefault(d *ast.ImplDecl, t *ast.TraitDecl, m *ast.FnDecl) {
	byType := r.defaultsOf[r.cur]
	if byType == nil {
		byType = map[string]map[string]traitDefault{}
		r.defaultsOf[r.cur] = byType
	}
	taken := byType[d.Type.Name]
	if taken == nil {
		taken = map[string]traitDefault{}
		byType[d.Type.Name] = taken
	}
	name := m.Name.Name
	if other, ok := taken[name]; ok && other.trait != t {
		r.errorf(d.Trait.PosV, identEnd(d.Trait), "impl %s for %s: %s and %s both give %s a default method %s (at %d:%d and %d:%d); declare %s in an impl of %s to choose",
			t.Name.Name, d.Type.Name, other.trait.Name.Name, t.Name.Name, d.Type.Name, name,
			other.fn.PosV.Line, other.fn.PosV.Col, m.PosV.Line, m.PosV.Col, name, d.Type.Name)
		return
	}
	taken[name] = traitDefault{t, m}
}

// clashes reports a method m that td's fields or variants would hide: a
// method named as a field (the field's value is what x.name gives), or
// an associated function named as a variant (T.Name is the variant).
func (r *resolver) clashes(d *ast.ImplDecl, td *ast.TypeDecl, m *ast.FnDecl) {
	if td == nil {
		return
	}
	name := m.Name.Name
	self := len(m.Fn.Params) > 0 && m.Fn.Params[0].Name != nil && m.Fn.Params[0].Name.Name == "self"
	for _, f := range td.Fields {
		if self && f.Name == name {
			r.errorf(m.Name.PosV, identEnd(m.Name), "impl %s: method %s has the name of a field of %s, whose value x.%s gives", d.Type.Name, name, d.Type.Name, name)
			return
		}
	}
	for _, v := range td.Variants {
		if v.Name == name {
			r.errorf(m.Name.PosV, identEnd(m.Name), "impl %s: %s is the name of a variant of %s", d.Type.Name, name, d.Type.Name)
			return
		}
		for _, f := range v.Fields {
			if self && f.Name == name {
				r.errorf(m.Name.PosV, identEnd(m.Name), "impl %s: method %s has the name of a field of the variant %s", d.Type.Name, name, v.Name)
				return
			}
		}
	}
}
