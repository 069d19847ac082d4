package httpbench

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// serveOn serves h on ln until the test ends.
func serveOn(t *testing.T, ln net.Listener, h fasthttp.RequestHandler) string {
	t.Helper()
	s := &fasthttp.Server{Handler: h}
	go s.Serve(ln)
	t.Cleanup(func() { s.Shutdown() })
	return "http://" + ln.Addr().String() + "/"
}

// --url measuring a server whose every answer is an error status (the
// URL without its route's path: 404) says so and fails, rather than
// reporting the error page's speed; with no baseline there is no ratio.
func TestRunURLAllErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := serveOn(t, ln, func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(404) })
	var out bytes.Buffer
	err = Run(&out, Options{URL: url, Connections: 1, Duration: 200 * time.Millisecond, Warmup: 50 * time.Millisecond})
	var rep *Reported
	if !errors.As(err, &rep) || !strings.Contains(out.String(), "every answer from "+url+" was an error status (non-2xx)") {
		t.Errorf("error %v, output:\n%s", err, out.String())
	}
	if strings.Contains(out.String(), "1.000x") {
		t.Errorf("a ratio with no baseline:\n%s", out.String())
	}
}

// An IPv6 address is dialled (it was "not found in DNS").
func TestRunURLIPv6(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	url := serveOn(t, ln, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	var out bytes.Buffer
	if err := Run(&out, Options{URL: url, Connections: 1, Duration: 200 * time.Millisecond, Warmup: 50 * time.Millisecond}); err != nil {
		t.Errorf("%v\n%s", err, out.String())
	}
}
