package serve

import (
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"tova/netio"
	"tova/vm"
	"tova/vm/stdlib"
)

// rateLimitKeys are the keys of a rate_limit block: the guide's
// requests, window and key, and the reference's max (requests).
var rateLimitKeys = []string{"requests", "max", "window", "key"}

// maxRateWindow is the longest window: the counts' arithmetic stays far
// from the Int64 nanoseconds' limit (about 292 years).
const maxRateWindow = 366 * 24 * time.Hour

// rateLimitKeysKept bounds the keys a server's rate limit counts at
// once, as the reference's store does: past it, the key seen least
// recently is forgotten (and starts again with a full allowance), so
// that clients inventing keys cannot grow the process without end.
const rateLimitKeysKept = 100_000

// rateLimit is a server's rate_limit block: at most requests requests
// per window for each key (the client's IP unless the block's key
// function gives another), counted in fixed windows as the reference
// counts them, with a sliding window over the last two: the current
// window's requests all fall in it, and of the previous window's, those
// that came after now - window. Of those only the first and last times
// are kept, the others taken as spread evenly between them: the count is
// exact for a key with one request a window, for requests evenly spaced,
// and for a burst, and never further from the truth than the reference's
// estimate (the previous count weighted by how much of its window the
// sliding one covers), which refuses a client keeping to one request a
// minute every other time under requests: 1, or lets two through in a
// moment across a window's end. Refused requests are not counted.
type rateLimit struct {
	requests int
	window   time.Duration
	key      vm.Value // fn(req); Nil: the client's IP

	mu     sync.Mutex
	seed   maphash.Seed
	counts *simplelru.LRU[uint64, *rateCount] // by the key's hash
}

// rateCount is one key's counts in the fixed windows, with the times
// of the first and last request each counts.
type rateCount struct {
	start      int64 // the current window's start, Unix ns
	curr, prev span
}

// span is the requests counted in one fixed window: n of them, from
// first to last (Unix ns).
type span struct {
	n           int
	first, last int64
}

// add counts a request at ns.
func (s *span) add(ns int64) {
	if s.n == 0 {
		s.first = ns
	}
	s.n++
	s.last = ns
}

// after is how many of s's requests came after cutoff, taking those
// between its first and last as spread evenly: the k-th (from 0) at
// at(k).
func (s span) after(cutoff int64) int {
	switch {
	case s.n == 0 || s.last <= cutoff:
		return 0
	case s.first > cutoff:
		return s.n
	}
	// 2 <= n, first <= cutoff < last: at(k) <= cutoff for k up to
	// (cutoff-first)·(n-1)/(last-first).
	hi, lo := bits.Mul64(uint64(cutoff-s.first), uint64(s.n-1))
	k, _ := bits.Div64(hi, lo, uint64(s.last-s.first))
	return s.n - int(k) - 1
}

// at is when s takes its k-th request (from 0) to have come: the least
// cutoff from which after counts it out.
func (s span) at(k int) int64 {
	if s.n < 2 || k == 0 {
		return s.first
	}
	hi, lo := bits.Mul64(uint64(k), uint64(s.last-s.first))
	q, r := bits.Div64(hi, lo, uint64(s.n-1))
	if r != 0 {
		q++
	}
	return s.first + int64(q)
}

