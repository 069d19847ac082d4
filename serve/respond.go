package serve

import (
	"hash/fnv"
	"iter"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"

	"tova/netio"
	"tova/vm"
	"tova/vm/stdlib"
)

// responseValue is what respond/redirect/html/text/with_headers return:
// a complete HTTP response as a Tova value. A handler returning one sends
// it as it is.
type responseValue struct {
	status int
	// statusSet: the code gave the status (respond(200, …), text(s, 200)),
	// so it wins over res.status; else it is the helper's default 200,
	// which res.status set by a hook or the handler overrides.
	statusSet bool
	ctype     string
	headers   netio.Headers
	body      []byte
	// jsonBody is set when the body is a Tova value still to be encoded.
	jsonBody *vm.Value
}

func (r *responseValue) TypeName() string { return "HttpResponse" }

func (r *responseValue) String() string { return "<HttpResponse " + strconv.Itoa(r.status) + ">" }

func (r *responseValue) GetAttr(t *vm.Thread, name string) (vm.Value, bool, error) {
	switch name {
	case "status":
		return vm.Int(int64(r.status)), true, nil
	case "body":
		if r.jsonBody != nil {
			return *r.jsonBody, true, nil
		}
		if isJSONType(r.ctype) && len(r.body) > 0 {
			// A JSON body the runtime wrote (an error answer, health)
			// reads as a value, as a returned one does.
			if v, err := stdlib.ParseJSON(r.body); err == nil {
				return v, true, nil
			}
		}
		return vm.Str(string(r.body)), true, nil
	case "headers":
		ctype := r.ctype
		if ctype == "" && r.jsonBody != nil {
			ctype = "application/json"
		}
		return headersValue(ctype, r.headers), true, nil
	}
	return vm.Nil, false, nil
}

func (r *responseValue) SetAttr(t *vm.Thread, name string, v vm.Value) error {
	switch name {
	case "status", "statusCode":
		// (with_headers, which the message named, keeps the status)
		return vm.TypeErrorf("responses are immutable: make one with another status, respond(%s, r.body, r.headers)", vm.Repr(v))
	case "body":
		return vm.TypeErrorf("responses are immutable: make one with another body, respond(r.status, body, r.headers)")
	}
	return vm.TypeErrorf("responses are immutable; add headers with with_headers(r, { ... })")
}

func (r *responseValue) clone() *responseValue {
	c := *r
	c.headers = append(netio.Headers(nil), r.headers...)
	return &c
}

// del removes the named header.
func (r *responseValue) del(name string) {
	if strings.EqualFold(name, "Content-Type") {
		r.ctype = ""
		return
	}
	r.headers = slices.DeleteFunc(r.headers, func(h netio.Header) bool { return strings.EqualFold(h.Name, name) })
}

func (r *responseValue) set(name, value string) {
	if strings.EqualFold(name, "Content-Type") {
		r.ctype = value
		return
	}
	if !strings.EqualFold(name, "Set-Cookie") {
		for i := range r.headers {
			if strings.EqualFold(r.headers[i].Name, name) {
				r.headers[i].Value = value
				return
			}
		}
	}
	r.headers = append(r.headers, netio.Header{Name: name, Value: value})
}

func asResponse(v vm.Value) (*responseValue, bool) {
	if v.Kind() != vm.KHost {
		return nil, false
	}
	switch r := v.AsHost().(type) {
	case *responseValue:
		return r, true
	case *fetchResponse:
		return r.asResponseValue(), true // passed on
	}
	return nil, false
}

// headerPairs reads a headers object {name: value}: a list value gives
// a Set-Cookie line per element, any other header its elements joined
// with ", "; a nil value removes the header (del). A name that
// is not an HTTP token is an error; line breaks in values become spaces
// when the response is written.
func headerPairs(v vm.Value, set func(name, value string), del func(name string)) error {
	switch v.Kind() {
	case vm.KNil:
		return nil
	case vm.KObject:
		o := v.AsObject()
		for i, k := range o.Keys() {
			if err := checkHeaderName(k); err != nil {
				return err
			}
			val, _ := vm.OptionValue(o.Slot(i)) // (Some(x) is x, None nil)
			if err := headerValueKind(k, val); err != nil {
				return err
			}
			if val.IsNil() || val.Kind() == vm.KArray {
				del(k) // a list replaces every earlier line
			}
			for _, line := range headerLines(k, val) {
				set(k, line)
			}
		}
		return nil
	case vm.KHost:
		if h, ok := v.AsHost().(headersObject); ok && h.cookies == nil {
			// a response value's own (respond(299, r.body, r.headers)),
			// each line as it holds it; not a request's
			seen := map[string]bool{}
			for _, l := range h.h {
				if !seen[l.Name] {
					seen[l.Name] = true
					del(l.Name)
				}
				set(l.Name, l.Value)
			}
			return nil
		}
	}
	return vm.TypeErrorf("headers must be an object, got %s", vm.TypeName(v))
}

