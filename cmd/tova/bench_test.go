package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"tova/internal/testutil"
)

// Targets are measured forwards, then backwards, turn after turn: each
// target's mean position in the order is the same, so a steady drift of
// the machine's speed favours none.
func TestTurnOrderAlternates(t *testing.T) {
	for turn, want := range [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {0, 1, 2, 3}, {3, 2, 1, 0}} {
		if got := turnOrder(turn, 4); !slices.Equal(got, want) {
			t.Fatalf("turn %d: order %v, want %v", turn, got, want)
		}
	}
}

// Flags bench http cannot honour are usage errors, before anything runs;
// with --url (one target, already running) so are those that only apply
// to the targets the benchmark runs itself.
func TestBenchHTTPRefusesBadFlags(t *testing.T) {
	noServer := filepath.Join(t.TempDir(), "script.tova")
	os.WriteFile(noServer, []byte("print(1)\n"), 0o644)
	os.WriteFile(filepath.Join(filepath.Dir(noServer), "two.tova"), []byte("server \"api\" { }\nserver \"admin\" { }\n"), 0o644)
	// Room for a few thousand connections only: -c 10000 for each of
	// eight targets is over it, wherever the test runs.
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	low := rl
	low.Cur = min(rl.Cur, 4096)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	defer syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-c", "0"}, "--connections must be from 1 to 10000, got 0"},
		{[]string{"-d", "0"}, "--duration must be positive, got 0s"},
		{[]string{"--warmup", "-1s"}, "--warmup must not be negative"},
		{[]string{"--turn", "0"}, "--turn must be positive and at most --duration, got --turn 0s and --duration 10s"},
		{[]string{"-d", "1s", "--turn", "2s"}, "--turn must be positive and at most --duration, got --turn 2s and --duration 1s"},
		{[]string{"--url", "http://127.0.0.1:1/json", "--turn", "1s"}, "--turn applies to the targets the benchmark runs, not to --url"},
		{[]string{"--url", "http://127.0.0.1:1/json", "--path", "/x"}, "--path applies to the targets the benchmark runs, not to --url"},
		{[]string{"app.tova", "--url", "http://127.0.0.1:1/json"}, "a program (app.tova) and --url: give one of them"},
		{[]string{"--load", "ab"}, `--load must be builtin or wrk, got "ab"`},
		{[]string{"--busy", "0s"}, "--busy must be positive and at most 1s, got 0s"},
		{[]string{"--busy", "1us", "--busy", "2s"}, "--busy must be positive and at most 1s, got 2s"},
		// (each names the one that is not: --warmup 2s was blamed too)
		{[]string{"--load", "wrk", "--turn", "1500ms"}, "--load wrk runs for whole seconds: --turn 1.5s must be whole seconds"},
		{[]string{"--load", "wrk", "--warmup", "500ms"}, "--load wrk runs for whole seconds: --warmup 500ms must be whole seconds"},
		{[]string{"--load", "wrk", "-d", "500ms"}, "--load wrk runs for whole seconds: --duration 500ms must be whole seconds"},
		{[]string{"--load", "wrk", "--turn", "1500ms", "--warmup", "500ms"}, "--load wrk runs for whole seconds: --turn 1.5s and --warmup 500ms must be whole seconds"},
		{[]string{"--url", "http://127.0.0.1:1/json", "--load", "wrk"}, "--load applies to the targets the benchmark runs, not to --url"},
		{[]string{"--url", "http://127.0.0.1:1/json", "--busy", "1us"}, "--busy applies to the targets the benchmark runs, not to --url"},
		{[]string{"--url", "http://127.0.0.1:1/json", "--control"}, "--control applies to the targets the benchmark runs, not to --url"},
		{[]string{"--url", "http://127.0.0.1:1/json", "--variant", "GOGC=400"}, "--variant applies to the targets the benchmark runs, not to --url"},
		{[]string{"--variant", "GOGC"}, `--variant "GOGC": want KEY=VALUE settings separated by commas`},
		{[]string{"--variant", "GOGC=400,=1"}, `--variant "GOGC=400,=1": want KEY=VALUE`},
		{[]string{"--variant", "GOGC=400,"}, `--variant "GOGC=400,": want KEY=VALUE`},
		{[]string{"--variant", "PORT=80"}, `(PORT and PORT_<NAME> are the benchmark's)`},
		{[]string{"--variant", "GOGC=1,PORT_API=80"}, `(PORT and PORT_<NAME> are the benchmark's)`},
		{[]string{"--server", "api"}, "--server names a server of the program given: give its file"},
		{[]string{"--url", "http://127.0.0.1:1/json", "--server", "api"}, "--server applies to the targets the benchmark runs, not to --url"},
		{[]string{noServer[:len(noServer)-len("script.tova")] + "two.tova", "--server", "web"}, `--server "web": the program has no such server`},
		{[]string{"-c", "10000", "--control", "--busy", "1us", "--variant", "GOGC=1", "--variant", "GOGC=2"}, "over this process's limit of"},
		{[]string{"-c", "5000", "--url", "http://127.0.0.1:1/json"}, "--connections 5000: the load generator would hold 5000 connections open, over this process's limit of"},
		{[]string{"--path", "json"}, `--path must start with /, got "json"`},
		{[]string{noServer}, "declares no server: there is nothing to load"},
		{[]string{"--url", ""}, `--url is empty: give the URL of the running server to measure, or leave --url out to measure the built-in targets`},
		{[]string{"--url", "notaurl"}, `--url "notaurl" is not an http:// URL (the benchmark measures plain HTTP)`},
		{[]string{"--url", "ftp://x/"}, `--url "ftp://x/" is not an http:// URL`},
		{[]string{"--url", "https://127.0.0.1:1/"}, `--url "https://127.0.0.1:1/" is not an http:// URL (the benchmark measures plain HTTP)`},
	} {
		var out, errb testutil.Buffer
		if code := run(append([]string{"bench", "http"}, c.args...), &out, &errb); code != exitUsage || !strings.Contains(errb.String(), c.want) {
			t.Errorf("bench http %v: exit %d, %q; want %d, %q", c.args, code, errb.String(), exitUsage, c.want)
		}
	}
	// bench vm's --runs is bounded as -c is (a million ran for hours).
	for _, n := range []string{"0", "1001"} {
		var out, errb testutil.Buffer
		if code := run([]string{"bench", "vm", "empty", "--runs", n}, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), "--runs must be from 1 to 1000, got "+n) {
			t.Errorf("bench vm --runs %s: exit %d, %q", n, code, errb.String())
		}
	}
}

