package httpbench

import (
	"context"
	"net"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func TestParseWrk(t *testing.T) {
	t.Parallel()
	out := "Running 1s test @ http://127.0.0.1:1/json\n" +
		"Requests/sec: 103010.44\n" +
		"tova-wrk requests=1000 duration_us=2000000 connect=1 read=2 write=3 status=40 timeout=4\n" +
		"tova-wrk-latency 100:500 200:490 5000:10\n"
	run, err := parseWrk([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if run.requests != 1000 || run.elapsed != 2*time.Second || run.errs != 10 || run.non2xx != 40 {
		t.Errorf("totals %+v", run)
	}
	if run.hist.total != 1000 || run.hist.max != uint64(5*time.Millisecond) {
		t.Errorf("histogram total %d max %d", run.hist.total, run.hist.max)
	}
	// within the histogram's precision (1/64)
	if p50, p99 := run.hist.quantile(0.5), run.hist.quantile(0.99); p50 < 98*time.Microsecond || p50 > 102*time.Microsecond || p99 < 196*time.Microsecond || p99 > 204*time.Microsecond {
		t.Errorf("p50 %v p99 %v", p50, p99)
	}
	for _, bad := range []string{
		"Requests/sec: 1\n", // no script output: wrk without Lua, or killed
		"tova-wrk requests=1 duration_us=1 connect=0 read=0 write=0 status=0\ntova-wrk-latency 1:1\n", // no timeout field
		"tova-wrk requests=x duration_us=1 connect=0 read=0 write=0 status=0 timeout=0\ntova-wrk-latency 1:1\n",
		"tova-wrk requests=1 duration_us=1 connect=0 read=0 write=0 status=0 timeout=0\ntova-wrk-latency 1-1\n",
		"tova-wrk requests=1 duration_us=1 connect=0 read=0 write=0 status=0 timeout=0\n", // no latency line
	} {
		if _, err := parseWrk([]byte(bad)); err == nil {
			t.Errorf("parsed %q", bad)
		}
	}
}

// TestWrkLoad drives a real server with a real wrk: every fourth answer
// is a 500, which wrk counts as a status error.
func TestWrkLoad(t *testing.T) {
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Skip("wrk is not installed")
	}
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var served, failed atomic.Uint64
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if served.Add(1)%4 == 0 {
			failed.Add(1)
			ctx.SetStatusCode(500)
			return
		}
		Bare(ctx)
	}}
	go srv.Serve(ln)
	defer srv.Shutdown()

	if _, err := NewWrkLoad(Options{URL: "http://" + ln.Addr().String() + "/", Method: "POST"}); err == nil || !strings.Contains(err.Error(), "plain GET") {
		t.Errorf("POST: %v", err)
	}
	w, err := NewWrkLoad(Options{URL: "http://" + ln.Addr().String() + "/json", Connections: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Run(context.Background(), 0, 1500*time.Millisecond); err == nil || !strings.Contains(err.Error(), "whole seconds") {
		t.Errorf("1.5s: %v", err)
	}
	var rps [2]float64
	for i := range rps {
		if rps[i], err = w.Run(context.Background(), 0, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	r, err := w.Result()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v (server answered %d, %d of them 500)", r, served.Load(), failed.Load())
	if r.Requests == 0 || r.Requests > served.Load() || rps[0] <= 0 || rps[1] <= 0 {
		t.Fatalf("requests %d (server answered %d), rps %v", r.Requests, served.Load(), rps)
	}
	if r.Elapsed < 2*time.Second || r.Elapsed > 3*time.Second {
		t.Errorf("elapsed %v over two 1 s runs", r.Elapsed)
	}
	if got := float64(r.RPS); got < (rps[0]+rps[1])/2*0.9 || got > (rps[0]+rps[1])/2*1.1 {
		t.Errorf("rps %v, runs %v", got, rps)
	}
	// wrk stops reading when its time is up: a few answers the server
	// counted may not be in its totals.
	if share := float64(r.Non2xx) / float64(r.Requests); share < 0.24 || share > 0.26 {
		t.Errorf("%d of %d answers counted as 500s, want a quarter", r.Non2xx, r.Requests)
	}
	if r.Errors != 0 || r.P50 <= 0 || r.P50 > r.P99 || r.P99 > r.Max || r.Max > time.Second {
		t.Errorf("result %+v", r)
	}
	if r.RPS*r.Elapsed.Seconds() < float64(r.Requests)*0.99 {
		t.Errorf("rps %v over %v for %d requests", r.RPS, r.Elapsed, r.Requests)
	}
}

func TestBareBusy(t *testing.T) {
	t.Parallel()
	var ctx fasthttp.RequestCtx
	start := time.Now()
	BareBusy(2 * time.Millisecond)(&ctx)
	if d := time.Since(start); d < 2*time.Millisecond {
		t.Errorf("answered after %v, want at least 2ms", d)
	}
	if string(ctx.Response.Body()) != HelloBody || string(ctx.Response.Header.ContentType()) != "application/json" {
		t.Errorf("answer %q %q", ctx.Response.Body(), ctx.Response.Header.ContentType())
	}
}
