package vm

import (
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	bc "tova/bytecode"
)

// The interpreter is one loop over the instructions of the top frame.
// Tova-to-Tova calls push a frame and continue in the same loop; only
// builtins calling back into Tova (Thread.Call) re-enter it, with a
// boundary frame that makes the nested loop return.

// ensureStack makes the stack at least n values long.
func (t *Thread) ensureStack(n int) {
	if n <= len(t.stack) {
		return
	}
	if n <= cap(t.stack) {
		t.stack = t.stack[:n]
		return
	}
	c := 2 * cap(t.stack)
	if c < n {
		c = n + 64
	}
	s := make([]Value, n, c)
	copy(s, t.stack)
	t.stack = s
}

// top is the first stack slot not used by the innermost frame.
func (t *Thread) top() int {
	if len(t.frames) == 0 {
		return 0
	}
	f := &t.frames[len(t.frames)-1]
	return f.base + f.fn.NumRegs
}

// maxNestedBuiltins bounds builtin calls nested through Call: deep
// enough for any real composition, shallow enough for Go's stack.
const maxNestedBuiltins = 200000

// Call calls a function value (closure, builtin or type constructor)
// with positional arguments and returns its result. Builtins use it to
// call back into Tova code (map, filter, sort_by...).
func (t *Thread) Call(fn Value, args ...Value) (Value, error) {
	if b := boundMethod(fn); b != nil {
		fn, args = b.Fn, b.withSelf(args)
	}
	switch fn.k {
	case KBuiltin:
		if t.nested >= maxNestedBuiltins {
			return Nil, &Error{Kind: "StackOverflow", Msg: "stack overflow: functions made by builtins (compose, partial...) call each other too deep (200000 calls)"}
		}
		t.nested++
		r, err := fn.AsBuiltin().Fn(t, args)
		t.nested--
		return r, err
	case KType:
		return construct(fn.AsType().Info, args)
	case KFunc:
	default:
		return Nil, t.cannotCall(fn)
	}
	cl := fn.AsClosure()
	base := t.top()
	t.ensureStack(base + len(args))
	copy(t.stack[base:], args)
	if err := t.pushFrame(cl, base, len(args), 0, -1); err != nil {
		return Nil, err
	}
	t.frames[len(t.frames)-1].boundary = true
	atomic := t.atomic
	r, err := t.execute()
	if err != nil {
		t.atomic = atomic // a write statement the error left
	}
	return r, err
}

// CallValues is Call with named arguments: names[i] names args[len(args)-len(names)+i].
func (t *Thread) callKW(fn Value, args []Value, names []string) (Value, error) {
	if b := boundMethod(fn); b != nil {
		fn, args = b.Fn, b.withSelf(args)
	}
	pos := args[:len(args)-len(names)]
	kw := args[len(args)-len(names):]
	var params []string
	switch fn.k {
	case KFunc:
		params = fn.AsClosure().Fn.ParamNames
	case KBuiltin:
		b := fn.AsBuiltin()
		if b.Named != nil {
			return b.Named(t, pos, names, kw)
		}
		params = b.Params
		if params == nil {
			// A builtin without declared parameters gets the named
			// arguments as one trailing object, unless it would take it
			// for data (positionalOnly).
			if slices.Contains(positionalOnly, b.Name) {
				return Nil, TypeErrorf("%s takes no named arguments (got %s): pass its arguments in order", b.Name, names[0])
			}
			o := NewObject()
			for i, n := range names {
				o.Set(n, kw[i])
			}
			all := append(append([]Value(nil), pos...), ObjectValue(o))
			return t.Call(fn, all...)
		}
		names = builtinNames(params, names)
	case KType:
		params = fn.AsType().Info.Fields
	default:
		return Nil, t.cannotCall(fn)
	}
	// Named arguments bind to the parameters of that name; the others
	// are gathered into one object for a trailing destructured
	// parameter (`fn f({ host, port })` called as f(host: h, port: p)).
	n := len(pos)
	var extra *Object
	gather := -1
	for _, name := range names {
		idx := indexOf(params, name)
		if idx < 0 {
			if gather < 0 {
				gather = gatherIndex(fn, params, len(pos), names)
				if gather < 0 {
					if fn.k == KBuiltin {
						return Nil, TypeErrorf("%s has no parameter named %s (its parameters: %s)", calleeName(fn), name, strings.Join(params, ", "))
					}
					return Nil, TypeErrorf("%s has no parameter named %s", calleeName(fn), name)
				}
			}
			idx = gather
		}
		if idx+1 > n {
			n = idx + 1
		}
	}
	full := make([]Value, n)
	copy(full, pos)
	provided := uint64(1)<<uint(len(pos)) - 1
	for i, name := range names {
		idx := indexOf(params, name)
		if idx < 0 {
			if extra == nil {
				extra = NewObject()
			}
			extra.Set(name, kw[i])
			continue
		}
		if idx < len(pos) || idx < 64 && provided&(1<<uint(idx)) != 0 {
			return Nil, TypeErrorf("%s got parameter %s twice", calleeName(fn), name)
		}
		full[idx] = kw[i]
		if idx < 64 {
			provided |= 1 << uint(idx)
		}
	}
	if extra != nil {
		if gather < len(pos) {
			return Nil, TypeErrorf("%s got parameter %d twice", calleeName(fn), gather+1)
		}
		full[gather] = ObjectValue(extra)
		if gather < 64 {
			provided |= 1 << uint(gather)
		}
	}
	if fn.k == KType {
		// A field skipped among the named ones takes its default, as
		// those after the last do.
		ti := fn.AsType().Info
		for i := range min(len(full), len(ti.hasDefault), 64) {
			if provided&(1<<uint(i)) == 0 && ti.hasDefault[i] {
				full[i] = ti.defaults[i]
			}
		}
	}
	if fn.k != KFunc {
		return t.Call(fn, full...)
	}
	base := t.top()
	t.ensureStack(base + len(full))
	copy(t.stack[base:], full)
	if err := t.pushFrame(fn.AsClosure(), base, len(full), provided, -1); err != nil {
		return Nil, err
	}
	t.frames[len(t.frames)-1].boundary = true
	return t.execute()
}

// CallOmitting calls the function fn with args, those where omit is
// true taken as not passed: their parameters get their defaults, as in
// a call that leaves them out (f(a, , c) cannot be written), and the
// arguments past the parameters still reach a rest parameter. fn is a
// Tova function; for another callable the omitted arguments are nil.
func (t *Thread) CallOmitting(fn Value, args []Value, omit []bool) (Value, error) {
	if fn.k != KFunc {
		return t.Call(fn, args...)
	}
	var provided uint64
	for i := range min(len(args), 64) {
		if i >= len(omit) || !omit[i] {
			provided |= 1 << uint(i)
		}
	}
	n := len(args)
	if provided == 0 {
		n = 0 // (0 means "all of the first nargs")
	}
	base := t.top()
	t.ensureStack(base + n)
	copy(t.stack[base:], args[:n])
	for i := range min(n, len(omit)) {
		if omit[i] {
			t.stack[base+i] = Nil
		}
	}
	if err := t.pushFrame(fn.AsClosure(), base, n, provided, -1); err != nil {
		return Nil, err
	}
	t.frames[len(t.frames)-1].boundary = true
	atomic := t.atomic
	r, err := t.execute()
	if err != nil {
		t.atomic = atomic // a write statement the error left (as Call)
	}
	return r, err
}

