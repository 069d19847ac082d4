package bytecode

import (
	"slices"
	"strings"

	"tova/frontend/ast"
	"tova/frontend/diag"
	"tova/frontend/token"
)

// operand returns a register holding e's value: a local variable's own
// register when e names one, else a fresh temporary.
func (f *fstate) operand(e ast.Expr) int {
	if id, ok := e.(*ast.Ident); ok && id.Binding != nil && id.Binding.Scope == ast.Local {
		if r, ok := f.regOf[id.Binding]; ok {
			return r
		}
	}
	r := f.alloc(1)
	f.exprTo(e, r)
	return r
}

// directSafe reports whether compiling e into a register writes that
// register only after every operand has been read, so e may target a
// variable's own register even when e reads that variable.
func directSafe(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Binary:
		return e.Op != "and" && e.Op != "or" && e.Op != "??"
	case *ast.ArrayLit:
		for _, x := range e.Elems {
			if _, ok := x.(*ast.Spread); ok {
				return false
			}
		}
		return true
	case *ast.ObjectLit:
		for _, en := range e.Entries {
			if en.Spread != nil || en.KeyExpr != nil {
				return false
			}
		}
		return true
	case *ast.If, *ast.Match, *ast.Try, *ast.Block, *ast.Chain, *ast.ListComp, *ast.DictComp, *ast.Propagate:
		return false
	case *ast.Await:
		return directSafe(e.X)
	}
	return true
}

// exprSink compiles e with its value going to s; if/match/try/blocks
// pass the sink into their branches so that returns happen in place.
func (f *fstate) exprSink(e ast.Expr, s sink) {
	switch e := e.(type) {
	case *ast.If:
		f.ifExpr(e, s)
		return
	case *ast.Match:
		f.matchExpr(e, s)
		return
	case *ast.Try:
		f.tryExpr(e, s)
		return
	case *ast.Block:
		f.blockTo(e, s)
		return
	}
	switch {
	case s.ret:
		saved := f.top
		r := f.operand(e)
		f.emitReturn(r)
		f.release(saved)
	case s.reg >= 0:
		f.exprTo(e, s.reg)
	default:
		saved := f.top
		f.operand(e)
		f.release(saved)
	}
}

// exprTo compiles e into register dst.
func (f *fstate) exprTo(e ast.Expr, dst int) {
	if !directSafe(e) {
		saved := f.top
		tmp := f.alloc(1)
		f.exprInto(e, tmp)
		f.emit(MOVE, dst, tmp, 0)
		f.release(saved)
		return
	}
	f.exprInto(e, dst)
}

