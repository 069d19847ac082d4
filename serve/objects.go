package serve

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"tova/frontend/diag"
	"tova/netio"
	"tova/vm"
	"tova/vm/stdlib"
)

// reqObject is `req` in Tova code (Decision 7): method, path, url,
// params, query, headers, cookies, body, ip, id (settable), session
// (with a session block), locals, and any field a middleware sets.
type reqObject struct {
	r       *netio.Request // points at req: Tova code may keep the object
	req     netio.Request
	ps      [2]netio.Param
	id      string
	body    vm.Value
	bodyErr error // the body's parse error (a 400)
	parsed  bool
	th      *vm.Thread // the request's, while it runs (decodeBody)
	extra   *vm.Object // fields set by Tova code
	// sessions is the server's session block (nil: none, and
	// req.session is nil); sess is req.session once used (sessions.go)
	sessions *sessionStore
	sess     *session
	// csrf is the server's CSRF check (csrf.go), nil: off; req.csrf_token
	// is a token of it, bound to the client's tova_csrf cookie, or to
	// csrfNew, the id of one the answer sets
	csrf    *csrfGuard
	csrfNew string
	sessV   vm.Value
	// uploads is the server's upload block (uploads.go), which every
	// file part of a multipart body is checked against; nil: none
	uploads *uploadRules
	// auth is the server's auth block (auth.go), nil: none; authed: a
	// guard has set req.user from it
	auth   *authSettings
	authed bool
	// seen is req.user as code read it where no guard had set it (a
	// middleware's, an open route's): the user of the request's
	// credentials if they pass the auth block, else nil; looked at once
	// (seenDone).
	seen     vm.Value
	seenDone bool
	// readCookies: Tova code read req.cookies (or the Cookie header),
	// so the answer may be one user's (see exchange.personal)
	readCookies bool
	// proxies are the server's trusted proxies (proxy.go), which req.ip
	// believes; nil: none
	proxies *trustedProxies
}

// init copies r into q: the front end recycles r once the response is
// written.
func (q *reqObject) init(r *netio.Request) {
	q.req, q.id = *r, r.ID
	q.r = &q.req
	q.req.Params = append(q.ps[:0:len(q.ps)], r.Params...)
}

func (q *reqObject) TypeName() string { return "Request" }

func (q *reqObject) String() string { return "<Request " + q.r.Method + " " + q.r.Path + ">" }

func (q *reqObject) GetAttr(t *vm.Thread, name string) (vm.Value, bool, error) {
	if q.extra != nil {
		if v, ok := q.extra.Get(name); ok {
			return v, true, nil
		}
	}
	switch name {
	case "csrf_token":
		// A token for a page's form (a hidden _csrf field), where the
		// CSRF check is on; nil where it is off.
		if q.csrf != nil {
			return vm.Str(q.csrf.tokenFor(q.csrfClientID())), true, nil
		}
		if st := q.sessions; st != nil && !st.csrfOff && st.noTokenWarned.CompareAndSwap(false, true) {
			// (a form's hidden _csrf of value "": the page looked
			// guarded, and nothing checked it; csrf: false says so)
			st.log.Warn().Str("request_id", q.id).Msg("req.csrf_token is nil: the sessions block checks no CSRF token (its cookie's SameSite guards forms); write csrf: true in the block for a token a form's _csrf field is checked against")
		}
		return vm.Nil, true, nil
	case "method":
		return vm.Str(q.r.Method), true, nil
	case "path":
		return vm.Str(q.r.Path), true, nil
	case "url":
		return vm.Str(q.r.URI), true, nil
	case "route":
		return vm.Str(q.r.Route), true, nil
	case "params":
		o := vm.NewObject()
		for _, p := range q.r.Params {
			o.Set(p.Name, vm.Str(p.Value))
		}
		return vm.ObjectValue(o), true, nil
	case "query":
		return queryObject(q.r.RawQuery), true, nil
	case "headers":
		return vm.HostValue(headersObject{q.r.Headers(), &q.readCookies}), true, nil
	case "cookies":
		q.readCookies = true
		o := vm.NewObject()
		for _, c := range q.r.Cookies() {
			// The first of a name wins, as the session's reader and Go's
			// take it: a browser sends the most specific first (RFC
			// 6265 §5.4), and a later one of the name (a sibling
			// domain's) overrode the app's own.
			if o.Lookup(c.Name) < 0 {
				o.Set(c.Name, vm.Str(cookieValue(c.Value)))
			}
		}
		return vm.ObjectValue(o), true, nil
	case "body":
		v, err := q.Body()
		return v, true, err
	case "ip":
		return vm.Str(q.proxies.clientIP(q.r)), true, nil
	case "id":
		return vm.Str(q.id), true, nil
	case "content_type":
		return vm.Str(q.r.ContentType), true, nil
	case "locals":
		// The reference's request-scoped object (tova-semantics §2.4):
		// empty until code sets its fields, then the same object for
		// the rest of the request, middleware and handler alike.
		o := vm.ObjectValue(vm.NewObject())
		q.setExtra(name, o)
		return o, true, nil
	case "session":
		if q.sessions != nil {
			return q.reqSession(), true, nil
		}
	case "user":
		if q.auth != nil {
			// Before `with auth` runs (in middleware) or without it (an
			// open route), the user of credentials that pass: a
			// middleware refusing viewers saw nil, and let all in.
			if !q.seenDone {
				q.seenDone = true
				if u, why := q.auth.authenticate(q.r); why == "" {
					q.seen = u
				}
			}
			return q.seen, true, nil
		}
	}
	if name == "signedCookies" || name == "signed_cookies" {
		// (Express's cookie-parser: "cannot read field sid of nil")
		return vm.Nil, false, vm.TypeErrorf("Request has no field %s: a value kept signed in a cookie is a session's, sessions { secret: ... } and req.session", name)
	}
	if near := nearReqField(name); near != "" {
		// req.param.id, req.header["x"]: nil, and the error came a
		// step later, "cannot read field id of nil"
		return vm.Nil, false, vm.TypeErrorf("Request has no field %s (did you mean %s?)", name, near)
	}
	if strings.Contains(name, "-") || name != "" && name[0] >= 'A' && name[0] <= 'Z' && oneWordHeaders[strings.ToLower(name)] {
		// req["X-A"], get(req, "Content-Type"), Express's
		// req.get("X-A"), req.get("Authorization"): a header's name,
		// which no field has
		return vm.Nil, false, vm.TypeErrorf("Request has no field %s: a request header is req.headers[%q]", name, strings.ToLower(name))
	}
	return vm.Nil, false, nil
}

