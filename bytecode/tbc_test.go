package bytecode

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// tbcSample is a small program shaped like compiler output that sets
// every field of Program and of everything in it.
func tbcSample() *Program {
	p := &Program{
		Files: []SourceFile{
			{Name: "main.tova", Hash: sha256.Sum256([]byte("main"))},
			{Name: "lib/greet.tova", Hash: sha256.Sum256([]byte("greet"))},
		},
		SourceHash: sha256.Sum256([]byte("main greet")),
		Constants: []Constant{
			{Kind: KNil},
			{Kind: KInt, Int: 42},
			{Kind: KInt, Int: -7},
			{Kind: KFloat, Float: 1.5},
			{Kind: KFloat, Float: 2},
			{Kind: KString, Str: "hello\n"},
			{Kind: KBool, Int: 1},
			{Kind: KBool},
			{Kind: KNames, Names: []string{"x", "y"}},
			{Kind: KString, Str: "name"},
			{Kind: KNames, Names: []string{"sep"}},
			{Kind: KFloat, Float: math.Inf(-1)},
			{Kind: KInt, Int: math.MinInt64},
			{Kind: KString},
		},
		Types: []*TypeDesc{
			{Name: "Point", Fields: []string{"x", "y"}, Derive: []string{"Eq", "Show"}, Defaults: []int{0, 2}},
			{Name: "Shape", Variants: []VariantDesc{
				{Name: "Circle", Fields: []string{"r"}},
				{Name: "Rect", Fields: []string{"w", "h"}, Defaults: []int{0, 4}},
				{Name: "Empty"},
			}},
		},
		Builtins: []string{"print", "len"},
		Globals: []string{"counter", "greet", "api:port", "api:GET /users/:id", "api:guard 0",
			"api:health", "api:log", "api:cleanup", "api:cors", "api:discover", "db"},
		Servers: []*Server{
			{
				Name:    "api",
				Pos:     Pos{Line: 20, Col: 1},
				Init:    3,
				Port:    2,
				PortPos: Pos{Line: 21, Col: 3},
				Routes: []Route{
					{Kind: "route", Method: "GET", Path: "/users/:id", Slot: 3, Guards: []int{4}, Pos: Pos{Line: 22, Col: 3}},
					{Kind: "health", Method: "GET", Path: "/health", Slot: 5, Pos: Pos{Line: 23, Col: 3}},
				},
				Hooks: []Hook{
					{Kind: "middleware", Name: "log", Slot: 6, Pos: Pos{Line: 24, Col: 3}},
					{Kind: "schedule", Name: "cleanup", Arg: "0 * * * *", Slot: 7, Pos: Pos{Line: 25, Col: 3}},
				},
				Configs: []Config{
					{Kind: "cors", Slot: 8, Pos: Pos{Line: 26, Col: 3}},
					{Kind: "discover", Name: "worker", Slot: 9, Pos: Pos{Line: 27, Col: 3}},
				},
			},
			{Init: 4, Port: -1, Pos: Pos{Line: 30, Col: 1}},
		},
		Configs: []Config{{Kind: "db", Slot: 10, Pos: Pos{Line: 2, Col: 1}}},
	}
	main := &Func{
		Name:    "<main>",
		Pos:     Pos{Line: 1, Col: 1},
		NumRegs: 6,
		Code: []Instr{
			Make(LOADINT, 0, SBias+3, 0),
			Make(SETG, 0, 0, 0),
			Make(MKCELL, 0, 0, 0),
			Make(CLOSURE, 1, 1, 0),
			Make(SETG, 1, 1, 0),
			Make(GETG, 2, 1, 0),
			Make(LOADK, 3, 5, 0),
			Make(LOADK, 4, 13, 0),
			Make(CALLKW, 2, 2, 10),
			Make(GETBUILTIN, 3, 0, 0),
			Make(NEWOBJ, 4, 8, 4),
			Make(CALL, 3, 1, 0),
			Make(FORPREP, 1, 15, 0),
			Make(ADDK, 0, 0, 1),
			Make(FORLOOP, 1, 13, 0),
			Make(RETNIL, 0, 0, 0),
		},
		Lines: []LineEntry{
			{PC: 0, Pos: Pos{Line: 1, Col: 1}},
			{PC: 2, Pos: Pos{Line: 3, Col: 5}},
			{PC: 5, Pos: Pos{Line: 8, Col: 1}},
			{PC: 9, Pos: Pos{Line: 9, Col: 1}},
			{PC: 9, Pos: Pos{Line: 9, Col: 7}},
			{PC: 12, Pos: Pos{Line: 2, Col: 120}},
		},
	}
	greet := &Func{
		Name:       "greet",
		File:       1,
		Pos:        Pos{Line: 3, Col: 1},
		NumParams:  2,
		ParamNames: []string{"name", "sep"},
		ParamTypes: []string{"String", ""},
		HasRest:    true,
		NumRegs:    8,
		Async:      true,
		Code: []Instr{
			Make(JARG, 1, 2, 0),
			Make(LOADK, 1, 13, 0),
			Make(GETFREE, 3, 0, 0),
			Make(ADDK, 3, 3, 1),
			Make(SETFREE, 3, 0, 0),
			Make(CLOSURE, 4, 2, 0),
			Make(CONCAT, 5, 0, 2),
			Make(RET, 5, 0, 0),
			Make(ITERPREP, 5, 2, 2),
			Make(ITERNEXT, 5, 6, 11),
			Make(JMP, 0, 9, 0),
			Make(RETNIL, 0, 0, 0),
		},
		Lines: []LineEntry{
			{PC: 0, Pos: Pos{Line: 3, Col: 20}},
			{PC: 2, Pos: Pos{Line: 4, Col: 3}},
			{PC: 6, Pos: Pos{Line: 5, Col: 3}},
		},
		Captures: []Capture{{Index: 0}},
	}
	inner := &Func{
		File:     1,
		Pos:      Pos{Line: 4, Col: 10},
		NumRegs:  1,
		Code:     []Instr{Make(GETFREE, 0, 0, 0), Make(RET, 0, 0, 0)},
		Captures: []Capture{{FromParentFree: true, Index: 0}},
	}
	apiInit := &Func{
		Name:    "server api",
		Pos:     Pos{Line: 20, Col: 1},
		NumRegs: 2,
		Code: []Instr{
			Make(LOADINT, 0, SBias+8080, 0),
			Make(SETG, 0, 2, 0),
			Make(GETG, 1, 1, 0),
			Make(SETG, 1, 3, 0),
			Make(RETNIL, 0, 0, 0),
		},
		Lines: []LineEntry{{PC: 0, Pos: Pos{Line: 21, Col: 9}}, {PC: 2, Pos: Pos{Line: 22, Col: 3}}},
	}
	plainInit := &Func{Name: "server", Pos: Pos{Line: 30, Col: 1}, Code: []Instr{Make(RETNIL, 0, 0, 0)}}
	p.Funcs = []*Func{main, greet, inner, apiInit, plainInit}
	return p
}