func (f *fstate) exprInto(e ast.Expr, dst int) {
	f.setPos(e.Pos())
	saved := f.top
	defer f.release(saved)
	if f.optJumps == nil && isLink(e) && hasOptional(e) {
		f.optionalChain(e, dst)
		return
	}
	switch e := e.(type) {
	case *ast.Ident:
		f.load(e, dst)
	case *ast.IntLit:
		f.loadInt(e.Value, dst)
	case *ast.FloatLit:
		f.emit(LOADK, dst, f.c.kFloat(e.Value), 0)
	case *ast.StringLit:
		f.emit(LOADK, dst, f.c.kString(e.Value), 0)
	case *ast.BoolLit:
		b := 0
		if e.Value {
			b = 1
		}
		f.emit(LOADBOOL, dst, b, 0)
	case *ast.NilLit:
		f.emit(LOADNIL, dst, 0, 0)
	case *ast.UnitLit:
		n := f.operand(e.Number)
		f.setPos(e.PosV)
		f.emit(UNIT, dst, n, f.c.kString(e.Unit))
	case *ast.InterpString:
		for i, p := range e.Parts {
			if o, ok := p.(*ast.ObjectLit); ok && shorthandOnly(o) {
				// "hello {{name}}" (Jinja's, Handlebars'): the object
				// { name: "x" } as text
				f.c.warnf(o.PosV, "{{%s}} in a string interpolates an object, %s: a value is interpolated with single braces, {%s} (a literal brace is written \\{)", o.Entries[0].Key, "{ "+o.Entries[0].Key+": ... }", o.Entries[0].Key)
			}
			if n, ok := p.(*ast.IntLit); ok {
				if i > 0 && regexBefore(e.Parts[i-1]) {
					// "\\d{4}": a regex's count, interpolated as the text 4
					// (the pattern \d4)
					f.c.warnf(n.PosV, "{%d} in a string interpolates the number %d as text (a regex's \\\\d{%d} is then \\d%d): write \\{%d} for the braces, or use r\"...\", which has no interpolation", n.Value, n.Value, n.Value, n.Value, n.Value)
				} else {
					// ("total {3} items", fmt("{0} and {1}", a, b))
					f.c.warnf(n.PosV, "{%d} in a string interpolates the number %d, which is then text without its braces: write \\{%d} for the braces, or use '...', which has no interpolation", n.Value, n.Value, n.Value)
				}
			}
		}
		base := f.alloc(len(e.Parts))
		for i, p := range e.Parts {
			f.exprTo(p, base+i)
		}
		f.setPos(e.PosV)
		f.emit(CONCAT, dst, base, len(e.Parts))
	case *ast.ArrayLit:
		f.arrayLit(e, dst)
	case *ast.ObjectLit:
		f.objectLit(e, dst)
	case *ast.Unary:
		f.unary(e, dst)
	case *ast.Binary:
		f.binary(e, dst)
	case *ast.Chain:
		f.chain(e, dst)
	case *ast.Range:
		lo := f.operand(e.Lo)
		hi := f.operand(e.Hi)
		f.setPos(e.PosV)
		if e.Inclusive {
			f.emit(RANGEI, dst, lo, hi)
		} else {
			f.emit(RANGE, dst, lo, hi)
		}
	case *ast.Is:
		x := f.operand(e.X)
		names := f.isNames(e)
		saved := f.top
		if len(names) > 1 && x == dst {
			// (the first test's result would replace the value the
			// others test: v = v is Num)
			t := f.alloc(1)
			f.emit(MOVE, t, x, 0)
			x = t
		}
		var ends []int
		for i, name := range names {
			f.emit(ISTYPE, dst, x, f.c.kString(name))
			if i < len(names)-1 {
				ends = append(ends, f.emit(JMPT, dst, 0, 0))
			}
		}
		for _, pc := range ends {
			f.patch(pc, f.here())
		}
		f.release(saved)
		if e.Not {
			f.emit(NOT, dst, dst, 0)
		}
	case *ast.Call:
		f.call(e, dst, -1)
	case *ast.Member:
		var x int
		f.part(e.X, true, func() { x = f.operand(e.X) })
		f.setPos(e.PosV)
		op := GETFIELD
		if e.Optional {
			op = GETFIELDOPT
			f.optExit(x)
		}
		f.emit(op, dst, x, f.c.kString(e.Name))
	case *ast.Index:
		var x, k int
		f.part(e.X, true, func() { x = f.operand(e.X) })
		if e.Optional {
			f.optExit(x) // (the index is not evaluated then, as in JavaScript)
		}
		f.part(e.Index, false, func() { k = f.operand(e.Index) })
		f.setPos(e.PosV)
		op := GETINDEX
		if e.Optional {
			op = GETINDEXOPT
		}
		f.emit(op, dst, x, k)
	case *ast.Slice:
		base := f.alloc(4)
		f.exprTo(e.X, base)
		for i, b := range []ast.Expr{e.Lo, e.Hi, e.Step} {
			if b == nil {
				f.emit(LOADNIL, base+1+i, 0, 0)
			} else {
				f.exprTo(b, base+1+i)
			}
		}
		f.setPos(e.PosV)
		f.emit(SLICE, dst, base, 0)
	case *ast.Lambda:
		f.closure(e.Fn, "", e.PosV, dst)
	case *ast.Pipe:
		f.pipe(e, dst)
	case *ast.If:
		f.ifExpr(e, toReg(dst))
	case *ast.Match:
		f.matchExpr(e, toReg(dst))
	case *ast.Try:
		f.tryExpr(e, toReg(dst))
	case *ast.Block:
		f.blockTo(e, toReg(dst))
	case *ast.ListComp:
		f.listComp(e, dst)
	case *ast.DictComp:
		f.dictComp(e, dst)
	case *ast.Await:
		f.exprInto(e.X, dst)
	case *ast.Propagate:
		x := f.operand(e.X)
		f.setPos(e.PosV)
		j := f.emit(UNWRAPQ, dst, x, 0)
		over := f.emit(JMP, 0, 0, 0)
		f.patch(j, f.here())
		if f.af == nil {
			// The top level (and a server block's body) is no
			// function: there is nothing to return from, and ending
			// the program quietly would hide the Err.
			f.emit(UNWRAPFAIL, x, 0, 0)
		} else {
			f.emitReturn(x)
		}
		f.patch(over, f.here())
	case *ast.Spread:
		f.c.errorf(e.PosV, "spread ... is only allowed in lists, objects and call arguments")
	case *ast.Yield:
		if f.af == nil || !f.af.HasYield {
			f.c.errorf(e.PosV, "yield outside a generator")
			break
		}
		if e.From {
			// each value of X in turn; the expression's value is nil
			seq := f.operand(e.X)
			it := f.alloc(1)
			f.setPos(e.PosV)
			f.emit(ITERPREP, it, seq, 1)
			v := f.alloc(1)
			next := f.emit(ITERNEXT, it, v, 0)
			f.emit(YIELD, v, v, 0)
			f.emit(JMP, 0, next, 0)
			f.patch(next, f.here())
			f.emit(LOADNIL, dst, 0, 0)
			break
		}
		x := dst
		if e.X == nil {
			f.emit(LOADNIL, dst, 0, 0)
		} else {
			x = f.operand(e.X)
		}
		f.setPos(e.PosV)
		f.emit(YIELD, x, dst, 0)
	default:
		f.c.errorf(e.Pos(), "unsupported expression")
	}
}

func (f *fstate) loadInt(v int64, dst int) {
	if v >= -SBias && v < SBias {
		f.emit(LOADINT, dst, int(v)+SBias, 0)
		return
	}
	f.emit(LOADK, dst, f.c.kInt(v), 0)
}

// load reads a name into dst.
func (f *fstate) load(id *ast.Ident, dst int) {
	b := id.Binding
	if b == nil {
		f.c.errorf(id.PosV, "undefined: %s", id.Name)
		return
	}
	switch b.Scope {
	case ast.Local:
		r, ok := f.regOf[b]
		if !ok {
			f.c.errorf(id.PosV, "%s used before its declaration", id.Name)
			return
		}
		if r != dst {
			f.emit(MOVE, dst, r, 0)
		}
	case ast.Cell:
		r, ok := f.regOf[b]
		if !ok {
			f.c.errorf(id.PosV, "%s used before its declaration", id.Name)
			return
		}
		f.emit(GETCELL, dst, r, 0)
	case ast.Free:
		f.emit(GETFREE, dst, b.Index, 0)
	case ast.Global:
		f.emit(GETG, dst, f.c.global(b), 0)
	case ast.Builtin:
		f.emit(GETBUILTIN, dst, f.c.builtin(b.Name), 0)
	default:
		f.c.errorf(id.PosV, "undefined: %s", id.Name)
	}
}

