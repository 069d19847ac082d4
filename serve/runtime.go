// Package serve runs the servers of a compiled Tova program: `tova serve`.
//
// Each server block becomes its own VM instance (its own copy of the
// program's top-level state, as if deployed as a separate process) with a
// GIL scheduler, an actors.Pool of supervised handler workers and a
// netio front end on its own port. The handler path: netio copies the
// request out of fasthttp and hands it to a pool worker; the worker runs
// the middleware chain and the handler on a VM thread bound to the
// request's deadline; the reply goes back to the connection goroutine.
package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net"
	"net/http"
	"os"
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
	"tova/bytecode"
	"tova/frontend/diag"
	"tova/internal/logbuf"
	"tova/jobs"
	"tova/netio"
	"tova/store"
	"tova/vm"
)

// Options configure a Runtime.
type Options struct {
	// Servers selects server blocks by name ("" is the unnamed server);
	// empty runs them all.
	Servers []string
	// Host is the interface to listen on (default "0.0.0.0").
	Host string
	// Ports overrides ports by server name; 0 picks a free port (tests).
	Ports map[string]int
	// Logger receives JSON logs; Stdout receives Tova's print.
	Logger zerolog.Logger
	// AccessLog, if set, receives the access lines directly (see
	// netio.Config.AccessLog): Logger's destination, for a Logger with a
	// Timestamp.
	AccessLog io.Writer
	Stdout    io.Writer
	Stderr    io.Writer
	// Getenv reads the environment (default os.LookupEnv).
	Getenv func(string) (string, bool)
	// Environ lists it for env() (default os.Environ, or none when
	// only Getenv is given).
	Environ func() []string
	// RequestTimeout is the default per-request deadline (30 s); a
	// server's `timeout` config overrides it.
	RequestTimeout time.Duration
	// PoolMin / PoolMax size each server's handler pool.
	PoolMin, PoolMax int
	// Clock is the actor runtime's clock (restart intensity windows).
	Clock actors.Clock
	// Dir is where the program lives (default database files go there).
	Dir string
	// StartContext bounds what Start runs of the program: each server's
	// top-level code and body, and the on_start hooks (run once every
	// server listens). When it is cancelled (a signal while starting),
	// that code is stopped as a runaway handler is: a server body cut so
	// fails to start, a cut hook is logged and Start returns. Default:
	// no bound.
	StartContext context.Context
	// MemoryLimit, if not 0, is the live heap (bytes) past which the
	// running request or job due first is stopped, until the heap is
	// back under it (see memguard.go). `tova serve` sets it from
	// GOMEMLIMIT, else DefaultMemoryLimit.
	MemoryLimit uint64
	// MemoryLimitFrom, if set, says where MemoryLimit comes from: Start
	// then logs the limit (or warns that there is none) once every
	// server listens, before the on_start hooks run.
	MemoryLimitFrom string
}

// Runtime is a running program: its servers, their pools and the actor
// system supervising them.
type Runtime struct {
	// protected are the SQLite files of the program's servers (their
	// databases and job queues): no static directory answers one, nor
	// the -wal, -shm or -journal file beside it, whichever server's
	// directory holds it (see staticFiles.serve).
	protMu    sync.RWMutex
	protected []fs.FileInfo

	opts    Options
	prog    *vm.Program
	code    *bytecode.Program
	sys     *actors.System
	servers []*Server
	serving []string // the names of the server blocks it runs
	log     zerolog.Logger
	stop    sync.Once
	// starting: every server listens and on_start hooks run (or ran)
	starting atomic.Bool
	// ports: the port each server started so far listens on (not 0)
	ports map[int]portUse // the ports the servers started so far listen on
	guard *memoryGuard    // nil without a MemoryLimit
	// databases is the in-memory database its servers share
	// (database: ":memory:"), as they share a file.
	databases *store.Shared
	// held maps the token of a peer call made inside a transaction
	// (heldHeader) to what that transaction holds, while the call runs.
	held sync.Map
}

// Server is one running server block.
type Server struct {
	// rpcPaths are the routes of the functions other servers call
	// (POST /rpc/<fn>), made at start-up (rpcRoutes).
	rpcPaths map[string]bool
	Name     string
	rt       *Runtime
	desc     *bytecode.Server
	inst     *vm.Instance
	pool     *actors.Pool
	http     *netio.Server
	log      zerolog.Logger

	middleware []middleware
	onErrors   []middleware // on_error hooks (fn, scope)
	onStart    []vm.Value
	onStop     []vm.Value
	started    time.Time
	timeout    time.Duration
	// cacheDefault is the Cache-Control of GET and HEAD 2xx answers that
	// set none (cache { default }).
	cacheDefault string
	// limit is the server's rate_limit block, nil if none.
	limit *rateLimit
	// sessions is the session block's cookie settings (sessions.go), nil
	// without one.
	sessions *sessionStore
	// uploads is the upload block's checks of files (uploads.go), nil
	// without one.
	uploads *uploadRules
	// auth is the auth block's settings (auth.go), nil without one.
	auth *authSettings
	csrf *csrfGuard // nil: no CSRF check
	// idem keeps the answers of requests with an Idempotency-Key
	// (idempotency.go).
	idem *idempotency
	// compression is the compression block's, nil without one.
	compression *netio.Compression
	// proxies are the peers a security block's trust_proxy trusts
	// (proxy.go), nil without one.
	proxies *trustedProxies
	// stopWork stops what runs besides the requests (refreshes, health
	// checks, jobs) and runs on_stop, once, under stopCtx (see stopAt):
	// when the server's drain ends, or, for a server others call by
	// name, while it still serves their calls (Runtime.Shutdown).
	stopWork func()
	stopCtx  context.Context
	stopOnce sync.Once
	// finishing counts the requests whose res.on_finish callbacks have
	// not run yet; the server's stop waits for them (finishWait at most).
	finishing sync.WaitGroup
	// refreshes are the data block's refresh lines (refresh.go), run
	// by goroutines that refreshing counts and stopRefresh stops.
	refreshes   []dataRefresh
	refreshing  sync.WaitGroup
	stopRefresh context.CancelFunc
	// peers are the other servers its code calls by name (discover.go).
	peers *peers
	// cert is the certificate the server presents over TLS (DER), nil
	// without TLS: what a server of this process calling it trusts
	// (peer.base), whatever names it holds.
	cert []byte
}

// finishWait bounds how long a stopping server waits for res.on_finish
// callbacks, which run after their requests were answered (or stopped
// as the drain ended).
const finishWait = 2 * time.Second

type middleware struct {
	fn    vm.Value
	scope string // its routes group's (bytecode.Hook.Scope; "" for the whole server)
	next  bool   // (req, next) shape; else (req, res) hook
}

