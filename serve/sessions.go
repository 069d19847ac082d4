package serve

import (
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/rs/zerolog"
	"golang.org/x/net/http/httpguts"

	"tova/netio"
	"tova/vm"
	"tova/vm/stdlib"
)

// Sessions (`sessions { secret, max_age, secure, http_only, same_site }`,
// the guide's form, or the reference's `session { secret, max_age,
// cookie_name }`) live in the cookie itself: the session's values as
// JSON, encrypted (AES-256, CTR mode) and signed (HMAC-SHA256) by
// gorilla/securecookie, which also stamps the cookie with the time it was
// issued. Nothing is kept on the server, so a session survives a restart
// and is read by every process that has the same secret.
//
// The two keys are derived from the secret with HKDF-SHA256 (no salt),
// each under its own label (sessionHashInfo, sessionBlockInfo): one
// secret gives independent keys for signing and for encryption, and
// changing the secret invalidates every cookie.
//
// A cookie is valid for max_age from its issue: securecookie refuses an
// older one, and the cookie's Max-Age has the browser drop it then. A
// session is issued again (with a new time) when a request changes it,
// so max_age counts from the last change.

const (
	sessionHashInfo  = "tova session cookie: HMAC-SHA256 key"
	sessionBlockInfo = "tova session cookie: AES-256 key"
	// sessionMinSecret is the shortest secret accepted, in bytes.
	sessionMinSecret = 16
	// sessionMaxCookie is the most a browser keeps of a cookie's name
	// and value (RFC 6265 §6.1 asks for at least 4096 bytes, and the
	// browsers keep no more).
	sessionMaxCookie  = 4096
	sessionDefaultAge = 3600 // seconds, the reference's default
	sessionCookieName = "__sid"
	sessionSecretEnv  = "SESSION_SECRET"
)

// sessionKeys are the keys of a session block (configKeys).
var sessionKeys = []string{"secret", "max_age", "cookie_name", "secure", "http_only", "same_site", "csrf"}

// sessionStore is a server's session configuration: how its session
// cookies are sealed and what attributes they carry.
type sessionStore struct {
	codec  *securecookie.SecureCookie
	name   string
	maxAge int // seconds
	secure bool
	// secureSet: the block gave secure (else, under a tls block, it is
	// true: see Server.start)
	secureSet bool
	// nameSet: the block gave cookie_name (else, under a tls block, the
	// name is __Host-sid)
	nameSet bool
	// noTokenWarned: req.csrf_token was read, nil, and the log told why
	noTokenWarned atomic.Bool
	httpOnly      bool
	sameSite      http.SameSite
	log           zerolog.Logger // where an ignored cookie is told (debug)
	csrf          bool           // the block turns the CSRF check on (see csrf.go)
	csrfOff       bool           // it says csrf: false
	secret        []byte         // what the CSRF key is derived from
}

