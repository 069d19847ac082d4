package bytecode

import "fmt"

// Instr is one fixed-width instruction:
//
//	bits 0-7   opcode
//	bits 8-23  A (16 bits: a register)
//	bits 24-43 B (20 bits: a register, constant, count or jump target)
//	bits 44-63 C (20 bits: a register, constant, count or jump target)
//
// Jump targets are absolute instruction indexes within the function.
type Instr uint64

const (
	MaxA = 1<<16 - 1
	MaxB = 1<<20 - 1
	MaxC = 1<<20 - 1
	// SBias is added to a signed immediate stored in B (LOADINT).
	SBias = 1 << 19
)

// Op is an opcode. Numbers are stable: they are written into .tbc files.
type Op uint8

// Make builds an instruction.
func Make(op Op, a, b, c int) Instr {
	return Instr(op) | Instr(a)<<8 | Instr(b)<<24 | Instr(c)<<44
}

func (i Instr) Op() Op  { return Op(i) }
func (i Instr) A() int  { return int(i >> 8 & 0xffff) }
func (i Instr) B() int  { return int(i >> 24 & 0xfffff) }
func (i Instr) C() int  { return int(i >> 44) }
func (i Instr) SB() int { return i.B() - SBias }

// Operand kinds, used by the disassembler and the decoder's validation.
type OperandKind uint8

const (
	ONone    OperandKind = iota
	OReg                 // register index (checked < NumRegs)
	OConst               // constant index (checked < len(Constants))
	OCount               // a small count
	OJump                // absolute jump target (checked <= len(Code))
	OImm                 // signed immediate (B only, biased)
	OFunc                // function index (checked < len(Funcs))
	OGlobal              // module slot (checked < len(Globals))
	OBuiltin             // builtin name index (checked < len(Builtins))
	OType                // type index (checked < len(Types))
	OFree                // free variable index (checked < len(Captures))
)

// OpInfo describes one opcode.
type OpInfo struct {
	Name    string
	A, B, C OperandKind
	Doc     string // stack-effect style description
}

// The instruction set. Opcode numbers never follow token numbers.
const (
	NOP Op = iota
	MOVE
	LOADK
	LOADINT
	LOADNIL
	LOADBOOL
	GETG
	SETG
	GETBUILTIN
	MKCELL
	GETCELL
	SETCELL
	GETFREE
	SETFREE
	CLOSURE

	ADD
	SUB
	MUL
	DIV
	MOD
	POW
	ADDK
	SUBK
	MULK
	DIVK
	MODK
	UNM
	NOT
	BNOT
	BAND
	BOR
	BXOR
	SHL
	SHR

	EQ
	NE
	LT
	LE
	EQK
	NEK
	LTK
	LEK
	GTK
	GEK

	JMP
	JMPF
	JMPT
	JNIL
	JNNIL
	JNLT
	JNLE
	JNEQ
	JNLTK
	JNLEK
	JNGTK
	JNGEK
	JNEQK

	FORPREP
	FORLOOP
	ITERPREP
	ITERNEXT

	CALL
	CALLKW
	CALLV
	CALLM
	RET
	RETNIL
	JARG

	NEWARRAY
	ARRPUSH
	ARRSPREAD
	NEWOBJ
	OBJSET
	OBJSPREAD
	GETFIELD
	GETFIELDOPT
	SETFIELD
	GETINDEX
	GETINDEXOPT
	SETINDEX
	SLICE
	IN
	ISTYPE
	CONCAT
	RANGE
	RANGEI
	UNIT

	MATCHTAG
	GETSLOT
	LEN
	STRPREFIX
	UNWRAPQ
	MATCHFAIL
	DEFTYPE

	THROW
	TRYBEGIN
	TRYEND

	ATOMIC

	UNWRAPFAIL

	DEFMETHOD

	YIELD

	UNPACK

	GT
	GE
	JNGT
	JNGE

	JNNILNAN

	numOps
)

