package serve

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/sony/gobreaker/v2"

	"tova/internal/wire"
	"tova/jobs"
	"tova/netio"
	"tova/store"
	"tova/vm"
	"tova/vm/stdlib"
)

// peer is another server of the program as one server calls it.
type peer struct {
	name string
	from *Server // the calling server
	peerSettings
	breaker *gobreaker.CircuitBreaker[*netio.OutboundResponse]
	value   vm.Value // what the peer's name is in the caller's code
	// maxAnswer is the most bytes of an answer a call reads (the
	// result's JSON): fetch's limit.
	maxAnswer int64
}

func newPeer(from *Server, name string, ps peerSettings) *peer {
	p := &peer{name: name, from: from, peerSettings: ps, maxAnswer: netio.DefaultOutboundMaxBody}
	log := from.log.With().Str("peer", name).Logger()
	p.breaker = gobreaker.NewCircuitBreaker[*netio.OutboundResponse](gobreaker.Settings{
		Name:        name,
		MaxRequests: ps.halfOpen,
		Timeout:     ps.reset,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= ps.failures },
		// A 4xx is the caller's fault, not the peer's failing.
		IsSuccessful: func(err error) bool {
			var f *rpcFailure
			// The peer answered: a 3xx or 4xx is its function's own
			// answer (a redirect, a refusal), not a sign it is down,
			// and so is a result over the size the caller reads.
			return err == nil || errors.As(err, &f) && (f.status >= 300 && f.status < 500 || f.tooLarge)
		},
		// A call cut by its caller's deadline or the server stopping
		// says nothing of the peer.
		IsExcluded: func(err error) bool {
			var f *rpcFailure
			return errors.As(err, &f) && f.cancelled
		},
		OnStateChange: func(_ string, from, to gobreaker.State) {
			switch to {
			case gobreaker.StateOpen:
				log.Warn().Dur("reset_timeout", ps.reset).Msg("circuit breaker open: calls fail at once until reset_timeout has passed")
			case gobreaker.StateHalfOpen:
				log.Info().Uint32("half_open_requests", ps.halfOpen).Msg("circuit breaker half-open: trial calls go through")
			case gobreaker.StateClosed:
				log.Info().Msg("circuit breaker closed: calls go through again")
			}
		},
	})
	p.value = vm.HostValue(&peerObject{p: p})
	return p
}

// rpcFailure is a call that failed: a status other than 2xx, no answer
// (a transport error, the timeout) or the caller's end (cancelled).
type rpcFailure struct {
	status    int    // 0 when there was no answer
	body      []byte // the answer's body, when there was one
	timeout   bool
	cancelled bool
	tooLarge  bool // a 2xx to 4xx answer over peer.maxAnswer
	msg       string
	cause     error
}

func (f *rpcFailure) Error() string { return f.msg }

// value is the RPCError's err.value for a peer's answer: { status, body },
// the body as its JSON gives it (the callee's respond(409, {...})), else
// as text (nil when empty), so the caller can tell one refusal from
// another without reading the message.
func (f *rpcFailure) value() vm.Value {
	body := vm.Nil
	if v, err := stdlib.ParseJSON(f.body); err == nil {
		body = v
	} else if len(f.body) > 0 {
		body = vm.Str(strings.ToValidUTF8(string(f.body), "\uFFFD"))
	}
	return vm.ObjectValue(vm.NewObjectShaped(rpcFailureShape, []vm.Value{vm.Int(int64(f.status)), body}))
}

var rpcFailureShape = vm.ShapeOf([]string{"status", "body"})

func (f *rpcFailure) Unwrap() error { return f.cause }

// heldHeader carries, on a call made inside db.transaction or while
// serving a call that carries one, a token that the servers of the
// process find in Runtime.held: what the transaction holds. A token of another process, or made up,
// is found in none.
const heldHeader = "X-Tova-Held"

// rpcAttempts is how many times a call is sent when the peer certainly
// did not run it: the connection could not be made, or the runtime
// answered 503 with netio.HeaderNotRun (the request came during its
// drain, or every handler was busy). The waits between attempts are
// rpcBackoff.
const rpcAttempts = 3

var rpcBackoff = [rpcAttempts - 1]time.Duration{100 * time.Millisecond, 200 * time.Millisecond}

