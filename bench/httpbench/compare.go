package httpbench

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/valyala/fasthttp"

	"tova/netio"
)

// HelloBody is the baseline's answer, the classic benchmark payload.
const HelloBody = `{"message":"Hello, World!"}`

// Bare is the baseline: a fasthttp handler that answers every request
// with {"message":"Hello, World!"} and the security headers tova serve
// adds to every answer (netio.SecurityHeaders), and nothing else.
func Bare(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("application/json")
	netio.SetSecurityHeaders(&ctx.Response.Header)
	ctx.SetBodyString(HelloBody)
}

// BareBusy is Bare after d of busy work (a loop reading the clock) per
// request: a calibration point, the throughput a server would have that
// spent d more CPU per request than the bare handler and did nothing else
// differently.
func BareBusy(d time.Duration) fasthttp.RequestHandler {
	if d <= 0 {
		return Bare
	}
	return func(ctx *fasthttp.RequestCtx) {
		for start := time.Now(); time.Since(start) < d; {
		}
		Bare(ctx)
	}
}

// Target is one server to measure: either an external URL (its own
// process, e.g. `tova serve`) or a fasthttp handler that Compare serves in
// this process on 127.0.0.1 for the duration of its measurement.
type Target struct {
	Name    string
	URL     string
	Handler fasthttp.RequestHandler
	// Path is requested on an in-process Handler (default "/").
	Path string
	// Baseline marks the row the others are compared with; without one,
	// the first row is the baseline.
	Baseline bool
}

// Table is the outcome of Compare, one row per target.
type Table struct {
	Rows        []Result
	Connections int
	Duration    time.Duration
}

// Compare measures each target in turn, in this process, with the same
// options (URL is ignored), and fills in each row's ratio to the baseline.
// In-process targets share the CPUs with the load generator, as an
// external target on the same machine does; the ratios are therefore
// comparable, the absolute numbers are lower bounds. A target that fails
// gets its error in Result.Err.
func Compare(targets []Target, opts Options) Table {
	shown := opts // Measure applies the defaults itself
	shown.defaults()
	t := Table{Connections: shown.Connections, Duration: shown.Duration}
	base := -1
	for i, tg := range targets {
		r := measureTarget(tg, opts)
		r.Name = tg.Name
		t.Rows = append(t.Rows, r)
		if tg.Baseline && base < 0 {
			base = i
		}
	}
	if base < 0 && len(t.Rows) > 1 {
		base = 0
	}
	if base >= 0 && base < len(t.Rows) && t.Rows[base].RPS > 0 {
		for i := range t.Rows {
			t.Rows[i].Ratio = t.Rows[i].RPS / t.Rows[base].RPS
		}
	}
	return t
}

func measureTarget(tg Target, opts Options) Result {
	url := tg.URL
	if tg.Handler != nil {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return Result{Err: err}
		}
		srv := &fasthttp.Server{Handler: tg.Handler, NoDefaultServerHeader: true, IdleTimeout: 10 * time.Second}
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = srv.Serve(ln)
		}()
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.ShutdownWithContext(ctx)
			<-done
		}()
		path := tg.Path
		if path == "" {
			path = "/"
		}
		url = "http://" + ln.Addr().String() + path
	}
	opts.URL = url
	r, err := Measure(context.Background(), opts)
	r.Err = err
	return r
}

// Fprint writes the table.
func (t Table) Fprint(w io.Writer) error {
	cpu := false // a column of server CPU per request, when measured
	for _, r := range t.Rows {
		cpu = cpu || r.ServerCPU.Total() > 0
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "target\treq/s\tp50\tp99\tmax\terrors\tnon-2xx\tvs baseline\t")
	if cpu {
		fmt.Fprintf(tw, "server CPU/req\tuser\tsys\t")
	}
	fmt.Fprintln(tw)
	for _, r := range t.Rows {
		if r.Err != nil && r.Requests == 0 {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t-\t\n", r.Name)
			continue
		}
		ratio := "-"
		if r.Ratio > 0 {
			ratio = fmt.Sprintf("%.3fx", r.Ratio) // three places: a rounded 0.85 may be under 0.85
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t%d\t%d\t%s\t",
			r.Name, r.RPS, fmtDur(r.P50), fmtDur(r.P99), fmtDur(r.Max), r.Errors, r.Non2xx, ratio)
		if cpu {
			if c := r.ServerCPU; c.Total() > 0 && r.Requests > 0 {
				perReq := func(d time.Duration) string {
					return fmt.Sprintf("%.1fµs", float64(d)/float64(r.Requests)/float64(time.Microsecond))
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t", perReq(c.Total()), perReq(c.User), perReq(c.System))
			} else {
				fmt.Fprintf(tw, "-\t-\t-\t")
			}
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d connections, %v measured per target\n", t.Connections, t.Duration)
	for _, r := range t.Rows {
		if r.Err != nil {
			fmt.Fprintf(w, "%s: %v\n", r.Name, r.Err)
		}
	}
	return nil
}

func (t Table) String() string {
	var b strings.Builder
	_ = t.Fprint(&b)
	return b.String()
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	}
}

// Run measures opts.URL (a running server, typically `tova serve`) and
// writes the table to w. With opts.Baseline, a bare fasthttp server is
// measured first in this process and the target is shown relative to it.
func Run(w io.Writer, opts Options) error {
	if opts.URL == "" {
		return fmt.Errorf("httpbench: no target URL")
	}
	var targets []Target
	if opts.Baseline {
		targets = append(targets, Target{Name: "fasthttp (bare)", Handler: Bare, Baseline: true})
	}
	targets = append(targets, Target{Name: opts.URL, URL: opts.URL})
	t := Compare(targets, opts)
	if err := t.Fprint(w); err != nil {
		return err
	}
	r := t.Rows[len(t.Rows)-1]
	if r.Err != nil {
		return &Reported{r.Err}
	}
	if r.Requests > 0 && r.Non2xx == r.Requests {
		// (the error page measured: --url http://host:port without
		// the route's path answers 404)
		err := fmt.Errorf("httpbench: every answer from %s was an error status (non-2xx): check the URL and its path", opts.URL)
		fmt.Fprintln(w, err)
		return &Reported{err}
	}
	return nil
}

// Reported is an error Run has written out already.
type Reported struct{ Err error }

func (e *Reported) Error() string { return e.Err.Error() }
func (e *Reported) Unwrap() error { return e.Err }