// Ops is the instruction table, indexed by opcode.
var Ops = [numOps]OpInfo{
	NOP:        {"NOP", ONone, ONone, ONone, "- NOP -"},
	MOVE:       {"MOVE", OReg, OReg, ONone, "R[A] = R[B]"},
	LOADK:      {"LOADK", OReg, OConst, ONone, "R[A] = K[B]"},
	LOADINT:    {"LOADINT", OReg, OImm, ONone, "R[A] = sB (signed immediate)"},
	LOADNIL:    {"LOADNIL", OReg, OCount, ONone, "R[A..A+B] = nil"},
	LOADBOOL:   {"LOADBOOL", OReg, OCount, ONone, "R[A] = B != 0"},
	GETG:       {"GETG", OReg, OGlobal, ONone, "R[A] = G[B]"},
	SETG:       {"SETG", OReg, OGlobal, ONone, "G[B] = R[A]"},
	GETBUILTIN: {"GETBUILTIN", OReg, OBuiltin, ONone, "R[A] = builtin named Builtins[B]"},
	MKCELL:     {"MKCELL", OReg, ONone, ONone, "R[A] = new cell holding R[A]"},
	GETCELL:    {"GETCELL", OReg, OReg, ONone, "R[A] = cell R[B] .value"},
	SETCELL:    {"SETCELL", OReg, OReg, ONone, "cell R[A] .value = R[B]"},
	GETFREE:    {"GETFREE", OReg, OFree, ONone, "R[A] = free[B].value"},
	SETFREE:    {"SETFREE", OReg, OFree, ONone, "free[B].value = R[A]"},
	CLOSURE:    {"CLOSURE", OReg, OFunc, ONone, "R[A] = closure of Funcs[B] capturing its Captures"},

	ADD:  {"ADD", OReg, OReg, OReg, "R[A] = R[B] + R[C]"},
	SUB:  {"SUB", OReg, OReg, OReg, "R[A] = R[B] - R[C]"},
	MUL:  {"MUL", OReg, OReg, OReg, "R[A] = R[B] * R[C]"},
	DIV:  {"DIV", OReg, OReg, OReg, "R[A] = R[B] / R[C] (Float)"},
	MOD:  {"MOD", OReg, OReg, OReg, "R[A] = R[B] % R[C]"},
	POW:  {"POW", OReg, OReg, OReg, "R[A] = R[B] ** R[C]"},
	ADDK: {"ADDK", OReg, OReg, OConst, "R[A] = R[B] + K[C]"},
	SUBK: {"SUBK", OReg, OReg, OConst, "R[A] = R[B] - K[C]"},
	MULK: {"MULK", OReg, OReg, OConst, "R[A] = R[B] * K[C]"},
	DIVK: {"DIVK", OReg, OReg, OConst, "R[A] = R[B] / K[C]"},
	MODK: {"MODK", OReg, OReg, OConst, "R[A] = R[B] % K[C]"},
	UNM:  {"UNM", OReg, OReg, ONone, "R[A] = -R[B]"},
	NOT:  {"NOT", OReg, OReg, ONone, "R[A] = not R[B]"},
	BNOT: {"BNOT", OReg, OReg, ONone, "R[A] = ~R[B]"},
	BAND: {"BAND", OReg, OReg, OReg, "R[A] = R[B] & R[C]"},
	BOR:  {"BOR", OReg, OReg, OReg, "R[A] = R[B] | R[C]"},
	BXOR: {"BXOR", OReg, OReg, OReg, "R[A] = R[B] ^ R[C]"},
	SHL:  {"SHL", OReg, OReg, OReg, "R[A] = R[B] << R[C]"},
	SHR:  {"SHR", OReg, OReg, OReg, "R[A] = R[B] >> R[C]"},

	EQ:  {"EQ", OReg, OReg, OReg, "R[A] = R[B] == R[C]"},
	NE:  {"NE", OReg, OReg, OReg, "R[A] = R[B] != R[C]"},
	LT:  {"LT", OReg, OReg, OReg, "R[A] = R[B] < R[C]"},
	LE:  {"LE", OReg, OReg, OReg, "R[A] = R[B] <= R[C]"},
	EQK: {"EQK", OReg, OReg, OConst, "R[A] = R[B] == K[C]"},
	NEK: {"NEK", OReg, OReg, OConst, "R[A] = R[B] != K[C]"},
	LTK: {"LTK", OReg, OReg, OConst, "R[A] = R[B] < K[C]"},
	LEK: {"LEK", OReg, OReg, OConst, "R[A] = R[B] <= K[C]"},
	GTK: {"GTK", OReg, OReg, OConst, "R[A] = R[B] > K[C]"},
	GEK: {"GEK", OReg, OReg, OConst, "R[A] = R[B] >= K[C]"},

	JMP:   {"JMP", ONone, OJump, ONone, "pc = B"},
	JMPF:  {"JMPF", OReg, OJump, ONone, "if not truthy(R[A]) pc = B"},
	JMPT:  {"JMPT", OReg, OJump, ONone, "if truthy(R[A]) pc = B"},
	JNIL:  {"JNIL", OReg, OJump, ONone, "if R[A] == nil pc = B"},
	JNNIL: {"JNNIL", OReg, OJump, ONone, "if R[A] != nil pc = B"},
	JNLT:  {"JNLT", OReg, OReg, OJump, "if not (R[A] < R[B]) pc = C"},
	JNLE:  {"JNLE", OReg, OReg, OJump, "if not (R[A] <= R[B]) pc = C"},
	JNEQ:  {"JNEQ", OReg, OReg, OJump, "if not (R[A] == R[B]) pc = C"},
	JNLTK: {"JNLTK", OReg, OConst, OJump, "if not (R[A] < K[B]) pc = C"},
	JNLEK: {"JNLEK", OReg, OConst, OJump, "if not (R[A] <= K[B]) pc = C"},
	JNGTK: {"JNGTK", OReg, OConst, OJump, "if not (R[A] > K[B]) pc = C"},
	JNGEK: {"JNGEK", OReg, OConst, OJump, "if not (R[A] >= K[B]) pc = C"},
	JNEQK: {"JNEQK", OReg, OConst, OJump, "if not (R[A] == K[B]) pc = C"},

	FORPREP:  {"FORPREP", OReg, OJump, OCount, "R[A]=start R[A+1]=limit R[A+2]=step (C=1: the limit is in the range; C=2: R[A+2] = -1 if the limit is below the start, else 1, as range(a, b)); if empty pc = B else R[A+3] = R[A]"},
	FORLOOP:  {"FORLOOP", OReg, OJump, OCount, "R[A] += R[A+2] unless it passes an Int's range; if R[A] before R[A+1] (or at it, C=1) { R[A+3] = R[A]; pc = B }"},
	ITERPREP: {"ITERPREP", OReg, OReg, OCount, "R[A] = iterator over R[B] yielding C values per step"},
	ITERNEXT: {"ITERNEXT", OReg, OReg, OJump, "advance iterator R[A] into R[B] (and R[B+1]); if exhausted pc = C"},

	CALL:   {"CALL", OReg, OCount, ONone, "R[A] = R[A](R[A+1..A+B])"},
	CALLKW: {"CALLKW", OReg, OCount, OConst, "R[A] = R[A](R[A+1..A+B]) where the last len(K[C]) arguments are named K[C]"},
	CALLV:  {"CALLV", OReg, OReg, ONone, "R[A] = R[A](...array R[B])"},
	CALLM:  {"CALLM", OReg, OCount, OConst, "R[A] = R[A+1].K[C](R[A+2..A+1+B])"},
	RET:    {"RET", OReg, ONone, ONone, "return R[A]"},
	RETNIL: {"RETNIL", ONone, ONone, ONone, "return nil"},
	JARG:   {"JARG", OCount, OJump, ONone, "if parameter A was passed pc = B"},

	NEWARRAY:    {"NEWARRAY", OReg, OReg, OCount, "R[A] = [R[B..B+C]]"},
	ARRPUSH:     {"ARRPUSH", OReg, OReg, ONone, "R[A].push(R[B])"},
	ARRSPREAD:   {"ARRSPREAD", OReg, OReg, ONone, "R[A].push(...R[B])"},
	NEWOBJ:      {"NEWOBJ", OReg, OConst, OReg, "R[A] = object with keys K[B] and values R[C..]"},
	OBJSET:      {"OBJSET", OReg, OReg, OReg, "R[A][R[B]] = R[C] (object key set)"},
	OBJSPREAD:   {"OBJSPREAD", OReg, OReg, ONone, "copy the entries of R[B] into object R[A]"},
	GETFIELD:    {"GETFIELD", OReg, OReg, OConst, "R[A] = R[B].K[C]"},
	GETFIELDOPT: {"GETFIELDOPT", OReg, OReg, OConst, "R[A] = R[B]?.K[C]"},
	SETFIELD:    {"SETFIELD", OReg, OConst, OReg, "R[A].K[B] = R[C]"},
	GETINDEX:    {"GETINDEX", OReg, OReg, OReg, "R[A] = R[B][R[C]]"},
	GETINDEXOPT: {"GETINDEXOPT", OReg, OReg, OReg, "R[A] = R[B]?[R[C]]"},
	SETINDEX:    {"SETINDEX", OReg, OReg, OReg, "R[A][R[B]] = R[C]"},
	SLICE:       {"SLICE", OReg, OReg, ONone, "R[A] = R[B][R[B+1]:R[B+2]:R[B+3]]"},
	IN:          {"IN", OReg, OReg, OReg, "R[A] = R[B] in R[C]"},
	ISTYPE:      {"ISTYPE", OReg, OReg, OConst, "R[A] = R[B] is type named K[C]"},
	CONCAT:      {"CONCAT", OReg, OReg, OCount, "R[A] = str(R[B]) + ... + str(R[B+C-1])"},
	RANGE:       {"RANGE", OReg, OReg, OReg, "R[A] = R[B]..R[C]"},
	RANGEI:      {"RANGEI", OReg, OReg, OReg, "R[A] = R[B]..=R[C]"},
	UNIT:        {"UNIT", OReg, OReg, OConst, "R[A] = R[B] of unit K[C] (duration or size)"},

	MATCHTAG:  {"MATCHTAG", OReg, OReg, OConst, "R[A] = R[B] is a variant or record tagged K[C]"},
	GETSLOT:   {"GETSLOT", OReg, OReg, OCount, "R[A] = field number C of the variant/record R[B]"},
	LEN:       {"LEN", OReg, OReg, ONone, "R[A] = len(R[B])"},
	STRPREFIX: {"STRPREFIX", OReg, OReg, OConst, "R[A] = R[B] is a string starting with K[C]"},
	UNWRAPQ:   {"UNWRAPQ", OReg, OReg, OJump, "if R[B] is Err/None pc = C else R[A] = payload of R[B]"},
	MATCHFAIL: {"MATCHFAIL", OReg, ONone, ONone, "raise 'no match arm matched R[A]'"},
	DEFTYPE:   {"DEFTYPE", OReg, OType, OCount, "R[A] = constructor C of Types[B] (0 = the type itself, i = variant i-1)"},

	THROW:    {"THROW", OReg, ONone, ONone, "raise R[A]"},
	TRYBEGIN: {"TRYBEGIN", OReg, OJump, OJump, "push handler: on error R[A] = error value, pc = B; on cancellation, pc = C if C is not 0 (the finally block, which raises it again)"},
	TRYEND:   {"TRYEND", ONone, ONone, ONone, "pop the innermost handler"},
	ATOMIC:   {"ATOMIC", OCount, ONone, ONone, "A=1: a statement writing module state begins (the thread gives way in it only after a long slice); A=0: it ends"},

	UNWRAPFAIL: {"UNWRAPFAIL", OReg, ONone, ONone, "raise '? on R[A] outside a function' (the top level has nothing to return from)"},

	DEFMETHOD: {"DEFMETHOD", OReg, OType, OConst, "give Types[B] the function R[A] as K[C]: a method if its first parameter is self, else an associated function"},

	YIELD: {"YIELD", OReg, OReg, ONone, "suspend the generator running this function, giving R[A]; resumed, R[B] = the value the step was given"},

	UNPACK: {"UNPACK", OReg, ONone, OConst, "raise a TypeError unless R[A] is a List, Range or String, which the list pattern K[C] (its text) destructures"},

	GT:   {"GT", OReg, OReg, OReg, "R[A] = R[B] > R[C]"},
	GE:   {"GE", OReg, OReg, OReg, "R[A] = R[B] >= R[C]"},
	JNGT: {"JNGT", OReg, OReg, OJump, "if not (R[A] > R[B]) pc = C"},
	JNGE: {"JNGE", OReg, OReg, OJump, "if not (R[A] >= R[B]) pc = C"},

	JNNILNAN: {"JNNILNAN", OReg, OJump, ONone, "if R[A] != nil and R[A] is not NaN pc = B"},
}

// FallsThrough reports whether the instruction after op can run next:
// false for the returns, the unconditional jump and the raises, which
// may end a function.
func (op Op) FallsThrough() bool {
	switch op {
	case RET, RETNIL, JMP, THROW, MATCHFAIL, UNWRAPFAIL:
		return false
	}
	return true
}

func (op Op) String() string {
	if op < numOps && Ops[op].Name != "" {
		return Ops[op].Name
	}
	return fmt.Sprintf("OP%d", uint8(op))
}

// NumOps is the number of defined opcodes.
const NumOps = int(numOps)

// Valid reports whether op is a defined opcode.
func (op Op) Valid() bool { return op < numOps && Ops[op].Name != "" }