// ---------------------------------------------------------------- literals

// litRun bounds the leading run of a list or object literal built in
// one instruction, from that many registers at once; the elements past
// it are added one by one, each in registers freed after it, so a long
// literal (a table of data) does not need a register per element.
const litRun = 1024

func (f *fstate) arrayLit(e *ast.ArrayLit, dst int) {
	n := 0
	for _, x := range e.Elems {
		if _, ok := x.(*ast.Spread); ok || n == litRun {
			break
		}
		n++
	}
	base := f.alloc(n)
	for i := 0; i < n; i++ {
		f.exprTo(e.Elems[i], base+i)
	}
	f.setPos(e.PosV)
	f.emit(NEWARRAY, dst, base, n)
	f.release(base)
	for _, x := range e.Elems[n:] {
		saved := f.top
		if sp, ok := x.(*ast.Spread); ok {
			r := f.operand(sp.X)
			f.setPos(sp.PosV)
			f.emit(ARRSPREAD, dst, r, 0)
		} else {
			r := f.operand(x)
			f.emit(ARRPUSH, dst, r, 0)
		}
		f.release(saved)
	}
}

func (f *fstate) objectLit(e *ast.ObjectLit, dst int) {
	// The leading run of plain keys builds the object in one instruction.
	var keys []string
	seen := map[string]bool{}
	n := 0
	for _, en := range e.Entries {
		if en.Spread != nil || en.KeyExpr != nil || seen[en.Key] || n == litRun {
			break
		}
		seen[en.Key] = true
		keys = append(keys, en.Key)
		n++
	}
	base := f.alloc(n)
	for i := 0; i < n; i++ {
		f.exprTo(e.Entries[i].Value, base+i)
	}
	f.setPos(e.PosV)
	f.emit(NEWOBJ, dst, f.c.kNames(keys), base)
	f.release(base)
	for _, en := range e.Entries[n:] {
		saved := f.top
		switch {
		case en.Spread != nil:
			r := f.operand(en.Spread)
			f.emit(OBJSPREAD, dst, r, 0)
		case en.KeyExpr != nil:
			k := f.operand(en.KeyExpr)
			v := f.operand(en.Value)
			f.emit(OBJSET, dst, k, v)
		default:
			v := f.operand(en.Value)
			f.emit(SETFIELD, dst, f.c.kString(en.Key), v)
		}
		f.release(saved)
	}
}

// ---------------------------------------------------------------- operators

func (f *fstate) unary(e *ast.Unary, dst int) {
	switch e.Op {
	case "-":
		switch x := e.X.(type) {
		case *ast.IntLit:
			if x.Value != -x.Value || x.Value == 0 {
				f.loadInt(-x.Value, dst)
				return
			}
		case *ast.FloatLit:
			f.emit(LOADK, dst, f.c.kFloat(-x.Value), 0)
			return
		}
		r := f.operand(e.X)
		f.setPos(e.PosV)
		f.emit(UNM, dst, r, 0)
	case "+":
		f.exprTo(e.X, dst)
	case "not", "!":
		r := f.operand(e.X)
		f.emit(NOT, dst, r, 0)
	case "~":
		r := f.operand(e.X)
		f.setPos(e.PosV)
		f.emit(BNOT, dst, r, 0)
	default:
		f.c.errorf(e.PosV, "unknown operator %s", e.Op)
	}
}

var arithOps = map[string]Op{"+": ADD, "-": SUB, "*": MUL, "/": DIV, "%": MOD, "**": POW,
	"&": BAND, "|": BOR, "^": BXOR, "<<": SHL, ">>": SHR}

var arithKOps = map[string]Op{"+": ADDK, "-": SUBK, "*": MULK, "/": DIVK, "%": MODK}

func (f *fstate) arith(op string, dst, x, y int) {
	o, ok := arithOps[op]
	if !ok {
		f.c.errorf(f.pos, "unknown operator %s", op)
		return
	}
	f.emit(o, dst, x, y)
}

func (f *fstate) arithK(op string, dst, x, k int) {
	f.emit(arithKOps[op], dst, x, k)
}

// numConst returns the constant index of a numeric or string literal.
func (f *fstate) numConst(e ast.Expr) (int, bool) {
	switch e := e.(type) {
	case *ast.IntLit:
		return f.c.kInt(e.Value), true
	case *ast.FloatLit:
		return f.c.kFloat(e.Value), true
	case *ast.StringLit:
		return f.c.kString(e.Value), true
	case *ast.Unary:
		if e.Op == "-" {
			switch x := e.X.(type) {
			case *ast.IntLit:
				return f.c.kInt(-x.Value), true
			case *ast.FloatLit:
				return f.c.kFloat(-x.Value), true
			}
		}
	}
	return 0, false
}

var cmpKOps = map[string]Op{"==": EQK, "!=": NEK, "<": LTK, "<=": LEK, ">": GTK, ">=": GEK}

