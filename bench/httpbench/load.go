package httpbench

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Options configure a load run.
type Options struct {
	// URL is the target for Run, e.g. "http://127.0.0.1:3000/hello".
	URL string
	// Method (default GET), Body and Headers of every request.
	Method  string
	Body    []byte
	Headers map[string]string
	// Connections is the number of concurrent keep-alive connections, each
	// driven by its own goroutine sending one request at a time (default 64).
	Connections int
	// Duration of the measured phase (default 10 s), after a Warmup phase
	// whose requests are not counted (default 2 s; negative for none).
	Duration time.Duration
	Warmup   time.Duration
	// Timeout per request (default 5 s).
	Timeout time.Duration
	// Baseline makes Run also measure a bare fasthttp server, started in
	// this process, and print the target's ratio to it.
	Baseline bool
}

func (o *Options) defaults() {
	if o.Method == "" {
		o.Method = fasthttp.MethodGet
	}
	if o.Connections <= 0 {
		o.Connections = 64
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.Warmup < 0 {
		o.Warmup = 0
	} else if o.Warmup == 0 {
		o.Warmup = 2 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
}

// Result is the measurement of one target.
type Result struct {
	Name     string
	URL      string
	Requests uint64 // answered during the measured phase
	Errors   uint64 // transport errors and timeouts
	Non2xx   uint64 // answers with a status outside 200–299
	Elapsed  time.Duration
	RPS      float64
	P50      time.Duration
	P99      time.Duration
	Max      time.Duration
	// Ratio is RPS relative to the table's baseline (1 for the baseline).
	Ratio float64
	// ServerCPU, when known, is the CPU time the target's process used
	// while it was measured.
	ServerCPU CPUTime
	Err       error
}

// phases of a run, in order.
const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseStop
)

// Measure drives the target at opts.URL with opts.Connections connections
// and returns throughput and latency of the measured phase. Latencies are
// recorded in fixed-bucket histograms, one per connection, merged at the
// end, so the load generator does not allocate per request.
func Measure(ctx context.Context, opts Options) (Result, error) {
	l, err := NewLoad(opts)
	if err != nil {
		return Result{}, err
	}
	defer l.Close()
	if _, err := l.Run(ctx, l.opts.Warmup, l.opts.Duration); err != nil {
		return Result{}, err
	}
	return l.Result()
}

// Load is a load generator bound to one target whose connections and
// counts persist across runs, so that several targets can take turns
// (see Run) and each still be reported as one measurement.
type Load struct {
	opts   Options
	client *fasthttp.HostClient
	hists  []histogram // one per connection goroutine

	requests, errs, non2xx uint64
	elapsed                time.Duration
	firstErr               error
}

// NewLoad checks opts (the URL in particular) and makes the client; no
// connection is opened yet.
func NewLoad(opts Options) (*Load, error) {
	opts.defaults()
	u, err := checkURL(opts.URL)
	if err != nil {
		return nil, err
	}
	return &Load{
		opts: opts,
		client: &fasthttp.HostClient{
			Addr:                          u.Host,
			DialDualStack:                 true, // (http://[::1]:8080/ was "not found in DNS")
			MaxConns:                      opts.Connections,
			ReadTimeout:                   opts.Timeout,
			WriteTimeout:                  opts.Timeout,
			MaxIdemponentCallAttempts:     1,
			NoDefaultUserAgentHeader:      true,
			DisableHeaderNamesNormalizing: true,
		},
		hists: make([]histogram, opts.Connections),
	}, nil
}

// checkURL parses a target's URL: http:// with a host.
func checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("httpbench: bad URL %q", raw)
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("httpbench: only http:// targets are supported, got %q", raw)
	}
	return u, nil
}

// Close closes the load's idle connections.
func (l *Load) Close() { l.client.CloseIdleConnections() }

// Run drives the target for warmup (not counted) and then for dur,
// adding what it measured to the load's totals; rps is this run's rate.
func (l *Load) Run(ctx context.Context, warmup, dur time.Duration) (rps float64, err error) {
	opts := l.opts
	var phase atomic.Int32
	var requests, errs, non2xx atomic.Uint64
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	for i := range opts.Connections {
		wg.Add(1)
		go func(h *histogram) {
			defer wg.Done()
			req := fasthttp.AcquireRequest()
			resp := fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI(opts.URL)
			req.Header.SetMethod(opts.Method)
			for k, v := range opts.Headers {
				req.Header.Set(k, v)
			}
			if opts.Body != nil {
				req.SetBody(opts.Body)
			}
			var n, e, bad uint64
			for {
				p := phase.Load()
				if p == phaseStop {
					break
				}
				start := time.Now()
				err := l.client.Do(req, resp)
				d := time.Since(start)
				measured := p == phaseMeasure && phase.Load() == phaseMeasure
				switch {
				case err != nil:
					if measured {
						e++
						firstErr.CompareAndSwap(nil, &err)
					}
					// A refused or broken connection must not become a busy loop.
					time.Sleep(time.Millisecond)
				case !measured:
				case resp.StatusCode() < 200 || resp.StatusCode() > 299:
					bad++
					n++
					h.record(d)
				default:
					n++
					h.record(d)
				}
			}
			requests.Add(n)
			errs.Add(e)
			non2xx.Add(bad)
		}(&l.hists[i])
	}

	wait := func(d time.Duration) bool {
		if d <= 0 {
			return true
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
	ok := wait(warmup)
	var start time.Time
	if ok {
		phase.Store(phaseMeasure)
		start = time.Now()
		ok = wait(dur)
	}
	elapsed := time.Since(start)
	phase.Store(phaseStop)
	wg.Wait()
	if !ok {
		return 0, ctx.Err()
	}
	if elapsed > 0 && dur > 0 {
		rps = float64(requests.Load()) / elapsed.Seconds()
	}
	l.requests += requests.Load()
	l.errs += errs.Load()
	l.non2xx += non2xx.Load()
	l.elapsed += elapsed
	if p := firstErr.Load(); p != nil && l.firstErr == nil {
		l.firstErr = *p
	}
	return rps, nil
}

// Result is what the load measured over all its runs.
func (l *Load) Result() (Result, error) {
	var all histogram
	for i := range l.hists {
		all.merge(&l.hists[i])
	}
	r := Result{
		URL:      l.opts.URL,
		Requests: l.requests,
		Errors:   l.errs,
		Non2xx:   l.non2xx,
		Elapsed:  l.elapsed,
		P50:      all.quantile(0.50),
		P99:      all.quantile(0.99),
		Max:      time.Duration(all.max),
	}
	if l.elapsed > 0 {
		r.RPS = float64(r.Requests) / l.elapsed.Seconds()
	}
	if r.Requests == 0 {
		if l.firstErr != nil {
			return r, fmt.Errorf("httpbench: no request succeeded: %w", l.firstErr)
		}
		return r, errors.New("httpbench: no request completed")
	}
	return r, nil
}