// readSessions reads a session or sessions block (of kind, declared at
// at). A missing secret key falls back to SESSION_SECRET, as in the
// reference; no secret at all, or a short one, is an error: sessions
// signed with a secret no one chose could be forged by anyone who
// guesses it, or would not survive a restart.
func readSessions(kind, at string, v vm.Value, getenv func(string) (string, bool)) (*sessionStore, error) {
	o, err := blockSettings(kind, at, v)
	if err != nil {
		return nil, err
	}
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("%s: %s.%s: %s", at, kind, key, fmt.Sprintf(format, args...))
	}
	st := &sessionStore{name: sessionCookieName, maxAge: sessionDefaultAge, httpOnly: true, sameSite: http.SameSiteLaxMode}

	var secret string
	sv, given := o.Get("secret")
	switch {
	case !given:
		s, ok := getenv(sessionSecretEnv)
		if !ok || s == "" {
			return nil, bad("secret", "no secret: set %s in the environment (or give the block `secret: ...`) to a random string of at least %d bytes; the session cookies are signed and encrypted with it", sessionSecretEnv, sessionMinSecret)
		}
		secret = s
	case sv.IsNil():
		return nil, bad("secret", "the secret is nil (an environment variable that is not set?): set it to a random string of at least %d bytes; the session cookies are signed and encrypted with it", sessionMinSecret)
	case sv.Kind() != vm.KString:
		return nil, bad("secret", "expected a String, got %s", vm.TypeName(sv))
	default:
		secret = sv.AsString()
	}
	if len(secret) < sessionMinSecret {
		return nil, bad("secret", "the secret is %d bytes: it must be at least %d (a random string; `openssl rand -hex 32` makes one)", len(secret), sessionMinSecret)
	}
	st.secret = []byte(secret)
	// The reference's session block turns the CSRF check on; the
	// guide's sessions block relies on its cookie's SameSite.
	if st.csrf, st.csrfOff, err = csrfSetting(kind, at, o, kind == "session"); err != nil {
		return nil, err
	}

	if mv, ok := o.Get("max_age"); ok {
		d, err := duration(mv, time.Second)
		if err != nil {
			return nil, bad("max_age", "%v", err)
		}
		if d < time.Second {
			return nil, bad("max_age", "a session must last at least 1 second, got %s", vm.Repr(mv))
		}
		st.maxAge = int(min(d/time.Second, 1<<31-1)) // whole seconds, as a cookie's Max-Age
	}
	if nv, ok := o.Get("cookie_name"); ok {
		if nv.Kind() != vm.KString || nv.AsString() == "" || !httpguts.ValidHeaderFieldName(nv.AsString()) {
			return nil, bad("cookie_name", "expected a cookie name (letters, digits and !#$%%&'*+-.^_`|~), got %s", vm.Repr(nv))
		}
		st.name, st.nameSet = nv.AsString(), true
	}
	set, err := blockBool(kind, at, o, "secure", &st.secure)
	if err != nil {
		return nil, err
	}
	st.secureSet = set
	if _, err := blockBool(kind, at, o, "http_only", &st.httpOnly); err != nil {
		return nil, err
	}
	for _, prefix := range []string{"__Host-", "__Secure-"} {
		if strings.HasPrefix(st.name, prefix) && !st.secure {
			// Browsers drop such a cookie sent without Secure.
			return nil, bad("cookie_name", "a cookie named %s… needs secure: true (browsers drop one sent without Secure)", prefix)
		}
	}
	if sv, ok := o.Get("same_site"); ok {
		mode := ""
		if sv.Kind() == vm.KString {
			mode = strings.ToLower(sv.AsString())
		}
		switch mode {
		case "strict":
			st.sameSite = http.SameSiteStrictMode
		case "lax":
			st.sameSite = http.SameSiteLaxMode
		case "none":
			if !st.secure {
				// Browsers drop a SameSite=None cookie that is not Secure.
				return nil, bad("same_site", `"none" needs secure: true (browsers drop a SameSite=None cookie sent without Secure)`)
			}
			st.sameSite = http.SameSiteNoneMode
		default:
			return nil, bad("same_site", `expected "strict", "lax" or "none", got %s`, vm.Repr(sv))
		}
	}

	hashKey, err := hkdf.Key(sha256.New, []byte(secret), nil, sessionHashInfo, 32)
	if err != nil {
		return nil, err
	}
	blockKey, err := hkdf.Key(sha256.New, []byte(secret), nil, sessionBlockInfo, 32)
	if err != nil {
		return nil, err
	}
	st.codec = securecookie.New(hashKey, blockKey).
		SetSerializer(securecookie.NopEncoder{}).
		MaxAge(st.maxAge).
		MaxLength(0) // the length is checked here, with a message that says what to do
	return st, nil
}

// cookie is the Set-Cookie line of a session cookie with value; an
// expiring one (Max-Age=0) if value is "".
func (st *sessionStore) cookie(value string) string {
	c := http.Cookie{Name: st.name, Value: value, Path: "/", MaxAge: st.maxAge,
		HttpOnly: st.httpOnly, Secure: st.secure, SameSite: st.sameSite}
	if value == "" {
		c.MaxAge = -1 // Max-Age=0
	}
	return c.String()
}

// session is `req.session`: the values the request's cookie brought,
// read on first use, and what the request did to them.
type session struct {
	st   *sessionStore
	q    *reqObject
	data *vm.Object // nil until loaded
	// came is the JSON of the values the cookie brought ("{}" for none):
	// the session is sent back only if it changed
	came      string
	destroyed bool // destroy() was called (and nothing set since)
}

func (s *session) TypeName() string { return "Session" }

func (s *session) String() string { return "<Session>" }

