package netio

import (
	"context"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// The 503 SHUTTING_DOWN of a request stopped by the drain while its
// handler ran and that of a request refused during the drain were the
// same answer, so a client could not tell that the first had run: only
// the second carries X-Tova-Not-Run.
func TestNotRunMarksOnlyAnswersBeforeAnyHandler(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{})
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/hang", func(ctx context.Context, _ *Request) *Response {
			close(entered)
			<-ctx.Done()
			return Text(500, "cancelled")
		})
	}, nil)
	inflight := make(chan reply, 1)
	go func() {
		r, err := ts.try("GET", "/hang", nil, nil)
		if err != nil {
			t.Error(err)
		}
		inflight <- r
	}()
	<-entered
	shutdown := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		shutdown <- ts.srv.Shutdown(ctx)
	}()
	waitUntil(t, ts.srv.draining.Load)
	var fresh fasthttp.RequestCtx
	fresh.Request.SetRequestURI("/hang")
	fresh.Request.Header.SetHost("x")
	ts.srv.Handler()(&fresh)
	if fresh.Response.StatusCode() != 503 || string(fresh.Response.Header.Peek(HeaderNotRun)) != "1" {
		t.Errorf("request begun in the drain -> %d, %s %q", fresh.Response.StatusCode(), HeaderNotRun, fresh.Response.Header.Peek(HeaderNotRun))
	}
	r := <-inflight
	if r.status != 503 {
		t.Fatalf("in-flight request stopped by the drain -> %d %s", r.status, r.body)
	}
	if v, ok := r.header["x-tova-not-run"]; ok {
		t.Errorf("in-flight request stopped by the drain carries %s: %q", HeaderNotRun, v)
	}
	<-shutdown
}