// readRateLimit reads a rate_limit block's value v, declared at at.
func readRateLimit(at string, v vm.Value) (*rateLimit, error) {
	o, err := blockSettings("rate_limit", at, v)
	if err != nil {
		return nil, err
	}
	l := &rateLimit{requests: 100, window: time.Minute}
	n, hasRequests := o.Get("requests")
	key := "requests"
	if m, ok := o.Get("max"); ok {
		if hasRequests {
			return nil, fmt.Errorf("%s: rate_limit: requests and max are one setting; give one", at)
		}
		n, hasRequests, key = m, true, "max"
	}
	if hasRequests {
		if n.Kind() != vm.KInt || n.AsInt() <= 0 || n.AsInt() > math.MaxInt32 {
			return nil, fmt.Errorf("%s: rate_limit.%s: expected a positive Int of at most %d, got %s", at, key, math.MaxInt32, vm.NumberRepr(n))
		}
		l.requests = int(n.AsInt())
	}
	if w, ok := o.Get("window"); ok {
		d, err := duration(w, time.Second) // the reference's window is in seconds
		if err == nil && d < time.Second {
			err = fmt.Errorf("a window must be at least a second, got %s", vm.Repr(w))
		}
		if err == nil && d > maxRateWindow {
			err = fmt.Errorf("a window must be at most 366 days, got %s", vm.Repr(w))
		}
		if err != nil {
			return nil, fmt.Errorf("%s: rate_limit.window: %v", at, err)
		}
		l.window = d
	}
	if k, ok := o.Get("key"); ok {
		if k.Kind() != vm.KFunc && k.Kind() != vm.KBuiltin {
			return nil, fmt.Errorf("%s: rate_limit.key: expected a function of the request (key: fn(req) req.ip), got %s", at, vm.Repr(k))
		}
		l.key = k
	}
	l.seed = maphash.MakeSeed()
	l.counts, _ = simplelru.NewLRU[uint64, *rateCount](rateLimitKeysKept, nil)
	return l, nil
}

// take counts a request of key at now if the limit allows it. If not,
// it returns how long until it would. A key is kept as its 64-bit hash
// (under a seed of the process's own, so that no client can make keys
// collide): a key of kilobytes costs what a short one does.
func (l *rateLimit) take(key string, now time.Time) (ok bool, wait time.Duration) {
	w := int64(l.window)
	ns := now.UnixNano()
	start := ns - ns%w
	h := maphash.String(l.seed, key)
	l.mu.Lock()
	defer l.mu.Unlock()
	c, found := l.counts.Get(h)
	if !found {
		c = &rateCount{start: start}
		l.counts.Add(h, c)
	}
	switch {
	case c.start == start:
	case c.start == start-w:
		c.start, c.prev, c.curr = start, c.curr, span{}
	default:
		c.start, c.prev, c.curr = start, span{}, span{}
	}
	if c.prev.after(ns-w)+c.curr.n+1 <= l.requests {
		c.curr.add(ns)
		return true, 0
	}
	return false, l.wait(c, ns)
}

// wait is how long after ns a request of c's key would pass, if none
// is counted meanwhile: when enough of the previous window's requests
// have left the sliding window, in this window; else when enough of
// this window's have, in the next (its start at the earliest). It is
// at most a window.
func (l *rateLimit) wait(c *rateCount, ns int64) time.Duration {
	w := int64(l.window)
	if room := l.requests - 1 - c.curr.n; room >= 0 && c.prev.n > room {
		// The (prev-room)-th of the previous window's requests leaves
		// at its time + w.
		if t := c.prev.at(c.prev.n-room-1) + w; t < c.start+w {
			return ceilMillis(float64(max(t-ns, 0)))
		}
	}
	t := c.start + w
	if over := c.curr.n - (l.requests - 1); over > 0 {
		t = max(t, c.curr.at(over-1)+w)
	}
	return ceilMillis(float64(t - ns))
}

// ceilMillis rounds a wait in ns up to a millisecond: never early for
// the float arithmetic's last bits.
func ceilMillis(ns float64) time.Duration {
	return time.Duration(math.Ceil(ns/1e6)) * time.Millisecond
}

func init() {
	vm.Register(&vm.Builtin{Name: "rate_limit", Params: []string{"max", "window", "key"}, Fn: builtinRateLimit})
}