// values loads the session from the request's cookie on first use. A
// cookie that does not open (tampered with, expired, sealed with another
// secret, not JSON) is no session: told at debug level, never an error.
func (s *session) values() *vm.Object {
	if s.data != nil {
		return s.data
	}
	s.data, s.came = vm.NewObject(), "{}"
	for _, c := range s.q.r.Cookies() {
		if c.Name != s.st.name {
			continue
		}
		why := "longer than a browser keeps"
		if len(c.Name)+1+len(c.Value) <= sessionMaxCookie {
			var b []byte
			if !canonicalBase64(c.Value) {
				// (the codec's base64 reads the unused low bits of a
				// last character as any: one cookie in four spellings,
				// which an Idempotency-Key bound to it told apart)
				why = "not a cookie this server made (its base64 is not in the one spelling the server writes)"
			} else if err := s.st.codec.Decode(s.st.name, c.Value, &b); err != nil {
				why = err.Error()
			} else if v, err := stdlib.ParseJSON(b); err != nil || v.Kind() != vm.KObject {
				why = "its values are not a JSON object"
			} else {
				s.data, s.came = v.AsObject(), string(b)
				return s.data
			}
		}
		s.st.log.Debug().Str("request_id", s.q.id).Str("cookie", c.Name).Str("why", why).Msg("session cookie ignored: the request has no session")
	}
	return s.data
}

func (s *session) GetAttr(t *vm.Thread, name string) (vm.Value, bool, error) {
	if name == "data" {
		// A copy: the session changes through set, delete and destroy.
		return vm.ObjectValue(s.values().Copy()), true, nil
	}
	return vm.Nil, false, nil
}

func (s *session) SetAttr(t *vm.Thread, name string, v vm.Value) error {
	return vm.TypeErrorf("req.session.%s cannot be set: use req.session.set(key, value)", name)
}

// JSONValue lets JSON.stringify(req.session) show its values.
func (s *session) JSONValue() vm.Value { return vm.ObjectValue(s.values().Copy()) }

// MethodParams: the methods CallMethod has (see vm.HostMethods).
func (s *session) MethodParams(name string) ([]string, bool) {
	switch name {
	case "get":
		return []string{"key", "default"}, true
	case "set":
		return []string{"key", "value"}, true
	case "delete":
		return []string{"key"}, true
	case "destroy":
		return []string{}, true
	}
	return nil, false
}

func (s *session) CallMethod(t *vm.Thread, name string, args []vm.Value) (vm.Value, bool, error) {
	key := func() (string, error) {
		if len(args) < 1 || args[0].Kind() != vm.KString {
			got := "nothing"
			if len(args) > 0 {
				got = vm.TypeName(args[0])
			}
			return "", vm.TypeErrorf("req.session.%s: the key must be a String, got %s", name, got)
		}
		return args[0].AsString(), nil
	}
	switch name {
	case "get":
		k, err := key()
		if err != nil {
			return vm.Nil, true, err
		}
		v, _ := s.values().Get(k)
		if v.IsNil() && len(args) > 1 {
			return args[1], true, nil // get(key, default), as get's
		}
		return v, true, nil
	case "set":
		k, err := key()
		if err != nil {
			return vm.Nil, true, err
		}
		if len(args) < 2 {
			return vm.Nil, true, vm.TypeErrorf("req.session.set needs a key and a value")
		}
		v, err := sessionValue(t, args[1])
		if err != nil {
			return vm.Nil, true, err
		}
		if v.IsNil() {
			// A session holding nil reads as one without the key: set
			// of nil is a delete, and changes nothing if none was there.
			s.values().Delete(k)
			return vm.Nil, true, nil
		}
		s.values().Set(k, v)
		s.destroyed = false
		return vm.Nil, true, nil
	case "delete":
		k, err := key()
		if err != nil {
			return vm.Nil, true, err
		}
		s.values().Delete(k)
		return vm.Nil, true, nil
	case "destroy":
		s.values()
		s.data, s.destroyed = vm.NewObject(), true
		return vm.Nil, true, nil
	}
	return vm.Nil, false, nil
}

// rewind drops what the request changed in the session so far: the
// values the cookie brought, for on_error to change (a failed
// request's changes are not kept; on_error's are).
func (s *session) rewind() {
	if s.data == nil {
		return
	}
	s.destroyed = false
	if v, err := stdlib.ParseJSON([]byte(s.came)); err == nil && v.Kind() == vm.KObject {
		s.data = v.AsObject()
	} else {
		s.data = vm.NewObject()
	}
}

// sessionValue is v as the session keeps it: what its JSON (as res.json
// writes it) reads back as, which is what the next request will get. A
// value JSON cannot hold is a TypeError here, where the code is.
func sessionValue(t *vm.Thread, v vm.Value) (vm.Value, error) {
	if v.IsCallable() {
		return vm.Nil, vm.TypeErrorf("req.session.set: a session cannot hold %s (a function): store data, which it keeps as JSON", vm.Repr(v))
	}
	b, err := stdlib.AppendJSON(t, nil, v)
	if err != nil {
		return vm.Nil, vm.TypeErrorf("req.session.set: a session keeps its values as JSON: %s", strings.TrimPrefix(err.Error(), "TypeError: "))
	}
	return stdlib.ParseJSON(b)
}

