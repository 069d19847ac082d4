package serve

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"tova/netio"
	"tova/vm"
	"tova/vm/stdlib"
)

// fetch(url, { method, headers, body, timeout, redirect, max_body })
// sends an HTTP request and returns its response, body read: `.status`,
// `.ok`, `.statusText`, `.url`, `.redirected`, `.headers` (read as
// req.headers are), `.text()`, `.json()`. It waits as sleep does, with
// the server's state released (other requests run meanwhile), and the
// request's deadline ends it. A response of any status is returned, as
// the Fetch API does; a failed exchange (no connection, a name that does
// not resolve, the timeout, a body over max_body) raises a FetchError;
// the deadline or the program stopping, Cancelled. A handler that
// returns a fetch response sends it on (status, Content-Type, headers,
// body).
func builtinFetch(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if len(args) < 1 || args[0].Kind() != vm.KString {
		got := "nothing"
		if len(args) > 0 {
			got = vm.TypeName(args[0])
		}
		return vm.Nil, vm.TypeErrorf("fetch: expected a URL string, got %s", got)
	}
	r := netio.OutboundRequest{URL: args[0].AsString(), Timeout: defaultFetchTimeout}
	if u, err := url.Parse(r.URL); err != nil {
		if hint := urlHint(r.URL); hint != "" {
			// ("127.0.0.1:3000/x" did not parse: "first path segment in
			// URL cannot contain colon")
			return vm.Nil, vm.Errorf("ValueError", "fetch: %q is not an absolute http or https URL%s", withoutQuery(netio.WithoutPasswords(r.URL)), hint)
		}
		// (not shown: it may hold a password)
		return vm.Nil, vm.Errorf("ValueError", "fetch: the URL does not parse: %v", errors.Unwrap(err))
	} else if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		// The URL as written ("not a url", not url's "not%20a%20url"),
		// but without a password it holds.
		shown := r.URL
		if _, has := u.User.Password(); has {
			shown = u.Redacted()
		} else {
			shown = netio.WithoutPasswords(shown) // (written without a scheme)
		}
		return vm.Nil, vm.Errorf("ValueError", "fetch: %q is not an absolute http or https URL%s", withoutQuery(shown), urlHint(r.URL))
	}
	if len(args) > 1 {
		if err := fetchOptions(t, &r, args[1]); err != nil {
			return vm.Nil, err
		}
	}
	if err := t.Context().Err(); err != nil {
		return vm.Nil, vm.Errorf(vm.ErrCancelled, "fetch: cancelled: %s", vm.StopWords(context.Cause(t.Context())))
	}
	var resp *netio.OutboundResponse
	var err error
	t.Blocking(func() { resp, err = netio.Fetch(t.Context(), r) })
	if err != nil {
		if t.Context().Err() != nil {
			return vm.Nil, &vm.Error{Kind: vm.ErrCancelled, Msg: "fetch " + vm.StopText(err.Error()), Cause: err}
		}
		return vm.Nil, &vm.Error{Kind: "FetchError", Msg: "fetch " + err.Error(), Cause: err}
	}
	return vm.HostValue(&fetchResponse{r: resp}), nil
}

// withoutQuery is a URL as written with its query, which may hold a key
// (?api_key=...), shown as "?…", as netio.ShownURL shows one.
func withoutQuery(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i] + "?…"
	}
	return u
}

// urlHint says why raw is no absolute http or https URL, where a
// common slip explains it: spaces around it, no scheme, or http: with
// one slash.
func urlHint(raw string) string {
	lower := strings.ToLower(raw)
	switch {
	case strings.TrimSpace(raw) != raw:
		return " (it has spaces around it)"
	case (strings.HasPrefix(lower, "http:") || strings.HasPrefix(lower, "https:")) && !strings.Contains(raw, "://"):
		return " (write two slashes after the scheme: http://…)"
	case !strings.Contains(raw, "://"):
		// (localhost:3000/x reads as the scheme "localhost", and
		// name:pw@host/x as "name")
		return " (it names no scheme: http://…)"
	}
	return ""
}

// defaultFetchTimeout bounds a fetch that sets no timeout: a request's
// own deadline is usually sooner, but a script or a job has none.
const defaultFetchTimeout = 30 * time.Second

