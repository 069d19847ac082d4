package bytecode

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"tova/internal/testutil"
)

// update rewrites golden files and generated test data under testdata.
var update = flag.Bool("update", false, "rewrite golden files and generated test data under testdata")

// checkGolden compares got with testdata/<name>, or rewrites the file
// when -update is given.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to accept):\n%s", path, testutil.LineDiff(string(want), string(got)))
	}
}

func disasmString(t *testing.T, p *Program) string {
	t.Helper()
	var b bytes.Buffer
	if err := Disasm(&b, p); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestDisasmGolden(t *testing.T) {
	for name, p := range map[string]*Program{"sample": tbcSample(), "allops": tbcAllOps()} {
		t.Run(name, func(t *testing.T) {
			out := disasmString(t, p)
			checkGolden(t, "disasm_"+name+".golden", []byte(out))
			// A program read back from its .tbc lists the same.
			q, err := Decode(mustEncode(t, p))
			if err != nil {
				t.Fatal(err)
			}
			if again := disasmString(t, q); again != out {
				t.Error("disassembly of the decoded program differs")
			}
		})
	}
}

// TestDisasmEveryOp checks that each opcode's line shows its name and
// one rendered operand per operand kind that is not ONone.
func TestDisasmEveryOp(t *testing.T) {
	p := tbcAllOps()
	lines := strings.Split(disasmString(t, p), "\n")
	for pc, in := range p.Funcs[1].Code {
		info := Ops[in.Op()]
		var line string
		for _, l := range lines {
			if f := strings.Fields(l); len(f) > 2 && f[0] == strconv.Itoa(pc) && f[2] == info.Name {
				line = l
			}
		}
		if line == "" {
			t.Errorf("no listing line for pc %d %s", pc, info.Name)
			continue
		}
		want := 0
		for _, k := range []OperandKind{info.A, info.B, info.C} {
			if k != ONone {
				want++
			}
		}
		rest := strings.TrimSpace(line[strings.Index(line, info.Name)+len(info.Name):])
		got := 0
		if rest != "" {
			got = len(splitOperands(rest))
		}
		if got != want {
			t.Errorf("%s: %d operands rendered in %q, want %d", info.Name, got, line, want)
		}
	}
}

// splitOperands splits a rendered operand list at the commas between
// operands (not those inside a names(...) constant).
func splitOperands(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

// TestDisasmBroken lists a program that fails validation without
// panicking: Disasm is for looking at compiler output, good or bad.
func TestDisasmBroken(t *testing.T) {
	p := &Program{
		Funcs: []*Func{{
			Name:    "broken",
			File:    3,
			NumRegs: 1,
			Code: []Instr{
				Instr(200) | Instr(1)<<8,
				Make(LOADK, 0, 7, 0),
				Make(GETG, 0, 9, 0),
				Make(CLOSURE, 0, 4, 0),
				Make(DEFTYPE, 0, 5, 0),
				Make(GETBUILTIN, 0, 2, 0),
			},
			Lines: []LineEntry{{PC: 9, Pos: Pos{Line: 2}}},
		}, nil},
	}
	out := disasmString(t, p)
	for _, want := range []string{"OP200       1, 0, 0", "K[7] ?", "G[9] ?", "F[4] ?", "T[5] ?", "B[2] ?", "func F[0] broken() ?:0:0"} {
		if !strings.Contains(out, want) {
			t.Errorf("listing lacks %q:\n%s", want, out)
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestDisasmWriteError(t *testing.T) {
	if err := Disasm(failingWriter{}, tbcSample()); err == nil || err.Error() != "disk full" {
		t.Errorf("Disasm to a failing writer = %v", err)
	}
}
