package netio

import (
	"bufio"
	"encoding/binary"
	"strings"
	"time"
	"unsafe"

	"github.com/valyala/fasthttp"

	"tova/internal/jsonstr"
)

// Response is what a handler answers. The server copies it into fasthttp
// on the connection's goroutine once the handler has returned.
type Response struct {
	// Status is the HTTP status; zero means 200.
	Status int
	// ContentType, if set, is sent as Content-Type.
	ContentType string
	// Headers are added in order (a name may repeat).
	Headers Headers
	Cookies []SetCookie
	Body    []byte
	// Stream, if set, replaces Body: it is called after the handler has
	// returned, on the connection's goroutine, and writes the body as it is
	// produced (server-sent events). A write or Flush error means the
	// client went away; Stream must then return.
	Stream func(w *bufio.Writer) error
	// Failure, when set, is a failure of the handler's code that the
	// response already answers (a 500): it is reported to the pool's
	// supervisor, which restarts and counts the worker.
	Failure error
	// AfterWrite, when set, runs once the response has been handed to
	// the connection, with the status sent, on its own goroutine; or,
	// if the client was answered before the handler returned (see
	// Discarded), with that answer's status: CutStatus, or 503.
	AfterWrite func(status int)
	// CutStatus is the status the client gets if the handler is cut at
	// its deadline (the route's own: 504); zero means 503.
	CutStatus int
	// RequestID, when set, replaces the request's id in the X-Request-ID
	// header and the access line (the handler assigned a new one).
	RequestID string
	// Release, when set, is told on the connection's goroutine once the
	// response has been copied out: neither the Response nor its Body is
	// used afterwards, so both may be recycled.
	Release Releaser
	// RequestFree says that the handler, and everything it ran, kept
	// nothing of the Request: none of its strings, its body or its
	// headers, and not its context, outlive the handler's return. The
	// front end may then reuse the request's memory for the
	// connection's next request. Leave it false when in doubt: a string
	// of the request kept past it would change under its holder.
	RequestFree bool
}

// Releaser takes back a Response (see Response.Release).
type Releaser interface {
	Release()
}

// ActorFailure implements actors.FailureReporter.
func (r *Response) ActorFailure() error {
	if r == nil {
		return nil
	}
	return r.Failure
}

// Discarded implements actors.Discarder: the handler finished after the
// client was answered without it (503, or CutStatus, at the deadline;
// 503 as the server stopped); AfterWrite still runs, with that status.
func (r *Response) Discarded() {
	if r != nil && r.AfterWrite != nil {
		status := fasthttp.StatusServiceUnavailable
		if r.CutStatus != 0 {
			status = r.CutStatus
		}
		go r.AfterWrite(status)
	}
}

// SameSite is a cookie's SameSite attribute.
type SameSite int

// SameSite values.
const (
	SameSiteDefault SameSite = iota
	SameSiteLax
	SameSiteStrict
	SameSiteNone
)

// SetCookie is a cookie set by a response.
type SetCookie struct {
	Name, Value  string
	Path, Domain string
	MaxAge       int // seconds; zero omits the attribute
	Expires      time.Time
	Secure       bool
	HTTPOnly     bool
	SameSite     SameSite
}

// JSON returns a response with a JSON body.
func JSON(status int, body []byte) *Response {
	return &Response{Status: status, ContentType: contentTypeJSON, Body: body}
}

// Text returns a plain-text response.
func Text(status int, body string) *Response {
	return &Response{Status: status, ContentType: "text/plain; charset=utf-8", Body: []byte(body)}
}

const contentTypeJSON = "application/json"