// tbcAllOps is a program with one instruction of every opcode, each
// with operands chosen from its kinds to be valid.
func tbcAllOps() *Program {
	p := &Program{
		Files: []SourceFile{{Name: "ops.tova"}},
		Constants: []Constant{
			{Kind: KInt, Int: 1},
			{Kind: KString, Str: "field"},
			{Kind: KNames, Names: []string{"a", "b"}},
		},
		Types: []*TypeDesc{
			{Name: "Point", Fields: []string{"x", "y"}},
			{Name: "Option", Variants: []VariantDesc{{Name: "Some", Fields: []string{"v"}}, {Name: "None"}}},
		},
		Builtins: []string{"print"},
		Globals:  []string{"g"},
	}
	main := &Func{
		Name:    "<main>",
		NumRegs: 1,
		Code:    []Instr{Make(MKCELL, 0, 0, 0), Make(CLOSURE, 0, 1, 0), Make(RETNIL, 0, 0, 0)},
	}
	f := &Func{
		Name:       "ops",
		Pos:        Pos{Line: 1, Col: 1},
		NumParams:  3,
		ParamNames: []string{"a", "b", "c"},
		NumRegs:    8,
		Captures:   []Capture{{Index: 0}},
	}
	for op := range Op(NumOps) {
		info := Ops[op]
		var v [3]int
		for slot, kind := range [3]OperandKind{info.A, info.B, info.C} {
			switch kind {
			case OReg:
				v[slot] = 1
			case OConst:
				v[slot] = 0
				if s, kind, ok := constOperand(op); ok && s == slot {
					v[slot] = map[ConstKind]int{KString: 1, KNames: 2}[kind]
				}
			case OCount:
				v[slot] = 2
			case OJump:
				v[slot] = int(op) + 1
			case OImm:
				v[slot] = SBias - 3
			case OFunc:
				v[slot] = 2
			case OType:
				v[slot] = 1
			}
		}
		switch op {
		case GETCELL, GETFREE:
			// r1 keeps the cell MKCELL made, for SETCELL and CLOSURE.
			v[0] = 2
		}
		f.Code = append(f.Code, Make(op, v[0], v[1], v[2]))
		f.Lines = append(f.Lines, LineEntry{PC: uint32(op), Pos: Pos{Line: int32(op) + 2, Col: 3}})
	}
	f.Code = append(f.Code, Make(RETNIL, 0, 0, 0)) // (no function runs past its end)
	closed := &Func{
		Name:     "closed",
		Pos:      Pos{Line: 200, Col: 1},
		NumRegs:  1,
		Code:     []Instr{Make(RETNIL, 0, 0, 0)},
		Captures: []Capture{{Index: 1}, {FromParentFree: true, Index: 0}},
	}
	p.Funcs = []*Func{main, f, closed}
	return p
}

// tbcMinimal is the smallest valid program: a main function that
// returns.
func tbcMinimal() *Program {
	return &Program{Funcs: []*Func{{Code: []Instr{Make(RETNIL, 0, 0, 0)}}}}
}

func mustEncode(tb testing.TB, p *Program) []byte {
	tb.Helper()
	b, err := Encode(p)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestTbcRoundTrip(t *testing.T) {
	for name, p := range map[string]*Program{"sample": tbcSample(), "allops": tbcAllOps(), "minimal": tbcMinimal()} {
		t.Run(name, func(t *testing.T) {
			b := mustEncode(t, p)
			q, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p, q) {
				t.Errorf("decoded program differs\n got %#v\nwant %#v", q, p)
			}
			b2 := mustEncode(t, q)
			if !bytes.Equal(b, b2) {
				t.Errorf("re-encoding differs: %d bytes, then %d", len(b), len(b2))
			}
			if b3 := mustEncode(t, p); !bytes.Equal(b, b3) {
				t.Error("Encode is not deterministic")
			}
		})
	}
}

func TestTbcAllOpsCoversEveryOpcode(t *testing.T) {
	seen := map[Op]bool{}
	for _, in := range tbcAllOps().Funcs[1].Code {
		seen[in.Op()] = true
	}
	for op := range Op(NumOps) {
		if !seen[op] {
			t.Errorf("%v missing from the all-opcodes program", op)
		}
	}
}

func TestOpTable(t *testing.T) {
	names := map[string]Op{}
	for op := range Op(NumOps) {
		info := Ops[op]
		if info.Name == "" || info.Doc == "" {
			t.Errorf("opcode %d has no name or doc", op)
			continue
		}
		if prev, dup := names[info.Name]; dup {
			t.Errorf("opcodes %d and %d are both named %s", prev, op, info.Name)
		}
		names[info.Name] = op
		if op.String() != info.Name || !op.Valid() {
			t.Errorf("opcode %d: String() = %q, Valid() = %v", op, op.String(), op.Valid())
		}
		for slot, kind := range [3]OperandKind{info.A, info.B, info.C} {
			if kind > OFree {
				t.Errorf("%s operand %s has unknown kind %d", info.Name, slotNames[slot], kind)
			}
			if kind == OImm && slot != 1 {
				t.Errorf("%s: a signed immediate must be operand B", info.Name)
			}
		}
		if len(info.Name) > 11 {
			t.Errorf("%s: name longer than the disassembler's column", info.Name)
		}
	}
	if s := Op(NumOps).String(); s != fmt.Sprintf("OP%d", NumOps) {
		t.Errorf("String of an undefined opcode = %q", s)
	}
	if Op(NumOps).Valid() || Op(255).Valid() {
		t.Error("undefined opcodes report Valid")
	}
	in := Make(CALLKW, MaxA, MaxB, MaxC)
	if in.Op() != CALLKW || in.A() != MaxA || in.B() != MaxB || in.C() != MaxC {
		t.Errorf("Make does not round-trip its fields: %v %d %d %d", in.Op(), in.A(), in.B(), in.C())
	}
	if Make(LOADINT, 0, SBias-5, 0).SB() != -5 {
		t.Error("signed immediate does not round-trip")
	}
}