// gatherIndex is the parameter that receives, as one object, the named
// arguments matching no parameter, or -1 if there is none. A function
// gathers them into its trailing destructured parameter. A builtin, as
// in the reference, takes them as a trailing options object: its last
// parameter when that is named opts or options (sign_jwt(claims,
// expires_in: 60)), else the first parameter after the positional
// arguments that no named argument binds, if it is one that takes an
// object of names (format_number(x, decimals: 2), build_url(host: h),
// derive(t, total: .a + .b), fill_nil(rows, a: 0), publish("t", id: 1),
// respond(201, id: 5)) or one past those it declares
// (join(users, orders, left: "id"); see Builtin.MaxArgs). Any other (reduce's initial,
// replace's to) would take the object for its value: a name it does not
// have is an error there.
func gatherIndex(fn Value, params []string, npos int, names []string) int {
	if fn.k != KBuiltin {
		return lastIndexOf(params, "_")
	}
	if last := len(params) - 1; last >= npos && (params[last] == "opts" || params[last] == "options") {
		return last
	}
	i := npos
	for i < len(params) && indexOf(names, params[i]) >= 0 {
		i++
	}
	if i < len(params) {
		if indexOf(objectParams, params[i]) >= 0 {
			return i
		}
		return -1
	}
	if b := fn.AsBuiltin(); len(params) == 0 || b.MaxArgs < 0 || i < b.MaxArgs {
		return i
	}
	return -1
}

// positionalOnly are the builtins without declared parameters that
// take their arguments as data, so that named ones would be data too
// (xs.push(value: 2) pushed { value: 2 }): they refuse them. The others
// (merge(a, x: 1), a model's Item.all(order: "-price")) take them as a
// trailing object.
var positionalOnly = []string{"push", "unshift", "append", "concat", "zip", "interleave", "db.query", "db.get", "db.run", "db.exec"}

// objectParams are the names of builtins' parameters that take an
// object of names, and so the named arguments matching no parameter.
var objectParams = []string{"opts", "options", "parts", "obj", "aggregations", "columns", "column", "rules", "payload", "body"}

// paramAliases are other names of builtins' parameters, as the
// reference's docs spell them: reduce(xs, f, init: 0) is initial,
// update_at(xs, i, val: x) is value.
var paramAliases = map[string]string{"init": "initial", "val": "value", "separator": "sep"}

// builtinNames is names with those a builtin of params knows by
// another name (paramAliases) spelled its way; names itself if none is.
func builtinNames(params, names []string) []string {
	var out []string
	for i, n := range names {
		if a, ok := paramAliases[n]; ok && indexOf(params, n) < 0 && indexOf(params, a) >= 0 {
			if out == nil {
				out = append([]string(nil), names...)
			}
			out[i] = a
		}
	}
	if out == nil {
		return names
	}
	return out
}

func indexOf(xs []string, s string) int {
	for i, x := range xs {
		if x == s {
			return i
		}
	}
	return -1
}

func lastIndexOf(xs []string, s string) int {
	for i := len(xs) - 1; i >= 0; i-- {
		if xs[i] == s {
			return i
		}
	}
	return -1
}

func calleeName(fn Value) string {
	switch fn.k {
	case KFunc:
		return fn.AsClosure().Name()
	case KBuiltin:
		return fn.AsBuiltin().Name
	case KType:
		return fn.AsType().Info.Tag
	}
	return TypeName(fn)
}

// construct builds a record or variant instance from positional args.
func construct(ti *TypeInfo, args []Value) (Value, error) {
	if ti.Singleton != nil {
		return ObjectValue(ti.Singleton), nil
	}
	if len(args) > len(ti.Fields) {
		if len(ti.Fields) == 1 {
			return Nil, TypeErrorf("%s takes 1 value (%s), got %d", ti.Tag, ti.Fields[0], len(args))
		}
		return Nil, TypeErrorf("%s takes %d values (%s), got %d", ti.Tag, len(ti.Fields), strings.Join(ti.Fields, ", "), len(args))
	}
	vals := make([]Value, len(ti.Fields))
	copy(vals, args)
	for i := len(args); i < len(ti.hasDefault); i++ {
		if ti.hasDefault[i] {
			vals[i] = ti.defaults[i]
		}
	}
	return ObjectValue(ti.New(vals)), nil
}

// pushFrame enters closure cl whose nargs arguments are at stack[base:].
// provided is the bit set of passed parameters (0 means "the first
// nargs"). ret is the absolute stack index receiving the result (-1 for
// a boundary frame).
func (t *Thread) pushFrame(cl *Closure, base, nargs int, provided uint64, ret int) error {
	if len(t.frames) >= t.maxDepth {
		return &Error{Kind: "StackOverflow", Msg: "stack overflow: maximum call depth exceeded"}
	}
	if t.poll--; t.poll <= 0 || t.signal.Load() != 0 {
		if err := t.checkSignal(true); err != nil {
			return err
		}
	}
	fn := cl.Fn
	np := fn.NumParams
	t.ensureStack(base + fn.NumRegs + 1)
	regs := t.stack[base : base+fn.NumRegs]
	if fn.HasRest {
		var rest []Value
		if nargs > np {
			rest = make([]Value, nargs-np)
			copy(rest, t.stack[base+np:base+nargs])
		}
		regs[np] = NewArray(rest)
		nargs = min(nargs, np)
		clear(regs[np+1:])
	} else if nargs > np {
		clear(regs[np:])
		nargs = np
	} else {
		clear(regs[nargs:])
	}
	if provided == 0 && nargs > 0 {
		if nargs >= 64 {
			provided = math.MaxUint64
		} else {
			provided = 1<<uint(nargs) - 1
		}
	}
	t.frames = append(t.frames, frame{fn: fn, cl: cl, base: base, ret: ret, provided: provided, atomic: t.atomic})
	return nil
}

func (t *Thread) cancelled() *Error {
	msg := "execution cancelled"
	switch err := t.ctx.Err(); {
	case err != nil:
		msg = "execution cancelled: " + StopWords(err)
	case DeadlinePassed(t.ctx):
		// Stopped on its own reading of the deadline, before the
		// context learned of it: the same cause, in the same words.
		msg = "execution cancelled: " + StopWords(context.DeadlineExceeded)
	}
	return &Error{Kind: ErrCancelled, Msg: msg}
}

// StopWords says why a context ended in the runtime's words: Go's were
// "context deadline exceeded" and "context canceled", in logs and
// messages a program's author reads.
func StopWords(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "the deadline passed"
	case errors.Is(err, context.Canceled):
		return "stopped"
	}
	return err.Error()
}

// StopText is msg, a Go error's text, with a context's end in the
// runtime's words (see StopWords).
func StopText(msg string) string {
	msg = strings.ReplaceAll(msg, context.DeadlineExceeded.Error(), StopWords(context.DeadlineExceeded))
	return strings.ReplaceAll(msg, context.Canceled.Error(), StopWords(context.Canceled))
}

// stoppedDuring turns a call's success into the thread's cancellation
// if the thread was cancelled meanwhile (its deadline passed while a
// blocking builtin waited, or while it waited for its turn after): the
// code after the call must not go on to change anything.
func (t *Thread) stoppedDuring(err error) error {
	if err == nil && t.cancelledNow() {
		return t.cancelled()
	}
	return err
}

// Interrupt stops the running code at its next backward jump or call.
func (t *Thread) Interrupt() { t.signal.Or(sigCancel) }

