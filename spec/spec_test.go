package spec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tova/bytecode"
	"tova/driver"
	"tova/frontend/diag"
	"tova/vm"
)

// runTimeout bounds each run of a program; a program that loops forever
// fails instead of hanging the suite. The programs run in parallel, and
// those that build values of hundreds of megabytes slow each other
// down: limits/value_sizes, 1 s alone, took 9.4 s beside the others on
// a quiet 2-CPU machine, and was cut at 10 s in a loaded one.
const runTimeout = 30 * time.Second

// expectRE recognises an expectation comment. Group 1 is the kind ("",
// " error" or " runtime error"), group 2 the text after the colon.
var expectRE = regexp.MustCompile(`//\s*expect( error| runtime error)?:(.*)$`)

// specEnv is the whole environment a spec program sees, so that env()
// behaves the same on every machine.
func specEnv(name string) (string, bool) {
	switch name {
	case "TOVA_SPEC_GREETING":
		return "hello", true
	case "TOVA_SPEC_WAIT":
		return "1m30s", true
	}
	return "", false
}

// specEnviron lists specEnv's environment, for env().
func specEnviron() []string {
	return []string{"TOVA_SPEC_WAIT=1m30s", "TOVA_SPEC_GREETING=hello"}
}

// TestSpec runs every program under this directory. Subtests are named by
// the program's slash-separated path: go test ./spec -run 'TestSpec/match/'.
func TestSpec(t *testing.T) {
	var files []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".tova") {
			files = append(files, filepath.ToSlash(path))
		}
		return err
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("no .tova programs found (%v)", err)
	}
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runSpec(t, name)
		})
	}
}

type lineRE struct {
	line int
	re   *regexp.Regexp
}

type outLine struct {
	line int // where the expectation is written; 0 for actual output
	text string
}

type expectations struct {
	stdout     []outLine
	compile    []lineRE
	runtimeErr *lineRE
}

// parseExpectations reads the expectation comments of a program and
// rejects a program whose expectations cannot all hold.
func parseExpectations(src []byte) (*expectations, error) {
	lines := strings.Split(string(src), "\n")
	if !strings.HasPrefix(lines[0], "//") {
		return nil, errors.New("line 1: a spec program starts with a comment saying what it checks")
	}
	exp := &expectations{}
	for i, l := range lines {
		m := expectRE.FindStringSubmatch(strings.TrimRight(l, "\r"))
		if m == nil {
			continue
		}
		n, text := i+1, strings.TrimPrefix(m[2], " ")
		if m[1] == "" {
			exp.stdout = append(exp.stdout, outLine{n, text})
			continue
		}
		re, err := regexp.Compile(text)
		switch {
		case err != nil:
			return nil, fmt.Errorf("line %d: bad regexp: %v", n, err)
		case m[1] == " error":
			exp.compile = append(exp.compile, lineRE{n, re})
		case exp.runtimeErr != nil:
			return nil, fmt.Errorf("line %d: a program stops at most once (runtime error already expected on line %d)", n, exp.runtimeErr.line)
		default:
			exp.runtimeErr = &lineRE{n, re}
		}
	}
	switch {
	case len(exp.compile) > 0 && (len(exp.stdout) > 0 || exp.runtimeErr != nil):
		return nil, errors.New("a program expected not to compile cannot expect output or a runtime error")
	case len(exp.compile) == 0 && len(exp.stdout) == 0 && exp.runtimeErr == nil:
		return nil, errors.New("no expectations: add // expect:, // expect error: or // expect runtime error: comments")
	}
	return exp, nil
}

func runSpec(t *testing.T, name string) {
	src, err := os.ReadFile(filepath.FromSlash(name))
	if err != nil {
		t.Fatal(err)
	}
	exp, err := parseExpectations(src)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	prog, err := driver.CompileFile(name, src)
	if len(exp.compile) > 0 {
		checkCompileErrors(t, err, exp.compile)
		return
	}
	if err != nil {
		t.Fatalf("compile error:\n%s", describeCompileError(err))
	}
	fromSource := run(prog)

	data, err := bytecode.Encode(prog)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	decoded, err := bytecode.Decode(data)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if again, err := bytecode.Encode(decoded); err != nil || !bytes.Equal(data, again) {
		t.Errorf("encode(decode(tbc)) is not byte-identical to tbc (%d vs %d bytes, err %v)", len(again), len(data), err)
	}
	fromTBC := run(decoded)

	checkRun(t, "from source", fromSource, exp)
	checkRun(t, "through .tbc", fromTBC, exp)
	if fromSource.stdout != fromTBC.stdout {
		t.Errorf("stdout from source (-) and through .tbc (+) differ:\n%s",
			diffLines(asOut(splitLines(fromSource.stdout)), splitLines(fromTBC.stdout)))
	}
	if a, b := describeRunError(fromSource.err), describeRunError(fromTBC.err); a != b {
		t.Errorf("runtime errors differ:\n  from source:  %s\n  through .tbc: %s", a, b)
	}
}

