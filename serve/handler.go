package serve

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"tova/bytecode"
	"tova/internal/jsonstr"
	"tova/internal/schedpattern"
	"tova/netio"
	"tova/store"
	"tova/vm"
	"tova/vm/stdlib"
)

// httpError answers a request with a runtime-generated error body
// (Decision 12 shape): validation failures, malformed bodies.
type httpError struct {
	status  int
	code    string
	message string
	details []string
}

func (e *httpError) Error() string { return e.message }

func validationError(details ...string) *httpError {
	return &httpError{status: 400, code: "VALIDATION_FAILED", message: "Validation failed", details: details}
}

// buildRoutes registers every route of the server with the router.
func (s *Server) buildRoutes(r *netio.Router) error {
	g := s.inst.Globals
	// A later declaration of the same route wins (as in the reference);
	// it is most likely a mistake, so say where both are.
	declared := map[*netio.Route]bytecode.Pos{}
	var cur bytecode.Pos
	r.OnReplace = func(old, new *netio.Route) {
		was := declared[old]
		s.log.Warn().Str("route", new.Method+" "+new.Pattern).
			Str("at", s.at(cur)).
			Str("replaces", fmt.Sprintf("%s %s at %s", old.Method, old.Pattern, s.at(was))).
			Msg("route declared again: the later declaration serves it")
	}
	defer func() { r.OnReplace = nil }()
	for _, rt := range s.desc.Routes {
		cur = rt.Pos
		var h netio.Handler
		var timeout time.Duration
		switch rt.Kind {
		case "route":
			if err := s.mustCall(g[rt.Slot], rt, "handler"); err != nil {
				return err
			}
			var guards []vm.Value
			for _, gs := range rt.Guards {
				if t, ok := g[gs].AsHostOK().(*routeTimeout); ok {
					timeout = t.d // with timeout(ms): the route's deadline, no guard
					continue
				}
				if err := s.mustCall(g[gs], rt, "guard"); err != nil {
					return err
				}
				if err := s.checkAuthGuard(g[gs], s.at(rt.Pos), rt.Method+" "+rt.Path); err != nil {
					return err
				}
				guards = append(guards, g[gs])
			}
			h = s.routeHandler(rt, g[rt.Slot], guards, timeout)
		case "health":
			h = s.healthHandler(healthChecks(g[rt.Slot]), rt)
			if len(s.middlewareFor(rt)) > 0 {
				// Middleware wraps health as any route (as in the
				// reference): a logger sees the probes, a trace hook
				// sets their id.
				h = s.routeHandler(rt, healthFunc(h), nil, 0)
			}
		default:
			s.log.Warn().Str("kind", rt.Kind).Str("path", rt.Path).Str("at", s.at(rt.Pos)).Msg(notAppliedMsg)
			continue
		}
		if err := r.Handle(rt.Method, rt.Path, h); err != nil {
			why := err.Error()
			if re := (*netio.RouteError)(nil); errors.As(err, &re) {
				why = re.Reason // the route is named here already
			}
			return fmt.Errorf("%s: route %s %s: %s", s.at(rt.Pos), rt.Method, rt.Path, why)
		}
		routes := r.Routes()
		routes[len(routes)-1].Timeout = timeout
		// A health probe without middleware is Go code that answers at
		// once: it does not wait for a worker, so it answers even when
		// every one is busy (a server saturated is still alive).
		routes[len(routes)-1].Inline = rt.Kind == "health" && len(s.middlewareFor(rt)) == 0
		declared[routes[len(routes)-1]] = rt.Pos
	}
	return nil
}

// mustCall refuses, when the server starts, a handler or guard that is
// not a function: otherwise every request to the route would fail.
func (s *Server) mustCall(v vm.Value, rt bytecode.Route, what string) error {
	if v.IsCallable() {
		return nil
	}
	hint := ""
	if what == "handler" {
		// (=> get_users(): the call's result)
		hint = " (write fn(req) { ... }, or a function's name without calling it: => name, not => name())"
	}
	return fmt.Errorf("%s: route %s %s: the %s is %s, not a function%s",
		s.at(rt.Pos), rt.Method, rt.Path, what, shapeOf(v), hint)
}

// healthChecks reads a health declaration's checks (`health "/h" {
// check_memory, check_db }`).
func healthChecks(v vm.Value) []string {
	var checks []string
	if v.Kind() == vm.KArray {
		for _, c := range v.AsArray().Elems {
			checks = append(checks, vm.ToString(c))
		}
	}
	return checks
}

// healthFunc is a health handler as the function a route's chain calls:
// its answer becomes a response value.
func healthFunc(h netio.Handler) vm.Value {
	return vm.BuiltinValue(&vm.Builtin{Name: "health", Pure: true, Fn: func(t *vm.Thread, _ []vm.Value) (vm.Value, error) {
		r := h(t.Context(), nil)
		return vm.HostValue(&responseValue{status: r.Status, statusSet: true, ctype: r.ContentType, body: r.Body}), nil
	}})
}

// healthHandler answers `health "/path"`: {"status":"ok","uptime":s};
// with checks, the reference's report of each (check_memory, check_db),
// "healthy" with 200, or "unhealthy" (a check failed) with 503: an
// orchestrator's probe reads the status, not the body (the reference
// answers 200 either way, and a server whose database was down passed
// its readiness probe).
func (s *Server) healthHandler(checks []string, rt bytecode.Route) netio.Handler {
	for _, c := range checks {
		if c != "check_memory" && c != "check_db" {
			s.log.Warn().Str("check", c).Strs("known", []string{"check_memory", "check_db"}).Str("at", s.at(rt.Pos)).
				Msg("unknown health check: it is left out of the report")
		}
	}
	if len(checks) == 0 {
		return func(ctx context.Context, req *netio.Request) *netio.Response {
			up := float64(time.Since(s.started)) / 1e9 // (not Seconds(): its sum shows float noise)
			body := `{"status":"ok","uptime":` + strconv.FormatFloat(up, 'f', -1, 64) + `}`
			return netio.JSON(200, []byte(body))
		}
	}
	return func(ctx context.Context, req *netio.Request) *netio.Response {
		o, report := vm.NewObject(), vm.NewObject()
		status := "healthy"
		for _, c := range checks {
			switch c {
			case "check_memory":
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				m := vm.NewObject()
				m.Set("status", vm.Str("ok"))
				m.Set("heapUsed", vm.Int(int64(ms.HeapAlloc)))
				// the heap the process holds (what it has given back to
				// the system left out), and its resident set as the
				// system counts it (Go's Sys counts what it reserved)
				m.Set("heapTotal", vm.Int(int64(ms.HeapSys-ms.HeapReleased)))
				m.Set("rss", vm.Int(residentBytes(int64(ms.Sys-ms.HeapReleased))))
				report.Set("memory", vm.ObjectValue(m))
			case "check_db":
				d := vm.NewObject()
				pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				configured, err := store.Ping(pctx, s.inst)
				cancel()
				switch {
				case !configured:
					d.Set("status", vm.Str("skipped"))
					d.Set("reason", vm.Str("the program uses no database"))
				case err != nil:
					status = "unhealthy"
					d.Set("status", vm.Str("error"))
					d.Set("error", vm.Str(err.Error()))
				default:
					d.Set("status", vm.Str("ok"))
				}
				report.Set("db", vm.ObjectValue(d))
			}
		}
		up := vm.NewObject()
		up.Set("seconds", vm.Float(float64(time.Since(s.started))/1e9))
		report.Set("uptime", vm.ObjectValue(up))
		o.Set("status", vm.Str(status))
		o.Set("checks", vm.ObjectValue(report))
		o.Set("timestamp", vm.Str(time.Now().UTC().Format("2006-01-02T15:04:05.000Z")))
		b, err := stdlib.AppendJSON(nil, nil, vm.ObjectValue(o))
		if err != nil {
			return netio.Text(500, err.Error())
		}
		if status != "healthy" {
			return netio.JSON(503, b)
		}
		return netio.JSON(200, b)
	}
}

// residentBytes is the process's resident set size (/proc/self/statm's
// second field, in pages), or else, where there is none, def.
func residentBytes(def int64) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return def
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return def
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return def
	}
	return pages * int64(os.Getpagesize())
}

// middlewareFor returns the middleware that applies to a route: the
// server's, and those of the routes groups the route is declared in
// (bytecode.Hook.Scope), outermost first: the server's, in the order
// they are declared, then each group's, as the reference runs its one
// chain of the server's middleware before a group's. (In the order
// written, a server's middleware declared after a group, an
// authentication that set req.user, ran inside the group's, which
// found no user.)
func (s *Server) middlewareFor(rt bytecode.Route) []middleware {
	var out []middleware
	for _, m := range s.middleware {
		if bytecode.InScope(rt.Scope, m.scope) {
			out = append(out, m)
		}
	}
	// The scopes that hold a route are a chain: the longer, the deeper.
	slices.SortStableFunc(out, func(a, b middleware) int { return cmp.Compare(len(a.scope), len(b.scope)) })
	return out
}

// onErrorFor returns the on_error hook of a route: the one of the
// innermost group the route is declared in (the last declared, at one
// level), or the server's, or nil.
func (s *Server) onErrorFor(rt bytecode.Route) vm.Value {
	fn, depth := vm.Nil, -1
	for _, m := range s.onErrors {
		// The scopes that hold a route are a chain: the longer, the deeper.
		if d := len(m.scope); bytecode.InScope(rt.Scope, m.scope) && d >= depth {
			fn, depth = m.fn, d
		}
	}
	return fn
}