// StartupError is a failure to start a server: bad configuration, a
// missing environment variable, a port in use.
type StartupError struct {
	Server string
	Err    error
}

func (e *StartupError) Error() string {
	return fmt.Sprintf("%s: %v", ServerLabel(e.Server), e.Err)
}

func (e *StartupError) Unwrap() error { return e.Err }

// Start loads the program, runs each selected server's top-level code and
// body, binds its port and starts serving. On error nothing keeps running.
func Start(code *bytecode.Program, opts Options) (*Runtime, error) {
	if opts.Host == "" {
		opts.Host = "0.0.0.0"
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	if opts.StartContext == nil {
		opts.StartContext = context.Background()
	}
	if opts.Getenv == nil && opts.Environ == nil {
		opts.Environ = os.Environ
	}
	if opts.Getenv == nil {
		opts.Getenv = os.LookupEnv
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 30 * time.Second
	}
	prog, err := vm.Load(code)
	if err != nil {
		return nil, err
	}
	if len(code.Servers) == 0 {
		return nil, errors.New("the program declares no server block")
	}
	rt := &Runtime{opts: opts, prog: prog, code: code, log: opts.Logger, databases: store.NewShared()}
	rt.sys = actors.NewSystem(actors.Options{Name: "tova", Logger: opts.Logger, Clock: opts.Clock})
	want := map[string]bool{}
	for _, n := range opts.Servers {
		want[n] = true
	}
	for _, n := range opts.Servers {
		found := false
		for _, d := range code.Servers {
			found = found || d.Name == n
		}
		if !found {
			return nil, &StartupError{Server: n, Err: fmt.Errorf("no server named %q in the program", n)}
		}
	}
	for _, d := range code.Servers {
		if len(want) == 0 || want[d.Name] {
			rt.serving = append(rt.serving, d.Name)
		}
	}
	if opts.MemoryLimit > 0 {
		rt.guard = startMemoryGuard(rt.sys, opts.MemoryLimit, rt.log)
	}
	nextPort := 3000
	for _, d := range code.Servers {
		if len(want) > 0 && !want[d.Name] {
			nextPort++
			continue
		}
		// PORT is the port of the first server this process runs (on a
		// platform giving one port, that is the one it routes to); the
		// others keep theirs, which a shared PORT would make collide.
		// With --server, the first one named takes it.
		takesPORT := len(rt.servers) == 0
		if len(opts.Servers) > 0 {
			takesPORT = d.Name == opts.Servers[0]
		}
		s, err := rt.startServer(d, nextPort, takesPORT, len(rt.servers) == 0)
		nextPort++
		if err != nil {
			rt.Shutdown(context.Background())
			return nil, err
		}
		rt.servers = append(rt.servers, s)
	}
	if err := rt.startJobs(); err != nil {
		rt.Shutdown(context.Background())
		return nil, err
	}
	rt.warnSharedSessionCookies()
	for _, s := range rt.servers {
		if err := s.http.Start(); err != nil {
			rt.Shutdown(context.Background())
			return nil, &StartupError{Server: s.desc.Name, Err: err}
		}
	}
	for _, s := range rt.servers {
		s.startRefreshes()
		s.startHealthChecks()
	}
	rt.starting.Store(true)
	switch {
	case opts.MemoryLimitFrom == "":
	case opts.MemoryLimit == 0:
		rt.log.Warn().Str("from", opts.MemoryLimitFrom).Msg("no memory limit: a handler that allocates without bound can exhaust the process's memory")
	default:
		rt.log.Info().Uint64("limit_bytes", opts.MemoryLimit).Str("from", opts.MemoryLimitFrom).Msg("memory limit")
	}
	// Each server's hooks in order, the servers' side by side: one's
	// slow (or endless) on_start does not hold back another's, as it
	// would not were they deployed apart.
	var hooks sync.WaitGroup
	for _, s := range rt.servers {
		hooks.Go(func() { s.runHooks(rt.opts.StartContext, s.onStart, "on_start") })
	}
	hooks.Wait()
	return rt, nil
}

// warnSharedSessionCookies warns of servers whose session cookies have
// one name and different secrets: a browser sends a host's cookie to
// each of its ports, so that logging in to one logs out of the other
// (each takes the other's cookie for a forged one). With one secret
// they share their sessions, which may be meant.
func (rt *Runtime) warnSharedSessionCookies() {
	first := map[string]*Server{}
	for _, s := range rt.servers {
		if s.sessions == nil {
			continue
		}
		o, seen := first[s.sessions.name]
		if !seen {
			first[s.sessions.name] = s
			continue
		}
		if !bytes.Equal(o.sessions.secret, s.sessions.secret) {
			rt.log.Warn().Str("cookie", s.sessions.name).Strs("servers", []string{serverLabel(o.desc.Name), serverLabel(s.desc.Name)}).
				Msg(sharedCookieMsg)
		}
	}
}

const sharedCookieMsg = "two servers name their session cookie alike, with different secrets: a browser sends it to both ports of the host, so that a login to one logs out of the other; give one another cookie_name"

// serverLabel is a server's name as logs give it.
func serverLabel(name string) string {
	if name == "" {
		return "server"
	}
	return name
}

// Servers returns the running servers.
func (rt *Runtime) Servers() []*Server { return rt.servers }

// URL returns the base URL of a running server.
func (s *Server) URL() string { return s.http.URL() }

// Addr returns the bound address.
func (s *Server) Addr() net.Addr { return s.http.Addr() }

// Serve serves ln too, beside the server's own listener, until
// Shutdown; it blocks.
func (s *Server) Serve(ln net.Listener) error { return s.http.Serve(ln) }

// Pool returns the server's handler pool (for stats).
func (s *Server) Pool() *actors.Pool { return s.pool }

// Shutdown drains every server (new requests get 503, in-flight ones
// finish until ctx ends), runs on_stop hooks, and stops the actors.
func (rt *Runtime) Shutdown(ctx context.Context) error {
	var first error
	rt.stop.Do(func() {
		// A server whose functions the process's other servers call
		// (callees) drains while it keeps listening, serving those calls,
		// until the others have finished their requests in flight, which
		// may still make them: stopped at once with the rest, an idle
		// callee refused them, and the requests failed.
		var callees, others []int
		for i, s := range rt.servers {
			if s.hasRPC() && len(rt.servers) > 1 {
				s.http.DrainExcept(isRPCCall)
				callees = append(callees, i)
			} else {
				others = append(others, i)
			}
		}
		errs := make([]error, len(rt.servers))
		for g, group := range [][]int{others, callees} {
			if g == 1 {
				// Callees may call each other: one stops listening only
				// once no callee has a request in flight, which could
				// still call it (two servers calling each other stopped
				// together, and a request in flight failed its call).
				rt.calleesIdle(ctx, callees)
				// Nor before the others' jobs and on_stop, which may
				// call it too, are done: each callee's run while all
				// of them still serve calls (a job of one of two servers
				// calling each other failed its call to the other,
				// stopped first, and ran again in the next process). So
				// one's on_stop may be followed by another's calls of
				// it; its database closes only once it stops listening.
				var wg sync.WaitGroup
				for _, i := range callees {
					wg.Add(1)
					go func() {
						defer wg.Done()
						rt.servers[i].stopAt(ctx)
					}()
				}
				wg.Wait()
				rt.calleesIdle(ctx, callees)
			}
			var wg sync.WaitGroup
			for _, i := range group {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = rt.servers[i].http.Shutdown(ctx)
				}()
			}
			wg.Wait()
		}
		rt.stopJobs(ctx)
		for _, e := range errs {
			if e != nil && first == nil {
				first = e
			}
		}
		if err := rt.sys.Stop(ctx); err != nil && first == nil {
			first = err
		}
		if rt.guard != nil {
			rt.guard.Stop()
		}
	})
	return first
}

