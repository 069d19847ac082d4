package serve

// CSRF protection, as the reference turns it on with an `auth { }` or a
// `session { }` block: every request but GET, HEAD and OPTIONS must carry
// X-Tova-CSRF with a token from GET /csrf-token, or it is answered 403
// CSRF_INVALID before the middleware and the handler run. A browser
// sends a cookie (or keeps a login) on a request another site makes it
// send, but that site can neither read a token nor set the header
// without a CORS preflight this server's cors block would have to let
// through.
//
// A token is "<issued, Unix ms in base 36>:<16 hex digits of nonce>:
// <binding>:<HMAC-SHA256 of the rest, hex>", good for a day (the
// reference's form). GET /csrf-token's binding is "anon", as the
// reference's is in practice: the header needs no more. A page's form
// token (req.csrf_token, sent in a _csrf field, which another site's
// page can send too) is bound to the browser's tova_csrf cookie. The HMAC key comes from the block's secret by HKDF
// (the session block's, else the jwt auth block's), else from CSRF_SECRET,
// else it is made at random when the server starts (an api_key block has
// no secret): its tokens then hold in this process only.
//
// The guide's `sessions { }` block relies on its cookie's SameSite for
// this (its prose says so) and does not turn the check on; `csrf: true`
// does. `csrf: false` in an auth or session block turns it off (an API
// whose clients are not browsers).

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"tova/bytecode"
	"tova/netio"
	"tova/vm"
)

const (
	csrfHeader    = "X-Tova-CSRF"
	csrfPath      = "/csrf-token"
	csrfLifetime  = 24 * time.Hour
	csrfKeyInfo   = "tova csrf token: HMAC-SHA256 key"
	csrfSecretEnv = "CSRF_SECRET"
	csrfBinding   = "anon"
	// csrfSkew is how far ahead of this process's clock a token's time
	// may be: another process, behind the same load balancer, may run a
	// little ahead (authLeeway allows a JWT as much).
	csrfSkew = authLeeway
	// peerCallHeader marks a call from another server's code (peercall.go)
	// to an /rpc/ route, which needs no token: no page can make a
	// browser send a request with a header of its choosing to another
	// site without a CORS preflight, which is what the token relies on
	// too.
	peerCallHeader = "X-Tova-Call"
)

// csrfGuard checks a server's CSRF tokens and makes them.
type csrfGuard struct {
	key []byte
	now func() time.Time
	// cookie is the name of the cookie a form token is bound to:
	// csrfCookie, or csrfHostCookie where the session cookie is Secure
	cookie string
}

// csrfSetting reads the `csrf` key of a block's settings o: whether the
// block turns the check on (def without the key), and whether it turns
// it off (`csrf: false`), which wins over another block's turning it on.
func csrfSetting(kind, at string, o *vm.Object, def bool) (on, off bool, err error) {
	on = def
	given, err := blockBool(kind, at, o, "csrf", &on)
	return on, given && !on, err
}

// newCSRFGuard returns the server's CSRF guard, nil if neither its
// session block nor its auth block turns the check on.
func newCSRFGuard(st *sessionStore, a *authSettings, getenv func(string) (string, bool), https bool) (*csrfGuard, error) {
	if st != nil && st.csrfOff || a != nil && a.csrfOff {
		return nil, nil // csrf: false in either block
	}
	var secret []byte
	switch {
	case st != nil && st.csrf:
		secret = st.secret
	case a != nil && a.csrf:
		secret = a.secret // nil for api_key
	default:
		return nil, nil
	}
	if secret == nil {
		if s, ok := getenv(csrfSecretEnv); ok && s != "" {
			if len(s) < sessionMinSecret {
				// (as every other secret: a short one can be guessed,
				// and tokens forged offline)
				return nil, fmt.Errorf("%s is too short (%d bytes): set it to a random string of at least %d bytes", csrfSecretEnv, len(s), sessionMinSecret)
			}
			secret = []byte(s)
		}
	}
	if secret == nil {
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
	}
	key, err := hkdf.Key(sha256.New, secret, nil, csrfKeyInfo, 32)
	if err != nil {
		return nil, err
	}
	g := &csrfGuard{key: key, now: time.Now, cookie: csrfCookie}
	if st != nil && (st.secure || st.sameSite == http.SameSiteNoneMode) || https {
		// (on a site served over HTTPS, its own tls block or a session
		// cookie said Secure: a sibling subdomain could plant a plain
		// tova_csrf cookie)
		g.cookie = csrfHostCookie
	}
	return g, nil
}