// exchange is one request being served on a VM thread. It is allocated
// in one block with the res object, its box, the response and a small
// body buffer; the req object is made only when Tova code can see it
// (a handler, middleware, guard or on_error that takes it). Tova code
// that keeps req or res keeps their block alive.
type exchange struct {
	s       *Server
	th      *vm.Thread
	in      *netio.Request // the front end's request, valid until the handler returns (or Release)
	id      string         // the request id until req exists
	req     *reqObject     // nil until reqValue
	reqV    vm.Value
	res     *resObject
	resV    vm.Value
	mws     []middleware
	fn      vm.Value
	guards  []vm.Value
	site    *vm.StackFrame // the route's declaration
	body    string         // the route's `body: Type`, "" when none
	onError vm.Value       // the route's on_error hook, or nil
	health  bool           // the route is a health "/path": never cache { default }
	gateway bool           // the route's own deadline (with timeout) cuts it: 504, not 503
	// finishing: res.on_finish was called, and Server.finishing counts
	// this request until its callbacks have run
	finishing bool
	// handlerRan: the handler was called; hookHeaders: what res's headers
	// were then (hooks' and guards'), which on_error answers with (zero,
	// as the whole block, for each request: see takeExchange)
	handlerRan bool
	// failedIn names the middleware or guard whose own code failed ("" for
	// the handler), for the error's log line; restErr is the last failure
	// a next(req) passed up, which a (req, next) middleware that lets it
	// through did not make
	failedIn string
	restErr  error
	// onErrorAnswered: on_error answered the failure; what it set in
	// the session is saved.
	onErrorAnswered bool
	hookHeaders     netio.Headers
	// replay is the answer start gave in place of the chain's (an
	// Idempotency-Key's: idempotency.go); claim is the request's hold on
	// its Idempotency-Key while the chain runs
	replay *netio.Response
	claim  *idemClaim
	// held is what the transaction of the request of this process that
	// made this call holds (heldHeader), when holds is set
	held  store.Held
	holds bool

	resObj   resObject
	resRef   vm.HostRef
	resp     netio.Response
	respUsed bool
	bufUsed  bool
	exposed  bool // res (or the exchange) was handed to Tova code
	// kept: something of the request (req, a parameter, the body, an
	// Idempotency-Key) reached Tova code or a store, which may keep it
	// past the request; unset, the front end may reuse the request's
	// memory (netio.Response.RequestFree)
	kept bool
	// fresh is the object the handler made and returned, which nothing
	// else holds (vm.ReturnsFreshObject): once encoded, the thread
	// reuses it (vm.Thread.Reclaim)
	fresh vm.Value
	buf   [96]byte
}

// takeExchange returns a block for req: the one the connection's
// previous request left in req.Local (see Release), else a new one.
func takeExchange(req *netio.Request) *exchange {
	if x, ok := req.Local.(*exchange); ok {
		req.Local = nil
		return x
	}
	return new(exchange)
}

// Release implements netio.Releaser: the front end has copied the
// response out of the block. The block is recycled only if no Tova code
// saw it; it goes back into the Request it served, which the front end
// recycles for the connection's next request: a block that stays with
// its connection stays in the cache of the CPU serving it.
func (x *exchange) Release() {
	in := x.in
	*x = exchange{}
	in.Local = x
}

// CallerHolds implements store.CallerHolder: the database that the
// transaction of the request calling this server holds, if any.
func (x *exchange) CallerHolds() (store.Held, bool) { return x.held, x.holds }

// resValue returns res for Tova code; the block is then never recycled.
func (x *exchange) resValue() vm.Value {
	x.exposed = true
	return x.resV
}

// reqBox is a req object with its box, in one allocation.
type reqBox struct {
	obj reqObject
	ref vm.HostRef
}

// reqValue returns req for Tova code, making it on first use.
func (x *exchange) reqValue() vm.Value {
	if x.req == nil {
		x.kept = true
		b := new(reqBox)
		b.obj.init(x.in)
		b.obj.sessions = x.s.sessions
		b.obj.uploads, b.obj.auth, b.obj.proxies, b.obj.csrf = x.s.uploads, x.s.auth, x.s.proxies, x.s.csrf
		b.obj.th = x.th
		b.ref.H = &b.obj
		x.req, x.reqV = &b.obj, vm.HostRefValue(&b.ref)
	}
	return x.reqV
}

// request returns the req object, making it on first use.
func (x *exchange) request() *reqObject {
	x.reqValue()
	return x.req
}

// current returns the request being served: req's (a middleware may have
// passed on another one) or the front end's.
func (x *exchange) current() *netio.Request {
	if x.req != nil {
		return x.req.r
	}
	return x.in
}

// requestID returns the request id, as Tova code last set it.
func (x *exchange) requestID() string {
	if x.req != nil {
		return x.req.id
	}
	return x.id
}

// response returns the exchange's own Response the first time, a new one
// after that.
func (x *exchange) response() *netio.Response {
	if x.respUsed {
		return new(netio.Response)
	}
	x.respUsed = true
	return &x.resp
}

// healthRoute reports whether rt is a health check: a `health "/path"`
// declaration, or a GET route at one of the paths orchestrators probe
// (/health, /healthz, /livez, /readyz, /ready, /ping), as the guide
// writes its own (`route GET "/health" => health`). A health check is
// not rate-limited and takes no cache { default }: a probe must see the
// present state, every time.
func healthRoute(rt bytecode.Route) bool {
	if rt.Kind == "health" {
		return true
	}
	if rt.Method != "GET" {
		return false
	}
	switch strings.TrimSuffix(rt.Path, "/") {
	case "/health", "/healthz", "/livez", "/readyz", "/ready", "/ping":
		return true
	}
	return false
}

// routeHandler is the handler of a route; timeout is its own deadline
// (with timeout(ms)), 0 for the server's.
func (s *Server) routeHandler(rt bytecode.Route, fn vm.Value, guards []vm.Value, timeout time.Duration) netio.Handler {
	// Cut at its own deadline, the route answers 504 (netio's answer),
	// and on_finish is told so.
	gateway := timeout > 0 && timeout < s.timeout
	mws := s.middlewareFor(rt)
	site := &vm.StackFrame{Func: "route " + rt.Method + " " + rt.Path, File: s.fileName(), Line: int(rt.Pos.Line), Col: int(rt.Pos.Col)}
	// A route whose whole chain can touch no shared mutable state runs
	// without the server's GIL, in parallel with everything else.
	onError := s.onErrorFor(rt)
	isolated := s.inst.Isolated(fn) && s.inst.Isolated(onError)
	for _, m := range mws {
		isolated = isolated && s.inst.Isolated(m.fn)
	}
	for _, g := range guards {
		isolated = isolated && s.inst.Isolated(g)
	}
	health := healthRoute(rt)
	if s.limit != nil && !s.limit.key.IsNil() && !health {
		isolated = isolated && s.inst.Isolated(s.limit.key)
	}
	return func(ctx context.Context, req *netio.Request) *netio.Response {
		th := s.inst.NewThread(ctx)
		if !isolated {
			req.Waiting()
			th.Enter()
			if !req.Begin() {
				// Answered meanwhile as never run (its deadline passed,
				// or the server stopped): so it is.
				th.Leave()
				th.Release()
				return nil
			}
		}
		var x *exchange
		defer func() {
			if x != nil && x.req != nil {
				x.req.th = nil // its request no longer runs (decodeBody)
			}
			th.Leave()
			th.Release()
			if c := x.claim; c != nil {
				c.release() // the chain panicked: the key is free again
			}
		}()
		x = takeExchange(req)
		th.Host = x // a peer call made on th carries this request's id (peercall.go)
		x.s, x.th, x.in, x.id, x.mws, x.fn, x.guards, x.site, x.body, x.onError = s, th, req, req.ID, mws, fn, guards, site, rt.BodyType, onError
		x.health, x.gateway = health, gateway
		x.resObj.status, x.resObj.ex = 200, x
		x.res = &x.resObj
		x.resRef.H = x.res
		x.resV = vm.HostRefValue(&x.resRef)
		v, err := x.start()
		resp := x.replay
		if resp == nil {
			resp = x.respond(v, err)
			if x.req != nil && x.req.sess != nil {
				resp = x.saveSession(resp)
			}
			if x.req != nil && x.req.csrfNew != "" {
				// (the cookie req.csrf_token's form token is bound to)
				resp.Headers = append(slices.Clip(resp.Headers), netio.Header{Name: "Set-Cookie", Value: x.req.csrfSetCookie()})
			}
			if len(x.res.finish) > 0 {
				resp.AfterWrite = x.finish
				if gateway {
					resp.CutStatus = 504 // netio's answer at the route's deadline
				}
			}
		}
		if c := x.claim; c != nil {
			x.claim = nil
			c.settle(resp, err != nil && !dbUnreached(err))
		}
		if id := x.requestID(); id != x.id {
			resp.RequestID = id
		}
		if x.req != nil {
			x.req.r.DetachID() // the front end may reuse the request's memory
		}
		x.th = nil
		if !x.exposed && resp == &x.resp && resp.AfterWrite == nil && resp.Failure == nil {
			resp.Release = x // x.in is where Release puts the block back
			// Nothing of the request reached Tova code or a store: the
			// front end may use its memory for the next one.
			resp.RequestFree = !x.kept && err == nil
			if err == nil {
				// The handler's object (if it made one: v itself, as no
				// middleware ran) is encoded and kept nowhere: the answer
				// holds its bytes.
				th.Reclaim(x.fresh)
			}
		} else {
			x.in = nil // recycled by the front end
		}
		return resp
	}
}

