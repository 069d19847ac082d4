package netio

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"tova/actors"
)

// Config configures a Server.
type Config struct {
	// Name identifies the server ("server" field of log lines).
	Name string
	// Addr is the listen address; "127.0.0.1:0" picks a free port (see Addr).
	Addr string
	// Router holds the routes; required.
	Router *Router
	// Pool runs the handlers; required. The server does not stop it.
	Pool *actors.Pool
	// Inline runs handlers on the connection's goroutine instead of
	// handing them to Pool: no actor, no deadline, a panic answered 500
	// but reported to no supervisor. It exists to measure what the
	// hand-off costs (tova bench http), not to serve programs.
	Inline bool
	// Logger receives one access line per request and the server's own
	// records; the zero Logger discards them.
	Logger zerolog.Logger
	// AccessLog, if set, receives the access lines of answered requests
	// instead of Logger, written directly in the format Logger (with a
	// Timestamp) would give them, at Logger's level, and much cheaper.
	// Lines of failed handlers still go through Logger (they carry the
	// error and its stack). An AccessLog that is a *logbuf.Writer gets
	// each line encoded in place in its buffer of the serving CPU (in
	// order with the connection's other lines); one that is a
	// ShardWriter gets each connection's lines with the connection's
	// shard number.
	AccessLog io.Writer
	// RequestTimeout bounds a handler (default 30 s). Past it the request
	// is answered 503 TIMEOUT and the handler's context is cancelled.
	RequestTimeout time.Duration
	// MaxRequestBodySize (default 4 MiB, at most MaxBodyLimit); larger
	// bodies are answered 413.
	MaxRequestBodySize int
	// MaxHeaderBytes bounds the request line and headers (default 8 KiB);
	// larger ones are answered 431.
	MaxHeaderBytes int
	// ReadTimeout bounds reading one request (default 60 s); WriteTimeout
	// each write of a response (default 30 s: a streamed body that keeps
	// moving is not cut, one whose client stops reading is);
	// IdleTimeout a keep-alive connection's wait for its next request
	// (default 60 s). These timeouts fire up to 1 s late, never early: a
	// connection's deadlines are moved about once a second, not on every
	// request.
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	IdleTimeout  time.Duration
	// IDs generates request ids (default NewCounterIDs()).
	IDs IDGenerator
	// OnOptions answers OPTIONS requests that match no OPTIONS route (CORS
	// preflight). allow is the path's Allow value, empty for an unknown
	// path. Returning nil falls back to the default: 204 with Allow for a
	// known path, 404 otherwise. It runs on the connection's goroutine.
	OnOptions func(req *Request, allow string) *Response
	// CORS, if set, is applied to every answer, and answers preflight
	// requests on any path (see CORS).
	CORS *CORS
	// Static, if set, may answer a request before routing (static
	// files): it writes the answer into ctx and returns its status, or
	// returns 0 to let routing go on. It runs on the connection's
	// goroutine, never on Pool, so that a body streamed from disk holds
	// no handler; the front end sets the request id and logs the line.
	Static func(ctx *fasthttp.RequestCtx, req *Request) int
	// StaticHas, if set, reports whether Static answers a GET of path:
	// a 405 or OPTIONS answer for a path whose routes take other methods
	// then allows GET and HEAD too.
	StaticHas func(path string) bool
	// Fallback, if set, may answer a GET or HEAD that routing found no
	// route for at all (a path of no route, of any method: the 404 it
	// would get), as Static does: a static's fallback page. A path whose
	// routes take other methods still answers 405.
	Fallback func(ctx *fasthttp.RequestCtx, req *Request) int
	// TLS, if set, makes the server serve HTTPS (HTTP/1.1 over TLS 1.2
	// or later) with its certificates, and only HTTPS: every response
	// carries Strict-Transport-Security, and a plain-HTTP request is
	// answered 400 (see tls.go).
	TLS *tls.Config
	// SecurityHeaders, if set, adds the reference's security headers
	// (X-Content-Type-Options: nosniff and the others of
	// SecurityHeaders) to every answer that does not set its own.
	SecurityHeaders bool
	// Compression, if set, compresses answers (see Compression).
	Compression *Compression
}

// Server is one named Tova server's HTTP front end: fasthttp accepts and
// parses, the request is copied out and handed to an actors.Pool worker,
// and the reply is written back on the connection's goroutine.
type Server struct {
	cfg      Config
	fs       *fasthttp.Server
	log      zerolog.Logger
	ids      IDGenerator
	timeout  time.Duration
	draining atomic.Bool
	drainAt  atomic.Int64 // when the drain began, Unix ns
	// drainExempt, set by DrainExcept, names the requests served during
	// the drain all the same.
	drainExempt atomic.Pointer[func(method, path string) bool]
	readsCut    atomic.Bool // the drain has ended: reads are cut
	acc         *accessLog  // nil: access lines go through log
	cors        *corsPolicy // nil: none
	timeouts    connTimeouts
	clock       atomic.Pointer[coarseClock] // while serving
	conns       atomic.Uint32               // connections accepted
	fresh       freshConns                  // open connections, and those no byte has arrived on yet

	mu     sync.Mutex
	ln     net.Listener
	served chan struct{}
	onStop []func(context.Context)
}