// headerLines gives the lines a header's value stands for: a list gives
// a Set-Cookie line per element, and any other header one line of its
// elements joined with ", " (as a list header is written); nil, and a
// nil element, give none.
func headerLines(name string, v vm.Value) []string {
	switch v.Kind() {
	case vm.KNil:
		return nil
	case vm.KArray:
		vs := make([]string, 0, len(v.AsArray().Elems))
		for _, e := range v.AsArray().Elems {
			e, _ = vm.OptionValue(e)
			if !e.IsNil() { // nil is no value, as it is for the whole header
				vs = append(vs, vm.ToString(e))
			}
		}
		if len(vs) == 0 {
			return nil
		}
		if !strings.EqualFold(name, "Set-Cookie") {
			vs = []string{strings.Join(vs, ", ")}
		}
		return locationLines(name, vs)
	}
	return locationLines(name, []string{vm.ToString(v)})
}

// locationLines are a Location header's lines written as redirect writes
// its URL (escapeLocation): set by hand, `/\evil.com`, which passes a
// check for one leading slash, sent a browser to evil.com.
func locationLines(name string, vs []string) []string {
	if strings.EqualFold(name, "Location") {
		for i, v := range vs {
			vs[i] = escapeLocation(v)
		}
	}
	return vs
}

// headerValueKind refuses a header value that has no text of its own:
// an object (or a list holding one) was sent as its display text,
// `X-O: { a: 1 }`.
func headerValueKind(name string, v vm.Value) error {
	bad := func(x vm.Value) bool {
		x, _ = vm.OptionValue(x)
		return x.Kind() == vm.KObject || x.Kind() == vm.KArray || x.IsCallable()
	}
	if v.Kind() == vm.KArray {
		for _, e := range v.AsArray().Elems {
			if bad(e) {
				return vm.Errorf("ValueError", "the value of header %s holds %s: give Strings or numbers (JSON.stringify an object)", name, vm.TypeName(e))
			}
		}
		return nil
	}
	if bad(v) {
		return vm.Errorf("ValueError", "the value of header %s is %s: give a String, a number or a list of them (JSON.stringify an object)", name, vm.TypeName(v))
	}
	return nil
}

// checkHeaderName refuses a header name that is not an RFC 9110 token
// (what a client could not parse, or a line break smuggling a header).
func checkHeaderName(name string) error {
	if !httpguts.ValidHeaderFieldName(name) {
		return vm.Errorf("ValueError", "invalid header name %q", name)
	}
	return nil
}

// statusOpt is the status argument i, def when absent, within lo..hi.
func statusOpt(args []vm.Value, i int, def int, what string, lo, hi int64) (int, error) {
	if !statusGiven(args, i) {
		return def, nil
	}
	return statusIn(args[i], what, lo, hi)
}

// statusGiven says whether the status argument i is there.
func statusGiven(args []vm.Value, i int) bool { return i < len(args) && !args[i].IsNil() }

func init() {
	vm.Register(
		&vm.Builtin{Name: "respond", Params: []string{"status", "body", "headers"}, Fn: builtinRespond},
		&vm.Builtin{Name: "redirect", Params: []string{"url", "status"}, Fn: builtinRedirect},
		&vm.Builtin{Name: "html", Params: []string{"body", "status", "headers"}, Fn: textLike("text/html; charset=utf-8")},
		&vm.Builtin{Name: "text", Params: []string{"body", "status", "headers"}, Fn: textLike("text/plain; charset=utf-8")},
		&vm.Builtin{Name: "with_headers", Params: []string{"response", "headers"}, Fn: builtinWithHeaders},
		&vm.Builtin{Name: "set_cookie", Params: []string{"name", "value", "options"}, Fn: builtinSetCookie},
		&vm.Builtin{Name: "cache_control", Params: []string{"response", "directive", "options"}, Fn: builtinCacheControl},
		&vm.Builtin{Name: "etag", Params: []string{"response", "tag"}, Fn: builtinETag},
		&vm.Builtin{Name: "negotiate", Params: []string{"req", "data", "options"}, Fn: builtinNegotiate},
	)
}