// fetchOptions reads fetch's second argument into r.
func fetchOptions(t *vm.Thread, r *netio.OutboundRequest, v vm.Value) error {
	if v.IsNil() {
		return nil
	}
	if v.Kind() != vm.KObject {
		return vm.TypeErrorf("fetch: options must be an object, got %s", vm.TypeName(v))
	}
	o := v.AsObject()
	jsonBody := false
	for i, k := range o.Keys() {
		val := o.Slot(i)
		switch k {
		case "method":
			if val.Kind() != vm.KString || !httpguts.ValidHeaderFieldName(val.AsString()) {
				return vm.Errorf("ValueError", "fetch: method must be an HTTP method name such as \"POST\", got %s", vm.Repr(val))
			}
			r.Method = strings.ToUpper(val.AsString())
		case "headers":
			var bad error
			set := func(name, value string) {
				if !httpguts.ValidHeaderFieldValue(value) && bad == nil {
					bad = vm.Errorf("ValueError", "fetch: the value of header %s holds a line break or another control character", name)
				}
				r.Headers = append(r.Headers, netio.Header{Name: name, Value: value})
			}
			del := func(name string) {
				r.Headers = slices.DeleteFunc(r.Headers, func(h netio.Header) bool { return strings.EqualFold(h.Name, name) })
			}
			if h, ok := val.AsHostOK().(headersObject); ok {
				// req.headers passed on: not those of the connection it
				// came on (the standard ones, and those its Connection
				// field names, RFC 9110 §7.6.1), nor its Host, which
				// names this server, nor credentials for a proxy.
				named := connectionNamed(h.h.Values("connection"))
				for _, f := range h.h {
					n := strings.ToLower(f.Name)
					if !hopByHop(n) && n != "host" && n != "proxy-authorization" && !slices.Contains(named, n) {
						set(f.Name, f.Value)
					}
				}
			} else if err := headerPairs(val, set, del); err != nil {
				return err
			}
			if bad != nil {
				return bad
			}
		case "body":
			switch val.Kind() {
			case vm.KNil:
			case vm.KString:
				r.Body = []byte(val.AsString())
			default:
				b, err := stdlib.AppendJSON(t, nil, val)
				if err != nil {
					return err
				}
				r.Body, jsonBody = b, true
			}
		case "timeout":
			d, err := duration(val, time.Millisecond)
			if err != nil || d <= 0 {
				return vm.Errorf("ValueError", "fetch: timeout must be a positive duration such as 5.seconds (or milliseconds), got %s", vm.Repr(val))
			}
			r.Timeout = d
		case "redirect":
			s := ""
			if val.Kind() == vm.KString {
				s = val.AsString()
			}
			if s != "follow" && s != "manual" && s != "error" {
				return vm.Errorf("ValueError", "fetch: redirect must be \"follow\", \"manual\" or \"error\", got %s", vm.Repr(val))
			}
			r.Redirect = s
		case "max_body", "maxBody":
			n, err := byteSize(val)
			if err != nil || n <= 0 {
				return vm.Errorf("ValueError", "fetch: max_body must be a positive size such as 1.megabyte (or bytes), got %s", vm.Repr(val))
			}
			r.MaxBody = n
		case "mode", "credentials", "cache", "referrer", "referrerPolicy", "integrity", "keepalive", "signal", "priority":
			// The Fetch API's browser options: nothing to do on a server.
		default:
			return vm.Errorf("ValueError", "fetch: unknown option %q (it takes method, headers, body, timeout, redirect and max_body)", k)
		}
	}
	if m := cmp.Or(r.Method, "GET"); r.Body != nil && (m == "GET" || m == "HEAD") {
		return vm.Errorf("ValueError", "fetch: a %s request has no body; give a method such as \"POST\"", m)
	}
	if _, typed := r.Headers.Lookup("Content-Type"); r.Body != nil && !typed {
		// A String as the Fetch API sends one (it went with none, which
		// a server reading form or JSON bodies may refuse unsaid).
		ct := "text/plain;charset=UTF-8"
		if jsonBody {
			ct = "application/json"
		}
		r.Headers = append(r.Headers, netio.Header{Name: "Content-Type", Value: ct})
	}
	return nil
}

func init() {
	vm.Register(&vm.Builtin{Name: "fetch", Params: []string{"url", "options"}, Fn: builtinFetch})
}

// ownSecurityHeader reports whether name (lower case) is one of the
// security headers this server adds to its answers.
func ownSecurityHeader(name string) bool {
	// (and a tls block's HSTS: an upstream's max-age=0 switched it off
	// for the host)
	return strings.EqualFold(name, "Strict-Transport-Security") || netio.IsSecurityHeader(name)
}

// hopByHop reports whether a header describes the connection a message
// came on, or its framing, rather than the message: not passed on.
func hopByHop(name string) bool {
	switch strings.ToLower(name) {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer",
		"content-length", "expect":
		return true
	}
	return false
}

// connectionNamed returns the lower-case names a message's Connection
// fields list: fields of its connection, not passed on (RFC 9110 §7.6.1).
func connectionNamed(values []string) []string {
	var named []string
	for _, c := range values {
		for _, n := range strings.Split(c, ",") {
			if n = strings.ToLower(strings.TrimSpace(n)); n != "" {
				named = append(named, n)
			}
		}
	}
	return named
}

