package httpbench

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestHistogramQuantiles(t *testing.T) {
	t.Parallel()
	var h histogram
	for i := 1; i <= 10000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 5 * time.Millisecond}, {0.99, 9900 * time.Microsecond}, {1, 10 * time.Millisecond}} {
		got := h.quantile(tc.q)
		if diff := float64(got-tc.want) / float64(tc.want); diff < -0.02 || diff > 0.02 {
			t.Errorf("q%.2f = %v, want %v ±2%%", tc.q, got, tc.want)
		}
	}
	for _, v := range []uint64{0, 1, 127, 128, 129, 1000, 1 << 20, 1<<40 + 12345} {
		mid := bucketMid(bucketOf(v))
		if d := float64(mid) - float64(v); d < -float64(v)/64-1 || d > float64(v)/64+1 {
			t.Errorf("bucket of %d has middle %d", v, mid)
		}
	}
	var other histogram
	other.record(time.Hour)
	h.merge(&other)
	if h.total != 10001 || time.Duration(h.max) != time.Hour {
		t.Errorf("merge: total %d max %v", h.total, time.Duration(h.max))
	}
}

// TestCompareSmoke runs a very short comparison: it checks the harness
// works end to end, not the numbers.
func TestCompareSmoke(t *testing.T) {
	t.Parallel()
	srv, stop, err := NetioHello()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	// (netio's hello answers every path, as the bare handler does)
	missing := httptest.NewServer(http.NotFoundHandler())
	defer missing.Close()
	opts := Options{Connections: 4, Duration: 150 * time.Millisecond, Warmup: 30 * time.Millisecond}
	table := Compare([]Target{
		{Name: "bare", Handler: Bare, Baseline: true},
		{Name: "netio", URL: srv.URL() + "/"},
		{Name: "missing", URL: missing.URL + "/missing"},
	}, opts)
	if len(table.Rows) != 3 {
		t.Fatalf("%d rows", len(table.Rows))
	}
	for _, r := range table.Rows[:2] {
		if r.Err != nil || r.Requests == 0 || r.RPS <= 0 || r.P50 <= 0 || r.P50 > r.P99 || r.P99 > r.Max || r.Non2xx != 0 {
			t.Errorf("%s: %+v", r.Name, r)
		}
	}
	if table.Rows[0].Ratio != 1 || table.Rows[1].Ratio <= 0 {
		t.Errorf("ratios %v %v", table.Rows[0].Ratio, table.Rows[1].Ratio)
	}
	if r := table.Rows[2]; r.Non2xx != r.Requests || r.Requests == 0 {
		t.Errorf("404 target: %+v", r)
	}
	out := table.String()
	for _, want := range []string{"req/s", "p50", "p99", "bare", "netio", "1.000x"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	t.Logf("\n%s", out)
}

func TestRunReportsUnreachableTarget(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	err := Run(&buf, Options{URL: "http://127.0.0.1:1/", Connections: 1, Duration: 50 * time.Millisecond, Warmup: -1})
	if err == nil || !strings.Contains(buf.String(), "127.0.0.1:1") {
		t.Fatalf("err %v, output %q", err, buf.String())
	}
	if err := Run(&buf, Options{}); err == nil {
		t.Fatal("Run without URL succeeded")
	}
}

// TestReport prints the bare-vs-netio table over real sockets. It runs only
// when HTTPBENCH_DURATION is set (e.g. HTTPBENCH_DURATION=10s), so that
// `go test` never runs a load test by accident:
//
//	HTTPBENCH_DURATION=10s go test -run TestReport -v ./bench/httpbench/
func TestReport(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("HTTPBENCH_DURATION"))
	if err != nil {
		t.Skip("set HTTPBENCH_DURATION to run the load comparison")
	}
	conns := 64
	if c, err := strconv.Atoi(os.Getenv("HTTPBENCH_CONNECTIONS")); err == nil {
		conns = c
	}
	srv, stop, err := NetioHello()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	table := Compare([]Target{
		{Name: "fasthttp (bare)", Handler: Bare, Baseline: true},
		{Name: "netio + pool", URL: srv.URL() + "/"},
	}, Options{Connections: conns, Duration: d, Warmup: d / 5})
	t.Logf("\n%s", table)
}

func TestParseStatCPU(t *testing.T) {
	// A command name with spaces and parentheses; utime 250, stime 50.
	line := "4242 (tova (x) y) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 50 0 0 20 0 9 0 100 0 0"
	got, err := parseStatCPU(line)
	if want := (CPUTime{User: 2500 * time.Millisecond, System: 500 * time.Millisecond}); err != nil || got != want {
		t.Fatalf("parseStatCPU = %+v, %v; want %+v", got, err, want)
	}
	if _, err := parseStatCPU("4242 tova S 1"); err == nil {
		t.Fatal("a line without the command's parentheses parsed")
	}
}

// The measuring process's own CPU time is readable and grows with work.
func TestProcessCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	before, err := ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Spin until the process has counted 300 ms of CPU (on a loaded
	// machine 300 ms of wall clock may give it far less), for at most
	// 20 s; spinning in user space is user time.
	var d CPUTime
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); {
		for spin := time.Now().Add(10 * time.Millisecond); time.Now().Before(spin); {
		}
		after, err := ProcessCPU(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if d = after.Sub(before); d.User+d.System >= 300*time.Millisecond {
			break
		}
	}
	if d.User+d.System < 300*time.Millisecond {
		t.Fatalf("20 s of spinning counted as %+v of CPU", d)
	}
	if d.User < 200*time.Millisecond {
		t.Fatalf("spinning counted as %+v of CPU: most of it should be user time", d)
	}
}

// The table shows server CPU per request only when it was measured.
func TestTableServerCPUColumn(t *testing.T) {
	rows := []Result{
		{Name: "bare", Requests: 1000, RPS: 1000, P50: time.Millisecond, P99: time.Millisecond, Max: time.Millisecond, Ratio: 1},
		{Name: "tova", Requests: 500, RPS: 500, P50: time.Millisecond, P99: time.Millisecond, Max: time.Millisecond, Ratio: 0.5},
	}
	without := Table{Rows: rows}.String()
	if strings.Contains(without, "CPU") {
		t.Fatalf("CPU column without measurements:\n%s", without)
	}
	rows[0].ServerCPU = CPUTime{User: 2 * time.Millisecond, System: 8 * time.Millisecond}    // 10 µs per request: 2 + 8
	rows[1].ServerCPU = CPUTime{User: 2 * time.Millisecond, System: 4500 * time.Microsecond} // 13 µs per request: 4 + 9
	with := Table{Rows: rows}.String()
	if !strings.Contains(with, "server CPU/req") {
		t.Fatalf("no CPU column:\n%s", with)
	}
	// Each row: CPU per request, then its user and system parts.
	for name, want := range map[string]*regexp.Regexp{
		"bare": regexp.MustCompile(`10\.0µs +2\.0µs +8\.0µs`),
		"tova": regexp.MustCompile(`13\.0µs +4\.0µs +9\.0µs`),
	} {
		var row string
		for line := range strings.Lines(with) {
			if strings.HasPrefix(strings.TrimSpace(line), name+" ") {
				row = line
			}
		}
		if !want.MatchString(row) {
			t.Fatalf("row %q lacks %v:\n%s", name, want, with)
		}
	}
}