// rate_limit(max = 100, window = 60, key) is the reference's route
// decorator `with rate_limit(10, 60)`: a guard with a limit of its own,
// of max requests per window (a Duration, or seconds) for each client IP
// (or each value of key: fn(req), as the server's block takes one),
// counted as the server's rate_limit block counts. A route with the
// guard has its own counts; a guard value kept in a name and put on
// several routes counts them together.
func builtinRateLimit(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if len(args) > 3 {
		return vm.Nil, vm.TypeErrorf("rate_limit(max, window, key) takes up to 3 arguments, got %d", len(args))
	}
	o := vm.NewObject()
	for i, key := range []string{"max", "window", "key"} {
		if i < len(args) && !args[i].IsNil() {
			o.Set(key, args[i])
		}
	}
	l, err := readRateLimit("rate_limit(...)", vm.ObjectValue(o))
	if err != nil {
		return vm.Nil, vm.Errorf("ValueError", "%s", strings.TrimPrefix(err.Error(), "rate_limit(...): "))
	}
	guard := func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		q, err := guardRequest("rate_limit(...)", args)
		if err != nil {
			return vm.Nil, err
		}
		key, err := l.keyOf(t, q, args[0], q.proxies.clientIP(q.r))
		if err != nil {
			return vm.Nil, &failedIn{"rate_limit key", err}
		}
		if ok, wait := l.take(key, time.Now()); !ok {
			return tooManyRequests(q.id, wait), nil
		}
		return vm.Nil, nil
	}
	return vm.BuiltinValue(&vm.Builtin{Name: "rate_limit", Params: []string{"req", "res"}, Pure: true, Fn: guard}), nil
}

// ipKey is the rate limit's count a client IP is counted in: the
// address, or for IPv6 its /64, which one client (a home, a host) has
// whole: counted by address, a client with a /64 had 2^64 allowances.
func ipKey(ip string) string {
	if strings.IndexByte(ip, ':') < 0 {
		return ip // (IPv4: the common case, not parsed)
	}
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Unmap().Is4() {
		return ip
	}
	p, err := a.Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}

// tooManyRequests is the 429 answer of a request past a rate limit,
// with Retry-After: whole seconds until one would be let through.
func tooManyRequests(id string, wait time.Duration) vm.Value {
	secs := max(int64(math.Ceil(wait.Seconds())), 1)
	r := errorResponse(429, "RATE_LIMITED", "Too Many Requests", id, nil)
	return vm.HostValue(&responseValue{status: 429, statusSet: true, ctype: r.ContentType, body: r.Body,
		headers: netio.Headers{{Name: "Retry-After", Value: strconv.FormatInt(secs, 10)}}})
}

// limited runs the server's rate limit for the request x serves: nil if
// it may go on, else the 429 answer. The key function's failure fails
// the request.
func (x *exchange) limited(l *rateLimit) (vm.Value, error) {
	key, err := l.keyOf(x.th, x.req, x.reqValue(), x.s.proxies.clientIP(x.current()))
	if err != nil {
		return vm.Nil, &failedIn{"rate_limit key", err}
	}
	if ok, wait := l.take(key, time.Now()); !ok {
		return tooManyRequests(x.requestID(), wait), nil
	}
	return vm.Nil, nil
}

// keyOf is the count request q (reqV, from the client IP ip) is counted
// in: what l's key function returns, else the IP's.
func (l *rateLimit) keyOf(t *vm.Thread, q *reqObject, reqV vm.Value, ip string) (string, error) {
	key := ipKey(ip)
	if l.key.IsNil() {
		return key, nil
	}
	undo := q.identify()
	v, err := t.Call(l.key, reqV)
	undo()
	if err != nil {
		return "", err
	}
	if v = stdlib.UnwrapOr(v, vm.Nil); !v.IsNil() {
		// Never taken for an IP, unless it is the client's own (the
		// guide's `req.headers["x-api-key"] |> unwrapOr(req.ip)`): a
		// client sending another's IP as its key counted against that
		// client's.
		if k := vm.ToString(v); k != ip {
			key = "k:" + k
		}
	}
	return key, nil
}
