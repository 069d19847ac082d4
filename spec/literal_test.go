package spec

import (
	"fmt"
	"strings"
	"testing"

	"tova/driver"
)

// A list or object literal of 70 000 elements (a table of data pasted
// into a program) compiles and keeps every element in order, with and
// without spreads between them: past its first elements a literal
// takes a few registers, not one per element.
func TestLongLiterals(t *testing.T) {
	const n = 70000
	var b strings.Builder
	b.WriteString("xs = [")
	for i := range n {
		if i == n/2 {
			b.WriteString("...[-1, -2], ")
		}
		fmt.Fprintf(&b, "%d, ", i)
	}
	b.WriteString("]\no = {")
	for i := range n {
		fmt.Fprintf(&b, "k%d: %d, ", i, i)
	}
	b.WriteString("k0: -1 }\n")
	b.WriteString(`print(len(xs), xs[0], xs[1023], xs[1024], xs[n2], xs[n2 + 1], xs[n2 + 2], xs[len(xs) - 1], sum(xs))
ks = keys(o)
print(len(ks), ks[0], ks[1024], ks[len(ks) - 1], o.k0, o.k1024, o.k69999)
`)
	src := strings.ReplaceAll(b.String(), "n2", fmt.Sprint(n/2))
	p, err := driver.CompileFile("long.tova", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	res := run(p)
	if res.err != nil {
		t.Fatalf("%v\n%s", res.err, res.stderr)
	}
	want := fmt.Sprintf("%d 0 1023 1024 -1 -2 %d %d %d\n%d k0 k1024 k69999 -1 1024 69999\n",
		n+2, n/2, n-1, n*(n-1)/2-3, n)
	if res.stdout != want {
		t.Errorf("got  %q\nwant %q", res.stdout, want)
	}
}
