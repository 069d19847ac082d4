package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"tova/bytecode"
	"tova/internal/testutil"
)

// serving is `tova serve` of one program, run in this process.
type serving struct {
	port      string
	code      chan int // the exit code, once it returns
	out, errb testutil.Buffer
}

// startServing runs `tova serve` of src on a free port until GET path
// answers, and returns the answer.
func startServing(t *testing.T, src, path string, flags ...string) (*serving, string) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.tova")
	os.WriteFile(app, []byte(src), 0o644)
	port := setFreePort(t)
	sv := &serving{port: port, code: make(chan int, 1)}
	go func() {
		args := append([]string{"serve", "--host", "127.0.0.1", "--drain", "1s"}, flags...)
		sv.code <- run(append(args, app), &sv.out, &sv.errb)
	}()
	url := "http://127.0.0.1:" + port + path
	for i := 0; i < 100; i++ {
		if resp, err := http.Get(url); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return sv, string(b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return sv, ""
}

// setFreePort sets PORT to a port of 127.0.0.1 free now, and returns it.
func setFreePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	t.Setenv("PORT", port)
	return port
}

// stop sends SIGTERM and waits for the exit code.
func (sv *serving) stop(t *testing.T) int { return sv.stopWith(t, syscall.SIGTERM) }

// stopWith sends sig and waits for the exit code.
func (sv *serving) stopWith(t *testing.T, sig syscall.Signal) int {
	syscall.Kill(os.Getpid(), sig)
	select {
	case c := <-sv.code:
		return c
	case <-time.After(10 * time.Second):
		t.Fatalf("serve did not stop on %v", sig)
		return -1
	}
}

// `tova serve` runs until SIGTERM, then drains, runs on_stop and exits 0.
// SIGHUP (the terminal that started it closed) and SIGQUIT do the same:
// their default action would end the process at once (SIGQUIT's dumping
// every goroutine's Go stack).
func TestServeStopsOnSIGTERM(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT} {
		t.Run(sig.String(), func(t *testing.T) { testServeStopsOn(t, sig) })
	}
}

func testServeStopsOn(t *testing.T, sig syscall.Signal) {
	sv, body := startServing(t, `server {
  route GET "/hi" => fn() "hi"
  on_stop fn() { print("bye") }
}
`, "/hi")
	if body != `"hi"` {
		t.Fatalf("GET /hi = %q; stderr: %s", body, sv.errb.String())
	}
	if c := sv.stopWith(t, sig); c != 0 {
		t.Fatalf("exit %d; stderr: %s", c, sv.errb.String())
	}
	if !strings.Contains(sv.out.String(), "bye") {
		t.Fatalf("on_stop did not run: %q", sv.out.String())
	}
	if !strings.Contains(sv.errb.String(), `"message":"request"`) {
		t.Fatalf("no access log line: %s", sv.errb.String())
	}
}

