package netio

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// CORS is a server's cross-origin policy (a Tova `cors { }` block).
// The front end applies it to every answer, error answers included, and
// answers preflight requests itself, on any path, before routing.
type CORS struct {
	// Origins allowed, as browsers send them (scheme://host[:port]);
	// "*" allows any.
	Origins []string
	// Methods, Headers: what a preflight allows; Expose: the response
	// headers a page's script may read.
	Methods, Headers, Expose []string
	// Credentials sends Access-Control-Allow-Credentials: true.
	Credentials bool
	// MaxAge is how long a browser may keep a preflight's answer, in
	// whole seconds: 0 sends 0 (keep none); a negative one sends no
	// Access-Control-Max-Age (browsers keep an answer 5 seconds).
	MaxAge time.Duration
}

// corsPolicy is a CORS with its header values made once.
type corsPolicy struct {
	any         bool                // Origins has "*"
	origins     map[string]struct{} // lower-cased
	credentials bool
	methods     string
	headers     string
	expose      string
	maxAge      string
}

func newCORSPolicy(c *CORS) (*corsPolicy, error) {
	p := &corsPolicy{origins: map[string]struct{}{}, credentials: c.Credentials}
	for _, o := range c.Origins {
		if o == "*" {
			p.any = true
			continue
		}
		if err := CheckOrigin(o); err != nil {
			return nil, err
		}
		p.origins[canonOrigin(o)] = struct{}{}
	}
	if !p.any && len(p.origins) == 0 {
		return nil, errors.New("no origin is allowed: give origins")
	}
	p.methods = strings.Join(c.Methods, ", ")
	p.headers = strings.Join(c.Headers, ", ")
	p.expose = strings.Join(c.Expose, ", ")
	if c.MaxAge >= 0 {
		p.maxAge = strconv.FormatInt(int64(c.MaxAge/time.Second), 10)
	}
	return p, nil
}

// CheckOrigin reports whether o can be an allowed origin:
// scheme://host with an optional port (1 to 65535), and no path, query,
// space or wildcard (a trailing "/" is forgiven). "null", the origin of
// sandboxed frames and file: pages, which any site can make, is refused:
// allowing it (with credentials) let every site read the answers.
func CheckOrigin(o string) error {
	bad := func(why string) error {
		return errors.New("not an origin (scheme://host[:port], as browsers send in Origin): " + strconv.Quote(o) + why)
	}
	if o == "null" {
		return bad(": the origin of sandboxed frames and file: pages, which any site can make")
	}
	scheme, host, ok := strings.Cut(strings.TrimSuffix(o, "/"), "://")
	if !ok || !isScheme([]byte(scheme)) || host == "" || strings.ContainsAny(host, "/?#@ \t") {
		return bad("")
	}
	if strings.Contains(host, "*") {
		return bad(": a wildcard matches no origin (list each one)")
	}
	name, port := host, ""
	if strings.HasPrefix(host, "[") { // [::1]:8080
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return bad("")
		}
		name, port = host[:end+1], host[end+1:]
		if port != "" && port[0] != ':' {
			return bad("")
		}
		port = strings.TrimPrefix(port, ":")
	} else if i := strings.LastIndexByte(host, ':'); i >= 0 {
		name, port = host[:i], host[i+1:]
	}
	if name == "" || strings.Contains(name, ":") && !strings.HasPrefix(name, "[") {
		return bad("")
	}
	if strings.Contains(host, ":") && !strings.HasSuffix(name, "]") || port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port[0] == '+' {
			return bad(": the port is a number from 1 to 65535")
		}
	}
	return nil
}

// canonOrigin is an allowed origin as a browser sends it in Origin:
// lower-case, with no trailing "/" and no default port (a browser sends
// https://x for https://x:443, and the origin listed so matched none).
func canonOrigin(o string) string {
	o = strings.ToLower(strings.TrimSuffix(o, "/"))
	for _, d := range defaultPorts {
		if strings.HasPrefix(o, d.scheme) && strings.HasSuffix(o, d.port) {
			return o[:len(o)-len(d.port)]
		}
	}
	return o
}

// defaultPorts are the schemes' ports an Origin never names.
var defaultPorts = [...]struct{ scheme, port string }{
	{"https://", ":443"}, {"http://", ":80"}, {"wss://", ":443"}, {"ws://", ":80"},
}

// allowed returns the Access-Control-Allow-Origin value for a request
// from origin ("" when the request names none), or "" if it is not
// allowed.
func (p *corsPolicy) allowed(origin []byte) string {
	if p.any && !p.credentials {
		return "*"
	}
	if len(origin) == 0 {
		return ""
	}
	if _, ok := p.origins[canonOrigin(string(origin))]; ok {
		return string(origin)
	}
	if p.any && string(origin) != "null" {
		// "*" with credentials: the origin itself, as a browser
		// refuses a credentialed answer allowing "*".
		return string(origin)
	}
	return ""
}

// varies reports whether the answer depends on the request's Origin.
func (p *corsPolicy) varies() bool { return !p.any || p.credentials }

// decorate adds the policy's headers to an answer (not a preflight's).
// A header the handler set itself is kept.
func (p *corsPolicy) decorate(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	if p.varies() && !VaryNames(h.PeekAll(fasthttp.HeaderVary), "Origin") {
		h.Add(fasthttp.HeaderVary, "Origin")
	}
	allow := p.allowed(ctx.Request.Header.Peek(fasthttp.HeaderOrigin))
	if allow == "" || len(h.Peek(fasthttp.HeaderAccessControlAllowOrigin)) > 0 {
		return
	}
	h.Set(fasthttp.HeaderAccessControlAllowOrigin, allow)
	if p.credentials {
		h.Set(fasthttp.HeaderAccessControlAllowCredentials, "true")
	}
	if p.expose != "" {
		h.Set(fasthttp.HeaderAccessControlExposeHeaders, p.expose)
	}
}

// preflight answers a CORS preflight request (OPTIONS with Origin and
// Access-Control-Request-Method) with 204 and reports true; any other
// request is left alone. An origin not allowed gets the 204 without
// the allow headers, which the browser takes as a refusal.
func (p *corsPolicy) preflight(ctx *fasthttp.RequestCtx) bool {
	rh := &ctx.Request.Header
	if !rh.IsOptions() {
		return false
	}
	origin := rh.Peek(fasthttp.HeaderOrigin)
	if len(origin) == 0 || len(rh.Peek(fasthttp.HeaderAccessControlRequestMethod)) == 0 {
		return false
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	h := &ctx.Response.Header
	h.Add(fasthttp.HeaderVary, "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
	allow := p.allowed(origin)
	if allow == "" {
		return true
	}
	h.Set(fasthttp.HeaderAccessControlAllowOrigin, allow)
	if p.credentials {
		h.Set(fasthttp.HeaderAccessControlAllowCredentials, "true")
	}
	h.Set(fasthttp.HeaderAccessControlAllowMethods, p.methods)
	if p.headers != "" {
		h.Set(fasthttp.HeaderAccessControlAllowHeaders, p.headers)
	}
	if p.maxAge != "" {
		h.Set(fasthttp.HeaderAccessControlMaxAge, p.maxAge)
	}
	return true
}
