package serve

// Authentication (`auth { type, secret, issuer, audience, header, keys }`
// and the route guards `with auth` and `with role("admin")`).
//
// A jwt block (the default type) takes `Authorization: Bearer <token>`,
// an HS256 token signed with the block's secret (or AUTH_SECRET, then
// JWT_SECRET, from the environment); its exp and nbf are checked (with
// authLeeway), and its iss and aud when the block names an issuer or an
// audience. The token's claims become req.user. An api_key block takes
// a header (X-API-Key unless the block names another) that must equal
// one of its keys; req.user is then { key: <the key> }.

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/net/http/httpguts"

	"tova/netio"
	"tova/vm"
	"tova/vm/stdlib"
)

// authKeys are the keys of an auth block.
var authKeys = []string{"type", "secret", "issuer", "audience", "header", "keys", "csrf"}

// authSecretEnvs are read, in order, for a jwt block without a secret.
var authSecretEnvs = []string{"AUTH_SECRET", "JWT_SECRET"}

const (
	// authMinSecret is the shortest HS256 secret accepted, in bytes.
	authMinSecret = 16
	// authLeeway is the clock skew allowed in checking exp and nbf.
	authLeeway = 30 * time.Second
	// authDefaultHeader is the header an api_key block reads.
	authDefaultHeader = "X-API-Key"
)

// authSettings is a server's auth block.
type authSettings struct {
	apiKey   bool                // type: "api_key"; else jwt
	secret   []byte              // jwt
	issuer   string              // jwt: "" checks none
	audience string              // jwt: "" checks none
	header   string              // api_key
	keys     []string            // api_key
	keySums  [][sha256.Size]byte // api_key: the keys' SHA-256 sums, which a request's is compared with
	parser   *jwt.Parser
	csrf     bool // the block turns the CSRF check on (see csrf.go)
	csrfOff  bool // it says csrf: false
}

// readAuth reads an auth block's value v, declared at at. getenv gives
// the secret of a jwt block that names none.
func readAuth(at string, v vm.Value, getenv func(string) (string, bool)) (*authSettings, error) {
	o, err := blockSettings("auth", at, v)
	if err != nil {
		return nil, err
	}
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("%s: auth.%s: %s", at, key, fmt.Sprintf(format, args...))
	}
	str := func(key string) (string, bool, error) {
		s, ok := o.Get(key)
		if !ok {
			return "", false, nil
		}
		if s.Kind() != vm.KString || s.AsString() == "" {
			return "", false, bad(key, "expected a non-empty String, got %s", vm.Repr(s))
		}
		return s.AsString(), true, nil
	}
	a := &authSettings{}
	if a.csrf, a.csrfOff, err = csrfSetting("auth", at, o, true); err != nil {
		return nil, err
	}
	typ, _, err := str("type")
	if err != nil {
		return nil, err
	}
	switch typ {
	case "", "jwt":
	case "api_key":
		a.apiKey = true
	default:
		return nil, bad("type", "expected \"jwt\" or \"api_key\", got %q", typ)
	}
	if a.apiKey {
		for _, k := range []string{"secret", "issuer", "audience"} {
			if _, ok := o.Get(k); ok {
				return nil, bad(k, "a setting of a jwt block, not of an api_key one")
			}
		}
		a.header = authDefaultHeader
		if h, ok, err := str("header"); err != nil {
			return nil, err
		} else if ok {
			if !httpguts.ValidHeaderFieldName(h) {
				return nil, bad("header", "expected a header name, got %q", h)
			}
			a.header = h
		}
		kv, ok := o.Get("keys")
		if !ok || kv.Kind() != vm.KArray || len(kv.AsArray().Elems) == 0 {
			return nil, bad("keys", "an api_key block needs keys: a non-empty list of key Strings, got %s", shapeOrNone(kv, ok))
		}
		for _, k := range kv.AsArray().Elems {
			// (trimmed, as a header's value is: "k1, k2" split at the
			// commas gave " k2", which no request could send)
			if k.Kind() != vm.KString || strings.TrimSpace(k.AsString()) == "" {
				return nil, bad("keys", "expected non-empty Strings, got %s", shapeOf(k))
			}
			a.keys = append(a.keys, strings.TrimSpace(k.AsString()))
			a.keySums = append(a.keySums, sha256.Sum256([]byte(a.keys[len(a.keys)-1])))
		}
		return a, nil
	}
	for _, k := range []string{"header", "keys"} {
		if _, ok := o.Get(k); ok {
			return nil, bad(k, "a setting of an api_key block (type: \"api_key\"), not of a jwt one")
		}
	}
	secret := ""
	sv, given := o.Get("secret")
	switch {
	case !given:
		for _, name := range authSecretEnvs {
			if s, ok := getenv(name); ok && s != "" {
				secret = s
				break
			}
		}
		if secret == "" {
			return nil, bad("secret", "no secret: set AUTH_SECRET (or JWT_SECRET) in the environment, or give the block `secret: ...`, to a random string of at least %d bytes; tokens are checked with it", authMinSecret)
		}
	case sv.IsNil() || vm.VariantOf(sv) == vm.NoneType:
		return nil, bad("secret", "expected a String, got %s (an environment variable that is not set?)", shapeOf(sv))
	case sv.Kind() != vm.KString:
		return nil, bad("secret", "expected a String, got %s", shapeOf(sv))
	default:
		secret = sv.AsString()
	}
	if len(secret) < authMinSecret {
		return nil, bad("secret", "the secret is %d bytes: it must be at least %d (a random string; `openssl rand -hex 32` makes one)", len(secret), authMinSecret)
	}
	a.secret = []byte(secret)
	if a.issuer, _, err = str("issuer"); err != nil {
		return nil, err
	}
	if a.audience, _, err = str("audience"); err != nil {
		return nil, err
	}
	// Strict decoding: one token has one text (no padding, no stray low
	// bits in its last character), so that a list of tokens refused by
	// their text (logged out) cannot be passed by another spelling.
	opts := []jwt.ParserOption{jwt.WithLeeway(authLeeway), jwt.WithJSONNumber(), jwt.WithStrictDecoding()}
	if a.issuer != "" {
		opts = append(opts, jwt.WithIssuer(a.issuer))
	}
	if a.audience != "" {
		opts = append(opts, jwt.WithAudience(a.audience))
	}
	a.parser = jwt.NewParser(opts...)
	return a, nil
}

