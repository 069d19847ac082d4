package serve

import (
	"bytes"
	"crypto/sha256"
	"hash"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"tova/netio"
	"tova/vm"
)

// Idempotency-Key replays, as the reference makes them (tova-semantics
// §2.2, step 11): a request other than GET, HEAD and OPTIONS that
// carries an Idempotency-Key its server answered with a 2xx in the last
// 24 hours gets that answer again, with X-Idempotent-Replayed: true, and
// its handler does not run. So a client may retry a POST whose answer it
// never got without doing its work twice. Beyond the reference:
//   - a key whose first request is still running answers 409
//     IDEMPOTENCY_IN_PROGRESS (with Retry-After), rather than running the
//     work a second time beside the first;
//   - a key is its client's: keys are kept apart by the API keys they
//     come with (the auth block's API key header, any header whose name
//     holds "key", as X-API-Key) and by the subject (sub, iss) of a
//     bearer token a jwt auth block lets in, so that another client's key of the
//     same text is another key, as a public API's clients (tenants)
//     number their requests alike: never the first client's answer,
//     nor a refusal that tells one client another used the key;
//   - a key is bound to its first request's other credentials (the
//     Authorization header, any header whose name says it carries one,
//     every cookie of the session's name: these change, a session
//     cookie with the session, so they cannot tell clients apart),
//     method, path and query, content type and body: another request
//     with the same key answers 422 IDEMPOTENCY_KEY_REUSED, never the
//     first one's answer (a replay runs no middleware and no guard);
//   - 2xx answers are kept, and so are the 5xx of a failure or of the
//     deadline once the chain began (what the handler did before it
//     stays, so that a retry running it again would do it twice, as
//     Stripe's keys keep them); after a 4xx (the request refused: a
//     parameter, a guard), a 5xx the code answered itself
//     (respond(503, "retry later")) or the 503 of DatabaseUnavailable
//     (a retry once the database is back should run) the key is free
//     again, and a retry runs;
//   - the answer's Set-Cookie lines are not replayed (a cookie from then
//     would undo what came since), but its session cookie's: the key is
//     bound to the session cookie the request came with, so that a
//     replay goes to a client whose session is still the one before it
//     (a checkout's emptied cart is emptied for it too).
const (
	idempotencyHeader   = "Idempotency-Key"
	idempotencyReplayed = "X-Idempotent-Replayed"
	// idempotencyTTL is how long an answer is kept.
	idempotencyTTL = 24 * time.Hour
	// idempotencyKeys bounds the answers a server keeps, as the
	// reference's store does; past it the oldest is forgotten.
	idempotencyKeys = 10_000
	// idempotencyBytes bounds the bodies a server keeps in all; past it
	// the oldest answers are forgotten.
	idempotencyBytes = 64 << 20
	// idempotencyMaxBody is the largest body kept: a larger answer is
	// not replayed (its key is free again once it is sent).
	idempotencyMaxBody = 1 << 20
	// idempotencyMaxKey is the longest key taken.
	idempotencyMaxKey = 255
)

// idempotency is a server's store of answers by Idempotency-Key.
type idempotency struct {
	// credentials are the request headers, and cookie the cookie, that
	// carry a client's credentials: part of a request's fingerprint.
	credentials []string
	cookie      string
	// keyHeader is the auth block's API key header ("" for none): an
	// API key, which sets a client's keys apart (see fingerprint).
	keyHeader string
	// jwt is the server's jwt auth block (nil for none): a valid
	// token's subject (sub, with iss) sets its client's keys apart, as
	// an API key does, whatever token of it (a renewed one) comes.
	jwt *authSettings

	mu sync.Mutex
	// entries are the answers kept; running, the keys whose first
	// request still runs. These are not in entries: however many answers
	// come meanwhile, none pushes a running key out (it is bounded by
	// the requests running at once).
	entries *simplelru.LRU[string, *idemEntry]
	running map[string]*idemEntry
	bytes   int // the kept bodies' sizes
	now     func() time.Time
}

// idemEntry is one key's first request and, once it has been answered
// with a 2xx, the answer.
type idemEntry struct {
	print [sha256.Size]byte // the request's fingerprint
	resp  *netio.Response   // nil while the request runs
	at    time.Time         // when resp was kept
}

