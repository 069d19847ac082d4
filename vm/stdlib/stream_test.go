package stdlib

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"tova/vm"
)

// batches loops over a stream as a for loop does.
func batches(t *testing.T, e *testEnv, s vm.Value) (out []vm.Value, err error) {
	t.Helper()
	err = vm.Iterate(e.th, s, func(v vm.Value) error {
		out = append(out, v)
		return nil
	})
	return out, err
}

// bigCSV is a CSV file of n rows, every third with a line break in a
// quoted cell, so that rows and lines differ.
func bigCSV(n int) string {
	var b strings.Builder
	b.WriteString("id,note,active\n")
	for i := 1; i <= n; i++ {
		note := fmt.Sprintf("n%d", i)
		if i%3 == 0 {
			note = fmt.Sprintf("\"two\nlines, %d\"", i)
		}
		fmt.Fprintf(&b, "%d,%s,%t\n", i, note, i%2 == 0)
	}
	return b.String()
}

func TestStreamBatches(t *testing.T) {
	e := newEnv(t)
	p := file(t, "big.csv", bigCSV(2503))
	whole := e.call(t, "read", S(p)).AsArray().Elems
	s := e.call(t, "stream", S(p), I(100))
	eq(t, "stream", s, fmt.Sprintf("stream(%q, batch: 100)", p))
	for round := 0; round < 2; round++ { // each loop reads the file anew
		bs, err := batches(t, e, s)
		if err != nil {
			t.Fatal(err)
		}
		if len(bs) != 26 || len(bs[25].AsArray().Elems) != 3 {
			t.Fatalf("%d batches, the last of %d rows; want 26, the last of 3", len(bs), len(bs[len(bs)-1].AsArray().Elems))
		}
		var all []vm.Value
		for _, b := range bs {
			all = append(all, b.AsArray().Elems...)
		}
		if !vm.Equal(vm.NewArray(all), vm.NewArray(whole)) {
			t.Fatalf("the batches differ from read()")
		}
	}
	// The default batch is 1000 rows; the guide's pipeline runs on each.
	var kept int64
	count := goFn("count", func(args []vm.Value) (vm.Value, error) {
		cleaned := e.call(t, "where", e.call(t, "drop_nil", args[0], S("id")), O("active", B(true)))
		kept += int64(len(cleaned.AsArray().Elems))
		return vm.Nil, nil
	})
	e.call(t, "each", e.call(t, "stream", S(p)), count)
	if kept != 1251 {
		t.Errorf("each over the stream kept %d rows, want 1251", kept)
	}
}

func TestStreamFormats(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name, content string
		args          []vm.Value
		want          string
	}{
		{"e.jsonl", "{\"a\":1}\n\n{\"a\":2}\n3", a(I(2)), `[[{ a: 1 }, { a: 2 }], [3]]`},
		{"e.ndjson", "\ufeff{\"a\":1}\n", nil, `[[{ a: 1 }]]`},
		// After a byte order mark, the second batch began 3 bytes early,
		// inside the first line.
		{"bom.jsonl", "\ufeff{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n", a(I(1)), `[[{ a: 1 }], [{ a: 2 }], [{ a: 3 }]]`},
		{"t.tsv", "a\tb\n1\t2\n3\t4\n", a(I(1)), `[[{ a: 1, b: 2 }], [{ a: 3, b: 4 }]]`},
		{"raw.csv", "1,2\n3,4\n5,6\n", a(I(2), nilV, B(false)), `[[{ col_0: 1, col_1: 2 }, { col_0: 3, col_1: 4 }], [{ col_0: 5, col_1: 6 }]]`},
		{"p.txt", "a|b\n1|2\n", a(nilV, S("|")), `[[{ a: 1, b: 2 }]]`},
		{"header.csv", "a,b\n", nil, `[]`},
		{"empty.csv", "", nil, `[]`},
		{"exact.csv", "a\n1\n2\n", a(I(2)), `[[{ a: 1 }, { a: 2 }]]`},
		// A last row cut short (a killed append) is not read.
		{"torn.jsonl", "{\"a\":1}\n{\"a\":2}\n{\"a\":", a(I(1)), `[[{ a: 1 }], [{ a: 2 }]]`},
		{"torn.csv", "a,b\n1,2\n3,4\n5", a(I(1)), `[[{ a: 1, b: 2 }], [{ a: 3, b: 4 }]]`},
	}
	for _, c := range cases {
		s := e.call(t, "stream", append(a(S(file(t, c.name, c.content))), c.args...)...)
		bs, err := batches(t, e, s)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		eq(t, "stream("+c.name+")", L(bs...), c.want)
	}
}