// NewServer validates cfg and builds the server; nothing is bound yet.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Router == nil || cfg.Pool == nil {
		return nil, errors.New("netio: server needs a Router and a Pool")
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.MaxRequestBodySize <= 0 {
		cfg.MaxRequestBodySize = fasthttp.DefaultMaxRequestBodySize
	}
	// A limit no memory can hold is no limit; past this one, what the
	// reader adds to it (a byte to tell a chunked body too large, the
	// framing's allowance) overflowed, and a chunked body read as empty.
	cfg.MaxRequestBodySize = min(cfg.MaxRequestBodySize, MaxBodyLimit)
	if cfg.MaxHeaderBytes <= 0 {
		cfg.MaxHeaderBytes = 8 << 10
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 60 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 30 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 60 * time.Second
	}
	if cfg.IDs == nil {
		cfg.IDs = NewCounterIDs()
	}
	if cfg.TLS != nil {
		cfg.TLS = serverTLS(cfg.TLS)
	}
	s := &Server{cfg: cfg, ids: cfg.IDs, timeout: cfg.RequestTimeout}
	if cfg.CORS != nil {
		p, err := newCORSPolicy(cfg.CORS)
		if err != nil {
			return nil, fmt.Errorf("netio: cors: %w", err)
		}
		s.cors = p
	}
	s.timeouts = connTimeouts{read: cfg.ReadTimeout, idle: cfg.IdleTimeout, write: cfg.WriteTimeout}
	s.log = cfg.Logger
	if cfg.AccessLog != nil {
		s.acc = newAccessLog(cfg.AccessLog, cfg.Logger.GetLevel(), cfg.Name)
	}
	if cfg.Name != "" {
		s.log = s.log.With().Str("server", cfg.Name).Logger()
	}
	s.fs = &fasthttp.Server{
		Handler:       s.handle,
		ErrorHandler:  s.handleError,
		ExpectHandler: s.expect,
		// No Server header: it would name the server to every client.
		NoDefaultServerHeader: true,
		// Bodies come to the handler as streams, which it reads itself
		// (readBody, with cfg.MaxRequestBodySize); fasthttp reads at
		// most one byte of one before calling it.
		StreamRequestBody:  true,
		MaxRequestBodySize: 1,
		// A body announced past the limit is refused before any of it
		// is read (the client may send nothing more, or wait for an
		// answer): marked as awaiting "100 Continue", its request goes
		// to ExpectHandler, which answers 413 and closes the connection.
		// (For HTTP/1.0, which has no 100 Continue, readBody refuses it
		// once its first byte arrives.)
		HeaderReceived: func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
			if h.ContentLength() > cfg.MaxRequestBodySize {
				h.Set(fasthttp.HeaderExpect, "100-continue")
			}
			return fasthttp.RequestConfig{}
		},
		ReadBufferSize: cfg.MaxHeaderBytes,
		// No Read/Write/IdleTimeout: the connections keep them (see
		// timedConn), without fasthttp's clock reads per request.
		CloseOnShutdown:              true,
		DisablePreParseMultipartForm: true,
		// The handler takes its own start time; fasthttp need not read
		// the clock for ctx.Time() on every request.
		LazyRequestTime: true,
		Logger:          fasthttpLogger{&s.log},
	}
	return s, nil
}

type fasthttpLogger struct{ log *zerolog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	if strings.HasPrefix(format, "error when serving connection ") && len(args) == 3 && wasReported(args[0], args[1]) {
		return // handleError logged it, with the request's id
	}
	l.log.Warn().Str("lib", "fasthttp").Msg(withoutContents(fmt.Sprintf(format, args...)))
}

// clearCause is a refused request's error in words that fit it, without
// the request's contents (withoutContents): fasthttp reads a chunked
// body's trailer as response headers, and says a request line holding
// another space than the two it allows has an unsupported version.
func clearCause(msg string) string {
	msg = withoutContents(msg)
	// The HTTP library is not named to clients, wherever its words
	// come in a message ("invalid request uri "*": fasthttp: invalid uri").
	msg = strings.ReplaceAll(msg, ": fasthttp: invalid uri", "")
	msg = strings.ReplaceAll(msg, "fasthttp: ", "")
	if rest, ok := strings.CutPrefix(msg, "error when reading response headers: "); ok {
		return "error when reading the trailer after a chunked body: " + rest
	}
	const head = "error when reading request headers: "
	if rest, ok := strings.CutPrefix(msg, head); ok && strings.HasPrefix(rest, "unsupported http version") {
		return head + "the request line is not a method, a target and HTTP/1.0 or HTTP/1.1, one space apart: " + rest
	}
	if rest, ok := strings.CutSuffix(msg, "unsupported transfer-encoding"); ok {
		// (fasthttp's words for any Transfer-Encoding of HTTP/1.0,
		// chunked too; another coding's come quoted)
		return rest + "an HTTP/1.0 request may not have a Transfer-Encoding (RFC 9112 §6.1): send its body with Content-Length, or the request as HTTP/1.1"
	}
	// What fasthttp quoted, cut to "…" above, said in words that name
	// the fault (`invalid port "…" after host` told nothing).
	for _, r := range quotedCauses {
		if strings.Contains(msg, r[0]) {
			return strings.Replace(msg, r[0], r[1], 1)
		}
	}
	// One fault in one set of words, whichever of fasthttp's checks
	// met it (a field name's character: three messages, one of Go's
	// MIME parser), the rest of its message dropped.
	for _, r := range causePrefixes {
		if i := strings.Index(msg, r[0]); i >= 0 {
			return msg[:i] + r[1]
		}
	}
	if strings.HasSuffix(msg, "cannot find http request method") {
		return msg + ": the request line must be a method, a target and HTTP/1.1, one space apart"
	}
	return msg
}

// causePrefixes are fasthttp's messages, by their beginning, and what
// says their fault instead.
var causePrefixes = [][2]string{
	{`malformed mime header line: `, errFieldName.Error()},
	{`invalid header key "`, "a header field name is empty, or holds a space or another character no field name may hold, or a space before its colon (RFC 9110 §5.1, RFC 9112 §5.1)"},
	{`invalid header value "`, "a header field's value holds a control character (NUL, a bare CR, DEL, …) no field value may hold (RFC 9110 §5.5)"},
	{`invalid url escape "`, "the host (the Host field's, or an absolute target's) holds a % escape no host name may hold: only a byte that is not ASCII may be escaped there, as % and two hexadecimal digits"},
}

// quotedCauses are fasthttp's messages whose quote withoutContents cuts,
// and what says their fault instead.
var quotedCauses = [][2]string{
	{`invalid port "…" after host`, `the Host's port is not a number from 0 to 65535 (or a line folded onto the Host field, which HTTP/1.1 does not allow)`},
	{`invalid host "…" with multiple port delimiters`, `the Host holds more than one ':' (an IPv6 address is written in [brackets])`},
	{`missing required host header in request`, `the request has no Host field, or an empty one: HTTP/1.1 needs the host's name there`},
	{`contain forbidden trailer`, `the Trailer field names a field a trailer may not carry (Authorization, Content-Length, Content-Type, Host, Transfer-Encoding, …): leave it out`},
	{`at the end of chunk size: expected`, `where a chunk's size line or data should end (is a chunk longer than its size says?): expected`},
}

