package netio

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Fetch bounds what it reads and how long it waits, and says why it
// stopped: a body over MaxBody (announced or not), a redirect loop, the
// caller's context ending (its error, for errors.Is).
func TestFetchLimits(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			w.Write([]byte(strings.Repeat("x", 100)))
			w.(http.Flusher).Flush() // no Content-Length: read until the limit
			w.Write([]byte(strings.Repeat("y", 100)))
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/host":
			w.Write([]byte(r.Host))
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	if _, err := Fetch(ctx, OutboundRequest{URL: srv.URL + "/chunked", MaxBody: 150}); err == nil || !strings.Contains(err.Error(), "the response body is over the limit of 150 bytes") {
		t.Errorf("chunked body over the limit: %v", err)
	}
	if r, err := Fetch(ctx, OutboundRequest{URL: srv.URL + "/chunked", MaxBody: 200}); err != nil || len(r.Body) != 200 {
		t.Errorf("chunked body at the limit: %v", err)
	}
	if _, err := Fetch(ctx, OutboundRequest{URL: srv.URL + "/loop"}); err == nil || !strings.Contains(err.Error(), "stopped after 20 redirects") {
		t.Errorf("redirect loop: %v", err)
	}
	if r, err := Fetch(ctx, OutboundRequest{URL: srv.URL + "/host", Headers: Headers{{"Host", "example.test"}}}); err != nil || string(r.Body) != "example.test" {
		t.Errorf("Host header: %v %q", err, r.Body)
	}
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := Fetch(cctx, OutboundRequest{URL: srv.URL + "/slow", Timeout: time.Minute}); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Errorf("the caller's deadline: %v after %v", err, time.Since(start))
	}
}