// newIdempotency returns the store of a server with the auth and
// session blocks given (either may be nil).
func newIdempotency(auth *authSettings, sessions *sessionStore) *idempotency {
	d := &idempotency{now: time.Now, credentials: []string{"Authorization"}, running: map[string]*idemEntry{}}
	if auth != nil && auth.apiKey {
		d.credentials = append(d.credentials, auth.header)
		d.keyHeader = auth.header
	}
	if auth != nil && !auth.apiKey {
		d.jwt = auth
	}
	if sessions != nil {
		d.cookie = sessions.name
	}
	d.entries, _ = simplelru.NewLRU[string, *idemEntry](idempotencyKeys, func(_ string, e *idemEntry) {
		d.bytes -= len(e.resp.Body)
	})
	return d
}

// idemClaim is a request's hold on its key while its handler runs.
type idemClaim struct {
	d     *idempotency
	key   string
	entry *idemEntry
}

// begin looks r's key up. It returns the answer to send instead of
// running the handler (a replay, or a 400, 409 or 422), or the claim the
// request holds on its key while it runs (settle or release it), or
// neither for a request without a key (or of a safe method).
func (d *idempotency) begin(r *netio.Request, id string) (*netio.Response, *idemClaim) {
	if d == nil {
		return nil, nil
	}
	switch r.Method {
	case "GET", "HEAD", "OPTIONS":
		return nil, nil
	}
	keys := r.Headers().Values(idempotencyHeader)
	if len(keys) == 0 {
		return nil, nil
	}
	key := keys[0]
	if len(keys) > 1 || !validIdempotencyKey(key) {
		return errorResponse(400, "BAD_REQUEST", "Bad Request: Idempotency-Key must be one header of 1 to 255 visible ASCII characters", id, nil), nil
	}
	scope, print := d.fingerprint(r)
	return d.take(string(scope[:])+key, print, id)
}

// take is begin for the request with key and fingerprint print.
func (d *idempotency) take(key string, print [sha256.Size]byte, id string) (*netio.Response, *idemClaim) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e, ok := d.running[key]; ok {
		if e.print != print {
			return keyReused(id), nil
		}
		resp := errorResponse(409, "IDEMPOTENCY_IN_PROGRESS", "Conflict: a request with this Idempotency-Key is still running; retry when it is done", id, nil)
		resp.Headers = netio.Headers{{Name: "Retry-After", Value: "1"}}
		return resp, nil
	}
	if e, ok := d.entries.Get(key); ok {
		switch {
		case d.now().Sub(e.at) >= idempotencyTTL:
			d.entries.Remove(key) // expired: a new first request
		case e.print != print:
			return keyReused(id), nil
		default:
			return replay(e.resp), nil
		}
	}
	key = strings.Clone(key)
	e := &idemEntry{print: print}
	d.running[key] = e
	return nil, &idemClaim{d: d, key: key, entry: e}
}

// keyReused is the answer to a request whose key another request used.
func keyReused(id string) *netio.Response {
	return errorResponse(422, "IDEMPOTENCY_KEY_REUSED", "Unprocessable Entity: this Idempotency-Key was used for another request (method, path, query, content type, credentials or body)", id, nil)
}

// settle ends the claim with the handler's answer resp: kept if it is a
// 2xx, or the 5xx of a failure (failed: the chain raised an error or was
// stopped at its deadline), that the store can replay, else the key is
// free again.
func (c *idemClaim) settle(resp *netio.Response, failed bool) {
	status := resp.Status
	if status == 0 {
		status = 200
	}
	if status < 200 || status > 299 && (status < 500 || !failed) || resp.Stream != nil || len(resp.Body) > idempotencyMaxBody {
		c.release()
		return
	}
	kept := keepResponse(resp, c.d.cookie)
	d := c.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.running[c.key] != c.entry {
		return // released already
	}
	delete(d.running, c.key)
	c.entry.resp, c.entry.at = kept, d.now()
	d.entries.Add(c.key, c.entry)
	d.bytes += len(kept.Body)
	for d.bytes > idempotencyBytes {
		d.entries.RemoveOldest()
	}
}

// release ends the claim without an answer to keep: the key is free.
func (c *idemClaim) release() {
	d := c.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.running[c.key] == c.entry {
		delete(d.running, c.key)
	}
}