// execute runs the top frame until the boundary frame returns.
func (t *Thread) execute() (result Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			// A Go panic inside a builtin or the interpreter is a bug;
			// surface it as a Tova error, never a Go stack.
			e := &Error{Kind: "InternalError", Msg: panicMessage(r)}
			t.fillStack(e)
			t.unwindToBoundary()
			result, err = Nil, e
		}
		if len(t.frames) == 0 {
			t.endRun() // the outermost call has returned
		}
	}()
	for {
		v, e := t.loop()
		if e == nil {
			return v, nil
		}
		if !t.handle(e) {
			return Nil, e
		}
	}
}

func panicMessage(r any) string {
	switch x := r.(type) {
	case error:
		return "internal error: " + x.Error()
	case string:
		return "internal error: " + x
	}
	return "internal error"
}

// handle routes error e to the innermost try handler above the boundary
// frame. It reports false (after popping the frames up to and including
// the boundary) when no handler exists.
func (t *Thread) handle(e error) bool {
	te := asTovaError(e)
	t.fillStack(te)
	for len(t.frames) > 0 {
		fi := len(t.frames) - 1
		f := &t.frames[fi]
		for nh := len(t.handlers); nh > 0 && t.handlers[nh-1].frame == fi; nh = len(t.handlers) {
			h := t.handlers[nh-1]
			t.handlers = t.handlers[:nh-1]
			target := h.target
			// An error raised while a cancellation's cleanup runs is
			// caught only by a try inside the cleanup (one begun after
			// it, above cleanBase): a catch around the cleanup would let
			// the request's code go on after its deadline.
			catchable := te.Kind != ErrCancelled && te.Kind != ErrExit && (t.grace == 0 || nh-1 >= t.cleanBase)
			if !catchable {
				// A cancellation runs finally blocks and deferred code
				// only (they raise it again), in its grace.
				if h.cleanup == 0 || !t.mayCleanUp(te) {
					continue
				}
				target, t.cleanBase = h.cleanup, nh-1
			}
			t.atomic = h.atomic
			v := errorValue(te)
			t.caught[t.nextCaught%uint8(len(t.caught))] = caughtError{v.AsObject(), te}
			t.nextCaught++
			t.stack[f.base+h.reg] = v
			f.pc = target
			return true
		}
		boundary := f.boundary
		t.popFrame()
		if boundary {
			return false
		}
	}
	return false
}

// cleanupGrace is how long a cancelled thread may run finally blocks and
// deferred code: they put back what the code they close changed (a
// count of requests in flight, a busy flag), which a request stopped at
// its deadline left as it was; one that runs on past it is stopped.
const cleanupGrace = 200 * time.Millisecond

// mayCleanUp reports whether the cancellation te lets a finally block
// or deferred code run: the first it meets starts the thread's grace,
// within which it is not stopped again (cancelledNow). An error the
// cleanup raises goes on the same way, to the cleanup left. An exit()
// runs none (a script's exit code is its last word).
func (t *Thread) mayCleanUp(te *Error) bool {
	if te.Kind == ErrExit || te.Kind != ErrCancelled && t.grace == 0 {
		return false
	}
	now := nanotime()
	if t.grace == 0 {
		t.grace = now + int64(cleanupGrace)
	}
	return now < t.grace
}

// cancelledNow reports whether the thread's cancellation stops it here:
// it is cancelled, and not in the grace of its cleanup (mayCleanUp).
func (t *Thread) cancelledNow() bool {
	return t.signal.Load()&sigCancel != 0 && (t.grace == 0 || nanotime() >= t.grace)
}

func (t *Thread) unwindToBoundary() {
	for len(t.frames) > 0 {
		b := t.frames[len(t.frames)-1].boundary
		t.popFrame()
		if b {
			return
		}
	}
}

// popFrame removes the top frame and the try handlers it still had.
func (t *Thread) popFrame() {
	fi := len(t.frames) - 1
	for n := len(t.handlers); n > 0 && t.handlers[n-1].frame >= fi; n-- {
		t.handlers = t.handlers[:n-1]
	}
	t.frames = t.frames[:fi]
}

func asTovaError(e error) *Error {
	if te, ok := e.(*Error); ok {
		return te
	}
	return &Error{Kind: "Error", Msg: e.Error(), Cause: e}
}

// fillStack records the Tova stack trace once, where the error arose.
func (t *Thread) fillStack(e *Error) {
	if e.Stack != nil {
		return
	}
	e.Stack = t.StackTrace()
}

// ReturnedAt is where the last call of Tova code made on t returned
// from: the return statement (or the last expression) of the function
// called, as a stack frame; false before any. What a job that failed by
// returning an Err points at.
func (t *Thread) ReturnedAt() (StackFrame, bool) {
	if t.retFn == nil {
		return StackFrame{}, false
	}
	return frameAt(t.retFn, t.retPC), true
}

// frameAt is the stack frame of fn at instruction pc.
func frameAt(fn *funcProto, pc int) StackFrame {
	p := fn.PosAt(pc)
	file := ""
	if files := fn.prog.Code.Files; fn.File < len(files) {
		file = files[fn.File].Name
	}
	name := fn.Name
	if name == "" {
		name = "<lambda>"
	}
	return StackFrame{Func: name, File: file, Line: int(p.Line), Col: int(p.Col)}
}

// StackTrace returns the current Tova call stack, innermost first.
func (t *Thread) StackTrace() []StackFrame {
	// A deep stack keeps its innermost and outermost frames, and one
	// line saying how many are left out between them.
	const inner, outer = 40, 10
	st := make([]StackFrame, 0, min(len(t.frames), inner+outer+1))
	for i := len(t.frames) - 1; i >= 0; i-- {
		if len(st) == inner && i > outer {
			st = append(st, StackFrame{Omitted: i + 1 - outer})
			i = outer - 1
		}
		f := &t.frames[i]
		st = append(st, frameAt(f.fn, max(f.pc-1, 0)))
	}
	return st
}

// errorType is the record type of caught errors.
var errorType = NewTypeInfo("Error", "Error", []string{"message", "kind", "stack", "value"}, -1)

// IsErrorType reports whether ti is the record type of caught errors.
func IsErrorType(ti *TypeInfo) bool { return ti == errorType }

func errorValue(e *Error) Value {
	return ObjectValue(errorType.New([]Value{Str(e.Msg), Str(e.Kind), Str(strings.TrimRight(e.Trace(), "\n")), e.Value}))
}

// caughtError is an error a handler caught and the record it received.
type caughtError struct {
	rec *Object
	err *Error
}

// thrown converts the operand of `throw` into an error. The record of
// an error this thread caught lately raises it again with the stack of
// where it arose (and its cause), as a rethrow does in JavaScript; kind,
// message and value are read from the record.
func (t *Thread) thrown(v Value) *Error {
	if v.k == KObject && v.AsObject().Type == errorType {
		o := v.AsObject()
		e := &Error{Kind: ToString(o.vals[1]), Msg: ToString(o.vals[0]), Value: o.vals[3]}
		for _, c := range t.caught {
			if c.rec == o {
				e.Stack, e.Cause = c.err.Stack, c.err.Cause
				break
			}
		}
		return e
	}
	if v.k == KObject {
		// throw { code: 42, message: "bad" } (or a record with a
		// message field): its message is the error's (e.message, the
		// log's), as JavaScript's Error's
		if m, ok := v.AsObject().Get("message"); ok && m.k == KString {
			return &Error{Kind: "Error", Msg: m.AsString(), Value: v}
		}
	}
	return &Error{Kind: "Error", Msg: ToString(v), Value: v}
}

