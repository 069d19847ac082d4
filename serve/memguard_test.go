package serve

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

func liveHeap() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// A handler that allocates without bound is stopped when the live heap
// passes the memory limit, long before its deadline and before the
// process runs out of memory: its client gets 503 MEMORY_LIMIT, the
// server goes on serving, and what the handler held is freed.
func TestMemoryGuardStopsAnAllocatingHandler(t *testing.T) {
	limit := liveHeap() + 64<<20
	app := startApp(t, `server {
  route GET "/hog" => fn() {
    xs = []
    loop { xs.push("x" * 1000000) }
  }
  route GET "/ok" => fn() "ok"
}`, func(o *Options) { o.MemoryLimit = limit })
	u := app.urls[""]
	start := time.Now()
	// Its deadline (30 s) bounds the wait for the hog's answer.
	r := doWith(t, &http.Client{Timeout: time.Minute}, "GET", u+"/hog", "")
	if r.status != 503 || !strings.Contains(r.body, `"MEMORY_LIMIT"`) {
		t.Fatalf("GET /hog = %d %s, want 503 MEMORY_LIMIT", r.status, r.body)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the hog was stopped after %v (its deadline is 30 s)", d)
	}
	if r := do(t, "GET", u+"/ok", ""); r.status != 200 || r.body != `"ok"` {
		t.Fatalf("GET /ok after the hog = %d %s", r.status, r.body)
	}
	waitFor(t, func() bool { return liveHeap() < limit-32<<20 })
	stopped := logged(app.logs, "memory limit passed: the running request due first was stopped (503 MEMORY_LIMIT)")
	if len(stopped) != 1 || stopped[0]["pool"] == "" || stopped[0]["limit_bytes"] != float64(limit) ||
		stopped[0]["request_id"] != r.header.Get("X-Request-Id") {
		t.Errorf("log of the stop: %v (the request's id: %s)", stopped, r.header.Get("X-Request-Id"))
	}
	for _, l := range logged(app.logs, "request") {
		if l["path"] == "/hog" && (l["status"] != float64(503) || !strings.Contains(l["error"].(string), "memory limit") || l["request_id"] != r.header.Get("X-Request-Id")) {
			t.Errorf("access line of /hog: %v", l)
		}
	}
}

// A job that allocates without bound is stopped the same way: the
// guard's line speaks of a job, not of a 503, and the job's failure is
// logged with its kind and where its code was, as a timeout's is.
func TestMemoryGuardStopsAnAllocatingJob(t *testing.T) {
	limit := liveHeap() + 64<<20
	app := startApp(t, `server {
  jobs { max_attempts: 1 }
  background fn hog() {
    xs = []
    loop { xs.push("x" * 1000000) }
  }
  route POST "/hog" => fn() { spawn_job(hog) }
  route GET "/ok" => fn() "ok"
}`, func(o *Options) { o.MemoryLimit = limit; o.Dir = t.TempDir() })
	u := app.urls[""]
	if r := do(t, "POST", u+"/hog", ""); r.status != 200 {
		t.Fatalf("POST /hog = %d %s", r.status, r.body)
	}
	const stopMsg = "memory limit passed: the running job due first was stopped (it fails, and is retried as its attempts allow)"
	waitFor(t, func() bool { return len(logged(app.logs, stopMsg)) == 1 })
	var failed map[string]any
	waitFor(t, func() bool {
		for _, l := range logged(app.logs, "the process passed its memory limit while the job ran, and it was the running code due first: it was stopped") {
			failed = l
		}
		return failed != nil
	})
	if failed["kind"] != "MemoryLimit" || !strings.HasPrefix(fmt.Sprint(failed["at"]), "app.tova:5:") || !strings.Contains(fmt.Sprint(failed["stack"]), "at hog") {
		t.Errorf("the job's failure: %v", failed)
	}
	if r := do(t, "GET", u+"/ok", ""); r.status != 200 {
		t.Errorf("GET /ok after the hog = %d %s", r.status, r.body)
	}
}

