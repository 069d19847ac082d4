package bytecode

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
)

// flowProgram is a program whose main function has regs registers and
// the given code; F[1] captures r0 of the function that makes it.
func flowProgram(regs int, code ...Instr) *Program {
	return &Program{
		Files:     []SourceFile{{Name: "flow.tova"}},
		Constants: []Constant{{Kind: KNames, Names: []string{"k"}}},
		Funcs: []*Func{
			{Name: "<main>", NumRegs: regs, Code: code},
			{Name: "inner", NumRegs: 1, Code: []Instr{Make(RETNIL, 0, 0, 0)}, Captures: []Capture{{Index: 0}}},
		},
	}
}

// The interpreter takes on trust that GETCELL, SETCELL and CLOSURE's
// captures find cells, ITERNEXT an iterator, and TRYEND a handler of its
// function: validation follows every path to make sure, and refuses a
// program where one path breaks the rule.
func TestFlowRejects(t *testing.T) {
	for _, c := range []struct {
		name string
		p    *Program
		msg  string // after `function 0 "<main>" `
	}{
		{"getcell-no-cell", flowProgram(2,
			Make(GETCELL, 1, 0, 0),
			Make(RETNIL, 0, 0, 0)),
			"pc 0 (GETCELL): r0 may not hold a cell here"},
		{"setcell-after-write", flowProgram(2,
			Make(MKCELL, 0, 0, 0),
			Make(LOADINT, 0, SBias+1, 0), // the cell's register is written over
			Make(SETCELL, 0, 1, 0),
			Make(RETNIL, 0, 0, 0)),
			"pc 2 (SETCELL): r0 may not hold a cell here"},
		{"cell-on-one-path", flowProgram(2,
			Make(JMPF, 1, 2, 0), // skips the MKCELL
			Make(MKCELL, 0, 0, 0),
			Make(GETCELL, 1, 0, 0),
			Make(RETNIL, 0, 0, 0)),
			"pc 2 (GETCELL): r0 may not hold a cell here"},
		{"call-frame-above", flowProgram(4,
			Make(MKCELL, 2, 0, 0),
			Make(CALL, 1, 0, 0), // the callee's registers start at r2
			Make(GETCELL, 0, 2, 0),
			Make(RETNIL, 0, 0, 0)),
			"pc 2 (GETCELL): r2 may not hold a cell here"},
		{"closure-capture", flowProgram(2,
			Make(CLOSURE, 1, 1, 0),
			Make(RETNIL, 0, 0, 0)),
			"pc 0 (CLOSURE): F[1] captures r0, which may not hold a cell here"},
		{"loop-kills-cell", flowProgram(2,
			Make(MKCELL, 0, 0, 0),
			Make(GETCELL, 1, 0, 0),
			Make(MOVE, 0, 1, 0), // the second time round, r0 holds the value
			Make(JMP, 0, 1, 0),
			Make(RETNIL, 0, 0, 0)),
			"pc 1 (GETCELL): r0 may not hold a cell here"},
		{"iternext-no-iterator", flowProgram(3,
			Make(JMPT, 2, 2, 0), // skips the ITERPREP
			Make(ITERPREP, 0, 2, 1),
			Make(ITERNEXT, 0, 1, 4),
			Make(RETNIL, 0, 0, 0),
			Make(RETNIL, 0, 0, 0)),
			"pc 2 (ITERNEXT): r0 may not hold an iterator here"},
		{"arrpush-no-list", flowProgram(2,
			Make(LOADINT, 0, SBias+7, 0),
			Make(ARRPUSH, 0, 1, 0), // an Int is no list to push on
			Make(RETNIL, 0, 0, 0)),
			"pc 1 (ARRPUSH): r0 may not hold a list here"},
		{"arrspread-after-call", flowProgram(3,
			Make(NEWARRAY, 1, 2, 0),
			Make(CALL, 0, 0, 0), // its callee's frame starts at r1
			Make(ARRSPREAD, 1, 2, 0),
			Make(RETNIL, 0, 0, 0)),
			"pc 2 (ARRSPREAD): r1 may not hold a list here"},
		{"objset-on-a-list", flowProgram(3,
			Make(NEWARRAY, 0, 1, 0),
			Make(OBJSET, 0, 1, 2),
			Make(RETNIL, 0, 0, 0)),
			"pc 1 (OBJSET): r0 may not hold an object here"},
		{"objspread-no-object", flowProgram(2,
			Make(OBJSPREAD, 0, 1, 0),
			Make(RETNIL, 0, 0, 0)),
			"pc 0 (OBJSPREAD): r0 may not hold an object here"},
		{"tryend-no-handler", flowProgram(1,
			Make(TRYEND, 0, 0, 0),
			Make(RETNIL, 0, 0, 0)),
			"pc 0 (TRYEND): no try handler of this function to end here"},
		{"handlers-differ", flowProgram(2,
			Make(JMPF, 1, 2, 0),
			Make(TRYBEGIN, 0, 4, 0),
			Make(NOP, 0, 0, 0), // reached with and without the handler
			Make(RETNIL, 0, 0, 0),
			Make(RETNIL, 0, 0, 0)),
			"pc 2 (NOP): reached with try handlers [] on one path and [1] on another"},
		{"handler-sees-error-register", flowProgram(2,
			Make(MKCELL, 0, 0, 0),
			Make(TRYBEGIN, 0, 4, 0), // an error lands in r0, over the cell
			Make(TRYEND, 0, 0, 0),
			Make(RETNIL, 0, 0, 0),
			Make(GETCELL, 1, 0, 0),
			Make(RETNIL, 0, 0, 0)),
			"pc 4 (GETCELL): r0 may not hold a cell here"},
		{"handler-after-write-in-try", flowProgram(3,
			Make(MKCELL, 0, 0, 0),
			Make(TRYBEGIN, 2, 5, 0),
			Make(LOADINT, 0, SBias, 0), // an error after this finds no cell
			Make(TRYEND, 0, 0, 0),
			Make(RETNIL, 0, 0, 0),
			Make(GETCELL, 1, 0, 0),
			Make(RETNIL, 0, 0, 0)),
			"pc 5 (GETCELL): r0 may not hold a cell here"},
	} {
		t.Run(c.name, func(t *testing.T) {
			msg := `function 0 "<main>" ` + c.msg
			if err := c.p.Validate(); err == nil || err.Error() != "invalid program: "+msg {
				t.Errorf("Validate() = %v\nwant %s", err, msg)
			}
			// Decode refuses it too, pointing at the instruction's 8 bytes.
			data := encode(c.p)
			fe := checkRejected(t, data, "functions", msg)
			var pc int
			fmt.Sscanf(c.msg, "pc %d", &pc)
			if fe.Offset+8 > len(data) || binary.LittleEndian.Uint64(data[fe.Offset:]) != uint64(c.p.Funcs[0].Code[pc]) {
				t.Errorf("offset %d does not hold instruction %d", fe.Offset, pc)
			}
		})
	}
}

