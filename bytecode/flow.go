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
	tracked, tries := p.trackedRegs(f)
	if n == 0 || len(tracked) == 0 && !tries {
		return -1, "" // nothing here can break a rule
	}
	w := (len(tracked) + 63) / 64
	if w > 0 && n > maxFlowWords/(2*w) {
		return -1, fmt.Sprintf("too large to check: %d instructions use %d registers as cells or iterators", n, len(tracked))
	}
	fl := &flow{f: f, p: p, iterWidth: iterWidth, words: w, tracked: tracked,
		bits: make([]uint64, 2*w*n), tries: make([][]int, n), seen: make([]bool, n), queued: make([]bool, n),
		cur: newFlowState(w), out: newFlowState(w), raised: newFlowState(w)}
	fl.merge(0, fl.out) // nothing holds a cell or an iterator at the start
	budget := maxFlowSteps
	for len(fl.work) > 0 {
		if budget -= 1 + w; budget < 0 {
			return -1, fmt.Sprintf("too large to check: its %d instructions and %d cell or iterator registers take over %d steps", n, len(tracked), maxFlowSteps)
		}
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

// The bounds of checkFlow, far past what the compiler makes (a function
// of 10 000 instructions with 100 captured variables takes 40 000 words,
// and its loops a few times 30 000 steps), so that a crafted file cannot
// make Decode take gigabytes or more than a few seconds.
const (
	maxFlowWords = 1 << 22 // what holds before each instruction, in 64-bit words
	maxFlowSteps = 1 << 25 // instruction visits, each counted with the words it copies
)

// trackedRegs returns, in ascending order, the registers whose cells or
// iterators checkFlow follows: those an instruction needs a cell or an
// iterator in, and those MOVE copies into a tracked one; and whether f
// has a TRYBEGIN or TRYEND.
func (p *Program) trackedRegs(f *Func) (regs []int, tries bool) {
	need := map[int]bool{}
	var moves map[int][]int // destination → sources
	for _, in := range f.Code {
		switch in.Op() {
		case TRYBEGIN, TRYEND:
			tries = true
		case GETCELL:
			need[in.B()] = true
		case SETCELL, ITERNEXT:
			need[in.A()] = true
		case CLOSURE:
			for _, c := range p.Funcs[in.B()].Captures {
				if !c.FromParentFree {
					need[c.Index] = true
				}
			}
		case MOVE:
			if moves == nil {
				moves = map[int][]int{}
			}
			moves[in.A()] = append(moves[in.A()], in.B())
		}
	}
	work := make([]int, 0, len(need))
	for r := range need {
		work = append(work, r)
	}
	for len(work) > 0 {
		r := work[len(work)-1]
		work = work[:len(work)-1]
		for _, src := range moves[r] {
			if !need[src] {
				need[src] = true
				work = append(work, src)
			}
		}
	}
	regs = make([]int, 0, len(need))
	for r := range need {
		regs = append(regs, r)
	}
	slices.Sort(regs)
	return regs, tries
}

// flowState is what holds at one point of a path: which tracked
// registers hold a cell, which an iterator (bit i stands for
// flow.tracked[i]), and the try handlers pushed (the pcs of their
// TRYBEGINs, innermost last; a handler list is never changed once made,
// so states share them).
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
	tracked   []int // the registers followed, ascending
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

// bit returns the bit of register r, or -1 if r is not tracked.
func (fl *flow) bit(r int) int {
	if i, ok := slices.BinarySearch(fl.tracked, r); ok {
		return i
	}
	return -1
}

// span returns the bits of the tracked registers in [from, to).
func (fl *flow) span(from, to int) (lo, hi int) {
	lo, _ = slices.BinarySearch(fl.tracked, from)
	hi, _ = slices.BinarySearch(fl.tracked, to)
	return lo, hi
}

func has(set []uint64, i int) bool { return i >= 0 && set[i/64]&(1<<(i%64)) != 0 }

func put(set []uint64, i int) {
	if i >= 0 {
		set[i/64] |= 1 << (i % 64)
	}
}

// kill forgets what bits [lo, hi) hold.
func (s *flowState) kill(lo, hi int) {
	for i := lo; i < hi; i++ {
		w, b := i/64, uint64(1)<<(i%64)
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
		if !has(s.cells, fl.bit(in.B())) {
			return fmt.Sprintf("r%d may not hold a cell here", in.B())
		}
	case SETCELL:
		if !has(s.cells, fl.bit(in.A())) {
			return fmt.Sprintf("r%d may not hold a cell here", in.A())
		}
	case CLOSURE:
		for j, c := range fl.p.Funcs[in.B()].Captures {
			if !c.FromParentFree && !has(s.cells, fl.bit(c.Index)) {
				return fmt.Sprintf("F[%d] capture %d: r%d may not hold a cell here", in.B(), j, c.Index)
			}
		}
	case ITERNEXT:
		if !has(s.iters, fl.bit(in.A())) {
			return fmt.Sprintf("r%d may not hold an iterator here", in.A())
		}
	case TRYEND:
		if len(s.tries) == 0 {
			return "no try handler of this function to end here"
		}
	}
	lo, hi := fl.span(fl.writes(in))

	// An error raised here goes to the innermost handler, with what
	// the registers held before (but those this instruction writes:
	// a call's callee has used them), and the error in its register.
	if nt := len(s.tries); nt > 0 {
		begin := fl.f.Code[s.tries[nt-1]]
		e := fl.raised
		e.copyFrom(s)
		e.kill(lo, hi)
		e.kill(fl.span(begin.A(), begin.A()+1))
		e.tries = s.tries[:nt-1]
		fl.merge(begin.B(), e)
	}

	out := fl.out
	out.copyFrom(s)
	switch op {
	case MOVE:
		a, b := fl.bit(in.A()), fl.bit(in.B())
		out.kill(lo, hi)
		if has(s.cells, b) {
			put(out.cells, a)
		}
		if has(s.iters, b) {
			put(out.iters, a)
		}
	case MKCELL:
		out.kill(lo, hi)
		put(out.cells, fl.bit(in.A()))
	case ITERPREP:
		out.kill(lo, hi)
		put(out.iters, fl.bit(in.A()))
	case TRYBEGIN:
		out.tries = append(slices.Clip(s.tries), pc)
	case TRYEND:
		out.tries = s.tries[:len(s.tries)-1]
	default:
		out.kill(lo, hi)
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