// oneWordHeaders are the request headers of one word, whose names
// (Authorization, Cookie) read as a request's field from Express's
// req.get(name) were nil.
var oneWordHeaders = map[string]bool{"authorization": true, "accept": true, "cookie": true, "host": true, "origin": true,
	"referer": true, "range": true, "connection": true, "expect": true, "forwarded": true, "via": true, "date": true,
	"pragma": true, "upgrade": true, "from": true, "te": true, "trailer": true}

// reqSlips are misspellings of a request's fields common enough to be
// taken for slips, and the field meant: a field a request does not
// have, nor code gave it, reads as nil (req.locale ?? "en", a field a
// middleware sets for some requests), but req.param.id failed a step
// later with "cannot read field id of nil".
var reqSlips = map[string]string{
	"param": "params", "parms": "params", "prams": "params", "parameters": "params",
	"header": "headers", "headres": "headers", "cookie": "cookies", "querys": "query",
	"queries": "query", "qs": "query", "bodyy": "body",
}

// nearReqField is the request field a slip (reqSlips) was meant as, or "".
func nearReqField(name string) string {
	return reqSlips[name]
}

// setID makes id the request's id: made safe rather than refused, as
// code often copies a header the client sent: a character outside the
// ids a request may bring (A-Za-z0-9-_.) becomes '_', and it is cut to
// 128 bytes; an empty one leaves the id as it was. (A space, a colon or
// an accent was kept, and a server the request then called refused the
// id it was sent and logged the call under one of its own.)
func (q *reqObject) setID(id string) {
	id = strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, id)
	for len(id) > 128 {
		_, size := utf8.DecodeLastRuneInString(id)
		id = id[:len(id)-size]
	}
	if id != "" {
		q.id = id
		q.r.SetID(id) // for a 503 the front end sends while the handler runs
	}
}

func (q *reqObject) SetAttr(t *vm.Thread, name string, v vm.Value) error {
	switch name {
	case "id":
		// Echoed in X-Request-ID and every log line of the request.
		if v.Kind() != vm.KString {
			return vm.TypeErrorf("req.id must be a String, got %s", vm.TypeName(v))
		}
		// Whatever a client sent (code often copies a header here) is
		// made safe rather than refused (see setID).
		q.setID(v.AsString())
		return nil
	case "method", "path", "url", "params", "query", "headers", "cookies", "ip", "route", "csrf_token":
		return vm.TypeErrorf("req.%s is read-only", name)
	case "session":
		if q.sessions != nil {
			return vm.TypeErrorf("req.session is read-only: its values change with req.session.set(key, value), delete(key) and destroy()")
		}
	}
	q.setExtra(name, v)
	return nil
}

