package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// envCLI makes the test binary run the tova command line with the
// arguments it holds (one per line), for a test that needs tova as a
// process of its own.
const envCLI = "TOVA_TEST_CLI_ARGS"

// envCLIArgs makes the test binary run the tova command line with its
// own arguments: set for a tova process that starts tova processes of
// its own as os.Executable() (tova bench http's targets).
const envCLIArgs = "TOVA_TEST_CLI_OWN_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(envCLI); args != "" {
		os.Exit(run(strings.Split(args, "\n"), os.Stdout, os.Stderr))
	}
	if os.Getenv(envCLIArgs) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// A server whose stderr reader goes away (a log shipper that crashed,
// `2>&1 | head`) goes on serving: the next log line's write fails, and
// the process is not killed by SIGPIPE. SIGTERM still stops it, exit 0.
func TestServeOutlivesItsLogReader(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.tova")
	if err := os.WriteFile(app, []byte("server {\n  port 0\n  route GET \"/hi\" => fn() \"hi\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envCLI+"="+strings.Join([]string{"serve", app, "--host", "127.0.0.1"}, "\n"))
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	url := ""
	sc := bufio.NewScanner(r)
	for url == "" && sc.Scan() {
		var line struct{ URL, Message string }
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Message == "server listening" {
			url = line.URL
		}
	}
	if url == "" {
		t.Fatal("no server listening line")
	}
	r.Close() // the reader goes away
	for i := range 20 {
		resp, err := http.Get(url + "/hi")
		if err != nil {
			t.Fatalf("request %d after the log reader went away: %v", i, err)
		}
		resp.Body.Close()
		time.Sleep(60 * time.Millisecond) // past a log flush
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the server ended with %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the server did not stop on SIGTERM")
	}
}

// A file a program's write or fs.write_text makes new has the mode the
// process's umask leaves of 0644, as os.WriteFile gave it: under umask
// 077, 0600 (it was 0644 whatever the umask, a secret readable by all).
func TestNewFilesKeepTheUmask(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "w.tova")
	if err := os.WriteFile(script, []byte(`fs.write_text("`+filepath.Join(dir, "a.txt")+`", "secret")
write([{ a: 1 }], "`+filepath.Join(dir, "b.csv")+`")
`), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", "-c", `umask 077; exec "$0" -test.run=^$`, os.Args[0])
	cmd.Env = append(os.Environ(), envCLI+"="+strings.Join([]string{"run", script}, "\n"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	for _, name := range []string{"a.txt", "b.csv"} {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want 0600", name, st.Mode(), err)
		}
	}
}