// stopAt runs s.stopWork under ctx (the first call's: it runs once).
func (s *Server) stopAt(ctx context.Context) {
	s.stopOnce.Do(func() { s.stopCtx = ctx })
	s.stopWork()
}

// calleesIdle waits, until ctx ends, for the servers callees (which
// refuse all but calls from other servers now) to have no request
// running or waiting for a worker, seen three times in a row, 5 ms
// apart: a request between two of its calls is running.
func (rt *Runtime) calleesIdle(ctx context.Context, callees []int) {
	for quiet := 0; quiet < 3 && len(callees) > 0; {
		busy := false
		for _, i := range callees {
			if st := rt.servers[i].pool.Stats(); st.Busy > 0 || st.Queued > 0 {
				busy = true
			}
		}
		if busy {
			quiet = 0
		} else {
			quiet++
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// hasRPC says whether another server calls functions of s by name.
func (s *Server) hasRPC() bool {
	for _, h := range s.desc.Hooks {
		if h.Kind == "rpc" {
			return true
		}
	}
	return false
}

// isRPCCall says whether a request is another server's call of a
// function (POST /rpc/<fn>).
func isRPCCall(method, path string) bool {
	return method == "POST" && strings.HasPrefix(path, rpcPath)
}

// posAt formats a position in file as file:line:col.
func posAt(file string, p bytecode.Pos) string {
	return fmt.Sprintf("%s:%d:%d", file, p.Line, p.Col)
}

// topAt formats a position in the program's top-level code.
func (rt *Runtime) topAt(p bytecode.Pos) string {
	return posAt(rt.code.FileName(rt.code.Funcs[0].File), p)
}

// at formats a position in the server's source. A program comes from
// one file, where every server block is.
func (s *Server) at(p bytecode.Pos) string { return posAt(s.fileName(), p) }

// fileName is the source file of the server's declarations.
func (s *Server) fileName() string {
	code := s.rt.code
	return code.FileName(code.Funcs[s.desc.Init].File)
}

func (rt *Runtime) startServer(d *bytecode.Server, defaultPort int, takesPORT, first bool) (*Server, error) {
	name := d.Name
	label := ServerLabel(name)
	log := rt.log.With().Str("server", label).Logger()
	inst := rt.prog.NewInstance(vm.Config{Stdout: rt.opts.Stdout, Stderr: stderrLog{log: log}, Getenv: rt.opts.Getenv, Environ: rt.opts.Environ, Dir: rt.opts.Dir, Serving: rt.serving})
	inst.Sched = vm.NewGIL(0)
	inst.Server = d
	store.Share(inst, rt.databases)
	s := &Server{Name: name, rt: rt, desc: d, inst: inst, log: log, started: time.Now()}
	inst.Host = s
	fail := func(err error) (*Server, error) { return nil, &StartupError{Server: name, Err: err} }

	// Top-level code, then the server body, under the instance's GIL.
	if err := inst.RunServerInit(rt.opts.StartContext, d.Init); err != nil {
		return fail(describeError(err))
	}
	// Open the database now (when the program uses one), so that an
	// unreachable one is a startup error rather than the first request's.
	ctx, cancel := context.WithTimeout(rt.opts.StartContext, 30*time.Second) // a signal cuts it too
	err := store.Ready(ctx, inst)
	cancel()
	if err != nil {
		return fail(describeError(err))
	}
	queue, _, _ := jobs.QueueOf(inst)
	rt.protect(store.SQLiteFile(inst), queue)
	if f := store.SQLiteFile(inst); f != "" && len(inst.ConfigBlocks("db")) > 0 {
		// (a relative path is the program's directory's: an artifact in
		// dist/ opened dist/short.db, a new one, without a word)
		log.Info().Str("sqlite", f).Msg("database")
	}
	port := defaultPort
	from := "by its place: a server without `port` gets 3000, 3001, ..."
	if d.Port >= 0 && vm.VariantOf(inst.Globals[d.Port]) != vm.NoneType {
		// (`port P` of an Option env that is None: as if none were given)
		v, _ := vm.OptionValue(inst.Globals[d.Port])
		if v.Kind() != vm.KInt || v.AsInt() < 0 || v.AsInt() > 65535 {
			shown := vm.Repr(v)
			switch v.Kind() {
			case vm.KInt:
			case vm.KString:
				shown += " (a String; one read from the environment is converted with `env NAME: Int`)"
			default:
				shown += " (a " + vm.TypeName(v) + ")" // 8080.0 shows as 8080
			}
			return fail(fmt.Errorf("%s: "+bytecode.PortRule, s.at(d.PortPos), shown))
		}
		port = int(v.AsInt())
		from = "its `port` at " + s.at(d.PortPos)
	}
	for _, key := range []string{bytecode.PortEnv(name), "PORT"} {
		if name == "" && key != "PORT" || key == "PORT" && !takesPORT {
			continue
		}
		if v, ok := rt.opts.Getenv(key); ok && v != "" {
			p, err := envPort(key, v)
			if err != nil {
				return fail(err)
			}
			port, from = p, "from "+key
			break
		}
	}
	if p, ok := rt.opts.Ports[name]; ok {
		port, from = p, "given by the caller"
	}
	if other, ok := rt.ports[port]; ok {
		// Said here: the bind would fail with a bare "address already
		// in use", as if another process held the port.
		return fail(fmt.Errorf("port %d is taken by server %s of this program (%s's port: %s; %s's: %s): give each server a port of its own (`port N`, or PORT_<NAME> in the environment)",
			port, other.name, other.name, other.from, label, from))
	}
	if port != 0 {
		if rt.ports == nil {
			rt.ports = map[int]portUse{}
		}
		rt.ports[port] = portUse{label, from}
	}
	cfg, err := s.readConfig(first)
	if err != nil {
		return fail(err)
	}
	if st := cfg.sessions; st != nil && cfg.tls.cert.at != "" {
		if !st.secureSet {
			// A site its tls block serves over HTTPS: the session cookie
			// is Secure unless the block says otherwise (it went to
			// http:// of the host too).
			st.secure = true
		}
		if st.secure && !st.nameSet {
			// __Host-: a cookie set by a sibling subdomain or over
			// plain http (cookie tossing) cannot take its name, and put
			// a visitor in another's session
			st.name = "__Host-" + sessionCookieName[2:]
		}
	}
	s.timeout, s.cacheDefault, s.limit, s.sessions = cfg.timeout, cfg.cacheDefault, cfg.limit, cfg.sessions
	if s.sessions != nil {
		s.sessions.log = s.log
	}
	s.uploads, s.auth, s.compression, s.proxies = cfg.uploads, cfg.auth, cfg.compression, cfg.proxies
	s.idem = newIdempotency(cfg.auth, cfg.sessions)
	if s.csrf, err = newCSRFGuard(cfg.sessions, cfg.auth, cfg.getenv, cfg.tls.cert.at != ""); err != nil {
		return fail(err)
	}
	s.uploads.warnOverBody(s.log, cfg.maxBody)
	tlsConfig, err := cfg.tls.config()
	if err != nil {
		return fail(err)
	}
	if tlsConfig != nil && len(tlsConfig.Certificates) > 0 && len(tlsConfig.Certificates[0].Certificate) > 0 {
		s.cert = tlsConfig.Certificates[0].Certificate[0]
	}
	static, err := s.readStatic(first)
	if err != nil {
		return fail(err)
	}
	if err := s.readRefreshes(); err != nil {
		return fail(err)
	}
	if err := s.readPeers(); err != nil {
		return fail(err)
	}
	static.compress(cfg.compression)
	router := netio.NewRouter()
	if err := s.buildRoutes(router); err != nil {
		return fail(err)
	}
	if err := s.csrfRoute(router); err != nil {
		return fail(err)
	}
	if err := s.rpcRoutes(router); err != nil {
		return fail(err)
	}
	if err := s.openAPIRoutes(router); err != nil {
		return fail(err)
	}
	pool, err := rt.sys.StartPool(actors.PoolOptions{Name: actors.ServerActorName(name, "handlers"), Min: rt.opts.PoolMin, Max: rt.opts.PoolMax})
	if err != nil {
		return fail(err)
	}
	s.pool = pool
	hs, err := netio.NewServer(netio.Config{
		Name:               label,
		Addr:               net.JoinHostPort(rt.opts.Host, strconv.Itoa(port)),
		Router:             router,
		Pool:               pool,
		Logger:             rt.log,
		AccessLog:          rt.opts.AccessLog,
		RequestTimeout:     cfg.timeout,
		MaxRequestBodySize: cfg.maxBody,
		CORS:               cfg.cors,
		Static:             static.handler(),
		Fallback:           static.fallbackHandler(),
		StaticHas:          static.has,
		TLS:                tlsConfig,
		SecurityHeaders:    true,
		Compression:        cfg.compression,
	})
	if err != nil {
		static.close(context.Background())
		return fail(err)
	}
	s.http = hs
	s.stopWork = sync.OnceFunc(func() {
		ctx := s.stopCtx
		// The requests have drained or were stopped; their on_finish
		// callbacks run (with 503 for those stopped) before on_stop.
		waitGroup(&s.finishing, finishWait)
		// The requests have drained. The data block's refreshes, the
		// server's jobs, schedules and subscribers stop next (a running job gets what is left of the
		// drain, then goes back to its queue), so that on_stop cleans
		// up after every piece of the server's code, and before its
		// database closes.
		s.stopRefreshes()
		s.stopHealthChecks()
		s.stopJobs(ctx)
		// on_stop pairs with on_start: a program that failed to start
		// (another server could not listen) never ran on_start.
		if rt.starting.Load() {
			for _, fn := range s.onStop {
				// Each hook by itself: one cut at the deadline leaves
				// the next its own least time.
				hctx, cancel := stopHookContext(ctx)
				s.runHooks(hctx, []vm.Value{fn}, "on_stop")
				cancel()
			}
		}
	})
	hs.OnStop(func(ctx context.Context) {
		s.stopAt(ctx)
		// Last, once it listens no more: a server others call by name
		// ran its on_stop while serving their calls (their on_stop may
		// still call it), which find its database open, not opened
		// again (an empty one, for :memory:).
		store.Close(inst)
	})
	hs.OnStop(static.close)
	// Bound now, served once every server is set up (Start): a program
	// whose later server cannot start never serves from the earlier.
	// (Its jobs start then too: see Runtime.startJobs.)
	if err := hs.Listen(); err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			env := "PORT"
			if name != "" {
				env = bytecode.PortEnv(name)
			}
			err = fmt.Errorf("port %d (%s) is in use by another process: stop that one, or give this server another port (`port N`, or %s in the environment)", port, from, env)
		}
		return fail(err)
	}
	return s, nil
}

type serverConfig struct {
	timeout      time.Duration
	maxBody      int
	cacheDefault string // cache { default }: Cache-Control of GET 2xx answers that set none
	cors         *netio.CORS
	limit        *rateLimit
	sessions     *sessionStore
	uploads      *uploadRules
	auth         *authSettings
	getenv       func(string) (string, bool)
	tls          tlsSettings
	compression  *netio.Compression // nil: none
	proxies      *trustedProxies    // security { trust_proxy }; nil: none
	log          zerolog.Logger     // for warnings of the settings read
}

// applied says whether the runtime applies a config of kind: the
// blocks of bytecode.AppliedConfigs, and a data block's refresh lines.
// A block of another kind is accepted (later versions apply more) and
// warned about when the program starts, at its declaration
// (warnNotApplied).
func applied(kind string) bool { return bytecode.AppliedConfigs[kind] || kind == "data refresh" }

// warnNotApplied warns, at start-up, of a config block of kind declared
// at at that this runtime does not apply, so that no one mistakes a
// `cors { }` or a `rate_limit { }` that does nothing for one that works.
func warnNotApplied(log zerolog.Logger, c bytecode.Config, at string) {
	if !applied(c.Kind) {
		e := log.Warn().Str("kind", c.Kind)
		if c.Name != "" {
			e = e.Str("name", c.Name) // the server a discover names
		}
		e.Str("at", at).Msg(notAppliedMsg)
	}
}

const notAppliedMsg = "declaration not applied by this runtime yet: it has no effect"

// readConfig collects hooks and the config blocks the HTTP layer uses:
// the program's top-level http and limits blocks, then the server's own
// (a later one's keys win). It warns of blocks not applied and of
// unknown keys: in the server's own blocks, and, for the first server
// started (top), in the top-level ones.
func (s *Server) readConfig(top bool) (serverConfig, error) {
	cfg := serverConfig{timeout: s.rt.opts.RequestTimeout, log: s.log, getenv: s.rt.opts.Getenv}
	g := s.inst.Globals
	for _, h := range s.desc.Hooks {
		fn := g[h.Slot]
		switch h.Kind {
		case "middleware":
			s.middleware = append(s.middleware, middleware{fn: fn, scope: h.Scope, next: isNextShape(fn)})
		case "on_error":
			s.onErrors = append(s.onErrors, middleware{fn: fn, scope: h.Scope})
		case "on_start":
			s.onStart = append(s.onStart, fn)
		case "on_stop":
			s.onStop = append(s.onStop, fn)
		}
	}
	// The program's blocks, then the server's own: a key of the
	// server's overrides the program's, but each sets a key once.
	set := map[string]string{}
	topFile := s.rt.code.FileName(s.rt.code.Funcs[0].File)
	for _, c := range s.rt.code.Configs {
		at := s.rt.topAt(c.Pos)
		if top {
			warnNotApplied(s.rt.log, c, at)
			if err := checkUnknownKeys(s.rt.log, c.Kind, at, g[c.Slot], keyPlace(topFile, &c, at)); err != nil {
				return cfg, keyAt(topFile, &c, at, err)
			}
		}
		if err := cfg.apply(c.Kind, at, g[c.Slot], set); err != nil {
			return cfg, keyAt(topFile, &c, at, err)
		}
		if c.Kind == "tls" {
			cfg.tls.placeKeys(topFile, at, &c)
		}
	}
	set = map[string]string{}
	for _, c := range s.desc.Configs {
		at := s.at(c.Pos)
		warnNotApplied(s.log, c, at)
		if err := checkUnknownKeys(s.log, c.Kind, at, g[c.Slot], keyPlace(s.fileName(), &c, at)); err != nil {
			return cfg, keyAt(s.fileName(), &c, at, err)
		}
		if err := cfg.apply(c.Kind, at, g[c.Slot], set); err != nil {
			return cfg, keyAt(s.fileName(), &c, at, err)
		}
		if c.Kind == "tls" {
			cfg.tls.placeKeys(s.fileName(), at, &c)
		}
	}
	return cfg, nil
}

// A ConfigError is a config block's value refused as a server starts,
// at the value of the key it concerns (`cors.credentials: expected true
// or false, got "yes"` at "yes"): tova serve shows its source line.
type ConfigError struct {
	File string
	Pos  bytecode.Pos
	Msg  string // what is wrong, from the block's kind on
}

func (e *ConfigError) Error() string { return posAt(e.File, e.Pos) + ": " + e.Msg }

// keyAt moves err, an error of block c declared at at, to the value of
// the key it names ("at: cors.origins: ..." names origins), when the
// block gives that key; other errors stay as they are.
func keyAt(file string, c *bytecode.Config, at string, err error) error {
	msg := err.Error()
	label := c.Kind + "."
	rest, ok := strings.CutPrefix(msg, at+": "+label)
	if !ok && c.Name != "" {
		// discover "worker": circuit_breaker.failure_threshold: ...
		label = fmt.Sprintf("%s %q: ", c.Kind, c.Name)
		rest, ok = strings.CutPrefix(msg, at+": "+label)
	}
	if !ok {
		return err
	}
	// The longest key of the block the message names (x.y before x).
	best := ""
	for _, k := range c.Keys {
		if len(k.Name) > len(best) && strings.HasPrefix(rest, k.Name) && len(rest) > len(k.Name) && strings.ContainsRune(":. [", rune(rest[len(k.Name)])) {
			best = k.Name
		}
	}
	if best == "" {
		return err
	}
	p, _ := c.KeyPos(best)
	return &ConfigError{File: file, Pos: p, Msg: label + rest}
}

// noneRefused are the keys of config blocks that refuse None, the value
// of an optional setting left unset (`env TLS_CERT: Option<String> =
// None`), by what leaving them out would do: the server would be open
// where the program meant to close it.
var noneRefused = map[string]map[string]string{
	"cors": {"origins": "every origin would be allowed (the default); give the origins, or leave the key out for \"*\""},
	"tls":  {"cert": "the server would serve plain HTTP", "key": "the server would serve plain HTTP"},
	"auth": {"issuer": "tokens of any issuer would pass", "audience": "tokens for any audience would pass"},
}

// refusedNone is the error of a block of kind, declared at at, whose
// value v gives None to one of its noneRefused keys.
func refusedNone(kind, at string, v vm.Value) error {
	keys := noneRefused[kind]
	if keys == nil {
		return nil
	}
	if x, ok := vm.OptionValue(v); ok {
		v = x // (a block is no Option, but an Option's value may be one)
	}
	if v.Kind() != vm.KObject {
		return nil
	}
	for _, k := range v.AsObject().Keys() {
		x, _ := v.AsObject().Get(k)
		for {
			inner, ok := vm.OptionValue(x)
			if !ok || vm.VariantOf(x) == vm.NoneType {
				break
			}
			x = inner // Some(None) is None too
		}
		if why, ok := keys[k]; ok && vm.VariantOf(x) == vm.NoneType {
			return fmt.Errorf("%s: %s.%s is None (is the environment variable it reads set?): left out, %s", at, kind, k, why)
		}
	}
	return nil
}

// apply reads the value v of a config block of kind declared at at into
// cfg, if it is one the HTTP layer uses. set holds where each setting
// was given already in the same place (the program's top level, or the
// server's blocks): a second one is an error, as a second port is.
func (cfg *serverConfig) apply(kind, at string, v vm.Value, set map[string]string) error {
	if err := refusedNone(kind, at, v); err != nil {
		return err
	}
	v = vm.WithoutOptions(v) // (an Option env's value is what it holds)
	switch kind {
	case "max_body":
		if v.IsNil() {
			return nil // (an Option env's None: as if not given)
		}
		n, err := byteSize(v)
		if err == nil && n <= 0 {
			err = fmt.Errorf(bytecode.BodySizeRule, vm.Repr(v))
		}
		if err != nil {
			return fmt.Errorf("%s: max_body: %v", at, err)
		}
		if first, again := set["max_body"]; again {
			// (max_body and limits { max_body }: the later one won, unsaid)
			return fmt.Errorf("%s: max_body: the body limit is set again (first at %s)", at, first)
		}
		set["max_body"] = at
		cfg.maxBody = int(n)
	case "http", "limits":
		if v.Kind() != vm.KObject {
			return nil
		}
		if mb, ok := v.AsObject().Get("max_body"); ok && !mb.IsNil() {
			// (the statement's setting, where the guide's readers put
			// it: warned of as unknown, the 4 MiB default stayed)
			n, err := byteSize(mb)
			if err == nil && n <= 0 {
				err = fmt.Errorf(bytecode.BodySizeRule, vm.Repr(mb))
			}
			if err != nil {
				return fmt.Errorf("%s: %s.max_body: %v", at, kind, err)
			}
			if first, again := set["max_body"]; again {
				return fmt.Errorf("%s: %s.max_body: the body limit is set again (first at %s)", at, kind, first)
			}
			set["max_body"] = at
			cfg.maxBody = int(n)
		}
		if t, ok := v.AsObject().Get("timeout"); ok {
			if first, again := set["timeout"]; again {
				return fmt.Errorf("%s: %s.timeout: the request deadline is set again (first at %s)", at, kind, first)
			}
			set["timeout"] = at
			d, err := duration(t, time.Millisecond)
			if err == nil && d <= 0 {
				err = fmt.Errorf("a request deadline must be positive, got %s", vm.Repr(t))
			}
			if err != nil {
				return fmt.Errorf("%s: %s.timeout: %v", at, kind, err)
			}
			cfg.timeout = d
		}
	case "cache":
		if v.Kind() != vm.KObject {
			return nil
		}
		if d, ok := v.AsObject().Get("default"); ok {
			if d.Kind() != vm.KString {
				return fmt.Errorf("%s: cache.default: expected a Cache-Control directive String, got %s", at, vm.Repr(d))
			}
			if strings.ContainsAny(d.AsString(), "\r\n\x00") {
				// (as static.cache: sent with the break made a space)
				return fmt.Errorf("%s: cache.default: a header value cannot hold a line break", at)
			}
			cfg.cacheDefault = d.AsString()
		}
	case "cors":
		c, err := readCORS(cfg.log, at, v)
		if err != nil {
			return err
		}
		cfg.cors = c
	case "rate_limit":
		l, err := readRateLimit(at, v)
		if err != nil {
			return err
		}
		cfg.limit = l
	case "session", "sessions":
		if first, again := set["session"]; again {
			return fmt.Errorf("%s: %s: a second session block (the first at %s)", at, kind, first)
		}
		set["session"] = at
		st, err := readSessions(kind, at, v, cfg.getenv)
		if err != nil {
			return err
		}
		if st.sameSite == http.SameSiteNoneMode && !st.csrf && !st.csrfOff {
			// The guide's block leaves the CSRF check off because its
			// cookie's SameSite keeps other sites' requests from
			// carrying it; a SameSite=None cookie goes with them.
			cfg.log.Warn().Str("at", at).Msg(`sessions: same_site "none" sends the session cookie with other sites' requests too, and the CSRF check is off: a page elsewhere can make requests as the user; add csrf: true (clients then send X-Tova-CSRF), or csrf: false to say it is meant`)
		}
		cfg.sessions = st
	case "tls":
		return cfg.tls.apply(at, v)
	case "upload", "uploads":
		if first, again := set["upload"]; again {
			return fmt.Errorf("%s: %s: a second upload block (the first at %s)", at, kind, first)
		}
		set["upload"] = at
		u, err := readUploads(kind, at, v)
		if err != nil {
			return err
		}
		cfg.uploads = u
	case "auth":
		a, err := readAuth(at, v, cfg.getenv)
		if err != nil {
			return err
		}
		cfg.auth = a
	case "security":
		if first, again := set["security"]; again {
			return fmt.Errorf("%s: security: a second security block (the first at %s)", at, first)
		}
		set["security"] = at
		p, err := readSecurity(at, v)
		if err != nil {
			return err
		}
		cfg.proxies = p
	case "compression":
		c, err := readCompression(at, v)
		if err != nil {
			return err
		}
		cfg.compression = c
	}
	return nil
}

// readCompression reads a compression block's value v, declared at at:
// min_size, a size (an Int of bytes, or 1.kilobyte), 1024 by default.
func readCompression(at string, v vm.Value) (*netio.Compression, error) {
	o, err := blockSettings("compression", at, v)
	if err != nil {
		return nil, err
	}
	c := &netio.Compression{MinSize: netio.DefaultCompressionMinSize}
	if m, ok := o.Get("min_size"); ok {
		n, err := byteSize(m)
		if err == nil && n < 0 {
			err = fmt.Errorf("expected a size of 0 or more, got %s", vm.Repr(m))
		}
		if err != nil {
			return nil, fmt.Errorf("%s: compression.min_size: %v", at, err)
		}
		c.MinSize = int(min(n, math.MaxInt32))
	}
	return c, nil
}

// configKeys are the keys of the applied config blocks serve checks: a
// key not listed is most likely a typo, and has no effect. (jobs blocks
// are checked by the jobs package, which refuses unknown keys.)
var configKeys = map[string][]string{
	"http":        {"timeout", "max_body"},
	"limits":      {"timeout", "max_body"},
	"db":          store.BlockKeys,
	"cache":       {"default", "max_age", "stale_while_revalidate"},
	"static":      staticKeys,
	"cors":        corsKeys,
	"rate_limit":  rateLimitKeys,
	"session":     sessionKeys,
	"sessions":    sessionKeys,
	"tls":         tlsKeys,
	"upload":      uploadKeys,
	"uploads":     uploadKeys,
	"auth":        authKeys,
	"discover":    discoverKeys,
	"compression": {"min_size"},
	"security":    securityKeys,
}

// guardingBlocks are the config blocks whose keys, left at their
// defaults, open what the program meant to close: a key one of them
// does not know fails the start. A misspelt key (cors { orgins: [...]
// }) would have let every site in; another name for a setting
// (cors { allowed_origins }, upload { max_file_size }) as much; and a
// setting the runtime does not apply (tls { ca }: no client
// certificate is asked for) would leave open what it says it closes.
var guardingBlocks = map[string]bool{"cors": true, "auth": true, "tls": true, "session": true, "sessions": true, "rate_limit": true, "security": true, "upload": true, "uploads": true}

// inertKeys are the reference's keys of guarding blocks that close
// nothing when left out, warned of as unknown: auth's storage (a token
// in a cookie is not read: the request is refused) and expires (of
// tokens the program issues with sign_jwt).
var inertKeys = map[string][]string{"auth": {"storage", "expires"}}

// unsupportedKeys are the settings of guarding blocks the runtime does
// not apply, with why: given, they fail the start; given None, they are
// left out.
var unsupportedKeys = map[string]string{
	"tls.ca": "client certificates are not checked (no client certificate is asked for): leave ca out, or check them in a proxy in front",
}

// checkUnknownKeys warns of each key of the config block value v (of
// kind, declared at at) that the runtime does not know, naming the key
// it may have meant; in a guarding block, such a key is an error.
func checkUnknownKeys(log zerolog.Logger, kind, at string, v vm.Value, keyAt func(key string) string) error {
	known, checked := configKeys[kind]
	if !checked || v.Kind() != vm.KObject {
		return nil
	}
	for i, k := range v.AsObject().Keys() {
		if slices.Contains(known, k) {
			continue
		}
		x := v.AsObject().Values()[i]
		if _, isUnsupported := unsupportedKeys[kind+"."+k]; isUnsupported && (x.IsNil() || vm.VariantOf(x) == vm.NoneType) {
			// An unsupported setting given None asks for nothing, as if
			// left out (the guide's env TLS_CA: String? = None, ca:
			// TLS_CA, unset). Any other unknown key given None fails
			// still: cors { orgins: ORIGIN } of an unset variable let
			// every origin in.
			continue
		}
		if kind == "auth" && k == "algorithm" {
			// (the reference's docs' algorithm: "HS256", the one a jwt
			// block applies: it opens nothing; another would verify
			// tokens otherwise than it says)
			if x.Kind() == vm.KString && strings.EqualFold(x.AsString(), "HS256") {
				continue
			}
			return fmt.Errorf("%s: auth.algorithm: a jwt block verifies HS256 tokens only, got %s: leave algorithm out (or \"HS256\")", at, vm.Repr(x))
		}
		if msg, fatal := judgeKey(kind, k); fatal {
			return fmt.Errorf("%s: %s.%s: %s", at, kind, k, msg)
		}
		e := log.Warn().Str("kind", kind).Str("key", k).Strs("known", known).Str("at", keyAt(k))
		if meant := meantKey(k, known); meant != "" {
			e = e.Str("did_you_mean", meant)
		}
		e.Msg(unknownKeyMsg)
	}
	return nil
}

// judgeKey says what is wrong with key k of a config block of kind
// that the runtime does not know, and whether the server refuses to
// start for it (a guarding block's).
func judgeKey(kind, k string) (msg string, fatal bool) {
	known := configKeys[kind]
	meant := meantKey(k, known)
	if guardingBlocks[kind] && !slices.Contains(inertKeys[kind], k) {
		if unsupported, ok := unsupportedKeys[kind+"."+k]; ok {
			return unsupported, true
		}
		if meant != "" {
			return fmt.Sprintf("unknown key (did you mean %s?): the server does not start, where %s would take its default", meant, meant), true
		}
		return fmt.Sprintf("unknown key (%s takes %s): it would not be applied, and the block would not guard what it says", kind, strings.Join(known, ", ")), true
	}
	if meant != "" {
		return fmt.Sprintf("unknown key (did you mean %s?): it has no effect", meant), false
	}
	return fmt.Sprintf("unknown key (%s takes %s): it has no effect", kind, strings.Join(known, ", ")), false
}

// meantKey is the key of known that k may be a slip for, or "".
func meantKey(k string, known []string) string {
	meant := diag.Closest(k, known)
	if l := strings.ToLower(k); meant == "" && slices.Contains(known, l) {
		meant = l
	}
	return meant
}

func init() {
	// The compiler checks the keys a program writes in its blocks as
	// serve would at start-up: a guarding block's unknown key fails the
	// compile, another's is a warning. Keys whose value decides (an
	// unsupported one given None, auth.algorithm "HS256") are left to
	// the start, and the db block's to the store, which warns of them
	// when it opens the database (in tova run too).
	bytecode.KeyCheck = func(kind, k string) (string, bool) {
		if kind == "jobs" {
			// (the jobs package refuses one at start-up)
			if slices.Contains(jobs.BlockKeys, k) || slices.Contains(jobs.BlockAliases, k) {
				return "", false
			}
			if meant := meantKey(k, jobs.BlockKeys); meant != "" {
				return fmt.Sprintf("jobs.%s: unknown key (did you mean %s?): the server does not start", k, meant), true
			}
			return fmt.Sprintf("jobs.%s: unknown key (jobs takes %s): the server does not start", k, strings.Join(jobs.BlockKeys, ", ")), true
		}
		known, checked := configKeys[kind]
		if !checked || kind == "db" || slices.Contains(known, k) || kind == "auth" && k == "algorithm" {
			return "", false
		}
		if _, ok := unsupportedKeys[kind+"."+k]; ok {
			return "", false
		}
		msg, fatal := judgeKey(kind, k)
		return kind + "." + k + ": " + msg, fatal
	}
}

const unknownKeyMsg = "unknown key in a config block: it has no effect"

// keyPlace gives where a key of config block c is written (file:line:col
// of the key's value, as the program's source has it), or at, the
// block's, for a key it does not know (one the block got from a
// variable).
func keyPlace(file string, c *bytecode.Config, at string) func(key string) string {
	return func(key string) string {
		if p, ok := c.KeyPos(key); ok && file != "" {
			return fmt.Sprintf("%s:%d:%d", file, p.Line, p.Col)
		}
		return at
	}
}

// isNextShape tells the (req, next) middleware shape from the (req, res)
// hook shape by the second parameter's name.
func isNextShape(fn vm.Value) bool {
	if fn.Kind() != vm.KFunc {
		return false
	}
	ps := fn.AsClosure().ParamNames()
	return len(ps) >= 2 && ps[1] != "res" && ps[1] != "response"
}

// blockSettings reads the value v of a config block of kind declared at
// at: its object of settings, an empty one for a block that gives none.
func blockSettings(kind, at string, v vm.Value) (*vm.Object, error) {
	switch v.Kind() {
	case vm.KObject:
		return v.AsObject(), nil
	case vm.KNil:
		return vm.NewObject(), nil
	}
	return nil, fmt.Errorf("%s: %s: expected a block of settings, got %s", at, kind, vm.Repr(v))
}

// blockBool reads the Bool setting key of a config block's settings o
// (of kind, declared at at) into dst, and says whether the block gives
// it.
func blockBool(kind, at string, o *vm.Object, key string, dst *bool) (bool, error) {
	x, ok := o.Get(key)
	if !ok {
		return false, nil
	}
	if x.Kind() != vm.KBool {
		return true, fmt.Errorf("%s: %s.%s: expected true or false, got %s", at, kind, key, vm.Repr(x))
	}
	*dst = x.AsBool()
	return true, nil
}

// byteSize reads a size config value: a Size, or a number of bytes.
func byteSize(v vm.Value) (int64, error) {
	switch v.Kind() {
	case vm.KSize:
		return v.AsSize(), nil
	case vm.KInt:
		return v.AsInt(), nil
	}
	return 0, fmt.Errorf(bytecode.SizeRule, vm.Repr(v))
}

// duration reads a duration config value: a Duration, or a plain number
// in the key's own unit.
func duration(v vm.Value, unit time.Duration) (time.Duration, error) {
	switch v.Kind() {
	case vm.KDuration:
		return time.Duration(v.AsDuration()), nil
	case vm.KInt:
		n := v.AsInt()
		if n > int64(math.MaxInt64/unit) || n < int64(math.MinInt64/unit) {
			return 0, fmt.Errorf("%s is too long a duration (at most about 292 years)", vm.Repr(v))
		}
		return time.Duration(n) * unit, nil
	case vm.KFloat:
		f := v.AsFloat() * float64(unit)
		if math.IsNaN(f) || f >= math.MaxInt64 || f <= math.MinInt64 {
			return 0, fmt.Errorf("%s is not a duration of at most about 292 years", vm.Repr(v))
		}
		return time.Duration(f), nil
	}
	return 0, fmt.Errorf("expected a duration such as 30.seconds, got %s", vm.Repr(v))
}

// minStopHooks is the least time each on_stop hook of a server gets,
// even when the drain (or an earlier hook) has used up the shutdown's
// deadline.
const minStopHooks = 2 * time.Second

// stopHookContext bounds an on_stop hook by the shutdown's deadline,
// stretched to minStopHooks from the hook's start if less is left: a
// hook that never returns must not keep the process from exiting. The
// shutdown's context ending early (a second signal) cuts the hook too,
// but not before its minStopHooks.
func stopHookContext(ctx context.Context) (context.Context, context.CancelFunc) {
	floor := time.Now().Add(minStopHooks)
	base := context.WithoutCancel(ctx)
	var hctx context.Context
	var cancel context.CancelFunc
	if d, ok := ctx.Deadline(); ok {
		if d.Before(floor) {
			d = floor
		}
		hctx, cancel = context.WithDeadline(base, d)
	} else {
		hctx, cancel = context.WithCancel(base)
	}
	stop := context.AfterFunc(ctx, func() {
		if wait := time.Until(floor); wait > 0 {
			time.AfterFunc(wait, cancel)
			return
		}
		cancel()
	})
	return hctx, func() { stop(); cancel() }
}

// runHooks runs on_start / on_stop functions under ctx (their
// cancellation cuts them, as a request's deadline cuts its handler);
// failures are logged.
func (s *Server) runHooks(ctx context.Context, fns []vm.Value, what string) {
	for i, fn := range fns {
		if what == "on_start" && ctx.Err() != nil {
			// Told to stop while an earlier hook ran: start-up work
			// (registering, warming a cache, spawning jobs) does not
			// begin in the drain.
			s.log.Warn().Int("not_run", len(fns)-i).Msg("on_start hooks not run: the server was told to stop while an earlier one ran")
			return
		}
		th := s.inst.NewThread(ctx)
		th.Enter()
		_, err := th.Call(fn)
		th.Leave()
		th.Release()
		if err != nil && vm.IsCancelled(err) && ctx.Err() != nil && what == "on_start" {
			// (the server was told to stop while it ran: a stop, not a
			// failure of the hook's code, logged at error)
			s.log.Warn().Str("in", what).Msg("on_start cut: the server was told to stop while it ran")
			continue
		}
		if err != nil {
			s.logError(err, what, "")
		}
	}
}

// describeError gives a Tova runtime error a one-line text with its
// position; the error itself (and its stack) stays reachable with
// errors.As.
func describeError(err error) error {
	var ve *vm.Error
	if errors.As(err, &ve) {
		if f, ok := ve.Pos(); ok {
			return &describedError{fmt.Sprintf("%s:%d:%d: %s: %s", f.File, f.Line, f.Col, ve.Kind, ve.Msg), err}
		}
		return &describedError{fmt.Sprintf("%s: %s", ve.Kind, ve.Msg), err}
	}
	return err
}

type describedError struct {
	text string
	err  error
}

func (e *describedError) Error() string { return e.text }
func (e *describedError) Unwrap() error { return e.err }

// logError logs a Tova failure with its stack trace.
func (s *Server) logError(err error, where, requestID string) {
	ev := s.log.Error().Str("in", where)
	if requestID != "" {
		ev = ev.Str("request_id", requestID)
	}
	logTovaError(ev, err)
}

// logTovaError writes ev with err's message, and for a Tova error its
// kind, stack and position.
func logTovaError(ev *zerolog.Event, err error) {
	var ve *vm.Error
	if errors.As(err, &ve) {
		ev = ev.Str("kind", ve.Kind).Str("stack", strings.TrimRight(ve.Trace(), "\n"))
		if f, ok := ve.Pos(); ok {
			ev = ev.Str("at", fmt.Sprintf("%s:%d:%d", f.File, f.Line, f.Col))
		}
		ev.Msg(logbuf.Message(ve.Msg))
		return
	}
	ev.Msg(logbuf.Message(err.Error()))
}

// Handler returns the server's fasthttp handler (for in-process
// benchmarks of the request path without sockets).
func (s *Server) Handler() fasthttp.RequestHandler { return s.http.Handler() }

// portUse is the server listening on a port, and where its port came
// from (its `port`, an environment variable, its place).
type portUse struct{ name, from string }

// waitGroup waits for wg, at most d.
func waitGroup(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// protect adds the files at paths ("" for none) to the files no static
// directory answers.
func (rt *Runtime) protect(paths ...string) {
	for _, p := range paths {
		if p == "" || strings.HasPrefix(p, "file:") {
			continue
		}
		if st, err := os.Stat(p); err == nil {
			rt.protMu.Lock()
			rt.protected = append(rt.protected, st)
			rt.protMu.Unlock()
		}
	}
}

// isProtected reports whether st, a file a static directory would
// answer, is one of the protected files.
func (rt *Runtime) isProtected(st fs.FileInfo) bool {
	rt.protMu.RLock()
	defer rt.protMu.RUnlock()
	for _, p := range rt.protected {
		if os.SameFile(p, st) {
			return true
		}
	}
	return false
}
