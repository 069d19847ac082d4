package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"tova/internal/testutil"
)

var updateScripts = flag.Bool("update", false, "rewrite the expected output of the CLI scripts")

// TestScripts runs the CLI scripts in testdata/script. Each .txtar file
// holds source files and, in its comment, one command per line:
//
//	tova run prog.tova
//	exit 1
//
// After each command the archive's `stdout` / `stderr` sections (numbered
// `stdout 2` for the second command, ...) must equal what it printed, and
// the exit code must equal the `exit N` line that follows it (default 0).
func TestScripts(t *testing.T) {
	files, _ := filepath.Glob("testdata/script/*.txtar")
	if len(files) == 0 {
		t.Fatal("no scripts")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			want := map[string]string{}
			for _, f := range ar.Files {
				if strings.HasPrefix(f.Name, "stdout") || strings.HasPrefix(f.Name, "stderr") {
					want[f.Name] = string(f.Data)
					continue
				}
				p := filepath.Join(dir, f.Name)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, f.Data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cwd, _ := os.Getwd()
			if err := os.Chdir(dir); err != nil {
				t.Fatal(err)
			}
			defer os.Chdir(cwd)
			var cmds [][]string
			var exits []int
			for _, line := range strings.Split(string(ar.Comment), "\n") {
				line = strings.TrimSpace(line)
				switch {
				case strings.HasPrefix(line, "tova "):
					cmds = append(cmds, strings.Fields(line)[1:])
					exits = append(exits, 0)
				case strings.HasPrefix(line, "exit "):
					n, _ := strconv.Atoi(strings.TrimPrefix(line, "exit "))
					exits[len(exits)-1] = n
				}
			}
			changed := false
			for i, args := range cmds {
				var out, errb bytes.Buffer
				code := run(args, &out, &errb)
				suffix := ""
				if i > 0 {
					suffix = " " + strconv.Itoa(i+1)
				}
				if code != exits[i] {
					t.Errorf("tova %s: exit %d, want %d\nstderr:\n%s", strings.Join(args, " "), code, exits[i], errb.String())
				}
				for name, got := range map[string]string{"stdout" + suffix: out.String(), "stderr" + suffix: errb.String()} {
					exp, ok := want[name]
					if !ok && got == "" {
						continue
					}
					if got != exp {
						if *updateScripts {
							setSection(ar, name, got)
							changed = true
							continue
						}
						t.Errorf("tova %s: %s differs\n--- got ---\n%s--- want ---\n%s", strings.Join(args, " "), name, got, exp)
					}
				}
			}
			if changed {
				os.Chdir(cwd)
				os.WriteFile(file, txtar.Format(ar), 0o644)
			}
		})
	}
}

func setSection(ar *txtar.Archive, name, data string) {
	for i := range ar.Files {
		if ar.Files[i].Name == name {
			ar.Files[i].Data = []byte(data)
			return
		}
	}
	ar.Files = append(ar.Files, txtar.File{Name: name, Data: []byte(data)})
}

