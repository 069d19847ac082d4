package stdlib

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"tova/vm"
)

// file writes content to name in a fresh temporary directory and
// returns its path.
func file(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func contents(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestReadCSVTypesCells(t *testing.T) {
	e := newEnv(t)
	p := file(t, "cells.csv", "v\n42\n-7\n0\n-0\n3.14\n-0.5\n.5\n007\n-01\n00.5\n5.\n1e5\n+5\n99999999999999999999\ntrue\nfalse\nTrue\nnull\nnil\n\"\"\n x\n12345678901234567.5\n-1234567890.12345\n3.140\n")
	var got []string
	for _, r := range e.call(t, "read", S(p)).AsArray().Elems {
		v := field(r, "v")
		got = append(got, vm.TypeName(v)+" "+vm.Repr(v))
	}
	want := []string{"Int 42", "Int -7", "Int 0", "Int 0", "Float 3.14", "Float -0.5", "Float 0.5",
		`String "007"`, `String "-01"`, `String "00.5"`, `String "5."`, `String "1e5"`, `String "+5"`,
		`String "99999999999999999999"`, "Bool true", "Bool false", `String "True"`,
		"Nil nil", "Nil nil", "Nil nil", `String " x"`,
		// (a decimal a Float does not hold: 12345678901234568 lost a digit)
		`String "12345678901234567.5"`, "Float -1234567890.12345", "Float 3.14"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("cells read as\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A CSV file whose lines end in CR alone (classic Mac OS, some Excel
// exports) reads as its rows: encoding/csv took it for one line, a
// header of four columns and no row. A CR inside quotes in a file of
// CRLF lines stays a CR.
func TestReadCSVLinesEndingInCR(t *testing.T) {
	e := newEnv(t)
	p := file(t, "cr.csv", "a,b\r1,\"x\ny\"\r3,4\r")
	eq(t, "read", e.call(t, "read", S(p)), `[{ a: 1, b: "x\ny" }, { a: 3, b: 4 }]`)
	eq(t, "read(header: false)", e.call(t, "read", S(p), vm.Nil, B(false)), `[{ col_0: "a", col_1: "b" }, { col_0: 1, col_1: "x\ny" }, { col_0: 3, col_1: 4 }]`)
	var got []string
	it, err := e.callValue(builtin(t, "stream"), S(p), I(1))
	if err != nil {
		t.Fatal(err)
	}
	err = vm.Iterate(e.th, it, func(b vm.Value) error { got = append(got, vm.Repr(b)); return nil })
	if err != nil || strings.Join(got, " ") != `[{ a: 1, b: "x\ny" }] [{ a: 3, b: 4 }]` {
		t.Errorf("stream in batches of 1: %v %v", got, err)
	}
	crlf := file(t, "crlf.csv", "a,b\r\n1,\"x\ry\"\r\n")
	eq(t, "read of CRLF lines", e.call(t, "read", S(crlf)), `[{ a: 1, b: "x\ry" }]`)
}

func TestReadFormats(t *testing.T) {
	e := newEnv(t)
	quoted := "\ufeffid,text\r\n1,\"Hello, World\"\r\n\r\n2,\"He said \"\"hi\"\"\nand left\"\r\n"
	cases := []struct {
		name, content string
		args          []vm.Value
		want          string
	}{
		{"quoted.csv", quoted, nil, `[{ id: 1, text: "Hello, World" }, { id: 2, text: "He said \"hi\"\nand left" }]`},
		{"t.tsv", "a\tb\n1\tx,y\n", nil, `[{ a: 1, b: "x,y" }]`},
		{"UPPER.CSV", "a\n1\n", nil, `[{ a: 1 }]`},
		{"empty.csv", "", nil, "[]"},
		{"header_only.csv", "a,b\n", nil, "[]"},
		{"raw.csv", "1,x\n2,y\n", a(nilV, B(false)), `[{ col_0: 1, col_1: "x" }, { col_0: 2, col_1: "y" }]`},
		{"semi.csv", "a;b\n1;2\n", a(S(";")), `[{ a: 1, b: 2 }]`},
		{"pipes.txt", "a|b\n1|2\n", a(S("|")), `[{ a: 1, b: 2 }]`},
		{"users.json", `[{"id": 1}, {"id": 2.5}]`, nil, `[{ id: 1 }, { id: 2.5 }]`},
		{"config.json", "{\"port\": 8080, \"tags\": [\"a\"]}\n", nil, `{ port: 8080, tags: ["a"] }`},
		{"events.jsonl", "{\"a\":1}\n\n  {\"a\":2}\r\n3\n", nil, `[{ a: 1 }, { a: 2 }, 3]`},
		{"events.ndjson", `{"a":1}`, nil, `[{ a: 1 }]`},
		{"data.txt", `{"a": [1]}`, nil, `{ a: [1] }`},
		{"data.dat", "a,b\n1,2\n", nil, `[{ a: 1, b: 2 }]`},
	}
	for _, c := range cases {
		p := file(t, c.name, c.content)
		eq(t, "read("+c.name+")", e.call(t, "read", append(a(S(p)), c.args...)...), c.want)
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// A sparse file just over the limit: read refuses it by its size.
	if err := os.Truncate(big, vm.MaxStringBytes+1); err != nil {
		t.Fatal(err)
	}
	bigCSV := filepath.Join(dir, "big.csv")
	os.WriteFile(bigCSV, nil, 0o644)
	os.Truncate(bigCSV, vm.MaxStringBytes+1)
	p := func(name, content string) vm.Value { return S(file(t, name, content)) }
	db := vm.HostValue(database{})
	runErrCases(t, []ec{
		{"read", a(S(filepath.Join(dir, "missing.csv"))), "IOError", "read: no such file: " + dir + "/missing.csv"},
		{"read", a(S(dir)), "IOError", "is a directory"},
		{"read", a(p("r.csv", "a,b\n1,2\n\n3,4,5\n")), "ValueError", "r.csv: line 4: the row has 3 fields, the header 2"},
		{"read", a(p("r2.csv", "1,2\n3\n"), nilV, B(false)), "ValueError", "line 2: the row has 1 fields, the first row 2"},
		{"read", a(p("q.csv", "a,b\n1,\"x\ny\"\n2,x\"y\n")), "ValueError", "q.csv: line 4, column 4: a \" in a cell that is not quoted"},
		// A quote left open on the last line, which ends in a line
		// break, is named as not closed (it got the CSV library's words
		// and a column past the line's end).
		{"read", a(p("u.csv", "a,b\n1,\"open\n")), "ValueError", "u.csv: line 2: a quoted cell that begins in this row is not closed (by the end of the file)"},
		{"read", a(p("u2.csv", "id,v\n1,a\n2,b\n3,\"trunc\r\n")), "ValueError", "u2.csv: line 4: a quoted cell that begins in this row is not closed (by the end of the file)"},
		// a stray quote (closed, then more text) on the last line of a
		// file whose line breaks are CRs, without a final one: not an
		// open quote
		{"read", a(p("u3.csv", "a,b\r1,\"ab\"c")), "ValueError", "u3.csv: line 2, column 6: a quoted cell's text goes on after its closing quote"},
		// A quote followed by more of its cell, on the last line, is not
		// an open one.
		{"read", a(p("x.csv", "a,b\n1,\"ab\"c\n")), "ValueError", "x.csv: line 2, column 6: a quoted cell's text goes on after its closing quote"},
		// named where the cell begins (it named the line it ran to)
		{"read", a(p("m.csv", "a,b\n1,ok\n2,\"first\nsec")), "ValueError", "m.csv: line 3: a quoted cell that begins in this row is not closed (by line 4)"},
		{"read", a(p("dup.csv", "a,b,a\n1,2,3\n")), "ValueError", `dup.csv: line 1: the header names column "a" twice`},
		{"read", a(p("e.jsonl", "{\"a\":1}\n\n{\"a\":2\n")), "ValueError", "e.jsonl: line 3: column 7: the text ends before the JSON value does"},
		{"read", a(p("e.json", "[1,\n2,,]")), "ValueError", "e.json: expected a value, found ',' (line 2, column 3"},
		{"read", a(S(big)), "ValueError", "big.json is over the 1 GiB limit of a value read at once"},
		{"read", a(S(bigCSV)), "ValueError", "big.csv is over the 1 GiB limit"},
		{"read", a(S("https://example.com/a.csv")), "ValueError", "is a URL, not a file: fetch(url)"},
		{"read", a(db, S("SELECT 1")), "TypeError", "read: reading a database is not supported: db.query(sql) gives its rows"},
		{"read", a(vm.HostValue(&Namespace{name: "X"})), "TypeError", "read: expected String path, got Object"},
		{"read", a(I(1)), "TypeError", "read: expected String path, got Int"},
		{"read", a(S("")), "ValueError", "read: the path is empty"},
		{"read", a(p("d.csv", "a\n"), S("ab")), "ValueError", `the delimiter must be one character other than a quote or a line break, got "ab"`},
		{"read", a(p("d2.csv", "a\n"), S("\"")), "ValueError", "the delimiter must be one character"},
		{"read", a(p("d3.csv", "a\n"), I(1)), "TypeError", "read: expected String delimiter, got Int"},
		{"read", a(p("h.csv", "a\n"), nilV, S("no")), "TypeError", "read: expected Bool header, got String"},
	})
}

func TestReadPermissionDenied(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads every file")
	}
	p := file(t, "secret.csv", "a\n1\n")
	os.Chmod(p, 0)
	runErrCases(t, []ec{{"read", a(S(p)), "IOError", "read: permission denied: " + p}})
}

func TestWriteFormats(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	rows := L(
		O("id", I(1), "name", S("ann, \"the\" first"), "tags", L(S("a"), I(2))),
		O("id", I(2), "extra", nilV, "meta", O("k", B(true)), "score", F(2.5)),
		O("name", S("line\nbreak"), "id", nilV),
	)
	for name, want := range map[string]string{
		"out.csv": "id,name,tags,extra,meta,score\n" +
			"1,\"ann, \"\"the\"\" first\"," + `"[""a"",2]"` + ",,,\n" +
			"2,,,," + `"{""k"":true}"` + ",2.5\n" +
			",\"line\nbreak\",,,,\n",
		"out.tsv": "id\tname\ttags\textra\tmeta\tscore\n" +
			"1\t\"ann, \"\"the\"\" first\"\t" + `"[""a"",2]"` + "\t\t\t\n" +
			"2\t\t\t\t" + `"{""k"":true}"` + "\t2.5\n" +
			"\t\"line\nbreak\"\t\t\t\t\n",
		"out.jsonl": `{"id":1,"name":"ann, \"the\" first","tags":["a",2]}` + "\n" +
			`{"id":2,"extra":null,"meta":{"k":true},"score":2.5}` + "\n" +
			`{"name":"line\nbreak","id":null}` + "\n",
	} {
		p := filepath.Join(dir, name)
		e.call(t, "write", rows, S(p))
		if got := contents(t, p); got != want {
			t.Errorf("write %s:\n%s\nwant\n%s", name, got, want)
		}
	}
	// What write writes, read gives back (nil and "" are one in CSV).
	back := e.call(t, "read", S(filepath.Join(dir, "out.csv")))
	eq(t, "read(out.csv)", back, `[{ id: 1, name: "ann, \"the\" first", tags: "[\"a\",2]", extra: nil, meta: nil, score: nil }, `+
		`{ id: 2, name: nil, tags: nil, extra: nil, meta: "{\"k\":true}", score: 2.5 }, `+
		`{ id: nil, name: "line\nbreak", tags: nil, extra: nil, meta: nil, score: nil }]`)
	eq(t, "read(out.jsonl)", e.call(t, "read", S(filepath.Join(dir, "out.jsonl"))), vm.Repr(rows))

	p := filepath.Join(dir, "config.json")
	e.call(t, "write", O("port", I(8080), "tags", L(S("a"))), S(p))
	if got, want := contents(t, p), "{\n  \"port\": 8080,\n  \"tags\": [\n    \"a\"\n  ]\n}\n"; got != want {
		t.Errorf("write config.json:\n%s\nwant\n%s", got, want)
	}
	p = filepath.Join(dir, "pipes.txt")
	e.call(t, "write", L(O("a", I(1), "b", S("x|y"))), S(p), nilV, S("|"))
	if got, want := contents(t, p), "a|b\n1|\"x|y\"\n"; got != want {
		t.Errorf("write pipes.txt = %q, want %q", got, want)
	}
	p = filepath.Join(dir, "empty.csv")
	e.call(t, "write", L(), S(p))
	if got := contents(t, p); got != "" {
		t.Errorf("write([]) = %q, want an empty file", got)
	}
}

// A full write replaces the file whole: through a temporary file in the
// same directory, which does not stay, keeping the file's mode.
func TestWriteReplaces(t *testing.T) {
	e := newEnv(t)
	p := file(t, "out.csv", "old,content\n1,2\n3,4\n")
	os.Chmod(p, 0o600)
	e.call(t, "write", L(O("a", I(1))), S(p))
	if got := contents(t, p); got != "a\n1\n" {
		t.Errorf("after write: %q", got)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only out.csv", len(entries))
	}
	// A failing write leaves the old file as it was.
	e.err(t, "write", L(O("a", L(vm.Nil)), I(1)), S(p))
	if got := contents(t, p); got != "a\n1\n" {
		t.Errorf("after a failed write: %q", got)
	}
	// Through a link, the file it names is written.
	link := filepath.Join(t.TempDir(), "link.csv")
	if err := os.Symlink(p, link); err != nil {
		t.Skip(err)
	}
	e.call(t, "write", L(O("b", I(2))), S(link))
	if got := contents(t, p); got != "b\n2\n" {
		t.Errorf("after a write through a link: %q", got)
	}
	// A link to a file not made yet is written through too, as append
	// does (the link was replaced by a file).
	dir := t.TempDir()
	dangling := filepath.Join(dir, "soon.csv")
	if err := os.Symlink("data/new.csv", dangling); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(dir, "data"), 0o755)
	e.call(t, "write", L(O("c", I(3))), S(dangling))
	if got := contents(t, filepath.Join(dir, "data", "new.csv")); got != "c\n3\n" {
		t.Errorf("the link's file: %q", got)
	}
	if st, err := os.Lstat(dangling); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v %v", st, err)
	}
}

// A path naming a stream is written to, not replaced: the process's
// own stdout (print's writer, so that the lines keep their order; a
// rename over /dev/stdout of `> out.txt` replaced that file).
func TestWriteToStdout(t *testing.T) {
	e := newEnv(t)
	e.call(t, "print", S("header"))
	e.call(t, "write", L(O("a", I(1))), S("/dev/stdout"))
	e.call(t, "print", S("footer"))
	if got := e.out.String(); got != "header\n[\n  {\n    \"a\": 1\n  }\n]\nfooter\n" {
		t.Errorf("stdout: %q", got)
	}
}

// Decision 18: appending writes the header only into a new or empty
// file; appended rows go under the file's header.
func TestWriteAppend(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "out.csv")
	app := func(rows vm.Value) { e.call(t, "write", rows, S(p), B(true)) }
	app(L(O("id", I(1), "name", S("a"))))
	app(L())
	app(L(O("name", S("b"), "id", I(2)), O("id", I(3))))
	if got, want := contents(t, p), "id,name\n1,a\n2,b\n3,\n"; got != want {
		t.Errorf("appended: %q, want %q", got, want)
	}
	err := e.err(t, "write", L(O("id", I(4)), O("id", I(5), "zz", I(0))), S(p), B(true))
	if err.Kind != "ValueError" || !strings.Contains(err.Msg, `row 2 has a column "zz" that the file's header (id, name) has not: nothing was written`) {
		t.Errorf("extra column: %s: %s", err.Kind, err.Msg)
	}
	if got, want := contents(t, p), "id,name\n1,a\n2,b\n3,\n"; got != want {
		t.Errorf("after a refused append: %q, want %q", got, want)
	}

	empty := file(t, "empty.csv", "")
	e.call(t, "write", L(O("x", I(1))), S(empty), B(true))
	if got := contents(t, empty); got != "x\n1\n" {
		t.Errorf("append to an empty file: %q", got)
	}
	// A file whose last line has no line break gets one first.
	open := file(t, "open.csv", "x\n1")
	e.call(t, "write", L(O("x", I(2))), S(open), B(true))
	if got := contents(t, open); got != "x\n1\n2\n" {
		t.Errorf("append to a file without a final line break: %q", got)
	}
	tsv := file(t, "t.tsv", "b\ta\n")
	e.call(t, "write", L(O("a", I(1), "b", I(2))), S(tsv), B(true))
	if got := contents(t, tsv); got != "b\ta\n2\t1\n" {
		t.Errorf("append to a TSV file: %q", got)
	}
	jl := file(t, "e.jsonl", "{\"a\":1}")
	e.call(t, "write", L(O("a", I(2))), S(jl), B(true))
	e.call(t, "write", L(I(3)), S(jl), B(true))
	if got := contents(t, jl); got != "{\"a\":1}\n{\"a\":2}\n3\n" {
		t.Errorf("append to a JSON Lines file: %q", got)
	}
}

// A row an append left cut short (the process killed while it wrote)
// is cut off by the next append: a part JSON line, a CSV row with fewer
// cells than the header or a quoted cell open at the end made every read
// of the file fail. A last line written whole without a line break is
// kept, and so is the file when the append is refused: a quoted cell
// left open from an earlier line (nothing tells which rows are whole).
func TestWriteAppendAfterTornRow(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ name, before, want string }{
		{"torn.jsonl", "{\"a\":1}\n{\"a\":2,\"pad\":\"xx", "{\"a\":1}\n{\"a\":3}\n"},
		{"whole.jsonl", "{\"a\":1}\n{\"a\":2}", "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n"},
		{"only.jsonl", "{\"a\":", "{\"a\":3}\n"},
		{"nan.jsonl", "{\"a\":1}\n{\"a\": NaN}", "{\"a\":1}\n{\"a\": NaN}\n{\"a\":3}\n"},
		{"open.csv", "a,b,c\n1,2,3", "a,b,c\n1,2,3\n3,,\n"},
		{"multi.csv", "a,b,c\n1,2,\"x\ny\"", "a,b,c\n1,2,\"x\ny\"\n3,,\n"},
		{"newline.csv", "a,b,c\n1,2,\"x\n\"", "a,b,c\n1,2,\"x\n\"\n3,,\n"},
		{"quotes.csv", "a,b,c\n1,2,\"He said\n\"\"hi\"\"\"", "a,b,c\n1,2,\"He said\n\"\"hi\"\"\"\n3,,\n"},
		{"header.csv", "a,b,c", "a,b,c\n3,,\n"},
		{"short.csv", "a,b,c\n1,2,3\n4,5", "a,b,c\n1,2,3\n3,,\n"},
		{"quote.csv", "a,b,c\n1,2,3\n4,5,\"si", "a,b,c\n1,2,3\n3,,\n"},
		{"short.tsv", "a\tb\n1\t2\n9", "a\tb\n1\t2\n3\t\n"}, // (by the file's own delimiter)
	} {
		p := file(t, c.name, c.before)
		e.call(t, "write", L(O("a", I(3))), S(p), B(true))
		if got := contents(t, p); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	p := file(t, "refused.csv", "a,b\n1,\"abc\n\"")
	if err := e.err(t, "write", L(O("zz", I(2))), S(p), B(true)); !strings.Contains(err.Msg, "nothing was written") {
		t.Fatalf("an unknown column: %s", err.Msg)
	}
	if got := contents(t, p); got != "a,b\n1,\"abc\n\"" {
		t.Errorf("a refused append changed the file: %q", got)
	}
	p = file(t, "open.csv", "a,b\n1,\"abc\nde")
	if err := e.err(t, "write", L(O("a", I(2))), S(p), B(true)); !strings.Contains(err.Msg, "its last row, from line 2, has a quoted cell left open") {
		t.Fatalf("a quoted cell left open from an earlier line: %s", err.Msg)
	}
	if got := contents(t, p); got != "a,b\n1,\"abc\nde" {
		t.Errorf("a refused append changed the file: %q", got)
	}
}

// A last row cut short, as a killed append leaves it (or as one being
// written reads), is not read: the rows before it are, as read and
// stream give them once the next append cut it off. The file could not
// be read at all, nor a server whose data block reads it start. A row
// short elsewhere, or a last one whole without a line break, is read as
// ever (an error, or the row).
func TestReadSkipsTornLastRow(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ name, content, want string }{
		{"torn.jsonl", "{\"a\":1}\n{\"a\":2,\"pad\":\"xx", "[{ a: 1 }]"},
		{"only.jsonl", "{\"a\":", "[]"},
		{"whole.jsonl", "{\"a\":1}\n{\"a\":2}", "[{ a: 1 }, { a: 2 }]"},
		{"short.csv", "a,b,c\n1,2,3\n4,5", "[{ a: 1, b: 2, c: 3 }]"},
		{"quote.csv", "a,b,c\n1,2,3\n4,5,\"si", "[{ a: 1, b: 2, c: 3 }]"},
		{"whole.csv", "a,b\n1,2", "[{ a: 1, b: 2 }]"},
	} {
		p := file(t, c.name, c.content)
		if got := vm.Repr(e.call(t, "read", S(p))); got != c.want {
			t.Errorf("read %s = %s, want %s", c.name, got, c.want)
		}
	}
	for name, content := range map[string]string{
		"mid.csv":   "a,b\n1\n2,3",              // short, but not last
		"ended.csv": "a,b\n1,2\n3\n",            // short, a line break after it: whole
		"bad.jsonl": "{\"a\":1}\n{\"a\": nope}", // not cut short: broken
	} {
		if err := e.err(t, "read", S(file(t, name, content))); err.Kind != "ValueError" {
			t.Errorf("read %s: %v, want a ValueError", name, err)
		}
	}
}

// Appends to one file take turns: appends racing to a new file wrote its
// header twice and rows between them.
func TestWriteAppendTakesTurns(t *testing.T) {
	p := filepath.Join(t.TempDir(), "out.csv")
	const writers, each = 16, 20
	envs := make([]*testEnv, writers)
	for i := range envs {
		envs[i] = newEnv(t) // each its own instance: no GIL between them
	}
	write := builtin(t, "write")
	var wg sync.WaitGroup
	for i, e := range envs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				rows := L(O("n", I(int64(i)), "i", I(int64(j)), "pad", S(strings.Repeat("x", 2000))))
				if _, err := e.callValue(write, rows, S(p), B(true)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(contents(t, p), "\n"), "\n")
	if len(lines) != 1+writers*each || lines[0] != "n,i,pad" {
		t.Fatalf("%d lines, first %q; want the header once and %d rows", len(lines), lines[0], writers*each)
	}
	for k, l := range lines[1:] {
		if strings.Count(l, ",") != 2 || !strings.HasSuffix(l, strings.Repeat("x", 2000)) {
			t.Fatalf("line %d is %.40q…: not a row", k+2, l)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	in := func(name string) vm.Value { return S(filepath.Join(dir, name)) }
	cyclic := vm.NewArray(nil)
	cyclic.AsArray().Elems = append(cyclic.AsArray().Elems, cyclic)
	runErrCases(t, []ec{
		{"write", a(I(5), in("x.csv")), "TypeError", "write: a .csv file takes a list of objects, got Int"},
		{"write", a(L(O("a", I(1)), I(2)), in("x.csv")), "TypeError", "write: a .csv file takes a list of objects: row 2 is Int"},
		{"write", a(O("a", I(1)), in("x.jsonl")), "TypeError", "write: a .jsonl file takes a list (one JSON value a line), got Object"},
		{"write", a(O("a", I(1)), in("x.json"), B(true)), "ValueError", "append: true is for .csv, .tsv, .jsonl and .ndjson files"},
		{"write", a(L(O("a", cyclic)), in("x.csv")), "ValueError", "write: " + dir + "/x.csv: value is too deeply nested"},
		{"write", a(cyclic, in("x.json")), "ValueError", "write: " + dir + "/x.json: value is too deeply nested"},
		{"write", a(L(), in("no/x.csv")), "IOError", "write: no such directory: " + dir + "/no"},
		{"write", a(L(), in("no/x.csv"), B(true)), "IOError", "write: no such directory: " + dir + "/no"},
		{"write", a(L(), S(dir)), "IOError", "is a directory"},
		{"write", a(L(), S("http://example.com/x.csv")), "ValueError", "is a URL, not a file"},
		{"write", a(L(), I(3)), "TypeError", "write: expected String path, got Int"},
		{"write", a(L(), in("x.csv"), S("yes")), "TypeError", "write: expected Bool append, got String"},
		// A misspelt named argument lands, gathered into an object, in a
		// parameter's place: it is named (the error was about append's type).
		{"write", a(L(), in("x.csv"), O("apend", B(true))), "TypeError", "write: unknown option apend (the options are append, delimiter)"},
		{"read", a(in("x.csv"), O("heder", B(false))), "TypeError", "read: unknown option heder (the options are delimiter, header)"},
		{"stream", a(in("x.csv"), O("btch", I(2))), "TypeError", "stream: unknown option btch (the options are batch, delimiter, header)"},
		{"write", a(L(), in("x.csv"), nilV, S("")), "ValueError", "the delimiter must be one character"},
	})
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed writes left %d files behind", len(entries))
	}
}

func TestWritePermissionDenied(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes every file")
	}
	p := file(t, "ro.csv", "a\n1\n")
	os.Chmod(p, 0o444)
	runErrCases(t, []ec{
		{"write", a(L(), S(p)), "IOError", "write: permission denied: " + p},
		{"write", a(L(), S(p), B(true)), "IOError", "write: permission denied: " + p},
	})
	if got := contents(t, p); got != "a\n1\n" {
		t.Errorf("a read-only file was changed: %q", got)
	}
}

// database stands for the db builtin, which read(db, sql) names.
type database struct{}

func (database) TypeName() string { return "Database" }

func (database) GetAttr(*vm.Thread, string) (vm.Value, bool, error) { return vm.Nil, false, nil }

func (database) SetAttr(*vm.Thread, string, vm.Value) error { return nil }

// The reference's form of the options, a trailing object, means what
// named arguments do: read(p, { delimiter: ";" }), write(rows, p,
// { append: true }), stream(p, { batch: 1 }) (the object landed in the
// first optional parameter and was refused for its type).
func TestDataOptionsAsTrailingObject(t *testing.T) {
	dir := t.TempDir()
	path := S(filepath.Join(dir, "x.csv"))
	e := newEnv(t)
	row := func(n int64) vm.Value { return O("a", I(n), "b", I(n+1)) }
	e.call(t, "write", L(row(1)), path)
	e.call(t, "write", L(row(3)), path, O("append", B(true)))
	if got := e.call(t, "read", path, O("header", B(true))); vm.Repr(got) != `[{ a: 1, b: 2 }, { a: 3, b: 4 }]` {
		t.Errorf("read: %s", vm.Repr(got))
	}
	semi := S(filepath.Join(dir, "y.txt"))
	e.call(t, "write", L(row(5)), S(filepath.Join(dir, "y.csv")), O("delimiter", S(";")))
	os.Rename(filepath.Join(dir, "y.csv"), filepath.Join(dir, "y.txt"))
	if got := e.call(t, "read", semi, O("delimiter", S(";"))); vm.Repr(got) != `[{ a: 5, b: 6 }]` {
		t.Errorf("read ; : %s", vm.Repr(got))
	}
	if bs, err := batches(t, e, e.call(t, "stream", path, O("batch", I(1)))); err != nil || len(bs) != 2 {
		t.Errorf("stream batches: %d %v", len(bs), err)
	}
	runErrCases(t, []ec{
		{"read", a(path, S(";"), O("delimiter", S(","))), "TypeError", "read: delimiter is given twice"},
		{"write", a(L(), path, O("append", S("yes"))), "TypeError", "write: expected Bool append, got String"},
	})
}

// A CSV cell keeps a Float's kind (1.0 was written 1, and read back an
// Int), writes a Duration and a Size as JSON does (milliseconds, bytes:
// 10m was read back as the String "10m"), and refuses a function (it
// was written as its display text).
func TestWriteCSVCellsReadBackAsWritten(t *testing.T) {
	e := newEnv(t)
	p := filepath.Join(t.TempDir(), "w.csv")
	row := vm.NewObject()
	row.Set("f", F(1.0))
	row.Set("g", F(-2.5))
	row.Set("d", vm.Duration(int64(10*time.Minute)))
	row.Set("s", vm.Size(5<<20))
	e.call(t, "write", L(vm.ObjectValue(row)), S(p))
	if got := contents(t, p); got != "f,g,d,s\n1.0,-2.5,600000,5242880\n" {
		t.Errorf("wrote %q", got)
	}
	back := e.call(t, "read", S(p)).AsArray().Elems[0].AsObject()
	if f, _ := back.Get("f"); f.Kind() != vm.KFloat {
		t.Errorf("1.0 read back as %s", vm.Repr(f))
	}
	fnRow := vm.NewObject()
	fnRow.Set("i", builtin(t, "identity"))
	if err := e.err(t, "write", L(vm.ObjectValue(fnRow)), S(p)); err.Kind != "TypeError" || !strings.Contains(err.Msg, "a function cannot be a CSV cell") {
		t.Errorf("a function cell: %v", err)
	}
}