// negotiate(req, data, { html, xml, status }) answers data in the form
// the request's Accept asks for, as the reference's does: HTML (options
// html, a function of data or a text) for text/html, XML (options xml)
// for text/xml or application/xml, text for text/plain (data as it is
// when a String, else its JSON, indented), else JSON. Accept is read as
// the reference reads it, by the media types it contains.
func builtinNegotiate(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	at := func(i int) vm.Value {
		if i < len(args) {
			return args[i]
		}
		return vm.Nil
	}
	q, ok := at(0).AsHostOK().(*reqObject)
	if !ok {
		return vm.Nil, vm.TypeErrorf("negotiate: expected the request (req) first, got %s", vm.TypeName(at(0)))
	}
	data := at(1)
	var opts *vm.Object
	if o := at(2); o.Kind() == vm.KObject {
		opts = o.AsObject()
	} else if !o.IsNil() {
		return vm.Nil, vm.TypeErrorf("negotiate: options must be an object ({ html, xml, status }), got %s", vm.TypeName(o))
	}
	option := func(k string) vm.Value {
		if opts == nil {
			return vm.Nil
		}
		v, _ := opts.Get(k)
		return v
	}
	status, statusSet := 200, false
	if st := option("status"); !st.IsNil() {
		var err error
		if status, err = statusIn(st, "negotiate: status", 200, 599); err != nil {
			return vm.Nil, err
		}
		statusSet = true // (else it takes the status res holds, as html's does)
	}
	body := func(v vm.Value) (string, error) {
		if v.IsCallable() {
			r, err := t.Call(v, data)
			if err != nil {
				return "", err
			}
			v = r
		}
		if r, ok := asResponse(v); ok {
			// html(...) or text(...), as the reference's docs write the
			// formatters: its body (it was sent as <HttpResponse 200>)
			if r.jsonBody != nil {
				b, err := stdlib.AppendJSON(t, nil, *r.jsonBody)
				return string(b), err
			}
			return string(r.body), nil
		}
		return vm.ToString(v), nil
	}
	weights := acceptWeights(strings.Join(q.r.Headers().Values("accept"), ","))
	answer := func(ctype string, text string) vm.Value {
		r := &responseValue{status: status, statusSet: statusSet, ctype: ctype, body: []byte(text)}
		r.set("Vary", "Accept") // (a shared cache keeps each form apart)
		return vm.HostValue(r)
	}
	// The form asked for: of those Accept names (with a weight above 0;
	// a type/* or */* names none, as in the reference), the one of the
	// highest weight, HTML before XML before text before JSON on a tie;
	// JSON when it names none.
	best, bestQ := "json", weights["application/json"]
	for _, c := range []struct {
		form  string
		types []string
		ok    bool
	}{
		{"html", []string{"text/html"}, option("html").Truthy()},
		{"xml", []string{"text/xml", "application/xml"}, option("xml").Truthy()},
		{"text", []string{"text/plain"}, true},
	} {
		for _, ty := range c.types {
			if w := weights[ty]; c.ok && w > 0 && (w > bestQ || w == bestQ && best == "json") {
				best, bestQ = c.form, w
			}
		}
	}
	switch best {
	case "html", "xml":
		text, err := body(option(best))
		if err != nil {
			return vm.Nil, err
		}
		if best == "html" {
			return answer("text/html; charset=utf-8", text), nil
		}
		return answer("application/xml; charset=utf-8", text), nil
	case "text":
		if data.Kind() == vm.KString {
			return answer("text/plain; charset=utf-8", data.AsString()), nil
		}
		b, err := stdlib.AppendJSONIndent(t, nil, data, "  ")
		if err != nil {
			return vm.Nil, err
		}
		return answer("text/plain; charset=utf-8", string(b)), nil
	}
	r := &responseValue{status: status, statusSet: statusSet, ctype: "application/json", jsonBody: &data}
	r.set("Vary", "Accept")
	return vm.HostValue(r), nil
}

// acceptWeights reads an Accept header: each media type it names (lower
// case, parameters dropped) with its weight, q=1 when not given (the
// highest, where one is named twice). A type given q=0 is refused.
func acceptWeights(accept string) map[string]float64 {
	out := map[string]float64{}
	for _, part := range strings.Split(strings.ToLower(accept), ",") {
		ty, params, _ := strings.Cut(part, ";")
		ty = strings.TrimSpace(ty)
		if ty == "" {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.TrimSpace(k) == "q" {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f >= 0 && f <= 1 {
					q = f
				}
			}
		}
		if w, seen := out[ty]; !seen || q > w {
			out[ty] = q
		}
	}
	return out
}