// withoutContents cuts from a fasthttp error message the copies of the
// request bytes it may carry ("buffer size=…, contents: …", `… in
// "GET / HTTP/1.1\r\nAuthorization: …"`, `invalid header value "…"`):
// they may hold credentials (Authorization, Cookie, a token in the
// query), and anything a client sends would otherwise reach the logs.
// What names the fault stays, shortened: a method, version or header
// name, a target without its query. A quoted text is cut at its first
// space, colon, '?', '=', '&', ';' or ',', where a name, method,
// version or target ends and what follows (a header's value, a
// key=value credential in a line with no colon, a query) begins, and
// after 32 bytes. A single quoted byte, the invalid character of a
// host name, is kept as it is.
func withoutContents(msg string) string {
	if i := strings.Index(msg, "buffer size="); i >= 0 {
		msg = strings.TrimRight(msg[:i], ": ,")
	}
	if !strings.Contains(msg, `"`) {
		return msg
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(msg, '"')
		q, err := "", error(nil)
		if i >= 0 {
			q, err = strconv.QuotedPrefix(msg[i:])
		}
		if i < 0 || err != nil {
			b.WriteString(msg)
			return b.String()
		}
		before := msg[:i]
		msg = msg[i+len(q):]
		v, _ := strconv.Unquote(q)
		switch {
		case strings.HasSuffix(before, " in "): // the request's head
			b.WriteString(strings.TrimSuffix(before, " in "))
		case strings.HasSuffix(before, "header value "), strings.HasSuffix(before, "trailer value "),
			// The host, from the Host header's value (or the target's
			// authority): fasthttp quotes it whole.
			strings.HasSuffix(before, "invalid host "), strings.HasSuffix(before, "invalid port "),
			strings.HasSuffix(strings.ToLower(before), "url escape "):
			b.WriteString(before)
			b.WriteString(`"…"`)
		case strings.HasSuffix(before, "invalid character ") && len(v) == 1:
			// The one byte of the Host that is not allowed (`invalid
			// character " " in host name`): it names the fault, and a
			// single byte carries no credential. Cut like a name, a
			// space would leave only "…", a character the Host lacks.
			b.WriteString(before)
			b.WriteString(strconv.Quote(v))
		default:
			b.WriteString(before)
			if j := strings.IndexAny(v, "?\r\n \t:=&;,"); j >= 0 {
				v = v[:j] + "…"
			}
			if len(v) > 32 {
				v = strings.ToValidUTF8(v[:32], "") + "…"
			}
			b.WriteString(strconv.Quote(v))
		}
	}
}

// reported holds the connections (by their address pair) whose failed
// request handleError answered and logged. When such a connection ends,
// fasthttp logs the same error again; fasthttpLogger drops that line.
// A connection is forgotten when it closes, whether fasthttp logged the
// error or not (it is silent about timeouts and resets).
var reported sync.Map

func reportedKey(local, remote any) string { return fmt.Sprint(local, "|", remote) }

// markReported records that tc's failed request has been logged.
func markReported(tc *timedConn) {
	if tc == nil || tc.reported {
		return
	}
	tc.reported = true
	reported.Store(reportedKey(tc.LocalAddr(), tc.RemoteAddr()), struct{}{})
}

// wasReported reports, and forgets, a connection markReported recorded.
func wasReported(local, remote any) bool {
	_, ok := reported.LoadAndDelete(reportedKey(local, remote))
	return ok
}

// Handler returns the fasthttp handler (for tests and in-memory listeners).
func (s *Server) Handler() fasthttp.RequestHandler { return s.handle }

// Listen binds cfg.Addr; Addr then reports the bound address.
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Err != nil {
			err = op.Err // (it says "listen tcp <addr>" again)
		}
		return fmt.Errorf("cannot listen on %s: %w", s.cfg.Addr, err)
	}
	s.ln = ln
	return nil
}

// Addr returns the bound address, or nil before Listen.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// URL returns "http://<bound address>", or "https://…" over TLS.
func (s *Server) URL() string {
	if a := s.Addr(); a != nil {
		if s.cfg.TLS != nil {
			return "https://" + a.String()
		}
		return "http://" + a.String()
	}
	return ""
}

// Start binds (if needed) and serves in the background.
func (s *Server) Start() error {
	if err := s.Listen(); err != nil {
		return err
	}
	s.mu.Lock()
	ln := s.ln
	if s.served != nil {
		s.mu.Unlock()
		return errors.New("netio: server already started")
	}
	s.served = make(chan struct{})
	served := s.served
	s.mu.Unlock()
	go func() {
		defer close(served)
		if err := s.Serve(ln); err != nil && !s.draining.Load() {
			s.log.Error().Err(err).Msg("serve failed")
		}
	}()
	s.log.Info().Str("addr", ln.Addr().String()).Str("url", s.URL()).Msg("server listening")
	return nil
}

// Serve serves ln until Shutdown; it blocks.
func (s *Server) Serve(ln net.Listener) error {
	clock := startClock()
	defer clock.Stop()
	s.clock.CompareAndSwap(nil, clock) // the first serving's, for now()
	return s.fs.Serve(timedListener{Listener: ln, clock: clock, to: &s.timeouts, seq: &s.conns, fresh: &s.fresh, tls: s.cfg.TLS, retried: func(err error) {
		s.log.Warn().Err(err).Msg("cannot accept connections for now (the process may be out of file descriptors): retrying")
	}})
}

// OnStop registers f to run during Shutdown, after the drain.
func (s *Server) OnStop(f func(ctx context.Context)) {
	s.mu.Lock()
	s.onStop = append(s.onStop, f)
	s.mu.Unlock()
}

// DrainExcept begins the drain while the server keeps listening: a
// request that arrives from now on is answered 503 SHUTTING_DOWN unless
// exempt says it is to be served (a call from another server of the
// process, made by one of its requests in flight), until and during
// Shutdown, which ends the drain.
func (s *Server) DrainExcept(exempt func(method, path string) bool) {
	s.drainExempt.Store(&exempt)
	s.drainAt.CompareAndSwap(0, s.now().UnixNano())
	s.draining.Store(true)
}