// token makes a fresh token for the header, bound to no client.
func (g *csrfGuard) token() string { return g.tokenFor(csrfBinding) }

// tokenFor makes a fresh token bound to binding: csrfBinding ("anon"),
// or a client's tova_csrf cookie id, which a form's token must be bound
// to.
func (g *csrfGuard) tokenFor(binding string) string {
	var nonce [8]byte
	_, _ = rand.Read(nonce[:]) // (crypto/rand never fails on Linux)
	data := strconv.FormatInt(g.now().UnixMilli(), 36) + ":" + hex.EncodeToString(nonce[:]) + ":" + binding
	return data + ":" + hex.EncodeToString(g.sign(data))
}

// csrfCookie holds the random id of a browser that a page's form token
// (req.csrf_token) is bound to. A form field, unlike the header, is
// something another site's page can send: a token it fetched for itself
// would pass, were tokens not bound to the browser they were made for,
// whose cookie that site can neither read nor set.
const csrfCookie = "tova_csrf"

// csrfHostCookie is csrfCookie's name on a site served over HTTPS (its
// session cookie Secure): a __Host- cookie, which only the host itself
// sets, Secure and for its whole site: a sibling subdomain (or a page
// of the domain served over plain HTTP) could set a tova_csrf cookie of
// its own in a visitor's browser, and post a form with a token bound
// to it.
const csrfHostCookie = "__Host-tova_csrf"

// client is the id r's form-token cookie gives, "" if it has none (or
// not one of the runtime's: 32 hex digits).
func (g *csrfGuard) client(r *netio.Request) string {
	v, ok := r.Cookie(g.cookie)
	if !ok || !isCSRFID(v) {
		return ""
	}
	return v
}

func isCSRFID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false // (lower-case hex, as csrfClientID writes it)
		}
	}
	return true
}

// csrfClientID is the id req.csrf_token binds its token to: the
// request's cookie's, else a new one, which the answer sets (csrfSetCookie).
func (q *reqObject) csrfClientID() string {
	q.readCookies = true // (the answer is this browser's: no public cache)
	if id := q.csrf.client(q.r); id != "" {
		return id
	}
	if q.csrfNew == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		q.csrfNew = hex.EncodeToString(b[:])
	}
	return q.csrfNew
}

// csrfSetCookie is the Set-Cookie line of a new tova_csrf id: for this
// site's pages (Path=/), never read by script, sent on a form posted
// from a page of the site (SameSite=Lax; None where the session cookie
// is None), Secure as the session cookie is.
func (q *reqObject) csrfSetCookie() string {
	c := http.Cookie{Name: q.csrf.cookie, Value: q.csrfNew, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: q.csrf.cookie == csrfHostCookie}
	if q.sessions != nil && q.sessions.sameSite == http.SameSiteNoneMode {
		// an app embedded in another site's page (its session cookie
		// sent there too): a Lax cookie would not be, and every form
		// would be refused
		c.SameSite, c.Secure = http.SameSiteNoneMode, true
	}
	return c.String()
}

