package bytecode

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"tova/frontend/ast"
	"tova/frontend/token"
)

// matchExpr compiles match: arms are tried in order; the first whose
// pattern matches and whose guard holds gives the value. No match is a
// runtime error naming the value.
func (f *fstate) matchExpr(e *ast.Match, s sink) {
	saved := f.top
	subj := f.alloc(1)
	f.exprTo(e.Subject, subj)
	var ends []int
	for _, arm := range e.Arms {
		armSaved := f.top
		f.setPos(arm.PosV)
		var fail []int
		walkBinds(arm.Pattern, func(id *ast.Ident) { f.declare(id.Binding) })
		f.matchPattern(arm.Pattern, subj, &fail)
		if arm.Guard != nil {
			fail = append(fail, f.condJump(arm.Guard, false)...)
		}
		if blk, ok := arm.Body.(*ast.Block); ok {
			f.blockTo(blk, s)
		} else {
			f.exprSink(arm.Body, s)
		}
		if !s.ret {
			ends = append(ends, f.emit(JMP, 0, 0, 0))
		}
		f.patchAll(fail, f.here())
		f.release(armSaved)
		// bindings of this arm are gone
		walkBinds(arm.Pattern, func(id *ast.Ident) { delete(f.regOf, id.Binding) })
	}
	f.setPos(e.PosV)
	f.checkExhaustive(e)
	f.emit(MATCHFAIL, subj, 0, 0)
	f.patchAll(ends, f.here())
	f.release(saved)
}

// matchPattern tests the value in register v against p, binding names
// on success and appending to fail the jumps taken on mismatch.
func (f *fstate) matchPattern(p ast.Pattern, v int, fail *[]int) {
	f.setPos(p.Pos())
	switch p := p.(type) {
	case *ast.PWild:
	case *ast.PBind:
		f.bindMatched(p.Name.Binding, v)
	case *ast.PLit:
		if _, ok := p.Value.(*ast.NilLit); ok {
			*fail = append(*fail, f.emit(JNNIL, v, 0, 0))
			return
		}
		if b, ok := p.Value.(*ast.BoolLit); ok {
			k := f.c.kBool(b.Value)
			*fail = append(*fail, f.emit(JNEQK, v, k, 0))
			return
		}
		k, ok := f.numConst(p.Value)
		if !ok {
			f.c.errorf(p.Pos(), "unsupported literal pattern")
			return
		}
		*fail = append(*fail, f.emit(JNEQK, v, k, 0))
	case *ast.PRange:
		lo, ok1 := f.numConst(p.Lo)
		hi, ok2 := f.numConst(p.Hi)
		if !ok1 || !ok2 {
			f.c.errorf(p.Pos(), "range patterns need literal bounds")
			return
		}
		t := f.alloc(1)
		kind := "Number"
		if _, isStr := p.Lo.(*ast.StringLit); isStr {
			kind = "String"
		}
		f.emit(ISTYPE, t, v, f.c.kString(kind))
		*fail = append(*fail, f.emit(JMPF, t, 0, 0))
		*fail = append(*fail, f.emit(JNGEK, v, lo, 0))
		if p.Inclusive {
			*fail = append(*fail, f.emit(JNLEK, v, hi, 0))
		} else {
			*fail = append(*fail, f.emit(JNLTK, v, hi, 0))
		}
	case *ast.PArray:
		t := f.alloc(2)
		f.emit(ISTYPE, t, v, f.c.kString("__list"))
		*fail = append(*fail, f.emit(JMPF, t, 0, 0))
		f.emit(LEN, t, v, 0)
		fixed := len(p.Elems)
		if p.RestIndex < 0 {
			*fail = append(*fail, f.emit(JNEQK, t, f.c.kInt(int64(fixed)), 0))
		} else {
			*fail = append(*fail, f.emit(JNGEK, t, f.c.kInt(int64(fixed)), 0))
		}
		for i, e := range p.Elems {
			if _, ok := e.(*ast.PWild); ok {
				continue
			}
			idx := i
			if p.RestIndex >= 0 && i >= p.RestIndex {
				idx = i - fixed
			}
			el := f.alloc(1)
			f.emit(LOADINT, t+1, idx+SBias, 0)
			f.emit(GETINDEX, el, v, t+1)
			f.matchPattern(e, el, fail)
		}
		if p.RestIndex >= 0 && p.Rest != nil {
			f.bindMatched(p.Rest.Binding, f.sliceOf(v, p.RestIndex, fixed-p.RestIndex))
		}
	case *ast.PObject:
		t := f.alloc(1)
		f.emit(ISTYPE, t, v, f.c.kString("__fields"))
		*fail = append(*fail, f.emit(JMPF, t, 0, 0))
		for _, fl := range p.Fields {
			k := f.alloc(1)
			f.emit(LOADK, k, f.c.kString(fl.Key), 0)
			el := f.alloc(1)
			if fl.Default == nil {
				f.emit(IN, el, k, v)
				*fail = append(*fail, f.emit(JMPF, el, 0, 0))
				f.emit(GETFIELD, el, v, f.c.kString(fl.Key))
			} else {
				f.fieldOrDefault(el, v, k, fl.Key, fl.Default)
			}
			f.matchPattern(fl.Pattern, el, fail)
		}
		if p.Rest != nil {
			f.objectRest(v, p)
		}
	case *ast.PVariant:
		t := f.alloc(1)
		f.emit(MATCHTAG, t, v, f.c.kString(p.Name))
		*fail = append(*fail, f.emit(JMPF, t, 0, 0))
		for i, a := range p.Args {
			if _, ok := a.(*ast.PWild); ok {
				continue
			}
			el := f.alloc(1)
			f.emit(GETSLOT, el, v, i)
			f.matchPattern(a, el, fail)
		}
	case *ast.PStrPrefix:
		t := f.alloc(1)
		f.emit(STRPREFIX, t, v, f.c.kString(p.Prefix))
		*fail = append(*fail, f.emit(JMPF, t, 0, 0))
		if _, ok := p.Rest.(*ast.PWild); ok || p.Rest == nil {
			return
		}
		f.matchPattern(p.Rest, f.sliceOf(v, utf8.RuneCountInString(p.Prefix), 0), fail)
	case *ast.POr:
		var ok []int
		for i, alt := range p.Alts {
			var altFail []int
			f.matchPattern(alt, v, &altFail)
			if i == len(p.Alts)-1 {
				*fail = append(*fail, altFail...)
			} else {
				ok = append(ok, f.emit(JMP, 0, 0, 0))
				f.patchAll(altFail, f.here())
			}
		}
		f.patchAll(ok, f.here())
	default:
		f.c.errorf(p.Pos(), "unsupported pattern")
	}
}