// Shutdown stops accepting connections, answers requests that arrive
// during the drain with 503 SHUTTING_DOWN, waits for in-flight requests
// until ctx ends (then stops them: they are answered 503 SHUTTING_DOWN),
// then runs the OnStop hooks (once). It returns ctx.Err() if the drain
// did not finish in time.
func (s *Server) Shutdown(ctx context.Context) error {
	s.drainAt.CompareAndSwap(0, s.now().UnixNano())
	s.draining.Store(true)
	s.fresh.closeAll() // (fasthttp would wait up to 5 s on each)
	err := s.fs.ShutdownWithContext(ctx)
	// fasthttp closes the listener only if its Serve has begun: a
	// Shutdown right after Start would leave Serve to begin afterwards
	// and serve for ever. Closing it here ends such a Serve at once.
	s.mu.Lock()
	if s.ln != nil {
		_ = s.ln.Close()
	}
	s.mu.Unlock()
	if err != nil {
		// The requests still running are stopped: each is answered 503
		// SHUTTING_DOWN and logged, given a moment to go out.
		// So are those still arriving: their reads fail now, and they
		// are answered 503 too (see rejected). (A read that begins
		// after a cut sets its own deadline: the cut is repeated.)
		// A connection fasthttp still counted open may have had no
		// request at all (closed by its client a moment before): the
		// warning counts the requests stopped.
		if n := s.cfg.Pool.CancelRunning(); n > 0 {
			// (the error is the drain's context's: "context deadline
			// exceeded", Go's words, said better by the message)
			s.log.Warn().Int("stopped", n).Msg("drain ended with requests still in flight: they are stopped and answered 503")
		}
		s.readsCut.Store(true)
		for wait, i := time.Now().Add(time.Second), 0; s.fs.GetCurrentConcurrency() > 0 && time.Now().Before(wait); i++ {
			if i%10 == 0 {
				s.fresh.cutReads()
			}
			if i == writesCutAfter {
				// The 503s have gone out; what is still being written
				// goes to a client that does not read it (a large
				// answer to a slow one): cut, so that the drain ends
				// when it was told to.
				if n := s.fs.GetCurrentConcurrency(); n > 0 {
					s.log.Warn().Uint32("connections", n).Msg("drain ended with responses still being written: they are cut off and their connections closed")
				}
				s.fresh.cutWrites()
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	s.mu.Lock()
	hooks := s.onStop
	s.onStop = nil // hooks run once, also if Shutdown is called again
	served := s.served
	s.mu.Unlock()
	for _, f := range hooks {
		f(ctx)
	}
	if served != nil && err == nil {
		select {
		case <-served:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if served == nil {
		return err // it never served: nothing to say it stopped
	}
	e := s.log.Info()
	if s.cfg.Pool != nil {
		// What the handler pool's supervisor saw over the server's life;
		// a warning when handlers failed, so that a log kept at warn
		// level has the counts too.
		st := s.cfg.Pool.Stats()
		if st.Failures > 0 || st.Restarts > 0 {
			e = s.log.Warn()
		}
		e = e.Uint64("handler_failures", st.Failures).Uint64("worker_restarts", st.Restarts)
	}
	e.Msg("server stopped")
	return err
}

// writesCutAfter is how many 5 ms steps after the drain's end the writes
// still going on are cut: time for the 503s of the requests stopped then
// to go out.
const writesCutAfter = 20

// handle is the fasthttp handler: copy, route, hand off, wait, write, log.
func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	tc, _ := ctx.Conn().(*timedConn)
	start := s.requestStart(tc)
	incoming, err := checkRawHeaders(ctx.Request.Header.RawHeaders())
	if err != nil {
		s.rejected(ctx, err, start)
		return
	}
	ex := getExchange(tc)
	var body []byte
	streamed := ctx.Request.IsBodyStream()
	if streamed {
		if body, err = s.readBody(ctx, tc); err != nil {
			putExchange(tc, ex)
			s.rejected(ctx, err, start)
			return
		}
	} else {
		body = ctx.Request.Body() // none, or a request made in process
	}
	job, err := copyRequest(ctx, tc, ex, s.ids, body, streamed, incoming)
	if err != nil {
		putExchange(tc, ex)
		s.rejected(ctx, err, start)
		return
	}
	ex.plain = false
	// The handler's deadline counts from when it is handed the request:
	// a body that took long to arrive (within the read timeout) must
	// not leave its handler a deadline already spent, started to be
	// stopped at its first wait after its changes were made.
	ready := start
	if streamed {
		ready = s.now()
	}
	status, failure := s.dispatch(ctx, ex, job, start, ready)
	s.policyHeaders(ctx, tc, !ex.plain)
	if c := s.cfg.Compression; c != nil {
		c.apply(ctx)
	}
	if failure != nil {
		// The handler may run still: its Request is not to be written.
		req := &Request{Method: ex.req.Method, Path: ex.req.Path, ID: ex.currentID()}
		s.access(nil, tc, req, status, start, failure)
		return
	}
	ex.line = s.access(ex.line, tc, &ex.req, status, start, nil)
	if after := ex.after; after != nil {
		ex.after = nil
		go after(status)
	}
	putExchange(tc, ex)
}

// readBody reads the body of a request that announces one. fasthttp
// hands bodies over as streams (Config.MaxRequestBodySize is the server's
// limit; fasthttp's own is one byte, so that it reads no more than that
// before the handler): read into memory that grows as the bytes arrive
// (see bodyGrowth), a body costs what the client has sent, not what it
// announced. (fasthttp reading a body itself takes its announced length
// at once: a few thousand connections announcing bodies of the limit
// and sending nothing more would hold gigabytes.) A body announced or
// sent past the limit is fasthttp.ErrBodyTooLarge; a read that fails or
// passes the read timeout returns that error. An empty body is nil.
func (s *Server) readBody(ctx *fasthttp.RequestCtx, tc *timedConn) ([]byte, error) {
	limit := s.cfg.MaxRequestBodySize
	size := ctx.Request.Header.ContentLength() // -1: chunked
	chunked := size < 0
	switch {
	case size > limit:
		return nil, fasthttp.ErrBodyTooLarge
	case size == 0:
		return nil, nil
	case size < 0:
		size = limit + 1 // a byte past the limit tells a chunked body is too large
		if tc != nil {
			// The bytes around a chunked body's data (chunk sizes, their
			// extensions, line ends, trailer fields) count against a
			// budget of their own: fasthttp reads a chunk extension of
			// any length, so that a body of one byte could make the
			// server read gigabytes (RFC 9112 §7.1.1 asks for a limit).
			tc.budget, tc.budgeted = int64(limit)+chunkFraming(limit), true
			defer func() { tc.budgeted = false }()
		}
	}
	r := ctx.RequestBodyStream()
	var buf []byte
	for len(buf) < size {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, bodyGrowth(len(buf), size, chunked)-len(buf))
		}
		n, err := r.Read(buf[len(buf):min(cap(buf), size)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if len(buf) > limit {
		return nil, fasthttp.ErrBodyTooLarge
	}
	if !chunked && len(buf) < size {
		// The client closed its side before the announced length: an
		// incomplete message, never handled (RFC 9112 §8).
		return nil, fmt.Errorf("the body ended after %d of its %d bytes: %w", len(buf), size, io.ErrUnexpectedEOF)
	}
	if len(buf) == 0 {
		return nil, nil
	}
	return buf, nil
}

// chunkFraming is how many bytes a chunked body of at most limit bytes
// of data may take besides limit, read from the connection while the
// body is: as many as limit, and 64 KiB more (the data and the framing
// share limit + chunkFraming(limit)). Chunks of 8 bytes of data or more
// fit whatever their number; a body whose chunks hold fewer (or that
// carries long chunk extensions) is refused past it.
func chunkFraming(limit int) int64 { return int64(limit) + 64<<10 }

// MaxBodyLimit is the largest MaxRequestBodySize: 1 EiB, more than any
// memory holds, and far enough from the largest Int that the sums made
// of it do not overflow.
const MaxBodyLimit = 1 << 60

// errChunkFraming is a chunked body whose framing is over chunkFraming.
var errChunkFraming = errors.New("the chunked body's framing (chunk sizes, chunk extensions, line ends, trailer) is over its limit: the data and the framing together may take twice max_body and 64 KiB")

// bodyGrowth is the capacity a body's buffer holding have bytes, all
// it can, grows to, for a body of size bytes (past the limit, if it is
// chunked): twice have, from 4 KiB; but once a quarter of an announced
// length has come, that length, rather than doubling twice more (each
// doubling copies what came and leaves the old buffer to the collector).
// A buffer is thus at most four times what the client has sent.
func bodyGrowth(have, size int, chunked bool) int {
	if !chunked && have >= size/4 {
		return size
	}
	return min(max(2*have, 4096), size)
}

// requestStart is when the request being served began: when the read
// that brought its first byte returned, if tc's request began with a read
// (not one pipelined behind another, whose bytes were read with it), else
// now. It is taken once per request. A request's access line counts from
// it, so that a request that trickles in, or is refused after a long wait
// (408), shows how long it took; so does the deadline of one without a
// body (that of one with a body counts from when the body has come).
func (s *Server) requestStart(tc *timedConn) time.Time {
	if tc != nil && tc.beganFresh {
		tc.beganFresh = false
		return tc.began
	}
	return s.now()
}

// now is time.Now, with one clock read instead of two once the server
// serves.
func (s *Server) now() time.Time {
	if c := s.clock.Load(); c != nil {
		return c.Now()
	}
	return time.Now()
}

// dispatch serves the request that began at start and was read whole
// at ready (from which its deadline counts).
func (s *Server) dispatch(ctx *fasthttp.RequestCtx, ex *exchange, job *actors.Job, start, ready time.Time) (int, error) {
	req := &ex.req
	// A request that began during the drain is refused; one whose first
	// byte came before it (an upload still arriving) is in flight, and
	// is served.
	if s.draining.Load() && start.UnixNano() >= s.drainAt.Load() && !s.drainExempts(req) {
		ctx.SetConnectionClose()
		writeError(ctx, fasthttp.StatusServiceUnavailable, CodeShuttingDown, req.ID)
		markNotRun(ctx)
		return fasthttp.StatusServiceUnavailable, errBegunInDrain
	}
	if p := ctx.Request.Header.Protocol(); len(p) != 8 || p[5] != '1' || p[7] != '1' && p[7] != '0' {
		// fasthttp reads any HTTP/d.d; a major version other than 1
		// would be answered in a protocol the client did not ask for,
		// and fasthttp takes HTTP/1.2 and later for HTTP/1.0 (no Host
		// needed, the connection closed after each answer).
		ctx.SetConnectionClose()
		writeError(ctx, fasthttp.StatusHTTPVersionNotSupported, CodeHTTPVersion, req.ID)
		markNotRun(ctx)
		return fasthttp.StatusHTTPVersionNotSupported, fmt.Errorf("the request is in %s: this server speaks HTTP/1.0 and HTTP/1.1", p)
	}
	if len(req.Body) > 0 && codedBody(&ctx.Request.Header) {
		// A body this server does not decode would reach the handler as
		// bytes that are neither its JSON nor its text (RFC 9110
		// §15.5.16, §12.5.3).
		writeErrorMessage(ctx, fasthttp.StatusUnsupportedMediaType, CodeUnsupportedMedia,
			"Unsupported Media Type: a request body with a Content-Encoding is not decoded: send it without one", req.ID)
		ctx.Response.Header.Set(fasthttp.HeaderAcceptEncoding, "identity")
		markNotRun(ctx)
		return fasthttp.StatusUnsupportedMediaType, errors.New("the request body has a Content-Encoding, which this server does not decode")
	}
	if s.cors != nil && s.cors.preflight(ctx) {
		setRequestID(ctx, req.ID)
		return fasthttp.StatusNoContent, nil
	}
	if s.cfg.Static != nil {
		if status := s.cfg.Static(ctx, req); status != 0 {
			setRequestID(ctx, req.ID)
			return status, nil
		}
	}
	m := s.cfg.Router.Lookup(req.Method, req.Path, ex.params[:0])
	if m.Route == nil {
		return s.noRoute(ctx, req, &m), nil
	}
	req.Route, req.Params = m.Route.Pattern, m.Params
	ex.handler = m.Route.Handler
	var v any
	var err error
	if s.cfg.Inline || m.Route.Inline {
		v, err = runInline(job, ex)
	} else {
		timeout := s.timeout
		if t := m.Route.Timeout; t > 0 && t < timeout {
			timeout = t
		}
		v, err = s.cfg.Pool.Do(job, ready.Add(timeout), ex)
		if err != nil && timeout != s.timeout && errors.Is(err, actors.ErrTimeout) {
			writeError(ctx, fasthttp.StatusGatewayTimeout, CodeGatewayTimeout, ex.currentID())
			if ex.abandon() {
				markNotRun(ctx)
				return fasthttp.StatusGatewayTimeout, deadlinePassedUnrun("route's", timeout)
			}
			return fasthttp.StatusGatewayTimeout, deadlinePassed("route's", timeout)
		}
	}
	if err != nil {
		status := s.failed(ctx, ex.currentID(), err)
		if (errors.Is(err, actors.ErrTimeout) || errors.Is(err, actors.ErrPoolStopped)) && ex.abandon() {
			// Its handler had yet to begin (queued, or waiting for the
			// server's state), and now never will.
			markNotRun(ctx)
			if errors.Is(err, actors.ErrTimeout) {
				return status, deadlinePassedUnrun("request's", s.timeout)
			}
			return status, errors.New("the server stopped before the request's handler began: it was not run")
		}
		return status, s.described(err)
	}
	resp, _ := v.(*Response)
	if resp != nil && resp.Status != 0 && (resp.Status < 200 || resp.Status > 999) {
		// Not a final status: a client would misread the answer or wait
		// for another one.
		err := fmt.Errorf("netio: the handler answered status %d, not a final HTTP status (200..999)", resp.Status)
		return s.failed(ctx, req.ID, err), err
	}
	if resp == nil {
		ctx.SetStatusCode(fasthttp.StatusNoContent)
	} else {
		resp.write(ctx)
		ex.plain = len(resp.Headers) == 0
		if resp.RequestID != "" {
			req.ID = resp.RequestID
		}
	}
	setRequestID(ctx, req.ID)
	status := ctx.Response.StatusCode()
	if resp != nil && resp.AfterWrite != nil {
		// The response is final; its callbacks must not delay it. They
		// run once its access line is written (handle), so that what
		// they print comes after it.
		ex.after = resp.AfterWrite
	}
	// The handler has returned: if it kept nothing of the request and
	// nothing holds its context, the request's memory serves the
	// connection's next request (see putExchange).
	ex.free = resp != nil && resp.RequestFree && job.Reusable()
	if resp != nil && resp.Release != nil {
		resp.Release.Release() // the last use of resp
	}
	return status, nil
}

// withMethods adds methods to an Allow list ("OPTIONS, POST"), keeping
// it sorted and without repeats.
func withMethods(allow string, methods ...string) string {
	all := append(strings.Split(allow, ", "), methods...)
	slices.Sort(all)
	return strings.Join(slices.Compact(all), ", ")
}

// codedBody reports whether the request's body has a content coding
// other than identity.
// Every line of the field counts (identity on one and gzip on the next
// was taken for identity), each coding of a list too (identity, gzip).
func codedBody(h *fasthttp.RequestHeader) bool {
	for _, ce := range h.PeekAll(fasthttp.HeaderContentEncoding) {
		for _, c := range strings.Split(string(ce), ",") {
			if c = strings.TrimSpace(c); c != "" && !strings.EqualFold(c, "identity") {
				return true
			}
		}
	}
	return false
}

// errBegunInDrain is the cause, in the access line, of the 503 of a
// request that began during the drain.
var errBegunInDrain = errors.New("the server is shutting down: a request begun during the drain is not run")

// drainExempts says whether req, arriving during the drain, is served
// all the same (see DrainExcept).
func (s *Server) drainExempts(req *Request) bool {
	f := s.drainExempt.Load()
	return f != nil && (*f)(req.Method, req.Path)
}

// runInline runs ex on the calling goroutine (Config.Inline).
func runInline(job *actors.Job, ex *exchange) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, &actors.Failure{Actor: "inline", Reason: r, Panic: true}
		}
	}()
	return ex.Run(job)
}

func (s *Server) noRoute(ctx *fasthttp.RequestCtx, req *Request, m *Match) int {
	allow := m.Allow()
	if allow != "" && s.cfg.StaticHas != nil && s.cfg.StaticHas(req.Path) {
		allow = withMethods(allow, fasthttp.MethodGet, fasthttp.MethodHead) // a static file's
	}
	if req.Method == fasthttp.MethodOptions {
		if req.URI == "*" {
			// The server as a whole (RFC 9110 §9.3.7): what any route allows.
			allow = s.cfg.Router.allowAny()
		} else if s.cfg.OnOptions != nil {
			if resp := s.cfg.OnOptions(req, allow); resp != nil {
				resp.write(ctx)
				ctx.Response.Header.Set(headerRequestID, req.ID)
				return ctx.Response.StatusCode()
			}
		}
		if allow != "" {
			ctx.SetStatusCode(fasthttp.StatusNoContent)
			ctx.Response.Header.Set(fasthttp.HeaderAllow, allow)
			ctx.Response.Header.Set(headerRequestID, req.ID)
			return fasthttp.StatusNoContent
		}
	}
	if allow == "" {
		if s.cfg.Fallback != nil && (req.Method == fasthttp.MethodGet || req.Method == fasthttp.MethodHead) {
			if status := s.cfg.Fallback(ctx, req); status != 0 {
				setRequestID(ctx, req.ID)
				return status
			}
		}
		writeError(ctx, fasthttp.StatusNotFound, CodeNotFound, req.ID)
		return fasthttp.StatusNotFound
	}
	ctx.Response.Header.Set(fasthttp.HeaderAllow, allow)
	writeError(ctx, fasthttp.StatusMethodNotAllowed, CodeMethodNotAllowed, req.ID)
	return fasthttp.StatusMethodNotAllowed
}

// failed answers a request whose handler did not produce a response;
// id is the request's.
func (s *Server) failed(ctx *fasthttp.RequestCtx, id string, err error) int {
	var f *actors.Failure
	switch {
	case errors.As(err, &f):
		writeError(ctx, fasthttp.StatusInternalServerError, CodeInternal, id)
		return fasthttp.StatusInternalServerError
	case errors.Is(err, actors.ErrTimeout):
		writeError(ctx, fasthttp.StatusServiceUnavailable, CodeTimeout, id)
		return fasthttp.StatusServiceUnavailable
	case errors.Is(err, actors.ErrPoolStopped):
		ctx.SetConnectionClose()
		writeError(ctx, fasthttp.StatusServiceUnavailable, CodeShuttingDown, id)
		return fasthttp.StatusServiceUnavailable
	case errors.Is(err, actors.ErrOverloaded):
		writeError(ctx, fasthttp.StatusServiceUnavailable, CodeOverloaded, id)
		markNotRun(ctx) // (the pool took no job: Do refuses before queueing it)
		return fasthttp.StatusServiceUnavailable
	case errors.Is(err, actors.ErrMemory):
		writeError(ctx, fasthttp.StatusServiceUnavailable, CodeMemoryLimit, id)
		return fasthttp.StatusServiceUnavailable
	default:
		writeError(ctx, fasthttp.StatusInternalServerError, CodeInternal, id)
		return fasthttp.StatusInternalServerError
	}
}

// described gives the access line of a request the pool did not answer
// a cause in the server's terms.
func (s *Server) described(err error) error {
	switch {
	case errors.Is(err, actors.ErrTimeout):
		return deadlinePassed("request's", s.timeout)
	case errors.Is(err, actors.ErrPoolStopped):
		return errors.New("the server stopped before the request's handler finished")
	case errors.Is(err, actors.ErrOverloaded):
		return errors.New("every handler was busy and too many requests were waiting")
	case errors.Is(err, actors.ErrMemory):
		return errors.New("the process passed its memory limit while the request ran, and it was the request due first: it was stopped")
	}
	return err
}

// deadlinePassed is the access line's cause of a request cut at its
// deadline d, whose (the request's, the route's own).
func deadlinePassed(whose string, d time.Duration) error {
	return fmt.Errorf("the %s deadline (%s) passed before its handler finished: it was stopped", whose, d)
}

// deadlinePassedUnrun is deadlinePassed for a request none of whose
// handler ran.
func deadlinePassedUnrun(whose string, d time.Duration) error {
	return fmt.Errorf("the %s deadline (%s) passed before its handler began: it was not run", whose, d)
}

// expect answers a request that waits for "100 Continue" before it sends
// its body (RFC 9110 §10.1.1). A body announced past the limit is
// refused (413), and a request no route takes is answered 404 or 405
// (OPTIONS aside, which noRoute may answer from its headers): either
// way at once, with the connection closed after, so that the client
// sends no body only to be refused. Any other request gets 100 Continue.
func (s *Server) expect(ctx *fasthttp.RequestCtx) int {
	h := &ctx.Request.Header
	if h.ContentLength() > s.cfg.MaxRequestBodySize {
		s.handleError(ctx, fasthttp.ErrBodyTooLarge)
		return fasthttp.StatusRequestEntityTooLarge
	}
	if s.draining.Load() || string(h.Method()) == fasthttp.MethodOptions {
		return fasthttp.StatusContinue // the handler answers these
	}
	req := Request{Method: string(h.Method()), Path: cleanPath(string(ctx.URI().PathOriginal()))}
	m := s.cfg.Router.Lookup(req.Method, req.Path, nil)
	if m.Route != nil || (s.cfg.Static != nil || s.cfg.Fallback != nil) && (req.Method == fasthttp.MethodGet || req.Method == fasthttp.MethodHead) {
		return fasthttp.StatusContinue // handle takes the request's start (a static file's too)
	}
	tc, _ := ctx.Conn().(*timedConn)
	start := s.requestStart(tc)
	req.ID = s.requestID(h)
	status := s.noRoute(ctx, &req, &m)
	s.policyHeaders(ctx, tc, true)
	s.access(nil, tc, &req, status, start, nil)
	return status
}

// policyHeaders adds to an answer, whoever made it, the headers the
// server's policies put on every one: CORS's allow headers, the security
// headers and, over TLS, Strict-Transport-Security. own: the answer may
// carry security headers of its own, which are kept.
func (s *Server) policyHeaders(ctx *fasthttp.RequestCtx, tc *timedConn, own bool) {
	if s.cors != nil {
		s.cors.decorate(ctx)
	}
	if s.cfg.SecurityHeaders {
		addSecurityHeaders(&ctx.Response.Header, own)
	}
	s.secure(ctx, tc)
}

// requestID is the id of a request fasthttp read the header of, but
// which the handler does not see: its valid incoming id, else a new one.
func (s *Server) requestID(h *fasthttp.RequestHeader) string {
	if in := soleHeader(h, headerRequestID); validRequestID(in) {
		return string(in)
	}
	return string(s.ids.AppendID(make([]byte, 0, 32)))
}

// handleError answers requests fasthttp could not read: too large, too
// slow or malformed.
func (s *Server) handleError(ctx *fasthttp.RequestCtx, err error) {
	tc, _ := ctx.Conn().(*timedConn)
	s.rejected(ctx, err, s.requestStart(tc))
}

// rejected is handleError for a request that began at start.
// shownMethod is a request's method as its access line shows it: cut
// after 32 bytes (a 5000-byte method went into the log whole).
func shownMethod(m []byte) string {
	if len(m) > 32 {
		return strings.ToValidUTF8(string(m[:32]), "") + "…"
	}
	return string(m)
}

func (s *Server) rejected(ctx *fasthttp.RequestCtx, err error, start time.Time) {
	var small *fasthttp.ErrSmallBuffer
	status, code := fasthttp.StatusBadRequest, CodeBadRequest
	message := ""
	switch {
	case errors.Is(err, errBareLF):
		message = bareLFMessage
	case errors.Is(err, errChunkFraming) || strings.Contains(err.Error(), errChunkFraming.Error()):
		err = errChunkFraming
	case errors.Is(err, errTLS):
		message = tlsMessage
	case errors.Is(err, errPlainHTTP):
		message = plainHTTPMessage
	case errors.Is(err, errHTTP2):
		status, code = fasthttp.StatusHTTPVersionNotSupported, CodeHTTPVersion
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		status, code = fasthttp.StatusRequestEntityTooLarge, CodeTooLarge
		limit := sizeText(s.cfg.MaxRequestBodySize)
		message = "Payload Too Large: the body is over this server's limit of " + limit
		err = fmt.Errorf("the body is over the limit of %s (max_body)", limit)
	case errors.Is(err, errTransferCoding) || strings.Contains(err.Error(), `unsupported transfer-encoding: "`):
		// A coding other than chunked (RFC 9112 §6.1: 501); fasthttp
		// names it in text only. (Transfer-Encoding in HTTP/1.0 is
		// faulty framing: 400.)
		status, code = fasthttp.StatusNotImplemented, CodeNotImplemented
		message = errorMessage(code) + `: a request's transfer coding must be "chunked", the one this server reads`
		// (the log quotes no header value: fasthttp's text quoted it)
		err = errors.New(`the request's Transfer-Encoding names a coding other than "chunked"`)
	case errors.Is(err, errConnect):
		status, code = fasthttp.StatusNotImplemented, CodeNotImplemented
		message = errorMessage(code) + ": CONNECT asks for a tunnel, and this server is no proxy"
	case errors.Is(err, errUnknownMethod):
		status, code = fasthttp.StatusNotImplemented, CodeNotImplemented
		message = errorMessage(code) + ": this server implements the methods GET, HEAD, POST, PUT, DELETE, PATCH and OPTIONS"
	case errors.As(err, &small):
		// (fasthttp's own words ask to raise its read buffer.)
		status, code = fasthttp.StatusRequestHeaderFieldsTooLarge, CodeHeadersTooLarge
		err = fmt.Errorf("the request line and header fields are over the limit of %d bytes", s.cfg.MaxHeaderBytes)
		if tc, _ := ctx.Conn().(*timedConn); tc != nil && tc.lines.inRequestLine() {
			status, code = fasthttp.StatusRequestURITooLong, CodeURITooLong
			err = fmt.Errorf("the request line is over the limit of %d bytes", s.cfg.MaxHeaderBytes)
		}
	case timedOut(err) && s.readsCut.Load():
		// Still arriving when the drain ended (see Shutdown).
		status, code = fasthttp.StatusServiceUnavailable, CodeShuttingDown
		err = fmt.Errorf("the drain ended before the request had arrived: %w", err)
	case timedOut(err):
		status, code = fasthttp.StatusRequestTimeout, CodeRequestTimeout
	}
	h := &ctx.Request.Header
	// The header was read if fasthttp has its Host (required in
	// HTTP/1.1), so the failure is in the body. A header fasthttp could
	// not read is reset, and its defaults ("GET", "/") would name a
	// request that was never made: the line then has empty method and
	// path.
	headerRead := !h.IsHTTP11() || len(h.Host()) > 0
	id := ""
	if headerRead {
		id = s.requestID(h) // a valid incoming id is kept, as for any request
	} else {
		id = string(s.ids.AppendID(make([]byte, 0, 32)))
	}
	if msg := err.Error(); clearCause(msg) != msg {
		cause := clearCause(msg)
		if uri := h.RequestURI(); headerRead && len(uri) > 0 && uri[0] != '/' && strings.Contains(msg, `invalid port "`) {
			// (an absolute-form target's port, not the Host field's)
			cause = strings.Replace(cause, quotedCauses[0][1], errTargetPort.Error(), 1)
		}
		err = errors.New(cause)
	}
	if message == "" {
		message = errorMessage(code)
		if status == fasthttp.StatusBadRequest {
			// What was wrong, in the log line's words (which show no
			// part of the request), so that a client can mend it.
			cause := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "error when reading request headers: "), "fasthttp: ")
			if len(cause) > 200 {
				cause = strings.ToValidUTF8(cause[:200], "") + "…"
			}
			message += ": " + cause
		}
	}
	writeErrorMessage(ctx, status, code, message, id)
	markNotRun(ctx) // (the request was not read whole: no handler saw it)
	ctx.SetConnectionClose()
	tc, _ := ctx.Conn().(*timedConn)
	if ctx.IsHead() || !headerRead && tc != nil && tc.lines.head() {
		// A HEAD answer ends at its header block (RFC 9112 §6.3),
		// also when fasthttp could not read the block and forgot the
		// method: the Content-Length stays the body's.
		ctx.Response.SkipBody = true
	}
	s.policyHeaders(ctx, tc, true)
	if tc != nil {
		// The client may be sending still (the body, the rest of a
		// header too large, pipelined requests): closing with unread
		// bytes would reset the connection, and the reset may destroy
		// the answer before the client reads it (RFC 9112 §9.6).
		tc.linger = true
	}
	req := Request{ID: id}
	if headerRead {
		uri := ctx.RequestURI()
		raw, ok := originPath(uri)
		if _, rest, abs := bytes.Cut(uri, []byte("://")); !ok && abs {
			// an absolute-form target (whose authority may be what was
			// refused, so that fasthttp read no path of it)
			if i := bytes.IndexByte(rest, '/'); i >= 0 {
				raw, ok = originPath(rest[i:])
			}
		}
		if !ok {
			raw = ctx.URI().PathOriginal()
		}
		req.Method, req.Path = shownMethod(ctx.Method()), cleanPath(string(raw))
	}
	markReported(tc)
	if abandoned(err) {
		// The client closed the connection mid-request: no request was
		// refused (a 400 is written, for a client that only shut its
		// sending side), and its line says so, as nginx's 499 does.
		err = fmt.Errorf("the client closed the connection before the request had arrived (%w)", err)
		s.accessAt(zerolog.InfoLevel, nil, &req, statusClientClosed, start, err)
		return
	}
	// Whatever its status (501 for a transfer coding), a rejected
	// request is the client's fault, not the server's.
	s.accessAt(zerolog.WarnLevel, nil, &req, status, start, err)
}