func (f *fstate) binary(e *ast.Binary, dst int) {
	if e.Op == "==" || e.Op == "!=" {
		f.warnBuiltinNil(e.X, e.Y)
		f.warnBuiltinNil(e.Y, e.X)
	}
	switch e.Op {
	case "and", "or", "&&", "||":
		f.exprTo(e.X, dst)
		op := JMPF
		if e.Op == "or" || e.Op == "||" {
			op = JMPT
		}
		j := f.emit(op, dst, 0, 0)
		f.exprTo(e.Y, dst)
		f.patch(j, f.here())
		return
	case "??":
		// NaN counts as missing too, as in the reference.
		f.exprTo(e.X, dst)
		j := f.emit(JNNILNAN, dst, 0, 0)
		f.exprTo(e.Y, dst)
		f.patch(j, f.here())
		return
	case "in", "not in":
		x := f.operand(e.X)
		y := f.operand(e.Y)
		f.setPos(e.PosV)
		f.emit(IN, dst, x, y)
		if e.Op == "not in" {
			f.emit(NOT, dst, dst, 0)
		}
		return
	case "|>":
		f.pipe(&ast.Pipe{PosV: e.PosV, X: e.X, Target: e.Y}, dst)
		return
	}
	if k, ok := f.numConst(e.Y); ok {
		if op, ok := arithKOps[e.Op]; ok {
			x := f.operand(e.X)
			f.setPos(e.PosV)
			f.emit(op, dst, x, k)
			return
		}
		if op, ok := cmpKOps[e.Op]; ok {
			x := f.operand(e.X)
			f.setPos(e.PosV)
			f.emit(op, dst, x, k)
			return
		}
	}
	x := f.operand(e.X)
	y := f.operand(e.Y)
	f.setPos(e.PosV)
	if !f.compare(e.Op, dst, x, y) {
		f.arith(e.Op, dst, x, y)
	}
}

// compare emits dst = x op y for a comparison operator and reports
// whether op was one.
func (f *fstate) compare(op string, dst, x, y int) bool {
	switch op {
	case "==":
		f.emit(EQ, dst, x, y)
	case "!=":
		f.emit(NE, dst, x, y)
	case "<":
		f.emit(LT, dst, x, y)
	case "<=":
		f.emit(LE, dst, x, y)
	case ">":
		f.emit(GT, dst, x, y)
	case ">=":
		f.emit(GE, dst, x, y)
	default:
		return false
	}
	return true
}

// chain compiles a < b < c: every operand evaluated once, stopping at the
// first false comparison.
func (f *fstate) chain(e *ast.Chain, dst int) {
	prev := f.operand(e.Operands[0])
	var exits []int
	for i, op := range e.Ops {
		next := f.operand(e.Operands[i+1])
		f.setPos(e.PosV)
		f.compare(op, dst, prev, next)
		if i < len(e.Ops)-1 {
			exits = append(exits, f.emit(JMPF, dst, 0, 0))
		}
		prev = next
	}
	f.patchAll(exits, f.here())
}

// condJump compiles a condition and returns the jumps taken when its
// truth equals when.
func (f *fstate) condJump(e ast.Expr, when bool) []int {
	saved := f.top
	defer f.release(saved)
	f.setPos(e.Pos())
	switch e := e.(type) {
	case *ast.BoolLit:
		if e.Value == when {
			return []int{f.emit(JMP, 0, 0, 0)}
		}
		return nil
	case *ast.Unary:
		if e.Op == "not" || e.Op == "!" {
			return f.condJump(e.X, !when)
		}
	case *ast.Binary:
		switch e.Op {
		case "and", "&&":
			if !when {
				return append(f.condJump(e.X, false), f.condJump(e.Y, false)...)
			}
			fx := f.condJump(e.X, false)
			t := f.condJump(e.Y, true)
			f.patchAll(fx, f.here())
			return t
		case "or", "||":
			if when {
				return append(f.condJump(e.X, true), f.condJump(e.Y, true)...)
			}
			tx := f.condJump(e.X, true)
			fy := f.condJump(e.Y, false)
			f.patchAll(tx, f.here())
			return fy
		case "<", "<=", ">", ">=", "==":
			j := f.compareJump(e)
			if !when {
				return []int{j}
			}
			t := f.emit(JMP, 0, 0, 0)
			f.patch(j, f.here())
			return []int{t}
		}
	}
	r := f.operand(e)
	if when {
		return []int{f.emit(JMPT, r, 0, 0)}
	}
	return []int{f.emit(JMPF, r, 0, 0)}
}

// compareJump emits a jump taken when the comparison is false.
func (f *fstate) compareJump(e *ast.Binary) int {
	if k, ok := f.numConst(e.Y); ok {
		x := f.operand(e.X)
		f.setPos(e.PosV)
		op := map[string]Op{"<": JNLTK, "<=": JNLEK, ">": JNGTK, ">=": JNGEK, "==": JNEQK}[e.Op]
		return f.emit(op, x, k, 0)
	}
	x := f.operand(e.X)
	y := f.operand(e.Y)
	f.setPos(e.PosV)
	switch e.Op {
	case "<":
		return f.emit(JNLT, x, y, 0)
	case "<=":
		return f.emit(JNLE, x, y, 0)
	case ">":
		return f.emit(JNGT, x, y, 0)
	case ">=":
		return f.emit(JNGE, x, y, 0)
	}
	return f.emit(JNEQ, x, y, 0)
}

// ---------------------------------------------------------------- calls