// start runs the server's rate limit (not for a health route, which
// infrastructure polls), its CSRF check (csrf.go) and the
// Idempotency-Key lookup (idempotency.go: a replay is x.replay), then
// the chain.
func (x *exchange) start() (vm.Value, error) {
	if l := x.s.limit; l != nil && !x.health {
		if v, err := x.limited(l); err != nil || !v.IsNil() {
			return v, err
		}
	}
	if g := x.s.csrf; g != nil {
		if r := x.current(); !csrfExempt(r, x.s.rpcPaths) && !g.valid(r.Header(csrfHeader)) && !g.validForm(r) && !credentialed(x.s.auth, r) {
			if a := x.s.auth; a != nil && slices.ContainsFunc(x.guards, credentialGuard) {
				// The route's guard refuses the request for its
				// credentials, and nothing runs: its 401 says what is
				// wrong (an expired token's client renews it on a 401;
				// a 403 about CSRF told it nothing).
				_, why := a.authenticate(r)
				return a.unauthorized(x.requestID(), why), nil
			}
			why := g.formRefusal(r)
			l := x.s.log.Warn().Str("request_id", x.requestID()).Str("method", r.Method).Str("path", r.Path)
			if why != "" {
				l = l.Str("why", why)
			}
			l.Msg("CSRF validation failed: no valid X-Tova-CSRF token (GET /csrf-token gives one) or form _csrf token")
			return csrfRefused(x.requestID(), why), nil
		}
	}
	if x.replay, x.claim = x.s.idem.begin(x.current(), x.requestID()); x.replay != nil || x.claim != nil {
		x.kept = true // the store holds its Idempotency-Key
		if x.replay != nil {
			// The route's own with rate_limit(...) counts a replay
			// too, as the server's block does (the chain, where it
			// runs, does not run for one)
			for _, g := range x.guards {
				if g.Kind() == vm.KBuiltin && g.AsBuiltin().Name == "rate_limit" {
					if v, err := x.th.Call(g, x.reqValue(), x.resValue()); err != nil || !v.IsNil() {
						x.replay = nil
						return v, err
					}
				}
			}
			return vm.Nil, nil
		}
	}
	return x.chain(0)
}

// chain runs middleware i and everything after it; the result is the
// Tova response value.
func (x *exchange) chain(i int) (vm.Value, error) {
	if i == len(x.mws) {
		return x.invoke()
	}
	m := x.mws[i]
	if m.next {
		v, err := x.th.Call(m.fn, x.reqValue(), x.nextValue(func() (vm.Value, error) { return x.chain(i + 1) }))
		x.noteFailure("middleware", m.fn, err)
		return v, err
	}
	v, err := x.th.Call(m.fn, x.reqValue(), x.resValue())
	if err != nil {
		x.noteFailure("middleware", m.fn, err)
		return vm.Nil, err
	}
	if x.answered(v) {
		return v, nil
	}
	if r, ok := x.refusal(); ok {
		return r, nil
	}
	return x.chain(i + 1)
}

// nextValue is the next function a (req, next) middleware or guard is
// given: next(req) runs rest, what comes after it, and returns its
// answer as a response value.
func (x *exchange) nextValue(rest func() (vm.Value, error)) vm.Value {
	x.exposed = true // next holds the exchange
	return vm.BuiltinValue(&vm.Builtin{Name: "next", Fn: func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		if x.th == nil || t != x.th {
			// A next kept past its request (in server state, for
			// another request, or in on_finish): it ran the other
			// request's exchange on that request's thread, or failed
			// on a Go nil pointer once its request had ended.
			return vm.Nil, vm.TypeErrorf("next can be called only while its own request is being served: this one's request has ended, or it is another request's")
		}
		if len(args) > 0 {
			if q, ok := args[0].AsHostOK().(*reqObject); ok {
				x.req, x.reqV = q, args[0]
			}
		}
		// The rest of the chain's status and headers move into the
		// value next returns; res keeps what hooks before it set, so
		// that a plain value the middleware returns instead is sent
		// as without the handler (not with its 404, or its 302 with
		// no Location), with the hooks' headers and cookies, and
		// next's value, returned, takes those as it would have.
		status, set, headers := x.res.status, x.res.statusSet, x.res.headers
		x.res.headers = nil
		v, err := x.asResponseValue(rest())
		if err != nil {
			x.restErr = err
			// A failure goes on to on_error, whose answer keeps the
			// headers hooks set, these included (see runOnError).
			// So does a plain value the middleware returns if it
			// catches the failure: not the failed handler's.
			if x.handlerRan {
				x.hookHeaders = append(slices.Clip(headers), x.hookHeaders...)
				x.res.headers = slices.Clone(x.hookHeaders)
			} else {
				x.res.headers = append(slices.Clip(headers), x.res.headers...)
			}
			// Nor its body or status: a res.json before the failure
			// went out with 200 in place of the middleware's answer.
			x.res.jsonSet, x.res.json, x.res.bodySet, x.res.bodyText, x.res.ctype = false, vm.Nil, false, nil, ""
			x.res.status, x.res.statusSet = status, set
			return v, err
		}
		x.res.status, x.res.statusSet, x.res.headers = status, set, headers
		return v, err
	}})
}

// answered reports whether a hook or guard's result v answers the
// request: a response value, or a body given through res.json or
// res.send (as `res.status(401); res.json({...})` refuses a request).
func (x *exchange) answered(v vm.Value) bool {
	_, ok := asResponse(v)
	return ok || x.res.jsonSet || x.res.bodySet
}

// refusal is the answer of a hook or guard that set res.status to 400 or
// more and gave no body (`res.status(401)`): the request is refused with
// that status, the runtime's error body and the headers res holds, as a
// guard's false is with 403, rather than the handler running and its
// body going out under an error status.
func (x *exchange) refusal() (vm.Value, bool) {
	st := x.res.status
	if st < 400 {
		return vm.Nil, false
	}
	text, code := http.StatusText(st), "ERROR"
	if text == "" {
		text = "Error"
	} else {
		code = strings.ToUpper(strings.Map(func(r rune) rune {
			switch {
			case r == ' ' || r == '-':
				return '_'
			case r < 'A' || r > 'z' || (r > 'Z' && r < 'a'):
				return -1 // "I'm a teapot": IM_A_TEAPOT
			}
			return r
		}, text))
	}
	r := errorResponse(st, code, text, x.requestID(), nil)
	return vm.HostValue(&responseValue{status: st, statusSet: true, ctype: r.ContentType, body: r.Body}), true
}

// asResponseValue is what next(req) gives a (req, next) middleware: the
// rest of the chain's answer as a response value (status, headers, body)
// whatever way the handler gave it, its client errors (a guard's 403, a
// parameter's 400) included. What res held moves into the value, so
// that the middleware's own return decides the answer; a failure of the
// handler is raised to the middleware.
func (x *exchange) asResponseValue(v vm.Value, err error) (vm.Value, error) {
	var he *httpError
	if errors.As(err, &he) {
		x.res.status = he.status
		r := errorResponse(he.status, he.code, he.message, x.requestID(), he.details)
		return vm.HostValue(&responseValue{status: r.Status, statusSet: true, ctype: r.ContentType, body: r.Body}), nil
	}
	if err != nil {
		return vm.Nil, err
	}
	rs := x.res
	out := &responseValue{status: rs.status, statusSet: rs.statusSet}
	r, returned := asResponse(v)
	returned = returned && !rs.jsonSet
	if returned {
		out = r.clone()
		if !r.statusSet && rs.statusSet {
			out.status, out.statusSet = rs.status, true
		}
	} else {
		switch {
		case rs.bodySet && !rs.jsonSet:
			out.ctype, out.body = rs.ctype, rs.bodyText
		case rs.jsonSet || v.AsHostOK() != rs:
			if rs.jsonSet {
				v = rs.json // rs is cleared below
			}
			if text, ok := setText(rs.headers, v); ok {
				out.body = text // its Content-Type comes with rs.headers
				break
			}
			out.ctype, out.jsonBody = "application/json", &v
		}
	}
	out.headers, out.ctype = mergeResHeaders(out.headers, out.ctype, returned, rs.headers)
	rs.jsonSet, rs.json, rs.bodySet, rs.bodyText, rs.ctype, rs.headers = false, vm.Nil, false, nil, "", nil
	return vm.HostValue(out), nil
}

// invoke runs the route's guards and handler.
func (x *exchange) invoke() (vm.Value, error) {
	if err := x.checkUploads(); err != nil {
		return vm.Nil, err
	}
	return x.guarded(0)
}

// guarded runs guards i on, then the handler. A guard written as the
// reference's docs write one, (req, next), is given next, which runs
// the rest and returns its answer, as a (req, next) middleware's.
func (x *exchange) guarded(i int) (vm.Value, error) {
	for ; i < len(x.guards); i++ {
		g := x.guards[i]
		if takesNext(g) {
			return x.nextGuard(g, i+1)
		}
		v, err := x.th.Call(g, x.reqValue(), x.resValue())
		if err != nil {
			x.noteFailure("guard", g, err)
			return vm.Nil, err
		}
		if x.answered(v) {
			return v, nil
		}
		if r, ok := x.refusal(); ok {
			return r, nil
		}
		if v.Kind() == vm.KBool && !v.AsBool() {
			return vm.Nil, &httpError{status: 403, code: "FORBIDDEN", message: "Forbidden"}
		}
		switch vm.VariantOf(v) {
		case vm.ErrType, vm.NoneType:
			// A check's failure in the language's words: it let the
			// request through, as any value but false did.
			return vm.Nil, &httpError{status: 403, code: "FORBIDDEN", message: "Forbidden"}
		}
	}
	return x.handle()
}

// nextGuard runs guard g of the (req, next) shape, next running guards
// rest on and the handler. (Apart from guarded, whose every call would
// otherwise keep its loop's index on the heap for next's closure.)
func (x *exchange) nextGuard(g vm.Value, rest int) (vm.Value, error) {
	called := false
	v, err := x.th.Call(g, x.reqValue(), x.nextValue(func() (vm.Value, error) {
		called = true
		return x.guarded(rest)
	}))
	x.noteFailure("guard", g, err)
	if err != nil || called {
		// the handler ran: what the guard returns is the answer
		return v, err
	}
	switch vm.VariantOf(v) {
	case vm.ErrType, vm.NoneType:
		// refused in the language's words, as from a (req, res) guard
		return vm.Nil, &httpError{status: 403, code: "FORBIDDEN", message: "Forbidden"}
	}
	switch {
	case v.Kind() != vm.KBool:
		// not a check's answer: the guard's own response value
		return v, nil
	case !v.AsBool():
		// false refuses, whatever the guard's shape
		return vm.Nil, &httpError{status: 403, code: "FORBIDDEN", message: "Forbidden"}
	}
	// true lets the request through, as from a (req, res) guard
	return x.guarded(rest)
}