// failingWriter fails every write, as a full disk does.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// A command whose output cannot be written (a full disk, a closed
// pipe) does not exit 0 as if it had said what it had to.
func TestLostOutputIsAnError(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"help"}, {"help", "run"}} {
		var errb testutil.Buffer
		if c := run(args, failingWriter{}, &errb); c == 0 || !strings.Contains(errb.String(), "writing the output: no space left on device") {
			t.Errorf("%v: exit %d, %q", args, c, errb.String())
		}
	}
	// A program's exit(0) hid it (exit 0, the output cut short), and its
	// exit(3) kept it unsaid.
	dir := t.TempDir()
	for code, want := range map[int]int{0: exitUsage, 3: 3} {
		prog := filepath.Join(dir, fmt.Sprintf("exit%d.tova", code))
		os.WriteFile(prog, []byte(fmt.Sprintf("print(\"lost\")\nexit(%d)\n", code)), 0o644)
		var errb testutil.Buffer
		if c := run([]string{"run", prog}, failingWriter{}, &errb); c != want || !strings.Contains(errb.String(), "writing the output: no space left on device") {
			t.Errorf("exit(%d): exit %d, %q", code, c, errb.String())
		}
	}
	// /dev/full is a character device, not a terminal: the output is
	// buffered as a file's, and its failure said as such.
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full")
	}
	defer full.Close()
	// Output that fills the buffer fails while the program runs: print's
	// IOError is the output's loss, said as such.
	many := filepath.Join(dir, "many.tova")
	os.WriteFile(many, []byte("for i in range(100000) { print(\"line {i}\") }\n"), 0o644)
	var errMany testutil.Buffer
	if c := run([]string{"run", many}, full, &errMany); c != exitUsage || !strings.Contains(errMany.String(), "writing the output") || strings.Contains(errMany.String(), "IOError") {
		t.Errorf("/dev/full, many lines: exit %d, %q", c, errMany.String())
	}
	for code, want := range map[int]int{0: exitUsage, 7: 7} {
		prog := filepath.Join(dir, fmt.Sprintf("full%d.tova", code))
		os.WriteFile(prog, []byte(fmt.Sprintf("print(\"lost\")\nexit(%d)\n", code)), 0o644)
		var errb testutil.Buffer
		if c := run([]string{"run", prog}, full, &errb); c != want || !strings.Contains(errb.String(), "writing the output") || strings.Contains(errb.String(), "IOError") {
			t.Errorf("/dev/full, exit(%d): exit %d, %q", code, c, errb.String())
		}
	}
}

// tova app.tova runs it, as the reference's CLI does (and a script's
// #!/usr/bin/env tova line asks); --version and -v print the version;
// an unknown completion shell is an error (it printed the help on
// stdout and exited 0); a build's hint for an output directory starting
// with '-' is a command that works.
func TestCLIShortcuts(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "s.tova")
	os.WriteFile(script, []byte("#!/usr/bin/env tova\nprint(\"hi\", args())\n"), 0o755)
	var o, e testutil.Buffer
	if c := run([]string{script, "a"}, &o, &e); c != 0 || o.String() != "hi [\"a\"]\n" {
		t.Errorf("tova s.tova a: exit %d, %q %q", c, o.String(), e.String())
	}
	for _, flag := range []string{"--version", "-v"} {
		var o, e testutil.Buffer
		if c := run([]string{flag}, &o, &e); c != 0 || !strings.HasPrefix(o.String(), "tova ") {
			t.Errorf("tova %s: exit %d, %q %q", flag, c, o.String(), e.String())
		}
	}
	o.Reset()
	e.Reset()
	if c := run([]string{"completion", "bsh"}, &o, &e); c != exitUsage || o.String() != "" || !strings.Contains(e.String(), `no completion for the shell "bsh"`) {
		t.Errorf("tova completion bsh: exit %d, %q %q", c, o.String(), e.String())
	}
	o.Reset()
	if c := run([]string{"completion", "bash"}, &o, &e); c != 0 || !strings.Contains(o.String(), "bash completion") {
		t.Errorf("tova completion bash: exit %d", c)
	}
	if got := shellWord("-weird/server.tbc"); got != "./-weird/server.tbc" {
		t.Errorf("shellWord: %s", got)
	}
	// An empty argument is a usage error (it printed the help and exited
	// 0); a path that is no file says so (it was an unknown command); a
	// number flag's bad value is said in the runtime's words (it was
	// strconv's).
	prog := filepath.Join(dir, "app.tova")
	os.WriteFile(prog, []byte("server { route GET \"/\" => fn() 1 }\n"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{""}, `tova: "" is no command or file (see tova help)`},
		{[]string{"./nonexist"}, "./nonexist: no such file"},
		// (the reference's bun run dist/server.js)
		{[]string{"serve", filepath.Join(dir, "dist", "server.js")}, "dist/server.js: no such file (tova build makes dist/server.tbc, which tova serve runs)"},
		{[]string{"jobs", prog, "--limit", "abc"}, `tova: invalid argument "abc" for --limit: not a whole number`},
		{[]string{"jobs", prog, "--limit", "99999999999999999999"}, `tova: invalid argument "99999999999999999999" for --limit: out of range`},
		{[]string{"serve", prog, "--drain", "abc"}, `tova: invalid argument "abc" for --drain: not a duration such as 30s, 500ms or 1m30s`},
		{[]string{"run", ""}, "tova: the file name is empty"},
		{[]string{"compile", ""}, "tova: the file name is empty"},
		{[]string{"build", ""}, "tova: the file name is empty"},
		// (pflag reads -o= as the name "=": a file of that name was written)
		{[]string{"compile", prog, "-o="}, "tova compile: -o needs a file name"},
		{[]string{"build", prog, "-o="}, "tova build: -o needs a directory"},
		// (it said to name the artifact with -o, which then said so)
		{[]string{"compile", dir}, "tova compile: " + dir + " is a directory, not a program file: name the .tova file"},
	} {
		var o, e testutil.Buffer
		if code := run(c.args, &o, &e); code != exitUsage || !strings.Contains(e.String(), c.want) || o.String() != "" {
			t.Errorf("tova %q: exit %d, %q %q, want %s", c.args, code, o.String(), e.String(), c.want)
		}
	}
}

