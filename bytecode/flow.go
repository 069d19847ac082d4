package bytecode

import (
	"fmt"
	"slices"
)

// checkFlow follows every path through f from its first instruction and
// checks what the interpreter takes on trust about the values it makes
// for its own use, as the operand checks do for indexes:
//   - GETCELL, SETCELL and the register captures of CLOSURE find a cell
//     (made by MKCELL) in their register on every path that reaches
//     them, ITERNEXT an iterator (ITERPREP), ARRPUSH and ARRSPREAD the
//     list NEWARRAY made, OBJSET and OBJSPREAD the object NEWOBJ made;
//   - TRYEND pops a handler this function pushed (TRYBEGIN), and the
//     paths that meet at an instruction have pushed the same handlers.
//
// A register keeps what one of these made until an instruction writes
// it (MOVE copies what it holds); a call writes its result register and
// every register above it (the callee's frame starts there). An error
// raised at any instruction under a handler jumps to the handler with
// what the registers held before that instruction. It returns the pc of
// the first instruction that breaks a rule and what is wrong, or -1.
// Unreachable code is not looked at: it never runs.
func (p *Program) checkFlow(f *Func, iterWidth map[int]int) (int, string) {
	n := len(f.Code)
	tracked, tries := p.trackedRegs(f)
	if n == 0 || len(tracked) == 0 && !tries {
		return -1, "" // nothing here can break a rule
	}
	w := (len(tracked) + 63) / 64
	if w > 0 && n > maxFlowWords/(numKinds*w) {
		return -1, fmt.Sprintf("too large to check: %d instructions use %d registers for cells, iterators, lists or objects", n, len(tracked))
	}
	fl := &flow{f: f, p: p, iterWidth: iterWidth, tracked: tracked,
		bits: make([]uint64, numKinds*w*n), tries: make([][]int, n), seen: make([]bool, n), queued: make([]bool, n),
		cur: newFlowState(w), out: newFlowState(w), raised: newFlowState(w)}
	fl.merge(0, fl.out) // nothing holds any of them at the start
	budget := maxFlowSteps
	for len(fl.work) > 0 {
		if budget -= 1 + numKinds*w; budget < 0 {
			return -1, fmt.Sprintf("too large to check: its %d instructions and %d registers for cells, iterators, lists or objects take over %d steps", n, len(tracked), maxFlowSteps)
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
// of 10 000 instructions with 100 captured variables takes 80 000 words,
// and its loops a few times 90 000 steps), so that a crafted file cannot
// make Decode take gigabytes or more than a few seconds.
const (
	maxFlowWords = 1 << 22 // what holds before each instruction, in 64-bit words
	maxFlowSteps = 1 << 25 // instruction visits, each counted with the words it copies
)

// The kinds of value checkFlow follows.
const (
	kindCell = iota
	kindIter
	kindList
	kindObject
	numKinds
)

var kindNames = [numKinds]string{"a cell", "an iterator", "a list", "an object"}

// makes returns the kind of value op puts in register A, if it is one
// checkFlow follows.
func makes(op Op) (int, bool) {
	switch op {
	case MKCELL:
		return kindCell, true
	case ITERPREP:
		return kindIter, true
	case NEWARRAY:
		return kindList, true
	case NEWOBJ:
		return kindObject, true
	}
	return 0, false
}

// needs calls need for each register in which in needs a value of a
// kind checkFlow follows, with that kind.
func (p *Program) needs(in Instr, need func(reg, kind int)) {
	switch in.Op() {
	case GETCELL:
		need(in.B(), kindCell)
	case SETCELL:
		need(in.A(), kindCell)
	case CLOSURE:
		for _, c := range p.Funcs[in.B()].Captures {
			if !c.FromParentFree {
				need(c.Index, kindCell)
			}
		}
	case ITERNEXT:
		need(in.A(), kindIter)
	case ARRPUSH, ARRSPREAD:
		need(in.A(), kindList)
	case OBJSET, OBJSPREAD:
		need(in.A(), kindObject)
	}
}

// trackedRegs returns, in ascending order, the registers checkFlow
// follows: those an instruction needs a value of a followed kind in,
// and those MOVE copies into a tracked one; and whether f has a
// TRYBEGIN or TRYEND.
func (p *Program) trackedRegs(f *Func) (regs []int, tries bool) {
	need := map[int]bool{}
	var moves map[int][]int // destination → sources
	for _, in := range f.Code {
		switch in.Op() {
		case TRYBEGIN, TRYEND:
			tries = true
		case MOVE:
			if moves == nil {
				moves = map[int][]int{}
			}
			moves[in.A()] = append(moves[in.A()], in.B())
		default:
			p.needs(in, func(reg, _ int) { need[reg] = true })
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

// flowState is what holds at one point of a path: for each kind, which
// tracked registers hold a value of it (words bits per kind, bit i
// standing for flow.tracked[i]), and the try handlers pushed (the pcs
// of their TRYBEGINs, innermost last; a handler list is never changed
// once made, so states share them).
type flowState struct {
	bits  []uint64
	words int
	tries []int
}

func newFlowState(words int) *flowState {
	return &flowState{bits: make([]uint64, numKinds*words), words: words}
}

func (s *flowState) copyFrom(o *flowState) {
	copy(s.bits, o.bits)
	s.tries = o.tries
}

// has reports whether bit i (-1: an untracked register) holds kind k.
func (s *flowState) has(k, i int) bool {
	return i >= 0 && s.bits[k*s.words+i/64]&(1<<(i%64)) != 0
}

func (s *flowState) put(k, i int) {
	if i >= 0 {
		s.bits[k*s.words+i/64] |= 1 << (i % 64)
	}
}

// kill forgets what bits [lo, hi) hold.
func (s *flowState) kill(lo, hi int) {
	for i := lo; i < hi; i++ {
		for k := range numKinds {
			s.bits[k*s.words+i/64] &^= 1 << (i % 64)
		}
	}
}

type flow struct {
	f         *Func
	p         *Program
	iterWidth map[int]int
	tracked   []int // the registers followed, ascending
	// What holds before each instruction, once seen: its kinds in bits
	// (as many words per pc as a flowState has), its handlers in tries.
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

// merge adds state s to what holds before pc, queueing pc if that
// changed.
func (fl *flow) merge(pc int, s *flowState) {
	if pc < 0 || pc >= len(fl.seen) {
		return // past the end: the loader refuses code that gets there
	}
	size := len(s.bits)
	held := fl.bits[size*pc : size*(pc+1)]
	if !fl.seen[pc] {
		fl.seen[pc] = true
		copy(held, s.bits)
		fl.tries[pc] = s.tries
	} else {
		if !slices.Equal(fl.tries[pc], s.tries) {
			if fl.bad == "" {
				fl.bad, fl.badPC = fmt.Sprintf("reached with try handlers %v on one path and %v on another", fl.tries[pc], s.tries), pc
			}
			return
		}
		changed := false
		for i, b := range s.bits {
			changed = changed || held[i]&^b != 0
			held[i] &= b
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
	s := fl.cur
	size := len(s.bits)
	copy(s.bits, fl.bits[size*pc:size*(pc+1)])
	s.tries = fl.tries[pc]
	var msg string
	fl.p.needs(in, func(reg, k int) {
		if msg == "" && !s.has(k, fl.bit(reg)) {
			msg = fmt.Sprintf("r%d may not hold %s here", reg, kindNames[k])
			if op == CLOSURE {
				msg = fmt.Sprintf("F[%d] captures r%d, which may not hold a cell here", in.B(), reg)
			}
		}
	})
	if msg != "" {
		return msg
	}
	if op == TRYEND && len(s.tries) == 0 {
		return "no try handler of this function to end here"
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
		if c := begin.C(); c != 0 { // (a cancellation's path)
			fl.merge(c, e)
		}
	}

	out := fl.out
	out.copyFrom(s)
	out.kill(lo, hi)
	switch op {
	case MOVE:
		a, b := fl.bit(in.A()), fl.bit(in.B())
		for k := range numKinds {
			if s.has(k, b) {
				out.put(k, a)
			}
		}
	case TRYBEGIN:
		out.tries = append(slices.Clip(s.tries), pc)
	case TRYEND:
		out.tries = s.tries[:len(s.tries)-1]
	default:
		if k, ok := makes(op); ok {
			out.put(k, fl.bit(in.A()))
		}
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
	case YIELD:
		return in.B(), in.B() + 1 // A is read
	case SETG, SETCELL, SETFREE, JMPF, JMPT, JNIL, JNNIL, JNNILNAN, JNLT, JNLE, JNGT, JNGE, JNEQ,
		JNLTK, JNLEK, JNGTK, JNGEK, JNEQK, RET, ARRPUSH, ARRSPREAD, OBJSET,
		OBJSPREAD, SETFIELD, SETINDEX, MATCHFAIL, THROW, TRYBEGIN, UNWRAPFAIL, DEFMETHOD, UNPACK:
		return 0, 0 // A is read (or, for TRYBEGIN, written by an error)
	}
	if Ops[op].A == OReg {
		return a, a + 1
	}
	return 0, 0
}