// noteFailure records which code failed, for failure's log line, when
// kind fn (a middleware or guard) ended with err: fn itself when err is
// not what its next(req) passed up from the rest of the chain, which
// is named already. An fn that ends well (having caught that) leaves
// nothing to name.
func (x *exchange) noteFailure(kind string, fn vm.Value, err error) {
	switch {
	case err == nil:
		x.failedIn = ""
	case x.restErr == nil || err != x.restErr:
		x.failedIn = kind + " " + funcLabel(fn)
	}
	x.restErr = nil
}

// funcLabel names a function for a log line: its name, or where a
// lambda is declared.
func funcLabel(fn vm.Value) string {
	switch fn.Kind() {
	case vm.KBuiltin:
		return fn.AsBuiltin().Name
	case vm.KFunc:
	default:
		return ""
	}
	c := fn.AsClosure()
	if name := c.Name(); name != "<lambda>" {
		return name
	}
	d := c.Decl()
	return fmt.Sprintf("at %s:%d:%d", d.File, d.Line, d.Col)
}

// takesNext reports whether guard g is a function whose second
// parameter is named next: the (req, next) shape.
func takesNext(g vm.Value) bool {
	if g.Kind() != vm.KFunc {
		return false
	}
	ps := g.AsClosure().ParamNames()
	return len(ps) >= 2 && ps[1] == "next"
}

// handle runs the route's handler, its body type checked first.
func (x *exchange) handle() (vm.Value, error) {
	if x.body != "" {
		// body: Type: the body must be one; it reads as the typed value.
		q := x.request()
		body, err := q.currentBody()
		if err != nil {
			return vm.Nil, err
		}
		// body: Option<U> (or U?): no body is None, one is Some(U), as
		// a parameter of that type (it was checked as a U alone).
		optional := strings.HasPrefix(x.body, "Option<")
		if optional {
			body = optionJSON(body)
		}
		if optional && body.IsNil() {
			q.setBody(vm.None)
		} else {
			v, msg := x.s.convert("body", body, x.body, isFormType(x.current().ContentType))
			if msg != "" {
				return vm.Nil, validationError(msg)
			}
			if optional {
				v = vm.Some(v)
			}
			q.setBody(v)
		}
	}
	x.handlerRan = true
	if n := len(x.res.headers); n > 0 {
		// A view, not a copy: setHeader copies the headers before it
		// changes one of these in place (resObject.shared).
		x.hookHeaders, x.res.shared = x.res.headers[:n:n], true
	}
	fn := x.fn
	if fn.Kind() != vm.KFunc {
		x.kept = true // a builtin handler reads the request as it likes
		return x.th.Call(fn)
	}
	cl := fn.AsClosure()
	params, types := cl.ParamNames(), cl.ParamTypes()
	names := make([]string, 0, len(params))
	vals := make([]vm.Value, 0, len(params))
	var bad []string
	for i, p := range params {
		typ := ""
		if i < len(types) {
			typ = types[i]
		}
		switch p {
		case "req", "request":
			names, vals = append(names, p), append(vals, x.reqValue())
			continue
		case "res", "response":
			names, vals = append(names, p), append(vals, x.resValue())
			continue
		case "_":
			continue
		}
		raw, found, fromJSON, err := x.lookupParam(p, typ)
		if err != nil {
			return vm.Nil, err
		}
		if found && raw.Kind() == vm.KString && blank(raw.AsString()) && (emptyIsMissing(typ) || x.s.jsonInQuery(typ)) {
			// `?limit=` (a form's empty field) gives a number, a Bool
			// or a record no value: the default applies, or it is
			// required.
			found = false
		}
		if found && raw.Kind() == vm.KString && strings.TrimSpace(raw.AsString()) == "null" && x.s.jsonInQuery(typ) {
			raw = vm.Nil // a record's JSON text in the query, null: as in a JSON body
		}
		if found && raw.Kind() == vm.KArray && isListType(typ) && emptyIsMissing(listElem(typ)) {
			// The same for each value of a list of them (`?ids=`,
			// `?ids=1&ids=`): a list of none is none.
			raw, found = withoutEmpty(raw)
		}
		optional := strings.HasPrefix(typ, "Option<")
		if optional && found {
			raw = optionJSON(raw)
		}
		if !found || raw.IsNil() && typ != "" {
			// Missing, or a JSON null given for a typed parameter.
			switch {
			case cl.HasDefault(i):
				continue
			case optional:
				names, vals = append(names, p), append(vals, vm.None)
			case typ != "":
				bad = append(bad, p+" is required")
			default:
				names, vals = append(names, p), append(vals, vm.Nil)
			}
			continue
		}
		v, msg := x.s.convert(p, raw, typ, !fromJSON)
		if msg != "" {
			bad = append(bad, msg)
			continue
		}
		if takesFiles(typ) {
			if err := checkDefaultSize(x.s.uploads, p, fileParts(v)); err != nil {
				return vm.Nil, err
			}
		}
		if optional {
			v = vm.Some(v) // Option<T>: Some(value) when given, else None
		}
		names, vals = append(names, p), append(vals, v)
	}
	if len(bad) > 0 {
		return vm.Nil, validationError(bad...)
	}
	v, err := x.th.CallKW(fn, nil, names, vals)
	if _, gen := v.AsHostOK().(*vm.Generator); gen && err == nil {
		// A generator handler's body runs as its values are taken: taken
		// here, while it is the handler, so that what it does to res
		// (res.status(201), res.json(v)) counts; it was read before.
		var xs []vm.Value
		if xs, err = stdlib.Elems(x.th, "the handler's generator", v, stdlib.MaxAnswerSequence); err == nil {
			v = vm.NewArray(xs)
		} else {
			err = x.atRoute(err) // (it said no where)
		}
	}
	if err == nil && len(x.mws) == 0 && vm.ReturnsFreshObject(fn) {
		x.fresh = v // the handler's own object, which no middleware sees
	}
	return v, err
}

// lookupParam finds a handler parameter: path parameter, then query
// value, then JSON body field (Decision 7); fromJSON says it came from
// a JSON body (not text: a string there says which member of a union
// it is).
// A list parameter gets every value of a repeated query key (a path
// parameter, a list of one).
func (x *exchange) lookupParam(name, typ string) (v vm.Value, found, fromJSON bool, err error) {
	x.kept = true // the value may be the request's own bytes
	list := isListType(typ)
	r := x.current()
	for _, p := range r.Params {
		if p.Name == name {
			if list {
				return vm.NewArray([]vm.Value{vm.Str(p.Value)}), true, false, nil
			}
			return vm.Str(p.Value), true, false, nil
		}
	}
	if name == "params" {
		v, _, _ := x.request().GetAttr(x.th, "params")
		return v, true, false, nil
	}
	if vs, ok := r.Query()[name]; ok && len(vs) > 0 && !emptyValues(vs, typ) {
		if list {
			return vm.NewArray(strValues(vs)), true, false, nil
		}
		return vm.Str(vs[0]), true, false, nil
	}
	body, err := x.request().currentBody()
	if err != nil {
		return vm.Nil, false, false, err // a malformed body: 400
	}
	if inner, ok := vm.OptionValue(body); ok {
		// body: T? made it Some(record): its fields are the body's
		// (they were looked for on the Some, and every one was nil)
		body = inner
	}
	if body.Kind() == vm.KObject {
		if v, ok := body.AsObject().Get(name); ok {
			if typ != "" && isFormType(r.ContentType) {
				switch {
				case !list && v.Kind() == vm.KArray && !takesFiles(typ):
					// A key repeated in a form: a typed parameter takes
					// its first value, as from a query string. (A File
					// takes one file: several are refused.)
					if e := v.AsArray().Elems; len(e) > 0 {
						v = e[0]
					}
				case list && (v.Kind() == vm.KString || stdlib.AsFile(v) != nil):
					// A key given once in a form (one box ticked, one
					// file): a list parameter takes a list of that
					// value, as from a query string.
					v = vm.NewArray([]vm.Value{v})
				}
			}
			return v, true, !isFormType(r.ContentType), nil
		}
	}
	return vm.Nil, false, false, nil
}

// emptyValues reports whether a query's values for a parameter of type
// typ are none (`?limit=` for an Int): the parameter is then looked for
// in the body, as if the query did not name it.
func emptyValues(vs []string, typ string) bool {
	elem := typ
	if isListType(typ) {
		elem = listElem(typ)
	} else {
		vs = vs[:1]
	}
	if !emptyIsMissing(elem) {
		return false
	}
	for _, v := range vs {
		if !blank(v) {
			return false
		}
	}
	return true
}

// blank reports whether a text value is empty once its surrounding
// spaces, which a typed value ignores, are gone (`?age=+`).
func blank(s string) bool {
	return strings.TrimSpace(s) == ""
}

// emptyIsMissing reports whether an empty text value of a parameter of
// type typ counts as none: for Int, Float, Bool, Date, Duration and Size
// (maybe in Option<…>), which no empty text is; a String may be empty.
func emptyIsMissing(typ string) bool {
	if inner, ok := strings.CutPrefix(typ, "Option<"); ok {
		typ = strings.TrimSuffix(inner, ">")
	}
	switch typ {
	case "Int", "Float", "Bool", "Date", "Duration", "Size", "Number":
		return true
	}
	if members, ok := vm.TypeArgs(typ, "|"); ok {
		// a union of such types (Int | Float; Nil | Int): none takes
		// an empty text either
		for _, m := range members {
			if m != "Nil" && !emptyIsMissing(m) {
				return false
			}
		}
		return true
	}
	return false
}

