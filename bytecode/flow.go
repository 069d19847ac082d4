package bytecode

import (
	"fmt"
	"slices"
)

// checkFlow follows every path through f from its first instruction and
// checks what the interpreter takes on trust about values it did not
// make itself, as the operand checks do for indexes:
//   - GETCELL, SETCELL and the register captures of CLOSURE find a cell
//     (made by MKCELL) in their register on every path that reaches
//     them, and ITERNEXT an iterator (made by ITERPREP);
//   - TRYEND pops a handler this function pushed (TRYBEGIN), and the
//     paths that meet at an instruction have pushed the same handlers.
//
// A register keeps what MKCELL or ITERPREP put in it until an
// instruction writes it (MOVE copies what it holds); a call writes its
// result register and every register above it (the callee's frame
// starts there). An error raised at any instruction under a handler
// jumps to the handler with what the registers held before that
// instruction. It returns the pc of the first instruction that breaks
// a rule and what is wrong, or -1. Unreachable code is not looked at:
// it never runs.
func (p *Program) checkFlow(f *Func, iterWidth map[int]int) (int, string) {
	n := len(f.Code)
	if n == 0 {
		return -1, ""
	}
	w := (f.NumRegs + 63) / 64
	fl := &flow{f: f, p: p, iterWidth: iterWidth, words: w,
		bits: make([]uint64, 2*w*n), tries: make([][]int, n), seen: make([]bool, n), queued: make([]bool, n),
		cur: newFlowState(w), out: newFlowState(w), raised: newFlowState(w)}
	fl.merge(0, fl.out) // nothing holds a cell or an iterator at the start
	for len(fl.work) > 0 {
		pc := fl.work[len(fl.work)-1]
		fl.work = fl.work[:len(fl.work)-1]
		fl.queued[pc] = false
		if msg := fl.step(pc); msg != "" {
			return pc, msg
		}
		if fl.bad != "" {
			return fl.badPC, fl.bad
		}
	}
	return -1, ""
}

// flowState is what holds before an instruction on every path seen to
// reach it: the registers that hold a cell, those that hold an
// iterator, and the try handlers pushed (the pcs of their TRYBEGINs,
// innermost last; a handler list is never changed once made, so states
// share them).
type flowState struct {
	cells, iters []uint64
	tries        []int
}

func newFlowState(words int) *flowState {
	return &flowState{cells: make([]uint64, words), iters: make([]uint64, words)}
}

func (s *flowState) copyFrom(o *flowState) {
	copy(s.cells, o.cells)
	copy(s.iters, o.iters)
	s.tries = o.tries
}

type flow struct {
	f         *Func
	p         *Program
	iterWidth map[int]int
	words     int
	// What holds before each instruction: its cells and iterators in
	// bits (2*words per pc), its handlers in tries, once seen.
	bits             []uint64
	tries            [][]int
	seen, queued     []bool
	work             []int
	cur, out, raised *flowState // scratch
	bad              string     // a conflict found while merging
	badPC            int
}

func has(set []uint64, r int) bool { return set[r/64]&(1<<(r%64)) != 0 }

func put(set []uint64, r int) { set[r/64] |= 1 << (r % 64) }

// kill forgets what registers [from, to) hold.
func (s *flowState) kill(from, to int) {
	for r := from; r < to; r++ {
		w, b := r/64, uint64(1)<<(r%64)
		s.cells[w] &^= b
		s.iters[w] &^= b
	}
}

// merge adds state s to what holds before pc, queueing pc if that
// changed.
func (fl *flow) merge(pc int, s *flowState) {
	if pc < 0 || pc >= len(fl.seen) {
		return // past the end: the loader refuses code that gets there
	}
	w := fl.words
	cells, iters := fl.bits[2*w*pc:2*w*pc+w], fl.bits[2*w*pc+w:2*w*(pc+1)]
	if !fl.seen[pc] {
		fl.seen[pc] = true
		copy(cells, s.cells)
		copy(iters, s.iters)
		fl.tries[pc] = s.tries
	} else {
		if !slices.Equal(fl.tries[pc], s.tries) {
			if fl.bad == "" {
				fl.bad, fl.badPC = fmt.Sprintf("reached with try handlers %v on one path and %v on another", fl.tries[pc], s.tries), pc
			}
			return
		}
		changed := false
		for i := range w {
			c, it := cells[i]&s.cells[i], iters[i]&s.iters[i]
			changed = changed || c != cells[i] || it != iters[i]
			cells[i], iters[i] = c, it
		}
		if !changed {
			return
		}
	}
	if !fl.queued[pc] {
		fl.queued[pc] = true
		fl.work = append(fl.work, pc)
	}
}