// bindMatched binds a pattern variable to the value in register v.
func (f *fstate) bindMatched(b *ast.Binding, v int) {
	if b == nil {
		return
	}
	switch b.Scope {
	case ast.Local, ast.Cell:
		r, ok := f.regOf[b]
		if !ok {
			f.declare(b)
			r = f.regOf[b]
		}
		if b.Scope == ast.Cell {
			f.emit(SETCELL, r, v, 0)
		} else if r != v {
			f.emit(MOVE, r, v, 0)
		}
	default:
		f.store(b, v)
	}
}

// serverStmt compiles the server-side declarations allowed in top-level
// code. Server blocks themselves are compiled by compileServers.
func (f *fstate) serverStmt(st ast.Stmt) {
	switch st := st.(type) {
	case *ast.ServerDecl:
		// compiled separately
	case *ast.EnvDecl:
		f.envDecl(st)
	case *ast.ConfigBlock:
		if first, again := f.c.topConfigs[st.Kind]; again && st.Kind != "static" { // (several serve: see serverBody)
			f.c.errorf(st.PosV, "%s declared again outside any server block (only the last would count: write one block) (first at %d:%d)", st.Kind, first.Line, first.Col)
		} else {
			if f.c.topConfigs == nil {
				f.c.topConfigs = map[string]token.Pos{}
			}
			f.c.topConfigs[st.Kind] = st.PosV
		}
		f.checkConfigKeys(st)
		slot := f.c.hiddenSlot("config " + st.Kind)
		saved := f.top
		r := f.alloc(1)
		f.exprTo(&ast.ObjectLit{PosV: st.PosV, Entries: st.Entries}, r)
		f.emit(SETG, r, slot, 0)
		f.release(saved)
		f.c.prog.Configs = append(f.c.prog.Configs, Config{Kind: st.Kind, Slot: slot, Pos: posOf(st.PosV), Keys: configKeys(st.Entries)})
	case *ast.ModelDecl:
		f.modelDecl(st)
	case *ast.DataBlock:
		f.dataBlock(st)
	case *ast.PortStmt:
		if st.Implicit && f.c.implicitServer && f.af == nil && f.srv == nil {
			return // compiled into the program's one server by compileServers
		}
		f.c.errorf(st.Pos(), "port belongs inside a server block: each server listens on its own")
	default:
		if ast.SharedServerDecl(st) && f.af == nil && f.srv == nil {
			return // compiled into every server by compileServers
		}
		if f.c.implicitServer && ast.LoneServerDecl(st) && f.af == nil && f.srv == nil {
			return // compiled into the program's one server by compileServers
		}
		what := "this declaration"
		switch st := st.(type) {
		case *ast.ScheduleDecl:
			what = "a schedule"
		case *ast.SubscribeDecl:
			what = fmt.Sprintf("subscribe %q", st.Topic)
		case *ast.DiscoverDecl:
			what = fmt.Sprintf("discover %q", st.Name)
		case *ast.HookDecl:
			what = st.Kind
			if st.Kind == "background" {
				what = "a background fn"
			}
		}
		f.c.errorf(st.Pos(), "%s runs once per server: beside server blocks, write it inside the one that runs it", what)
	}
}