// call calls the peer's function fn with args from the Tova thread t,
// which waits for the answer (other threads of the server run meanwhile).
func (p *peer) call(t *vm.Thread, fn string, args []vm.Value, omit []int) (vm.Value, error) {
	what := "RPC " + p.name + "." + fn
	sent := make([]vm.Value, len(args))
	for i, a := range args {
		v, bad := wire.Value(a)
		if bad != nil {
			return vm.Nil, wire.SendError(fmt.Sprintf("%s: argument %d", what, i+1), "to another server", bad)
		}
		sent[i] = v
	}
	body, err := stdlib.AppendJSONExact(t, []byte(`{"__args":`), vm.NewArray(sent), true)
	if err != nil {
		var ve *vm.Error
		if errors.As(err, &ve) {
			return vm.Nil, vm.Errorf(ve.Kind, "%s: %s", what, ve.Msg)
		}
		return vm.Nil, err
	}
	if len(omit) > 0 {
		// Left out (a call by name skipped them): their defaults apply.
		body = append(body, `,"__omitted":[`...)
		for i, n := range omit {
			if i > 0 {
				body = append(body, ',')
			}
			body = strconv.AppendInt(body, int64(n), 10)
		}
		body = append(body, ']')
	}
	body = append(body, '}')
	base, pin := p.place()
	if base == "" {
		return vm.Nil, p.unplaced(what)
	}
	id := servedRequestID(t)
	if id == "" {
		// a job's or a delivery's: the request's that stored it
		id = jobs.RequestOf(t.Context())
	}
	if id == "" {
		id = uuid.NewString() // a call from a schedule, on_start, or a job stored by either
	}
	// A redirect is the answer, never followed: a function's
	// redirect(...) would make the caller request another URL (and take
	// its answer for the result, or retry on its dial error).
	r := netio.OutboundRequest{Method: "POST", URL: base + rpcPath + fn, Body: body, Redirect: "manual", Cert: pin, MaxBody: p.maxAnswer,
		Headers: netio.Headers{{Name: "Content-Type", Value: "application/json"}, {Name: "X-Request-ID", Value: id}, {Name: peerCallHeader, Value: "1"}}}
	if held, ok := store.Holding(t); ok {
		// The callee, if it is a server of this process, learns what
		// the transaction of the caller, or of the request whose call
		// the caller serves, holds (see exchange.CallerHolds).
		token := uuid.NewString()
		p.from.rt.held.Store(token, held)
		defer p.from.rt.held.Delete(token)
		r.Headers = append(r.Headers, netio.Header{Name: heldHeader, Value: token})
	}
	var resp *netio.OutboundResponse
	t.Blocking(func() {
		resp, err = p.breaker.Execute(func() (*netio.OutboundResponse, error) { return p.send(t.Context(), what, r) })
	})
	var f *rpcFailure
	switch {
	case errors.Is(err, gobreaker.ErrOpenState):
		return vm.Nil, vm.Errorf("RPCError", "%s: circuit breaker open for %s", what, p.name)
	case errors.Is(err, gobreaker.ErrTooManyRequests):
		return vm.Nil, vm.Errorf("RPCError", "%s: circuit breaker open for %s (half-open, its trial calls under way)", what, p.name)
	case errors.As(err, &f) && f.cancelled:
		return vm.Nil, &vm.Error{Kind: vm.ErrCancelled, Msg: f.msg, Cause: err}
	case errors.As(err, &f) && f.status != 0:
		return vm.Nil, &vm.Error{Kind: "RPCError", Msg: err.Error(), Cause: err, Value: f.value()}
	case err != nil:
		return vm.Nil, &vm.Error{Kind: "RPCError", Msg: err.Error(), Cause: err}
	}
	v, err := stdlib.ParseJSON(resp.Body)
	if err != nil {
		return vm.Nil, vm.Errorf("RPCError", "%s: the answer is not JSON: %s", what, strings.TrimPrefix(err.Error(), "JSON.parse: "))
	}
	// Only the callee's own answer has exactly this shape: a proxy's or
	// another service's 2xx ({} or {"value": 1}) is not a result nil.
	if v.Kind() != vm.KObject || v.AsObject().Type != nil || !slices.Equal(v.AsObject().Keys(), []string{"result"}) {
		return vm.Nil, vm.Errorf("RPCError", "%s: answer without a result (not {\"result\": …}): %d %s", what, resp.Status, shortText(resp.Body))
	}
	result, _ := v.AsObject().Get("result")
	return rpcResult(result, resp.Headers.Get(rpcResultHeader)), nil
}

// send sends r, again when the peer could not have run it (see
// rpcAttempts), each attempt bounded by the peer's timeout and all by
// ctx (the caller's deadline).
func (p *peer) send(ctx context.Context, what string, r netio.OutboundRequest) (*netio.OutboundResponse, error) {
	for attempt := 0; ; attempt++ {
		resp, err := p.attempt(ctx, what, r)
		if attempt == rpcAttempts-1 || !retryable(resp, err) {
			return resp, err
		}
		t := time.NewTimer(rpcBackoff[attempt])
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, &rpcFailure{cancelled: true, msg: what + ": " + callerStopped(ctx), cause: ctx.Err()}
		case <-t.C:
		}
	}
}