// listElem is the element type of a list type [T] (maybe inside
// Option<…>).
func listElem(typ string) string {
	return strings.TrimSuffix(strings.TrimPrefix(strings.TrimSuffix(strings.TrimPrefix(typ, "Option<"), ">"), "["), "]")
}

// withoutEmpty drops the empty Strings of list; found is false if only
// empty ones were there (a list given empty, as JSON [], stays found).
func withoutEmpty(list vm.Value) (v vm.Value, found bool) {
	in := list.AsArray().Elems
	out := make([]vm.Value, 0, len(in))
	for _, e := range in {
		if e.Kind() != vm.KString || !blank(e.AsString()) {
			out = append(out, e)
		}
	}
	if len(out) == len(in) {
		return list, true
	}
	return vm.NewArray(out), len(out) > 0
}

// optionJSON reads what the runtime writes for an Option, as the value
// it holds: `{"value": x}` is x (Some), `{"__tag": "None"}` nil (None),
// as T.from_json reads them, so that a route takes back the record it
// answered (GET, edit, PUT); an Option value is read the same way; any
// other value is itself.
func optionJSON(v vm.Value) vm.Value {
	if v.Kind() != vm.KObject {
		return v
	}
	o := v.AsObject()
	if o.Type != nil {
		x, _ := vm.OptionValue(v)
		return x
	}
	if o.Len() != 1 {
		return v
	}
	if x, ok := o.Get("value"); ok {
		return x
	}
	if tag, ok := o.Get("__tag"); ok && tag.Kind() == vm.KString && tag.AsString() == "None" {
		return vm.Nil
	}
	return v
}

// isListType reports whether typ (maybe inside Option<…>) is a list
// type [T].
func isListType(typ string) bool {
	typ = strings.TrimPrefix(typ, "Option<")
	return strings.HasPrefix(typ, "[") || typ == "List" || typ == "List>"
}

// convertParam converts parameter name, a value as JSON gives it (a
// job's argument, another server's), to its annotated type; the
// message, naming the parameter (or its element), is non-empty when the
// value does not fit.
func (s *Server) convertParam(name string, v vm.Value, typ string) (vm.Value, string) {
	return s.convert(name, v, typ, false)
}

// convert is convertParam of a value that is text when text is true (a
// path parameter, a query's or a form's value: its strings may spell
// numbers), else as JSON gives it, whose strings are Strings: "007" to
// Int | String stays "007", in a record's field, a list's element or a
// Map's value as well.
func (s *Server) convert(name string, v vm.Value, typ string, text bool) (vm.Value, string) {
	if inner, ok := strings.CutPrefix(typ, "Option<"); ok {
		typ = strings.TrimSuffix(inner, ">")
	}
	if strings.HasPrefix(typ, "Option<") {
		// An Option in an Option (Option<Option<Int>>): the inner one
		// as a route answers it ({"value": x}, {"__tag":"None"}),
		// converted as its type says (it was taken unchecked).
		x := optionJSON(v)
		if x.IsNil() {
			return vm.None, ""
		}
		c, msg := s.convert(name, x, typ, text)
		if msg != "" {
			return vm.Nil, msg
		}
		return vm.Some(c), ""
	}
	if okType, errType, ok := resultTypeArgs(typ); ok {
		return s.convertResult(name, v, okType, errType)
	}
	if members, ok := vm.TypeArgs(typ, "|"); ok {
		// A union (Int | Float): the first of its types the value
		// converts to, in the order written; a JSON string is the
		// String, though an earlier member would take its text.
		if !text && v.Kind() == vm.KString && slices.Contains(members, "String") {
			return v, ""
		}
		for _, m := range members {
			if m == "Nil" {
				// (Nil takes nil alone; converted, it took anything)
				if v.IsNil() {
					return v, ""
				}
				continue
			}
			if c, msg := s.convert(name, v, m, text); msg == "" {
				return c, ""
			}
		}
		return vm.Nil, name + " must be " + vm.TypeText(strings.Join(members, " or "))
	}
	if args, ok := vm.TypeArgs(typ, "Map"); ok {
		return s.convertMap(name, v, args, text)
	}
	if base, _, ok := strings.Cut(typ, "<"); ok && strings.HasSuffix(typ, ">") && !strings.HasPrefix(typ, "[") {
		// An applied generic type (Box<Int>) is checked as its
		// declaration is (a field of a type parameter's type as it
		// comes): it was not checked at all.
		v, text = queryJSONText(v, text) // (from a query or a form: its JSON text)
		if ti, ftypes := s.rt.prog.RecordType(base); ti != nil {
			return s.convertRecord(name, v, ti, ftypes, text)
		}
		if vs := s.rt.prog.VariantsNamed(base); vs != nil {
			return s.convertVariant(name, v, base, vs, text)
		}
	}
	if ti, ftypes := s.rt.prog.RecordType(typ); ti != nil {
		v, text = queryJSONText(v, text)
		return s.convertRecord(name, v, ti, ftypes, text)
	}
	if vs := s.rt.prog.VariantsNamed(typ); vs != nil {
		// (of every type of the name: which server's the parameter's
		// is, the name does not say)
		return s.convertVariant(name, v, typ, vs, text)
	}
	if elem, ok := strings.CutPrefix(typ, "["); ok {
		elem = strings.TrimSuffix(elem, "]")
		if v.Kind() != vm.KArray {
			return vm.Nil, name + " must be a list"
		}
		in := v.AsArray().Elems
		out := make([]vm.Value, len(in))
		optional := strings.HasPrefix(elem, "Option<")
		for i, e := range in {
			if optional {
				e = optionJSON(e)
			}
			if optional && e.IsNil() {
				out[i] = vm.None // as a record's Option field
				continue
			}
			c, msg := s.convert(name+"["+strconv.Itoa(i)+"]", e, elem, text)
			if msg != "" {
				return vm.Nil, msg
			}
			if optional {
				c = vm.Some(c)
			}
			out[i] = c
		}
		return vm.NewArray(out), ""
	}
	if typ == fileType {
		return convertFile(name, v)
	}
	v, msg := convertScalar(v, typ)
	if msg != "" {
		msg = name + " " + msg
	}
	return v, msg
}

// convertMap checks a Map<K, V>: an object (from a GET's query, its
// JSON text), each of whose values is converted to V and named
// name.key (its keys are text, whatever K says, as a model's Map
// field's are). It was taken as it came: a String, a list.
func (s *Server) convertMap(name string, v vm.Value, args []string, text bool) (vm.Value, string) {
	v, text = queryJSONText(v, text)
	if v.Kind() != vm.KObject || v.AsObject().Type != nil {
		return vm.Nil, name + " must be an object"
	}
	if len(args) != 2 {
		return v, ""
	}
	in := v.AsObject()
	out := vm.NewObject()
	elem := args[1]
	optional := strings.HasPrefix(elem, "Option<") || strings.HasSuffix(elem, "?")
	if optional {
		elem = strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(elem, "Option<"), ">"), "?")
	}
	for i, k := range in.Keys() {
		e := in.Values()[i]
		if optional {
			// (as a list's Option elements: null is None, a value
			// Some(value))
			if e = optionJSON(e); e.IsNil() {
				out.Set(k, vm.None)
				continue
			}
		}
		c, msg := s.convert(name+"."+k, e, elem, text)
		if msg != "" {
			return vm.Nil, msg
		}
		if optional {
			c = vm.Some(c)
		}
		out.Set(k, c)
	}
	return vm.ObjectValue(out), ""
}

// convertRecord makes an object a record of type ti, each field
// converted to its annotation: a missing field is None if its type is
// an Option, nil if it has none, else required. The messages name the
// field as name.field (a body's fields bare).
func (s *Server) convertRecord(name string, v vm.Value, ti *vm.TypeInfo, ftypes []string, text bool) (vm.Value, string) {
	if f := stdlib.AsFile(v); f != nil {
		v = vm.ObjectValue(f.Fields()) // an uploaded file's fields
	}
	if v.Kind() != vm.KObject || v.AsObject().Type != nil && v.AsObject().Type != ti {
		return vm.Nil, name + " must be an object (" + ti.Name + ")"
	}
	o := v.AsObject()
	vals := make([]vm.Value, len(ti.Fields))
	for i, f := range ti.Fields {
		ftype, path := "", f
		if i < len(ftypes) {
			ftype = ftypes[i]
		}
		if name != "body" {
			path = name + "." + f
		}
		fv, _ := o.Get(f)
		if text && ftype != "" {
			// A form's fields, as a parameter's are: an empty one (a
			// number input left empty sends age=) is none, so the
			// default applies; a key given once is a list of one for a
			// list (one box ticked), and a list's empty values are
			// dropped; a key given twice is its first value for any
			// other type.
			list := isListType(ftype)
			if !list && fv.Kind() == vm.KArray && !takesFiles(ftype) {
				if e := fv.AsArray().Elems; len(e) > 0 {
					fv = e[0] // (age=&age=3: the first, empty, is none)
				}
			}
			switch {
			case fv.Kind() == vm.KString && blank(fv.AsString()) && (emptyIsMissing(ftype) || s.jsonInQuery(ftype) || list):
				fv = vm.Nil
			case list && (fv.Kind() == vm.KString || stdlib.AsFile(fv) != nil):
				fv = vm.NewArray([]vm.Value{fv})
			}
			if list && fv.Kind() == vm.KArray && emptyIsMissing(listElem(ftype)) {
				var found bool
				if fv, found = withoutEmpty(fv); !found {
					fv = vm.Nil
				}
			}
		}
		optional := strings.HasPrefix(ftype, "Option<")
		if optional {
			fv = optionJSON(fv)
		}
		if d, ok := ti.Default(i); ok && fv.IsNil() {
			fv = d // as the constructor fills it in (it was "required")
		}
		switch {
		case fv.IsNil() && optional:
			vals[i] = vm.None
		case fv.IsNil() && ftype != "":
			return vm.Nil, path + " is required"
		case ftype == "":
			vals[i] = fv
		default:
			c, msg := s.convert(path, fv, ftype, text)
			if msg != "" {
				return vm.Nil, msg
			}
			if optional {
				c = vm.Some(c)
			}
			vals[i] = c
		}
	}
	return vm.ObjectValue(ti.New(vals)), ""
}

