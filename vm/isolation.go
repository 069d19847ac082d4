package vm

import (
	"sync"

	"tova/bytecode"
)

// Isolation: a function that can reach no shared mutable state may run
// without the instance's scheduler. The analysis is conservative: a
// function is isolated when neither it nor any function it can reach
// (nested closures, and functions read from module slots) writes a module
// slot, and every module slot it reads is written only by initialisation
// code (the main function and server bodies) and holds an immutable
// value: a number, string, bool, nil, duration, size, type, a pure
// builtin (Builtin.Pure: not a wrapper made at run time, which holds
// the function and values it wraps), a host object that holds no Tova
// state any code may change (HostImmutable: a model, whose rows live in
// its database), or an isolated function without captured variables.
// Objects and lists in module slots are shared and mutable, so reading
// one disqualifies. A
// method call (x.name(...)) or field read (T.name) may reach every
// method and associated function that impl blocks gave any type under
// that name.

type isolationInfo struct {
	once        sync.Once
	mutableSlot []bool // written outside initialisation code
	isolated    []bool // per function of the program (funcProto.index)
	mu          sync.Mutex
}

func (in *Instance) isolation() *isolationInfo {
	return in.ServiceOrInit(isolationKey{}, func() any { return &isolationInfo{} }).(*isolationInfo)
}

type isolationKey struct{}

// Isolated reports whether calling fn can touch no shared mutable state
// of the instance. Call it once initialisation has run (the answer
// depends on what module slots then hold).
func (in *Instance) Isolated(fn Value) bool {
	info := in.isolation()
	info.once.Do(func() {
		code := in.Prog.Code
		init := map[int]bool{0: true}
		for _, s := range code.Servers {
			init[s.Init] = true
		}
		info.mutableSlot = make([]bool, len(code.Globals))
		for fi, f := range code.Funcs {
			if init[fi] {
				continue
			}
			for _, ins := range f.Code {
				if ins.Op() == bytecode.SETG {
					info.mutableSlot[ins.B()] = true
				}
			}
		}
		info.isolated = in.isolatedFuncs(info.mutableSlot)
	})
	info.mu.Lock()
	defer info.mu.Unlock()
	return in.valueIsolated(info, fn)
}

// HostImmutable is implemented by host objects that hold no state Tova
// code can change, and are safe for concurrent use from Go: code that
// reads one from a module slot may still run without the GIL. A model
// is one (its rows live in its database, which orders its writes).
type HostImmutable interface {
	Immutable() bool
}

// HostRuns is implemented by a HostImmutable object whose methods call
// Tova functions (a model's computed field defaults, run by create):
// code that reaches the object reaches them.
type HostRuns interface {
	Runs() []Value
}

// hostRuns returns the functions that the host object v calls.
func hostRuns(v Value) []Value {
	if r, ok := v.AsHostOK().(HostRuns); ok {
		return r.Runs()
	}
	return nil
}

// immutableHost reports whether v is a HostImmutable host object.
func immutableHost(v Value) bool {
	if v.k != KHost {
		return false
	}
	h, ok := v.AsHostOK().(HostImmutable)
	return ok && h.Immutable()
}

func (in *Instance) valueIsolated(info *isolationInfo, v Value) bool {
	switch v.k {
	case KNil, KBool, KInt, KFloat, KString, KDuration, KSize, KType:
		return true
	case KHost:
		if !immutableHost(v) {
			return false
		}
		for _, f := range hostRuns(v) {
			if !in.valueIsolated(info, f) {
				return false
			}
		}
		return true
	case KBuiltin:
		return v.AsBuiltin().Pure
	case KFunc:
		cl := v.AsClosure()
		return len(cl.Free) == 0 && in.protoIsolated(info.isolated, cl.Fn)
	}
	return false
}

// protoIsolated looks p up in isolated (a function of another program
// is not).
func (in *Instance) protoIsolated(isolated []bool, p *funcProto) bool {
	funcs := in.Prog.funcs
	return p.index < len(funcs) && funcs[p.index] == p && isolated[p.index]
}

// isolatedFuncs decides every function of the program at once. A
// function is not isolated if it writes a module slot or reads one that
// is mutable or holds a mutable value (or a function with captured
// variables), or if a function it can reach (a nested closure, a
// function read from a module slot) is not: that spreads from callee to
// caller over the whole call graph, so that mutual recursion (a calls b
// calls a, and only a writes) taints each function whichever is asked
// about first.
func (in *Instance) isolatedFuncs(mutableSlot []bool) []bool {
	funcs := in.Prog.funcs
	ok := make([]bool, len(funcs))
	callers := make([][]int, len(funcs)) // callers[j]: functions that reach j
	var tainted []int
	// What impl blocks gave the types, by name: a call x.name(...) (or a
	// read of T.name) may reach any of them, whatever x turns out to be.
	methods := map[string][]Value{}
	for _, m := range in.methods {
		for name, f := range m.inst {
			methods[name] = append(methods[name], f)
		}
		for name, f := range m.assoc {
			methods[name] = append(methods[name], f)
		}
	}
	for i, p := range funcs {
		ok[i] = true
		reach := func(j int) { callers[j] = append(callers[j], i) }
		for _, ins := range p.Code {
			switch ins.Op() {
			case bytecode.CALLM, bytecode.GETFIELD, bytecode.GETFIELDOPT:
				k := in.Prog.consts[ins.C()]
				if k.k != KString {
					continue
				}
				for _, f := range methods[k.AsString()] {
					cl := f.AsClosure()
					if fn := cl.Fn; len(cl.Free) == 0 && fn.index < len(funcs) && funcs[fn.index] == fn {
						reach(fn.index)
					} else {
						ok[i] = false
					}
				}
			case bytecode.SETG:
				ok[i] = false
			case bytecode.GETG:
				slot := ins.B()
				if mutableSlot[slot] {
					ok[i] = false
					continue
				}
				switch v := in.Globals[slot]; v.k {
				case KNil, KBool, KInt, KFloat, KString, KDuration, KSize, KType:
				case KHost:
					ok[i] = ok[i] && immutableHost(v)
					for _, f := range hostRuns(v) {
						// (a model's computed default may write state)
						if f.k != KFunc {
							ok[i] = ok[i] && f.k == KBuiltin && f.AsBuiltin().Pure
							continue
						}
						cl := f.AsClosure()
						if fn := cl.Fn; len(cl.Free) == 0 && fn.index < len(funcs) && funcs[fn.index] == fn {
							reach(fn.index)
						} else {
							ok[i] = false
						}
					}
				case KBuiltin:
					// A function made at run time holds what it wraps:
					// partial(f, obj), memoize(f), once(f).
					ok[i] = ok[i] && v.AsBuiltin().Pure
				case KFunc:
					cl := v.AsClosure()
					if fn := cl.Fn; len(cl.Free) == 0 && fn.index < len(funcs) && funcs[fn.index] == fn {
						reach(fn.index)
					} else {
						ok[i] = false
					}
				default:
					ok[i] = false
				}
			case bytecode.CLOSURE:
				reach(ins.B())
			}
		}
		if !ok[i] {
			tainted = append(tainted, i)
		}
	}
	for len(tainted) > 0 {
		j := tainted[len(tainted)-1]
		tainted = tainted[:len(tainted)-1]
		for _, i := range callers[j] {
			if ok[i] {
				ok[i] = false
				tainted = append(tainted, i)
			}
		}
	}
	return ok
}