// fingerprint identifies a request for its key. scope is the hash of
// its API keys (the auth block's API key header, and every header whose
// name holds "key", as X-API-Key): a client's keys are its own, and
// another client's key of the same text is another key. print is that
// of the rest, to which the key is bound: its other credentials (the
// Authorization header, headers named for a token, a session, a
// secret..., the session cookie), which change (a session cookie with
// each change of the session, a bearer token when it is renewed) and so
// cannot tell clients apart, and its method, target, content type and
// body.
func (d *idempotency) fingerprint(r *netio.Request) (scope, print [sha256.Size]byte) {
	hs, hp := sha256.New(), sha256.New()
	field := func(h hash.Hash, s string) {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{':'})
		h.Write([]byte(s))
	}
	into := func(name string) hash.Hash {
		if strings.Contains(strings.ToLower(name), "key") || d.keyHeader != "" && strings.EqualFold(name, d.keyHeader) {
			return hs
		}
		return hp
	}
	for _, name := range d.credentials {
		field(into(name), strings.Join(r.Headers().Values(name), "\n"))
	}
	// A key checked by the program's own guard or middleware (the
	// guide's X-API-Key) is a credential too: every header whose name
	// says it may carry one, in the order of their names.
	var more []netio.Header
	for _, hd := range r.Headers() {
		if netio.CredentialHeader(hd.Name) && !slices.ContainsFunc(d.credentials, func(c string) bool { return strings.EqualFold(c, hd.Name) }) {
			more = append(more, hd)
		}
	}
	slices.SortStableFunc(more, func(a, b netio.Header) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	for _, hd := range more {
		h := into(hd.Name)
		field(h, strings.ToLower(hd.Name))
		field(h, hd.Value)
	}
	if d.cookie != "" {
		// every cookie of the session's name: the session is the first
		// that opens
		for _, c := range r.Cookies() {
			if c.Name == d.cookie {
				field(hp, c.Value)
			}
		}
	}
	if d.jwt != nil {
		// (two users' k-123 were one key: the second was refused 422,
		// and learnt the first had used it)
		if user, why := d.jwt.authenticate(r); why == "" && user.Kind() == vm.KObject {
			for _, claim := range []string{"iss", "sub"} {
				if v, ok := user.AsObject().Get(claim); ok {
					field(hs, claim)
					field(hs, vm.ToString(v))
				}
			}
		}
	}
	hs.Sum(scope[:0])
	field(hp, r.Method)
	field(hp, r.Path)
	field(hp, r.RawQuery)
	field(hp, r.ContentType)
	hp.Write(r.Body)
	hp.Sum(print[:0])
	return scope, print
}

// validIdempotencyKey: 1 to idempotencyMaxKey visible ASCII characters.
func validIdempotencyKey(k string) bool {
	if len(k) == 0 || len(k) > idempotencyMaxKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] <= ' ' || k[i] > '~' {
			return false
		}
	}
	return true
}

// keepResponse copies what a replay sends of resp, in memory of its own
// (the handler's answer lives in blocks the server recycles): status,
// content type, headers but Set-Cookie other than the session cookie's
// (and X-Idempotent-Replayed, which the replay sets), and body.
func keepResponse(resp *netio.Response, session string) *netio.Response {
	k := &netio.Response{Status: resp.Status, ContentType: strings.Clone(resp.ContentType), Body: bytes.Clone(resp.Body)}
	for _, h := range resp.Headers {
		if strings.EqualFold(h.Name, "Set-Cookie") {
			if name, _, _ := strings.Cut(h.Value, "="); session == "" || strings.TrimSpace(name) != session {
				continue
			}
		}
		if !strings.EqualFold(h.Name, idempotencyReplayed) {
			k.Headers = append(k.Headers, netio.Header{Name: strings.Clone(h.Name), Value: strings.Clone(h.Value)})
		}
	}
	return k
}

// replay is a kept answer, sent again.
func replay(kept *netio.Response) *netio.Response {
	r := *kept
	r.Headers = append(kept.Headers[:len(kept.Headers):len(kept.Headers)], netio.Header{Name: idempotencyReplayed, Value: "true"})
	return &r
}