// convertVariant makes a value of the type typ, one with variants vs,
// of what JSON makes of one ({"__tag": "Circle", "r": 2}, as another
// server sends it): a variant of the tag, each field converted to its
// annotation as a record's is (they came as they were: a "x" for
// r: Float failed in the handler, 500); a String names a variant
// without fields (?color=Red).
func (s *Server) convertVariant(name string, v vm.Value, typ string, vs []*vm.TypeInfo, text bool) (vm.Value, string) {
	v, text = queryJSONText(v, text)
	x, msg := convertVariantTag(name, v, typ, vs) // (a query's: its JSON text)
	if msg != "" || x.Kind() != vm.KObject || x.AsObject().Type == nil {
		return x, msg
	}
	ti := x.AsObject().Type
	ftypes := s.rt.prog.VariantFieldTypes(ti)
	if len(ftypes) == 0 {
		return x, ""
	}
	// The fields by name, as a record's: Circle.r, or r in a body.
	o := vm.NewObject()
	for _, f := range ti.Fields {
		fv, _ := x.AsObject().Get(f)
		fv, _ = vm.OptionValue(fv)
		o.Set(f, fv)
	}
	return s.convertRecord(name, vm.ObjectValue(o), ti, ftypes, text)
}

// convertVariantTag finds the variant convertVariant makes, its fields
// as they came.
func convertVariantTag(name string, v vm.Value, typ string, vs []*vm.TypeInfo) (vm.Value, string) {
	if v.Kind() == vm.KString {
		for _, ti := range vs {
			if ti.Tag == v.AsString() && len(ti.Fields) == 0 {
				return vm.ObjectValue(ti.New(nil)), ""
			}
		}
	}
	if v.Kind() == vm.KObject {
		o := v.AsObject()
		if o.Type != nil {
			if slices.Contains(vs, o.Type) {
				return v, "" // one already
			}
		} else if x, ok := vm.VariantOfTagged(vs, o); ok {
			return x, ""
		}
	}
	var tags []string
	for _, ti := range vs {
		if !slices.Contains(tags, ti.Tag) {
			tags = append(tags, ti.Tag)
		}
	}
	return vm.Nil, name + " must be a " + vm.TypeText(typ) + " (" + strings.Join(tags, ", ") + ")"
}

// intRange says an integer does not fit an Int: it is one, so "must be
// an integer" would send its writer looking for a typo.
const intRange = "is out of range for Int (-9223372036854775808 to 9223372036854775807)"

// intInexact says why a whole Float past 2^53 is refused: a Float
// there holds only some of the integers, and the one the client wrote
// (9007199254740993.0) may have been rounded to another on the way.
const intInexact = "is an integer past 2^53 written with a fraction or an exponent, which JSON reads as a Float that may hold another integer: write it as an integer"

// intMinAsFloat says why Int's minimum written as a Float is refused:
// the integers just below it (-9223372036854775809) read as that Float
// too, and taking them for the minimum would change them unseen.
const intMinAsFloat = "is Int's minimum or an integer just below it, which JSON reads as the same Float: write the minimum as the integer -9223372036854775808"

// convertScalar converts a value to Int, Float, Bool, String, Date,
// Duration or Size; any other type is not checked.
func convertScalar(v vm.Value, typ string) (vm.Value, string) {
	switch typ {
	case "Duration":
		// Milliseconds, as JSON.stringify and a call to another server
		// write a Duration, or text as an env Duration is (30s, 1h30m).
		if v.Kind() == vm.KDuration {
			return v, ""
		}
		if v.Kind() == vm.KString {
			text := strings.TrimSpace(v.AsString())
			d, err := vm.ParseDurationText(text) // (2d, as a Duration prints, too)
			if err == nil {
				return vm.Duration(int64(d)), ""
			}
			if schedpattern.DurationText.MatchString(text) || errors.Is(err, vm.ErrDurationRange) {
				return vm.Nil, "is out of range for Duration (about ±292 years)" // (30s or 106752d written, too long for one)
			}
			if _, msg := convertScalar(v, "Int"); msg != "" {
				// milliseconds with a fraction as text (?d=1.5): the
				// number a JSON body gives
				if f, msg := convertScalar(v, "Float"); msg == "" {
					v = f
				}
			}
		}
		if f := v.AsFloat(); v.Kind() == vm.KFloat && f != math.Trunc(f) && math.Abs(f) < 1<<53 {
			// (one of a fraction of a millisecond, 1.5: JSON.stringify
			// writes it so)
			ns := math.Round(f * float64(time.Millisecond))
			if ns >= 1<<63 || ns < -(1<<63) {
				return vm.Nil, "is out of range for Duration (about ±292 years)"
			}
			return vm.Duration(int64(ns)), ""
		}
		if f := v.AsFloat(); v.Kind() == vm.KFloat && math.Abs(f) >= float64(math.MaxInt64/int64(time.Millisecond)) {
			// a whole number past Int's range (?d=1e20, 9.3e18)
			return vm.Nil, "is out of range for Duration (about ±292 years)"
		}
		ms, msg := convertScalar(v, "Int")
		switch {
		case msg != "":
			return vm.Nil, "must be a duration (milliseconds, or text such as 30s)"
		case ms.AsInt() > math.MaxInt64/int64(time.Millisecond) || ms.AsInt() < math.MinInt64/int64(time.Millisecond):
			return vm.Nil, "is out of range for Duration (about ±292 years)"
		}
		return vm.Duration(ms.AsInt() * int64(time.Millisecond)), ""
	case "Size":
		// Bytes, as JSON.stringify and a call to another server write
		// a Size.
		if v.Kind() == vm.KSize {
			return v, ""
		}
		n, msg := convertScalar(v, "Int")
		switch {
		case msg == intRange:
			return vm.Nil, "is out of range for Size (at most 9223372036854775807 bytes)"
		case msg != "":
			return vm.Nil, "must be a size (whole bytes)"
		case n.AsInt() < 0:
			return vm.Nil, "must be a size of 0 bytes or more" // (-5 was -5B)
		}
		return vm.Size(n.AsInt()), ""
	case "Int":
		switch v.Kind() {
		case vm.KInt:
			return v, ""
		case vm.KFloat:
			// (JSON gives an integer past Int's range, or one written
			// with an exponent or a fraction, 1e18, as a Float)
			switch f := v.AsFloat(); {
			case f != math.Trunc(f):
			case f == -(1 << 63):
				return vm.Nil, intMinAsFloat
			case f < -(1<<63) || f >= 1<<63:
				return vm.Nil, intRange
			case math.Abs(f) >= 1<<53:
				return vm.Nil, intInexact
			default:
				return vm.Int(int64(f)), ""
			}
		case vm.KString:
			n, err := strconv.ParseInt(strings.TrimSpace(v.AsString()), 10, 64)
			if err == nil {
				return vm.Int(n), ""
			}
			if errors.Is(err, strconv.ErrRange) {
				return vm.Nil, intRange
			}
		}
		return vm.Nil, "must be an integer"
	case "Float":
		switch v.Kind() {
		case vm.KFloat:
			if f := v.AsFloat(); !math.IsInf(f, 0) && !math.IsNaN(f) {
				return v, ""
			}
		case vm.KInt:
			return vm.Float(float64(v.AsInt())), ""
		case vm.KString:
			// Decimal notation only: strconv also reads hex floats,
			// underscores, Inf and NaN, which no client means.
			if s := strings.TrimSpace(v.AsString()); stdlib.DecimalNumber(s) {
				f, err := strconv.ParseFloat(s, 64)
				if err == nil && !math.IsInf(f, 0) {
					return vm.Float(f), ""
				}
				if errors.Is(err, strconv.ErrRange) && math.IsInf(f, 0) {
					// (1e999: a number, too large for a Float)
					return vm.Nil, "is out of range for Float (at most about 1.8e308)"
				}
			}
		}
		return vm.Nil, "must be a number"
	case "Bool":
		switch v.Kind() {
		case vm.KBool:
			return v, ""
		case vm.KString:
			switch strings.ToLower(strings.TrimSpace(v.AsString())) {
			case "true", "1", "yes", "on":
				return vm.True, ""
			case "false", "0", "no", "off":
				return vm.False, ""
			}
		}
		return vm.Nil, "must be a boolean"
	case "String", "List", "Object":
		if typ == "Object" {
			v = queryJSON(v)
		}
		if want := kindParams[typ]; v.Kind() != want.kind {
			return vm.Nil, want.msg
		}
		return v, ""
	case "Date":
		// ISO 8601 text (as a Date serialises) or, from JSON, Unix
		// milliseconds: what Date.new takes.
		switch v.Kind() {
		case vm.KString:
			text := strings.TrimSpace(v.AsString())
			if tm, ok := stdlib.ParseDate(text); ok {
				return stdlib.DateValue(tm), ""
			}
			if _, ok := stdlib.ParseDate(strings.Replace(text, " ", "+", 1)); ok && strings.Contains(text, ":") {
				// ?day=2026-12-08T01:30:00+05:30 unencoded: the query's +
				// is a space
				return vm.Nil, "must be a date (ISO 8601): its + offset arrived as a space, as a query's or a form's + does; send it as %2B"
			}
		case vm.KInt:
			if tm, ok := stdlib.UnixMilliDate(v.AsInt()); ok {
				return stdlib.DateValue(tm), ""
			}
		case vm.KFloat:
			// JSON has one kind of number: 1.7184444e12 is whole
			// milliseconds too (a fraction of one is dropped, as
			// Date.new drops it).
			if f := v.AsFloat(); math.Abs(f) < 1<<53 {
				if tm, ok := stdlib.UnixMilliDate(int64(f)); ok {
					return stdlib.DateValue(tm), ""
				}
			}
		case vm.KHost:
			if _, ok := v.AsHost().(*stdlib.Date); ok {
				return v, ""
			}
		}
		return vm.Nil, "must be a date (ISO 8601)"
	case "Number":
		// An Int or a Float, as `x is Number` tests: text reads as an
		// Int when it is a whole number in Int's range.
		switch v.Kind() {
		case vm.KInt:
			return v, ""
		case vm.KString:
			if n, msg := convertScalar(v, "Int"); msg == "" {
				return n, ""
			}
		}
		if f, msg := convertScalar(v, "Float"); msg == "" {
			return f, ""
		}
		return vm.Nil, "must be a number"
	case "Function":
		return vm.Nil, "must be a function, which a request cannot send"
	}
	return v, ""
}