// What the compiler makes passes: a cell kept across a loop, copied,
// captured, and used in a handler; an iterator in a loop; nested tries.
func TestFlowAccepts(t *testing.T) {
	for _, c := range []struct {
		name string
		p    *Program
	}{
		{"cell-in-loop", flowProgram(3,
			Make(MKCELL, 0, 0, 0),
			Make(GETCELL, 1, 0, 0),
			Make(SETCELL, 0, 1, 0),
			Make(JMPT, 1, 5, 0),
			Make(JMP, 0, 1, 0),
			Make(CLOSURE, 2, 1, 0),
			Make(RETNIL, 0, 0, 0)),
		},
		{"cell-moved", flowProgram(3,
			Make(MKCELL, 1, 0, 0),
			Make(MOVE, 0, 1, 0),
			Make(LOADNIL, 1, 0, 0),
			Make(CLOSURE, 2, 1, 0),
			Make(GETCELL, 1, 0, 0),
			Make(RETNIL, 0, 0, 0)),
		},
		{"cell-below-call", flowProgram(4,
			Make(MKCELL, 0, 0, 0),
			Make(CALL, 1, 1, 0),
			Make(GETCELL, 3, 0, 0),
			Make(RETNIL, 0, 0, 0)),
		},
		{"cell-in-handler", flowProgram(4,
			Make(MKCELL, 0, 0, 0),
			Make(TRYBEGIN, 1, 6, 0),
			Make(TRYBEGIN, 2, 5, 0),
			Make(CALL, 3, 0, 0),
			Make(TRYEND, 0, 0, 0),
			Make(TRYEND, 0, 0, 0), // pc 5: the inner handler lands here too, without its own
			Make(GETCELL, 3, 0, 0),
			Make(RETNIL, 0, 0, 0)),
		},
		{"iterator-loop", flowProgram(4,
			Make(ITERPREP, 0, 3, 2),
			Make(ITERNEXT, 0, 1, 3),
			Make(JMP, 0, 1, 0),
			Make(RETNIL, 0, 0, 0)),
		},
		{"list-and-object-literals", flowProgram(4,
			Make(NEWARRAY, 0, 1, 0),
			Make(ARRPUSH, 0, 1, 0),
			Make(CALL, 2, 0, 0), // a spread's call, above the list
			Make(ARRSPREAD, 0, 2, 0),
			Make(NEWOBJ, 1, 0, 2), // K[0] names one key, from r2
			Make(OBJSPREAD, 1, 0, 0),
			Make(MOVE, 3, 1, 0),
			Make(OBJSET, 3, 2, 0),
			Make(RETNIL, 0, 0, 0)),
		},
		{"unreachable-not-checked", flowProgram(2,
			Make(RETNIL, 0, 0, 0),
			Make(GETCELL, 1, 0, 0),
			Make(RETNIL, 0, 0, 0)),
		},
	} {
		if err := c.p.Validate(); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

// A crafted function that uses every register as a cell, over many
// instructions, is refused at once rather than checked with gigabytes.
func TestFlowBounded(t *testing.T) {
	code := make([]Instr, 0, MaxA+2)
	for r := range MaxA + 1 {
		code = append(code, Make(GETCELL, 0, r, 0))
	}
	p := flowProgram(MaxA+1, append(code, Make(RETNIL, 0, 0, 0))...)
	want := `invalid program: function 0 "<main>": too large to check: 65537 instructions use 65536 registers for cells, iterators, lists or objects`
	if err := p.Validate(); err == nil || err.Error() != want {
		t.Fatalf("Validate() = %v\nwant %s", err, want)
	}
	checkRejected(t, encode(p), "functions", strings.TrimPrefix(want, "invalid program: "))
}

// A crafted loop whose cells run out one register per pass (a chain of
// MOVEs against the flow) would take billions of steps to settle: it is
// refused once it has taken the most any compiled function could.
func TestFlowBoundedSteps(t *testing.T) {
	const chain = 4096
	var code []Instr
	for r := range chain {
		code = append(code, Make(MKCELL, r, 0, 0))
	}
	loop := len(code)
	code = append(code, Make(GETCELL, chain+1, chain-1, 0))
	for r := chain - 1; r > 0; r-- {
		code = append(code, Make(MOVE, r, r-1, 0))
	}
	code = append(code, Make(LOADNIL, 0, 0, 0), Make(JMP, 0, loop, 0))
	p := flowProgram(chain+2, code...)
	want := fmt.Sprintf(`invalid program: function 0 "<main>": too large to check: its %d instructions and %d registers for cells, iterators, lists or objects take over %d steps`, len(code), chain, maxFlowSteps)
	if err := p.Validate(); err == nil || err.Error() != want {
		t.Fatalf("Validate() = %v\nwant %s", err, want)
	}
}