// checkCompileErrors requires every expected error to be reported on its
// line and every reported error to be expected. An expectation is matched
// against the message followed by its notes, each as "; line:col: note",
// so that it can name a second position such as a declaration.
func checkCompileErrors(t *testing.T, err error, want []lineRE) {
	t.Helper()
	if err == nil {
		t.Fatalf("compiled without errors; want %d error(s), first on line %d matching %q", len(want), want[0].line, want[0].re)
	}
	list := compileErrors(err)
	if list == nil {
		t.Fatalf("compile failed with %T (%v), want diag errors", err, err)
	}
	used := make([]bool, len(list))
	for _, w := range want {
		found := false
		for i, e := range list {
			if int(e.Pos.Line) == w.line && w.re.MatchString(errorText(e)) {
				used[i], found = true, true
			}
		}
		if !found {
			t.Errorf("line %d: no error matching %q; reported:\n%s", w.line, w.re, describeCompileError(err))
		}
	}
	for i, e := range list {
		if !used[i] {
			t.Errorf("unexpected error %d:%d: %s", e.Pos.Line, e.Pos.Col, errorText(e))
		}
	}
}

// compileErrors unpacks the errors of a failed compilation; nil if err
// holds none.
func compileErrors(err error) diag.List {
	var list diag.List
	if errors.As(err, &list) {
		return list
	}
	var one *diag.Error
	if errors.As(err, &one) {
		return diag.List{one}
	}
	return nil
}

func errorText(e *diag.Error) string {
	var b strings.Builder
	b.WriteString(e.Msg)
	for _, n := range e.Notes {
		fmt.Fprintf(&b, "; %d:%d: %s", n.Pos.Line, n.Pos.Col, n.Msg)
	}
	return b.String()
}

func describeCompileError(err error) string {
	list := compileErrors(err)
	if list == nil {
		return "  " + err.Error()
	}
	var b strings.Builder
	for _, e := range list {
		fmt.Fprintf(&b, "  %d:%d: %s\n", e.Pos.Line, e.Pos.Col, errorText(e))
	}
	return b.String()
}

type result struct {
	stdout, stderr string
	err            error
}

func run(p *bytecode.Program) result {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := driver.Run(ctx, p, vm.Config{Stdout: &stdout, Stderr: &stderr, Getenv: specEnv, Environ: specEnviron})
	return result{stdout.String(), stderr.String(), err}
}

func checkRun(t *testing.T, label string, res result, exp *expectations) {
	t.Helper()
	if got := splitLines(res.stdout); !equalLines(exp.stdout, got) {
		t.Errorf("%s: stdout differs (- want, + got):\n%s", label, diffLines(exp.stdout, got))
	}
	want := exp.runtimeErr
	var verr *vm.Error
	switch {
	case want == nil && res.err != nil:
		t.Errorf("%s: unexpected runtime error: %s\n%s", label, describeRunError(res.err), res.stderr)
	case want == nil:
	case !errors.As(res.err, &verr):
		t.Errorf("%s: want a runtime error matching %q on line %d, got %s", label, want.re, want.line, describeRunError(res.err))
	default:
		// The message is matched with its kind in front: "TypeError: ...".
		if text := verr.Kind + ": " + verr.Msg; !want.re.MatchString(text) {
			t.Errorf("%s: runtime error %q does not match %q", label, text, want.re)
		}
		if line := errorLine(verr); line != want.line {
			t.Errorf("%s: runtime error %q reported on line %d, want line %d\n%s", label, verr.Msg, line, want.line, verr.Trace())
		}
	}
}

// errorLine is the line of the innermost Tova frame; frames of builtins
// carry no line.
func errorLine(e *vm.Error) int {
	for _, f := range e.Stack {
		if f.Line > 0 {
			return f.Line
		}
	}
	return 0
}

func describeRunError(err error) string {
	var verr *vm.Error
	switch {
	case err == nil:
		return "none"
	case errors.As(err, &verr):
		return fmt.Sprintf("%s: %s (line %d)", verr.Kind, verr.Msg, errorLine(verr))
	}
	return fmt.Sprintf("%T: %v", err, err)
}

// splitLines splits program output into lines; the final newline ends the
// last line rather than starting an empty one.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

func asOut(lines []string) []outLine {
	out := make([]outLine, len(lines))
	for i, l := range lines {
		out[i].text = l
	}
	return out
}

func equalLines(want []outLine, got []string) bool {
	if len(want) != len(got) {
		return false
	}
	for i := range want {
		if want[i].text != got[i] {
			return false
		}
	}
	return true
}

// diffLines lists expected and actual output line by line, marking the
// lines that differ and naming where each differing expectation is written.
func diffLines(want []outLine, got []string) string {
	var b strings.Builder
	for i := 0; i < len(want) || i < len(got); i++ {
		if i < len(want) && i < len(got) && want[i].text == got[i] {
			fmt.Fprintf(&b, "  %3d  %s\n", i+1, got[i])
			continue
		}
		if i < len(want) {
			where := ""
			if want[i].line > 0 {
				where = fmt.Sprintf("    (spec line %d)", want[i].line)
			}
			fmt.Fprintf(&b, "- %3d  %s%s\n", i+1, want[i].text, where)
		}
		if i < len(got) {
			fmt.Fprintf(&b, "+ %3d  %s\n", i+1, got[i])
		}
	}
	return b.String()
}
