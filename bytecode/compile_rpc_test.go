package bytecode_test

import (
	"fmt"
	"testing"

	"tova/bytecode"
	"tova/driver"
)

// A server's functions that another server calls by name, and only
// those, are its rpc hooks, with its literal port; they survive .tbc.
func TestRPCHooks(t *testing.T) {
	p, err := driver.CompileFile("app.tova", []byte(`
server "api" {
  route GET "/" => fn() worker.compute(1) + worker.report()
  fn compute(n) { n }
}
server "worker" {
  port 3002
  fn compute(n) { n * 2 }
  fn private() { 1 }
  routes "/r" {
    fn report() { "ok" }
  }
}
server "idle" {
  fn compute(n) { n }
}
`))
	if err != nil {
		t.Fatal(err)
	}
	data, err := bytecode.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	back, err := bytecode.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, prog := range []*bytecode.Program{p, back} {
		got := map[string][]string{}
		for _, s := range prog.Servers {
			for _, h := range s.Hooks {
				if h.Kind == "rpc" {
					got[s.Name] = append(got[s.Name], fmt.Sprintf("%s port=%s %d:%d", h.Name, h.Arg, h.Pos.Line, h.Pos.Col))
				}
			}
		}
		want := "map[worker:[compute port=3002 8:3 report port=3002 11:5]]"
		if fmt.Sprint(got) != want {
			t.Errorf("rpc hooks %v, want %s", got, want)
		}
	}
}