// Test helpers that take a valid file apart and put it back together.

type rawSection struct {
	tag     byte
	payload []byte
}

func splitTbc(tb testing.TB, b []byte) (header []byte, secs []rawSection) {
	tb.Helper()
	off := headerSize
	for b[off] != tagEnd {
		n, w := binary.Uvarint(b[off+1:])
		start := off + 1 + w
		secs = append(secs, rawSection{b[off], b[start : start+int(n)]})
		off = start + int(n)
	}
	return b[:headerSize], secs
}

func joinTbc(header []byte, secs []rawSection) []byte {
	out := slices.Clone(header)
	for _, s := range secs {
		out = append(out, s.tag)
		out = binary.AppendUvarint(out, uint64(len(s.payload)))
		out = append(out, s.payload...)
	}
	out = append(out, tagEnd)
	return binary.LittleEndian.AppendUint32(out, crc32.Checksum(out, castagnoli))
}

// reseal recomputes the trailing checksum of b in place.
func reseal(b []byte) []byte {
	if len(b) >= 4 {
		binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.Checksum(b[:len(b)-4], castagnoli))
	}
	return b
}

// withPayload replaces the payload of the section tagged tag.
func withPayload(tb testing.TB, b []byte, tag byte, payload []byte) []byte {
	h, secs := splitTbc(tb, b)
	for i := range secs {
		if secs[i].tag == tag {
			secs[i].payload = payload
		}
	}
	return joinTbc(h, secs)
}

// damagedCase is a file damaged in one way and the error Decode must
// report for it.
type damagedCase struct {
	name    string
	data    []byte
	section string
	msg     string
}

// tbcDamaged builds one damaged file per rejection Decode can make
// before validation.
func tbcDamaged(tb testing.TB) []damagedCase {
	good := mustEncode(tb, tbcSample())
	h, secs := splitTbc(tb, good)
	edit := func(f func(b []byte) []byte) []byte { return f(slices.Clone(good)) }
	without := func(tag byte) []byte {
		return joinTbc(h, slices.DeleteFunc(slices.Clone(secs), func(s rawSection) bool { return s.tag == tag }))
	}
	swapped := slices.Clone(secs)
	swapped[1], swapped[2] = swapped[2], swapped[1]
	dup := slices.Insert(slices.Clone(secs), 2, secs[1])
	unknown := slices.Insert(slices.Clone(secs), 7, rawSection{9, []byte{0}})
	uv := func(xs ...uint64) []byte {
		var b []byte
		for _, x := range xs {
			b = binary.AppendUvarint(b, x)
		}
		return b
	}
	// Well-framed files whose instructions break the rules Validate
	// enforces; encode skips the check Encode would make.
	mutated := func(edit func(p *Program)) []byte {
		p := tbcSample()
		edit(p)
		return encode(p)
	}
	// Where each section's tag is, for truncation.
	sectionAt := map[byte]int{}
	off := headerSize
	for _, s := range secs {
		sectionAt[s.tag] = off
		off += 1 + len(binary.AppendUvarint(nil, uint64(len(s.payload)))) + len(s.payload)
	}
	constAt := sectionAt[tagConstants] + 2 // the constants payload

	return []damagedCase{
		{"empty", nil, "magic", "not a .tbc file (empty)"},
		{"text", []byte("print(\"hello\")\n"), "magic", "not a .tbc file"},
		{"crlf", edit(func(b []byte) []byte { return slices.Delete(b, 4, 5) }), "magic",
			"not a .tbc file (its line endings were converted: copy it as binary)"},
		{"lf-to-crlf", edit(func(b []byte) []byte {
			return append(append(slices.Clip(b[:4]), "\r\r\n\x1a\r\n"...), b[8:]...)
		}), "magic", "not a .tbc file (its line endings were converted: copy it as binary)"},
		// (one byte changed, which no conversion does, was said to be one)
		{"magic-byte", edit(func(b []byte) []byte { b[5] = 0x0b; return b }), "magic", "not a .tbc file (its header is damaged)"},
		{"short-header", good[:11], "header", "truncated header"},
		{"version", edit(func(b []byte) []byte { b[8] = 1; return b }), "version",
			fmt.Sprintf("built for .tbc format 1, this tova reads %d", Version)},
		// (a format far past this one: a damaged header, not a newer tova)
		{"version-far", edit(func(b []byte) []byte { b[8], b[9] = 0x10, 0xf4; return b }), "version",
			fmt.Sprintf("not a .tbc file of any tova (its header names format 62480, and this tova reads %d: it is damaged)", Version)},
		{"flags", edit(func(b []byte) []byte { b[10] = 4; return b }), "header", "unknown flags 0x4"},
		{"no-sections", good[:headerSize], "sources", "truncated sources section"},
		{"cut-constants", good[:constAt+5], "constants", "truncated constants section"},
		{"cut-functions", good[:sectionAt[tagFunctions]+40], "functions", "truncated functions section"},
		{"no-trailer", good[:len(good)-5], "checksum", "truncated checksum"},
		{"cut-checksum", good[:len(good)-2], "checksum", "truncated checksum"},
		{"bit-flip", edit(func(b []byte) []byte { b[constAt+3] ^= 0x10; return b }), "checksum",
			"checksum mismatch: file is corrupted"},
		{"bad-checksum", edit(func(b []byte) []byte { b[len(b)-1]++; return b }), "checksum",
			"checksum mismatch: file is corrupted"},
		{"trailing", append(slices.Clone(good), 0, 0, 0), "file", "trailing bytes after checksum (3)"},
		{"out-of-order", joinTbc(h, swapped), "file", "out-of-order section: constants after types"},
		{"duplicate", joinTbc(h, dup), "file", "duplicate constants section"},
		{"missing-constants", without(tagConstants), "file", "missing constants section"},
		{"missing-servers", without(tagServers), "file", "missing servers section"},
		{"unknown-section", joinTbc(h, unknown), "file", "unknown tag-9 section"},
		{"count-too-big", withPayload(tb, good, tagConstants, uv(1000, 0)), "constants", "truncated constants section"},
		{"string-too-long", withPayload(tb, good, tagGlobals, uv(1, 50, 'x')), "globals", "truncated globals section"},
		{"const-kind", withPayload(tb, good, tagConstants, []byte{1, 9}), "constants", "constant 0 has unknown kind 9"},
		{"bool-byte", withPayload(tb, good, tagConstants, []byte{1, byte(KBool), 2}), "constants",
			"bad boolean byte 0x02 in constants section"},
		{"long-varint", withPayload(tb, good, tagBuiltins, []byte{0x81, 0x00, 1, 'x'}), "builtins",
			"non-canonical varint in builtins section"},
		{"huge-varint", withPayload(tb, good, tagBuiltins, bytes.Repeat([]byte{0xff}, 11)), "builtins",
			"varint overflows 64 bits in builtins section"},
		{"extra-bytes", withPayload(tb, good, tagServers, uv(0, 7)), "servers",
			"unexpected bytes at end of servers section (1)"},
		{"no-functions", withPayload(tb, good, tagFunctions, uv(0)), "functions", "no main function"},
		{"fn-flags", withPayload(tb, good, tagFunctions, append(uv(1, 0, 0, 0, 0), 0x80, 0, 0, 0, 0, 0, 0, 0)),
			"functions", `function 0 "": unknown flags 0x80`},
		{"too-many-regs", withPayload(tb, good, tagFunctions, append(uv(1, 0, 0, 0, 0), 0, 0, 0x80, 0x80, 0x08, 0, 0, 0, 0, 0)),
			"functions", "register count 131072 too large (limit 65536)"},
		{"bad-opcode", mutated(func(p *Program) { p.Funcs[0].Code[2] = Instr(0xee) }),
			"functions", `function 0 "<main>" pc 2 (OP238): unknown opcode 238`},
		{"bad-register", mutated(func(p *Program) { p.Funcs[1].Code[7] = Make(RET, 8, 0, 0) }),
			"functions", `function 1 "greet" pc 7 (RET): register r8 out of range (8 registers)`},
		{"bad-jump", mutated(func(p *Program) { p.Funcs[0].Code[14] = Make(FORLOOP, 1, 17, 0) }),
			"functions", `function 0 "<main>" pc 14 (FORLOOP): jump target 17 past end of code (16 instructions)`},
		{"bad-shape", mutated(func(p *Program) { p.Funcs[0].Code[10] = Make(NEWOBJ, 4, 9, 4) }),
			"functions", `function 0 "<main>" pc 10 (NEWOBJ): K[9] must be a names constant, found string`},
		{"bad-line", mutated(func(p *Program) { p.Funcs[2].Lines = []LineEntry{{PC: 2}} }),
			"functions", `function 2 "": line table: pc 2 past end of code (2 instructions)`},
	}
}