// step checks the instruction at pc against what holds before it and
// passes what holds after it on to the instructions that can run next.
func (fl *flow) step(pc int) string {
	in := fl.f.Code[pc]
	op := in.Op()
	w := fl.words
	s := fl.cur
	copy(s.cells, fl.bits[2*w*pc:2*w*pc+w])
	copy(s.iters, fl.bits[2*w*pc+w:2*w*(pc+1)])
	s.tries = fl.tries[pc]
	switch op {
	case GETCELL:
		if !has(s.cells, in.B()) {
			return fmt.Sprintf("r%d may not hold a cell here", in.B())
		}
	case SETCELL:
		if !has(s.cells, in.A()) {
			return fmt.Sprintf("r%d may not hold a cell here", in.A())
		}
	case CLOSURE:
		for j, c := range fl.p.Funcs[in.B()].Captures {
			if !c.FromParentFree && !has(s.cells, c.Index) {
				return fmt.Sprintf("F[%d] capture %d: r%d may not hold a cell here", in.B(), j, c.Index)
			}
		}
	case ITERNEXT:
		if !has(s.iters, in.A()) {
			return fmt.Sprintf("r%d may not hold an iterator here", in.A())
		}
	case TRYEND:
		if len(s.tries) == 0 {
			return "no try handler of this function to end here"
		}
	}
	from, to := fl.writes(in)

	// An error raised here goes to the innermost handler, with what
	// the registers held before (but those this instruction writes:
	// a call's callee has used them), and the error in its register.
	if nt := len(s.tries); nt > 0 {
		begin := fl.f.Code[s.tries[nt-1]]
		e := fl.raised
		e.copyFrom(s)
		e.kill(from, to)
		e.kill(begin.A(), begin.A()+1)
		e.tries = s.tries[:nt-1]
		fl.merge(begin.B(), e)
	}

	out := fl.out
	out.copyFrom(s)
	switch op {
	case MOVE:
		a, b := in.A(), in.B()
		out.kill(a, a+1)
		if has(s.cells, b) {
			put(out.cells, a)
		}
		if has(s.iters, b) {
			put(out.iters, a)
		}
	case MKCELL:
		out.kill(from, to)
		put(out.cells, in.A())
	case ITERPREP:
		out.kill(from, to)
		put(out.iters, in.A())
	case TRYBEGIN:
		out.tries = append(slices.Clip(s.tries), pc)
	case TRYEND:
		out.tries = s.tries[:len(s.tries)-1]
	default:
		out.kill(from, to)
	}
	if op != TRYBEGIN { // its target is the handler, reached by errors
		if target, ok := JumpTarget(in); ok {
			fl.merge(target, out)
		}
	}
	if op.FallsThrough() {
		fl.merge(pc+1, out)
	}
	return ""
}

// writes returns the registers [from, to) the instruction may write
// (its own registers, and for a call the callee's, which start above
// its result register).
func (fl *flow) writes(in Instr) (from, to int) {
	op, a := in.Op(), in.A()
	switch op {
	case LOADNIL:
		return a, a + in.B() + 1
	case FORPREP, FORLOOP:
		return a, a + 4
	case CALL, CALLKW, CALLM, CALLV:
		return a, fl.f.NumRegs
	case ITERNEXT:
		return in.B(), in.B() + fl.iterWidth[a]
	case SETG, SETCELL, SETFREE, JMPF, JMPT, JNIL, JNNIL, JNLT, JNLE, JNEQ,
		JNLTK, JNLEK, JNGTK, JNGEK, JNEQK, RET, ARRPUSH, ARRSPREAD, OBJSET,
		OBJSPREAD, SETFIELD, SETINDEX, MATCHFAIL, THROW, TRYBEGIN, UNWRAPFAIL:
		return 0, 0 // A is read (or, for TRYBEGIN, written by an error)
	}
	if Ops[op].A == OReg {
		return a, a + 1
	}
	return 0, 0
}