// write copies r into ctx.
func (r *Response) write(ctx *fasthttp.RequestCtx) {
	status := r.Status
	if status == 0 {
		status = fasthttp.StatusOK
	}
	ctx.SetStatusCode(status)
	// 205 Reset Content carries no content either (RFC 9110 §15.3.6):
	// fasthttp would send one, so it gets an empty body (Content-Length:
	// 0, which the RFC allows), whatever the handler gave.
	reset := status == fasthttp.StatusResetContent
	switch {
	case status == fasthttp.StatusNoContent || status == fasthttp.StatusNotModified || reset:
		// No body (fasthttp sends none), so no Content-Type either.
		ctx.Response.Header.SetNoDefaultContentType(true)
	case r.ContentType != "":
		ctx.SetContentType(fieldValue(r.ContentType))
	case len(r.Body) == 0 && r.Stream == nil:
		ctx.Response.Header.SetNoDefaultContentType(true)
	}
	for _, h := range r.Headers {
		if len(h.Name) == len(HeaderNotRun) && strings.EqualFold(h.Name, HeaderNotRun) {
			continue // the runtime's alone to give (markNotRun): a handler's answer ran a handler
		}
		if strings.EqualFold(h.Name, "Connection") {
			// The runtime's to give too: a second Connection field would
			// contradict its own (keep-alive beside close). A handler's
			// close is honoured; anything else is the runtime's choice.
			if strings.Contains(strings.ToLower(h.Value), "close") {
				ctx.SetConnectionClose()
			}
			continue
		}
		if hopByHop(h.Name) && (status != fasthttp.StatusUpgradeRequired || !strings.EqualFold(h.Name, "Upgrade")) {
			continue // (a 426 names the protocols to upgrade to in Upgrade: RFC 9110 §15.5.22)
		}
		ctx.Response.Header.Add(h.Name, fieldValue(h.Value))
	}
	for i := range r.Cookies {
		writeCookie(ctx, &r.Cookies[i])
	}
	if reset {
		ctx.Response.SetBody(nil)
		ctx.Response.Header.SetContentLength(0)
		return
	}
	if r.Stream != nil {
		stream := r.Stream
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) { _ = stream(w) })
		return
	}
	ctx.SetBody(r.Body)
	if len(r.Body) == 0 && status != fasthttp.StatusNoContent && status != fasthttp.StatusNotModified && ctx.IsHead() {
		// The GET answer says Content-Length: 0; fasthttp leaves an
		// empty HEAD answer without one.
		ctx.Response.Header.SetContentLength(0)
	}
}

// hopByHop reports whether a response header names a property of the
// connection, the runtime's alone (RFC 9110 §7.6.1): an Upgrade without
// the Connection: upgrade that must come with it, a Trailer announcing
// what is never sent (it turned the answer chunked), Keep-Alive, TE,
// Proxy-Connection. (Transfer-Encoding, Content-Length and Date fasthttp
// sets itself.)
func hopByHop(name string) bool {
	switch len(name) {
	case 2, 7, 10, 16:
		return strings.EqualFold(name, "TE") || strings.EqualFold(name, "Upgrade") || strings.EqualFold(name, "Trailer") ||
			strings.EqualFold(name, "Keep-Alive") || strings.EqualFold(name, "Proxy-Connection")
	}
	return false
}

// fieldValue is a header value as it may be sent: each control
// character but a tab (a line break, NUL, DEL, ...) becomes a space.
// RFC 9110 §5.5 allows none in a field value, clients refuse the whole
// response over one, and a line break would start another header.
func fieldValue(v string) string {
	for i := plainFieldPrefix(v); i < len(v); i++ {
		if ctl(v[i]) {
			b := []byte(v)
			for j := i; j < len(b); j++ {
				if ctl(b[j]) {
					b[j] = ' '
				}
			}
			return string(b)
		}
	}
	return v
}

func ctl(c byte) bool { return c < ' ' && c != '\t' || c == 0x7f }

// plainFieldPrefix returns a length, a multiple of 8, of v's start that
// holds no control character, read 8 bytes at a time: a word with a
// byte below 0x20 (a tab too) or a DEL ends it, and fieldValue looks at
// the rest byte by byte.
func plainFieldPrefix(v string) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(v); i += 8 {
		w := binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(v[i:]), 8))
		del := w ^ (ones * 0x7f)
		if ((w-ones*0x20)&^w|(del-ones)&^del)&highs != 0 {
			break
		}
	}
	return i
}

func writeCookie(ctx *fasthttp.RequestCtx, sc *SetCookie) {
	c := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(c)
	c.SetKey(sc.Name)
	c.SetValue(sc.Value)
	c.SetPath(sc.Path)
	c.SetDomain(sc.Domain)
	c.SetMaxAge(sc.MaxAge)
	if !sc.Expires.IsZero() {
		c.SetExpire(sc.Expires)
	}
	c.SetSecure(sc.Secure)
	c.SetHTTPOnly(sc.HTTPOnly)
	switch sc.SameSite {
	case SameSiteLax:
		c.SetSameSite(fasthttp.CookieSameSiteLaxMode)
	case SameSiteStrict:
		c.SetSameSite(fasthttp.CookieSameSiteStrictMode)
	case SameSiteNone:
		c.SetSameSite(fasthttp.CookieSameSiteNoneMode)
	}
	ctx.Response.Header.SetCookie(c)
}