func TestTbcRejects(t *testing.T) {
	for _, c := range tbcDamaged(t) {
		t.Run(c.name, func(t *testing.T) {
			checkRejected(t, c.data, c.section, c.msg)
		})
	}
}

func checkRejected(t *testing.T, data []byte, section, msg string) *FormatError {
	t.Helper()
	p, err := Decode(data)
	if err == nil {
		t.Fatalf("Decode accepted the file: %d functions", len(p.Funcs))
	}
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v is a %T, not a *FormatError", err, err)
	}
	if fe.Msg != msg || fe.Section != section {
		t.Errorf("got %s: %q\nwant %s: %q", fe.Section, fe.Msg, section, msg)
	}
	if fe.Offset < 0 || fe.Offset > len(data) {
		t.Errorf("offset %d outside the %d-byte input", fe.Offset, len(data))
	}
	return fe
}

func TestTbcEveryTruncation(t *testing.T) {
	good := mustEncode(t, tbcSample())
	for n := range len(good) {
		_, err := Decode(good[:n])
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Fatalf("Decode(first %d bytes) = %v, want a *FormatError", n, err)
		}
		if !strings.HasPrefix(fe.Msg, "truncated ") && !strings.HasPrefix(fe.Msg, "not a .tbc file") {
			t.Errorf("Decode(first %d bytes): %v", n, err)
		}
	}
}

func TestTbcEveryBitFlip(t *testing.T) {
	good := mustEncode(t, tbcSample())
	for i := range len(good) {
		for bit := range 8 {
			b := slices.Clone(good)
			b[i] ^= 1 << bit
			if _, err := Decode(b); err == nil {
				t.Fatalf("flipping bit %d of byte %d went unnoticed", bit, i)
			}
		}
	}
}

func TestTbcErrorText(t *testing.T) {
	for _, c := range []struct {
		err  FormatError
		want string
	}{
		{FormatError{"constants", 123, "truncated constants section", false}, "corrupt .tbc: truncated constants section at byte 123"},
		{FormatError{"magic", 0, "not a .tbc file", false}, "not a .tbc file"},
		{FormatError{"version", 8, "built for .tbc format 3, this tova reads 1", true}, "built for .tbc format 3, this tova reads 1"},
		{FormatError{"header", 10, "unknown flags 0x1", false}, "corrupt .tbc: unknown flags 0x1 at byte 10"},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("Error() = %q, want %q", got, c.want)
		}
	}
}