// setExtra sets req's field name, one the request does not have itself.
func (q *reqObject) setExtra(name string, v vm.Value) {
	if q.extra == nil {
		q.extra = vm.NewObject()
	}
	q.extra.Set(name, v)
}

// MethodParams: the methods CallMethod has (see vm.HostMethods).
func (q *reqObject) MethodParams(name string) ([]string, bool) {
	switch name {
	case "text", "json", "formData", "form_data", "form":
		return []string{}, true
	}
	return nil, false
}

// CallMethod gives the reference's body readers: req.text() is the body
// as text, req.json() the body parsed as JSON whatever its Content-Type
// says, req.formData() its form or multipart fields. A body that does not
// parse answers 400, as req.body does.
func (q *reqObject) CallMethod(t *vm.Thread, name string, args []vm.Value) (vm.Value, bool, error) {
	switch name {
	case "text":
		return vm.Str(q.r.BodyString()), true, nil // bytes that are not UTF-8 kept, one character each
	case "json":
		if len(bytes.TrimSpace(q.r.Body)) == 0 {
			return vm.Nil, true, badBody("malformed JSON body: the body is empty")
		}
		v, err := decodeBody(q.th, len(q.r.Body), func() (vm.Value, error) { return parseJSONBody(q.r.BodyString()) })
		return v, true, err
	case "formData", "form_data", "form":
		ct, params, _ := mime.ParseMediaType(q.r.ContentType)
		if ct == "multipart/form-data" {
			v, err := q.withoutCSRF(q.multipart(q.r.Body, params["boundary"]))
			return v, true, err
		}
		if isJSONBodyType(q.r.ContentType) {
			// JSON read as a form would be one odd field: the client sent
			// what the handler does not take (400, catchable).
			return vm.Nil, true, badBody("the body is " + ct + ", not a form (req.json() reads it)")
		}
		v, err := q.withoutCSRF(q.formBody())
		return v, true, err
	case "header", "param":
		// Express's req.header(...), req.param(...) (its req.get(name)
		// is the builtin get, get(req, path), which reads a field: a
		// header's name, with its -, is said to be one in GetAttr)
		if len(args) >= 1 && args[0].Kind() == vm.KString {
			how := map[string]string{
				"header": "a request header is req.headers[%q]",
				"param":  "a path parameter is req.params[%q] (or a handler parameter of its name)",
			}[name]
			key := args[0].AsString()
			if name != "param" {
				key = strings.ToLower(key)
			}
			return vm.Nil, true, vm.TypeErrorf("Request has no method %s: "+how, name, key)
		}
	}
	return vm.Nil, false, nil
}

// badBody is the client error of a body that does not parse. It answers
// 400 BAD_REQUEST whether a parameter or req.body asked for the body
// (Tova code may catch it), never 500.
func badBody(msg string) *httpError {
	return &httpError{status: 400, code: "BAD_REQUEST", message: msg}
}

// Body parses the request body once: JSON, form-urlencoded or multipart
// fields; nil when empty. A body that does not parse is an *httpError
// (400), every time it is asked for.
func (q *reqObject) Body() (vm.Value, error) {
	if !q.parsed {
		q.parsed = true
		q.body, q.bodyErr = q.parseBody()
		if vm.IsCancelled(q.bodyErr) {
			q.parsed = false // (a later read, after the request, decodes it)
		}
	}
	return q.body, q.bodyErr
}

// currentBody is req.body as a handler reads it: what middleware set it
// to, else the request's. A route's body: type and typed parameters
// read it, so that they check what the handler gets.
func (q *reqObject) currentBody() (vm.Value, error) {
	if q.extra != nil {
		if v, ok := q.extra.Get("body"); ok {
			return v, nil
		}
	}
	return q.Body()
}

// setBody makes v req.body: the typed body, as body: Type made it.
func (q *reqObject) setBody(v vm.Value) {
	if q.extra != nil {
		if _, ok := q.extra.Get("body"); ok {
			q.extra.Set("body", v)
			return
		}
	}
	q.body = v
}