// loop executes instructions of the top frame; Tova calls and returns
// switch frames inside it. It returns when the boundary frame returns or
// an error is raised (the frame state is saved for the handler).
func (t *Thread) loop() (Value, error) {
frames:
	for {
		fi := len(t.frames) - 1
		fr := &t.frames[fi]
		fn := fr.fn
		code := fn.Code
		consts := fn.prog.consts
		// Register, constant and instruction reads skip bounds checks:
		// vm.Load and the .tbc decoder have checked every operand, and
		// the stack always holds the frame's registers.
		rb := unsafe.Add(unsafe.Pointer(unsafe.SliceData(t.stack)), uintptr(fr.base)*unsafe.Sizeof(Value{}))
		regs := unsafe.Slice((*Value)(rb), fn.NumRegs)
		gb := unsafe.Pointer(unsafe.SliceData(t.In.Globals))
		kb := unsafe.Pointer(unsafe.SliceData(consts))
		cb := unsafe.Pointer(unsafe.SliceData(code))
		pc := fr.pc
		var err error
		for {
			i := *(*bc.Instr)(unsafe.Add(cb, uintptr(pc)*8))
			pc++
			switch i.Op() {
			case bc.NOP:
			case bc.MOVE:
				*rp(rb, i.A()) = *rp(rb, i.B())
			case bc.LOADK:
				*rp(rb, i.A()) = *rp(kb, i.B())
			case bc.LOADINT:
				*rp(rb, i.A()) = Value{k: KInt, n: uint64(int64(i.SB()))}
			case bc.LOADNIL:
				a := i.A()
				clear(regs[a : a+i.B()+1])
			case bc.LOADBOOL:
				*rp(rb, i.A()) = Bool(i.B() != 0)
			case bc.GETG:
				v := *rp(gb, i.B())
				if v.k == KNil && v.n != 0 {
					err = readTooEarly(fn.prog, i.B())
					break
				}
				*rp(rb, i.A()) = v
			case bc.SETG:
				*rp(gb, i.B()) = *rp(rb, i.A())
			case bc.GETBUILTIN:
				*rp(rb, i.A()) = fn.prog.builtins[i.B()]
			case bc.MKCELL:
				a := i.A()
				*rp(rb, a) = CellValue(&Cell{V: *rp(rb, a)})
			case bc.GETCELL:
				c := *rp(rb, i.B())
				if c.k != KCell {
					err = badCode("GETCELL on a non-cell")
					break
				}
				*rp(rb, i.A()) = c.AsCell().V
			case bc.SETCELL:
				c := *rp(rb, i.A())
				if c.k != KCell {
					err = badCode("SETCELL on a non-cell")
					break
				}
				c.AsCell().V = *rp(rb, i.B())
			case bc.GETFREE:
				*rp(rb, i.A()) = fr.cl.Free[i.B()].V
			case bc.SETFREE:
				fr.cl.Free[i.B()].V = *rp(rb, i.A())
			case bc.CLOSURE:
				p := fn.prog.funcs[i.B()]
				free := make([]*Cell, len(p.Captures))
				for j, c := range p.Captures {
					if c.FromParentFree {
						free[j] = fr.cl.Free[c.Index]
					} else if r := *rp(rb, c.Index); r.k == KCell {
						free[j] = r.AsCell()
					} else {
						err = badCode("CLOSURE captures a non-cell")
						break
					}
				}
				*rp(rb, i.A()) = Value{k: KFunc, p: unsafe.Pointer(&Closure{Fn: p, Free: free})}

			case bc.ADD:
				b, c := *rp(rb, i.B()), *rp(rb, i.C())
				if b.k == KInt && c.k == KInt {
					r, ok := addInt(int64(b.n), int64(c.n))
					if !ok {
						err = overflow("+")
						break
					}
					*rp(rb, i.A()) = Value{k: KInt, n: uint64(r)}
				} else if b.k == KFloat && c.k == KFloat {
					*rp(rb, i.A()) = Float(b.AsFloat() + c.AsFloat())
				} else if b.k == KString {
					if r, e := t.addString(b, c); e != nil {
						err = e
					} else {
						*rp(rb, i.A()) = r
					}
				} else {
					if r, e := Arith('+', b, c); e != nil {
						err = e
					} else {
						*rp(rb, i.A()) = r
					}
				}
			case bc.SUB:
				b, c := *rp(rb, i.B()), *rp(rb, i.C())
				if b.k == KInt && c.k == KInt {
					r, ok := subInt(int64(b.n), int64(c.n))
					if !ok {
						err = overflow("-")
						break
					}
					*rp(rb, i.A()) = Value{k: KInt, n: uint64(r)}
				} else {
					if r, e := Arith('-', b, c); e != nil {
						err = e
					} else {
						*rp(rb, i.A()) = r
					}
				}
			case bc.MUL:
				b, c := *rp(rb, i.B()), *rp(rb, i.C())
				if b.k == KInt && c.k == KInt {
					x, y := int64(b.n), int64(c.n)
					if uint64(x+1<<31) < 1<<32 && uint64(y+1<<31) < 1<<32 {
						*rp(rb, i.A()) = Value{k: KInt, n: uint64(x * y)}
						break
					}
				}
				if r, e := Arith('*', b, c); e != nil {
					err = e
				} else {
					*rp(rb, i.A()) = r
				}
			case bc.DIV:
				if r, e := Arith('/', *rp(rb, i.B()), *rp(rb, i.C())); e != nil {
					err = e
				} else {
					*rp(rb, i.A()) = r
				}
			case bc.MOD:
				b, c := *rp(rb, i.B()), *rp(rb, i.C())
				if b.k == KInt && c.k == KInt && int64(c.n) > 0 {
					*rp(rb, i.A()) = Value{k: KInt, n: uint64(int64(b.n) % int64(c.n))}
					break
				}
				if r, e := Arith('%', b, c); e != nil {
					err = e
				} else {
					*rp(rb, i.A()) = r
				}
			case bc.POW:
				if r, e := Arith('^', *rp(rb, i.B()), *rp(rb, i.C())); e != nil {
					err = e
				} else {
					*rp(rb, i.A()) = r
				}
			case bc.ADDK:
				b, c := *rp(rb, i.B()), *rp(kb, i.C())
				if b.k == KInt && c.k == KInt {
					r, ok := addInt(int64(b.n), int64(c.n))
					if !ok {
						err = overflow("+")
						break
					}
					*rp(rb, i.A()) = Value{k: KInt, n: uint64(r)}
				} else if b.k == KString {
					if r, e := t.addString(b, c); e != nil {
						err = e
					} else {
						*rp(rb, i.A()) = r
					}
				} else {
					if r, e := Arith('+', b, c); e != nil {
						err = e
					} else {
						*rp(rb, i.A()) = r
					}
				}
			case bc.SUBK:
				b, c := *rp(rb, i.B()), *rp(kb, i.C())
				if b.k == KInt && c.k == KInt {
					r, ok := subInt(int64(b.n), int64(c.n))
					if !ok {
						err = overflow("-")
						break
					}
					*rp(rb, i.A()) = Value{k: KInt, n: uint64(r)}
				} else {
					if r, e := Arith('-', b, c); e != nil {
						err = e
					} else {
						*rp(rb, i.A()) = r
					}
				}
			case bc.MULK:
				if r, e := Arith('*', *rp(rb, i.B()), *rp(kb, i.C())); e != nil {
					err = e
				} else {
					*rp(rb, i.A()) = r
				}
			case bc.DIVK:
				if r, e := Arith('/', *rp(rb, i.B()), *rp(kb, i.C())); e != nil {
					err = e
				} else {
					*rp(rb, i.A()) = r
				}
			case bc.MODK:
				b, c := *rp(rb, i.B()), *rp(kb, i.C())
				if b.k == KInt && c.k == KInt && int64(c.n) > 0 {
					*rp(rb, i.A()) = Value{k: KInt, n: uint64(int64(b.n) % int64(c.n))}
					break
				}
				if r, e := Arith('%', b, c); e != nil {
					err = e
				} else {
					*rp(rb, i.A()) = r
				}
			case bc.UNM:
				b := *rp(rb, i.B())
				switch b.k {
				case KInt:
					if int64(b.n) == math.MinInt64 {
						err = overflow("-")
						break
					}
					*rp(rb, i.A()) = Int(-int64(b.n))
				case KFloat:
					*rp(rb, i.A()) = Float(-b.AsFloat())
				case KDuration:
					*rp(rb, i.A()) = Duration(-int64(b.n))
				default:
					err = TypeErrorf("cannot negate %s%s", TypeName(b), WrappedHint(b))
				}
			case bc.NOT:
				*rp(rb, i.A()) = Bool(!rp(rb, i.B()).Truthy())
			case bc.BNOT:
				b := *rp(rb, i.B())
				if b.k != KInt {
					err = TypeErrorf("bitwise ~ needs an Int, got %s", TypeName(b))
					break
				}
				*rp(rb, i.A()) = Int(^int64(b.n))
			case bc.BAND, bc.BOR, bc.BXOR, bc.SHL, bc.SHR:
				if r, e := bitwise(i.Op(), *rp(rb, i.B()), *rp(rb, i.C())); e != nil {
					err = e
				} else {
					*rp(rb, i.A()) = r
				}

			case bc.EQ:
				*rp(rb, i.A()) = Bool(Equal(*rp(rb, i.B()), *rp(rb, i.C())))
			case bc.NE:
				*rp(rb, i.A()) = Bool(!Equal(*rp(rb, i.B()), *rp(rb, i.C())))
			case bc.EQK:
				*rp(rb, i.A()) = Bool(Equal(*rp(rb, i.B()), *rp(kb, i.C())))
			case bc.NEK:
				*rp(rb, i.A()) = Bool(!Equal(*rp(rb, i.B()), *rp(kb, i.C())))
			case bc.LT, bc.LE, bc.GT, bc.GE, bc.LTK, bc.LEK, bc.GTK, bc.GEK:
				var x, y Value
				switch i.Op() {
				case bc.LT, bc.LE, bc.GT, bc.GE:
					x, y = *rp(rb, i.B()), *rp(rb, i.C())
				default:
					x, y = *rp(rb, i.B()), *rp(kb, i.C())
				}
				var r bool
				r, err = compareOp(i.Op(), x, y)
				*rp(rb, i.A()) = Bool(r)

			case bc.JMP:
				target := i.B()
				if target < pc {
					if t.poll--; t.poll <= 0 || t.signal.Load() != 0 {
						if err = t.checkSignal(false); err != nil {
							break
						}
					}
				}
				pc = target
			case bc.JMPF:
				if v := *rp(rb, i.A()); v.k == KNil || v.k == KBool && v.n == 0 {
					pc = i.B()
				}
			case bc.JMPT:
				if v := *rp(rb, i.A()); !(v.k == KNil || v.k == KBool && v.n == 0) {
					pc = i.B()
				}
			case bc.JNIL:
				if rp(rb, i.A()).k == KNil {
					pc = i.B()
				}
			case bc.JNNIL:
				if rp(rb, i.A()).k != KNil {
					pc = i.B()
				}
			case bc.JNNILNAN:
				if v := rp(rb, i.A()); v.k != KNil && !(v.k == KFloat && math.IsNaN(math.Float64frombits(v.n))) {
					pc = i.B()
				}
			case bc.JNLT:
				x, y := *rp(rb, i.A()), *rp(rb, i.B())
				if x.k == KInt && y.k == KInt {
					if !(int64(x.n) < int64(y.n)) {
						pc = i.C()
					}
					break
				}
				var r bool
				if r, err = compareOp(bc.LT, x, y); err == nil && !r {
					pc = i.C()
				}
			case bc.JNLE:
				x, y := *rp(rb, i.A()), *rp(rb, i.B())
				if x.k == KInt && y.k == KInt {
					if !(int64(x.n) <= int64(y.n)) {
						pc = i.C()
					}
					break
				}
				var r bool
				if r, err = compareOp(bc.LE, x, y); err == nil && !r {
					pc = i.C()
				}
			case bc.JNGT, bc.JNGE:
				x, y := *rp(rb, i.A()), *rp(rb, i.B())
				op := bc.GT
				if i.Op() == bc.JNGE {
					op = bc.GE
				}
				var r bool
				if x.k == KInt && y.k == KInt {
					r = int64(x.n) > int64(y.n) || op == bc.GE && x.n == y.n
				} else if r, err = compareOp(op, x, y); err != nil {
					break
				}
				if !r {
					pc = i.C()
				}
			case bc.JNEQ:
				if !Equal(*rp(rb, i.A()), *rp(rb, i.B())) {
					pc = i.C()
				}
			case bc.JNLTK, bc.JNLEK, bc.JNGTK, bc.JNGEK:
				x, y := *rp(rb, i.A()), *rp(kb, i.B())
				if x.k == KInt && y.k == KInt {
					a, b := int64(x.n), int64(y.n)
					var r bool
					switch i.Op() {
					case bc.JNLTK:
						r = a < b
					case bc.JNLEK:
						r = a <= b
					case bc.JNGTK:
						r = a > b
					default:
						r = a >= b
					}
					if !r {
						pc = i.C()
					}
					break
				}
				var r bool
				if r, err = compareOp(jumpCmp(i.Op()), x, y); err == nil && !r {
					pc = i.C()
				}
			case bc.JNEQK:
				if !Equal(*rp(rb, i.A()), *rp(kb, i.B())) {
					pc = i.C()
				}

			case bc.FORPREP:
				a := i.A()
				s, l, st := *rp(rb, a), *rp(rb, a+1), *rp(rb, a+2)
				if i.C() == 2 && s.k == KInt && l.k == KInt && int64(l.n) < int64(s.n) {
					// range(a, b) with b below a counts down, as the
					// builtin's value does
					st = Int(-1)
					*rp(rb, a+2) = st
				}
				if s.k != KInt || l.k != KInt || st.k != KInt {
					// the first bound that is not one (range(0.5): not
					// "Int, Float, Int", with the start and step it
					// was not given)
					bad := s
					if s.k == KInt {
						bad = l
						if l.k == KInt {
							bad = st
						}
					}
					err = TypeErrorf("range bounds must be Int, got %s %s", TypeName(bad), Repr(bad))
					break
				}
				step := int64(st.n)
				if step == 0 {
					err = Errorf("ValueError", "range step must not be zero")
					break
				}
				if !before(int64(s.n), int64(l.n), step, i.C()) {
					pc = i.B()
					break
				}
				*rp(rb, a+3) = s
			case bc.FORLOOP:
				a := i.A()
				step := int64(rp(rb, a+2).n)
				c := int64(rp(rb, a).n) + step
				if (c > int64(rp(rb, a).n)) == (step > 0) && before(c, int64(rp(rb, a+1).n), step, i.C()) {
					if t.poll--; t.poll <= 0 || t.signal.Load() != 0 {
						if err = t.checkSignal(false); err != nil {
							break
						}
					}
					// The whole value, not its number alone: were R[A]
					// not the Int FORPREP left there (a crafted .tbc can
					// jump to a FORLOOP), a new length for a String's
					// bytes would read past them.
					*rp(rb, a) = Value{k: KInt, n: uint64(c)}
					*rp(rb, a+3) = Value{k: KInt, n: uint64(c)}
					pc = i.B()
				}
			case bc.ITERPREP:
				var it *iterator
				it, err = newIterator(t, *rp(rb, i.B()), i.C() == 2)
				if err == nil {
					*rp(rb, i.A()) = iterValue(it)
				}
			case bc.ITERNEXT:
				if rp(rb, i.A()).k != KIter {
					err = badCode("ITERNEXT on a non-iterator")
					break
				}
				it := (*iterator)(rp(rb, i.A()).p)
				b := i.B()
				if it.kind == KArray {
					if it.i >= len(it.arr.Elems) {
						pc = i.C()
						break
					}
					if it.pairs {
						*rp(rb, b) = Int(int64(it.i))
						*rp(rb, b+1) = it.arr.Elems[it.i]
					} else {
						*rp(rb, b) = it.arr.Elems[it.i]
					}
					it.i++
					break
				}
				if it.kind == KHost {
					fr.pc = pc // a generator's step runs Tova code
				}
				k, v, ok, e := it.next(t)
				if it.kind == KHost {
					fr = &t.frames[fi]
					regs = t.stack[fr.base : fr.base+fn.NumRegs]
					rb = unsafe.Pointer(unsafe.SliceData(regs))
				}
				if e != nil {
					err = e
					break
				}
				if !ok {
					pc = i.C()
					break
				}
				if it.pairs {
					*rp(rb, b) = k
					*rp(rb, b+1) = v
				} else {
					*rp(rb, b) = v
				}

			case bc.CALL:
				a := i.A()
				callee := *rp(rb, a)
				if callee.k == KFunc {
					fr.pc = pc
					cl := callee.AsClosure()
					p := cl.Fn
					if n := i.B(); n == p.NumParams && !p.HasRest && fi+1 < t.maxDepth && t.poll > 1 && t.signal.Load() == 0 {
						t.poll--
						// Fast path: arguments are already in place as the
						// callee's first registers; its other registers are
						// written before they are read, so need no clearing.
						base := fr.base + a + 1
						if need := base + p.NumRegs + 1; need > len(t.stack) {
							t.ensureStack(need)
						}
						if len(t.frames) < cap(t.frames) {
							t.frames = t.frames[:fi+2]
							nf := &t.frames[fi+1]
							nf.fn, nf.cl, nf.base, nf.pc, nf.ret, nf.provided, nf.boundary, nf.atomic = p, cl, base, 0, base-1, p.fullMask, false, t.atomic
						} else {
							t.frames = append(t.frames, frame{fn: p, cl: cl, base: base, ret: base - 1, provided: p.fullMask, atomic: t.atomic})
						}
						continue frames
					}
					if err = t.pushFrame(callee.AsClosure(), fr.base+a+1, i.B(), 0, fr.base+a); err != nil {
						break
					}
					continue frames
				}
				fr.pc = pc
				var r Value
				r, err = t.callOther(callee, regs[a+1:a+1+i.B()])
				fr = &t.frames[fi]
				regs = t.stack[fr.base : fr.base+fn.NumRegs]
				rb = unsafe.Pointer(unsafe.SliceData(regs))
				err = t.stoppedDuring(err)
				if err == nil {
					*rp(rb, a) = r
				}
			case bc.CALLKW:
				a, n := i.A(), i.B()
				fr.pc = pc
				names := rp(kb, i.C()).asShape().keys
				args := append([]Value(nil), regs[a+1:a+1+n]...)
				var r Value
				r, err = t.callKW(*rp(rb, a), args, names)
				fr = &t.frames[fi]
				regs = t.stack[fr.base : fr.base+fn.NumRegs]
				rb = unsafe.Pointer(unsafe.SliceData(regs))
				err = t.stoppedDuring(err)
				if err == nil {
					*rp(rb, a) = r
				}
			case bc.CALLV:
				a := i.A()
				fr.pc = pc
				arr := *rp(rb, i.B())
				if arr.k != KArray {
					err = TypeErrorf("cannot spread %s into arguments", TypeName(arr))
					break
				}
				args := append([]Value(nil), arr.AsArray().Elems...)
				var r Value
				r, err = t.Call(*rp(rb, a), args...)
				fr = &t.frames[fi]
				regs = t.stack[fr.base : fr.base+fn.NumRegs]
				rb = unsafe.Pointer(unsafe.SliceData(regs))
				err = t.stoppedDuring(err)
				if err == nil {
					*rp(rb, a) = r
				}
			case bc.CALLM:
				a, n := i.A(), i.B()
				name := rp(kb, i.C()).AsString()
				recv := *rp(rb, a+1)
				fr.pc = pc
				// Object fields holding functions are called without the receiver.
				if recv.k == KObject {
					if f, ok := recv.AsObject().Get(name); ok {
						if f.k == KFunc {
							*rp(rb, a+1) = f
							if err = t.pushFrame(f.AsClosure(), fr.base+a+2, n, 0, fr.base+a); err != nil {
								break
							}
							continue frames
						}
						var r Value
						if !f.IsCallable() && boundMethod(f) == nil {
							err = fieldNotCallable(recv, name, f)
							break
						}
						r, err = t.callOther(f, regs[a+2:a+2+n])
						fr = &t.frames[fi]
						regs = t.stack[fr.base : fr.base+fn.NumRegs]
						rb = unsafe.Pointer(unsafe.SliceData(regs))
						err = t.stoppedDuring(err)
						if err == nil {
							*rp(rb, a) = r
						}
						break
					}
				}
				if t.In.methods != nil {
					// What impl blocks gave the receiver's type: a method
					// (self is the receiver), or, called on the type, an
					// associated function.
					if recv.k == KObject {
						if m, ok := t.In.method(recv.AsObject(), name); ok {
							if err = t.pushFrame(m.AsClosure(), fr.base+a+1, n+1, 0, fr.base+a); err != nil {
								break
							}
							continue frames
						}
					}
					if f, ok := t.In.assocOf(recv, name); ok {
						*rp(rb, a+1) = f
						if err = t.pushFrame(f.AsClosure(), fr.base+a+2, n, 0, fr.base+a); err != nil {
							break
						}
						continue frames
					}
				}
				var r Value
				if b := fn.methods; b != nil && b[pc-1] != nil && recv.k != KHost && recv.k != KNil && recv.k != KBuiltin && recv.k != KType && !t.isADTName(recv) {
					r, err = b[pc-1].Fn(t, regs[a+1:a+2+n])
				} else {
					r, err = t.callMethod(recv, name, regs[a+1:a+2+n])
				}
				fr = &t.frames[fi]
				regs = t.stack[fr.base : fr.base+fn.NumRegs]
				rb = unsafe.Pointer(unsafe.SliceData(regs))
				err = t.stoppedDuring(err)
				if err == nil {
					*rp(rb, a) = r
				}
			case bc.RET, bc.RETNIL:
				var v Value
				if i.Op() == bc.RET {
					v = *rp(rb, i.A())
				}
				boundary := fr.boundary
				ret := fr.ret
				t.atomic = fr.atomic
				if n := len(t.handlers); n > 0 && t.handlers[n-1].frame >= fi {
					t.popFrame()
				} else {
					t.frames = t.frames[:fi]
				}
				if boundary {
					t.retFn, t.retPC = fn, pc-1
					return v, nil
				}
				t.stack[ret] = v
				continue frames
			case bc.YIELD:
				v := *rp(rb, i.A())
				if !t.yield(fi, pc, i.B()) {
					err = badCode("YIELD outside a generator")
					break
				}
				return v, nil
			case bc.JARG:
				a := i.A()
				if a < 64 && fr.provided&(1<<uint(a)) != 0 {
					pc = i.B()
				}

			case bc.NEWARRAY:
				b, c := i.B(), i.C()
				elems := make([]Value, c, c+c/2+1)
				copy(elems, regs[b:b+c])
				*rp(rb, i.A()) = NewArray(elems)
			case bc.ARRPUSH:
				if rp(rb, i.A()).k != KArray {
					err = badCode("ARRPUSH on a non-list")
					break
				}
				arr := rp(rb, i.A()).AsArray()
				if len(arr.Elems) >= MaxListLen {
					err = ListTooLong("list", int64(len(arr.Elems))+1)
					break
				}
				arr.Elems = append(arr.Elems, *rp(rb, i.B()))
			case bc.ARRSPREAD:
				if rp(rb, i.A()).k != KArray {
					err = badCode("ARRSPREAD on a non-list")
					break
				}
				fr.pc = pc // a generator spread runs Tova code
				err = spreadInto(t, rp(rb, i.A()).AsArray(), *rp(rb, i.B()))
				fr = &t.frames[fi]
				regs = t.stack[fr.base : fr.base+fn.NumRegs]
				rb = unsafe.Pointer(unsafe.SliceData(regs))
			case bc.NEWOBJ:
				s := rp(kb, i.B()).asShape()
				c := i.C()
				var o *Object
				if sp := t.spare; sp != nil && len(s.keys) > 0 && len(s.keys) <= cap(sp.vals) {
					t.spare = nil // given back (Reclaim): nothing else holds it
					o, sp.shape, sp.vals = sp, s, sp.vals[:len(s.keys)]
				} else {
					o = newShaped(s)
				}
				copy(o.vals, regs[c:c+len(s.keys)])
				*rp(rb, i.A()) = ObjectValue(o)
			case bc.OBJSET:
				if rp(rb, i.A()).k != KObject {
					err = badCode("OBJSET on a non-object")
					break
				}
				// A computed key {[k]: v} is o[k] = v on a plain object.
				switch k := *rp(rb, i.B()); k.k {
				case KString:
					rp(rb, i.A()).AsObject().Set(k.AsString(), *rp(rb, i.C()))
				case KInt:
					err = t.setIntKey(*rp(rb, i.A()), int64(k.n), *rp(rb, i.C()))
				default:
					err = keyError(k)
				}
			case bc.OBJSPREAD:
				if rp(rb, i.A()).k != KObject {
					err = badCode("OBJSPREAD on a non-object")
					break
				}
				err = objSpread(t, rp(rb, i.A()).AsObject(), *rp(rb, i.B()))
			case bc.GETFIELD, bc.GETFIELDOPT:
				x := *rp(rb, i.B())
				if x.k == KObject {
					o := x.AsObject()
					if o.shape != nil {
						cp := &fn.caches[pc-1]
						w := atomic.LoadUint64(cp)
						if uint32(w>>32) == o.shape.id && w != 0 {
							*rp(rb, i.A()) = o.vals[uint32(w)-1]
							break
						}
						slot := o.shape.Lookup(rp(kb, i.C()).AsString())
						if slot < 0 {
							*rp(rb, i.A()), err = t.missingField(o, rp(kb, i.C()).AsString())
							break
						}
						atomic.StoreUint64(cp, uint64(o.shape.id)<<32|uint64(slot+1))
						*rp(rb, i.A()) = o.vals[slot]
						break
					}
					*rp(rb, i.A()), _ = o.Get(rp(kb, i.C()).AsString())
					break
				}
				if x.k == KNil && i.Op() == bc.GETFIELDOPT {
					*rp(rb, i.A()) = Nil
					break
				}
				var r Value
				r, err = t.getField(x, rp(kb, i.C()).AsString())
				fr = &t.frames[fi]
				regs = t.stack[fr.base : fr.base+fn.NumRegs]
				rb = unsafe.Pointer(unsafe.SliceData(regs))
				err = t.stoppedDuring(err)
				if err == nil {
					*rp(rb, i.A()) = r
				}
			case bc.SETFIELD:
				err = t.setField(*rp(rb, i.A()), rp(kb, i.B()).AsString(), *rp(rb, i.C()))
			case bc.GETINDEX, bc.GETINDEXOPT:
				x, k := *rp(rb, i.B()), *rp(rb, i.C())
				if x.k == KArray && k.k == KInt {
					el := x.AsArray().Elems
					j := int64(k.n)
					if j < 0 {
						j += int64(len(el))
					}
					if j >= 0 && j < int64(len(el)) {
						*rp(rb, i.A()) = el[j]
					} else {
						*rp(rb, i.A()) = Nil
					}
					break
				}
				if x.k == KNil && i.Op() == bc.GETINDEXOPT {
					*rp(rb, i.A()) = Nil
					break
				}
				if r, e := t.index(x, k); e != nil {
					err = e
				} else {
					*rp(rb, i.A()) = r
				}
			case bc.UNPACK:
				switch x := *rp(rb, i.A()); x.k {
				case KArray, KRange, KString:
				default:
					what := TypeName(x)
					if x.k == KNil {
						what = "nil"
					}
					err = TypeErrorf("cannot destructure %s into %s: a list pattern takes a List", what, rp(kb, i.C()).AsString())
				}
			case bc.SETINDEX:
				err = t.setIndex(*rp(rb, i.A()), *rp(rb, i.B()), *rp(rb, i.C()))
			case bc.SLICE:
				b := i.B()
				if r, e := sliceValue(*rp(rb, b), *rp(rb, b+1), *rp(rb, b+2), *rp(rb, b+3)); e != nil {
					err = e
				} else {
					*rp(rb, i.A()) = r
				}
			case bc.IN:
				var r bool
				r, err = contains(*rp(rb, i.C()), *rp(rb, i.B()))
				*rp(rb, i.A()) = Bool(r)
			case bc.ISTYPE:
				*rp(rb, i.A()) = Bool(IsType(*rp(rb, i.B()), rp(kb, i.C()).AsString()))
			case bc.CONCAT:
				b, c := i.B(), i.C()
				*rp(rb, i.A()), err = t.concat(regs[b : b+c])
			case bc.RANGE, bc.RANGEI:
				lo, hi := *rp(rb, i.B()), *rp(rb, i.C())
				if lo.k != KInt || hi.k != KInt {
					err = TypeErrorf("range bounds must be Int, got %s and %s", TypeName(lo), TypeName(hi))
					break
				}
				if i.Op() == bc.RANGEI {
					*rp(rb, i.A()) = NewRangeThrough(int64(lo.n), int64(hi.n))
				} else {
					*rp(rb, i.A()) = NewRange(int64(lo.n), int64(hi.n), 1)
				}
			case bc.UNIT:
				if r, e := withUnit(*rp(rb, i.B()), rp(kb, i.C()).AsString()); e != nil {
					err = e
				} else {
					*rp(rb, i.A()) = r
				}

			case bc.MATCHTAG:
				x := *rp(rb, i.B())
				*rp(rb, i.A()) = Bool(x.k == KObject && x.AsObject().Type != nil && x.AsObject().Type.Tag == rp(kb, i.C()).AsString())
			case bc.GETSLOT:
				x := *rp(rb, i.B())
				c := i.C()
				if x.k == KObject && c < len(x.AsObject().vals) {
					*rp(rb, i.A()) = x.AsObject().vals[c]
				} else {
					*rp(rb, i.A()) = Nil
				}
			case bc.LEN:
				var n int
				n, err = Len(*rp(rb, i.B()))
				*rp(rb, i.A()) = Int(int64(n))
			case bc.STRPREFIX:
				x := *rp(rb, i.B())
				*rp(rb, i.A()) = Bool(x.k == KString && strings.HasPrefix(x.AsString(), rp(kb, i.C()).AsString()))
			case bc.UNWRAPQ:
				x := *rp(rb, i.B())
				if ti := VariantOf(x); ti == ErrType || ti == NoneType {
					pc = i.C()
					break
				} else if ti == OkType || ti == SomeType {
					*rp(rb, i.A()) = x.AsObject().vals[0]
				} else {
					*rp(rb, i.A()) = x
				}
			case bc.MATCHFAIL:
				err = Errorf("MatchError", "no match arm matched value %s", Repr(*rp(rb, i.A())))
			case bc.UNWRAPFAIL:
				err = Errorf("PropagateError", "? on %s outside a function: nothing to return from", Repr(*rp(rb, i.A())))
			case bc.DEFTYPE:
				*rp(rb, i.A()) = fn.prog.types[i.B()].ctors[i.C()]
			case bc.DEFMETHOD:
				if m := *rp(rb, i.A()); m.k == KFunc {
					t.In.defMethod(i.B(), rp(kb, i.C()).AsString(), m)
				} else {
					err = badCode("DEFMETHOD of a " + TypeName(m))
				}

			case bc.THROW:
				err = t.thrown(*rp(rb, i.A()))
			case bc.TRYBEGIN:
				t.handlers = append(t.handlers, handler{frame: fi, reg: i.A(), target: i.B(), cleanup: i.C(), atomic: t.atomic})
			case bc.TRYEND:
				t.handlers = t.handlers[:len(t.handlers)-1]
			case bc.ATOMIC:
				if i.A() == 0 {
					if t.atomic > 0 {
						t.atomic--
					}
					break
				}
				if t.atomic == 0 {
					// Before the statement reads anything: give way here if
					// asked to and the holder has run as long as it may
					// before giving way at a call, so that the statement
					// starts with the time it may need, and a read-modify-
					// write over several statements (`c = count; ...;
					// count = c + 1`) is not cut between its read and its
					// write once a slice is over.
					if t.yieldLater {
						t.yieldLater = false
						t.signal.Or(sigYield)
					}
					if t.signal.Load() != 0 {
						if err = t.checkSignal(true); err != nil {
							break
						}
					}
					t.atomicFrom = t.edgesNow()
					t.atomicSpent = false
				}
				t.atomic++
			default:
				err = Errorf("InternalError", "bad opcode %d", i.Op())
			}
			if err != nil {
				fr.pc = pc
				return Nil, err
			}
		}
	}
}