// TestDecodeValidation encodes programs that break one rule each,
// bypassing Encode's own check, and requires Decode, Validate and
// Encode to reject them with the same message.
func TestDecodeValidation(t *testing.T) {
	type mutation struct {
		name    string
		edit    func(p *Program)
		msg     string // Msg of the FormatError
		section string // Section of the FormatError, when not "functions"
	}
	setMain := func(pc int, in Instr) func(p *Program) {
		return func(p *Program) { p.Funcs[0].Code[pc] = in }
	}
	// Function 0 has 6 registers, 16 instructions; the program has 14
	// constants, 5 functions, 2 types, 2 builtins, 11 globals.
	at := func(pc int, op Op, msg string) string {
		return fmt.Sprintf("function 0 %q pc %d (%s): %s", "<main>", pc, op, msg)
	}
	backJump := func(target int) string {
		return fmt.Sprintf("conditional jump back to pc %d (only JMP and FORLOOP jump back, where the VM checks deadlines and signals)", target)
	}
	for _, m := range []mutation{
		{"unknown-op", setMain(3, Instr(250)), at(3, 250, "unknown opcode 250"), ""},
		{"register", setMain(3, Make(MOVE, 0, 6, 0)), at(3, MOVE, "register r6 out of range (6 registers)"), ""},
		{"register-A", setMain(3, Make(ADD, 9, 0, 0)), at(3, ADD, "register r9 out of range (6 registers)"), ""},
		{"constant", setMain(3, Make(LOADK, 0, 14, 0)), at(3, LOADK, "constant K[14] out of range (14 constants)"), ""},
		{"jump", setMain(3, Make(JMP, 0, 17, 0)), at(3, JMP, "jump target 17 past end of code (16 instructions)"), ""},
		{"jump-C", setMain(3, Make(JNEQK, 0, 1, 99)), at(3, JNEQK, "jump target 99 past end of code (16 instructions)"), ""},
		// a target at the end: a handler there (B, or a cancellation's C)
		// ran the memory after the code
		{"jump-end", setMain(3, Make(JMP, 0, 16, 0)), at(3, JMP, "jump target 16 past end of code (16 instructions)"), ""},
		{"try-end", setMain(3, Make(TRYBEGIN, 0, 16, 0)), at(3, TRYBEGIN, "jump target 16 past end of code (16 instructions)"), ""},
		{"try-cleanup-end", setMain(3, Make(TRYBEGIN, 0, 5, 16)), at(3, TRYBEGIN, "jump target 16 past end of code (16 instructions)"), ""},
		{"jump-back", setMain(3, Make(JMPF, 0, 1, 0)), at(3, JMPF, backJump(1)), ""},
		{"jump-self", setMain(3, Make(JNIL, 0, 3, 0)), at(3, JNIL, backJump(3)), ""},
		{"jump-back-C", setMain(3, Make(JNEQK, 0, 1, 2)), at(3, JNEQK, backJump(2)), ""},
		{"forprep-back", setMain(12, Make(FORPREP, 0, 4, 0)), at(12, FORPREP, backJump(4)), ""},
		{"function", setMain(3, Make(CLOSURE, 0, 5, 0)), at(3, CLOSURE, "function F[5] out of range (5 functions)"), ""},
		{"global", setMain(3, Make(GETG, 0, 11, 0)), at(3, GETG, "global G[11] out of range (11 globals)"), ""},
		{"builtin", setMain(3, Make(GETBUILTIN, 0, 2, 0)), at(3, GETBUILTIN, "builtin 2 out of range (2 builtins)"), ""},
		{"type", setMain(3, Make(DEFTYPE, 0, 2, 0)), at(3, DEFTYPE, "type T[2] out of range (2 types)"), ""},
		{"free", setMain(3, Make(GETFREE, 0, 0, 0)), at(3, GETFREE, "free variable 0 out of range (0 captures)"), ""},
		{"unused-operand", setMain(15, Make(RETNIL, 1, 0, 0)), at(15, RETNIL, "unused operand A is 1, must be 0"), ""},
		// (the VM refused it when loading: disasm showed it)
		{"falls-through", setMain(15, Make(MOVE, 0, 1, 0)), at(15, MOVE, "the last instruction falls through: the function would run past its end"), ""},
		{"unused-C", setMain(3, Make(MOVE, 0, 1, 5)), at(3, MOVE, "unused operand C is 5, must be 0"), ""},
		{"newobj-names", setMain(10, Make(NEWOBJ, 4, 5, 4)), at(10, NEWOBJ, "K[5] must be a names constant, found string"), ""},
		{"callkw-names", setMain(8, Make(CALLKW, 2, 2, 9)), at(8, CALLKW, "K[9] must be a names constant, found string"), ""},
		{"callkw-count", setMain(8, Make(CALLKW, 2, 1, 8)), at(8, CALLKW, "2 argument names for 1 arguments"), ""},
		{"getfield-name", setMain(3, Make(GETFIELD, 0, 0, 1)), at(3, GETFIELD, "K[1] must be a string constant, found int"), ""},
		{"setfield-name", setMain(3, Make(SETFIELD, 0, 8, 1)), at(3, SETFIELD, "K[8] must be a string constant, found names"), ""},
		{"forprep", setMain(12, Make(FORPREP, 3, 15, 0)), at(12, FORPREP, "registers r3..r6 out of range (6 registers)"), ""},
		{"forloop", setMain(14, Make(FORLOOP, 3, 13, 0)), at(14, FORLOOP, "registers r3..r6 out of range (6 registers)"), ""},
		{"call", setMain(11, Make(CALL, 3, 3, 0)), at(11, CALL, "registers r3..r6 out of range (6 registers)"), ""},
		{"callm", setMain(11, Make(CALLM, 3, 2, 9)), at(11, CALLM, "registers r3..r6 out of range (6 registers)"), ""},
		{"loadnil", setMain(3, Make(LOADNIL, 5, 1, 0)), at(3, LOADNIL, "registers r5..r6 out of range (6 registers)"), ""},
		{"newarray", setMain(3, Make(NEWARRAY, 0, 4, 3)), at(3, NEWARRAY, "registers r4..r6 out of range (6 registers)"), ""},
		{"newarray-empty", setMain(3, Make(NEWARRAY, 0, 7, 0)), at(3, NEWARRAY, "empty register range at r7 out of range (6 registers)"), ""},
		{"concat", setMain(3, Make(CONCAT, 0, 5, 2)), at(3, CONCAT, "registers r5..r6 out of range (6 registers)"), ""},
		{"slice", setMain(3, Make(SLICE, 0, 3, 0)), at(3, SLICE, "registers r3..r6 out of range (6 registers)"), ""},
		{"newobj", setMain(10, Make(NEWOBJ, 4, 8, 5)), at(10, NEWOBJ, "registers r5..r6 out of range (6 registers)"), ""},
		{"jarg", setMain(3, Make(JARG, 0, 4, 0)), at(3, JARG, "parameter 0 out of range (0 parameters)"), ""},
		{"deftype", setMain(3, Make(DEFTYPE, 0, 1, 4)), at(3, DEFTYPE, "constructor 4 out of range (type Shape has 3 variants)"), ""},
		{"deftype-record", setMain(3, Make(DEFTYPE, 0, 0, 1)), at(3, DEFTYPE, "constructor 1 out of range (type Point has 0 variants)"), ""},
		{"closure-register", func(p *Program) { p.Funcs[1].Captures[0].Index = 6 },
			at(3, CLOSURE, "F[1] capture 0: register r6 out of range (6 registers)"), ""},
		{"closure-free", func(p *Program) { p.Funcs[2].Captures[0].Index = 1 },
			fmt.Sprintf("function 1 %q pc 5 (CLOSURE): F[2] capture 0: free variable 1 out of range (1 captures)", "greet"), ""},
		{"file", func(p *Program) { p.Funcs[1].File = 2 }, `function 1 "greet": file index 2 out of range (2 files)`, ""},
		{"params", func(p *Program) { p.Funcs[1].NumRegs = 2 }, `function 1 "greet": 3 parameters do not fit in 2 registers`, ""},
		{"unit-name", setMain(3, Make(UNIT, 0, 1, 1)), at(3, UNIT, "K[1] must be a string constant, found int"), ""},
		{"iterprep-width", func(p *Program) { p.Funcs[1].Code[8] = Make(ITERPREP, 5, 2, 3) },
			`function 1 "greet" pc 8 (ITERPREP): iterator yields 3 values per step, must be 1 or 2`, ""},
		{"iternext-pairs", func(p *Program) { p.Funcs[1].Code[9] = Make(ITERNEXT, 5, 7, 11) },
			`function 1 "greet" pc 9 (ITERNEXT): registers r7..r8 out of range (8 registers)`, ""},
		{"iternext-alone", func(p *Program) { p.Funcs[1].Code[9] = Make(ITERNEXT, 4, 6, 11) },
			`function 1 "greet" pc 9 (ITERNEXT): no ITERPREP makes an iterator in r4`, ""},
		{"main-captures", func(p *Program) { p.Funcs[0].Captures = []Capture{{Index: 0}} },
			`function 0 "<main>": the main function cannot have captures (it has 1)`, ""},
		{"server-init", func(p *Program) { p.Servers[0].Init = 5 },
			`server 0 "api": init function F[5] out of range (5 functions)`, "servers"},
		{"server-init-captures", func(p *Program) { p.Servers[1].Init = 1 },
			`server 1 "": init function F[1] cannot have captures (it has 1)`, "servers"},
		{"server-port", func(p *Program) { p.Servers[0].Port = 11 },
			`server 0 "api": port slot G[11] out of range (11 globals)`, "servers"},
		{"route-slot", func(p *Program) { p.Servers[0].Routes[1].Slot = 12 },
			`server 0 "api": route 1 (GET /health): slot G[12] out of range (11 globals)`, "servers"},
		{"route-guard", func(p *Program) { p.Servers[0].Routes[0].Guards = []int{4, 11} },
			`server 0 "api": route 0 (GET /users/:id): guard slot G[11] out of range (11 globals)`, "servers"},
		{"route-kind", func(p *Program) { p.Servers[0].Routes[1].Kind = "xxxxx" },
			`server 0 "api": route 1 (GET /health): unknown kind "xxxxx"`, "servers"},
		{"route-method", func(p *Program) { p.Servers[0].Routes[1].Method = "FOO" },
			`server 0 "api": route 1 (FOO /health): unknown method "FOO"`, "servers"},
		{"route-path", func(p *Program) { p.Servers[0].Routes[1].Path = "a/" },
			`server 0 "api": route 1 (GET "a/"): a route path must start with '/'`, "servers"},
		{"route-path-rest", func(p *Program) { p.Servers[0].Routes[1].Path = "/items/*/x" },
			`server 0 "api": route 1 (GET "/items/*/x"): "*" must be the last segment`, "servers"},
		{"hook-kind", func(p *Program) { p.Servers[0].Hooks[1].Kind = "cron" },
			`server 0 "api": hook 1: unknown kind "cron"`, "servers"},
		{"hook-slot", func(p *Program) { p.Servers[0].Hooks[1].Slot = 40 },
			`server 0 "api": hook 1 (schedule): slot G[40] out of range (11 globals)`, "servers"},
		{"server-config", func(p *Program) { p.Servers[0].Configs[1].Slot = 11 },
			`server 0 "api": config 1 (discover): slot G[11] out of range (11 globals)`, "servers"},
		{"config", func(p *Program) { p.Configs[0].Slot = 11 },
			`config 0 (db): slot G[11] out of range (11 globals)`, "configs"},
		{"type-defaults-count", func(p *Program) { p.Types[0].Defaults = []int{2} },
			`type 0: Point has 1 field defaults for 2 fields`, "types"},
		{"type-default-constant", func(p *Program) { p.Types[1].Variants[1].Defaults = []int{0, 15} },
			`type 1: Rect: the default of field 1 is K[14], out of range (14 constants)`, "types"},
		{"type-default-names", func(p *Program) { p.Types[0].Defaults = []int{0, 9} },
			`type 0: Point: the default of field 1 is a names constant`, "types"},
	} {
		if m.section == "" {
			m.section = "functions"
		}
		t.Run(m.name, func(t *testing.T) {
			p := tbcSample()
			m.edit(p)
			if err := p.Validate(); err == nil || err.Error() != "invalid program: "+m.msg {
				t.Errorf("Validate() = %v, want %q", err, m.msg)
			}
			if _, err := Encode(p); err == nil || !strings.HasSuffix(err.Error(), m.msg) {
				t.Errorf("Encode error = %v, want one ending %q", err, m.msg)
			}
			data := encode(p)
			fe := checkRejected(t, data, m.section, m.msg)
			// An instruction's error points at its 8 bytes.
			var fi, pc int
			var name string
			if n, _ := fmt.Sscanf(m.msg, "function %d %q pc %d", &fi, &name, &pc); n == 3 {
				want := uint64(p.Funcs[fi].Code[pc])
				if fe.Offset+8 > len(data) || binary.LittleEndian.Uint64(data[fe.Offset:]) != want {
					t.Errorf("offset %d does not hold instruction %d", fe.Offset, pc)
				}
			} else if m.section == "functions" && !strings.HasPrefix(m.msg, "function ") {
				t.Errorf("message %q does not name its function", m.msg)
			}
		})
	}
}