// A request still running when the drain ends (its deadline, or a
// second signal cutting it short) is answered 503 SHUTTING_DOWN and
// logged; on_stop runs; serve exits 0.
func TestServeDrainEndStopsInFlightRequests(t *testing.T) {
	for _, second := range []bool{false, true} {
		flags := []string{"--drain", "1s"}
		if second {
			flags = []string{"--drain", "30s"}
		}
		sv, body := startServing(t, `server {
  route GET "/hi" => fn() "hi"
  route GET "/slow" => fn() { sleep(20000) }
  on_stop fn() { print("bye") }
}
`, "/hi", flags...)
		if body != `"hi"` {
			t.Fatalf("GET /hi = %q; stderr: %s", body, sv.errb.String())
		}
		type answer struct {
			status int
			body   string
		}
		got := make(chan answer, 1)
		go func() {
			resp, err := http.Get("http://127.0.0.1:" + sv.port + "/slow")
			if err != nil {
				got <- answer{0, err.Error()}
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got <- answer{resp.StatusCode, string(b)}
		}()
		time.Sleep(300 * time.Millisecond) // the request is in flight
		start := time.Now()
		syscall.Kill(os.Getpid(), syscall.SIGTERM)
		if second {
			time.Sleep(300 * time.Millisecond)
			syscall.Kill(os.Getpid(), syscall.SIGTERM)
		}
		var a answer
		select {
		case a = <-got:
		case <-time.After(10 * time.Second):
			t.Fatalf("second %v: no answer; stderr: %s", second, sv.errb.String())
		}
		if a.status != 503 || !strings.Contains(a.body, "SHUTTING_DOWN") {
			t.Errorf("second %v: in-flight request got %d %s", second, a.status, a.body)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("second %v: answered after %v", second, took)
		}
		var code int
		select {
		case code = <-sv.code:
		case <-time.After(10 * time.Second):
			t.Fatalf("second %v: serve did not exit", second)
		}
		logs := sv.errb.String()
		if code != 0 || !strings.Contains(sv.out.String(), "bye") || !strings.Contains(logs, `"path":"/slow","status":503`) {
			t.Errorf("second %v: exit %d, stdout %q, stderr:\n%s", second, code, sv.out.String(), logs)
		}
		if second != strings.Contains(logs, `"signal":"SIGTERM","time"`) || second != strings.Contains(logs, "second signal: the drain is cut short") {
			t.Errorf("second %v: stderr:\n%s", second, logs)
		}
		// The drain's start is said when the signal comes.
		if !strings.Contains(logs, `"signal":"SIGTERM"`) || !strings.Contains(logs, `"message":"stopping: in-flight requests get the drain to finish`) {
			t.Errorf("second %v: the drain's start is not logged:\n%s", second, logs)
		}
		if !slices.ContainsFunc(strings.Split(logs, "\n"), func(l string) bool {
			return strings.Contains(l, `"stopped":1,`) && strings.Contains(l, `"message":"drain ended with requests still in flight`)
		}) {
			t.Errorf("second %v: no warning of the request stopped:\n%s", second, logs)
		}
	}
}

// A drain that ends with connections open but no request running (an
// idle client, one that just closed) warns of nothing.
func TestServeDrainEndWithoutRequests(t *testing.T) {
	sv, body := startServing(t, "server {\n  route GET \"/hi\" => fn() \"hi\"\n}\n", "/hi", "--drain", "0s")
	if body != `"hi"` {
		t.Fatalf("GET /hi = %q; stderr: %s", body, sv.errb.String())
	}
	var conns []net.Conn
	for range 8 {
		c, err := net.Dial("tcp", "127.0.0.1:"+sv.port)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	time.Sleep(50 * time.Millisecond) // accepted
	if c := sv.stop(t); c != 0 {
		t.Fatalf("exit %d; stderr: %s", c, sv.errb.String())
	}
	if logs := sv.errb.String(); strings.Contains(logs, "drain ended") {
		t.Errorf("a warning with no request in flight:\n%s", logs)
	}
}

// Hooks that never return do not keep `tova serve` from a graceful
// exit: SIGTERM while on_start runs cuts it and drains, and the on_start
// hooks after it are not begun (they began in the drain); an on_stop
// that loops is cut after the drain.
func TestServeStopsWithRunawayHooks(t *testing.T) {
	sv, body := startServing(t, `server {
  route GET "/hi" => fn() "hi"
  on_start fn() { print("first on_start in"); loop {} }
  on_start fn() { print("second on_start ran") }
  on_stop fn() { loop {} }
}
`, "/hi")
	if body != `"hi"` {
		t.Fatalf("GET /hi = %q; stderr: %s", body, sv.errb.String())
	}
	// (the hooks run once the server listens: stopped before the first
	// began, neither ran)
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(sv.out.String(), "first on_start in"); {
		if time.Now().After(deadline) {
			t.Fatalf("the first on_start did not begin: %s", sv.errb.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	if c := sv.stop(t); c != 0 {
		t.Fatalf("exit %d; stderr: %s", c, sv.errb.String())
	}
	if took := time.Since(start); took > 6*time.Second {
		t.Errorf("stopping took %v", took)
	}
	// (on_start cut by the stop is a warning saying so; on_stop, cut at
	// its deadline, a failure of its code)
	if !strings.Contains(sv.errb.String(), `"message":"on_start cut: the server was told to stop while it ran"`) ||
		!strings.Contains(sv.errb.String(), `"in":"on_stop","kind":"Cancelled"`) {
		t.Errorf("the hooks were not cut: %s", sv.errb.String())
	}
	if strings.Contains(sv.out.String(), "second on_start ran") || !strings.Contains(sv.errb.String(), `"not_run":1,`) {
		t.Errorf("the second on_start: stdout %q\n%s", sv.out.String(), sv.errb.String())
	}
}

// The memory limit is logged once the servers listen, before their
// on_start hooks run (under it): before the line of one that fails.
func TestServeLogsMemoryLimitBeforeOnStart(t *testing.T) {
	sv, body := startServing(t, `server {
  route GET "/hi" => fn() "hi"
  on_start fn() { 1 / nil }
}
`, "/hi")
	if body != `"hi"` {
		t.Fatalf("GET /hi = %q; stderr: %s", body, sv.errb.String())
	}
	if c := sv.stop(t); c != 0 {
		t.Fatalf("exit %d; stderr: %s", c, sv.errb.String())
	}
	logs := sv.errb.String()
	l, m, h := strings.Index(logs, `"message":"server listening"`), strings.Index(logs, `"message":"memory limit"`), strings.Index(logs, `"in":"on_start"`)
	if l < 0 || m < 0 || h < 0 || !(l < m && m < h) {
		t.Errorf("server listening at %d, memory limit at %d, the on_start failure at %d:\n%s", l, m, h, logs)
	}
}

// SIGTERM while a server's body still runs (here, forever) stops it:
// the server does not start, and serve exits 128 + the signal's number
// (it exited 5, as for a failure to start) saying the signal stopped
// it, and where its code was (it showed a runtime error of the program,
// "Cancelled: context canceled", with no word of the signal).
func TestServeStopsDuringStartup(t *testing.T) {
	app := filepath.Join(t.TempDir(), "app.tova")
	os.WriteFile(app, []byte("fn forever() {\n  loop {}\n}\nserver {\n  var x = forever()\n}\n"), 0o644)
	t.Setenv("PORT", "0")
	c, stderr := runUntilSIGTERM(t, "serve", "--host", "127.0.0.1", app)
	if c != 143 || !strings.Contains(stderr, "tova serve: stopped by SIGTERM while the server started (its code was at ") || !strings.Contains(stderr, "app.tova:2:3)") {
		t.Fatalf("exit %d; stderr: %s", c, stderr)
	}
}

// runUntilSIGTERM runs the CLI with args and sends this process SIGTERM
// every 200 ms until the command returns; it gives the exit code and
// stderr. Until the command catches signals, a sink keeps one from
// killing the test.
func runUntilSIGTERM(t *testing.T, args ...string) (int, string) {
	t.Helper()
	c, _, stderr := runUntilSignal(t, syscall.SIGTERM, nil, args...)
	return c, stderr
}

// runUntilSignal runs the tova command args, sending this process sig
// every 200 ms once ready (nil: at once) reports true, until it returns:
// its exit code, standard output and standard error.
func runUntilSignal(t *testing.T, sig syscall.Signal, ready func() bool, args ...string) (int, string, string) {
	t.Helper()
	var out, errb testutil.Buffer
	code := make(chan int, 1)
	sink := make(chan os.Signal, 64)
	signal.Notify(sink, sig)
	defer signal.Stop(sink)
	go func() { code <- run(args, &out, &errb) }()
	giveUp := time.After(10 * time.Second)
	for {
		time.Sleep(200 * time.Millisecond)
		if ready == nil || ready() {
			syscall.Kill(os.Getpid(), sig)
		}
		select {
		case c := <-code:
			return c, out.String(), errb.String()
		case <-giveUp:
			t.Fatalf("tova %s did not stop on %v", args[0], sig)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Started with SIGHUP ignored (nohup), tova run keeps it ignored: it
// asked for SIGHUP all the same, and the terminal's close stopped it.
func TestRunUnderNohupIgnoresSIGHUP(t *testing.T) {
	signal.Ignore(syscall.SIGHUP)
	defer signal.Reset(syscall.SIGHUP)
	app := filepath.Join(t.TempDir(), "nohup.tova")
	os.WriteFile(app, []byte("sleep(600)\nprint(\"done\")\n"), 0o644)
	var out, errb testutil.Buffer
	code := make(chan int, 1)
	go func() { code <- run([]string{"run", app}, &out, &errb) }()
	time.Sleep(200 * time.Millisecond)
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	if c := <-code; c != 0 || out.String() != "done\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", c, out.String(), errb.String())
	}
}

// SIGHUP (the terminal or session closed) stops `tova run` as SIGTERM
// does: the lines it printed are written out, it says so, and exits
// 128+1. It took Go's default action before: the process ended at once,
// its buffered lines lost.
func TestRunStopsOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	mark := filepath.Join(dir, "printed")
	app := filepath.Join(dir, "hup.tova")
	os.WriteFile(app, []byte("print(\"important result\")\nwrite(\"x\", \""+mark+"\")\nsleep(10000)\n"), 0o644)
	printed := func() bool { _, err := os.Stat(mark); return err == nil }
	c, stdout, stderr := runUntilSignal(t, syscall.SIGHUP, printed, "run", app)
	if c != 129 || stdout != "important result\n" || stderr != "tova run: stopped by SIGHUP\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", c, stdout, stderr)
	}
}

// A server that cannot start (bad env config) exits 5 with the reason.
func TestServeStartupError(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.tova")
	os.WriteFile(app, []byte(`server {
  env DATABASE_URL: String
  env API_TOKEN: String
  route GET "/" => fn() "x"
}
`), 0o644)
	var out, errb testutil.Buffer
	if c := run([]string{"serve", "--host", "127.0.0.1", app}, &out, &errb); c != 5 {
		t.Fatalf("exit %d, want 5", c)
	}
	if !strings.Contains(errb.String(), "DATABASE_URL, API_TOKEN") {
		t.Fatalf("startup error should list both variables: %s", errb.String())
	}
	// Checked for every server at once, first: the program did not
	// start (it named the first server, which was not the one missing
	// its variable).
	os.WriteFile(app, []byte("server \"api\" {\n  route GET \"/\" => fn() \"hi\"\n}\nserver \"worker\" {\n  env WORKER_KEY: String\n}\n"), 0o644)
	errb.Reset()
	t.Setenv("PORT_API", "0")
	t.Setenv("PORT_WORKER", "0")
	if c := run([]string{"serve", "--host", "127.0.0.1", app}, &out, &errb); c != 5 || !strings.HasPrefix(errb.String(), "tova serve: the program did not start:\n") || !strings.Contains(errb.String(), "WORKER_KEY") {
		t.Fatalf("exit %d: %s", c, errb.String())
	}
}

// A runtime error in a server's own code at start-up is shown as tova
// run shows one: position, source line, caret and Tova stack.
func TestServeStartupRuntimeError(t *testing.T) {
	app := filepath.Join(t.TempDir(), "app.tova")
	os.WriteFile(app, []byte("fn boom(x) { x.foo }\nserver \"w\" {\n  var y = boom(nil)\n  route GET \"/\" => fn() 1\n}\n"), 0o644)
	t.Setenv("PORT", "0")
	var out, errb testutil.Buffer
	if c := run([]string{"serve", "--host", "127.0.0.1", app}, &out, &errb); c != 5 {
		t.Fatalf("exit %d, want 5", c)
	}
	want := "tova serve: server w did not start:\n" + app + ":1:16: TypeError: cannot read field foo of nil\n" +
		"fn boom(x) { x.foo }\n               ^\n  at boom (" + app + ":1:16)\n  at server w (" + app + ":3:15)\n"
	if errb.String() != want {
		t.Fatalf("stderr:\n%s\nwant:\n%s", errb.String(), want)
	}
}

// A config block's value refused at start-up is shown at its key's
// value, with the source line and a caret (it was said at the block's
// first line, four lines away here).
func TestServeConfigErrorAtItsKey(t *testing.T) {
	app := filepath.Join(t.TempDir(), "app.tova")
	os.WriteFile(app, []byte("server {\n  cors {\n    origins: [\"https://a.com\"],\n    methods: [\"GET\"],\n    credentials: \"yes\"\n  }\n}\n"), 0o644)
	t.Setenv("PORT", "0")
	var out, errb testutil.Buffer
	if c := run([]string{"serve", "--host", "127.0.0.1", app}, &out, &errb); c != 5 {
		t.Fatalf("exit %d, want 5", c)
	}
	want := "tova serve: server: " + app + ":5:18: cors.credentials: expected true or false, got \"yes\"\n" +
		"    credentials: \"yes\"\n                 ^\n"
	if errb.String() != want {
		t.Fatalf("stderr:\n%s\nwant:\n%s", errb.String(), want)
	}
}

// A non-positive --timeout or a negative --drain is a usage error, not
// silently the default (or no drain at all).
func TestServeRefusesBadDurations(t *testing.T) {
	app := filepath.Join(t.TempDir(), "app.tova")
	os.WriteFile(app, []byte("server {\n  route GET \"/\" => fn() \"x\"\n}\n"), 0o644)
	for _, flags := range [][]string{{"--timeout", "0"}, {"--timeout", "-5s"}, {"--drain", "-1s"}} {
		var out, errb testutil.Buffer
		args := append(append([]string{"serve", "--host", "127.0.0.1"}, flags...), app)
		if c := run(args, &out, &errb); c != exitUsage || !strings.Contains(errb.String(), "--timeout must be positive and --drain not negative") {
			t.Errorf("%v: exit %d, %q", flags, c, errb.String())
		}
	}
}

// TOVA_LOG_LEVEL sets the least level logged; a value that is not a
// level is a usage error, not silently "info".
func TestServeLogLevel(t *testing.T) {
	for v, want := range map[string]zerolog.Level{"": zerolog.InfoLevel, "warn": zerolog.WarnLevel, "DEBUG": zerolog.DebugLevel, "disabled": zerolog.Disabled} {
		if l, err := logLevel(v); err != nil || l != want {
			t.Errorf("%q: %v %v, want %v", v, l, err, want)
		}
	}
	// zerolog's level numbers are not levels here (99 turned off every
	// line, errors too).
	for _, v := range []string{"99", "-1", "0", "3"} {
		if l, err := logLevel(v); err == nil {
			t.Errorf("%q: %v, want an error", v, l)
		}
	}
	app := filepath.Join(t.TempDir(), "app.tova")
	os.WriteFile(app, []byte("server {\n  route GET \"/\" => fn() \"x\"\n}\n"), 0o644)
	t.Setenv("TOVA_LOG_LEVEL", "verbose")
	var out, errb testutil.Buffer
	if c := run([]string{"serve", "--host", "127.0.0.1", app}, &out, &errb); c != exitUsage || !strings.Contains(errb.String(), `TOVA_LOG_LEVEL="verbose" is not a log level`) {
		t.Errorf("exit %d, %q", c, errb.String())
	}
}

// SIGTERM stops `tova run` of a program in a loop: exit 128+15 and one
// line saying so, not an uncaught runtime error with a stack.
func TestRunStopsOnSignal(t *testing.T) {
	app := filepath.Join(t.TempDir(), "loop.tova")
	os.WriteFile(app, []byte("var i = 0\nwhile true { i += 1 }\n"), 0o644)
	if c, stderr := runUntilSIGTERM(t, "run", app); c != 143 || stderr != "tova run: stopped by SIGTERM\n" {
		t.Fatalf("exit %d; stderr: %q", c, stderr)
	}
	// SIGQUIT (Ctrl-\) too: its default action dumped every goroutine's
	// Go stack (exit 2).
	if c, _, stderr := runUntilSignal(t, syscall.SIGQUIT, nil, "run", app); c != 131 || stderr != "tova run: stopped by SIGQUIT\n" {
		t.Fatalf("SIGQUIT: exit %d; stderr: %q", c, stderr)
	}
}

// --host takes an address alone: an IPv6 one may be bracketed; a port,
// an impossible IP, other characters or nothing (--host "$UNSET") are
// usage errors before the program is read.
func TestServeHostValues(t *testing.T) {
	for _, h := range []string{"999.1.1.1", "127.0.0.1:9999", "bad host!", "::1:80:x", "", "-1", "a..b", "-x.example"} {
		var out, errb testutil.Buffer
		if c := run([]string{"serve", "--host", h, "missing.tova"}, &out, &errb); c != exitUsage || !strings.Contains(errb.String(), "tova serve: --host: ") {
			t.Errorf("--host %q: exit %d, %q", h, c, errb.String())
		}
	}
	for h, want := range map[string]string{"[::1]": "::1", "::1": "::1", "localhost": "localhost", "10.0.0.1": "10.0.0.1", "app-1.internal.": "app-1.internal."} {
		if got, err := listenHost(h); err != nil || got != want {
			t.Errorf("listenHost(%q) = %q, %v; want %q", h, got, err, want)
		}
	}
}

// A GOGC Go would silently read as 100 is warned about.
func TestValidGOGC(t *testing.T) {
	for v, want := range map[string]bool{"off": true, "100": true, "-1": true, "garbage": false, "50%": false, "OFF": false} {
		if got := validGOGC(v); got != want {
			t.Errorf("validGOGC(%q) = %v, want %v", v, got, want)
		}
	}
}

// --server names the servers to run; "server" is the unnamed one (as
// its log lines call it) unless a server is named so; an unknown name is
// a usage error listing the servers there are.
func TestServeSelectsServers(t *testing.T) {
	const src = `server {
  route GET "/who" => fn() "unnamed"
}
server "w" {
  port 1
  route GET "/who" => fn() "w"
}
`
	sv, body := startServing(t, src, "/who", "--server", "server")
	if body != `"unnamed"` {
		t.Fatalf("--server server: GET /who = %q; stderr: %s", body, sv.errb.String())
	}
	if c := sv.stop(t); c != 0 || strings.Contains(sv.errb.String(), `"server":"w"`) {
		t.Fatalf("exit %d; the other server ran too? stderr: %s", c, sv.errb.String())
	}
	app := filepath.Join(t.TempDir(), "app.tova")
	os.WriteFile(app, []byte(src), 0o644)
	var out, errb testutil.Buffer
	if c := run([]string{"serve", "--host", "127.0.0.1", "--server", "api", app}, &out, &errb); c != exitUsage ||
		errb.String() != "tova serve: --server \"api\": the program has no such server (it has \"server\" (the unnamed one), \"w\")\n" {
		t.Errorf("--server api: exit %d, %q", c, errb.String())
	}
	// A misspelt name gets the one meant.
	os.WriteFile(app, []byte(strings.Replace(src, `server "w"`, `server "worker"`, 1)), 0o644)
	errb.Reset()
	if c := run([]string{"serve", "--host", "127.0.0.1", "--server", "wroker", app}, &out, &errb); c != exitUsage ||
		errb.String() != "tova serve: --server \"wroker\": the program has no such server (it has \"server\" (the unnamed one), \"worker\"; did you mean worker?)\n" {
		t.Errorf("--server wroker: exit %d, %q", c, errb.String())
	}
	for _, name := range []string{"WORKER", `"worker"`} {
		errb.Reset()
		if c := run([]string{"serve", "--host", "127.0.0.1", "--server", name, app}, &out, &errb); c != exitUsage || !strings.Contains(errb.String(), "; did you mean worker?)") {
			t.Errorf("--server %s: exit %d, %q", name, c, errb.String())
		}
	}
}

// What Go's own packages log through the standard logger (net/http's
// complaints about a misbehaving upstream) comes out as a JSON warning
// of the server's log, not a bare line among the JSON ones.
func TestServeLogsGoPackagesAsJSON(t *testing.T) {
	sv, body := startServing(t, "server {\n  route GET \"/hi\" => fn() \"hi\"\n}\n", "/hi")
	if body != `"hi"` {
		t.Fatalf("GET /hi = %q; stderr: %s", body, sv.errb.String())
	}
	stdlog.Printf("Unsolicited response received on idle HTTP channel starting with %q", "hello")
	if c := sv.stop(t); c != 0 {
		t.Fatalf("exit %d; stderr: %s", c, sv.errb.String())
	}
	found := false
	for _, line := range strings.Split(strings.TrimSpace(sv.errb.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("not a JSON line: %q", line)
			continue
		}
		if rec["from"] == "go" && rec["level"] == "warn" && rec["message"] == `Unsolicited response received on idle HTTP channel starting with "hello"` {
			found = true
		}
	}
	if !found {
		t.Errorf("no warning with the standard logger's line:\n%s", sv.errb.String())
	}
}

// With stdout and stderr the same pipe (2>&1 | tee), a printed line
// longer than a pipe writes atomically (4 KiB) and the JSON log lines
// never interleave: each line read is one print or one JSON record; and
// they come out in the order written: a request's printed line before
// its access line.
func TestServePrintAndLogsShareAPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// A slow reader keeps the pipe full, so writes go through in parts.
	read := make(chan []byte)
	go func() {
		var all []byte
		buf := make([]byte, 1024)
		for {
			n, err := r.Read(buf)
			all = append(all, buf[:n]...)
			if err != nil {
				read <- all
				return
			}
			time.Sleep(20 * time.Microsecond)
		}
	}()
	dir := t.TempDir()
	app := filepath.Join(dir, "app.tova")
	os.WriteFile(app, []byte(`server {
  route GET "/p" => fn(req) {
    print("PRINT {req.id} " + repeat("x", 9000))
    "ok"
  }
}
`), 0o644)
	port := setFreePort(t)
	code := make(chan int, 1)
	// Two descriptors of one pipe, as 2>&1 makes: one *os.File would
	// keep its writes apart by itself.
	fd, err := syscall.Dup(int(w.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	w2 := os.NewFile(uintptr(fd), "stderr")
	go func() { code <- run([]string{"serve", "--host", "127.0.0.1", app}, w, w2) }()
	url := "http://127.0.0.1:" + port + "/p"
	for i := 0; i < 100; i++ {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	done := make(chan int)
	for range 8 {
		go func() {
			n := 0
			for range 40 {
				if resp, err := http.Get(url); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					n++
				}
			}
			done <- n
		}()
	}
	answered := 1
	for range 8 {
		answered += <-done
	}
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	if c := <-code; c != 0 {
		t.Fatalf("exit %d", c)
	}
	w.Close()
	w2.Close()
	out := <-read
	prints, access := 0, 0
	printed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		if strings.HasPrefix(line, "PRINT ") {
			id, rest, _ := strings.Cut(strings.TrimPrefix(line, "PRINT "), " ")
			if rest != strings.Repeat("x", 9000) {
				t.Fatalf("a printed line was cut: %.200q…", line)
			}
			printed[id] = true
			prints++
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not a JSON line: %.300q…", line)
		}
		if rec["message"] == "request" {
			access++
			// One file for both: the order they were written in (the
			// printed line came after its request's access line).
			if id, _ := rec["request_id"].(string); !printed[id] {
				t.Errorf("the access line of %s came before its printed line", id)
			}
		}
	}
	if prints != answered || access != answered {
		t.Errorf("%d requests answered, %d printed lines, %d access lines", answered, prints, access)
	}
}

// printOneArtifact compiles print(1) to app.tbc in a directory of its
// own: the file's path and bytes, for a test to damage.
func printOneArtifact(t *testing.T) (string, []byte) {
	t.Helper()
	dir := t.TempDir()
	src, tbc := filepath.Join(dir, "app.tova"), filepath.Join(dir, "app.tbc")
	if err := os.WriteFile(src, []byte("print(1)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb testutil.Buffer
	if c := run([]string{"compile", src, "-o", tbc}, &out, &errb); c != 0 {
		t.Fatalf("compile: exit %d: %s", c, errb.String())
	}
	data, err := os.ReadFile(tbc)
	if err != nil {
		t.Fatal(err)
	}
	return tbc, data
}

// A .tbc of another format is refused saying what to do: compile the
// program again (it said only which format it was built for); for one
// of a later format, made by a newer tova, install that one here (it
// said to compile again, which the program may need the newer tova for).
func TestOtherFormatSaysWhatToDo(t *testing.T) {
	for _, c := range []struct {
		version uint16
		hint    string
	}{
		{bytecode.Version - 1, "tova: compile the program again with this tova (tova compile, or tova build)"},
		{bytecode.Version + 1, "tova: it was made by a newer tova: install that tova here, or compile the program with this one (tova compile, or tova build)"},
	} {
		tbc, data := printOneArtifact(t)
		var out, errb testutil.Buffer
		binary.LittleEndian.PutUint16(data[8:], c.version) // after the 8-byte magic
		if err := os.WriteFile(tbc, data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, cmd := range []string{"run", "serve"} {
			errb.Reset()
			if code := run([]string{cmd, tbc}, &out, &errb); code != 4 {
				t.Errorf("%s: exit %d, want 4", cmd, code)
			}
			want := fmt.Sprintf("app.tbc: built for .tbc format %d, this tova reads %d\n%s\n", c.version, bytecode.Version, c.hint)
			if got := errb.String(); !strings.HasSuffix(got, want) {
				t.Errorf("%s: stderr %q, want it to end %q", cmd, got, want)
			}
		}
	}
}

// tova run's output to a pipe or file is buffered, yet a line printed
// reaches it within moments, while the program still runs, and standard
// output and standard error written to one place keep their order.
func TestRunOutputFlushesAndKeepsOrder(t *testing.T) {
	app := filepath.Join(t.TempDir(), "app.tova")
	os.WriteFile(app, []byte(`print("a")
console.error("b")
print("c")
console.warn("d")
print("ready")
sleep(3000)
print("done")
`), 0o644)
	var both testutil.Buffer
	code := make(chan int, 1)
	go func() { code <- run([]string{"run", app}, &both, &both) }()
	const early = "a\nb\nc\nd\nready\n"
	deadline := time.Now().Add(2 * time.Second)
	for both.String() != early {
		select {
		case c := <-code:
			t.Fatalf("exit %d before the printed lines were seen apart: %q", c, both.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("2 s after starting, the output is %q", both.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if c := <-code; c != 0 || both.String() != early+"done\n" {
		t.Fatalf("exit %d, output %q", c, both.String())
	}
}

// print's lines are batched, as the logs are: a reader of stdout that
// stalls neither holds a printing request past its answer nor fails it,
// and one that went away (EPIPE) does not fail it either. Before, a
// stalled reader blocked every printing request inside its print (no
// 503 at its deadline, no answer), and a gone one made each answer 500.
func TestServePrintNeverWaitsOnStdout(t *testing.T) {
	for _, gone := range []bool{false, true} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		if gone {
			r.Close()
		}
		dir := t.TempDir()
		app := filepath.Join(dir, "app.tova")
		os.WriteFile(app, []byte(`server {
  route GET "/p" => fn() { print(repeat("x", 10000)); { ok: true } }
}
`), 0o644)
		port := setFreePort(t)
		code := make(chan int, 1)
		var errb testutil.Buffer
		go func() {
			code <- run([]string{"serve", "--host", "127.0.0.1", "--drain", "1s", "--timeout", "2s", app}, w, &errb)
		}()
		url := "http://127.0.0.1:" + port + "/p"
		client := &http.Client{Timeout: 3 * time.Second}
		var up bool
		for i := 0; i < 100 && !up; i++ {
			if resp, err := client.Get("http://127.0.0.1:" + port + "/nope"); err == nil {
				resp.Body.Close()
				up = true
			} else {
				time.Sleep(20 * time.Millisecond)
			}
		}
		// 100 lines of 10 kB: 15 times what a pipe holds.
		for i := 0; i < 100; i++ {
			resp, err := client.Get(url)
			if err != nil {
				t.Fatalf("gone=%v: request %d: %v", gone, i, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(b) != `{"ok":true}` {
				t.Fatalf("gone=%v: request %d: %d %s", gone, i, resp.StatusCode, b)
			}
		}
		var printed testutil.Buffer
		copied := make(chan struct{})
		if !gone {
			go func() { io.Copy(&printed, r); close(copied) }() // let the lines out
		}
		syscall.Kill(os.Getpid(), syscall.SIGTERM)
		select {
		case c := <-code:
			if c != 0 {
				t.Fatalf("gone=%v: exit %d: %s", gone, c, errb.String())
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("gone=%v: serve did not stop", gone)
		}
		w.Close()
		if !gone {
			<-copied
			// Held while the reader stalled, none lost.
			if n := len(printed.Lines(strings.Repeat("x", 10000))); n != 100 {
				t.Errorf("%d lines printed, want 100", n)
			}
			r.Close()
		}
	}
}

// SIGTERM stops `tova run` of a program waiting on standard input that
// stays open (a terminal, a pipe): read_stdin and read_lines waited for
// its end, whatever the signal.
func TestRunStopsWhileReadingStdin(t *testing.T) {
	for _, call := range []string{"read_stdin()", "read_lines()"} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		old := os.Stdin
		os.Stdin = r
		app := filepath.Join(t.TempDir(), "read.tova")
		os.WriteFile(app, []byte("s = "+call+"\nprint(len(s))\n"), 0o644)
		c, stderr := runUntilSIGTERM(t, "run", app)
		os.Stdin = old
		w.Close()
		r.Close()
		if c != 143 || stderr != "tova run: stopped by SIGTERM\n" {
			t.Errorf("%s: exit %d, stderr %q", call, c, stderr)
		}
	}
}

// An artifact whose checksum holds but whose code the VM would refuse (a
// builtin this tova lacks, a function that runs past its end: crafted,
// or damaged and resealed) is refused as a bad .tbc, naming the file,
// exit 4, by disasm too: disasm showed it, and run failed with exit 1
// and no file name.
func TestArtifactTheVMWouldRefuse(t *testing.T) {
	tbc, data := printOneArtifact(t)
	var out, errb testutil.Buffer
	i := bytes.Index(data, []byte("print"))
	if i < 0 {
		t.Fatal("no builtin name print in the artifact")
	}
	copy(data[i:], "prxnt")
	binary.LittleEndian.PutUint32(data[len(data)-4:], crc32.Checksum(data[:len(data)-4], crc32.MakeTable(crc32.Castagnoli)))
	if err := os.WriteFile(tbc, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"run", "disasm", "serve"} {
		errb.Reset()
		if c := run([]string{cmd, tbc}, &out, &errb); c != 4 || !strings.Contains(errb.String(), `app.tbc: corrupt .tbc: builtin 0: this tova has no builtin "prxnt"`) {
			t.Errorf("%s: exit %d, %q; want 4 and the builtin named", cmd, c, errb.String())
		}
	}
}

// A start-up error at a place of the program that no key of a block
// names (tls { } with neither file) is shown with its source line and a
// caret too, as docs/server.md says (it was the message alone).
func TestServeStartupErrorShowsItsLine(t *testing.T) {
	app := filepath.Join(t.TempDir(), "app.tova")
	os.WriteFile(app, []byte("server {\n  tls { }\n  route GET \"/x\" => fn() 1\n}\n"), 0o644)
	t.Setenv("PORT", "0")
	var out, errb testutil.Buffer
	if c := run([]string{"serve", "--host", "127.0.0.1", app}, &out, &errb); c != 5 {
		t.Fatalf("exit %d, want 5: %s", c, errb.String())
	}
	if !strings.HasSuffix(errb.String(), ": tls: the block gives neither cert nor key: it needs both, the paths of PEM files (the server would serve plain HTTP)\n  tls { }\n  ^\n") {
		t.Fatalf("stderr:\n%s", errb.String())
	}
}

// The compiler's warnings of a program `tova serve` compiles are the
// log's JSON lines when stderr is no terminal: their source lines and
// carets, written as text, broke a log reader's records, and
// TOVA_LOG_LEVEL=error did not hold them back.
func TestServeCompileWarningsAsLogLines(t *testing.T) {
	src := "server {\n  cache { defalt: \"public\" }\n  route GET \"/\" => fn() \"x\"\n}\n"
	sv, got := startServing(t, src, "/")
	if got != `"x"` {
		t.Fatalf("GET /: %q", got)
	}
	sv.stop(t)
	var found bool
	for _, line := range strings.Split(strings.TrimSpace(sv.errb.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("a line that is no JSON: %q", line)
			continue
		}
		if rec["in"] == "compile" {
			found = true
			if rec["level"] != "warn" || !strings.HasSuffix(fmt.Sprint(rec["at"]), "app.tova:2:11") || rec["message"] != "cache.defalt: unknown key (did you mean default?): it has no effect" {
				t.Errorf("the warning: %v", rec)
			}
		}
	}
	if !found {
		t.Errorf("no compile warning logged:\n%s", sv.errb.String())
	}
	t.Setenv("TOVA_LOG_LEVEL", "error")
	sv, _ = startServing(t, src, "/")
	sv.stop(t)
	if s := sv.errb.String(); strings.Contains(s, "defalt") {
		t.Errorf("a warning past TOVA_LOG_LEVEL=error:\n%s", s)
	}
}