func (q *reqObject) parseBody() (vm.Value, error) {
	body := q.r.Body
	if len(bytes.TrimSpace(body)) == 0 {
		return vm.Nil, nil
	}
	ct, params, _ := mime.ParseMediaType(q.r.ContentType)
	switch {
	case ct == "application/x-www-form-urlencoded":
		return q.withoutCSRF(q.formBody())
	case ct == "multipart/form-data":
		return q.withoutCSRF(q.multipart(body, params["boundary"]))
	case isJSONBodyType(ct):
		return decodeBody(q.th, len(body), func() (vm.Value, error) { return parseJSONBody(q.r.BodyString()) })
	default:
		// A body that says nothing of itself is JSON if it is JSON, else
		// its text. One of another type is JSON if it is an object or
		// array that parses, else its text: text/plain is what a
		// browser's fetch(url, {body: JSON.stringify(x)}) sends JSON as,
		// application/csp-report what it sends its reports as, and the
		// reference parses any body that is not a form. Only what can be
		// JSON waits for the budget (other text fails to parse at once).
		t := bytes.TrimSpace(body)
		looksJSON := t[0] == '{' || t[0] == '['
		if !looksJSON && ct != "" {
			break
		}
		n := 0
		if looksJSON {
			n = len(body)
		}
		v, err := decodeBody(q.th, n, func() (vm.Value, error) { return stdlib.ParseJSONFiniteString(q.r.BodyString()) })
		if vm.IsCancelled(err) {
			return vm.Nil, err
		}
		if err == nil {
			return v, nil
		}
	}
	return vm.Str(q.r.BodyString()), nil
}

// isJSONBodyType reports whether a request's Content-Type says its body
// is JSON: application/json or a +json type, and text/json and
// application/x-json, which older clients and devices send JSON as. A
// body of one that does not parse is a 400.
func isJSONBodyType(ctype string) bool {
	switch mediaType(ctype) {
	case "text/json", "application/x-json":
		return true
	}
	return isJSONType(ctype)
}

// withoutCSRF is a form's fields without the CSRF check's _csrf field,
// where the check is on: the token is the check's, not the data's
// (Task.create(req.body) failed on a field the model does not have).
func (q *reqObject) withoutCSRF(v vm.Value, err error) (vm.Value, error) {
	if err == nil && q.csrf != nil && v.Kind() == vm.KObject {
		v.AsObject().Delete(csrfField)
	}
	return v, err
}

// formBody decodes a form-urlencoded body, in its turn (decodeBody).
func (q *reqObject) formBody() (vm.Value, error) {
	return decodeBody(q.th, len(q.r.Body), func() (vm.Value, error) { return queryObject(q.r.BodyString()), nil })
}

// parseJSONBody parses a body that is to be JSON; one that is not is a
// 400 saying where it went wrong.
func parseJSONBody(body string) (vm.Value, error) {
	v, err := stdlib.ParseJSONFiniteString(body)
	if err != nil {
		return vm.Nil, badBody("malformed JSON body: " + strings.TrimPrefix(err.Error(), "JSON.parse: "))
	}
	return v, nil
}

// queryObject reads a query string or form body (netio.ParseQuery) into
// an object whose keys keep the order of their first appearance
// (url.Values, a map, would shuffle them on every request); a repeated
// key gives an array.
func queryObject(raw string) vm.Value {
	var keys []string
	vals := map[string][]string{}
	netio.ParseQuery(raw, func(k, v string) {
		if _, ok := vals[k]; !ok {
			keys = append(keys, k)
		}
		vals[k] = append(vals[k], v)
	})
	o := vm.NewObject()
	for _, k := range keys {
		vs := vals[k]
		if len(vs) == 1 {
			o.Set(k, vm.Str(vs[0]))
			continue
		}
		arr := make([]vm.Value, len(vs))
		for i, s := range vs {
			arr[i] = vm.Str(s)
		}
		o.Set(k, vm.NewArray(arr))
	}
	return vm.ObjectValue(o)
}

// multipart parses a multipart/form-data body, checking its files
// against the server's upload block: a malformed body is a 400, a file
// the block refuses a 413 or 415.
func (q *reqObject) multipart(body []byte, boundary string) (vm.Value, error) {
	v, err := multipartObject(body, boundary, q.uploads)
	if he, ok := err.(*httpError); ok {
		return vm.Nil, he
	}
	if err != nil {
		return vm.Nil, badBody("malformed multipart body: " + err.Error())
	}
	return v, nil
}