// rp returns a pointer to element i of the Value array at base.
func rp(base unsafe.Pointer, i int) *Value {
	return (*Value)(unsafe.Add(base, uintptr(i)*unsafe.Sizeof(Value{})))
}

// concat joins the text of vs (string interpolation). When vs[0] is a
// tip (out = "{out}{row}"), the rest is appended to it (see append.go).
func (t *Thread) concat(vs []Value) (Value, error) {
	n := 0
	for _, v := range vs {
		if v.k == KString {
			n += int(v.n)
		} else {
			n += 20
		}
	}
	if n > MaxStringBytes {
		return Nil, StringTooLarge("string interpolation", n)
	}
	var buf []byte
	tip := -1
	if len(vs) > 0 && vs[0].k == KString {
		tip = t.tipOf(vs[0].AsString())
	}
	if tip >= 0 {
		buf = room(t.tips[tip], n-int(vs[0].n))
		vs = vs[1:]
	} else {
		tip = numTips - 1
		buf = make([]byte, 0, n)
	}
	for _, v := range vs {
		switch v.k {
		case KString:
			buf = append(buf, v.AsString()...)
		case KInt:
			buf = strconv.AppendInt(buf, int64(v.n), 10)
		default:
			buf = append(buf, ToString(v)...)
		}
		if len(buf) > MaxStringBytes {
			return Nil, StringTooLarge("string interpolation", len(buf))
		}
	}
	if len(buf) == 0 {
		return Str(""), nil
	}
	if len(buf) >= appendMin {
		t.setTip(tip, buf)
	}
	return Str(unsafe.String(&buf[0], len(buf))), nil
}

