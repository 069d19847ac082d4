package vm

import "sync/atomic"

// Generator is what calling a function that yields gives: the function's
// body (compiled as a function of no parameters, the parameters reaching
// it as captured variables) run a step at a time. Each step runs on the
// thread that asks for the next value, as a call does, until the body
// yields (its frame, registers and try handlers are put aside until the
// next step) or returns (the generator is done). A generator runs once:
// looped over again, it has nothing more to give.
type Generator struct {
	cl            *Closure
	regs          []Value   // the suspended frame's registers
	pc            int       // where the body goes on
	dst           int       // the register receiving the value the step was given
	trys          []handler // the suspended frame's try handlers, frame index 0
	started, done bool
	// step is held during a step: another thread (a request of a server
	// whose state holds the generator) waits for it, letting other code
	// run meanwhile; owner is the thread stepping it, for which a step
	// from inside its own body is an error rather than a wait forever.
	step  chan struct{}
	owner atomic.Pointer[Thread]
}

// NewGenerator makes the generator of body, a function of no parameters
// whose code may YIELD.
func NewGenerator(body *Closure) *Generator {
	return &Generator{cl: body, step: make(chan struct{}, 1)}
}

// genFrame is a generator step in progress: the frame index of its body
// on the thread.
type genFrame struct {
	frame int
	g     *Generator
}

func (g *Generator) TypeName() string { return "Generator" }

func (g *Generator) String() string { return "<generator " + g.cl.Name() + ">" }

func (g *Generator) GetAttr(t *Thread, name string) (Value, bool, error) {
	return Nil, false, nil
}

func (g *Generator) SetAttr(t *Thread, name string, v Value) error {
	return TypeErrorf("cannot set field %s of a generator", name)
}

// CallMethod gives the JavaScript generator's next(): { value, done }.
// next(v) makes the pending yield expression's value v.
func (g *Generator) CallMethod(t *Thread, name string, args []Value) (Value, bool, error) {
	if name != "next" {
		return Nil, false, nil
	}
	sent := Nil
	if len(args) > 0 {
		sent = args[0]
	}
	v, done, err := g.Step(t, sent)
	if err != nil {
		return Nil, true, err
	}
	o := NewObject()
	o.Set("value", v)
	o.Set("done", Bool(done))
	return ObjectValue(o), true, nil
}

// Iterator makes a for loop (and every builtin that loops) take the
// generator's values.
func (g *Generator) Iterator(t *Thread) (Iterator, error) { return genIter{g}, nil }

type genIter struct{ g *Generator }

func (it genIter) Next(t *Thread) (Value, bool, error) {
	v, done, err := it.g.Step(t, Nil)
	if err != nil || done {
		return Nil, false, err
	}
	return v, true, nil
}

// Step runs the body on t until it yields (done false, the value
// yielded) or ends (done true, the value it returned); sent is the value
// of the yield expression the body was suspended at. An error the body
// raises ends the generator and is raised to the caller.
func (g *Generator) Step(t *Thread, sent Value) (v Value, done bool, err error) {
	if g.owner.Load() == t {
		return Nil, false, TypeErrorf("the generator %s is already running (a generator cannot step itself)", g.cl.Name())
	}
	if err := t.Take(g.step); err != nil { // another thread's step: wait for it
		return Nil, false, err
	}
	g.owner.Store(t)
	defer func() {
		g.owner.Store(nil)
		<-g.step
	}()
	if g.done {
		return Nil, true, nil
	}
	fn := g.cl.Fn
	base := t.top()
	if !g.started {
		g.started = true
		t.ensureStack(base + 1)
		if err := t.pushFrame(g.cl, base, 0, 0, -1); err != nil {
			return Nil, false, err
		}
	} else {
		if len(t.frames) >= t.maxDepth {
			return Nil, false, &Error{Kind: "StackOverflow", Msg: "stack overflow: maximum call depth exceeded"}
		}
		t.ensureStack(base + fn.NumRegs + 1)
		copy(t.stack[base:base+fn.NumRegs], g.regs)
		t.stack[base+g.dst] = sent
		t.frames = append(t.frames, frame{fn: fn, cl: g.cl, base: base, pc: g.pc, ret: -1, atomic: t.atomic})
		fi := len(t.frames) - 1
		for _, h := range g.trys {
			// The statement brackets (ATOMIC) are the caller's now.
			h.frame, h.atomic = fi, t.atomic
			t.handlers = append(t.handlers, h)
		}
	}
	fi := len(t.frames) - 1
	t.frames[fi].boundary = true
	t.gens = append(t.gens, genFrame{frame: fi, g: g})
	t.yielded = false
	r, err := t.execute()
	t.gens = t.gens[:len(t.gens)-1]
	if err != nil {
		g.end()
		return Nil, true, err
	}
	if t.yielded {
		t.yielded = false
		return r, false, nil
	}
	g.end()
	return r, true, nil
}

func (g *Generator) end() {
	g.done, g.regs, g.trys = true, nil, nil
}

// yield suspends the generator step running in frame fi: it keeps the
// frame's registers, where it goes on, the register that receives the
// next step's value and its try handlers, and takes the frame off the
// thread. It reports false if fi is no generator's step (code only a
// crafted .tbc has).
func (t *Thread) yield(fi, pc, dst int) bool {
	n := len(t.gens)
	if n == 0 || t.gens[n-1].frame != fi {
		return false
	}
	g := t.gens[n-1].g
	fr := &t.frames[fi]
	regs := t.stack[fr.base : fr.base+fr.fn.NumRegs]
	g.regs = append(g.regs[:0], regs...)
	g.pc, g.dst = pc, dst
	g.trys = g.trys[:0]
	h := len(t.handlers)
	for h > 0 && t.handlers[h-1].frame == fi {
		h--
	}
	g.trys = append(g.trys, t.handlers[h:]...)
	t.handlers = t.handlers[:h]
	clear(regs) // the generator holds them now
	t.atomic = fr.atomic
	t.frames = t.frames[:fi]
	t.yielded = true
	return true
}

func init() {
	// __generator(body) is what a function that yields returns (the
	// parser rewrites its body to call it).
	Register(&Builtin{Name: "__generator", Params: []string{"body"}, Fn: func(t *Thread, args []Value) (Value, error) {
		if len(args) != 1 || args[0].k != KFunc {
			return Nil, TypeErrorf("__generator: expected a function")
		}
		return HostValue(NewGenerator(args[0].AsClosure())), nil
	}})
}