// statusClientClosed is the access line's status of a request its
// client abandoned before it had arrived (nginx's "client closed
// request").
const statusClientClosed = 499

// abandoned reports whether err, from reading a request, is its
// connection closed (or reset) by the client before the request had
// arrived whole.
func abandoned(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		return true
	}
	// (fasthttp's words, without the error itself)
	msg := err.Error()
	return strings.HasSuffix(msg, ": EOF") || strings.HasSuffix(msg, ": unexpected EOF")
}

// timedOut reports whether err is a read that passed its deadline: a
// net.Error saying so, or fasthttp's own timeout error, which it gives
// for the trailer section of a chunked body (it is no net.Error).
func timedOut(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// access writes the request's log line: info below 400, warn for 4xx,
// error for 5xx (with the failure and, for a panic, its stack). A direct
// access line is encoded in buf; access returns buf, maybe grown.
func (s *Server) access(buf []byte, tc *timedConn, req *Request, status int, start time.Time, err error) []byte {
	if s.acc != nil && err == nil {
		return s.acc.write(buf, tc, req, status, start)
	}
	return s.accessAt(accessLevel(status), buf, req, status, start, err)
}

// accessAt writes the line of access at level, through zerolog.
func (s *Server) accessAt(level zerolog.Level, buf []byte, req *Request, status int, start time.Time, err error) []byte {
	e := s.log.WithLevel(level)
	if e == nil {
		return buf
	}
	var ms [24]byte
	e.Str("method", req.Method).
		Str("path", req.Path).
		Int("status", status).
		RawJSON("duration_ms", appendMillis(ms[:0], time.Since(start))).
		Str("request_id", req.ID)
	if err != nil {
		e.Err(err)
		var f *actors.Failure
		if errors.As(err, &f) && f.Stack != "" {
			e.Str("stack", f.Stack)
		}
	}
	e.Msg("request")
	return buf
}

// ShardWriter is a log destination that keeps the lines one writer
// writes with the same shard number in order, and may write different
// shards' lines out of order; writers of different shards need not
// contend (see internal/logbuf). Access lines of one connection share a
// shard.
type ShardWriter interface {
	WriteShard(shard int, p []byte) (int, error)
}

// connShard is the access log shard of a connection (tc nil: not a
// timedConn).
func connShard(tc *timedConn) int {
	if tc != nil {
		return tc.shard
	}
	return 0
}

// appendMillis appends d in milliseconds with three decimals ("12.345"),
// cheaper than formatting a float.
func appendMillis(dst []byte, d time.Duration) []byte {
	us := max(d.Microseconds(), 0)
	dst = strconv.AppendInt(dst, us/1000, 10)
	frac := us % 1000
	return append(dst, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
}

// sizeText shows a byte count as max_body is usually written: in MiB or
// KiB when whole, else in bytes.
func sizeText(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + " KiB"
	case n == 1:
		return "1 byte"
	}
	return strconv.Itoa(n) + " bytes"
}