func shapeOrNone(v vm.Value, given bool) string {
	if !given {
		return "none"
	}
	return shapeOf(v)
}

// shapeOf describes a value that may hold a secret (keys, a signing
// secret, a private key an environment variable gave) without its
// contents, for a start-up error that goes to a log: `a String of 31
// characters`, `an Object with keys secret`, `a List of 2 values`.
func shapeOf(v vm.Value) string {
	switch v.Kind() {
	case vm.KNil:
		return "nil"
	case vm.KString:
		return fmt.Sprintf("a String of %d characters", utf8.RuneCountInString(v.AsString()))
	case vm.KArray:
		return fmt.Sprintf("a List of %d values", len(v.AsArray().Elems))
	case vm.KObject:
		if o := v.AsObject(); o.Type == nil && o.Len() == 0 {
			return "an empty Object"
		} else if o.Type == nil {
			return "an Object with keys " + strings.Join(o.Keys(), ", ")
		}
	case vm.KBool, vm.KInt, vm.KFloat, vm.KDuration, vm.KSize:
		return vm.TypeName(v) + " " + vm.Repr(v) // no secret is a number
	}
	n := vm.TypeName(v)
	if strings.ContainsRune("AEIOU", rune(n[0])) {
		return "an " + n
	}
	return "a " + n
}

// errAuthAlg is the refusal of a token not signed with HS256, errAuthCrit
// of one with critical header parameters.
var (
	errAuthAlg  = errors.New("alg")
	errAuthCrit = errors.New("crit")
)

// maxClaimTime is the last second of the year 9999, the latest time a
// token's exp or nbf may name.
const maxClaimTime = 253402300799

// wrongTypeClaim says which claim of a token has a type it may not
// have, from the library's error message ("... aud is invalid").
func wrongTypeClaim(msg string, claims jwt.MapClaims) string {
	for _, c := range []struct{ name, want string }{{"iss", "a String"}, {"aud", "a String or a list of Strings"}, {"sub", "a String"}} {
		if _, ok := claims[c.name]; ok && strings.Contains(msg, c.name+" is invalid") {
			return "its " + c.name + " claim is not " + c.want
		}
	}
	return "a claim has the wrong type"
}

