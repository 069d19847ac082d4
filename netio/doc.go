// Package netio is the HTTP front end of a Tova server: fasthttp accepts
// and parses, netio copies the request out of fasthttp, routes it, hands it
// to an actors.Pool worker and writes the worker's answer back.
//
// # The handler seam
//
// A route's Handler is a Go function
//
//	func(ctx context.Context, req *netio.Request) *netio.Response
//
// run on a pool worker, never on the connection's goroutine. The VM
// adapter implements it: it binds req to the Tova handler's parameters,
// runs the bytecode, and turns the result into a Response. ctx carries the
// server's per-request deadline and is cancelled when the request is cut
// (deadline) or the server's pool stops, so the VM must check ctx.Err()
// as it runs (and should yield now and then, see package actors). A panic
// in the handler answers 500 with the request id, is logged with its stack,
// and restarts the worker.
//
// # One request
//
//  1. fasthttp reads the request's header; the handler reads its body
//     (Server.readBody) into memory that grows as the bytes arrive, so a
//     body costs what the client sent, not what it announced. A body
//     over MaxRequestBodySize answers 413 PAYLOAD_TOO_LARGE (announced
//     in Content-Length: before any of it is read), headers over
//     MaxHeaderBytes 431, malformed requests 400, a read timeout 408 (all
//     JSON error bodies).
//  2. The request is copied: method, normalised path, URI and raw query,
//     the raw header block, content type, remote IP, body and request id
//     go into one arena, so nothing aliases fasthttp's recycled buffers.
//     The arena and one struct holding the Request, its job context and
//     its route parameters are the request's only two allocations.
//     Headers are split into lower-cased, multi-valued fields only if the
//     handler asks.
//  3. Request id: a valid incoming X-Request-ID (^[A-Za-z0-9\-_.]{1,128}$,
//     checked without regexp) is kept, otherwise one is generated
//     (CounterIDs: a random per-process prefix and a counter, 40 ns;
//     UUIDv7IDs on request). It is echoed in the X-Request-ID response
//     header and in error bodies.
//  4. During a graceful shutdown the answer is 503 SHUTTING_DOWN.
//  5. The Router matches the normalised path: static segments beat
//     ":param" beat "*name" beat a trailing "*", whatever the declaration
//     order, with backtracking; trailing slashes are ignored; HEAD falls
//     back to GET (fasthttp omits the body). Config.Static may answer
//     before it (a static file). An unknown path answers 404 NOT_FOUND,
//     or a GET or HEAD Config.Fallback's answer (a static's fallback
//     page); a known path with another method 405 METHOD_NOT_ALLOWED
//     with a sorted Allow header (HEAD included when GET exists, OPTIONS
//     always); OPTIONS without its own route goes to Config.OnOptions or
//     answers 204 with Allow.
//  6. The handler runs on the pool with the deadline RequestTimeout
//     (default 30 s). Past it the answer is 503 TIMEOUT and the handler's
//     context is cancelled; the connection is free at once even if the
//     handler ignores the cancellation.
//  7. The Response is written (status, headers, cookies, body or a stream
//     writer for server-sent events), Response.Release is told that the
//     Response may be recycled, then one JSON access line is logged:
//     method, path, status, duration_ms, request_id, server (info below
//     400, warn for 4xx, error with the failure and stack for 5xx).
//
// Error bodies have the reference runtime's shape:
//
//	{"error":{"code":"NOT_FOUND","message":"Not Found"},"request_id":"…"}
//
// with Content-Type: application/json.
//
// # Shutdown
//
// Server.Shutdown stops accepting connections, answers requests that
// arrive on open connections with 503 SHUTTING_DOWN (Connection: close),
// waits for in-flight requests until its context ends (fasthttp's
// ShutdownWithContext; idle keep-alive connections are closed), then runs
// the OnStop hooks. The pool belongs to the caller and is stopped by it
// (normally with the server's supervision tree).
//
// # Timeouts
//
// ReadTimeout (a request's bytes, default 60 s), IdleTimeout (a keep-alive
// connection's wait for the next request, 60 s) and WriteTimeout (each
// write of a response, 30 s: an answer that keeps moving is never cut,
// one whose client stops reading is) are kept by the connections
// (timedConn), not by fasthttp, which would read the clock three times
// per request to move them. A connection compares its deadlines with a
// coarse clock (moved every 250 ms by one goroutine per server) and, when
// one would fire early, sets it a second later than asked; a busy
// keep-alive connection therefore re-arms its timers about once a second
// (with equal read and idle timeouts, as by default) and never reads the
// clock itself. A timeout fires up to 1 s late, never early; a deadline
// set on the connection from outside (an abort) is exact.
//
// # Cost
//
// Per request, netio copies the request into one allocation that also
// holds the handler's context (the exchange around it, with the Request,
// is recycled: a connection keeps one for its next request, so that it
// stays in the cache of the CPU serving the connection and a handler can
// keep its own per-request block in Request.Local),
// splits the path off an origin-form
// target itself (fasthttp's full URI parse is not needed), finds an
// incoming X-Request-ID in the raw header block, takes the peer's IP that its connection read once,
// reads the clock once (monotonic, against the coarse clock's anchor),
// writes the access line straight to its writer when Config.AccessLog is
// set (zerolog's format, the time formatted once a second; a
// logbuf.Writer has the line encoded in place in the buffer of the CPU
// that serves the request, kept in order with the connection's other
// lines, and a ShardWriter gets the connection's shard, so that CPUs
// writing lines for different connections do not contend), and sets
// X-Request-ID without re-normalising the
// name. Request ids come from per-connection blocks of one counter, so
// CPUs do not contend for it. Over an in-memory listener on
// the 2-vCPU machine (bench/httpbench, medians of eight interleaved runs
// each) netio adds 1.6 µs (parallel) to 2.9 µs (serial) and 1 allocation
// (208 B) per request to the bare fasthttp handler, of which the hand-off
// to a pool worker and back is 0.60–1.04 µs (BenchmarkNetioHandoff
// against BenchmarkNetioInline, which runs the handler on the
// connection's goroutine; 0.94–1.78 µs when the pool hands requests to
// its workers' goroutines, BenchmarkNetioHandoffChannel); over loopback
// with 64 connections, see bench/httpbench and `tova bench http`.
package netio