// call compiles e into dst. When pipe >= 0 it is the register of a piped
// value: it replaces `_` placeholders, or else becomes the first argument.
func (f *fstate) call(e *ast.Call, dst, pipe int) {
	// The chain goes on only through the function (or the receiver):
	// the arguments are expressions of their own.
	chain := f.optJumps
	f.optJumps = nil
	defer func() { f.optJumps = chain }()
	fnPart := func(x ast.Expr, compile func()) {
		if isLink(x) {
			f.optJumps = chain
		}
		compile()
		f.optJumps = nil
	}
	args := e.Args
	if id, ok := e.Fn.(*ast.Ident); ok && id.Name == "stream" && id.Binding != nil && id.Binding.Scope == ast.Builtin && len(args) > 0 {
		if _, ok := args[0].Value.(*ast.Lambda); ok && pipe < 0 {
			f.c.warnf(id.PosV, "stream(fn(send, close)): this runtime does not serve streamed responses yet: a request answered with one gets 500 (stream(file, batch: n) reads a file in batches)")
		}
	}
	if m, ok := e.Fn.(*ast.Member); ok && len(args) > 0 && args[0].Name == "" && sqlMethods[m.Name] {
		if id, ok := m.X.(*ast.Ident); ok && (isBuiltin(id, "db") || id.Binding != nil && id.Binding.Scope != ast.Builtin && (txNames[id.Name] || f.c.txHandle(id.Binding))) {
			f.warnInterpolatedSQL(id.Name+"."+m.Name, args[0].Value)
		}
	}
	if format, n := printfFormat(e); format != nil && n > 0 {
		// fmt("%s-%d", a, 1): the arguments dropped, the text as it is
		f.c.warnf(format.PosV, "%q has no {} for its arguments, which are left out: fmt's placeholders are {} ('{:d}', '{:.2f}' in single quotes, where { is no interpolation), not %%s or %%d: fmt('{}-{}', a, b), or \"{a}-{b}\"", format.Value)
	}
	if id, ok := e.Fn.(*ast.Ident); ok && isBuiltin(id, "timeout") && len(args) == 2 {
		// the reference's timeout(promise, ms), whose "promise" is the
		// call's value already here (an Int that read as a deadline)
		f.c.errorf(id.PosV, "there is no timeout(promise, ms): a call returns its value, not a promise, and a request's deadline (limits { timeout: 5.seconds }, or a route's with timeout(5.seconds)) bounds the code instead")
	}
	hasPlaceholder := false
	if pipe >= 0 {
		for _, a := range args {
			if isPlaceholder(a.Value) {
				hasPlaceholder = true
			}
		}
	}
	named := 0
	spread := false
	for _, a := range args {
		if a.Name != "" {
			named++
		}
		if a.Spread {
			spread = true
		}
	}
	if named > 0 {
		f.checkNamedArgs(e)
	}
	// argument i as (expression, or the pipe register)
	type argv struct {
		x   ast.Expr
		reg int
	}
	var vals []argv
	var names []string
	if pipe >= 0 && !hasPlaceholder {
		vals = append(vals, argv{reg: pipe})
	}
	for _, a := range args {
		if a.Name != "" {
			continue
		}
		if pipe >= 0 && isPlaceholder(a.Value) {
			vals = append(vals, argv{reg: pipe})
		} else {
			vals = append(vals, argv{x: a.Value})
		}
	}
	for _, a := range args {
		if a.Name != "" {
			if pipe >= 0 && isPlaceholder(a.Value) {
				vals = append(vals, argv{reg: pipe}) // (x |> f(1, by: _))
			} else {
				vals = append(vals, argv{x: a.Value})
			}
			names = append(names, a.Name)
		}
	}
	put := func(v argv, r int) {
		if v.x == nil {
			f.emit(MOVE, r, v.reg, 0)
		} else {
			f.exprTo(v.x, r)
		}
	}

	if m, ok := e.Fn.(*ast.Member); ok && named == 0 && !spread {
		// method call: R[base+1] is the receiver
		base := f.callBase(dst, 2+len(vals))
		fnPart(m.X, func() { f.exprTo(m.X, base+1) })
		var skip int = -1
		if m.Optional && chain != nil {
			*chain = append(*chain, f.emit(JNIL, base+1, 0, 0)) // the chain is nil
		} else if m.Optional {
			f.emit(LOADNIL, base, 0, 0)
			skip = f.emit(JNIL, base+1, 0, 0)
		}
		for i, v := range vals {
			put(v, base+2+i)
		}
		f.setPos(e.PosV)
		f.emit(CALLM, base, len(vals), f.c.kString(m.Name))
		if skip >= 0 {
			f.patch(skip, f.here())
		}
		if dst != base {
			f.emit(MOVE, dst, base, 0)
		}
		return
	}
	// A method call with named or spread arguments calls the function
	// __method finds (x.pad_start(5, fill: "-")): R[r] = __method(x,
	// name, named), in R[r..r+3].
	// x?.m(...): nil when x is (the rest of the chain skipped), skip
	// jumping past the call to leave nil in R[r].
	method, _ := e.Fn.(*ast.Member)
	skip := -1
	fnTo := func(r int) {
		if method == nil {
			fnPart(e.Fn, func() { f.exprTo(e.Fn, r) })
			return
		}
		fnPart(method.X, func() { f.exprTo(method.X, r+1) })
		if method.Optional && chain != nil {
			*chain = append(*chain, f.emit(JNIL, r+1, 0, 0)) // the chain is nil
		} else if method.Optional {
			f.emit(LOADNIL, r, 0, 0)
			skip = f.emit(JNIL, r+1, 0, 0)
		}
		f.emit(GETBUILTIN, r, f.c.builtin("__method"), 0)
		f.emit(LOADK, r+2, f.c.kString(method.Name), 0)
		hasNames := 0
		if named > 0 {
			hasNames = 1
		}
		f.emit(LOADBOOL, r+3, hasNames, 0)
		f.setPos(e.PosV)
		f.emit(CALL, r, 3, 0)
	}
	if spread {
		fn := f.alloc(1)
		if method != nil {
			f.alloc(3)
			fnTo(fn)
			f.release(fn + 1)
		} else {
			fnTo(fn)
		}
		arr := f.alloc(1)
		f.emit(NEWARRAY, arr, arr, 0)
		i := 0
		for _, a := range args {
			if a.Name != "" {
				f.c.errorf(a.PosV, "named arguments cannot be combined with ...spread")
				return
			}
		}
		if pipe >= 0 && !hasPlaceholder {
			f.emit(ARRPUSH, arr, pipe, 0)
		}
		for _, a := range args {
			saved := f.top
			var r int
			if pipe >= 0 && isPlaceholder(a.Value) {
				r = pipe
			} else {
				r = f.operand(a.Value)
			}
			if a.Spread {
				f.emit(ARRSPREAD, arr, r, 0)
			} else {
				f.emit(ARRPUSH, arr, r, 0)
			}
			f.release(saved)
			i++
		}
		f.setPos(e.PosV)
		f.emit(CALLV, fn, arr, 0)
		if skip >= 0 {
			f.patch(skip, f.here())
		}
		f.emit(MOVE, dst, fn, 0)
		return
	}
	n := 1 + len(vals)
	if method != nil {
		n = max(n, 4)
	}
	base := f.callBase(dst, n)
	fnTo(base)
	for i, v := range vals {
		put(v, base+1+i)
	}
	f.setPos(e.PosV)
	if len(names) > 0 {
		f.emit(CALLKW, base, len(vals), f.c.kNames(names))
	} else {
		f.emit(CALL, base, len(vals), 0)
	}
	if skip >= 0 {
		f.patch(skip, f.here())
	}
	if dst != base {
		f.emit(MOVE, dst, base, 0)
	}
}