// An error in a later batch names its line in the file, counting the
// lines of the batches before it.
func TestStreamErrorsNameTheirLine(t *testing.T) {
	e := newEnv(t)
	// Rows 1..300 take 401 lines after the header; the ragged row is
	// on line 402.
	p := file(t, "r.csv", bigCSV(300)+"301,x\n")
	bs, err := batches(t, e, e.call(t, "stream", S(p), I(7)))
	if err == nil || !strings.Contains(err.Error(), "r.csv: line 402: the row has 2 fields, the header 3") {
		t.Errorf("ragged row: %v", err)
	}
	if len(bs) != 42 {
		t.Errorf("%d batches before the error, want 42", len(bs))
	}
	p = file(t, "q.csv", bigCSV(300)+"301,x\"y,true\n")
	if _, err := batches(t, e, e.call(t, "stream", S(p), I(11))); err == nil || !strings.Contains(err.Error(), "q.csv: line 402, column 6: a \" in a cell that is not quoted") {
		t.Errorf("bad quote: %v", err)
	}
	// A quote left open on the last line is named as not closed, on the
	// line where it opens (it was the CSV library's message, with a
	// column past the line's end).
	p = file(t, "last.csv", bigCSV(300)+"301,\"trunc\n")
	if _, err := batches(t, e, e.call(t, "stream", S(p), I(11))); err == nil || !strings.Contains(err.Error(), "last.csv: line 402: a quoted cell that begins in this row is not closed (by the end of the file)") {
		t.Errorf("a quote open on the last line: %v", err)
	}
	// A quoted cell whose closing quote is missing would read the rest
	// of the file into one row: past maxCSVRow the row is refused,
	// naming where it began (the file went into memory several times
	// over, then "a batch passes 1 GiB").
	defer func(m int64) { maxCSVRow = m }(maxCSVRow)
	maxCSVRow = 256 << 10
	p = file(t, "open.csv", bigCSV(300)+"301,\"unclosed,true\n"+strings.Repeat(strings.Repeat("x", 99)+"\n", 5000))
	if _, err := batches(t, e, e.call(t, "stream", S(p), I(13))); err == nil || !strings.Contains(err.Error(), "open.csv: line 402: the row passes 0 MiB: does a quoted cell begin there whose closing quote is missing?") {
		t.Errorf("a quote that does not end: %v", err)
	}
	p = file(t, "e.jsonl", "1\n\n2\n3\n{\n")
	if _, err := batches(t, e, e.call(t, "stream", S(p), I(2))); err == nil || !strings.Contains(err.Error(), "stream: "+p+": line 5: column 2: the text ends before the JSON value does") {
		t.Errorf("bad JSON line: %v", err)
	}
}

// The file is open only while a batch is read: a loop that stops early
// leaves none open.
func TestStreamHoldsNoFileBetweenBatches(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("no /proc/self/fd")
	}
	open := func() int {
		fds, _ := os.ReadDir("/proc/self/fd")
		return len(fds)
	}
	e := newEnv(t)
	p := file(t, "big.csv", bigCSV(50))
	before := open()
	stop := goFn("stop", func(args []vm.Value) (vm.Value, error) { return vm.Nil, vm.Errorf("Error", "stop") })
	e.err(t, "each", e.call(t, "stream", S(p), I(10)), stop)
	it, err := e.call(t, "stream", S(p), I(10)).AsHost().(vm.Iterable).Iterator(e.th)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := it.Next(e.th); !ok || err != nil {
		t.Fatalf("first batch: %v %v", ok, err)
	}
	if n := open(); n != before {
		t.Errorf("%d files open after the first batch, %d before", n, before)
	}
}

func TestStreamArguments(t *testing.T) {
	dir := t.TempDir()
	p := S(file(t, "a.csv", "a\n1\n"))
	runErrCases(t, []ec{
		{"stream", a(p, I(0)), "ValueError", "stream: batch must be from 1 to 67108864 rows, got 0"},
		{"stream", a(p, I(-5)), "ValueError", "got -5"},
		{"stream", a(p, I(vm.MaxListLen+1)), "ValueError", "batch must be from 1 to 67108864 rows"},
		{"stream", a(p, F(10)), "TypeError", "stream: expected Int batch, got Float"},
		{"stream", a(builtin(t, "print")), "TypeError", "stream: a streamed response, stream(fn(send, close)) in the reference, is not applied by this runtime"},
		{"stream", a(p, S("10")), "TypeError", "stream: expected Int batch, got String"},
		{"stream", a(S(file(t, "x.json", "[]"))), "ValueError", "read(path) reads a .json file whole"},
		{"stream", a(S(dir + "/missing.csv")), "IOError", "stream: no such file: " + dir + "/missing.csv"},
		{"stream", a(S(dir)), "IOError", "is a directory"},
		{"stream", a(I(1)), "TypeError", "stream: expected String path, got Int"},
		{"stream", a(S("https://example.com/big.csv")), "ValueError", "is a URL, not a file"},
		{"stream", a(p, nilV, S("::")), "ValueError", "the delimiter must be one character"},
		{"stream", a(p, nilV, nilV, I(0)), "TypeError", "stream: expected Bool header, got Int"},
	})
	// A file removed after stream() was called fails where it is read.
	e := newEnv(t)
	gone := file(t, "gone.csv", "a\n1\n")
	s := e.call(t, "stream", S(gone))
	os.Remove(gone)
	if _, err := batches(t, e, s); err == nil || !strings.Contains(err.Error(), "stream: no such file: "+gone) {
		t.Errorf("removed file: %v", err)
	}
}
