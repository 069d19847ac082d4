package netio

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"tova/actors"
)

// Per-stage costs of the request path, without sockets. See also
// bench/httpbench for the end-to-end comparison with bare fasthttp.

var sinkID []byte

// BenchmarkRequestID compares the two id schemes.
func BenchmarkRequestID(b *testing.B) {
	buf := make([]byte, 0, 64)
	b.Run("Counter", func(b *testing.B) {
		g := NewCounterIDs()
		b.ReportAllocs()
		for b.Loop() {
			sinkID = g.AppendID(buf[:0])
		}
	})
	b.Run("CounterParallel", func(b *testing.B) {
		g := NewCounterIDs()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			buf := make([]byte, 0, 64)
			for pb.Next() {
				buf = g.AppendID(buf[:0])
			}
		})
	})
	b.Run("UUIDv7", func(b *testing.B) {
		var g UUIDv7IDs
		b.ReportAllocs()
		for b.Loop() {
			sinkID = g.AppendID(buf[:0])
		}
	})
}

func benchCtx() *fasthttp.RequestCtx {
	var ctx fasthttp.RequestCtx
	raw := "GET /users/42?tab=posts HTTP/1.1\r\nHost: example.com\r\nUser-Agent: bench\r\n" +
		"Accept: application/json\r\nAccept-Encoding: gzip\r\nCookie: sid=abc\r\n\r\n"
	if err := ctx.Request.ReadLimitBody(bufioReader(raw), 0); err != nil {
		panic(err)
	}
	return &ctx
}

// BenchmarkStages measures each stage of Server.handle on one request.
func BenchmarkStages(b *testing.B) {
	sys := actors.NewSystem(actors.Options{})
	defer func() { _ = sys.Stop(context.Background()) }()
	pool, err := sys.StartPool(actors.PoolOptions{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	hello := JSON(200, []byte(`{"message":"Hello, World!"}`))
	handler := func(context.Context, *Request) *Response { return hello }
	r := NewRouter()
	_ = r.Handle("GET", "/users/:id", handler)
	srv, err := NewServer(Config{Name: "bench", Router: r, Pool: pool, Logger: zerolog.New(io.Discard)})
	if err != nil {
		b.Fatal(err)
	}
	ctx := benchCtx()
	ids := NewCounterIDs()

	b.Run("Copy", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var ex exchange
			id, _ := checkRawHeaders(ctx.Request.Header.RawHeaders())
			_, _ = copyRequest(ctx, nil, &ex, ids, ctx.Request.Body(), false, id)
		}
	})
	b.Run("ParseHeaders", func(b *testing.B) {
		var ex exchange
		_, _ = copyRequest(ctx, nil, &ex, ids, ctx.Request.Body(), false, nil)
		b.ReportAllocs()
		for b.Loop() {
			ex.req.parsedH = false
			ex.req.headers = ex.req.headers[:0]
			_ = ex.req.Headers()
		}
	})
	b.Run("Lookup", func(b *testing.B) {
		var ps [4]Param
		b.ReportAllocs()
		for b.Loop() {
			r.Lookup("GET", "/users/42", ps[:0])
		}
	})
	b.Run("Pool", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ex := &exchange{handler: handler}
			_, _ = pool.Do(new(actors.Job), time.Now().Add(time.Second), ex)
		}
	})
	b.Run("Write", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ctx.Response.Reset()
			hello.write(ctx)
			setRequestID(ctx, "abc")
		}
	})
	direct, err := NewServer(Config{Name: "bench", Router: r, Pool: pool, Logger: zerolog.New(io.Discard), AccessLog: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	// The access line through zerolog (failed requests) and written
	// directly (Config.AccessLog, what tova serve uses).
	for name, s := range map[string]*Server{"AccessLog": srv, "AccessLineDirect": direct} {
		b.Run(name, func(b *testing.B) {
			req := &Request{Method: "GET", Path: "/users/42", ID: "abcdefghijkl-1"}
			start := time.Now()
			var line []byte
			b.ReportAllocs()
			for b.Loop() {
				line = s.access(line, nil, req, 200, start, nil)
			}
		})
	}
	inline, err := NewServer(Config{Name: "bench", Router: r, Pool: pool, Inline: true, Logger: zerolog.New(io.Discard), AccessLog: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	// The whole handler, with the hand-off to the pool and without it
	// (Config.Inline): the difference is what the hand-off costs.
	for _, c := range []struct {
		name string
		s    *Server
	}{{"Handle", direct}, {"HandleInline", inline}} {
		b.Run(c.name, func(b *testing.B) {
			h := c.s.Handler()
			b.ReportAllocs()
			for b.Loop() {
				ctx.Response.Reset()
				h(ctx)
			}
		})
	}
}

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }
