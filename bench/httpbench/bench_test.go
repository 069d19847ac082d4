package httpbench

import (
	"net"
	"testing"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// The microbenchmarks run client and server over fasthttp's in-memory
// listener, so they measure the server-side path (parse, handler, write)
// plus the client, without the kernel. Compare ns/op and allocs/op of
// BenchmarkNetioHandoff with BenchmarkBareFasthttp: the difference is what
// netio adds per request (copy, request id, routing, pool hand-off and
// reply, response copy, access log line).

func inmemClient(b *testing.B, serve func(net.Listener) error) *fasthttp.HostClient {
	ln := fasthttputil.NewInmemoryListener()
	go func() { _ = serve(ln) }()
	b.Cleanup(func() { _ = ln.Close() })
	return &fasthttp.HostClient{
		Addr:     "inmem",
		Dial:     func(string) (net.Conn, error) { return ln.Dial() },
		MaxConns: 4096,
	}
}

func benchGet(b *testing.B, client *fasthttp.HostClient) {
	get := func(req *fasthttp.Request, resp *fasthttp.Response) {
		if err := client.Do(req, resp); err != nil {
			b.Fatal(err)
		}
		if resp.StatusCode() != 200 || string(resp.Body()) != HelloBody {
			b.Fatalf("%d %s", resp.StatusCode(), resp.Body())
		}
	}
	newReq := func() *fasthttp.Request {
		req := fasthttp.AcquireRequest()
		req.SetRequestURI("http://inmem/")
		return req
	}
	b.Run("Serial", func(b *testing.B) {
		req, resp := newReq(), fasthttp.AcquireResponse()
		b.ReportAllocs()
		for b.Loop() {
			get(req, resp)
		}
	})
	b.Run("Parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			req, resp := newReq(), fasthttp.AcquireResponse()
			for pb.Next() {
				get(req, resp)
			}
		})
	})
}

// BenchmarkBareFasthttp: the baseline handler, no netio, no actors.
func BenchmarkBareFasthttp(b *testing.B) {
	srv := &fasthttp.Server{Handler: Bare, NoDefaultServerHeader: true}
	benchGet(b, inmemClient(b, srv.Serve))
}

// BenchmarkNetioHandoff: the same answer through netio: request copy,
// request id, routing, pool hand-off to a worker and back, response
// copy, access log line (encoded as tova serve writes it, discarded).
func BenchmarkNetioHandoff(b *testing.B) { benchNetio(b, NetioOptions{}) }

// BenchmarkNetioHandoffChannel: BenchmarkNetioHandoff with every request
// handed to the worker's goroutine through its channel
// (actors.PoolOptions.NoDirect) instead of run on the worker's coroutine.
func BenchmarkNetioHandoffChannel(b *testing.B) { benchNetio(b, NetioOptions{NoDirect: true}) }

// BenchmarkNetioInline: BenchmarkNetioHandoff with the handler run on the
// connection's goroutine (netio.Config.Inline): the difference between
// the two is what the hand-off to a pool worker and back costs.
func BenchmarkNetioInline(b *testing.B) { benchNetio(b, NetioOptions{Inline: true}) }

func benchNetio(b *testing.B, o NetioOptions) {
	srv, stop, err := NewNetioHello(o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = stop() })
	benchGet(b, inmemClient(b, srv.Serve))
}