// timesOutOfRange says why a token's exp, nbf or iat is no time this
// server reads (not a number, or one before the year 1 or after 9999),
// or "".
func timesOutOfRange(claims jwt.MapClaims) string {
	for _, name := range []string{"exp", "nbf", "iat"} {
		v, given := claims[name]
		n, ok := v.(json.Number)
		if given && !ok {
			return "invalid token: its " + name + " is not a number of seconds"
		}
		if !ok {
			continue
		}
		switch f, err := n.Float64(); {
		case err != nil || f > maxClaimTime:
			return "invalid token: its " + name + " is no time (past the year 9999)"
		case f < -62135596800:
			return "invalid token: its " + name + " is no time (before the year 1)"
		}
	}
	return ""
}

// soleHeader returns the value of the request's header name, and
// whether it came more than once (an ambiguous credential, refused).
func soleHeader(r *netio.Request, name string) (string, bool) {
	vs := r.Headers().Values(name)
	if len(vs) == 0 {
		return "", false
	}
	return vs[0], len(vs) > 1
}

// authenticate checks the request r's credentials: the user they name,
// or why they do not (a message that never holds the token).
func (a *authSettings) authenticate(r *netio.Request) (vm.Value, string) {
	if a.apiKey {
		got, many := soleHeader(r, a.header)
		if many {
			return vm.Nil, "more than one " + a.header + " header"
		}
		if got == "" {
			return vm.Nil, "missing API key: send it in the " + a.header + " header"
		}
		// (compared as SHA-256 sums, of one length: ConstantTimeCompare
		// of the keys themselves returned at once for another length)
		sum := sha256.Sum256([]byte(got))
		found := -1
		for i, ks := range a.keySums { // every key, whichever matches
			if subtle.ConstantTimeCompare(sum[:], ks[:]) == 1 {
				found = i
			}
		}
		if found < 0 {
			return vm.Nil, "invalid API key"
		}
		u := vm.NewObject()
		u.Set("key", vm.Str(a.keys[found]))
		return vm.ObjectValue(u), ""
	}
	h, many := soleHeader(r, "Authorization")
	if many {
		return vm.Nil, "more than one Authorization header"
	}
	if h == "" {
		return vm.Nil, "missing token: send Authorization: Bearer <token>"
	}
	scheme, tok, _ := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return vm.Nil, "malformed Authorization header: expected Bearer <token>"
	}
	claims := jwt.MapClaims{}
	_, err := a.parser.ParseWithClaims(tok, claims, func(t *jwt.Token) (any, error) {
		if t.Method != jwt.SigningMethodHS256 {
			return nil, errAuthAlg
		}
		if _, ok := t.Header["crit"]; ok {
			return nil, errAuthCrit // RFC 7515 §4.1.11: refused, understood or not
		}
		return a.secret, nil
	})
	if why := timesOutOfRange(claims); why != "" {
		// (past the Int64 nanoseconds the library counts in, exp and nbf
		// wrap: a far nbf let the token in, a far exp refused it)
		return vm.Nil, why
	}
	switch {
	case err == nil:
	case errors.Is(err, errAuthCrit):
		return vm.Nil, "invalid token: it has critical header parameters (crit)"
	case errors.Is(err, errAuthAlg), errors.Is(err, jwt.ErrTokenUnverifiable):
		// (an alg of another spelling, "None", "hs256", or none at all)
		return vm.Nil, "invalid token: it is not signed with HS256"
	case errors.Is(err, jwt.ErrTokenExpired):
		return vm.Nil, "expired token"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return vm.Nil, "token not valid yet"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return vm.Nil, "invalid token: wrong issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return vm.Nil, "invalid token: wrong audience"
	case errors.Is(err, jwt.ErrInvalidType):
		return vm.Nil, "invalid token: " + wrongTypeClaim(err.Error(), claims)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		if aud, ok := claims["aud"].([]any); ok && len(aud) == 0 && strings.Contains(err.Error(), "aud claim is required") {
			return vm.Nil, "invalid token: wrong audience" // (none, of a list)
		}
		for _, name := range []string{"iss", "aud"} {
			if v, ok := claims[name]; ok && v == "" && strings.Contains(err.Error(), name+" claim is required") {
				// (an empty String: a claim of the wrong value, not type)
				return vm.Nil, map[string]string{"iss": "invalid token: wrong issuer", "aud": "invalid token: wrong audience"}[name]
			}
			if v, ok := claims[name]; ok && v != nil && strings.Contains(err.Error(), name+" claim is required") {
				// (there, of a type the library does not read: aud: 5)
				return vm.Nil, "invalid token: " + wrongTypeClaim(name+" is invalid", claims)
			}
		}
		switch {
		case strings.Contains(err.Error(), "iss claim is required"):
			return vm.Nil, "invalid token: no issuer claim (iss), which the auth block's issuer requires"
		case strings.Contains(err.Error(), "aud claim is required"):
			return vm.Nil, "invalid token: no audience claim (aud), which the auth block's audience requires"
		}
		return vm.Nil, "invalid token: no issuer or audience claim"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return vm.Nil, "invalid token: bad signature"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return vm.Nil, "malformed token"
	default:
		return vm.Nil, "invalid token"
	}
	b, err := json.Marshal(map[string]any(claims))
	if err != nil {
		return vm.Nil, "invalid token"
	}
	u, err := stdlib.ParseJSON(b)
	if err != nil || u.Kind() != vm.KObject {
		return vm.Nil, "invalid token"
	}
	return u, ""
}