// badCode reports bytecode that breaks the compiler's invariants (only
// a crafted .tbc file can contain it).
func badCode(what string) *Error {
	return Errorf("InternalError", "invalid bytecode: %s", what)
}

// jumpCmp is the comparison a compare-and-jump instruction tests.
func jumpCmp(op bc.Op) bc.Op {
	switch op {
	case bc.JNLTK:
		return bc.LTK
	case bc.JNLEK:
		return bc.LEK
	case bc.JNGTK:
		return bc.GTK
	}
	return bc.GEK
}

// before reports whether a numeric for loop's counter x has yet to pass
// its limit going by step: x < limit, or x <= limit when closed is 1 (a
// descending loop the other way round).
func before(x, limit, step int64, closed int) bool {
	if step < 0 {
		x, limit = limit, x
	}
	return x < limit || closed == 1 && x == limit
}

// readTooEarly is the error of reading module slot g (GETG) before its
// declaration has run.
func readTooEarly(p *Program, g int) *Error {
	return Errorf("ReferenceError", "%s is read before its declaration has run", p.Code.Globals[g])
}

func overflow(op string) *Error {
	return Errorf("OverflowError", "integer overflow in %s", op)
}

func compareOp(op bc.Op, x, y Value) (bool, error) {
	c, err := Compare(x, y)
	if err != nil {
		if err == errUnordered {
			return false, nil
		}
		return false, err
	}
	switch op {
	case bc.LT, bc.LTK:
		return c < 0, nil
	case bc.LE, bc.LEK:
		return c <= 0, nil
	case bc.GT, bc.GTK:
		return c > 0, nil
	case bc.GE, bc.GEK:
		return c >= 0, nil
	}
	return false, nil
}

