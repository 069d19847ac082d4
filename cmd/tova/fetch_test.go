package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tova/internal/testutil"
)

// `tova run` scripts fetch too: a real HTTP server on loopback answers;
// a fetch that fails uncaught ends the script with its error and
// position (exit 1).
func TestRunFetches(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"method":%q,"agent":%q,"body":%q}`, r.Method, r.Header.Get("X-Agent"), b)
	}))
	defer srv.Close()
	t.Setenv("TARGET", srv.URL)
	dir := t.TempDir()
	script := filepath.Join(dir, "get.tova")
	os.WriteFile(script, []byte(`r = fetch(env("TARGET") + "/x", { method: "POST", body: "hi", headers: { "X-Agent": "tova" } })
print(r.status, r.json())
fetch("http://127.0.0.1:1/")
`), 0o644)
	var out, errb testutil.Buffer
	code := run([]string{"run", script}, &out, &errb)
	if out.String() != "200 { method: \"POST\", agent: \"tova\", body: \"hi\" }\n" {
		t.Errorf("stdout %q", out.String())
	}
	if code != 1 || !strings.Contains(errb.String(), script+":3:6: FetchError: fetch GET http://127.0.0.1:1/: connection refused") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}