// The targets come in the table's order. --control adds the bare
// handler's command line again, right after the baseline; --busy rows
// follow, then the front ends and tova serve, then its variants, which
// run tova serve's command line with their settings.
func TestBenchTargets(t *testing.T) {
	name := func(ts []benchTarget) (names []string) {
		for _, tg := range ts {
			names = append(names, tg.name)
		}
		return names
	}
	plain := benchTargets("/bin/tova", "hello.tova", "", false, nil, nil)
	if got, want := name(plain), []string{"fasthttp (bare handler)", "netio, Go handler inline (no hand-off)", "netio + actor pool, Go handler", "tova serve"}; !slices.Equal(got, want) {
		t.Fatalf("targets %q, want %q", got, want)
	}
	all := benchTargets("/bin/tova", "hello.tova", "api", true, []time.Duration{time.Microsecond}, [][]string{{"GOGC=400"}})
	if got, want := name(all), []string{"fasthttp (bare handler)", "fasthttp (bare handler, again)", "fasthttp + 1µs busy work",
		"netio, Go handler inline (no hand-off)", "netio + actor pool, Go handler", "tova serve", "tova serve, GOGC=400"}; !slices.Equal(got, want) {
		t.Fatalf("targets %q, want %q", got, want)
	}
	if !slices.Equal(all[1].argv, all[0].argv) || all[1].env != nil {
		t.Errorf("the control runs %q with %q; want the bare handler's %q, as it is", all[1].argv, all[1].env, all[0].argv)
	}
	if want := []string{"/bin/tova", "bench", "bare", "--busy", "1µs"}; !slices.Equal(all[2].argv, want) {
		t.Errorf("the busy row runs %q, want %q", all[2].argv, want)
	}
	serve := all[5].argv
	if want := []string{"/bin/tova", "serve", "--host", "127.0.0.1", "--server=api", "hello.tova"}; !slices.Equal(serve, want) || !slices.Equal(all[5].unset, []string{"PORT_API"}) {
		t.Errorf("tova serve runs %q without %q, want %q without PORT_API", serve, all[5].unset, want)
	}
	if v := all[6]; !slices.Equal(v.argv, serve) || !slices.Equal(v.env, []string{"GOGC=400"}) || !slices.Equal(v.unset, []string{"PORT_API"}) {
		t.Errorf("the variant runs %q with %q; want tova serve's command line with GOGC=400", v.argv, v.env)
	}
	if s := plain[3]; !slices.Contains(s.argv, "--server=") || s.unset != nil {
		t.Errorf("tova serve of the unnamed server runs %q without %q; want --server= and PORT as it is", s.argv, s.unset)
	}
}

// A --variant is the environment its row's tova serve runs with.
func TestVariantEnv(t *testing.T) {
	got, err := variantEnv("GOGC=400,GOMAXPROCS=1,TOVA_LOG_LEVEL=")
	if want := []string{"GOGC=400", "GOMAXPROCS=1", "TOVA_LOG_LEVEL="}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("variantEnv = %q, %v; want %q", got, err, want)
	}
}

// A target that ends before it listens is reported at once, with its exit
// status and the settings it ran with, not after the start-up deadline.
func TestStartTargetThatEnds(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	began := time.Now()
	_, _, _, err = startTarget([]string{sh, "-c", "echo 'app.tova:3:3: Error: dead at start' >&2; exit 3"}, []string{"GOGC=400"}, nil)
	if err == nil || !strings.Contains(err.Error(), "ended (exit status 3) before it listened") || !strings.Contains(err.Error(), "with GOGC=400") ||
		!strings.HasSuffix(err.Error(), ":\napp.tova:3:3: Error: dead at start") {
		t.Fatalf("startTarget = %v; want it to say the target ended with status 3, its settings, and what it said", err)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Fatalf("reported after %v", d)
	}
}