// TestValidateOnly covers what only a Program in memory can get wrong:
// values the encoding cannot even express.
func TestValidateOnly(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(p *Program)
		msg  string
	}{
		{"string-int", func(p *Program) { p.Constants[5].Int = 1 }, "constant 5: string with non-zero Int"},
		{"int-float", func(p *Program) { p.Constants[1].Float = 0.5 }, "constant 1: int with non-zero Float"},
		{"nil-str", func(p *Program) { p.Constants[0].Str = "x" }, "constant 0: nil with non-empty Str"},
		{"int-names", func(p *Program) { p.Constants[1].Names = []string{"a"} }, "constant 1: int with Names"},
		{"bool-2", func(p *Program) { p.Constants[6].Int = 2 }, "constant 6: bool with Int 2 (want 0 or 1)"},
		{"kind", func(p *Program) { p.Constants[0].Kind = 17 }, "constant 0: unknown kind 17"},
		{"nil-type", func(p *Program) { p.Types[1] = nil }, "type 1 is nil"},
		{"nil-server", func(p *Program) { p.Servers[0] = nil }, "server 0 is nil"},
		{"nil-func", func(p *Program) { p.Funcs[2] = nil }, "function 2 is nil"},
		{"no-funcs", func(p *Program) { p.Funcs = nil }, "no main function"},
		{"negative-file", func(p *Program) { p.Funcs[0].File = -1 }, `function 0 "<main>": file index -1 out of range (2 files)`},
		{"regs", func(p *Program) { p.Funcs[0].NumRegs = MaxA + 2 }, `function 0 "<main>": 65537 registers (limit 65536)`},
		{"lines-order", func(p *Program) { p.Funcs[0].Lines[2].PC = 1 }, `function 0 "<main>": line table: pc 1 after pc 2`},
		{"lines-end", func(p *Program) { p.Funcs[0].Lines[5].PC = 16 }, `function 0 "<main>": line table: pc 16 past end of code (16 instructions)`},
		{"capture", func(p *Program) { p.Funcs[2].Captures[0].Index = -1 }, `function 2 "": capture 0: index -1 out of range`},
		{"port", func(p *Program) { p.Servers[0].Port = -2 }, `server 0 "api": port slot G[-2] out of range (11 globals)`},
		{"route-slot", func(p *Program) { p.Servers[0].Routes[0].Slot = -1 }, `server 0 "api": route 0 (GET /users/:id): slot G[-1] out of range (11 globals)`},
	} {
		p := tbcSample()
		c.edit(p)
		if err := p.Validate(); err == nil || err.Error() != "invalid program: "+c.msg {
			t.Errorf("%s: Validate() = %v, want %q", c.name, err, c.msg)
		}
		if _, err := Encode(p); err == nil {
			t.Errorf("%s: Encode accepted the program", c.name)
		}
	}
}

