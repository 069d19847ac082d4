package stdlib

import (
	"bytes"
	"context"
	"testing"

	bc "tova/bytecode"
	"tova/vm"
)

// print turns the reference's colour tags ({red}Error:{/}) into
// terminal codes on a terminal, and leaves them out where colours are
// off (not a terminal, or NO_COLOR): they were printed as written.
// Other braces are left alone.
func TestPrintColorTags(t *testing.T) {
	prog, err := vm.Load(&bc.Program{Funcs: []*bc.Func{{Name: "main", NumRegs: 1, Code: []bc.Instr{bc.Make(bc.RETNIL, 0, 0, 0)}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		terminal bool
		noColor  string
		want     string
	}{
		{true, "", "\x1b[31mError:\x1b[0m disk {full} \x1b[1m\x1b[32mOK\x1b[0m\n"},
		{true, "1", "Error: disk {full} OK\n"},
		{false, "", "Error: disk {full} OK\n"},
	} {
		var out bytes.Buffer
		in := prog.NewInstance(vm.Config{Stdout: &out, Terminal: c.terminal, Getenv: func(k string) (string, bool) {
			return c.noColor, k == "NO_COLOR" && c.noColor != ""
		}})
		th := in.NewThread(context.Background())
		if _, err := th.Call(builtin(t, "print"), vm.Str("{red}Error:{/} disk {full}"), vm.Str("{bold}{green}OK{/}")); err != nil {
			t.Fatal(err)
		}
		th.Release()
		if out.String() != c.want {
			t.Errorf("terminal %v, NO_COLOR %q: %q, want %q", c.terminal, c.noColor, out.String(), c.want)
		}
	}
}
