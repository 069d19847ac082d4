package bytecode

import (
	"math"

	"tova/frontend/ast"
	"tova/frontend/token"
)

// dataBlock evaluates sources and pipelines in order. A `refresh NAME
// every D` line is recorded as a config of kind "data refresh", named
// after the source, whose slot holds { every, load, apply } (see
// dataRefresh): serve runs it on each server's instance every D
// (Decision 19). `refresh NAME on_demand` and validate rules are not
// applied yet: each is recorded as a config of kind "data refresh
// on_demand" or "data validate" (with an empty slot), so that serve
// warns of it at its position.
func (f *fstate) dataBlock(st *ast.DataBlock) {
	for _, it := range st.Items {
		f.setPos(it.PosV)
		switch {
		case it.Kind == "source" || it.Kind == "pipeline":
			if it.Name != nil && it.Value != nil {
				if it.Kind == "pipeline" {
					f.pipelineReadsVar(it)
				}
				f.assignExprTo(it.Name.Binding, it.Value)
			}
		case it.Kind == "refresh" && !it.OnDemand:
			f.dataRefresh(st, it)
		case it.Kind == "refresh" || it.Kind == "validate":
			if it.Kind == "refresh" {
				f.dataRefresh(st, it) // (its checks: a source, refreshed once)
			}
			kind := "data " + it.Kind
			if it.OnDemand {
				kind += " on_demand"
			}
			f.c.prog.Configs = append(f.c.prog.Configs, Config{Kind: kind, Slot: f.c.hiddenSlot("config " + kind), Pos: posOf(it.PosV)})
		}
	}
}

// pipelineReadsVar warns of a pipeline that reads a module var (the
// guide's "dynamic parameters"): it is computed when the block runs and
// when a source it reads refreshes (Decision 19), never when the var
// changes, so that its value goes stale without a word.
func (f *fstate) pipelineReadsVar(it *ast.DataItem) {
	warned := map[*ast.Binding]bool{}
	// before: declared before the pipeline (a var of the program's,
	// not one a lambda of the pipeline declares)
	before := func(b *ast.Binding) bool {
		return b.Decl.Line < it.PosV.Line || b.Decl.Line == it.PosV.Line && b.Decl.Col < it.PosV.Col
	}
	check := func(n any, inLambda bool) {
		id, ok := n.(*ast.Ident)
		if !ok || id.Binding == nil {
			return
		}
		b := id.Binding
		root := b
		for root.Scope == ast.Free && root.Outer != nil {
			root = root.Outer
		}
		// A var of the program read by a lambda of the pipeline is a
		// module slot (or captured); read by the pipeline itself,
		// limit(lim), a local of the top-level code: it went unsaid.
		if !root.Mutable || root.Scope != ast.Global && !(root.Scope == ast.Local && (!inLambda || b.Scope == ast.Free) && before(root)) || warned[root] {
			return
		}
		warned[root] = true
		f.c.warnf(id.PosV, "pipeline %s reads %s, a var: it is computed when its sources load or refresh, not when %s changes; filter by it in the function that reads %s instead", it.Name.Name, id.Name, id.Name, it.Name.Name)
	}
	ast.Inspect(it.Value, func(n any) bool {
		if lam, ok := n.(*ast.Lambda); ok {
			ast.Inspect(lam, func(m any) bool {
				check(m, true)
				return true
			})
			return false
		}
		check(n, false)
		return true
	})
}

// dataRefresh compiles `refresh NAME every D` into two hidden functions
// and a hidden slot holding { every: D, load, apply }: load evaluates
// the source's expression again and returns its value; apply(value)
// assigns it to the source, then recomputes, in declaration order, the
// pipelines that read the source (directly, through a pipeline that
// does, or through a function they call), and assigns them. Serve calls
// load, then apply as one step (vm.Thread.CallAtomic), so that no
// request sees the source refreshed and its pipelines not.
func (f *fstate) dataRefresh(st *ast.DataBlock, it *ast.DataItem) {
	if it.Name == nil || it.Name.Binding == nil {
		return // reported by the resolver
	}
	name := it.Name.Name
	var src *ast.DataItem
	for _, s := range st.Items {
		if (s.Kind == "source" || s.Kind == "pipeline") && s.Name != nil && s.Name.Binding == it.Name.Binding {
			src = s
		}
	}
	switch {
	case src == nil:
		f.c.errorf(it.Name.PosV, "refresh %s: %s is not a source of this data block (refresh names a `source` the block declares)", name, name)
		return
	case src.Kind == "pipeline":
		f.c.errorf(it.Name.PosV, "refresh %s: %s is a pipeline, which is recomputed when a source it reads refreshes: refresh that source", name, name)
		return
	case src.Value == nil:
		return
	}
	if it.Every != nil && !f.checkRefreshEvery(name, it.Every) {
		return
	}
	if first, dup := f.c.refreshed[src.Name.Binding]; dup {
		// Two timers would reload it, both at once at times (and an
		// on_demand line beside an every line is one of two ways).
		f.c.errorf(it.PosV, "refresh %s: %s is refreshed already (at %d:%d): give a source one refresh line", name, name, first.Line, first.Col)
		return
	}
	if f.c.refreshed == nil {
		f.c.refreshed = map[*ast.Binding]token.Pos{}
	}
	f.c.refreshed[src.Name.Binding] = it.PosV
	if it.Every == nil {
		return // on_demand
	}

	load := f.c.newFunc(f, "refresh "+name, it.PosV, nil)
	loadIdx := len(f.c.prog.Funcs) - 1
	load.setPos(src.PosV)
	r := load.alloc(1)
	load.exprTo(src.Value, r)
	load.emit(RET, r, 0, 0)
	load.finish()

	apply := f.c.newFunc(f, "refresh "+name, it.PosV, nil)
	applyIdx := len(f.c.prog.Funcs) - 1
	apply.fn.NumParams, apply.fn.ParamNames, apply.fn.ParamTypes = 1, []string{"value"}, []string{""}
	apply.setPos(src.PosV)
	apply.store(src.Name.Binding, apply.alloc(1))
	for _, p := range f.c.dependents(src.Name.Binding) {
		apply.setPos(p.PosV)
		saved := apply.top
		apply.assignExprTo(p.Name.Binding, p.Value)
		apply.release(saved)
	}
	apply.emit(RETNIL, 0, 0, 0)
	apply.finish()

	f.setPos(it.PosV)
	saved := f.top
	obj := f.alloc(4)
	base := obj + 1
	f.exprTo(it.Every, base)
	f.setPos(it.PosV)
	f.emit(CLOSURE, base+1, loadIdx, 0)
	f.emit(CLOSURE, base+2, applyIdx, 0)
	slot := f.c.hiddenSlot("config data refresh " + name)
	f.emit(NEWOBJ, obj, f.c.kNames([]string{"every", "load", "apply"}), base)
	f.emit(SETG, obj, slot, 0)
	f.release(saved)
	f.c.prog.Configs = append(f.c.prog.Configs, Config{Kind: "data refresh", Name: name, Slot: slot, Pos: posOf(it.PosV)})
}