// script_path() is the file run: the artifact when a .tbc runs (it was
// the source's name beside the artifact, a file that does not exist).
func TestScriptPathOfArtifact(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "tool.tova")
	os.WriteFile(src, []byte("print(script_path())\n"), 0o644)
	art := filepath.Join(dir, "renamed.tbc")
	var o, e testutil.Buffer
	if c := run([]string{"compile", src, "-o", art}, &o, &e); c != 0 {
		t.Fatalf("compile: %d %s", c, e.String())
	}
	for _, p := range []string{src, art} {
		o.Reset()
		if c := run([]string{"run", p}, &o, &e); c != 0 || o.String() != p+"\n" {
			t.Errorf("tova run %s: exit %d, printed %q", p, c, o.String())
		}
	}
}

// A file with more syntax errors than are shown says how many more
// there are and counts them all (the parser kept 50 and the summary
// said "50 error(s)").
func TestManySyntaxErrorsAreCounted(t *testing.T) {
	var src strings.Builder
	for i := range 60 {
		fmt.Fprintf(&src, "x%d = @\n", i)
	}
	path := filepath.Join(t.TempDir(), "err60.tova")
	os.WriteFile(path, []byte(src.String()), 0o644)
	var o, e testutil.Buffer
	c := run([]string{"run", path}, &o, &e)
	if c != exitCompile || !strings.HasSuffix(e.String(), "... and 10 more errors\n60 error(s)\n") {
		t.Errorf("exit %d, stderr ends %q", c, e.String()[max(0, len(e.String())-80):])
	}
}

// The commands run and serve suggest are written as a shell reads
// them back: a name with a space or a quote is quoted.
func TestHintsAreShellWords(t *testing.T) {
	dir := t.TempDir()
	withServer := filepath.Join(dir, "my app.tova")
	os.WriteFile(withServer, []byte("server { route GET \"/\" => fn() \"x\" }\n"), 0o644)
	var out, errb testutil.Buffer
	run([]string{"run", withServer}, &out, &errb)
	if want := "`tova serve '" + withServer + "'`"; !strings.Contains(errb.String(), want) {
		t.Errorf("run: %q, want %s", errb.String(), want)
	}
	script := filepath.Join(dir, "it's.tova")
	os.WriteFile(script, []byte("print(1)\n"), 0o644)
	errb.Reset()
	run([]string{"serve", script}, &out, &errb)
	if want := "`tova run '" + strings.ReplaceAll(script, "'", `'\''`) + "'`"; !strings.Contains(errb.String(), want) {
		t.Errorf("serve: %q, want %s", errb.String(), want)
	}
}