// unauthorized is the 401 answer of a request whose credentials a
// guard refused, with WWW-Authenticate. Its code is the reference's
// (AUTH_REQUIRED), which clients written for it test; its message says
// what was wrong.
func (a *authSettings) unauthorized(id, why string) vm.Value {
	challenge := "Bearer"
	if a.apiKey {
		challenge = `APIKey header="` + a.header + `"`
	}
	r := errorResponse(401, "AUTH_REQUIRED", why, id, nil)
	return vm.HostValue(&responseValue{status: 401, statusSet: true, ctype: r.ContentType, body: r.Body,
		headers: netio.Headers{{Name: "WWW-Authenticate", Value: challenge}}})
}

var (
	authGuard = &vm.Builtin{Name: "auth", Params: []string{"req", "res"}, Pure: true, Fn: builtinAuth}
	roleMaker = &vm.Builtin{Name: "role", Params: []string{"name"}, Pure: true, Fn: builtinRole}
)

func init() {
	vm.Register(authGuard)
	vm.Register(roleMaker)
}

// credentialGuard reports whether g is a guard of the auth block's
// credentials: with auth, with role("admin").
func credentialGuard(g vm.Value) bool {
	return g.Kind() == vm.KBuiltin && (g.AsBuiltin() == authGuard || g.AsBuiltin().Name == "role")
}

// guardRequest is the request a guard named what (as a `with` names
// it: auth, role("admin"), rate_limit(5, 60)) was called with.
func guardRequest(what string, args []vm.Value) (*reqObject, error) {
	var q *reqObject
	if len(args) > 0 {
		q, _ = args[0].AsHostOK().(*reqObject)
	}
	if q == nil {
		got := "nothing"
		if len(args) > 0 {
			got = shapeOf(args[0])
		}
		hint := ""
		if what == "auth" {
			hint = " (write `with auth`, not `with auth()`)"
		}
		return nil, vm.TypeErrorf("%s is a route guard, for `with %s`: it is called with the request, got %s%s", what, what, got, hint)
	}
	return q, nil
}

// identify sets req.user when q's credentials pass the server's auth
// block, and refuses nothing, for the time of a rate limit's key
// function, which runs before middleware and the route's guards: it may
// count by the token's subject (`key: fn(req) req.user?.sub ?? req.ip`).
// undo takes req.user back, so that a rate limit changes nothing of
// what middleware, guards and handlers see: `with auth` checks the
// credentials after middleware, as without one (its users are not those
// a middleware may have put in req.user, whatever role they claim).
func (q *reqObject) identify() (undo func()) {
	// The key function's req is its own: what it sets (req.user = …,
	// req.id, any field) is gone with it, as is the user set here.
	// Its req.body is its own parse of the body too: req.body.admin =
	// true there reached the handler.
	saved, id := q.extra, q.id
	body, bodyErr, parsed := q.body, q.bodyErr, q.parsed
	q.body, q.bodyErr, q.parsed = vm.Nil, nil, false
	q.extra = vm.NewObject()
	if saved != nil {
		q.extra = saved.Copy()
	}
	undo = func() {
		q.extra = saved
		q.body, q.bodyErr, q.parsed = body, bodyErr, parsed
		if q.id != id {
			q.id = id // (req.id = …: the request's id, kept)
			q.r.SetID(id)
		}
	}
	if q.auth == nil || q.authed {
		return undo
	}
	if user, why := q.auth.authenticate(q.r); why == "" {
		q.extra.Set("user", user)
	}
	return undo
}