// attempt sends r once.
func (p *peer) attempt(ctx context.Context, what string, r netio.OutboundRequest) (*netio.OutboundResponse, error) {
	cctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	resp, err := netio.Fetch(cctx, r)
	var big *netio.BodyTooLargeError
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, &rpcFailure{cancelled: true, msg: what + ": " + callerStopped(ctx), cause: err}
	case err != nil && cctx.Err() != nil:
		return nil, &rpcFailure{timeout: true, msg: fmt.Sprintf("%s timed out after %v", what, p.timeout), cause: err}
	case errors.As(err, &big):
		// The function ran and answered: only a 5xx of that size is
		// the peer failing.
		return nil, &rpcFailure{tooLarge: big.Status < 500, cause: err,
			msg: fmt.Sprintf("%s: the answer (%d) is over the limit of %s a call reads from another server (the function ran): return less, or a page of it at a time",
				what, big.Status, sizeText(big.Limit))}
	case err != nil && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)):
		// (Go says "EOF", or "read tcp 127.0.0.1:40164->…: connection
		// reset by peer".)
		how := "the connection closed before an answer came"
		if errors.Is(err, netio.ErrBodyCut) {
			how = "the connection closed before the whole answer came (its status came, and its body was cut short)"
		}
		return nil, &rpcFailure{msg: fmt.Sprintf("%s failed: %s %s: %s (the peer stopped or crashed; the call may have run, so it is not sent again)",
			what, cmp.Or(r.Method, "GET"), redactedURL(r.URL), how), cause: err}
	case err != nil && netio.MalformedAnswer(err):
		return nil, &rpcFailure{msg: fmt.Sprintf("%s failed: %v (the call may have run, so it is not sent again)", what, err), cause: err}
	case err != nil:
		return nil, &rpcFailure{msg: fmt.Sprintf("%s failed: %v", what, err), cause: err}
	case resp.Status < 200 || resp.Status > 299:
		return resp, &rpcFailure{status: resp.Status, body: resp.Body, msg: fmt.Sprintf("%s failed: %d %s", what, resp.Status, errorMessage(resp))}
	}
	return resp, nil
}

// redactedURL is raw with its password, if any, shown as xxxxx.
func redactedURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "(the peer's URL)"
}

// callerStopped says why a call's context ended: the calling request's
// deadline, or its being stopped (Go said "context deadline exceeded").
func callerStopped(ctx context.Context) string {
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, context.DeadlineExceeded):
		return "stopped: the calling request's deadline passed"
	case cause == nil || errors.Is(cause, context.Canceled):
		return "stopped: the calling request was stopped"
	}
	return "stopped: " + cause.Error()
}

// retryable reports whether a call's attempt failed in a way that
// leaves the function certainly not run: no connection was made, or the
// peer's runtime says so (a 503 with netio.HeaderNotRun). Any other
// answer is never sent again, a 502, 503 or 504 included: on_error or a
// respond of the function may give one after the function ran, a proxy
// one whether the peer ran it or not, and the runtime answers 503 for a
// request it stopped in its handler (its deadline, its drain).
func retryable(resp *netio.OutboundResponse, err error) bool {
	var f *rpcFailure
	if !errors.As(err, &f) || f.cancelled || f.timeout {
		return false
	}
	if f.status == 0 {
		var op *net.OpError
		// (Go's "http: server closed idle connection": the peer closed
		// the kept-alive connection before the call was sent on it, a
		// peer's drain beginning)
		return errors.As(err, &op) && op.Op == "dial" || strings.Contains(err.Error(), "server closed idle connection")
	}
	return f.status == http.StatusServiceUnavailable && resp != nil && resp.Headers.Get(netio.HeaderNotRun) == "1"
}

// errorMember is the "error" member of an error answer's JSON body
// object, nil when it has none.
func errorMember(body []byte) vm.Value {
	v, err := stdlib.ParseJSON(body)
	if err != nil || v.Kind() != vm.KObject {
		return vm.Nil
	}
	e, _ := v.AsObject().Get("error")
	return e
}

// errorMessage is the message of an error answer: its body's
// {"error":{"message", "details"}} (the runtime's error body: "Validation
// failed: n must be an integer"), or {"error": "…"}, else its text,
// short.
func errorMessage(resp *netio.OutboundResponse) string {
	switch e := errorMember(resp.Body); e.Kind() {
	case vm.KString:
		return e.AsString()
	case vm.KObject:
		if m, ok := e.AsObject().Get("message"); ok && m.Kind() == vm.KString {
			return m.AsString() + errorDetails(e.AsObject())
		}
	}
	if text := shortText(resp.Body); text != "" {
		return text
	}
	return resp.StatusText
}