// Requests that wait (for another server's answer here; a query or a
// sleep alike) are passed over for the one that allocates, though they
// are due first: they finish as if the guard had not acted. (The
// upstream answers them only once the hog has been stopped, however
// slowly a loaded machine lets the hog reach the limit, and what the hog
// held is freed: a request that had its answer would run, and, due
// first, be stopped first.)
func TestMemoryGuardSparesWaitingRequests(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		fmt.Fprint(w, "upstream ok")
	}))
	defer up.Close()
	limit := liveHeap() + 64<<20
	app := startApp(t, fmt.Sprintf(`server {
  route GET "/slow" => fn() { r = fetch("%s/x", { timeout: 50.seconds }); r.text() }
  route GET "/hog" => fn() {
    xs = []
    loop { xs.push("x" * 1000000) }
  }
}`, up.URL), func(o *Options) { o.MemoryLimit = limit; o.RequestTimeout = time.Minute })
	u := app.urls[""]
	slow := make(chan reply, 3)
	for range cap(slow) {
		go func() { slow <- doWith(t, &http.Client{Timeout: 2 * time.Minute}, "GET", u+"/slow", "") }()
	}
	pool := app.rt.Servers()[0].Pool()
	waitFor(t, func() bool { return pool.Stats().Waiting == int64(cap(slow)) })
	// Its deadline bounds the wait for the hog's answer.
	r := doWith(t, &http.Client{Timeout: 2 * time.Minute}, "GET", u+"/hog", "")
	if r.status != 503 || !strings.Contains(r.body, `"MEMORY_LIMIT"`) {
		close(release)
		t.Fatalf("GET /hog = %d %s, want 503 MEMORY_LIMIT", r.status, r.body)
	}
	// Answered once what the hog held is freed: woken up while it was
	// still live (slowly, under the race detector), they ran, due
	// first, past the limit, and were stopped in their turn.
	waitFor(t, func() bool { return liveHeap() < limit-32<<20 })
	close(release)
	for range cap(slow) {
		if r := <-slow; r.status != 200 || r.body != `"upstream ok"` {
			t.Errorf("a waiting request beside the hog: %d %s", r.status, r.body)
		}
	}
}

func TestDefaultMemoryLimit(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/meminfo")
	}
	got := DefaultMemoryLimit()
	total, err := memlimit.FromSystem()
	if err != nil || got == 0 || got > total/4*3 {
		t.Fatalf("DefaultMemoryLimit() = %d with MemTotal %d", got, total)
	}
}

// GOMEMLIMIT=0 means no limit for the guard, and for the Go runtime too,
// which would otherwise collect without pause; GOMEMLIMIT=300MiB is
// guarded as it is. (The runtime reads GOMEMLIMIT as the process
// starts: each case runs in a process of its own.)
func TestProcessMemoryLimitFromEnvironment(t *testing.T) {
	if os.Getenv("TOVA_MEMLIMIT_CHILD") == "1" {
		l, from := ProcessMemoryLimit()
		fmt.Printf("guard=%d from=%s go=%d\n", l, from, debug.SetMemoryLimit(-1))
		return
	}
	for env, want := range map[string]string{
		"0":      fmt.Sprintf("guard=0 from=GOMEMLIMIT go=%d", int64(math.MaxInt64)),
		"off":    fmt.Sprintf("guard=0 from=GOMEMLIMIT go=%d", int64(math.MaxInt64)),
		"300MiB": fmt.Sprintf("guard=%d from=GOMEMLIMIT go=%d", 300<<20, 300<<20),
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestProcessMemoryLimitFromEnvironment$")
		cmd.Env = append(os.Environ(), "TOVA_MEMLIMIT_CHILD=1", "GOMEMLIMIT="+env)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("GOMEMLIMIT=%s: %v\n%s", env, err, out)
		}
		if !strings.Contains(string(out), want+"\n") {
			t.Errorf("GOMEMLIMIT=%s: %s, want %s", env, out, want)
		}
	}
}