// respond(status, body, headers = {}): a JSON response; a string body is
// sent raw when the headers give a Content-Type.
func builtinRespond(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if !statusGiven(args, 0) {
		// (a status looked up in a table that lacks it must not go out
		// as 200 OK)
		return vm.Nil, vm.TypeErrorf("respond: status must be an Int, got nil")
	}
	status, err := statusOpt(args, 0, 200, "respond: status", 200, 599)
	if err != nil {
		return vm.Nil, err
	}
	r := &responseValue{status: status, statusSet: statusGiven(args, 0), ctype: "application/json"}
	typed := false // a Content-Type given, whatever it is
	if len(args) > 2 {
		if err := headerPairs(args[2], func(name, value string) {
			typed = typed || strings.EqualFold(name, "Content-Type")
			r.set(name, value)
		}, r.del); err != nil {
			return vm.Nil, err
		}
	}
	if len(args) > 1 && !args[1].IsNil() {
		body := args[1]
		// A String under a Content-Type the call gives is the body as
		// it is, as the reference sends it: '{"a":1}' given
		// application/json went out as the JSON string "{\"a\":1}",
		// given application/json; charset=utf-8 as it is.
		if body.Kind() == vm.KString && typed {
			r.body = []byte(body.AsString())
		} else {
			r.jsonBody = &body
		}
	} else if len(args) > 1 && status != 204 && status != 304 {
		b := vm.Nil
		r.jsonBody = &b
	} else if len(args) < 2 {
		// respond(404): no body, so no type either (a JSON client read
		// an empty application/json body)
		r.ctype = ""
	}
	return vm.HostValue(r), nil
}

func builtinRedirect(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if len(args) < 1 || args[0].Kind() != vm.KString {
		return vm.Nil, vm.TypeErrorf("redirect: expected a URL string")
	}
	if strings.TrimSpace(args[0].AsString()) == "" {
		// (a Location of nothing leaves the client where it was)
		return vm.Nil, vm.Errorf("ValueError", "redirect: the URL is empty")
	}
	status, err := statusOpt(args, 1, 302, "redirect: status", 300, 399)
	if err != nil {
		return vm.Nil, err
	}
	r := &responseValue{status: status, statusSet: true}
	r.set("Location", escapeLocation(args[0].AsString()))
	return vm.HostValue(r), nil
}