// dependents are the pipelines of the program's data blocks that read
// the source src, in declaration order: those naming it, or a pipeline
// found before, or a function of the program that does (a `fn`, or a
// lambda a name holds; in its body, or in one it names in turn).
func (c *compiler) dependents(src *ast.Binding) []*ast.DataItem {
	c.indexDecls()
	changed := map[*ast.Binding]bool{src: true}
	seen := map[*ast.Function]bool{}
	var reads func(n any) bool
	follow := func(fn *ast.Function) bool {
		if fn == nil || seen[fn] {
			return false
		}
		seen[fn] = true
		return reads(fn.Body)
	}
	reads = func(n any) bool {
		found := false
		ast.Inspect(n, func(x any) bool {
			switch x := x.(type) {
			case *ast.Ident:
				b := outermost(x.Binding)
				switch {
				case b == nil:
				case changed[b]:
					found = true
				case b.Scope == ast.Global:
					found = follow(c.fnDecls[fnAt{c.file, b.Decl}])
				}
			case *ast.Member:
				// Stats.count(), stats.total(): a function of an impl
				// block of that name, whichever type's it is (the
				// value's type is not known here)
				for _, fn := range c.implFns[x.Name] {
					if found = follow(fn); found {
						break
					}
				}
			}
			return !found
		})
		return found
	}
	var out []*ast.DataItem
	for _, st := range c.dataBlocks {
		for _, p := range st.Items {
			if p.Kind != "pipeline" || p.Name == nil || p.Name.Binding == nil || p.Value == nil {
				continue
			}
			clear(seen) // a function read earlier may read a pipeline since changed
			if reads(p.Value) {
				changed[p.Name.Binding] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// RefreshRule is the rule of a refresh interval, in the words of its
// error: the compiler applies it to literals, serve to computed values.
const RefreshRule = "a refresh interval is at least 1 second, got %s"

// durationUnits are the milliseconds of each duration unit (a UnitLit's
// unit, singular).
var durationUnits = map[string]float64{
	"millisecond": 1, "second": 1e3, "minute": 60e3, "hour": 3600e3, "day": 86400e3, "week": 7 * 86400e3,
}

// checkRefreshEvery refuses a literal refresh interval serve would
// refuse: a size, a text, or under a second (a plain number counts
// milliseconds). It reports whether the interval may do.
func (f *fstate) checkRefreshEvery(name string, e ast.Expr) bool {
	var ms float64
	var shown string
	if u, ok := e.(*ast.Unary); ok && u.Op == "-" {
		if x, ok := u.X.(*ast.UnitLit); ok && durationUnits[x.Unit] > 0 {
			if n, ok := literal(x.Number); ok && asFloat(n) > 0 {
				// -5.seconds: a negative duration
				f.c.errorf(e.Pos(), "refresh %s: "+RefreshRule, name, "-"+literalRepr(n)+"."+x.Unit+"s")
				return false
			}
		}
	}
	switch x := e.(type) {
	case *ast.UnitLit:
		unit, ok := durationUnits[x.Unit]
		if !ok {
			f.c.errorf(e.Pos(), "refresh %s: expected a duration such as 10.minutes, got a size (%ss)", name, x.Unit)
			return false
		}
		n, ok := literal(x.Number)
		if !ok {
			return true
		}
		ms, shown = asFloat(n)*unit, literalRepr(n)+"."+x.Unit+"s"
	case *ast.Member:
		if _, isNum := literal(x.X); isNum {
			f.c.errorf(x.X.Pos(), "refresh %s: %s is no duration unit: write seconds, minutes, hours or days (10.minutes)", name, x.Name)
			return false
		}
		return true
	default:
		v, ok := literal(e)
		if !ok {
			return true // computed: serve checks it
		}
		switch v.(type) {
		case int64, float64:
			ms, shown = asFloat(v), literalRepr(v)+" (milliseconds)"
		default:
			f.c.errorf(e.Pos(), "refresh %s: expected a duration such as 10.minutes, or milliseconds, got %s", name, literalRepr(v))
			return false
		}
	}
	if ms < 1000 {
		f.c.errorf(e.Pos(), "refresh %s: "+RefreshRule, name, shown)
		return false
	}
	if ms >= math.MaxInt64/1e6 {
		// No duration holds it: computing it would overflow at start-up.
		f.c.errorf(e.Pos(), "refresh %s: %s is too long an interval", name, shown)
		return false
	}
	return true
}