// reqSession returns req.session, made on first use: the same object for
// the request's middleware, guards and handler.
func (q *reqObject) reqSession() vm.Value {
	if q.sess == nil {
		q.sess = &session{st: q.sessions, q: q}
		q.sessV = vm.HostValue(q.sess)
	}
	return q.sessV
}

// saveSession adds to resp the cookie of a session the request changed:
// the session sealed again, or an expiring cookie after destroy(). A
// failed request's changes are dropped, as the cookies it set are. A
// session too large for a cookie fails the request (500), rather than
// the browser dropping the cookie without a word.
func (x *exchange) saveSession(resp *netio.Response) *netio.Response {
	s := x.req.sess
	if s == nil || s.data == nil || resp.Failure != nil && !x.onErrorAnswered {
		return resp
	}
	var line string
	switch b, err := stdlib.AppendJSON(x.th, nil, vm.ObjectValue(s.data)); {
	case err != nil:
		return x.failure(x.atRoute(err))
	case s.destroyed || string(b) == "{}" && s.came != "{}":
		line = s.st.cookie("") // an empty session is no cookie
	case string(b) == s.came:
		return resp // unchanged
	default:
		value, err := s.st.codec.Encode(s.st.name, b)
		if err != nil {
			return x.failure(x.atRoute(err))
		}
		if n := len(s.st.name) + 1 + len(value); n > sessionMaxCookie {
			return x.failure(x.atRoute(vm.Errorf("ValueError",
				"the session is too large for its cookie: %d bytes encoded (%d of JSON values), over the %d a browser keeps: keep less in req.session (an id, with the rest stored elsewhere)",
				n, len(b), sessionMaxCookie)))
		}
		line = s.st.cookie(value)
	}
	resp.Headers = append(slices.Clip(resp.Headers), netio.Header{Name: "Set-Cookie", Value: line})
	cached := false
	for i, h := range resp.Headers {
		if strings.EqualFold(h.Name, "Cache-Control") {
			// (cache_control(res, "public, max-age=60") beside the
			// session's cookie: a shared cache would hand this
			// visitor's cookie to every other)
			cached = true
			if v := privateCacheControl(h.Value); v != h.Value {
				resp.Headers[i].Value = v
				x.s.log.Warn().Str("request_id", x.requestID()).Str("cache_control", h.Value).Str("sent", v).
					Msg("a response setting the session cookie is cached privately only: its Cache-Control let shared caches keep it")
			}
		}
	}
	if !cached {
		// (no Cache-Control: an Expires, or a status cacheable by
		// default, let a shared cache keep the cookie)
		resp.Headers = append(resp.Headers, netio.Header{Name: "Cache-Control", Value: "private"})
	}
	return resp
}

// privateCacheControl is Cache-Control value v as a response that sets
// the session's cookie may have it: private (public made private, or
// private added where neither it nor no-store is), without s-maxage
// (what a shared cache may keep); or v itself when it says so already.
func privateCacheControl(v string) string {
	var out []string
	private, changed := false, false
	for _, p := range strings.Split(v, ",") {
		switch d := strings.ToLower(strings.TrimSpace(p)); {
		case d == "":
		case d == "public" || strings.HasPrefix(d, "s-maxage"):
			changed = true
		default:
			private = private || d == "private" || strings.HasPrefix(d, "private=") || d == "no-store"
			out = append(out, strings.TrimSpace(p))
		}
	}
	if !private {
		out, changed = append([]string{"private"}, out...), true
	}
	if !changed {
		return v
	}
	return strings.Join(out, ", ")
}

// canonicalBase64 reports whether s, padded base64url text, is in the
// one spelling an encoder writes: the unused low bits of the character
// before its padding zero (the codec's decoder reads them as any). It
// looks at that character alone, with no copy of the cookie per request:
// the codec refuses any other fault.
func canonicalBase64(s string) bool {
	n := len(strings.TrimRight(s, "="))
	pad := len(s) - n
	if pad == 0 || n == 0 {
		return true
	}
	v := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", s[n-1])
	mask := 0x03
	if pad >= 2 {
		mask = 0x0f
	}
	return v >= 0 && v&mask == 0
}