// escapeLocation percent-encodes what a URL cannot hold as it is (bytes
// past ASCII, as UTF-8; spaces; control characters), so that
// redirect("/söme path") sends "/s%C3%B6me%20path": a header carries
// ASCII, and a client would otherwise read the bytes as it guesses.
// Escapes already there ("%20") are kept; a % that begins none ("%zz",
// "100%") is itself escaped, %25, so that the Location is a URL.
func escapeLocation(u string) string {
	if strings.IndexByte(u, '%') >= 0 {
		var b strings.Builder
		for i := 0; i < len(u); i++ {
			if u[i] == '%' && !(i+2 < len(u) && isHex(u[i+1]) && isHex(u[i+2])) {
				b.WriteString("%25")
				continue
			}
			b.WriteByte(u[i])
		}
		u = b.String()
	}
	// A backslash, which no URL has, browsers read as '/': "/\\evil.com"
	// went out as such and took the user to evil.com (past a program's
	// own check that the target starts with one '/').
	return netio.EscapeUnsafe(u, `\`)
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func textLike(ctype string) func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	return func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		if len(args) < 1 {
			return vm.Nil, vm.TypeErrorf("expected a body")
		}
		status, err := statusOpt(args, 1, 200, "status", 200, 599)
		if err != nil {
			return vm.Nil, err
		}
		r := &responseValue{status: status, statusSet: statusGiven(args, 1), ctype: ctype}
		if !args[0].IsNil() { // nil: no body, as in the reference
			r.body = []byte(vm.ToString(args[0]))
		}
		if len(args) > 2 {
			if err := headerPairs(args[2], r.set, r.del); err != nil {
				return vm.Nil, err
			}
		}
		return vm.HostValue(r), nil
	}
}

// with_headers(response, {…}) returns a copy of response with the headers
// set; a plain value is first made a 200 JSON response.
func builtinWithHeaders(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if len(args) < 2 {
		return vm.Nil, vm.TypeErrorf("with_headers: expected a response and a headers object")
	}
	r, ok := asResponse(args[0])
	if ok {
		r = r.clone()
	} else {
		body := args[0]
		r = &responseValue{status: 200, ctype: "application/json", jsonBody: &body}
	}
	if err := headerPairs(args[1], r.set, r.del); err != nil {
		return vm.Nil, err
	}
	return vm.HostValue(r), nil
}

// set_cookie(name, value, { maxAge, path, domain, httpOnly, secure,
// sameSite }) returns the Set-Cookie header value.
// cookieOptions are the keys set_cookie's options may have.
var cookieOptions = []string{"maxAge", "max_age", "path", "domain", "httpOnly", "http_only", "secure", "sameSite", "same_site"}

func builtinSetCookie(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if len(args) < 2 {
		return vm.Nil, vm.TypeErrorf("set_cookie: expected a name and a value")
	}
	if args[0].Kind() != vm.KString {
		return vm.Nil, vm.TypeErrorf("set_cookie: the name must be a String, got %s", vm.TypeName(args[0]))
	}
	name := args[0].AsString()
	if name == "" || !httpguts.ValidHeaderFieldName(name) {
		// RFC 6265: a cookie name is a token, as a header name is.
		return vm.Nil, vm.Errorf("ValueError", "set_cookie: invalid cookie name %q", name)
	}
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('=')
	value, _ := vm.OptionValue(args[1])                       // Some("x") is "x", None is nil
	if !value.IsNil() && vm.VariantOf(value) != vm.NoneType { // nil, None: an empty value (`s=`), as text(nil) is an empty body
		b.WriteString(strings.ReplaceAll(url.QueryEscape(vm.ToString(value)), "+", "%20"))
	}
	if n := b.Len(); n > sessionMaxCookie {
		// (as the session cookie: browsers keep no more of a name and
		// value, and drop a longer cookie without a word)
		return vm.Nil, vm.Errorf("ValueError", "set_cookie: the cookie %s is %d bytes (name=value, encoded), over the %d browsers keep: keep less in it (an id, and the rest on the server)", name, n, sessionMaxCookie)
	}
	// What the attributes say, for the rules browsers keep (a cookie
	// breaking one is dropped without a word: refused here instead).
	var secure, sameSiteNone, hasDomain bool
	path := ""
	if len(args) > 2 && !args[2].IsNil() {
		if args[2].Kind() != vm.KObject {
			return vm.Nil, vm.TypeErrorf("set_cookie: options must be an object, got %s", vm.TypeName(args[2]))
		}
		o := args[2].AsObject()
		for _, k := range o.Keys() {
			if !slices.Contains(cookieOptions, k) {
				return vm.Nil, vm.Errorf("ValueError", "set_cookie: unknown option %q (the options are maxAge, path, domain, httpOnly, secure and sameSite)", k)
			}
		}
		get := func(keys ...string) (vm.Value, bool) {
			for _, k := range keys {
				v, ok := o.Get(k)
				v, _ = vm.OptionValue(v) // (an Option setting; None is none: Domain=None was sent)
				if ok && !v.IsNil() {
					return v, true
				}
			}
			return vm.Nil, false
		}
		for _, pair := range [][2]string{{"maxAge", "max_age"}, {"httpOnly", "http_only"}, {"sameSite", "same_site"}} {
			if a, ok := o.Get(pair[0]); ok && !a.IsNil() {
				if b, ok := o.Get(pair[1]); ok && !b.IsNil() {
					return vm.Nil, vm.Errorf("ValueError", "set_cookie: %s and %s are one option: give one", pair[0], pair[1])
				}
			}
		}
		flag := func(keys ...string) (bool, error) {
			v, ok := get(keys...)
			if !ok {
				return false, nil
			}
			if v.Kind() != vm.KBool {
				// ("false" set the attribute: a String is true)
				return false, vm.TypeErrorf("set_cookie: %s must be true or false, got %s", keys[0], vm.Repr(v))
			}
			return v.AsBool(), nil
		}
		if v, ok := get("maxAge", "max_age"); ok {
			var secs int64
			switch v.Kind() {
			case vm.KInt:
				secs = v.AsInt()
			case vm.KDuration:
				secs = v.AsDuration() / 1e9
			default:
				return vm.Nil, vm.TypeErrorf("set_cookie: maxAge must be an Int (seconds) or a duration, got %s", vm.TypeName(v))
			}
			b.WriteString("; Max-Age=" + strconv.FormatInt(secs, 10))
		}
		for _, attr := range []struct{ name, key string }{{"Path", "path"}, {"Domain", "domain"}} {
			v, ok := get(attr.key)
			if !ok {
				continue
			}
			s := vm.ToString(v)
			// RFC 6265: any character but controls and ';', which would
			// end the attribute and start another.
			if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == ';' || r > 0x7e }) {
				return vm.Nil, vm.Errorf("ValueError", "set_cookie: invalid %s %q", attr.key, s)
			}
			b.WriteString("; " + attr.name + "=" + s)
			if attr.key == "path" {
				path = s
			} else {
				hasDomain = true
			}
		}
		httpOnly, err := flag("httpOnly", "http_only")
		if err != nil {
			return vm.Nil, err
		}
		if httpOnly {
			b.WriteString("; HttpOnly")
		}
		if secure, err = flag("secure"); err != nil {
			return vm.Nil, err
		}
		if secure {
			b.WriteString("; Secure")
		}
		if v, ok := get("sameSite", "same_site"); ok {
			s := strings.ToLower(vm.ToString(v))
			if s != "strict" && s != "lax" && s != "none" {
				return vm.Nil, vm.Errorf("ValueError", "set_cookie: sameSite must be \"Strict\", \"Lax\" or \"None\", got %q", vm.ToString(v))
			}
			b.WriteString("; SameSite=" + strings.ToUpper(s[:1]) + s[1:])
			sameSiteNone = s == "none"
		}
	}
	prefixed := func(p string) bool { return len(name) >= len(p) && strings.EqualFold(name[:len(p)], p) }
	switch {
	case sameSiteNone && !secure:
		return vm.Nil, vm.Errorf("ValueError", "set_cookie: sameSite \"None\" needs secure: true (browsers drop a SameSite=None cookie sent without Secure)")
	case prefixed("__Secure-") && !secure:
		return vm.Nil, vm.Errorf("ValueError", "set_cookie: a cookie named __Secure-… needs secure: true (browsers drop one sent without Secure)")
	case prefixed("__Host-") && (!secure || hasDomain || path != "/"):
		return vm.Nil, vm.Errorf("ValueError", "set_cookie: a cookie named __Host-… needs secure: true and path: \"/\", and no domain (browsers drop one sent otherwise)")
	}
	return vm.Str(b.String()), nil
}

// encodeJSON renders a Tova value as a JSON body, into the exchange's
// own buffer the first time. A function is no body: JSON would say null,
// and hide a missing call (`route GET "/users" => fn() get_users`).
func (x *exchange) encodeJSON(v vm.Value) ([]byte, error) {
	if v.IsCallable() {
		return nil, vm.TypeErrorf("the handler answered a function, %s, not a value: call it, or answer what it returns", vm.Repr(v))
	}
	if x.bufUsed {
		return stdlib.AppendJSONAnswer(x.th, nil, v)
	}
	x.bufUsed = true
	return stdlib.AppendJSONAnswer(x.th, x.buf[:0], v)
}

// headersValue is a response's headers as Tova sees them, as it sees a
// request's: names looked up in any case (`r.headers["content-type"]`,
// `.get("Content-Type")`), listed in lower case, a repeated header's
// values joined; ctype, if not empty, is its Content-Type.
func headersValue(ctype string, hs netio.Headers) vm.Value {
	out := make(netio.Headers, 0, len(hs)+1)
	if ctype != "" {
		out = append(out, netio.Header{Name: "content-type", Value: ctype})
	}
	for _, h := range hs {
		out = append(out, netio.Header{Name: strings.ToLower(h.Name), Value: h.Value})
	}
	return vm.HostValue(headersObject{h: out})
}

// withHeader sets a header on what a caching helper was given: res (the
// response being built, returned so calls chain), or a response value
// (a copy is returned, as with_headers does), or a plain value (made a
// 200 JSON response first). The request is refused: req written for res
// would otherwise make a response value nothing returns, and the header
// would be lost without a word.
func withHeader(what string, target vm.Value, name, value string) (vm.Value, error) {
	if r, ok := target.AsHostOK().(*resObject); ok {
		r.setHeader(name, vm.Str(value))
		return target, nil
	}
	if _, ok := target.AsHostOK().(*reqObject); ok {
		return vm.Nil, vm.TypeErrorf("%s: expected the response (res) or a response value, got the request: write %s(res, ...)", what, what)
	}
	r, ok := asResponse(target)
	if ok {
		r = r.clone()
	} else {
		body := target
		r = &responseValue{status: 200, ctype: "application/json", jsonBody: &body}
	}
	r.set(name, value)
	return vm.HostValue(r), nil
}

// cache_control(res, "public, max-age=60") sets Cache-Control as given
// (the guide's form); cache_control(response, max_age, { private,
// stale_while_revalidate, no_cache, no_store }) builds it (the
// reference's form, max_age in seconds or a duration).
func builtinCacheControl(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if len(args) < 2 {
		return vm.Nil, vm.TypeErrorf("cache_control: expected a response and a directive")
	}
	var directive string
	switch d := args[1]; d.Kind() {
	case vm.KString:
		directive = d.AsString()
	case vm.KInt, vm.KDuration:
		secs := d.AsInt()
		if d.Kind() == vm.KDuration {
			secs = d.AsDuration() / 1e9
		}
		if secs < 0 {
			return vm.Nil, vm.Errorf("ValueError", "cache_control: a max-age must not be negative, got %s", vm.Repr(d))
		}
		opt := func(name string) vm.Value {
			if len(args) > 2 && args[2].Kind() == vm.KObject {
				v, _ := args[2].AsObject().Get(name)
				return v
			}
			return vm.Nil
		}
		switch {
		case opt("no_store").Truthy():
			directive = "no-store"
		case opt("no_cache").Truthy():
			directive = "no-cache"
		default:
			directive = "public"
			if opt("private").Truthy() {
				directive = "private"
			}
			directive += ", max-age=" + strconv.FormatInt(secs, 10)
			if s := opt("stale_while_revalidate"); s.Kind() == vm.KInt || s.Kind() == vm.KDuration {
				n := s.AsInt()
				if s.Kind() == vm.KDuration {
					n = s.AsDuration() / 1e9
				}
				if n < 0 {
					return vm.Nil, vm.Errorf("ValueError", "cache_control: stale_while_revalidate must not be negative, got %s", vm.Repr(s))
				}
				directive += ", stale-while-revalidate=" + strconv.FormatInt(n, 10)
			}
		}
	default:
		return vm.Nil, vm.TypeErrorf("cache_control: the directive must be a String or a max-age, got %s", vm.TypeName(d))
	}
	return withHeader("cache_control", args[0], "Cache-Control", directive)
}

// etag(res, tag) sets the ETag of the response: a String tag as it is
// (quoted unless it is already), a longer one than maxLiteralTag bytes
// and any other value by a hash (of its JSON form). A GET whose
// If-None-Match names it is answered 304 with no body.
// maxLiteralTag is the longest String etag takes as the tag itself.
const maxLiteralTag = 128

func builtinETag(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if len(args) < 2 {
		return vm.Nil, vm.TypeErrorf("etag: expected a response and a tag")
	}
	var tag string
	switch v := args[1]; {
	case v.Kind() == vm.KString && len(v.AsString()) <= maxLiteralTag:
		tag = entityTag(v.AsString())
	case v.Kind() == vm.KString:
		// The page itself (etag(res, body)): as a header it was a line
		// of the page's length, which clients refuse to read.
		h := fnv.New64a()
		h.Write([]byte(v.AsString()))
		tag = `"` + strconv.FormatUint(h.Sum64(), 36) + `"`
	case v.IsCallable():
		// Its JSON is null, the same tag whatever the data: every
		// client would keep what it has for good.
		return vm.Nil, vm.TypeErrorf("etag: the tag is a function, whose tag would never change: call it (etag(res, version()))")
	case v.IsNil() || vm.VariantOf(v) == vm.NoneType:
		return vm.Nil, vm.TypeErrorf("etag: the tag is %s, whose tag would never change: give a String or the data the answer is made of", vm.Repr(v))
	case holdsFunction(v, 0):
		// ({ h: products_hash }, [f], Some(f): its JSON holds null or
		// {} where the function is, the same whatever the data)
		return vm.Nil, vm.TypeErrorf("etag: the tag holds a function, whose part of the tag would never change: call it (etag(res, { h: version() }))")
	default:
		b, err := stdlib.AppendJSON(t, nil, v)
		if e, ok := err.(*vm.Error); ok {
			if rest, cut := strings.CutPrefix(e.Msg, "JSON.stringify: "); cut {
				err = vm.Errorf(e.Kind, "etag: %s", rest)
			}
		}
		if err != nil {
			return vm.Nil, err
		}
		h := fnv.New64a()
		h.Write(b)
		tag = `"` + strconv.FormatUint(h.Sum64(), 36) + `"`
	}
	return withHeader("etag", args[0], "ETag", tag)
}

// holdsFunction reports whether v holds a function in a list or an
// object, looking no deeper than 64 levels (a cyclic value's JSON fails
// by itself).
func holdsFunction(v vm.Value, depth int) bool {
	if depth > 64 {
		return false
	}
	switch v.Kind() {
	case vm.KFunc, vm.KBuiltin:
		return true
	case vm.KArray:
		for _, e := range v.AsArray().Elems {
			if holdsFunction(e, depth+1) {
				return true
			}
		}
	case vm.KObject:
		for _, e := range v.AsObject().Values() {
			if holdsFunction(e, depth+1) {
				return true
			}
		}
	}
	return false
}

// entityTag is the entity tag (RFC 9110 §8.8.3) of a String given to
// etag: quoted, unless it is an entity tag already ("v1", W/"v1"); a
// quote inside is dropped, and a byte an entity tag cannot hold (a
// space, a control character) written as %XX, so that the tag a client
// sends back in If-None-Match is the one given.
func entityTag(s string) string {
	inner, weak := s, false
	if rest, ok := strings.CutPrefix(s, "W/"); ok && len(rest) >= 2 && rest[0] == '"' && rest[len(rest)-1] == '"' {
		inner, weak = rest[1:len(rest)-1], true
	} else if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		inner = s[1 : len(s)-1]
	}
	b := make([]byte, 0, len(inner)+4)
	if weak {
		b = append(b, "W/"...)
	}
	b = append(b, '"')
	for i := 0; i < len(inner); i++ {
		switch c := inner[i]; {
		case c == 0x21 || c >= 0x23 && c <= 0x7E || c >= 0x80:
			b = append(b, c)
		default:
			b = append(b, '%', "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&15])
		}
	}
	return string(append(b, '"'))
}

// notModified reports whether an If-None-Match header value names etag
// (weak comparison, as RFC 9110 has GET use), or is "*".
func notModified(ifNoneMatch, etag string) bool { return etagListed(ifNoneMatch, etag, true) }

// etagListed reports whether a list of entity tags (an If-Match or
// If-None-Match value) is "*" or names etag, by weak comparison (a W/
// prefix ignored) or strong (a weak tag never matches, RFC 9110 §8.8.3.2).
func etagListed(list, etag string, weak bool) bool {
	opaque := func(s string) string {
		if weak {
			return strings.TrimPrefix(s, "W/")
		}
		return s
	}
	for t := range entityTags(list) {
		if t == "*" || opaque(t) == opaque(etag) && !strings.HasPrefix(opaque(t), "W/") {
			return true
		}
	}
	return false
}

// entityTags yields the members of a list of entity tags, split at the
// commas between them, not those inside a quoted tag ("v1,2024" is one
// tag, RFC 9110 §8.8.3): each is *, or a tag with its W/ and quotes.
func entityTags(list string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for list != "" {
			list = strings.TrimLeft(list, " \t,")
			if list == "" {
				return
			}
			end := strings.IndexByte(list, ',')
			if q := strings.IndexByte(list, '"'); q >= 0 && (end < 0 || q < end) {
				// A quoted tag ends at its closing quote.
				if c := strings.IndexByte(list[q+1:], '"'); c >= 0 {
					end = q + 1 + c + 1
				} else {
					end = len(list)
				}
			} else if end < 0 {
				end = len(list)
			}
			if t := strings.TrimSpace(list[:end]); t != "" && !yield(t) {
				return
			}
			list = list[end:]
		}
	}
}

// mediaType is a Content-Type's media type: lower case, without its
// parameters.
func mediaType(ctype string) string {
	ct, _, _ := strings.Cut(ctype, ";")
	return strings.ToLower(strings.TrimSpace(ct))
}

// isJSONType reports whether a Content-Type names JSON
// (application/json, or a type ending in +json), whatever its parameters.
func isJSONType(ctype string) bool {
	ct := mediaType(ctype)
	return ct == "application/json" || strings.HasSuffix(ct, "+json")
}

// isFormType reports whether a Content-Type names a form body
// (urlencoded or multipart), whose repeated keys give lists.
func isFormType(ctype string) bool {
	ct := mediaType(ctype)
	return ct == "application/x-www-form-urlencoded" || ct == "multipart/form-data"
}
