// Package servebench measures the request path of `tova serve` in
// process: fasthttp request → copy → actor pool → VM handler → reply,
// without sockets, beside a bare fasthttp handler doing the same work.
//
//	go test -run '^$' -bench . -benchmem ./bench/servebench
package servebench

import (
	"io"
	"net"
	"testing"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"tova/bench/httpbench"
	"tova/driver"
	"tova/serve"
)

const hello = `server {
  route GET "/json" => fn() { { message: "Hello, World!" } }
}
`

func serveHandler(b *testing.B) fasthttp.RequestHandler {
	rt, err := startHello()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rt.Shutdown(b.Context()) })
	return rt.Servers()[0].Handler()
}

// startHello starts tova serve of the hello program.
func startHello() (*serve.Runtime, error) {
	p, err := driver.CompileFile("hello.tova", []byte(hello))
	if err != nil {
		return nil, err
	}
	// Access lines are encoded and discarded, as NetioHello's are.
	rt, err := serve.Start(p, serve.Options{Host: "127.0.0.1", Ports: map[string]int{"": 0}, Logger: zerolog.New(io.Discard), AccessLog: io.Discard})
	if err != nil {
		return nil, err
	}
	return rt, nil
}

func run(b *testing.B, h fasthttp.RequestHandler) {
	var req fasthttp.Request
	req.SetRequestURI("/json")
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1234}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		for pb.Next() {
			ctx.Init(&req, addr, nil)
			h(&ctx)
			if ctx.Response.StatusCode() != 200 {
				b.Fatalf("status %d", ctx.Response.StatusCode())
			}
		}
	})
}

// BenchmarkBare is the floor: fasthttp's handler call alone.
func BenchmarkBare(b *testing.B) { run(b, httpbench.Bare) }

// BenchmarkTovaHello is the whole hand-off: copy, route, pool, VM
// handler on a thread under the server's scheduler, JSON, reply.
func BenchmarkTovaHello(b *testing.B) { run(b, serveHandler(b)) }

// BenchmarkNetioGoHandler is the same hand-off with a Go handler in
// place of the VM: the difference to BenchmarkTovaHello is what running
// Tova code costs per request.
func BenchmarkNetioGoHandler(b *testing.B) {
	srv, stop, err := httpbench.NetioHello()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = stop() })
	run(b, srv.Handler())
}