// callBase allocates the n registers of a call frame. When dst is the
// newest register, the call is laid out from dst itself so the result
// needs no move.
func (f *fstate) callBase(dst, n int) int {
	if dst == f.top-1 && !f.isVarReg(dst) {
		f.alloc(n - 1)
		return dst
	}
	return f.alloc(n)
}

// isVarReg reports whether a binding lives in register r.
func (f *fstate) isVarReg(r int) bool {
	for _, vr := range f.regOf {
		if vr == r {
			return true
		}
	}
	return false
}

func isPlaceholder(e ast.Expr) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == "_"
}

// pipe compiles x |> target.
func (f *fstate) pipe(e *ast.Pipe, dst int) {
	x := f.operand(e.X)
	switch t := e.Target.(type) {
	case *ast.Call:
		f.call(t, dst, x)
	case *ast.Member:
		// x |> .prop was desugared by the parser; obj.method without
		// parentheses is called with x.
		f.call(&ast.Call{PosV: t.PosV, Fn: t}, dst, x)
	default:
		base := f.alloc(2)
		f.exprTo(e.Target, base)
		f.emit(MOVE, base+1, x, 0)
		f.setPos(e.PosV)
		f.emit(CALL, base, 1, 0)
		f.emit(MOVE, dst, base, 0)
	}
}

// ---------------------------------------------------------------- closures

func typeString(t *ast.TypeExpr) string {
	if t == nil {
		return ""
	}
	if t.Name == "[]" && len(t.Args) == 1 {
		return "[" + typeString(t.Args[0]) + "]"
	}
	if len(t.Args) == 0 {
		return t.Name
	}
	parts := make([]string, len(t.Args))
	for i, a := range t.Args {
		parts[i] = typeString(a)
	}
	return t.Name + "<" + strings.Join(parts, ", ") + ">"
}

// closure compiles function af and emits a CLOSURE into dst.
func (f *fstate) closure(af *ast.Function, name string, pos token.Pos, dst int) {
	idx := f.c.compileFunc(f, af, name, pos)
	f.setPos(pos)
	f.emit(CLOSURE, dst, idx, 0)
}

// compileFunc compiles a function nested in parent and returns its index.
func (c *compiler) compileFunc(parent *fstate, af *ast.Function, name string, pos token.Pos) int {
	if name == "" {
		name = af.Name
	}
	g := c.newFunc(parent, name, pos, af)
	idx := len(c.prog.Funcs) - 1
	g.fn.Async = af.Async
	np := len(af.Params)
	for _, p := range af.Params {
		g.checkTypeNames(p.Type, g.generics())
	}
	for i, p := range af.Params {
		pname := "_"
		if p.Name != nil {
			pname = p.Name.Name
		}
		if p.Rest {
			if i != np-1 {
				c.errorf(p.PosV, "a rest parameter must come last")
			}
			g.fn.HasRest = true
		}
		g.fn.ParamNames = append(g.fn.ParamNames, pname)
		g.fn.ParamTypes = append(g.fn.ParamTypes, c.handlerType(g.typeScope(), p.Type))
	}
	g.fn.NumParams = np
	if g.fn.HasRest {
		g.fn.NumParams = np - 1
		g.fn.ParamNames = g.fn.ParamNames[:np-1]
		g.fn.ParamTypes = g.fn.ParamTypes[:np-1]
	}
	g.alloc(np)
	g.setPos(pos)
	for i, p := range af.Params {
		if p.Default != nil && !p.Rest {
			g.setPos(p.PosV)
			j := g.emit(JARG, i, 0, 0)
			g.exprTo(p.Default, i)
			g.patch(j, g.here())
		}
		if p.Name != nil && p.Name.Binding != nil {
			g.regOf[p.Name.Binding] = i
			if p.Name.Binding.Scope == ast.Cell {
				g.emit(MKCELL, i, 0, 0)
			}
		}
	}
	for i, p := range af.Params {
		if p.Pattern != nil {
			g.predeclarePattern(p.Pattern)
			g.bindPattern(p.Pattern, i)
		}
	}
	g.blockTo(af.Body, tail)
	g.finish()
	for _, fv := range af.FreeVars {
		o := fv.Outer
		if o == nil {
			c.errorf(pos, "internal: free variable %s has no outer binding", fv.Name)
			continue
		}
		if o.Scope == ast.Free {
			g.fn.Captures = append(g.fn.Captures, Capture{FromParentFree: true, Index: o.Index})
		} else {
			r, ok := parent.regOf[o]
			if !ok {
				c.errorf(pos, "%s is used by a closure before its declaration", fv.Name)
			}
			g.fn.Captures = append(g.fn.Captures, Capture{Index: r})
		}
	}
	return idx
}

// ---------------------------------------------------------------- if / try

func (f *fstate) ifExpr(e *ast.If, s sink) {
	var ends []int
	next := f.condJump(e.Cond, false)
	f.blockTo(e.Then, s)
	if !s.ret {
		ends = append(ends, f.emit(JMP, 0, 0, 0))
	}
	for _, el := range e.Elifs {
		f.patchAll(next, f.here())
		f.setPos(el.PosV)
		next = f.condJump(el.Cond, false)
		f.blockTo(el.Body, s)
		if !s.ret {
			ends = append(ends, f.emit(JMP, 0, 0, 0))
		}
	}
	f.patchAll(next, f.here())
	if e.Else != nil {
		f.blockTo(e.Else, s)
	} else {
		f.sinkNil(s)
	}
	f.patchAll(ends, f.here())
}

func (f *fstate) tryExpr(e *ast.Try, s sink) {
	f.setPos(e.PosV)
	saved := f.top
	f.tryStmt(func(s sink) { f.blockTo(e.Body, s) }, e.CatchVar, e.Catch, e.Finally, s)
	f.release(saved)
}

// ---------------------------------------------------------------- comprehensions

func (f *fstate) listComp(e *ast.ListComp, dst int) {
	f.emit(NEWARRAY, dst, dst, 0)
	// Each further clause is a loop inside the one before it.
	var from func(k int)
	from = func(k int) {
		if k < len(e.More) {
			m := e.More[k]
			f.comprehension(m.Vars, m.Iter, m.Cond, e.PosV, false, func() { from(k + 1) })
			return
		}
		saved := f.top
		r := f.operand(e.Elem)
		f.emit(ARRPUSH, dst, r, 0)
		f.release(saved)
	}
	f.comprehension(e.Vars, e.Iter, e.Cond, e.PosV, false, func() { from(0) })
}

// dictComp builds an object. With two variables it walks pairs, as in
// the reference: {k: v for k, v in [["a", 1]]} takes each element of a
// list apart (an object gives its keys and values).
func (f *fstate) dictComp(e *ast.DictComp, dst int) {
	f.emit(NEWOBJ, dst, f.c.kNames(nil), dst)
	f.comprehension(e.Vars, e.Iter, e.Cond, e.PosV, len(e.Vars) == 2, func() {
		saved := f.top
		k := f.operand(e.Key)
		v := f.operand(e.Value)
		f.emit(OBJSET, dst, k, v)
		f.release(saved)
	})
}

// comprehension compiles the loop of a comprehension around body. With
// pairs, two variables take each element of the sequence apart as a
// [first, second] pair instead of being index (or key) and element: a
// one-variable walk gives a list's elements and an object's [key, value]
// entries.
func (f *fstate) comprehension(vars []ast.Pattern, iter ast.Expr, cond ast.Expr, pos token.Pos, pairs bool, body func()) {
	saved := f.top
	seq := f.operand(iter)
	if pairs {
		vars = []ast.Pattern{&ast.PArray{PosV: pos, Elems: vars, RestIndex: -1}}
	}
	it := f.alloc(1)
	nv := 1
	if len(vars) == 2 {
		nv = 2
	}
	f.setPos(pos)
	f.emit(ITERPREP, it, seq, nv)
	regs := f.alloc(nv)
	next := f.emit(ITERNEXT, it, regs, 0)
	for i, p := range vars {
		if pb, ok := p.(*ast.PBind); ok {
			f.bindLoopVar(pb.Name.Binding, regs+i)
		} else {
			f.predeclarePattern(p)
			f.bindPattern(p, regs+i)
		}
	}
	var skip []int
	if cond != nil {
		skip = f.condJump(cond, false)
	}
	body()
	f.patchAll(skip, f.here())
	f.emit(JMP, 0, next, 0)
	f.patch(next, f.here())
	f.release(saved)
}

// isLink reports whether e is a link of a member, index and call chain.
func isLink(e ast.Expr) bool {
	switch e.(type) {
	case *ast.Member, *ast.Index, *ast.Call:
		return true
	}
	return false
}

// hasOptional reports whether the chain ending in e has an optional
// link (?.) anywhere.
func hasOptional(e ast.Expr) bool {
	for {
		switch x := e.(type) {
		case *ast.Member:
			if x.Optional {
				return true
			}
			e = x.X
		case *ast.Index:
			if x.Optional {
				return true
			}
			e = x.X
		case *ast.Call:
			e = x.Fn
		default:
			return false
		}
	}
}

