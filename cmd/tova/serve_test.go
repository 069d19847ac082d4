package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tova/internal/testutil"
)

// `tova serve` runs until SIGTERM, then drains, runs on_stop and exits 0.
func TestServeStopsOnSIGTERM(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.tova")
	os.WriteFile(app, []byte(`server {
  route GET "/hi" => fn() "hi"
  on_stop fn() { print("bye") }
}
`), 0o644)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	t.Setenv("PORT", port)
	var out, errb testutil.Buffer
	code := make(chan int, 1)
	go func() { code <- run([]string{"serve", "--host", "127.0.0.1", app}, &out, &errb) }()
	url := "http://127.0.0.1:" + port + "/hi"
	var body string
	for i := 0; i < 100; i++ {
		if resp, err := http.Get(url); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if body != `"hi"` {
		t.Fatalf("GET /hi = %q; stderr: %s", body, errb.String())
	}
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit %d; stderr: %s", c, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	if !strings.Contains(out.String(), "bye") {
		t.Fatalf("on_stop did not run: %q", out.String())
	}
	if !strings.Contains(errb.String(), `"message":"request"`) {
		t.Fatalf("no access log line: %s", errb.String())
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
}