// setUser makes user, whom the auth block let in, req.user.
func (q *reqObject) setUser(user vm.Value) {
	q.authed = true
	q.setExtra("user", user)
}

// login runs the server's auth block on q once: nil if it passed (and
// req.user is set), else the 401 answer.
func login(q *reqObject, what string) (vm.Value, error) {
	if q.auth == nil {
		return vm.Nil, vm.Errorf("ValueError", "%s: the server has no auth { } block", what)
	}
	if q.authed {
		return vm.Nil, nil
	}
	user, why := q.auth.authenticate(q.r)
	if why != "" {
		return q.auth.unauthorized(q.id, why), nil
	}
	q.setUser(user)
	return vm.Nil, nil
}

// auth is the reference's route decorator `with auth`: a guard that
// refuses (401) a request without valid credentials of the server's
// auth block, and sets req.user for the others.
func builtinAuth(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	q, err := guardRequest("auth", args)
	if err != nil {
		return vm.Nil, err
	}
	return login(q, "with auth")
}

// role(name) is the reference's route decorator `with role("admin")`: a
// guard that authenticates the request as `with auth` does (if no guard
// has yet) and refuses it (403) unless req.user.role is name or
// req.user.roles is a list holding it.
func builtinRole(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if len(args) != 1 || args[0].Kind() != vm.KString || args[0].AsString() == "" {
		return vm.Nil, vm.TypeErrorf("role(name) takes one role name String, as in role(\"admin\")")
	}
	name := args[0].AsString()
	what := fmt.Sprintf("with role(%q)", name)
	guard := func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		q, err := guardRequest(strings.TrimPrefix(what, "with "), args)
		if err != nil {
			return vm.Nil, err
		}
		if v, err := login(q, what); err != nil || !v.IsNil() {
			return v, err
		}
		if !hasRole(q.extra, name) {
			return vm.Nil, &httpError{status: 403, code: "FORBIDDEN", message: "requires the role " + name}
		}
		return vm.Nil, nil
	}
	return vm.BuiltinValue(&vm.Builtin{Name: "role", Params: []string{"req", "res"}, Pure: true, Fn: guard}), nil
}

// hasRole reports whether the user in req's fields has the role name:
// user.role is name, or user.roles is a list holding it.
func hasRole(extra *vm.Object, name string) bool {
	u, _ := extra.Get("user")
	if u.Kind() != vm.KObject {
		return false
	}
	o := u.AsObject()
	if r, ok := o.Get("role"); ok && r.Kind() == vm.KString && r.AsString() == name {
		return true
	}
	if rs, ok := o.Get("roles"); ok && rs.Kind() == vm.KArray {
		for _, r := range rs.AsArray().Elems {
			if r.Kind() == vm.KString && r.AsString() == name {
				return true
			}
		}
	}
	return false
}

// checkAuthGuard refuses, when the server starts, a route guard that
// authenticates (with auth, with role(...)) on a server without an auth
// block, which would otherwise leave the route open or failing, and the
// role maker put as a guard without its name.
func (s *Server) checkAuthGuard(v vm.Value, at, route string) error {
	if v.Kind() != vm.KBuiltin {
		return nil
	}
	b := v.AsBuiltin()
	switch {
	case b == roleMaker:
		return fmt.Errorf("%s: route %s: with role needs the role's name: with role(\"admin\")", at, route)
	case (b == authGuard || b.Name == "role") && s.auth == nil:
		return fmt.Errorf("%s: route %s: with %s needs an auth { } block on the server (type: \"jwt\" or \"api_key\"); without one the route would not be protected", at, route, b.Name)
	}
	return nil
}