// A program read from a pipe (tova run <(cat app.tova)) is not told to
// serve the pipe's path, gone once the command ends.
func TestRunOfAPipedServerSaysSaveIt(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() {
		w.Write([]byte("server { route GET \"/\" => fn() \"x\" }\n"))
		w.Close()
	}()
	var out, errb testutil.Buffer
	path := fmt.Sprintf("/dev/fd/%d", r.Fd())
	run([]string{"run", path}, &out, &errb)
	if strings.Contains(errb.String(), "tova serve "+path) || !strings.Contains(errb.String(), "save the program to one") {
		t.Errorf("run %s: %q", path, errb.String())
	}
}

// run's help says that what follows the file is the program's; bench
// vm's names its programs; serve's names the environment it reads; TOVA_CPUPROFILE keeps a file that is not a
// profile.
func TestHelpAndProfileFile(t *testing.T) {
	var out, errb testutil.Buffer
	if c := run([]string{"run", "--help"}, &out, &errb); c != 0 || !strings.Contains(out.String(), "gives --help to the program") {
		t.Errorf("run --help: exit %d, %q", c, out.String())
	}
	out.Reset()
	if c := run([]string{"bench", "vm", "--help"}, &out, &errb); c != 0 || !strings.Contains(out.String(), "empty, fib, loop") || !strings.Contains(out.String(), "from 1 to 1000") {
		t.Errorf("bench vm --help: exit %d, %q", c, out.String())
	}
	// (serve's named none of the variables an operator sets)
	out.Reset()
	if c := run([]string{"serve", "--help"}, &out, &errb); c != 0 || !strings.Contains(out.String(), "TOVA_LOG_LEVEL   trace, debug, info") || !strings.Contains(out.String(), "GOMEMLIMIT") {
		t.Errorf("serve --help: exit %d, %q", c, out.String())
	}
	keep := filepath.Join(t.TempDir(), "keep.txt")
	os.WriteFile(keep, []byte("precious"), 0o644)
	t.Setenv("TOVA_CPUPROFILE", keep)
	errb.Reset()
	startProfile(&errb)()
	if b, _ := os.ReadFile(keep); string(b) != "precious" || !strings.Contains(errb.String(), "holds something else than a CPU profile") {
		t.Errorf("the file now holds %q; stderr %q", b, errb.String())
	}
	prof := filepath.Join(t.TempDir(), "cpu.out")
	t.Setenv("TOVA_CPUPROFILE", prof)
	startProfile(&errb)()
	if b, _ := os.ReadFile(prof); !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		t.Errorf("no profile written: %q", b)
	}
}

// A Go panic in a command (a fault of tova's) is said as an internal
// error with its trace, and exits 70, not Go's 2 (a usage error's).
func TestInternalErrorExit(t *testing.T) {
	var errb testutil.Buffer
	c := guarded([]string{"version"}, nil, &errb) // (a nil output: a Go nil pointer)
	if c != exitBug || !strings.Contains(errb.String(), "tova: internal error (a fault of tova") || !strings.Contains(errb.String(), "goroutine") {
		t.Errorf("exit %d: %q", c, errb.String())
	}
}

// The disassembly lists an on_error hook, which has no name, without an
// empty one ("").
func TestDisasmUnnamedHook(t *testing.T) {
	prog := filepath.Join(t.TempDir(), "d.tova")
	os.WriteFile(prog, []byte("server {\n  on_error fn(err, req) { \"x\" }\n  route GET \"/\" => fn() 1\n}\n"), 0o644)
	var out, errb testutil.Buffer
	if c := run([]string{"disasm", prog}, &out, &errb); c != 0 || !strings.Contains(out.String(), "  2:3       on_error -> G[") || strings.Contains(out.String(), `on_error ""`) {
		t.Errorf("exit %d: %s", c, out.String())
	}
}