// RunMain runs the program's main function (its top-level code).
func (t *Thread) RunMain() (Value, error) {
	main := t.In.Prog.funcs[0]
	// The top level is not a call: the program's own calls nest
	// Cfg.MaxDepth deep under it.
	t.maxDepth++
	defer func() { t.maxDepth-- }()
	return t.Call(Value{k: KFunc, p: unsafe.Pointer(&Closure{Fn: main})})
}

// RunFunc runs function number idx of the program (a server's Init, for
// example) as a closure without free variables.
func (t *Thread) RunFunc(idx int) (Value, error) {
	p := t.In.Prog
	if idx < 0 || idx >= len(p.funcs) {
		return Nil, Errorf("InternalError", "no function %d", idx)
	}
	t.maxDepth++ // a body run once, as the top level is: not a call
	defer func() { t.maxDepth-- }()
	return t.Call(Value{k: KFunc, p: unsafe.Pointer(&Closure{Fn: p.funcs[idx]})})
}

// CallKW calls fn with positional arguments pos followed by named
// arguments (names[i] = kw[i]). Parameters that receive nothing get their
// default values, as in a Tova call that leaves them out.
func (t *Thread) CallKW(fn Value, pos []Value, names []string, kw []Value) (Value, error) {
	if len(names) == 0 {
		return t.Call(fn, pos...)
	}
	args := make([]Value, 0, len(pos)+len(kw))
	args = append(append(args, pos...), kw...)
	return t.callKW(fn, args, names)
}