// errorDetails is ": " and the details of an error body, or "".
func errorDetails(e *vm.Object) string {
	d, _ := e.Get("details")
	var parts []string
	switch d.Kind() {
	case vm.KString:
		parts = append(parts, d.AsString())
	case vm.KArray:
		for _, x := range d.AsArray().Elems {
			if x.Kind() == vm.KString {
				parts = append(parts, x.AsString())
			} else {
				parts = append(parts, vm.Repr(x))
			}
		}
	case vm.KNil:
	default:
		parts = append(parts, vm.Repr(d))
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, "; ")
}

// shortText is a body as text, trimmed and cut at 200 characters.
func shortText(body []byte) string {
	text := strings.TrimSpace(string(body))
	if r := []rune(text); len(r) > 200 {
		text = string(r[:200]) + "…"
	}
	return text
}

// pollHealth probes the peer's health path every healthEvery until ctx
// ends, and logs when the answer changes: a failing probe at warn, the
// first good one and a recovery at info. The probes do not move the
// breaker: only calls do.
func (p *peer) pollHealth(ctx context.Context) {
	log := p.from.log.With().Str("peer", p.name).Str("health", p.health).Logger()
	// Each probe has its 2 s, a short interval notwithstanding: a probe
	// still waiting holds off the next (the ticker drops the ticks
	// meanwhile), so that probes do not pile up at a slow peer.
	wait := healthProbeTimeout
	tick := time.NewTicker(p.healthEvery)
	defer tick.Stop()
	healthy, known := false, false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// A redirect is a non-2xx answer of the health path, not
		// followed: it was taken as the other URL's answer.
		base, pin := p.place()
		if base == "" {
			if !known {
				log.Warn().Err(p.unplaced("health")).Msg("peer health check failing")
				known = true
			}
			continue
		}
		resp, err := netio.Fetch(ctx, netio.OutboundRequest{URL: base + p.health, Timeout: wait, Redirect: "manual", Cert: pin,
			Headers: netio.Headers{{Name: "X-Request-ID", Value: uuid.NewString()}}})
		if ctx.Err() != nil {
			return
		}
		ok := err == nil && resp.Status >= 200 && resp.Status <= 299
		if known && ok == healthy {
			continue
		}
		switch {
		case ok && known:
			log.Info().Msg("peer healthy again")
		case ok:
			log.Info().Msg("peer healthy")
		case err != nil:
			log.Warn().Err(err).Msg("peer health check failing")
		default:
			log.Warn().Int("status", resp.Status).Msg("peer health check failing")
		}
		healthy, known = ok, true
	}
}

// peerObject is a peer as Tova code sees it: `worker.compute(21)`.
// slots: the parameter each argument of its call is for, in a call by
// name (vm.Peers).
type peerObject struct {
	p     *peer
	slots []int
}

// place puts a call's arguments, in the order written, where slots says
// (o.slots; nil: as they are), and lists the parameters left out before
// the last one given.
func (o *peerObject) place(args []vm.Value) ([]vm.Value, []int) {
	if o.slots == nil || len(o.slots) != len(args) {
		return args, nil
	}
	n := 0
	for _, j := range o.slots {
		n = max(n, j+1)
	}
	placed, given := make([]vm.Value, n), make([]bool, n)
	for i, j := range o.slots {
		placed[j], given[j] = args[i], true
	}
	var omit []int
	for j, ok := range given {
		if !ok {
			omit = append(omit, j)
		}
	}
	return placed, omit
}

func (o *peerObject) TypeName() string { return "Server" }

func (o *peerObject) String() string { return "<server " + o.p.name + ">" }

// GetAttr gives `worker.compute` unapplied: a function calling it.
func (o *peerObject) GetAttr(t *vm.Thread, name string) (vm.Value, bool, error) {
	return vm.BuiltinValue(&vm.Builtin{Name: o.p.name + "." + name, Fn: func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		args, omit := o.place(args)
		return o.p.call(t, name, args, omit)
	}}), true, nil
}

func (o *peerObject) SetAttr(t *vm.Thread, name string, v vm.Value) error {
	return vm.TypeErrorf("server %s: its functions cannot be set from another server", o.p.name)
}

func (o *peerObject) CallMethod(t *vm.Thread, name string, args []vm.Value) (vm.Value, bool, error) {
	args, omit := o.place(args)
	v, err := o.p.call(t, name, args, omit)
	return v, true, err
}