// multipartObject reads a multipart/form-data body into an object: a
// field's value is its text, a file part's a stdlib.File ({ filename,
// content_type, size, content }); a repeated field gives an array. Each file part is
// checked against rules (nil: none).
func multipartObject(body []byte, boundary string, rules *uploadRules) (vm.Value, error) {
	br := bytes.NewReader(body)
	mr := multipart.NewReader(br, boundary)
	o := vm.NewObject()
	for parts := 0; ; parts++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			return vm.ObjectValue(o), nil
		}
		if err != nil {
			return vm.Nil, multipartCause(err, parts)
		}
		cd := part.Header.Get("Content-Disposition")
		if cd == "" {
			// (RFC 7578 asks one of every part: it was a field named "")
			return vm.Nil, errors.New(`a part has no Content-Disposition (form-data; name="field")`)
		}
		disp, params, err := mime.ParseMediaType(cd)
		if err != nil {
			// (its name and file name are lost with it: "image is
			// required" said nothing of why)
			return vm.Nil, errors.New("a part's Content-Disposition cannot be read (a quote in its filename not escaped?)")
		}
		if disp != "form-data" || params["name"] == "" {
			// (RFC 7578: form-data, with the field's name; it was a
			// field named "", or dropped)
			return vm.Nil, errors.New(`a part's Content-Disposition is not form-data with a name (form-data; name="field")`)
		}
		data, err := readPart(part, br.Len)
		if err != nil {
			return vm.Nil, multipartCause(err, parts+1)
		}
		if len(data) == 0 && emptyFileInput(part) {
			continue
		}
		var v vm.Value
		if stdlib.LastNameElement(part.FileName()) == ".." {
			// (the reader keeps a name's last element, which is this
			// one: save_file refused it with a ValueError, a 500 any
			// client could cause, logged as the server's failure)
			return vm.Nil, errors.New("the file name of the part " + strconv.Quote(part.FormName()) + " climbs out of its directory (..)")
		}
		if part.FileName() != "" {
			if err := rules.checkFile(part.FormName(), part.FileName(), part.Header.Get("Content-Type"), data, int64(len(data))); err != nil {
				return vm.Nil, err
			}
			v = stdlib.NewFile(part.FileName(), part.Header.Get("Content-Type"), partText(data))
		} else {
			v = vm.Str(partText(data))
		}
		name := part.FormName()
		if prev, ok := o.Get(name); ok {
			if prev.Kind() == vm.KArray {
				a := prev.AsArray()
				a.Elems = append(a.Elems, v)
			} else {
				o.Set(name, vm.NewArray([]vm.Value{prev, v}))
			}
			continue
		}
		o.Set(name, v)
	}
}

// multipartCause is what is wrong with a multipart body whose reading
// failed with err after parts parts, said without the body's bytes: the
// reader's own errors quote a malformed header line whole (100 KB of it
// went back to the client), and "multipart: NextPart: EOF" is no cause
// a client can act on.
func multipartCause(err error, parts int) error {
	var pe textproto.ProtocolError
	switch {
	case errors.As(err, &pe):
		return errors.New("a part's header is malformed (a header line without a colon, or with a byte a header cannot hold)")
	case (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) && parts == 0:
		return errors.New("no part begins with the boundary the Content-Type names")
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("it ends before its closing boundary")
	}
	if m := err.Error(); !strings.ContainsAny(m, `"'`) {
		return err // (the reader's own words, quoting nothing of the body)
	}
	return errors.New("it cannot be read as parts the Content-Type's boundary delimits")
}