// fetchResponse is what fetch returns.
type fetchResponse struct{ r *netio.OutboundResponse }

func (f *fetchResponse) TypeName() string { return "FetchResponse" }

func (f *fetchResponse) String() string {
	return "<FetchResponse " + strconv.Itoa(f.r.Status) + " " + f.r.URL + ">"
}

func (f *fetchResponse) GetAttr(t *vm.Thread, name string) (vm.Value, bool, error) {
	switch name {
	case "status":
		return vm.Int(int64(f.r.Status)), true, nil
	case "ok":
		return vm.Bool(f.r.Status >= 200 && f.r.Status <= 299), true, nil
	case "statusText", "status_text":
		return vm.Str(f.r.StatusText), true, nil
	case "url":
		return vm.Str(f.r.URL), true, nil
	case "redirected":
		return vm.Bool(f.r.Redirected), true, nil
	case "headers":
		return headersValue("", f.r.Headers), true, nil
	case "body", "data":
		// (the Fetch API's body stream, axios's data: nil, silently)
		return vm.Nil, false, vm.TypeErrorf("a fetch response has no field %s: read its body with .text() or .json()", name)
	case "text", "json":
		return vm.Nil, false, nil // (the methods, read as values)
	}
	return vm.Nil, false, vm.TypeErrorf("a fetch response has no field %s (it has status, ok, statusText, url, redirected and headers, and its body is read with .text() or .json())", name)
}

func (f *fetchResponse) SetAttr(t *vm.Thread, name string, v vm.Value) error {
	return vm.TypeErrorf("a fetch response is read-only")
}

// utf8BOM is the byte order mark some servers put before UTF-8 text.
var utf8BOM = []byte("\xef\xbb\xbf")

// MethodParams: the methods CallMethod has (see vm.HostMethods).
func (f *fetchResponse) MethodParams(name string) ([]string, bool) {
	if name == "text" || name == "json" {
		return []string{}, true
	}
	return nil, false
}

func (f *fetchResponse) CallMethod(t *vm.Thread, name string, args []vm.Value) (vm.Value, bool, error) {
	switch name {
	case "text":
		// bytes that are not UTF-8 kept, as in req.text(); a leading
		// byte order mark left out, as the Fetch API's UTF-8 decoding
		// leaves it
		return vm.Str(string(bytes.TrimPrefix(f.r.Body, utf8BOM))), true, nil
	case "json":
		v, err := stdlib.ParseJSON(bytes.TrimPrefix(f.r.Body, utf8BOM))
		if err != nil {
			return vm.Nil, true, vm.Errorf("ValueError", "fetch: the response from %s is not JSON: %s", netio.ShownURL(f.r.URL), strings.TrimPrefix(err.Error(), "JSON.parse: "))
		}
		return v, true, nil
	}
	return vm.Nil, false, nil
}

// asResponseValue is the fetch response as a handler's answer, passed
// on: its status, Content-Type, headers and body, without the headers
// that describe the connection it came on or its encoding as received
// (the body was read, and decompressed if Go asked for it compressed).
func (f *fetchResponse) asResponseValue() *responseValue {
	out := &responseValue{status: f.r.Status, statusSet: true, body: f.r.Body}
	var named []string
	for _, h := range f.r.Headers {
		if strings.EqualFold(h.Name, "connection") {
			named = append(named, connectionNamed([]string{h.Value})...)
		}
	}
	for _, h := range f.r.Headers {
		switch n := strings.ToLower(h.Name); {
		case n == "content-type":
			out.ctype = h.Value
		case hopByHop(n) || n == "date" || n == "server" || n == "x-request-id":
			// This server's own, for its answer.
		case n == "proxy-authenticate" || slices.Contains(named, n):
			// The upstream connection's: for its client, this server.
		case strings.HasPrefix(n, "access-control-") || ownSecurityHeader(n):
			// This server's own: its cors block says which origins may
			// read its answers, and its security headers keep its pages
			// from framing and sniffing (an upstream's
			// Access-Control-Allow-Origin: * and X-Frame-Options:
			// ALLOWALL were this origin's)
		default:
			out.headers = append(out.headers, h)
		}
	}
	if out.ctype == "" && len(out.body) > 0 {
		out.ctype = "application/octet-stream" // what a body of no stated type is (RFC 9110 §8.3)
	}
	if out.status < 200 || out.status > 599 {
		// Not a final status (nothing to pass on), or none HTTP defines
		// (RFC 9110 §15: 100-599), which Tova code cannot give either.
		out.status = 502
	}
	return out
}