// jsonInQuery reports whether a parameter of type typ (maybe in
// Option<…>) is given in a query string as its JSON text: a record
// type, or Object.
func (s *Server) jsonInQuery(typ string) bool {
	if inner, ok := strings.CutPrefix(typ, "Option<"); ok {
		typ = strings.TrimSuffix(inner, ">") // (Box<Int> lost its own ">")
	}
	if _, isMap := vm.TypeArgs(typ, "Map"); isMap || typ == "Object" {
		return true
	}
	if _, _, ok := resultTypeArgs(typ); ok {
		return true
	}
	if base, _, ok := strings.Cut(typ, "<"); ok && strings.HasSuffix(typ, ">") {
		typ = base // an applied generic type (Box<Int>), read as Box is
	}
	ti, _ := s.rt.prog.RecordType(typ)
	return ti != nil || s.rt.prog.VariantsNamed(typ) != nil
}

// queryJSONText is queryJSON of a value that is text when text is
// true, and whether what it gives is still text: the values of JSON it
// read are JSON's.
func queryJSONText(v vm.Value, text bool) (vm.Value, bool) {
	x := queryJSON(v)
	if text && x.Kind() == vm.KObject && v.Kind() == vm.KString {
		return x, false
	}
	return x, text
}

// queryJSON is the object a record or Object parameter given in a
// query string holds: its JSON text (?f={"a":1}), as /openapi.json
// describes it. Any other value is v.
func queryJSON(v vm.Value) vm.Value {
	if v.Kind() == vm.KString && strings.HasPrefix(strings.TrimSpace(v.AsString()), "{") {
		if o, err := stdlib.ParseJSONFiniteString(v.AsString()); err == nil {
			return o
		}
	}
	return v
}

// kindParams are the parameter types a value of one kind passes as it
// is, and what the message says of any other.
var kindParams = map[string]struct {
	kind vm.Kind
	msg  string
}{
	"String": {vm.KString, "must be a string"},
	"List":   {vm.KArray, "must be a list"},
	"Object": {vm.KObject, "must be an object"},
}

// respond turns the handler's result (or failure) into an HTTP response.
func (x *exchange) respond(v vm.Value, err error) *netio.Response {
	if err != nil {
		return x.failure(err)
	}
	resp, err := x.toResponse(v)
	if err != nil {
		return x.failure(x.atRoute(err))
	}
	return resp
}

// atRoute gives an error raised after the handler returned (its result
// could not be encoded) the route's declaration as its stack, so that
// its log line says where the value came from.
func (x *exchange) atRoute(err error) error {
	var ve *vm.Error
	if errors.As(err, &ve) && len(ve.Stack) == 0 && x.site != nil {
		ve.Stack = []vm.StackFrame{*x.site}
	}
	return err
}

// toResponse converts a Tova value: a response value is sent as it is;
// res.json(...) wins over the return value; `res` itself (what
// res.status(n) and res.setHeader return, so often a handler's last
// value) is the response as res built it, with no body unless res.json
// or res.send gave one; anything else is JSON.
func (x *exchange) toResponse(v vm.Value) (*netio.Response, error) {
	rs := x.res
	var out *netio.Response
	r, returned := asResponse(v)
	returned = returned && !rs.jsonSet
	if returned {
		out = x.response()
		*out = netio.Response{Status: r.status, ContentType: r.ctype, Headers: append(netio.Headers(nil), r.headers...), Body: r.body}
		if r.jsonBody != nil {
			b, err := x.encodeJSON(*r.jsonBody)
			if err != nil {
				return nil, err
			}
			out.Body = b
			if out.ContentType == "" {
				out.ContentType = "application/json"
			}
		}
		if !r.statusSet && rs.statusSet {
			out.Status = rs.status
		}
	} else {
		out = x.response()
		*out = netio.Response{Status: rs.status, ContentType: "application/json"}
		switch {
		case !rs.jsonSet && !rs.bodySet && v.AsHostOK() == rs:
			out.ContentType = "" // no body
		case rs.jsonSet:
			v = rs.json
			fallthrough
		case !rs.bodySet:
			if text, ok := setText(rs.headers, v); ok {
				out.Body = text
				break
			}
			b, err := x.encodeJSON(v)
			if err != nil {
				return nil, err
			}
			out.Body = b
		default:
			out.Body, out.ContentType = rs.bodyText, rs.ctype
		}
	}
	if len(rs.headers) > 0 {
		out.Headers, out.ContentType = mergeResHeaders(out.Headers, out.ContentType, returned, rs.headers)
	}
	if out.Status == 0 {
		out.Status = 200
	}
	if len(out.Headers) > 0 || x.s.cacheDefault != "" {
		x.caching(out)
	}
	rs.status = out.Status
	return out, nil
}

// personal reports whether the answer is one user's: the request
// carried credentials (an Authorization header or another whose name
// says it carries one, as X-API-Key, the auth block's api_key header,
// a session the handler used, a user `with auth` let in), or the
// handler read its cookies (a login of its own). The server's cache { default }, which may be
// public, is not given to such an answer: a shared cache would hand it
// to other users.
func (x *exchange) personal() bool {
	if x.req != nil && (x.req.authed || x.req.seenDone || x.req.sess != nil || x.req.readCookies) {
		// (seenDone: code read req.user, whose answer depends on the
		// credentials, none given included: a stranger's page, kept
		// public, went to users signed in)
		return true
	}
	auth := ""
	if x.s.auth != nil {
		auth = x.s.auth.header // (an api_key block's, which may be any name)
	}
	return slices.ContainsFunc(x.current().Headers(), func(h netio.Header) bool {
		return netio.CredentialHeader(h.Name) || auth != "" && strings.EqualFold(h.Name, auth)
	})
}

// caching applies the server's cache { default } to a GET or HEAD 2xx
// answer that sets no Cache-Control, and answers 304 Not Modified, with
// no body, to a GET or HEAD whose If-None-Match names the answer's ETag.
func (x *exchange) caching(out *netio.Response) {
	if m := x.current().Method; m != "GET" && m != "HEAD" || out.Status < 200 || out.Status > 299 {
		return
	}
	var etag string
	cc, cookie := false, false
	for _, h := range out.Headers {
		switch {
		case strings.EqualFold(h.Name, "ETag"):
			etag = h.Value
		case strings.EqualFold(h.Name, "Cache-Control"):
			cc = true
		case strings.EqualFold(h.Name, "Set-Cookie"):
			cookie = true
		}
	}
	if !cc && x.s.cacheDefault != "" && !x.health && !cookie && !x.personal() {
		out.Headers = append(out.Headers, netio.Header{Name: "Cache-Control", Value: x.s.cacheDefault})
	}
	if etag == "" || out.Status != 200 {
		return // (a 304 stands for a 200 alone, RFC 9110 §15.4.5: a 201 or 206 is sent)
	}
	// Lines of one list header are one list (RFC 9110 §5.3).
	if inm := x.current().Headers().Values("if-none-match"); inm != nil && notModified(strings.Join(inm, ","), etag) {
		x.compressedHeaders(out, etag)
		out.Status, out.Body, out.ContentType = 304, nil, ""
		x.res.status = 304
	}
}

// compressedHeaders gives out, about to become a 304, the Vary and ETag
// the compression block would give the 200 it stands for (RFC 9110
// §15.4.5): netio compresses bodies, and a 304 has none.
func (x *exchange) compressedHeaders(out *netio.Response, etag string) {
	c := x.s.compression
	if c == nil {
		return
	}
	ae := strings.Join(x.current().Headers().Values("accept-encoding"), ", ")
	coding, vary := c.Coding([]byte(out.ContentType), len(out.Body), []byte(ae))
	if !vary {
		return
	}
	var lines [][]byte
	for _, h := range out.Headers {
		if strings.EqualFold(h.Name, "Vary") {
			lines = append(lines, []byte(h.Value))
		}
	}
	if !netio.VaryNames(lines, "Accept-Encoding") {
		out.Headers = append(out.Headers, netio.Header{Name: "Vary", Value: "Accept-Encoding"})
	}
	if coding != "" {
		for i, h := range out.Headers {
			if strings.EqualFold(h.Name, "ETag") {
				out.Headers[i].Value = netio.WeakETag(etag)
			}
		}
	}
}

// setText is the body of a String v returned under a Content-Type the
// handler set with res.setHeader (text/csv, text/plain) other than JSON:
// the text itself, not JSON.
func setText(res netio.Headers, v vm.Value) ([]byte, bool) {
	if v.Kind() != vm.KString {
		return nil, false
	}
	if ct, ok := resContentType(res); ok && !isJSONType(ct) {
		return []byte(v.AsString()), true
	}
	return nil, false
}

