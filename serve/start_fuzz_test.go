package serve

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"tova/driver"
	"tova/internal/testutil"
)

// FuzzServeStart starts arbitrary programs as `tova serve` does: the
// configuration blocks, server bodies and on_start hooks of whatever
// compiles. Start must succeed or say why (never a Go panic or an
// internal error); a server that starts must answer a request with
// HTTP, and stop within its drain deadline. The seeds are the programs
// with servers of the tests, the examples and the conformance programs.
func FuzzServeStart(f *testing.F) {
	for _, src := range []string{fuzzApp, fuzzGuardedApp, sessionsApp, authApp, idempotencyApp, compressionApp,
		"server \"api\" {\n  port 0\n  var n = 0\n  on_start fn() { n = 1 }\n  on_stop fn() { print(n) }\n  route GET \"/\" => fn() n\n}\nserver \"worker\" {\n  route GET \"/\" => fn() \"w\"\n}\n",
		"server {\n  timeout 1.second\n  health \"/health\"\n  middleware fn m(req, next) { next(req) }\n  route GET \"/*rest\" => fn(rest) rest\n}\n",
	} {
		f.Add([]byte(src))
	}
	for _, dir := range []string{"../examples", "../spec"} {
		_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".tova") {
				if src, err := os.ReadFile(path); err == nil && bytes.Contains(src, []byte("server")) {
					f.Add(src)
				}
			}
			return nil
		})
	}
	client := &http.Client{Timeout: 10 * time.Second}
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := driver.CompileFile("app.tova", src)
		if err != nil || len(p.Servers) == 0 {
			return // compile errors are FuzzCompileRun's
		}
		ports := map[string]int{}
		for _, s := range p.Servers {
			ports[s.Name] = 0
		}
		start, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		logs := &testutil.Buffer{}
		rt, err := Start(p, Options{Host: "127.0.0.1", Ports: ports, Stdout: io.Discard, Stderr: io.Discard,
			Logger: zerolog.New(logs), Getenv: func(string) (string, bool) { return "", false },
			RequestTimeout: 2 * time.Second, Dir: t.TempDir(), StartContext: start})
		if err != nil {
			// (As in the logs below: a program's own error may say
			// "panic" in its message; a caught Go panic says whose.)
			if msg := err.Error(); strings.Contains(msg, " panicked: ") || strings.Contains(msg, "InternalError") {
				t.Fatalf("start: %v", err)
			}
			return
		}
		for _, s := range rt.Servers() {
			resp, err := client.Get(s.URL() + "/")
			if err != nil {
				t.Fatalf("server %q: GET /: %v", s.Name, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		stop, cancelStop := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancelStop()
		began := time.Now()
		_ = rt.Shutdown(stop)
		if d := time.Since(began); d > 8*time.Second {
			t.Fatalf("shutdown took %v, past its 3 s deadline", d)
		}
		// A Go panic in the runtime, caught, is logged as an actor that
		// panicked; a hole in the VM, as an InternalError.
		if l := logs.String(); strings.Contains(l, " panicked: ") || strings.Contains(l, `"kind":"InternalError"`) {
			t.Fatalf("the runtime failed:\n%s", l)
		}
	})
}