// Codes of runtime-generated error bodies.
const (
	CodeBadRequest       = "BAD_REQUEST"
	CodeNotFound         = "NOT_FOUND"
	CodeMethodNotAllowed = "METHOD_NOT_ALLOWED"
	CodeRequestTimeout   = "REQUEST_TIMEOUT"
	CodeTooLarge         = "PAYLOAD_TOO_LARGE"
	CodeHeadersTooLarge  = "HEADERS_TOO_LARGE"
	CodeURITooLong       = "URI_TOO_LONG"
	CodeHTTPVersion      = "HTTP_VERSION_NOT_SUPPORTED"
	CodeNotImplemented   = "NOT_IMPLEMENTED"
	CodeInternal         = "INTERNAL_ERROR"
	CodeTimeout          = "TIMEOUT"
	CodeGatewayTimeout   = "GATEWAY_TIMEOUT"
	CodeShuttingDown     = "SHUTTING_DOWN"
	CodeOverloaded       = "OVERLOADED"
	CodeMemoryLimit      = "MEMORY_LIMIT"
	CodeUnsupportedMedia = "UNSUPPORTED_MEDIA_TYPE"
)

// errorMessage is the message sent with each code.
func errorMessage(code string) string {
	switch code {
	case CodeBadRequest:
		return "Bad Request"
	case CodeNotFound:
		return "Not Found"
	case CodeMethodNotAllowed:
		return "Method Not Allowed"
	case CodeRequestTimeout:
		return "Request Timeout"
	case CodeTooLarge:
		return "Payload Too Large"
	case CodeHeadersTooLarge:
		return "Request Header Fields Too Large"
	case CodeURITooLong:
		return "URI Too Long"
	case CodeHTTPVersion:
		return "HTTP Version Not Supported"
	case CodeNotImplemented:
		return "Not Implemented"
	case CodeInternal:
		return "Internal Server Error"
	case CodeTimeout:
		return "Request timed out"
	case CodeGatewayTimeout:
		return "Gateway Timeout"
	case CodeShuttingDown:
		return "Server is shutting down"
	case CodeOverloaded:
		return "Server is overloaded"
	case CodeMemoryLimit:
		return "Server is out of memory"
	}
	return code
}

// AppendErrorBody appends the runtime's error body
// {"error":{"code":…,"message":…},"request_id":…}.
func AppendErrorBody(dst []byte, code, message, requestID string) []byte {
	dst = append(dst, `{"error":{"code":`...)
	dst = jsonstr.Append(dst, code)
	dst = append(dst, `,"message":`...)
	dst = jsonstr.Append(dst, message)
	dst = append(dst, `},"request_id":`...)
	dst = jsonstr.Append(dst, requestID)
	return append(dst, '}')
}

// writeError answers ctx with an error body.
func writeError(ctx *fasthttp.RequestCtx, status int, code, requestID string) {
	writeErrorMessage(ctx, status, code, errorMessage(code), requestID)
}

// writeErrorMessage is writeError with a message other than the code's.
func writeErrorMessage(ctx *fasthttp.RequestCtx, status int, code, message, requestID string) {
	resp := &ctx.Response
	resp.ResetBody()
	resp.SetStatusCode(status)
	resp.Header.SetContentType(contentTypeJSON)
	var buf [256]byte
	resp.AppendBody(AppendErrorBody(buf[:0], code, message, requestID))
	resp.Header.Set(headerRequestID, requestID)
}

const headerRequestID = "X-Request-ID"

// canonicalRequestID is headerRequestID as fasthttp normalises it.
var canonicalRequestID = []byte("X-Request-Id")

// setRequestID sets the X-Request-ID response header without fasthttp
// normalising the name again (it copies the value).
func setRequestID(ctx *fasthttp.RequestCtx, id string) {
	ctx.Response.Header.SetCanonical(canonicalRequestID, unsafe.Slice(unsafe.StringData(id), len(id)))
}
