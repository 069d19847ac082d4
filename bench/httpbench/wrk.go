package httpbench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// wrkScript makes wrk print, after its own report, its totals and its
// whole latency distribution (distinct values in µs with their counts),
// so that turns can be merged into one histogram as the built-in load
// generator's are.
const wrkScript = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("tova-wrk requests=%d duration_us=%d connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout))
  local buf = {}
  for i = 1, #latency do
    local v, c = latency(i)
    buf[#buf+1] = string.format("%d:%d", v, c)
  end
  io.write("tova-wrk-latency ", table.concat(buf, " "), "\n")
end
`

// WrkLoad drives a target with wrk (https://github.com/wg/wrk), the load
// generator the runtime's throughput goal is stated with, instead of the
// built-in one. It has the same Run/Result shape as Load. wrk takes
// durations in whole seconds.
//
// Its counts differ from Load's in two ways: Non2xx counts answers with
// a status of 400 or more (wrk's "status" errors), and Errors counts
// wrk's connect, read, write and timeout errors.
type WrkLoad struct {
	url     string
	wrk     string // the wrk binary
	script  string // the temporary file holding wrkScript
	threads int
	conns   int
	timeout time.Duration

	hist                   histogram
	requests, errs, non2xx uint64
	elapsed                time.Duration
}

// NewWrkLoad checks that wrk is installed and opts.URL is an http URL,
// and writes wrk's script to a temporary file; Close removes it.
// Threads is 2, as in wrk -t2 (1 for a single connection).
func NewWrkLoad(opts Options) (*WrkLoad, error) {
	opts.defaults()
	if _, err := checkURL(opts.URL); err != nil {
		return nil, err
	}
	if opts.Method != "GET" || opts.Body != nil || len(opts.Headers) > 0 {
		return nil, errors.New("httpbench: the wrk load sends plain GET requests only")
	}
	bin, err := exec.LookPath("wrk")
	if err != nil {
		return nil, fmt.Errorf("httpbench: wrk is not installed (on Debian: apt-get install wrk): %w", err)
	}
	f, err := os.CreateTemp("", "tova-wrk-*.lua")
	if err != nil {
		return nil, err
	}
	_, err = f.WriteString(wrkScript)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return nil, err
	}
	return &WrkLoad{
		url:     opts.URL,
		wrk:     bin,
		script:  f.Name(),
		threads: min(2, opts.Connections),
		conns:   opts.Connections,
		timeout: opts.Timeout,
	}, nil
}

// Close removes wrk's script.
func (w *WrkLoad) Close() { os.Remove(w.script) }

// wholeSeconds is d in wrk's unit, whole seconds; d must be one.
func wholeSeconds(d time.Duration) (string, error) {
	if d%time.Second != 0 || d < 0 {
		return "", fmt.Errorf("httpbench: wrk runs for whole seconds, not %v", d)
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + "s", nil
}

// Run runs wrk for warmup (not counted) and then for dur, adding what it
// measured to the totals; rps is this run's rate. Both are whole seconds.
func (w *WrkLoad) Run(ctx context.Context, warmup, dur time.Duration) (rps float64, err error) {
	if warmup > 0 {
		if _, err := w.exec(ctx, warmup); err != nil {
			return 0, err
		}
	}
	if dur <= 0 {
		return 0, nil
	}
	run, err := w.exec(ctx, dur)
	if err != nil {
		return 0, err
	}
	w.hist.merge(&run.hist)
	w.requests += run.requests
	w.errs += run.errs
	w.non2xx += run.non2xx
	w.elapsed += run.elapsed
	if run.elapsed > 0 {
		rps = float64(run.requests) / run.elapsed.Seconds()
	}
	return rps, nil
}

// wrkRun is one run of wrk, parsed.
type wrkRun struct {
	hist                   histogram
	requests, errs, non2xx uint64
	elapsed                time.Duration
}

func (w *WrkLoad) exec(ctx context.Context, d time.Duration) (*wrkRun, error) {
	secs, err := wholeSeconds(d)
	if err != nil {
		return nil, err
	}
	timeout, err := wholeSeconds(w.timeout.Round(time.Second))
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, w.wrk, "-t"+strconv.Itoa(w.threads), "-c"+strconv.Itoa(w.conns),
		"-d"+secs, "--timeout", timeout, "-s", w.script, w.url)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("httpbench: wrk: %w: %s", err, strings.TrimSpace(stderr.String()+string(out)))
	}
	run, err := parseWrk(out)
	if err != nil {
		return nil, fmt.Errorf("httpbench: %w in wrk's output:\n%s", err, out)
	}
	return run, nil
}

// parseWrk reads the two lines wrkScript writes.
func parseWrk(out []byte) (*wrkRun, error) {
	var run wrkRun
	var totals, latency bool
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 64<<20) // the latency line holds every distinct value
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "tova-wrk "):
			f := map[string]uint64{}
			for _, kv := range strings.Fields(line)[1:] {
				k, v, ok := strings.Cut(kv, "=")
				n, err := strconv.ParseUint(v, 10, 64)
				if !ok || err != nil {
					return nil, fmt.Errorf("bad field %q", kv)
				}
				f[k] = n
			}
			for _, k := range []string{"requests", "duration_us", "connect", "read", "write", "status", "timeout"} {
				if _, ok := f[k]; !ok {
					return nil, fmt.Errorf("no %s", k)
				}
			}
			run.requests = f["requests"]
			run.elapsed = time.Duration(f["duration_us"]) * time.Microsecond
			run.errs = f["connect"] + f["read"] + f["write"] + f["timeout"]
			run.non2xx = f["status"]
			totals = true
		case strings.HasPrefix(line, "tova-wrk-latency"):
			for _, vc := range strings.Fields(line)[1:] {
				v, c, ok := strings.Cut(vc, ":")
				us, err1 := strconv.ParseUint(v, 10, 64)
				n, err2 := strconv.ParseUint(c, 10, 64)
				if !ok || err1 != nil || err2 != nil {
					return nil, fmt.Errorf("bad latency %q", vc)
				}
				run.hist.add(time.Duration(us)*time.Microsecond, n)
			}
			latency = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !totals || !latency {
		return nil, errors.New("no totals from the script")
	}
	return &run, nil
}

// Result is what wrk measured over all its runs.
func (w *WrkLoad) Result() (Result, error) {
	r := Result{
		URL:      w.url,
		Requests: w.requests,
		Errors:   w.errs,
		Non2xx:   w.non2xx,
		Elapsed:  w.elapsed,
		P50:      w.hist.quantile(0.50),
		P99:      w.hist.quantile(0.99),
		Max:      time.Duration(w.hist.max),
	}
	if w.elapsed > 0 {
		r.RPS = float64(r.Requests) / w.elapsed.Seconds()
	}
	if r.Requests == 0 {
		return r, errors.New("httpbench: wrk completed no request")
	}
	return r, nil
}