// resContentType is the Content-Type set with res.setHeader, if any.
func resContentType(hs netio.Headers) (string, bool) {
	ct, ok := "", false
	for _, h := range hs {
		if strings.EqualFold(h.Name, "Content-Type") {
			ct, ok = h.Value, true
		}
	}
	return ct, ok
}

// mergeResHeaders applies the headers set through res.setHeader (res)
// to a response's headers and Content-Type: to whatever is returned, but
// a returned response's own header of the same name, and its
// Content-Type, win; cookies add up.
func mergeResHeaders(hs netio.Headers, ctype string, returned bool, res netio.Headers) (netio.Headers, string) {
	own := len(hs)
	for _, h := range res {
		switch {
		case strings.EqualFold(h.Name, "Content-Type"):
			if !returned || ctype == "" {
				ctype = h.Value
			}
		case strings.EqualFold(h.Name, "Set-Cookie") ||
			!slices.ContainsFunc(hs[:own], func(o netio.Header) bool { return strings.EqualFold(o.Name, h.Name) }):
			hs = append(hs, h)
		}
	}
	return hs, ctype
}

// deadlineAnswer is the answer of a request stopped at its deadline, as
// the front end gives it (res.on_finish is told its status): 503
// TIMEOUT, or 504 GATEWAY_TIMEOUT at the route's own deadline.
func (x *exchange) deadlineAnswer(id string) *netio.Response {
	if x.gateway {
		x.res.status = 504
		return errorResponse(504, netio.CodeGatewayTimeout, "Gateway Timeout", id, nil)
	}
	x.res.status = 503
	return errorResponse(503, netio.CodeTimeout, "Request timed out", id, nil)
}

// failedIn is the failure of code a request runs before its chain (the
// rate limit's key function): the log names it, not the handler, which
// never ran.
type failedIn struct {
	where string
	err   error
}

func (e *failedIn) Error() string { return e.err.Error() }
func (e *failedIn) Unwrap() error { return e.err }

// dbUnreached reports whether err is DatabaseUnavailable: the database
// could not be reached (its 503 says the client may retry), so a retry
// with the request's Idempotency-Key runs again, once the database is
// back, rather than getting the 503 for a day.
func dbUnreached(err error) bool {
	var ve *vm.Error
	return errors.As(err, &ve) && ve.Kind == store.KindUnavailable
}

// failure answers a failed request: client errors directly; Tova errors
// through on_error, or as 500 with the request id.
func (x *exchange) failure(err error) *netio.Response {
	id := x.requestID()
	var he *httpError
	if errors.As(err, &he) {
		x.res.status = he.status
		return x.withResHeaders(errorResponse(he.status, he.code, he.message, id, he.details))
	}
	var ve *vm.Error
	if errors.As(err, &ve) && ve.Kind == vm.ErrCancelled {
		// the deadline passed: the front end has already answered 503;
		// the log says where the handler was when it was stopped
		if ctx := x.th.Context(); errors.Is(ctx.Err(), context.DeadlineExceeded) || vm.DeadlinePassed(ctx) {
			x.s.logError(err, "handler "+x.current().Method+" "+x.current().Route+" (stopped at its deadline)", id)
		}
		return x.deadlineAnswer(id)
	}
	where := "handler " + x.current().Method + " " + x.current().Route
	var fi *failedIn
	if errors.As(err, &fi) {
		where = fi.where + " of " + x.current().Method + " " + x.current().Route
	} else if x.failedIn != "" {
		where = x.failedIn + " of " + x.current().Method + " " + x.current().Route
	}
	x.s.logError(err, where, id)
	var resp *netio.Response
	if !x.onError.IsNil() && x.th.Context().Err() == nil {
		var stopped bool
		resp, stopped = x.runOnError(err)
		if stopped {
			// on_error was stopped at the deadline: a 503, as the front
			// end answers when it gets there first
			resp = x.deadlineAnswer(id)
		}
	}
	if msg, ok := x.heldRefusal(err); resp == nil && ok {
		// Said to the calling server, whose RPCError carries it: its
		// transaction is what to move.
		x.res.status = 409
		return x.withResHeaders(errorResponse(409, "DATABASE_HELD_BY_CALLER", msg, id, nil))
	}
	if resp == nil && ve != nil && ve.Kind == store.KindUnavailable {
		// the database is down: a temporary condition, not a bug
		x.res.status = 503
		return x.withResHeaders(errorResponse(503, "DATABASE_UNAVAILABLE", "database unavailable", id, nil))
	}
	if resp == nil {
		x.res.status = 500
		resp = x.withResHeaders(errorResponse(500, "INTERNAL_ERROR", "Internal Server Error", id, nil))
	}
	// The client has its answer; the worker that ran the handler is
	// still reported to its supervisor as failed (restarted, counted).
	resp.Failure = err
	return resp
}

// heldRefusal returns the message of err when it is a statement refused
// because the calling request's transaction holds the database: this
// server's own, or, when this server serves a call that carries that
// transaction, the refusal of a server it called in turn, passed back
// along the chain of calls as it came.
func (x *exchange) heldRefusal(err error) (string, bool) {
	var ve *vm.Error
	if store.HeldByCaller(err) && errors.As(err, &ve) {
		return ve.Msg, true
	}
	var f *rpcFailure
	if !x.holds || !errors.As(err, &f) || f.status != 409 {
		return "", false
	}
	e := errorMember(f.body)
	if e.Kind() != vm.KObject {
		return "", false
	}
	code, _ := e.AsObject().Get("code")
	msg, _ := e.AsObject().Get("message")
	if code.Kind() != vm.KString || code.AsString() != "DATABASE_HELD_BY_CALLER" || msg.Kind() != vm.KString {
		return "", false
	}
	return msg.AsString(), true
}

// withResHeaders gives a runtime's error answer the headers and cookies
// hooks and guards set with res.setHeader, as on_error's answer and a
// refusal by res.status carry them (not those a failed handler set
// before failing); its own Content-Type stays.
func (x *exchange) withResHeaders(r *netio.Response) *netio.Response {
	if x.res == nil {
		return r
	}
	hs := x.res.headers
	if x.handlerRan {
		hs = x.hookHeaders
	}
	if len(hs) > 0 {
		r.Headers, r.ContentType = mergeResHeaders(r.Headers, r.ContentType, true, hs)
	}
	return r
}

// runOnError calls on_error fn(err, req[, res]) (Decision 10). It
// returns on_error's response, nil if it gave none or failed; stopped
// is true if it was stopped at the request's deadline.
func (x *exchange) runOnError(cause error) (resp *netio.Response, stopped bool) {
	var ve *vm.Error
	if !errors.As(cause, &ve) {
		ve = &vm.Error{Kind: "Error", Msg: cause.Error()}
	}
	// The failed handler's body, status and headers are discarded (a
	// cookie it set before failing is not sent); headers and on_finish
	// callbacks from middleware and guards remain (they hold this res).
	if x.handlerRan {
		x.res.headers = x.hookHeaders
	}
	x.res.jsonSet, x.res.json = false, vm.Nil
	x.res.bodySet, x.res.bodyText, x.res.ctype = false, nil, ""
	x.res.status, x.res.statusSet = 500, false
	if x.req != nil && x.req.sess != nil {
		x.req.sess.rewind() // (the failed code's changes go; on_error's are kept)
	}
	v, err := x.th.Call(x.onError, vm.ErrorValue(ve), x.reqValue(), x.resValue())
	if err != nil {
		x.s.logError(err, "on_error", x.requestID())
		return nil, vm.IsCancelled(err)
	}
	defer func() { x.onErrorAnswered = resp != nil }()
	if r, ok := asResponse(v); ok {
		v = vm.HostValue(r)
	} else if self, _ := v.AsHostOK().(*resObject); !x.res.jsonSet && !x.res.bodySet && (v.IsNil() || self == x.res) {
		// `res.status(503)` and no body, last or not: that status with
		// the runtime's error body, as a hook's refusal is (it went out
		// with no body when it was the last expression, and was
		// dropped for a 500 when it was not).
		if r, refused := x.refusal(); x.res.statusSet && refused {
			v = r
		} else if v.IsNil() {
			return nil, false
		}
	}
	if resp, err = x.toResponse(v); err != nil {
		return nil, false
	}
	return resp, false
}

func errorResponse(status int, code, message, id string, details []string) *netio.Response {
	b := []byte(`{"error":{"code":`)
	b = jsonstr.Append(b, code)
	b = append(b, `,"message":`...)
	b = jsonstr.Append(b, message)
	if len(details) > 0 {
		b = append(b, `,"details":[`...)
		for i, d := range details {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonstr.Append(b, d)
		}
		b = append(b, ']')
	}
	b = append(b, `},"request_id":`...)
	b = jsonstr.Append(b, id)
	b = append(b, '}')
	return netio.JSON(status, b)
}

// finish runs the res.on_finish callbacks after the response was
// written, with the final status, on a thread of their own.
func (x *exchange) finish(status int) {
	if x.finishing {
		x.finishing = false
		defer x.s.finishing.Done()
	}
	x.res.status = status
	ctx, cancel := context.WithTimeout(context.Background(), x.s.timeout)
	defer cancel()
	th := x.s.inst.NewThread(ctx)
	// The callbacks still serve the request: a peer call, a job or an
	// event they make carries its id (servedRequestID).
	th.Host = finishedRequest(x.requestID())
	th.Enter()
	defer func() {
		th.Leave()
		th.Release()
	}()
	for _, fn := range x.res.finish {
		// The final status is the callback's argument too (a callback
		// that takes none reads res.status).
		if _, err := th.Call(fn, vm.Int(int64(status))); err != nil {
			x.s.logError(err, "on_finish", x.requestID())
		}
	}
}