// optionalChain compiles the chain e, which has an optional link, into
// dst: a link whose receiver is nil ends the whole chain with nil, as
// JavaScript's ?. does (nil?.a.b is nil; it read .b of nil, a TypeError).
func (f *fstate) optionalChain(e ast.Expr, dst int) {
	var exits []int
	f.optJumps = &exits
	f.exprInto(e, dst)
	f.optJumps = nil
	if len(exits) == 0 {
		return
	}
	end := f.emit(JMP, 0, 0, 0)
	f.patchAll(exits, f.here())
	f.emit(LOADNIL, dst, 0, 0)
	f.patch(end, f.here())
}

// part compiles x, a part of the chain link being compiled: its
// receiver continues the chain when it is a link itself; anything else
// (an index, a receiver in parentheses of another kind) starts none.
func (f *fstate) part(x ast.Expr, receiver bool, compile func()) {
	saved := f.optJumps
	if !receiver || !isLink(x) {
		f.optJumps = nil
	}
	compile()
	f.optJumps = saved
}

// optExit ends the chain being compiled with nil when R[r], the
// receiver of one of its optional links, is nil.
func (f *fstate) optExit(r int) {
	if f.optJumps != nil {
		*f.optJumps = append(*f.optJumps, f.emit(JNIL, r, 0, 0))
	}
}

// regexBefore reports whether the part of an interpolated string before
// a {n} ends as a regex's repeated item does (\\d, [0-9], (ab), .).
func regexBefore(p ast.Expr) bool {
	lit, ok := p.(*ast.StringLit)
	if !ok || lit.Value == "" {
		return false
	}
	v := lit.Value
	last := v[len(v)-1]
	return last == ']' || last == ')' || last == '.' || len(v) >= 2 && v[len(v)-2] == '\\'
}

// checkNamedArgs refuses a call's argument named for no parameter of the
// program's function it calls, or no field of the record type it makes
// (P(x: 1, z: 2)): a TypeError of every such call, said when the program
// compiles.
func (f *fstate) checkNamedArgs(e *ast.Call) {
	id, ok := e.Fn.(*ast.Ident)
	if !ok || id.Binding == nil {
		return
	}
	b := outermost(id.Binding)
	var names []string
	what := "parameter"
	if td := f.c.visibleType(f.typeScope(), id.Name); td != nil && td.Name.PosV == b.Decl {
		if len(td.Variants) > 0 || td.Alias != nil {
			return
		}
		for _, fd := range td.Fields {
			names = append(names, fd.Name)
		}
		what = "field"
	} else if fn := f.c.fnDecls[fnAt{f.c.file, b.Decl}]; fn != nil && b.Scope == ast.Global {
		for _, p := range fn.Params {
			if p.Rest || p.Name == nil {
				return // (a rest or destructured parameter: not looked at)
			}
			names = append(names, p.Name.Name)
		}
	} else {
		return
	}
	for _, a := range e.Args {
		if a.Name == "" || slices.Contains(names, a.Name) {
			continue
		}
		hint := ""
		if near := diag.Closest(a.Name, names); near != "" {
			hint = " (did you mean " + near + "?)"
		}
		list := strings.Join(names, ", ")
		if list == "" {
			list = "none"
		}
		f.c.errorf(a.PosV, "%s has no %s named %s%s (its %ss: %s)", id.Name, what, a.Name, hint, what, list)
	}
}

// shorthandOnly reports whether o is written {name} or {a, b}: names
// alone, as a template's {{name}} reads.
func shorthandOnly(o *ast.ObjectLit) bool {
	if len(o.Entries) == 0 {
		return false
	}
	for _, en := range o.Entries {
		id, ok := en.Value.(*ast.Ident)
		if en.Spread != nil || !ok || id.Name != en.Key || id.PosV != en.PosV {
			return false
		}
	}
	return true
}

// printfFormat is the format of fmt(format, ...) or format.format(...),
// and how many arguments follow it, when it is written with printf's %s
// or %d and holds no { (the arguments then go nowhere); nil otherwise.
func printfFormat(e *ast.Call) (*ast.StringLit, int) {
	var lit *ast.StringLit
	n := len(e.Args)
	switch fn := e.Fn.(type) {
	case *ast.Ident:
		if isBuiltin(fn, "fmt") && n > 0 {
			lit, _ = e.Args[0].Value.(*ast.StringLit)
			n--
		}
	case *ast.Member:
		if fn.Name == "format" {
			lit, _ = fn.X.(*ast.StringLit)
		}
	}
	if lit == nil || strings.Contains(lit.Value, "{") {
		return nil, 0
	}
	for _, v := range []string{"%s", "%d", "%f", "%v", "%i"} {
		if strings.Contains(lit.Value, v) {
			return lit, n
		}
	}
	return nil, 0
}

// warnBuiltinNil warns of a builtin function compared with nil (Go's
// `if err != nil`, where err is the builtin err): never nil, so the
// test is always the same.
func (f *fstate) warnBuiltinNil(x, y ast.Expr) {
	id, ok := x.(*ast.Ident)
	if _, isNil := y.(*ast.NilLit); !ok || !isNil || id.Binding == nil || id.Binding.Scope != ast.Builtin {
		return
	}
	f.c.warnf(id.PosV, "%s here is the builtin %s, which is never nil: this test is always the same (a name not declared before it reads the builtin of that name)", id.Name, id.Name)
}