// readPart reads a part of a multipart body, left saying how much of the
// body is still unread: a small part (a field) into a buffer doubled from
// 512 bytes, a larger one (a file) into one grown once to hold the rest
// of the body, which holds all of the part. io.ReadAll's doublings took
// about twice a file's size, and the String made of it once more.
func readPart(part io.Reader, left func() int) ([]byte, error) {
	buf := make([]byte, 0, 512)
	for {
		if len(buf) == cap(buf) {
			if cap(buf) < 64<<10 {
				buf = slices.Grow(buf, cap(buf))
			} else {
				// (the multipart reader may hold a few KiB it read ahead)
				buf = slices.Grow(buf, left()+8<<10)
			}
		}
		n, err := part.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// partText is a part's bytes as a String, without a copy: readPart's
// buffer is the part's own, and nothing writes it once read.
func partText(data []byte) string {
	if len(data) == 0 {
		return ""
	}
	return unsafe.String(&data[0], len(data))
}

// emptyFileInput reports whether part, without content, is what a
// browser sends for a form's file input left empty: a part whose
// filename is "". It is no file, and no field either (File? is None,
// File is required, upload() finds no file), as the user chose none.
func emptyFileInput(part *multipart.Part) bool {
	_, params, err := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
	name, ok := params["filename"]
	return err == nil && ok && name == ""
}

// headersObject gives case-insensitive header lookup: req.headers["x-id"]
// and req.headers.get("X-Id") are the value or nil. A header sent on
// several lines reads as its values joined with ", " (a Cookie header's
// with "; "), as the Fetch API's Headers give it. It lists, loops,
// spreads and encodes as an object of lower-case names.
type headersObject struct {
	h netio.Headers
	// cookies, for a request's headers, is set when code reads its
	// Cookie header (by name, or listing every header): the answer may
	// then be one user's (see exchange.personal)
	cookies *bool
}

func (h headersObject) TypeName() string { return "Headers" }

// value is the named header's value, its lines joined.
func (h headersObject) value(name string) (string, bool) {
	if h.cookies != nil && strings.EqualFold(name, "cookie") {
		*h.cookies = true
	}
	v, ok := h.h.Lookup(name)
	if !ok {
		return "", false
	}
	if vs := h.h.Values(name); len(vs) > 1 {
		sep := ", "
		if strings.EqualFold(name, "cookie") {
			sep = "; "
		}
		v = strings.Join(vs, sep)
	}
	return v, true
}

func (h headersObject) GetAttr(t *vm.Thread, name string) (vm.Value, bool, error) {
	if v, ok := h.value(name); ok {
		return vm.Str(v), true, nil
	}
	return vm.Nil, true, nil
}

// EqualHost is ==: two header objects are equal when they read the same,
// name by name (in any case).
func (h headersObject) EqualHost(other vm.HostObject) bool {
	o, ok := other.(headersObject)
	if !ok {
		return false
	}
	covers := func(a, b headersObject) bool {
		for _, f := range a.h {
			x, _ := a.value(f.Name)
			if y, ok := b.value(f.Name); !ok || x != y {
				return false
			}
		}
		return true
	}
	return covers(h, o) && covers(o, h)
}

// Has says whether a header of that name (in any case) came: GetAttr
// gives nil for one that did not.
func (h headersObject) Has(name string) bool {
	_, ok := h.h.Lookup(name)
	return ok
}

func (h headersObject) SetAttr(t *vm.Thread, name string, v vm.Value) error {
	return vm.TypeErrorf("headers are read-only here (a response's are set with res.setHeader or with_headers)")
}

// MethodParams: the methods CallMethod has (see vm.HostMethods).
func (h headersObject) MethodParams(name string) ([]string, bool) {
	switch name {
	case "get":
		return []string{"name", "default"}, true
	case "has":
		return []string{"name"}, true
	case "keys":
		return []string{}, true
	}
	return nil, false
}

func (h headersObject) CallMethod(t *vm.Thread, name string, args []vm.Value) (vm.Value, bool, error) {
	switch name {
	case "get", "has":
		if len(args) < 1 {
			return vm.Nil, true, vm.TypeErrorf("headers.%s needs a name", name)
		}
		v, ok := h.value(vm.ToString(args[0]))
		if name == "has" {
			return vm.Bool(ok), true, nil
		}
		if !ok {
			if len(args) > 1 {
				return args[1], true, nil // get(name, default), as get's
			}
			return vm.Nil, true, nil
		}
		return vm.Str(v), true, nil
	case "keys":
		return vm.NewArray(strValues(h.names())), true, nil
	}
	return vm.Nil, false, nil
}

// names lists the header names (lower case), each once, in order.
func (h headersObject) names() []string {
	var ns []string
	for _, f := range h.h {
		if h.cookies != nil && strings.EqualFold(f.Name, "cookie") {
			*h.cookies = true
		}
		if !slices.Contains(ns, f.Name) {
			ns = append(ns, f.Name)
		}
	}
	return ns
}

// Keys lists the names for keys(), values(), entries() and spreading.
func (h headersObject) Keys(*vm.Thread) ([]string, error) { return h.names(), nil }

// FoldsKeys: a header's name is found whatever its case (pick, omit).
func (h headersObject) FoldsKeys() {}

// Len is the number of distinct headers.
func (h headersObject) Len() int { return len(h.names()) }

// IteratesEntries marks the headers as looping as an object does:
// `for name, value in req.headers`.
func (h headersObject) IteratesEntries() {}

// Iterator loops over [name, value] entries, as over an object.
func (h headersObject) Iterator(*vm.Thread) (vm.Iterator, error) {
	return &headersIter{h: h, names: h.names()}, nil
}

type headersIter struct {
	h     headersObject
	names []string
}

func (it *headersIter) Next(*vm.Thread) (vm.Value, bool, error) {
	if len(it.names) == 0 {
		return vm.Nil, false, nil
	}
	n := it.names[0]
	it.names = it.names[1:]
	v, _ := it.h.value(n)
	return vm.NewArray([]vm.Value{vm.Str(n), vm.Str(v)}), true, nil
}

// JSONValue lets JSON.stringify(req.headers) show the headers.
func (h headersObject) JSONValue() vm.Value {
	o := vm.NewObject()
	for _, n := range h.names() {
		v, _ := h.value(n)
		o.Set(n, vm.Str(v))
	}
	return vm.ObjectValue(o)
}

func strValues(ss []string) []vm.Value {
	vs := make([]vm.Value, len(ss))
	for i, s := range ss {
		vs[i] = vm.Str(s)
	}
	return vs
}

// resObject is `res` in Tova code: status (read) and status(n) (set),
// setHeader, json, on_finish.
type resObject struct {
	status    int
	statusSet bool // Tova code set status (else it is the runtime's)
	headers   netio.Headers
	cookies   []netio.SetCookie
	jsonSet   bool
	json      vm.Value
	finish    []vm.Value
	ctype     string
	bodyText  []byte
	bodySet   bool
	ex        *exchange // the request's, for its id
	// shared: headers' array is also the exchange's hookHeaders, which
	// must not change: setHeader copies it before it deletes in place
	shared bool
}

func (r *resObject) TypeName() string { return "Response" }

func (r *resObject) String() string { return "<Response " + strconv.Itoa(r.status) + ">" }

func (r *resObject) GetAttr(t *vm.Thread, name string) (vm.Value, bool, error) {
	switch name {
	case "status", "statusCode":
		return vm.Int(int64(r.status)), true, nil
	case "headers":
		return headersValue("", r.headers), true, nil
	case "locals":
		// (Express's res.locals.user = …: "cannot set field user of nil")
		return vm.Nil, false, vm.TypeErrorf("Response has no field locals: what a middleware keeps for later code is req.locals (req.locals.user = u)")
	}
	return vm.Nil, false, nil
}

func (r *resObject) SetAttr(t *vm.Thread, name string, v vm.Value) error {
	if name == "status" || name == "statusCode" {
		n, err := statusArg(v)
		if err != nil {
			return err
		}
		r.status, r.statusSet = n, true
		return nil
	}
	return vm.TypeErrorf("res.%s cannot be set", name)
}

// setHeader sets a header of the response, replacing its earlier
// value; a Set-Cookie header adds a cookie instead. A list value gives a
// Set-Cookie line per element (any other header: its elements joined
// with ", "); nil removes the header.
func (r *resObject) setHeader(name string, v vm.Value) {
	cookie := strings.EqualFold(name, "Set-Cookie")
	if !cookie || v.IsNil() {
		same := func(h netio.Header) bool { return strings.EqualFold(h.Name, name) }
		if r.shared && slices.ContainsFunc(r.headers, same) {
			r.headers, r.shared = slices.Clone(r.headers), false
		}
		r.headers = slices.DeleteFunc(r.headers, same)
	}
	for _, line := range headerLines(name, v) {
		r.headers = append(r.headers, netio.Header{Name: name, Value: line})
	}
}

// MethodParams: the methods CallMethod has (see vm.HostMethods).
func (r *resObject) MethodParams(name string) ([]string, bool) {
	switch name {
	case "status":
		return []string{"code"}, true
	case "setHeader", "set_header", "header":
		return []string{"name", "value"}, true
	case "json", "send", "text":
		return []string{"value"}, true
	case "on_finish", "onFinish":
		return []string{"fn"}, true
	}
	return nil, false
}

func (r *resObject) CallMethod(t *vm.Thread, name string, args []vm.Value) (vm.Value, bool, error) {
	switch name {
	case "status":
		if len(args) == 0 {
			return vm.Int(int64(r.status)), true, nil
		}
		n, err := statusArg(args[0])
		if err != nil {
			return vm.Nil, true, err
		}
		r.status, r.statusSet = n, true
		return vm.HostValue(r), true, nil
	case "setHeader", "set_header", "header":
		if len(args) < 2 {
			return vm.Nil, true, vm.TypeErrorf("res.%s needs a name and a value", name)
		}
		if args[0].Kind() != vm.KString {
			// (nil would name a header "nil": a typo's unset variable)
			return vm.Nil, true, vm.TypeErrorf("res.%s: a header's name is a String, not %s", name, vm.TypeName(args[0]))
		}
		name := vm.ToString(args[0])
		if err := checkHeaderName(name); err != nil {
			return vm.Nil, true, err
		}
		for range 64 {
			x, ok := vm.OptionValue(args[1])
			if !ok {
				break
			}
			args[1] = x // Some(v) is v, None no value, as respond's (Some(Some(v)) too)
		}
		if err := headerValueKind(name, args[1]); err != nil {
			return vm.Nil, true, err // (an object was sent as its display text)
		}
		if strings.EqualFold(name, "X-Request-ID") && r.ex != nil {
			// The response echoes the request's id: setting the header
			// sets the id (as req.id = v does), which the log lines
			// then name too. nil leaves it.
			if !args[1].IsNil() {
				r.ex.request().setID(vm.ToString(args[1]))
			}
			return vm.HostValue(r), true, nil
		}
		r.setHeader(name, args[1])
		return vm.HostValue(r), true, nil
	case "json":
		if len(args) < 1 {
			return vm.Nil, true, vm.TypeErrorf("res.json needs a value")
		}
		if len(args) > 1 {
			// (res.json(v, 201): the status was dropped)
			return vm.Nil, true, vm.TypeErrorf("res.json takes one value: the status is set with res.status(%s).json(v)", vm.Repr(args[1]))
		}
		r.jsonSet, r.json = true, args[0]
		return vm.HostValue(r), true, nil
	case "send", "text":
		if len(args) > 1 {
			return vm.Nil, true, vm.TypeErrorf("res.%s takes one value: the status is set with res.status(%s).%s(v)", name, vm.Repr(args[1]), name)
		}
		if len(args) < 1 {
			if name == "send" {
				// res.status(204).send(), Express's: no body
				r.bodySet, r.bodyText = true, nil
				return vm.HostValue(r), true, nil
			}
			return vm.Nil, true, vm.TypeErrorf("res.%s needs a value", name)
		}
		if k := args[0].Kind(); name == "send" && (k == vm.KObject || k == vm.KArray) {
			// Express's res.send({ a: 1 }) sends JSON (it sent the
			// object's display text as text/plain)
			r.jsonSet, r.json, r.bodySet, r.bodyText = true, args[0], false, nil
			return vm.HostValue(r), true, nil
		}
		r.bodySet, r.bodyText = true, nil
		if !args[0].IsNil() { // nil: no body, as text(nil)
			r.bodyText = []byte(vm.ToString(args[0]))
		}
		if r.ctype == "" {
			r.ctype = "text/plain; charset=utf-8"
		}
		return vm.HostValue(r), true, nil
	case "on_finish", "onFinish":
		if len(args) < 1 {
			return vm.Nil, true, vm.TypeErrorf("res.on_finish needs a function")
		}
		if !args[0].IsCallable() {
			// Refused here, where the code is: called after the answer,
			// it could only fail in the log.
			return vm.Nil, true, vm.TypeErrorf("res.on_finish needs a function, got %s", vm.TypeName(args[0]))
		}
		if len(r.finish) == 0 && r.ex != nil && !r.ex.finishing {
			// Shutdown waits for the callbacks (Server.finishing), also
			// of a request stopped as the drain ends.
			r.ex.finishing = true
			r.ex.s.finishing.Add(1)
		}
		r.finish = append(r.finish, args[0])
		return vm.Nil, true, nil
	}
	if hint, ok := resHints[name]; ok {
		// (res.redirect("/x") called redirect with res as its URL)
		return vm.Nil, true, vm.TypeErrorf("Response has no method %s (%s)", name, hint)
	}
	if _, builtin := vm.LookupBuiltin(name); !builtin {
		// (res.staus(201): "Response has no method staus" named none)
		if near := diag.Closest(name, resMethods); near != "" {
			return vm.Nil, true, vm.TypeErrorf("Response has no method %s (did you mean %s?)", name, near)
		}
	}
	return vm.Nil, false, nil
}

// resHints are what to write instead of other frameworks' methods of a
// response.
var resHints = map[string]string{
	"redirect":   "return redirect(url) from the handler",
	"set":        "did you mean setHeader?",
	"cookie":     "set_cookie(name, value, options) sets a cookie",
	"end":        "return the body from the handler, or res.send(body)",
	"sendStatus": "res.status(204) sets the status, and the handler's answer the body: return respond(204, nil)",
	"type":       "res.setHeader(\"Content-Type\", \"text/html\") sets the type, or return html(page)",
}

// resMethods are the methods CallMethod has.
var resMethods = []string{"status", "setHeader", "set_header", "header", "json", "send", "text", "on_finish", "onFinish"}

// statusArg checks a response status set by Tova code: an Int from 200
// to 599, as the reference's Response accepts. (A 1xx is not a final
// answer: a client would wait for the real one.)
func statusArg(v vm.Value) (int, error) {
	return statusIn(v, "status", 200, 599)
}

func statusIn(v vm.Value, what string, lo, hi int64) (int, error) {
	if v.Kind() != vm.KInt {
		return 0, vm.TypeErrorf("%s must be an Int, got %s", what, vm.TypeName(v))
	}
	if n := v.AsInt(); n < lo || n > hi {
		return 0, vm.Errorf("RangeError", "%s must be from %d to %d, got %d", what, lo, hi, n)
	}
	return int(v.AsInt()), nil
}

// cookieValue is a cookie's value as set_cookie was given it: set_cookie
// percent-encodes it, so it is decoded here (a value that does not
// decode, sent by another party, is kept as sent; `+` stays a plus).
func cookieValue(v string) string {
	if !strings.Contains(v, "%") {
		return v
	}
	if d, err := url.PathUnescape(v); err == nil && utf8.ValidString(d) {
		return d
	}
	return v
}