func TestEncodeRejectsInvalid(t *testing.T) {
	if _, err := Encode(nil); err == nil || err.Error() != "encode .tbc: invalid program: nil program" {
		t.Errorf("Encode(nil) = %v", err)
	}
	p := tbcSample()
	p.Funcs[0].Code[0] = Make(MOVE, 0, 99, 0)
	_, err := Encode(p)
	want := `encode .tbc: invalid program: function 0 "<main>" pc 0 (MOVE): register r99 out of range (6 registers)`
	if err == nil || err.Error() != want {
		t.Errorf("Encode error = %v\nwant %s", err, want)
	}
}

func TestDecodeLineTable(t *testing.T) {
	// A line table that reaches past the code, and a line that leaves
	// the int32 range, written by hand.
	p := tbcSample()
	p.Funcs[0].Lines[5].PC = 16
	checkRejected(t, encode(p), "functions", `function 0 "<main>": line table: pc 16 past end of code (16 instructions)`)

	p = tbcSample()
	p.Funcs[0].Lines[1].Pos.Line = math.MaxInt32
	p.Funcs[0].Lines[2].Pos.Line = math.MinInt32
	if _, err := Decode(mustEncode(t, p)); err != nil {
		t.Errorf("extreme line numbers: %v", err)
	}
}

func TestTbcFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "prog.tbc")
	p := tbcSample()
	for range 2 { // the second write replaces the first
		if err := WriteFile(path, p); err != nil {
			t.Fatal(err)
		}
	}
	q, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, q) {
		t.Error("ReadFile(WriteFile(p)) differs from p")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after WriteFile, want 1", len(entries))
	}

	bad := tbcSample()
	bad.Funcs = nil
	if err := WriteFile(filepath.Join(dir, "bad.tbc"), bad); err == nil {
		t.Error("WriteFile wrote an invalid program")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("a failed WriteFile left %d entries", len(entries))
	}

	junk := filepath.Join(dir, "junk.tbc")
	os.WriteFile(junk, []byte("#!/usr/bin/env tova\n"), 0o644)
	_, err = ReadFile(junk)
	var fe *FormatError
	if !errors.As(err, &fe) || err.Error() != junk+": not a .tbc file" {
		t.Errorf("ReadFile(junk) = %v", err)
	}
	if _, err := ReadFile(filepath.Join(dir, "none.tbc")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadFile(missing) = %v", err)
	}
}

// The damaged-file corpus: testdata/damaged/*.tbc, with the error each
// must produce in testdata/damaged/expected.txt. -update rewrites both
// from tbcDamaged.

const damagedDir = "testdata/damaged"

func TestTbcDamagedCorpus(t *testing.T) {
	if *update {
		writeDamagedCorpus(t)
	}
	want := readExpected(t)
	files, err := filepath.Glob(filepath.Join(damagedDir, "*.tbc"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no damaged files in %s (%v); run with -update", damagedDir, err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		msg, ok := want[name]
		if !ok {
			t.Errorf("%s has no line in expected.txt", name)
			continue
		}
		delete(want, name)
		_, err := ReadFile(file)
		if err == nil {
			t.Errorf("%s: ReadFile accepted it", name)
			continue
		}
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Errorf("%s: %v is not a *FormatError", name, err)
		}
		if got := strings.TrimPrefix(err.Error(), file+": "); got != msg {
			t.Errorf("%s:\n got %s\nwant %s", name, got, msg)
		}
	}
	for name := range want {
		t.Errorf("expected.txt names %s, which does not exist", name)
	}
}

func readExpected(t *testing.T) map[string]string {
	data, err := os.ReadFile(filepath.Join(damagedDir, "expected.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, msg, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("expected.txt: bad line %q", line)
		}
		want[name] = msg
	}
	return want
}