// benchHTTP starts `tova bench http args...` as a process of its own,
// whose targets are processes of this test binary too, with env added
// and its temporary files in tmp.
func benchHTTP(t *testing.T, tmp string, env []string, args ...string) (*exec.Cmd, *testutil.Buffer, *testutil.Buffer) {
	cmd := exec.Command(os.Args[0], append([]string{"bench", "http"}, args...)...)
	cmd.Env = append(append(os.Environ(), envCLIArgs+"=1", "TMPDIR="+tmp), env...)
	var out, errb testutil.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, &out, &errb
}

// busyPort is a port of 127.0.0.1 that stays taken for the test.
func busyPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// bench http loads one server of the program, the first, on the port it
// gives (PORT): the program's other servers would take their ports in
// each tova serve target, and the server's PORT_<NAME> (set here to a
// taken port) would outrank PORT. A program read from a pipe is served
// from a copy, which goes with the benchmark's other temporary files.
func TestBenchHTTPLoadsOneServerOfAPipe(t *testing.T) {
	dir, tmp := t.TempDir(), t.TempDir()
	taken := busyPort(t)
	fifo := filepath.Join(dir, "app.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no fifo:", err)
	}
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err == nil {
			f.WriteString("server \"api\" {\n  route GET \"/json\" => fn() { { message: \"Hello, World!\" } }\n}\nserver \"admin\" {\n  port " + taken + "\n}\n")
			f.Close()
		}
	}()
	cmd, out, errb := benchHTTP(t, tmp, []string{"PORT_API=" + taken}, fifo, "-d", "1s", "--turn", "1s", "--warmup", "0", "-c", "2")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("bench http: %v\n%s%s", err, out, errb)
	}
	var row string
	for line := range strings.Lines(out.String()) {
		if f := strings.Fields(line); len(f) > 2 && f[0] == "tova" && f[1] == "serve" {
			row = line
		}
	}
	if f := strings.Fields(row); len(f) < 7 || f[2] == "0" || f[6] != "0" || f[7] != "0" {
		t.Fatalf("tova serve's row %q: want requests answered, no errors, all 2xx\n%s", row, out)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left in the temporary directory: %v", left)
	}
}

// SIGINT stops bench http: it says so, exits 130 and leaves no
// temporary file (its program, wrk's scripts) behind.
func TestBenchHTTPStopsOnSignal(t *testing.T) {
	tmp := t.TempDir()
	args := []string{"-d", "60s", "--turn", "1s", "--warmup", "0", "-c", "2"}
	if _, err := exec.LookPath("wrk"); err == nil {
		args = append(args, "--load", "wrk")
	}
	cmd, out, errb := benchHTTP(t, tmp, nil, args...)
	// Under way: every target started, each measured once.
	time.Sleep(3 * time.Second)
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("bench http went on after SIGINT")
	}
	if c := cmd.ProcessState.ExitCode(); c != 130 || !strings.Contains(errb.String(), "tova bench: stopped by SIGINT") {
		t.Fatalf("exit %d, %q%q; want 130 and the signal named", c, out, errb)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left in the temporary directory: %v", left)
	}
}

// A --path the program has no route for measured its 404 page, and the
// run ended as any other: it fails, naming the target. The baselines
// answer every path, as the bare handler does (netio's answered 404s
// for any but / and /json, and its ratios compared them).
func TestBenchHTTPPathWithoutARoute(t *testing.T) {
	dir, tmp := t.TempDir(), t.TempDir()
	app := filepath.Join(dir, "app.tova")
	os.WriteFile(app, []byte("server {\n  route GET \"/other\" => fn() \"x\"\n}\n"), 0o644)
	cmd, out, errb := benchHTTP(t, tmp, nil, app, "--path", "/nosuch", "-d", "1s", "--warmup", "0", "-c", "2")
	cmd.Wait()
	if c := cmd.ProcessState.ExitCode(); c != 1 || !strings.Contains(errb.String(), "every answer of tova serve was an error status (non-2xx): does the program have a GET route for /nosuch?") {
		t.Fatalf("exit %d:\n%s%s", c, out, errb)
	}
	rows := 0
	for line := range strings.Lines(out.String()) {
		f := strings.Fields(line)
		if len(f) < 8 || f[0] != "netio," && f[0] != "netio" || strings.Contains(line, "per request") || strings.Contains(line, "per-turn") {
			continue
		}
		rows++
		// the non-2xx column is the one before the ratio (0.985x)
		for i, x := range f {
			if strings.HasSuffix(x, "x") && i > 0 && strings.Contains(x, ".") && f[i-1] != "0" {
				t.Errorf("a baseline answered errors: %q", line)
			}
		}
	}
	if rows != 2 {
		t.Errorf("%d netio rows in:\n%s", rows, out)
	}
}
