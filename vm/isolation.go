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
// value: a number, string, bool, nil, duration, size, builtin, type, or
// an isolated function without captured variables. Objects and lists in
// module slots are shared and mutable, so reading one disqualifies.

type isolationInfo struct {
	once        sync.Once
	mutableSlot []bool // written outside initialisation code
	mu          sync.Mutex
	memo        map[*funcProto]bool
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
		info.memo = map[*funcProto]bool{}
	})
	info.mu.Lock()
	defer info.mu.Unlock()
	return in.valueIsolated(info, fn)
}

func (in *Instance) valueIsolated(info *isolationInfo, v Value) bool {
	switch v.k {
	case KNil, KBool, KInt, KFloat, KString, KDuration, KSize, KBuiltin, KType:
		return true
	case KFunc:
		cl := v.AsClosure()
		return len(cl.Free) == 0 && in.protoIsolated(info, cl.Fn)
	}
	return false
}

func (in *Instance) protoIsolated(info *isolationInfo, p *funcProto) bool {
	if r, ok := info.memo[p]; ok {
		return r
	}
	info.memo[p] = true // assume so while visiting (recursion)
	ok := true
	for _, ins := range p.Code {
		switch ins.Op() {
		case bytecode.SETG:
			ok = false
		case bytecode.GETG:
			slot := ins.B()
			ok = !info.mutableSlot[slot] && in.valueIsolated(info, in.Globals[slot])
		case bytecode.CLOSURE:
			ok = in.protoIsolated(info, p.prog.funcs[ins.B()])
		}
		if !ok {
			break
		}
	}
	info.memo[p] = ok
	return ok
}