func writeDamagedCorpus(t *testing.T) {
	old, _ := filepath.Glob(filepath.Join(damagedDir, "*.tbc"))
	for _, f := range old {
		os.Remove(f)
	}
	if err := os.MkdirAll(damagedDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var exp strings.Builder
	exp.WriteString("# One damaged .tbc file per line and the error Decode reports for it.\n")
	exp.WriteString("# Regenerate with: go test ./bytecode -run TbcDamagedCorpus -update\n")
	for _, c := range tbcDamaged(t) {
		if c.name == "empty" {
			continue // an empty file is covered by TestTbcRejects
		}
		name := c.name + ".tbc"
		if err := os.WriteFile(filepath.Join(damagedDir, name), c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Decode(c.data)
		if err == nil {
			t.Fatalf("%s: decoded without error", c.name)
		}
		fmt.Fprintf(&exp, "%s: %s\n", name, err)
	}
	if err := os.WriteFile(filepath.Join(damagedDir, "expected.txt"), []byte(exp.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tbcMedium is a program of the size a real service compiles to: 60
// functions of 300 instructions, 500 constants.
func tbcMedium() *Program {
	p := &Program{Files: []SourceFile{{Name: "app.tova"}}, Globals: []string{"state"}, Builtins: []string{"print"}}
	for i := range 500 {
		switch i % 3 {
		case 0:
			p.Constants = append(p.Constants, Constant{Kind: KInt, Int: int64(i * 1000)})
		case 1:
			p.Constants = append(p.Constants, Constant{Kind: KString, Str: fmt.Sprintf("message number %d", i)})
		default:
			p.Constants = append(p.Constants, Constant{Kind: KFloat, Float: float64(i) / 7})
		}
	}
	for fi := range 60 {
		f := &Func{Name: fmt.Sprintf("handler%d", fi), Pos: Pos{Line: int32(fi*20 + 1), Col: 1}, NumParams: 2,
			ParamNames: []string{"req", "res"}, ParamTypes: []string{"Request", ""}, NumRegs: 12}
		for pc := range 300 {
			var in Instr
			switch pc % 5 {
			case 0:
				in = Make(LOADK, pc%12, (fi*7+pc)%500, 0)
			case 1:
				in = Make(ADD, 2, 3, 4)
			case 2:
				in = Make(JNLT, 1, 2, min(pc+7, 300)) // forward, as the compiler jumps
			case 3:
				in = Make(GETG, 5, 0, 0)
			default:
				in = Make(CALL, 6, 3, 0)
			}
			f.Code = append(f.Code, in)
			if pc%3 == 0 {
				f.Lines = append(f.Lines, LineEntry{PC: uint32(pc), Pos: Pos{Line: int32(fi*20 + pc/15 + 2), Col: int32(pc%40 + 1)}})
			}
		}
		f.Code = append(f.Code, Make(RET, 0, 0, 0))
		p.Funcs = append(p.Funcs, f)
	}
	return p
}

func BenchmarkDecode(b *testing.B) {
	data := mustEncode(b, tbcMedium())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	p := tbcMedium()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(p); err != nil {
			b.Fatal(err)
		}
	}
}

// WriteFile writes to a device or pipe rather than replacing it (as
// `tova compile -o /dev/null` once replaced /dev/null with a file), and
// replaces a symbolic link's target, not the link.
func TestWriteFileSpecialPaths(t *testing.T) {
	dir := t.TempDir()
	p := tbcSample()
	want, _ := Encode(p)

	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no fifo:", err)
	}
	got := make(chan []byte, 1)
	go func() {
		b, _ := os.ReadFile(fifo)
		got <- b
	}()
	if err := WriteFile(fifo, p); err != nil {
		t.Fatal(err)
	}
	if b := <-got; !bytes.Equal(b, want) {
		t.Errorf("the pipe read %d bytes, want %d", len(b), len(want))
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the pipe was replaced: %v %v", fi.Mode(), err)
	}

	target := filepath.Join(dir, "real.tbc")
	link := filepath.Join(dir, "link.tbc")
	os.WriteFile(target, []byte("old"), 0o644)
	os.Symlink(target, link)
	if err := WriteFile(link, p); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v", err)
	}
	if b, _ := os.ReadFile(target); !bytes.Equal(b, want) {
		t.Errorf("the link's target holds %d bytes, want %d", len(b), len(want))
	}
	if err := WriteFile(dir, p); err == nil {
		t.Error("WriteFile over a directory succeeded")
	}

	// A link to nothing yet (relative): the artifact is made where it
	// points, and the link stays a link.
	dangling := filepath.Join(dir, "dangling.tbc")
	os.Symlink("made.tbc", dangling)
	if err := WriteFile(dangling, p); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(dangling); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the dangling link was replaced: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "made.tbc")); !bytes.Equal(b, want) {
		t.Errorf("the dangling link's target holds %d bytes, want %d", len(b), len(want))
	}
	// Through a chain of links: every link stays.
	os.Symlink("end.tbc", filepath.Join(dir, "mid.tbc"))
	os.Symlink("mid.tbc", filepath.Join(dir, "start.tbc"))
	if err := WriteFile(filepath.Join(dir, "start.tbc"), p); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"start.tbc", "mid.tbc"} {
		if fi, err := os.Lstat(filepath.Join(dir, l)); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s was replaced: %v", l, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "end.tbc")); !bytes.Equal(b, want) {
		t.Errorf("the chain's end holds %d bytes, want %d", len(b), len(want))
	}
}

// A directory that exists but takes no new files (procfs) is not said
// to be missing.
func TestWriteFileDirectoryTakesNoFiles(t *testing.T) {
	if _, err := os.Stat("/proc/self"); err != nil {
		t.Skip("no /proc")
	}
	err := WriteFile("/proc/x.tbc", tbcSample())
	if want := "cannot write /proc/x.tbc: directory /proc does not take new files"; err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}

// A target in a missing directory is named in the error, not the
// temporary file WriteFile writes first.
func TestWriteFileMissingDirectory(t *testing.T) {
	target := filepath.Join(t.TempDir(), "nodir", "x.tbc")
	err := WriteFile(target, tbcSample())
	want := "cannot write " + target + ": directory " + filepath.Dir(target) + " does not exist"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}

// A symbolic link in a loop points nowhere: writing through it fails and
// leaves the links as they were (after an even number of steps, the walk
// came back to the link, which the artifact then replaced).
func TestWriteFileLinkLoop(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "loop1"), filepath.Join(dir, "loop2")
	os.Symlink(b, a)
	os.Symlink(a, b)
	if err := WriteFile(a, tbcSample()); err == nil || !strings.Contains(err.Error(), "too many levels of symbolic links") {
		t.Fatalf("err = %v", err)
	}
	for _, l := range []string{a, b} {
		if fi, err := os.Lstat(l); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s is no longer a link: %v %v", l, fi.Mode(), err)
		}
	}
}