// collectVariants records the variants of every ADT declared at the top
// level, in a server or in a routes group, and the builtin Result and
// Option, for checkExhaustive.
func (c *compiler) collectVariants(srcs []Source) {
	c.variantTypes, c.typeVariants = map[string][]string{}, map[string][]string{}
	add := func(typ string, variants ...string) {
		if _, seen := c.typeVariants[typ]; seen {
			return
		}
		c.typeVariants[typ] = variants
		for _, v := range variants {
			c.variantTypes[v] = append(c.variantTypes[v], typ)
		}
	}
	add("Result", "Ok", "Err")
	add("Option", "Some", "None")
	var walk func(stmts []ast.Stmt)
	walk = func(stmts []ast.Stmt) {
		for _, st := range stmts {
			switch st := st.(type) {
			case *ast.TypeDecl:
				if len(st.Variants) > 0 {
					var names []string
					for _, v := range st.Variants {
						names = append(names, v.Name)
					}
					add(st.Name.Name, names...)
				}
			case *ast.ServerDecl:
				walk(st.Body)
			case *ast.RoutesGroup:
				walk(st.Body)
			}
		}
	}
	for _, s := range srcs {
		walk(s.File.Stmts)
	}
}

// checkExhaustive warns of a match whose arms are variant patterns of
// one type, with no catch-all arm, that names not every variant: a value
// of one it leaves out fails with a MatchError at run time. A variant an
// arm names counts as covered even behind a guard or a payload pattern
// (arms may cover it together: Ok(Some(v)), Ok(None)), and so does one
// the guard of a binding's arm names (r if r is Rect), so that the
// warning is never wrong.
func (f *fstate) checkExhaustive(e *ast.Match) {
	typ := ""
	seen := map[string]bool{}
	for _, arm := range e.Arms {
		switch arm.Pattern.(type) {
		case *ast.PWild, *ast.PBind:
			if arm.Guard == nil {
				return // a catch-all
			}
			// r if r is Rect, c if c == Red: a variant its guard names
			// may be covered there, which is not told apart.
			ast.Inspect(arm.Guard, func(n any) bool {
				switch n := n.(type) {
				case *ast.Is:
					if !n.Not {
						seen[n.TypeName] = true
					}
				case *ast.Ident:
					seen[n.Name] = true
				}
				return true
			})
			continue
		}
		vs, ok := variantPatterns(arm.Pattern)
		if !ok {
			return // literals, lists...: not a match on variants
		}
		for _, v := range vs {
			types := f.c.variantTypes[v.Name]
			if len(types) != 1 || typ != "" && types[0] != typ {
				return // unknown or ambiguous: no warning
			}
			typ = types[0]
			seen[v.Name] = true
		}
	}
	if seen[typ] {
		return // a guard names the type itself (x if x is Shape): every variant
	}
	var missing []string
	for _, v := range f.c.typeVariants[typ] {
		if !seen[v] {
			missing = append(missing, v)
		}
	}
	if typ != "" && len(missing) > 0 {
		f.c.warnf(e.PosV, "this match on %s does not cover %s: such a value fails with a MatchError (add an arm, or `_ => ...`)", typ, strings.Join(missing, ", "))
	}
}

// variantPatterns returns the variant patterns p is made of (one, or
// the alternatives of an or-pattern).
func variantPatterns(p ast.Pattern) ([]*ast.PVariant, bool) {
	switch p := p.(type) {
	case *ast.PVariant:
		return []*ast.PVariant{p}, true
	case *ast.POr:
		var out []*ast.PVariant
		for _, alt := range p.Alts {
			vs, ok := variantPatterns(alt)
			if !ok {
				return nil, false
			}
			out = append(out, vs...)
		}
		return out, true
	}
	return nil, false
}

// fieldOrDefault sets dst to the field key of the value in obj, or to
// def when it is nil or, in a record or variant, absent: reading a field
// their type does not declare is a TypeError, which a pattern's default
// ({ name, extra = 0 }) is there to spare. kreg holds key.
func (f *fstate) fieldOrDefault(dst, obj, kreg int, key string, def ast.Expr) {
	f.emit(ISTYPE, dst, obj, f.c.kString("__typed"))
	other := f.emit(JMPF, dst, 0, 0)
	f.emit(IN, dst, kreg, obj)
	missing := f.emit(JMPF, dst, 0, 0)
	f.patch(other, f.here())
	f.emit(GETFIELD, dst, obj, f.c.kString(key))
	have := f.emit(JNNIL, dst, 0, 0)
	f.patch(missing, f.here())
	f.exprTo(def, dst)
	f.patch(have, f.here())
}
