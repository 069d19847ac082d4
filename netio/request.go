package netio

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/valyala/fasthttp"

	"tova/actors"
)

// Handler serves one request. It runs on a pool worker, never on the
// connection's goroutine; ctx carries the server's per-request deadline
// and is cancelled when the caller stops waiting, so long-running work must
// watch it. A nil Response answers 204 No Content.
type Handler func(ctx context.Context, req *Request) *Response

// Header is one request or response header field.
type Header struct {
	Name  string
	Value string
}

// Headers is an ordered, multi-valued header list. Request headers have
// lower-case names; lookups are case-insensitive either way.
type Headers []Header

// Get returns the first value of the named header, or "".
func (h Headers) Get(name string) string {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Lookup returns the first value of the named header and whether it exists.
func (h Headers) Lookup(name string) (string, bool) {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return f.Value, true
		}
	}
	return "", false
}

// Values returns every value of the named header in order.
func (h Headers) Values(name string) []string {
	var vs []string
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			vs = append(vs, f.Value)
		}
	}
	return vs
}

// Param is one path parameter.
type Param struct {
	Name  string
	Value string
}

// Params are the path parameters of a matched route, in pattern order.
// A trailing "*" catch-all is named "*".
type Params []Param

// Get returns the named parameter's value, or "".
func (ps Params) Get(name string) string {
	for _, p := range ps {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

// Cookie is one request cookie.
type Cookie struct {
	Name  string
	Value string
}

// Request is an HTTP request copied out of fasthttp before it is handed to
// a worker. Its strings, Body and raw header block share one immutable
// arena per request and alias nothing of fasthttp's: a handler may keep
// them for as long as it likes. The Request value itself (and its Params
// slice) is recycled once the response is written: a handler that needs
// it later keeps a Clone.
//
// A Request belongs to the handler it was given to; its lazily parsed
// parts (Headers, Query, Cookies) are not safe for concurrent use.
type Request struct {
	Method string
	// Path is the percent-decoded, normalised path ("//" collapsed, "." and
	// ".." resolved, no trailing '/' except for "/").
	Path string
	// URI is the request target as sent (path and query, not decoded;
	// of an absolute-form target, its path and query alone).
	URI         string
	RawQuery    string
	Body        []byte
	ContentType string
	// Remote is the client's address (the connection's peer).
	Remote netip.Addr
	// ID is the request id: a valid incoming X-Request-ID, or a generated one.
	ID string
	// Route is the matched route pattern, Params its parameters.
	Route  string
	Params Params

	// Local is the handler's own: state it keeps for the next request
	// copied into this Request value. The front end recycles a Request
	// (per connection) with Local as the handler left it; a Request whose
	// handler failed or ran past its deadline is not recycled. Clone
	// leaves it out.
	Local any

	renamed    *atomic.Pointer[string] // the exchange's (SetID)
	gate       *atomic.Uint32          // the exchange's (Waiting, Begin)
	bodyOwned  bool                    // Body is memory of its own, never reused (BodyString)
	rawHeaders []byte                  // the header block as received, parsed on first use
	authority  string                  // an absolute-form target's, which replaces Host
	headers    Headers                 // lower-case names, in arrival order
	parsedH    bool
	query      url.Values
	cookies    []Cookie
	parsedC    bool
}

// Clone returns a copy of r that outlives the handler (see Request).
func (r *Request) Clone() *Request {
	c := *r
	c.Params = slices.Clone(r.Params)
	c.Local = nil
	c.renamed = nil
	return &c
}

// BodyString returns the body as a string. A body read from the
// connection is memory of the request's own, which nothing writes to
// again, and the string shares it: a large upload is not copied once
// more to be read as text or parsed. A body in the request's arena (one
// made in process), which a later request may reuse, is copied. Body
// must not be modified after BodyString is called.
func (r *Request) BodyString() string {
	if len(r.Body) == 0 {
		return ""
	}
	if r.bodyOwned {
		return unsafe.String(&r.Body[0], len(r.Body))
	}
	return string(r.Body)
}

// SetID records id, which the handler gave the request, for an answer
// the front end makes while the handler still runs (a 503 at the
// request's deadline, or as the server stops): its X-Request-ID and
// access line then carry the id the handler's own log lines do. (The
// handler's answer carries its id in Response.RequestID.) It may be
// called while the front end reads the id; it does nothing on a Request
// no Server made, or on a copy after DetachID.
func (r *Request) SetID(id string) {
	if r.renamed != nil {
		r.renamed.Store(&id)
	}
}

// Waiting tells the front end that the handler has yet to run anything
// of the request: it waits for what it needs first (the server's
// state). Should the request's deadline pass, or the server stop, before
// Begin, the front end answers it as never run (HeaderNotRun), and Begin
// returns false.
func (r *Request) Waiting() {
	if r.gate != nil {
		r.gate.CompareAndSwap(gateRunning, gateWaiting)
	}
}

// Begin ends Waiting. It returns false when the front end has answered
// the request meanwhile as never run: the handler must then run nothing
// of it.
func (r *Request) Begin() bool {
	return r.gate == nil || r.gate.CompareAndSwap(gateWaiting, gateRunning) || r.gate.Load() != gateAbandoned
}

// The states of an exchange's gate: how far its handler has gone, for
// an answer the front end gives without it (at the deadline, as the
// server stops).
const (
	gateIdle      uint32 = iota // the handler has not been called
	gateRunning                 // the handler runs, and may have run anything
	gateWaiting                 // the handler waits to begin (Request.Waiting)
	gateAbandoned               // answered as never run: the handler must not begin
)

// abandon reports whether nothing of ex's handler has run, and makes
// sure nothing will: its answer may then say so (markNotRun).
func (ex *exchange) abandon() bool {
	return ex.gate.CompareAndSwap(gateIdle, gateAbandoned) || ex.gate.CompareAndSwap(gateWaiting, gateAbandoned)
}

// DetachID ends SetID's effect on this copy of the Request. A handler
// calls it on its copies when it returns: the front end may then reuse
// what SetID writes to for another request.
func (r *Request) DetachID() { r.renamed = nil }

// Headers returns the request headers in arrival order, with lower-case
// names; a name repeats for a repeated header.
func (r *Request) Headers() Headers {
	if !r.parsedH {
		r.parsedH = true
		r.headers = parseHeaderBlock(r.headers, r.rawHeaders)
		if r.authority != "" {
			r.headers = withHost(r.headers, r.authority)
		}
	}
	return r.headers
}

// withHost returns hs with its Host field's value replaced by
// authority, or with a Host field added if it has none: the target of an
// absolute-form request names the host, and a server must ignore the
// Host field it came with (RFC 9112 §3.2.2).
func withHost(hs Headers, authority string) Headers {
	found := false
	for i := range hs {
		if hs[i].Name == "host" {
			hs[i].Value, found = authority, true
		}
	}
	if !found {
		hs = append(hs, Header{Name: "host", Value: authority})
	}
	return hs
}

// RemoteIP returns the client's IP address as text ("" if unknown).
func (r *Request) RemoteIP() string {
	if !r.Remote.IsValid() {
		return ""
	}
	return r.Remote.String()
}

// Header returns the first value of the named header (case-insensitive).
func (r *Request) Header(name string) string { return r.Headers().Get(name) }

// Param returns the named path parameter.
func (r *Request) Param(name string) string { return r.Params.Get(name) }

// Query returns the parsed query string (repeated keys give several
// values). Malformed pairs are skipped.
func (r *Request) Query() url.Values {
	if r.query == nil {
		r.query = url.Values{}
		ParseQuery(r.RawQuery, r.query.Add)
	}
	return r.query
}

// QueryValue returns the first value of the named query parameter.
func (r *Request) QueryValue(name string) string {
	if r.RawQuery == "" {
		return ""
	}
	return r.Query().Get(name)
}

// Cookies returns the request cookies in order.
func (r *Request) Cookies() []Cookie {
	if !r.parsedC {
		r.parsedC = true
		for _, h := range r.Headers() {
			if h.Name == "cookie" {
				r.cookies = appendCookies(r.cookies, h.Value)
			}
		}
	}
	return r.cookies
}

// Cookie returns the named cookie's value.
func (r *Request) Cookie(name string) (string, bool) {
	for _, c := range r.Cookies() {
		if c.Name == name {
			return c.Value, true
		}
	}
	return "", false
}

func appendCookies(dst []Cookie, s string) []Cookie {
	for s != "" {
		var part string
		part, s, _ = strings.Cut(s, ";")
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		value = strings.TrimSpace(value)
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
		}
		if name != "" {
			dst = append(dst, Cookie{Name: name, Value: value})
		}
	}
	return dst
}

// exchange is one request in flight: the copied Request and the handler
// chosen by the router, in a single value that is recycled when the
// handler's answer came back normally. The handler's context (an
// actors.Job) is not part of it: code may hold a context past the call
// (a database driver's watcher goroutine does), so it is never recycled.
type exchange struct {
	req     Request
	handler Handler
	params  [4]Param
	line    []byte                 // the access line's buffer, kept when recycled
	renamed atomic.Pointer[string] // the id the handler gave the request (Request.SetID)
	gate    atomic.Uint32          // gateIdle, ...: how far the handler has gone
	// plain: the answer is a handler's Response with no headers of its
	// own (so none of the security headers either)
	plain bool
	// mem is the request's memory (takeMemory); free says its handler
	// and everything it ran kept nothing of it (Response.RequestFree,
	// actors.Job.Reusable); spare is a block a request left free, for
	// the next (putExchange keeps it).
	mem, spare reqBlock
	free       bool
	// after is the answer's Response.AfterWrite, run once its access
	// line is written
	after func(status int)
}

// currentID is the request's id as its handler last set it, which may
// still be running.
func (ex *exchange) currentID() string {
	if id := ex.renamed.Load(); id != nil {
		return *id
	}
	return ex.req.ID
}

var exchanges = sync.Pool{New: func() any { return new(exchange) }}

// getExchange returns the exchange tc keeps (see putExchange), or one
// from the pool.
func getExchange(tc *timedConn) *exchange {
	if tc != nil && tc.ex != nil {
		ex := tc.ex
		tc.ex = nil
		return ex
	}
	return exchanges.Get().(*exchange)
}

// putExchange recycles ex, keeping its access line buffer and its
// handler's Request.Local. Only an exchange no worker can still touch may
// be recycled: one whose Pool.Do returned the handler's answer, or that
// never reached the pool. A connection keeps one for its next request
// (only its serving goroutine touches it, and the exchange's memory stays
// with that goroutine); others go back to the pool.
func putExchange(tc *timedConn, ex *exchange) {
	line := ex.line[:0]
	if cap(line) > 1024 {
		line = nil // a long path's: not kept
	}
	local := ex.req.Local
	spare := ex.spare
	if m := ex.mem; ex.free && m.job != nil && cap(m.arena) <= maxSpareArena {
		spare = m // its handler kept nothing of it: the next request's
	}
	*ex = exchange{line: line, spare: spare}
	ex.req.Local = local
	if tc != nil && tc.ex == nil {
		tc.ex = ex
		return
	}
	exchanges.Put(ex)
}

// Label implements actors.Labeled: the request's id, for the memory
// guard's line when it stops the request.
func (ex *exchange) Label() string { return ex.currentID() }

// Run implements actors.Runner.
func (ex *exchange) Run(ctx context.Context) (any, error) {
	if !ex.gate.CompareAndSwap(gateIdle, gateRunning) {
		return nil, nil // answered already, as never run
	}
	return ex.handler(ctx, &ex.req), nil
}

// headerLines iterates over the lines of a raw header block.
type headerLines struct{ b []byte }

// next returns the next field; cont reports a continuation line (starting
// with a space or tab), whose text is in value.
func (it *headerLines) next() (name, value []byte, cont, ok bool) {
	for len(it.b) > 0 {
		line := it.b
		if i := bytes.IndexByte(it.b, '\n'); i >= 0 {
			line, it.b = it.b[:i], it.b[i+1:]
		} else {
			it.b = nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			return nil, trimSpaceBytes(line), true, true
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		return trimSpaceBytes(line[:colon]), trimSpaceBytes(line[colon+1:]), false, true
	}
	return nil, nil, false, false
}

// parseHeaderBlock parses "Name: value\r\n" lines into dst. Values are
// views of the block (shared and immutable); the lower-cased names are
// copied into one new buffer. A continuation line extends the previous
// value.
func parseHeaderBlock(dst Headers, block []byte) Headers {
	count, size := 0, 0
	it := headerLines{block}
	for name, _, cont, ok := it.next(); ok; name, _, cont, ok = it.next() {
		if !cont {
			count++
			size += len(name)
		}
	}
	if count == 0 {
		return dst
	}
	names := make([]byte, 0, size)
	dst = slices.Grow(dst, count)
	it = headerLines{block}
	for name, value, cont, ok := it.next(); ok; name, value, cont, ok = it.next() {
		if cont {
			if len(dst) > 0 {
				dst[len(dst)-1].Value += " " + string(value)
			}
			continue
		}
		at := len(names)
		for _, c := range name {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			names = append(names, c)
		}
		dst = append(dst, Header{Name: arenaString(names, at), Value: unsafe.String(unsafe.SliceData(value), len(value))})
	}
	return dst
}

func trimSpaceBytes(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// maxIDLen bounds request ids, incoming or generated.
const maxIDLen = 128

// validRequestID reports whether id matches ^[A-Za-z0-9\-_.]{1,128}$.
func validRequestID(id []byte) bool {
	if len(id) == 0 || len(id) > maxIDLen {
		return false
	}
	for _, c := range id {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// arenaString returns the bytes a[from:] as a string without copying. The
// arena is never written below its length again, so the string stays
// immutable.
func arenaString(a []byte, from int) string {
	if len(a) == from {
		return ""
	}
	return unsafe.String(&a[from], len(a)-from)
}

// Header blocks fasthttp reads but HTTP refuses (see checkRawHeaders).
var (
	errFieldName = errors.New("a header field name holds a space or another character no field name may hold (RFC 9110 §5.1)")
	// errTransferCoding: a Transfer-Encoding other than chunked that
	// fasthttp lets through ("identity", which HTTP/1.1 no longer has).
	// Read as "no body", it would make the body the next request.
	errTransferCoding = errors.New(`unsupported transfer-encoding: a request's transfer coding must be "chunked" (RFC 9112 §6.1)`)
)

// checkRawHeaders reads the raw header block of a request fasthttp
// parsed, once, for what fasthttp lets through: a field name that is not
// a token (fasthttp takes "X A: v", and only refuses a space before the
// colon), and a Transfer-Encoding other than chunked (it takes
// "identity" as no coding at all). Either is an error, and the request is
// refused. It also returns the X-Request-ID value, if the field appears
// once and on one line: repeated, it means the values joined (RFC 9110
// §5.3); folded (obsolete line folding), its value is the lines joined;
// neither is a valid id.
func checkRawHeaders(block []byte) (id []byte, err error) {
	ids, folded, inID, inFraming := 0, false, false, false
	for len(block) > 0 {
		var line []byte // after the name and its colon
		switch c := block[0]; {
		case c == '\r' || c == '\n': // the block's end
			block = block[1:]
			continue
		case c == ' ' || c == '\t': // continues the field before
			if inFraming {
				// "Content-Length:\r\n 5": fasthttp joins the lines;
				// a proxy before it that does not reads another length
				return nil, errFoldedFraming
			}
			folded = folded || inID
			line = block
		default:
			n := 0
			for n < len(block) && tchar[block[n]] {
				n++
			}
			if n == 0 || n == len(block) || block[n] != ':' {
				return nil, errFieldName
			}
			name := unsafe.String(unsafe.SliceData(block), n)
			line = block[n+1:]
			inID = false
			inFraming = len(name) == len(fasthttp.HeaderContentLength) && strings.EqualFold(name, fasthttp.HeaderContentLength) ||
				len(name) == len(fasthttp.HeaderTransferEncoding) && strings.EqualFold(name, fasthttp.HeaderTransferEncoding)
			switch {
			case len(name) == len(headerRequestID) && strings.EqualFold(name, headerRequestID):
				ids++
				inID = true
			case len(name) == len(fasthttp.HeaderTransferEncoding) && strings.EqualFold(name, fasthttp.HeaderTransferEncoding):
				if i := bytes.IndexByte(line, '\n'); i >= 0 && i+1 < len(line) && (line[i+1] == ' ' || line[i+1] == '\t') {
					// (Transfer-Encoding:\r\n chunked, gzip,\r\n chunked:
					// a coding folded onto the next line)
					return nil, errFoldedFraming
				}
				if v := trimSpaceBytes(lineValue(line)); !strings.EqualFold(unsafe.String(unsafe.SliceData(v), len(v)), "chunked") {
					return nil, errTransferCoding
				}
			}
			if inID {
				id = trimSpaceBytes(lineValue(line))
			}
		}
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			block = line[i+1:]
		} else {
			block = nil
		}
	}
	if ids != 1 || folded {
		return nil, nil
	}
	return id, nil
}

// lineValue is the field value at the start of b, up to its line's end.
func lineValue(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	return bytes.TrimSuffix(b, []byte{'\r'})
}

// tchar says which bytes a token (a field name, a method) may hold (RFC
// 9110 §5.6.2).
var tchar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// soleHeader is the value of the field named name in a header fasthttp
// parsed (a request made in process) if it appears once; nil if it is
// missing or repeated (see checkRawHeaders).
func soleHeader(h *fasthttp.RequestHeader, name string) []byte {
	v := h.Peek(name)
	if v == nil || len(h.PeekAll(name)) != 1 {
		return nil
	}
	return v
}

// Request targets HTTP refuses (RFC 9112 §3.2, RFC 9110 §4.2).
var (
	// errConnect is a CONNECT request: a tunnel, asked of a proxy
	// (RFC 9110 §9.3.6), whose target names a host, not a path.
	errConnect = errors.New("CONNECT asks for a tunnel, as of a proxy: this server is no proxy (RFC 9110 §9.3.6)")
	// errUnknownMethod is a method none of whose routes a server could
	// have (TRACE, FOO, get): 501, not the 405 of a method a route
	// might take (RFC 9110 §9.1).
	errUnknownMethod   = errors.New("the method is none this server implements (GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS; RFC 9110 §9.1)")
	errTargetFragment  = errors.New(`the request target holds a fragment ("#"), which is never part of a request (RFC 9112 §3.2)`)
	errTargetScheme    = errors.New("the request target is an absolute URI whose scheme is not http or https")
	errTargetUserinfo  = errors.New(`the request target's authority holds userinfo ("name@"), which an http URI may not (RFC 9110 §4.2.4)`)
	errTargetHost      = errors.New("the request target is an absolute URI with an empty host (RFC 9110 §4.2.1)")
	errTargetHostChars = errors.New("the request target's host holds a character no host name has (a space, a byte past ASCII: an international name is written in its xn-- form)")
	errTargetPort      = errors.New("the request target's port is not a number from 0 to 65535")
	errHostUserinfo    = errors.New(`the Host field holds userinfo ("name@"), which a host may not (RFC 9110 §7.2)`)
	errHostPort        = errors.New("the Host field's port is not a number from 0 to 65535")
	errFoldedFraming   = errors.New("a Content-Length or Transfer-Encoding field is folded onto a second line (obsolete line folding, RFC 9112 §5.2): where a body ends must be said on one line")
	errHostChars       = errors.New("the Host field holds a character no host name has (a space, a slash, a backslash): it is a name, an IPv4 address or an [IPv6] one, and a port")
	errHostNonASCII    = errors.New("the Host field holds a byte that is not ASCII: a host name is written in ASCII, an international one in its xn-- form (RFC 9110 §4.2.3)")
)

// checkHost refuses a Host field value that the request target, were it
// in absolute form, would be refused for: userinfo, or a port past 65535
// (RFC 9112 §3.2: an invalid Host is a 400). fasthttp has checked the
// rest: the characters of a host, brackets and a port made of digits.
func checkHost(host []byte) error {
	if bytes.IndexByte(host, '@') >= 0 {
		return errHostUserinfo
	}
	for _, c := range host {
		if c >= 0x80 {
			return errHostNonASCII
		}
	}
	if j := bytes.LastIndexByte(host, ':'); j >= 0 && bytes.IndexByte(host[j:], ']') < 0 && !validPort(host[j+1:]) {
		return errHostPort
	}
	return nil
}

// checkHostChars is checkHost, and that host holds only what a host
// and port may (RFC 3986 §3.2.2: a reg-name's characters, or an IP
// literal in brackets).
func checkHostChars(host []byte) error {
	if err := checkHost(host); err != nil {
		return err
	}
	for _, c := range host {
		if !hostChar[c] {
			return errHostChars
		}
	}
	return nil
}

// hostChar marks the bytes a Host value may hold.
var hostChar = func() (t [256]bool) {
	for _, c := range []byte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=%:[]") {
		t[c] = true
	}
	return t
}()

// absoluteTarget splits an absolute-form request target
// ("http://example.com:8080/p?q", which a client sends to a proxy and a
// server must accept, RFC 9112 §3.2.2) into its authority and its path
// ("/" if it has none). ok is false for a target that is not an absolute
// URI; err names what makes an absolute URI one this server refuses (a
// scheme other than http and https, userinfo, an empty host). The target
// holds no "#" (see copyRequest).
func absoluteTarget(target []byte) (authority, path []byte, ok bool, err error) {
	i := bytes.Index(target, schemeEnd)
	if i <= 0 || !isScheme(target[:i]) {
		return nil, nil, false, nil
	}
	if scheme := target[:i]; !bytes.EqualFold(scheme, []byte("http")) && !bytes.EqualFold(scheme, []byte("https")) {
		return nil, nil, true, errTargetScheme
	}
	rest := target[i+3:]
	end := bytes.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	authority, path = rest[:end], rest[end:]
	if bytes.IndexByte(authority, '@') >= 0 {
		return nil, nil, true, errTargetUserinfo
	}
	host := authority
	if j := bytes.LastIndexByte(host, ':'); j >= 0 && bytes.IndexByte(host[j:], ']') < 0 {
		if port := host[j+1:]; len(port) > 0 && !validPort(port) {
			return nil, nil, true, errTargetPort
		}
		host = host[:j] // the port
	}
	if len(host) == 0 {
		return nil, nil, true, errTargetHost
	}
	for _, c := range authority {
		if !hostChar[c] {
			// (a byte past ASCII too: "http://é.com/" was taken)
			return nil, nil, true, errTargetHostChars
		}
	}
	if q := bytes.IndexByte(path, '?'); q >= 0 {
		path = path[:q]
	}
	if len(path) == 0 {
		path = []byte("/")
	}
	return authority, path, true, nil
}

// validPort reports whether p, an authority's port, is digits that
// make a number up to 65535 (RFC 3986 §3.2.3 allows leading zeros).
func validPort(p []byte) bool {
	n := 0
	for _, c := range p {
		if c < '0' || c > '9' {
			return false
		}
		if n = n*10 + int(c-'0'); n > 65535 {
			return false
		}
	}
	return true
}

var schemeEnd = []byte("://")

// isScheme reports whether s is a URI scheme: a letter, then letters,
// digits, "+", "-" and "." (RFC 3986 §3.1).
func isScheme(s []byte) bool {
	for i, c := range s {
		switch {
		case 'a' <= c|0x20 && c|0x20 <= 'z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return len(s) > 0
}

// originPath returns the path of an origin-form request target
// ("/p?q#f" gives "/p"), exactly as fasthttp's URI parser finds it, without
// the rest of that parse (host, decoded and normalised path), which netio
// does not use. Other forms (absolute "http://h/p", "//p", "*") report
// false.
func originPath(target []byte) ([]byte, bool) {
	if len(target) == 0 || target[0] != '/' || len(target) > 1 && target[1] == '/' {
		return nil, false
	}
	for i, c := range target {
		if c == '?' || c == '#' {
			return target[:i], true
		}
	}
	return target, true
}

// Request memory: what a request needs that outlives its exchange, the
// handler's context (an actors.Job, 64 bytes) and, for a small request,
// its arena, in one allocation of the smallest fitting size (128, 192 or
// 320 bytes: fresh memory is cold, so each cache line written costs).
// A request's memory is used again, for its connection's next request,
// only if its handler said it kept nothing of the request
// (Response.RequestFree) and nothing can hold its context any more
// (actors.Job.Reusable); otherwise code may hold either, and the
// collector frees it.
type (
	requestMemory64 struct {
		job   actors.Job
		arena [64]byte
	}
	requestMemory128 struct {
		job   actors.Job
		arena [128]byte
	}
	requestMemory256 struct {
		job   actors.Job
		arena [256]byte
	}
)

// requestMemory returns a new context and an empty arena of capacity at
// least size: the block's whole arena, for a small request.
func requestMemory(size int) (*actors.Job, []byte) {
	switch {
	case size <= 64:
		m := new(requestMemory64)
		return &m.job, m.arena[:0]
	case size <= 128:
		m := new(requestMemory128)
		return &m.job, m.arena[:0]
	case size <= 256:
		m := new(requestMemory256)
		return &m.job, m.arena[:0]
	}
	return new(actors.Job), make([]byte, 0, size)
}

// reqBlock is one request's memory: its context and its arena (empty,
// of the block's whole capacity).
type reqBlock struct {
	job   *actors.Job
	arena []byte
}

// maxSpareArena bounds the arena of a block kept for reuse (see
// putExchange): a large request's (long headers, a body) is left to the
// collector rather than held by its connection.
const maxSpareArena = 256

// takeMemory returns the memory of ex's request, of capacity size: the
// block the connection's previous request left free (spare), if it
// fits, else a new one.
func (ex *exchange) takeMemory(size int) (*actors.Job, []byte) {
	if m := ex.spare; m.job != nil && size <= cap(m.arena) {
		ex.spare = reqBlock{}
		m.job.Reset()
		ex.mem = m
		return m.job, m.arena[:0:size]
	}
	job, a := requestMemory(size)
	ex.mem = reqBlock{job: job, arena: a}
	return job, a[:0:size]
}

// copyRequest copies everything a handler may need out of ctx into ex.req
// and returns the handler's context. All strings, the raw header block and
// the body live in one arena sized up front (allocated with the context,
// if the request is small); headers are split into fields only if the
// handler asks. A body the request owns (read by Server.readBody) is
// used as it is; fasthttp's is copied.
//
// incoming is the request's X-Request-ID as checkRawHeaders found it in
// the raw header block; for a request without one (made in process) the
// parsed header is read instead. copyRequest refuses a path it cannot
// route safely (see appendCleanPath): the error is the request's fault.
// knownMethod reports whether m is one of methodNames.
func knownMethod(m []byte) bool {
	for _, name := range methodNames {
		if string(m) == name {
			return true
		}
	}
	return false
}

func copyRequest(ctx *fasthttp.RequestCtx, tc *timedConn, ex *exchange, ids IDGenerator, body []byte, owned bool, incoming []byte) (*actors.Job, error) {
	h := &ctx.Request.Header
	if h.IsConnect() {
		return nil, errConnect
	}
	requestURI := ctx.RequestURI()
	rawPath, ok := originPath(requestURI)
	if bytes.IndexByte(requestURI, '#') >= 0 {
		return nil, errTargetFragment
	}
	var authority []byte
	if !ok {
		var err error
		if authority, rawPath, ok, err = absoluteTarget(requestURI); err != nil {
			return nil, err
		}
		if !ok {
			rawPath = ctx.URI().PathOriginal() // fasthttp validated the target while reading it
		} else {
			// fasthttp takes the target's authority for the host and
			// checks neither it nor the Host field, which an
			// origin-form target's request has checked: "Host: a b" and
			// "http://é.com/" were taken
			if f := h.Peek(fasthttp.HeaderHost); len(f) > 0 {
				if err := checkHostChars(f); err != nil {
					return nil, err
				}
			}
		}
	}
	if err := checkHost(h.Host()); err != nil {
		return nil, err
	}
	method := h.Method()
	if !knownMethod(method) {
		return nil, errUnknownMethod
	}
	raw := h.RawHeaders()
	ctype := h.ContentType()
	if len(raw) == 0 {
		incoming = soleHeader(h, headerRequestID)
	}
	if !validRequestID(incoming) {
		incoming = nil
	}

	copied := body
	if owned {
		copied = nil
	}
	size := len(method) + len(rawPath) + 1 + len(requestURI) + len(raw) + len(ctype) + len(copied) + len(incoming) + 8
	if incoming == nil {
		size += 32
	}
	if len(raw) == 0 && tc == nil {
		// A header not parsed from the wire: copy it field by field.
		// (One parsed from it with no line, GET / HTTP/1.0, has none:
		// its fields would be fasthttp's own, Connection: close.)
		for k, v := range h.All() {
			size += len(k) + len(v) + 4
		}
	}
	job, a := ex.takeMemory(size)
	r := &ex.req
	r.renamed = &ex.renamed
	r.gate = &ex.gate

	at := len(a)
	a = append(a, method...)
	r.Method = arenaString(a, at)

	at = len(a)
	a, pathErr := appendCleanPath(a, rawPath)
	r.Path = arenaString(a, at)

	at = len(a)
	a = append(a, requestURI...)
	r.URI = arenaString(a, at)
	if authority != nil {
		from := bytes.Index(requestURI, schemeEnd) + len(schemeEnd)
		r.authority = r.URI[from : from+len(authority)]
		// The target in origin form, path and query, as a client
		// not going through a proxy sends it (req.url).
		r.URI = r.URI[from+len(authority):]
		if !strings.HasPrefix(r.URI, "/") {
			r.URI = "/" + r.URI // (http://a.com, http://a.com?q)
		}
	}
	if i := strings.IndexByte(r.URI, '?'); i >= 0 {
		r.RawQuery = r.URI[i+1:]
		if j := strings.IndexByte(r.RawQuery, '#'); j >= 0 {
			r.RawQuery = r.RawQuery[:j]
		}
	}

	at = len(a)
	if len(raw) > 0 {
		a = append(a, raw...)
	} else if tc == nil {
		for k, v := range h.All() {
			a = append(a, k...)
			a = append(a, ": "...)
			a = append(a, v...)
			a = append(a, "\r\n"...)
		}
	}
	r.rawHeaders = a[at:len(a):len(a)]

	at = len(a)
	a = append(a, ctype...)
	r.ContentType = arenaString(a, at)

	if tc != nil {
		r.Remote = tc.remote // read once per connection
	} else if ip, ok := netip.AddrFromSlice(ctx.RemoteIP()); ok {
		r.Remote = ip.Unmap()
	}

	at = len(a)
	switch g, counter := ids.(*CounterIDs); {
	case incoming != nil:
		a = append(a, incoming...)
	case counter && tc != nil:
		// The connection's own block of ids: served by one goroutine at
		// a time, it needs no sync.Pool round trip.
		a = g.appendFrom(a, &tc.ids)
	default:
		a = ids.AppendID(a)
	}
	r.ID = arenaString(a, at)

	switch {
	case len(copied) > 0:
		at = len(a)
		a = append(a, copied...)
		r.Body = a[at:len(a):len(a)]
	case len(body) > 0:
		r.Body = body[:len(body):len(body)]
		r.bodyOwned = owned
	}
	return job, pathErr
}