func (g *csrfGuard) sign(data string) []byte {
	m := hmac.New(sha256.New, g.key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// valid reports whether tok is a token this guard made in the last day
// (as the header, X-Tova-CSRF, gives it: bound to a client or to none).
func (g *csrfGuard) valid(tok string) bool {
	_, ok := g.check(tok)
	return ok
}

// check reports whether tok is a token this guard made in the last day,
// and what it is bound to.
func (g *csrfGuard) check(tok string) (binding string, ok bool) {
	parts := strings.Split(tok, ":")
	if len(parts) != 4 || parts[2] != csrfBinding && !isCSRFID(parts[2]) || len(parts[1]) != 16 {
		return "", false
	}
	ms, err := strconv.ParseInt(parts[0], 36, 64)
	if err != nil {
		return "", false
	}
	age := g.now().Sub(time.UnixMilli(ms))
	if age < -csrfSkew || age > csrfLifetime {
		return "", false
	}
	// The signature as this guard writes it, lower-case hex: one
	// token, one spelling.
	want := hex.EncodeToString(g.sign(parts[0] + ":" + parts[1] + ":" + parts[2]))
	return parts[2], subtle.ConstantTimeCompare([]byte(parts[3]), []byte(want)) == 1
}

// csrfExempt says whether a request needs no token: a GET, HEAD or
// OPTIONS, or another server's call of one of this server's functions
// (POST /rpc/<fn>: rpcPaths). A route the program declares under /rpc/
// is no such call, whatever its headers say (X-Tova-Call turned its
// check off).
func csrfExempt(r *netio.Request, rpcPaths map[string]bool) bool {
	switch r.Method {
	case fasthttp.MethodGet, fasthttp.MethodHead, fasthttp.MethodOptions:
		return true
	}
	return r.Method == fasthttp.MethodPost && rpcPaths[r.Route] && r.Header(peerCallHeader) == "1"
}

// credentialed reports whether r carries credentials the server's auth
// block lets in: a valid bearer token (jwt) or API key (api_key). Such a
// request needs no CSRF token: no browser sends either by itself (as it
// does a cookie, or Basic credentials it keeps), and a page of another
// site sets the header only past a CORS preflight, as it would
// X-Tova-CSRF; an API whose clients send tokens or keys needs no token
// more. (A header of no valid credential waives nothing.)
func credentialed(a *authSettings, r *netio.Request) bool {
	if a == nil {
		return false
	}
	_, why := a.authenticate(r)
	return why == ""
}

// csrfRefused is the 403 answer of a request without a valid token;
// why, if not "", says what was wrong with its form's token.
func csrfRefused(id, why string) vm.Value {
	// (the next step named: an API of keys met it at its first POST)
	msg := "CSRF token invalid or missing: send the token GET /csrf-token gives as X-Tova-CSRF, or a form's as its _csrf field (req.csrf_token) (an API whose clients send keys, not cookies, may set csrf: false in its auth or session block)"
	if why != "" {
		msg = "CSRF token refused: " + why
	}
	r := errorResponse(403, "CSRF_INVALID", msg, id, nil)
	return vm.HostValue(&responseValue{status: 403, statusSet: true, ctype: r.ContentType, body: r.Body})
}

// formRefusal says why a form's _csrf token, valid but for the binding,
// was refused: "" when the form has none such.
func (g *csrfGuard) formRefusal(r *netio.Request) string {
	client := g.client(r)
	for _, t := range csrfFormFields(r) {
		b, ok := g.check(t)
		switch {
		case !ok:
			continue
		case b == csrfBinding:
			return "the form's _csrf token is one of GET /csrf-token's, which go in the X-Tova-CSRF header: a form's comes from req.csrf_token in its page"
		case client == "":
			if _, sent := r.Cookie(g.cookie); sent {
				// (one of another form: not an id this runtime made)
				return "the form's _csrf token is bound to the browser's " + g.cookie + " cookie, and this request's is not one the server made (load the form's page again)"
			}
			return "the form's _csrf token is bound to the browser's " + g.cookie + " cookie, which this request did not carry (the page that gave the token sets it; load the page again)"
		default:
			return "the form's _csrf token was made for another browser, or for a " + g.cookie + " cookie since replaced (load the form's page again)"
		}
	}
	switch _, late := csrfFormTokens(r, true); late {
	case afterFile:
		return "the form's _csrf field comes after a file: a multipart form's token is read from the fields before its first file (put the hidden _csrf input before the file inputs)"
	case afterLimit:
		return fmt.Sprintf("the form's _csrf field comes after its first %d parts, which are all a multipart form's token is read from (put the hidden _csrf input first)", csrfFormParts)
	}
	return ""
}

// csrfField is the form field a page's form sends its token in, where
// it cannot set a header (a form posted without JavaScript).
const csrfField = "_csrf"

// csrfFormFields are the tokens a urlencoded or multipart form body
// gives in its _csrf fields, none if none: the body is read as req.body
// reads it (a field "a;b" or "100%" is taken as it is); of a multipart
// body, the fields before the first file, a file's content never.
func csrfFormFields(r *netio.Request) []string {
	out, _ := csrfFormTokens(r, false)
	return out
}

// csrfFormParts bounds the parts of a multipart form read for its _csrf
// field (each costs a header's parsing, and a hostile body of max_body
// can hold tens of thousands): more than a form of a page has (it was 64,
// and a form of 70 fields was refused).
const csrfFormParts = 1000

// Where a _csrf field the check did not read stands (csrfFormTokens).
const (
	afterFile  = 1 // after a multipart form's first file
	afterLimit = 2 // past its first csrfFormParts parts
)

// csrfFormTokens is csrfFormFields; with past, it reads a multipart
// body on past its first file, and past its first csrfFormParts parts
// (up to ten times as many), to tell whether a _csrf field comes there,
// where the check does not read it (its 403 then says where the field
// goes): only for a request already refused.
func csrfFormTokens(r *netio.Request, past bool) (out []string, late int) {
	ct, params, err := mime.ParseMediaType(r.ContentType)
	if err != nil {
		return nil, 0
	}
	switch ct {
	case "application/x-www-form-urlencoded":
		netio.ParseQuery(r.BodyString(), func(k, v string) {
			if k == csrfField && len(out) < 8 {
				out = append(out, v)
			}
		})
	case "multipart/form-data":
		mr := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
		file := false
		n := csrfFormParts
		if past {
			n *= 10
		}
		for i := range n {
			part, err := mr.NextPart()
			switch {
			case err != nil:
				return out, 0
			case part.FileName() != "":
				if !past {
					return out, 0 // (what follows a file is not read)
				}
				file = true
			case part.FormName() == csrfField && file:
				return out, afterFile
			case part.FormName() == csrfField && i >= csrfFormParts:
				return out, afterLimit
			case part.FormName() == csrfField && len(out) < 8:
				b, _ := io.ReadAll(io.LimitReader(part, 256))
				out = append(out, string(b))
			}
		}
	}
	return out, 0
}

// validForm reports whether one of the form's _csrf fields holds a
// valid token bound to the browser that sends it (its tova_csrf
// cookie): a page of another site can post a form with a token it got
// for itself, but not the victim's cookie for that token.
func (g *csrfGuard) validForm(r *netio.Request) bool {
	client := g.client(r)
	if client == "" {
		return false
	}
	for _, t := range csrfFormFields(r) {
		if b, ok := g.check(t); ok && b == client {
			return true
		}
	}
	return false
}

// csrfRoute registers GET /csrf-token, which answers {"token": "..."},
// unless the server declares that route itself.
func (s *Server) csrfRoute(r *netio.Router) error {
	if s.csrf == nil {
		return nil
	}
	for _, old := range r.Routes() {
		if old.Method == "GET" && old.Pattern == csrfPath {
			return nil
		}
	}
	if m := r.Lookup("GET", csrfPath, nil); m.Route != nil {
		// (GET /:code: the token route, which clients need, is kept,
		// and a code csrf-token never reaches the program)
		s.log.Warn().Str("route", "GET "+m.Route.Pattern).Msg("GET /csrf-token answers CSRF tokens, and the route that would match it otherwise never sees that path: declare GET /csrf-token yourself to answer it")
	}
	g := s.csrf
	fn := vm.BuiltinValue(&vm.Builtin{Name: "csrf token", Pure: true, Fn: func(*vm.Thread, []vm.Value) (vm.Value, error) {
		o := vm.NewObject()
		o.Set("token", vm.Str(g.token()))
		// Never kept: a cache block's default (public, a year) made a
		// token a browser or a CDN served on past its day, and every
		// form then failed with 403.
		body := vm.ObjectValue(o)
		r := &responseValue{status: 200, ctype: "application/json", jsonBody: &body}
		r.set("Cache-Control", "no-store")
		return vm.HostValue(r), nil
	}})
	rt := bytecode.Route{Kind: "route", Method: "GET", Path: csrfPath}
	return r.Handle("GET", csrfPath, s.routeHandler(rt, fn, nil, 0))
}
