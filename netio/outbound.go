package netio

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Outbound HTTP: requests Tova code sends (fetch). One client serves the
// process, keeping connections to each host alive between requests.

// OutboundRequest is a request to send.
type OutboundRequest struct {
	Method  string // "" is GET
	URL     string // absolute, http or https
	Headers Headers
	Body    []byte // nil: none
	// Timeout bounds the whole exchange, body included (0: none beyond
	// the context's deadline).
	Timeout time.Duration
	// MaxBody is the most response body bytes read; a longer body is an
	// error (0: DefaultOutboundMaxBody).
	MaxBody int64
	// Redirect is what a redirect answer does: "follow" ("", up to
	// maxRedirects), "manual" (it is the response) or "error".
	Redirect string
	// Cert, when set, is the certificate (DER) an https server must
	// present, trusted as it is instead of through the system's roots
	// and the URL's host name: a server of this process called at its
	// listen address, an IP its certificate seldom names. Give the same
	// slice for each request to that server: a client is kept for it.
	Cert []byte
}

// OutboundResponse is the answer to an OutboundRequest, its body read.
type OutboundResponse struct {
	Status     int
	StatusText string  // "Not Found"
	URL        string  // the URL that answered, after redirects
	Redirected bool    // a redirect was followed
	Headers    Headers // as received (names canonical, "Content-Type")
	Body       []byte
}

// BodyTooLargeError is an answer whose body is over the request's
// MaxBody: the server answered (Status), with more than is read.
type BodyTooLargeError struct {
	Status int
	Limit  int64
	msg    string
}

func (e *BodyTooLargeError) Error() string { return e.msg }

// DefaultOutboundMaxBody bounds a response body read into memory.
const DefaultOutboundMaxBody = 32 << 20

// maxRedirects is how many redirects a request follows, as browsers do.
const maxRedirects = 20

// errRedirect stops a request at a redirect (Redirect "error").
var errRedirect = errors.New("redirect")

// outbound is the process's client. Its transport is Go's default one
// with more idle connections per host (a server calling another keeps
// up to 64 open to it) and response headers bounded to 1 MiB; the
// request's context and Timeout bound each exchange.
var outbound = newClient(nil)

// pinnedClients are the clients of requests with a Cert, one a
// certificate, by where its bytes are (a server's certificate stays
// where it is, and its bytes are not copied for each call): each trusts
// that certificate alone.
var pinnedClients sync.Map // &cert[0] → *http.Client

// clientFor is the client of r.
func clientFor(r *OutboundRequest) *http.Client {
	if len(r.Cert) == 0 {
		return outbound
	}
	if c, ok := pinnedClients.Load(&r.Cert[0]); ok {
		return c.(*http.Client)
	}
	pin := r.Cert
	c, _ := pinnedClients.LoadOrStore(&pin[0], newClient(&tls.Config{
		// The chain and the name are not checked: the certificate is,
		// byte for byte, which is stricter.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || !bytes.Equal(cs.PeerCertificates[0].Raw, pin) {
				return errors.New("the server presented another certificate than the one this process serves there")
			}
			return nil
		},
	}))
	return c.(*http.Client)
}

// newClient makes a client as outbound is, with tc as its transport's
// TLS configuration if not nil.
func newClient(tc *tls.Config) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	t.MaxResponseHeaderBytes = 1 << 20 // Go's default is 10 MiB
	if tc != nil {
		t.TLSClientConfig = tc
	}
	return &http.Client{Transport: t, CheckRedirect: checkRedirect}
}

// checkRedirect is what a client does at a redirect: the request's
// Redirect says.
func checkRedirect(req *http.Request, via []*http.Request) error {
	switch mode, _ := req.Context().Value(redirectKey{}).(string); {
	case mode == "manual":
		return http.ErrUseLastResponse // the redirect, its body unread, is the answer
	case mode == "error":
		return errRedirect
	case len(via) >= maxRedirects:
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	// The next hop's query, as the first one's (see Fetch).
	req.URL.RawQuery = escapeQuery(req.URL.RawQuery)
	// Credentials go to the origin they were given for only, as the
	// Fetch standard has it: Go's client keeps them for the same host
	// name on another port or scheme (127.0.0.1:9000's token went to
	// 127.0.0.1:9001). And no Referer the code did not set: Go adds the
	// previous URL, its query (a key in it) included.
	// Once a hop left the first request's origin, they stay gone (a
	// redirect back to it came from the other origin's choice).
	for _, hop := range append(via[1:], req) {
		if !sameOrigin(via[0].URL, hop.URL) {
			for _, h := range []string{"Authorization", "Cookie", "Cookie2", "Proxy-Authorization"} {
				req.Header.Del(h)
			}
			// (and X-API-Key, X-Auth-Token...: the guide's API key went
			// to wherever a URL a user gave redirected)
			for h := range req.Header {
				if CredentialHeader(h) {
					req.Header.Del(h)
				}
			}
			break
		}
	}
	if via[0].Header.Get("Referer") == "" {
		req.Header.Del("Referer")
	}
	return nil
}

// sameOrigin reports whether a and b have one origin: scheme, host and
// port (a default port written or not).
func sameOrigin(a, b *url.URL) bool {
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		return map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

type redirectKey struct{}

// Fetch sends r and reads its answer. An error says what failed, in
// words for the person reading a log: the URL, and the cause (a refused
// connection, a name that does not resolve, the timeout, a body over
// MaxBody). When ctx ends first, the error is ctx's (errors.Is).
func Fetch(ctx context.Context, r OutboundRequest) (*OutboundResponse, error) {
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	u, err := url.Parse(r.URL)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL: %w", r.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("%q is not an absolute http or https URL", ShownURL(r.URL))
	}
	// A query written with spaces (`?q=a b`) would make the request line
	// invalid: what a URL cannot hold as it is is percent-encoded, as in
	// its path.
	u.RawQuery = escapeQuery(u.RawQuery)
	// Errors name the URL without its password.
	r.URL = u.Redacted()
	parent := ctx
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	ctx = context.WithValue(ctx, redirectKey{}, r.Redirect)
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	for _, h := range r.Headers {
		switch {
		case strings.EqualFold(h.Name, "Host"):
			req.Host = h.Value
		case strings.EqualFold(h.Name, "Accept-Encoding"):
			// The client asks for gzip itself and decodes the body, as
			// the Fetch API does (where this header is the browser's);
			// asked for by the code, the body would come back encoded.
		default:
			req.Header.Add(h.Name, h.Value)
		}
	}
	resp, err := clientFor(&r).Do(req)
	if err != nil {
		if errors.Is(err, errRedirect) && resp != nil {
			// Stopped at a redirect, and redirect is "error" (with
			// "manual", the redirect is the answer, and no error).
			return nil, fmt.Errorf("%s %s answered a redirect (%d to %s), and redirect is \"error\"", method, ShownURL(r.URL), resp.StatusCode, ShownURL(resp.Header.Get("Location")))
		}
		return nil, outboundError(parent, method, r, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// Asked for nothing of the kind: the connection would now be
		// the other protocol's, with no deadline on its reads.
		return nil, fmt.Errorf("%s %s: the server switched protocols (101), which fetch does not follow", method, ShownURL(r.URL))
	}
	limit := r.MaxBody
	if limit <= 0 {
		limit = DefaultOutboundMaxBody
	}
	if resp.ContentLength > limit {
		return nil, &BodyTooLargeError{Status: resp.StatusCode, Limit: limit,
			msg: fmt.Sprintf("%s %s: the response body (%d bytes) is over the limit of %d bytes", method, ShownURL(r.URL), resp.ContentLength, limit)}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		var ne net.Error
		if parent.Err() == nil && r.Timeout > 0 && (errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()) {
			// (the headers came: "no answer" sent the reader to a dead
			// upstream)
			return nil, fmt.Errorf("%s %s: the body did not arrive whole within its timeout (%v): the status (%d) came, and %d bytes of it", method, ShownURL(r.URL), r.Timeout, resp.StatusCode, len(data))
		}
		if parent.Err() == nil && resp.Uncompressed && (errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum)) {
			// (a body its Content-Encoding calls gzip that is not, or
			// not whole: it said the connection was cut)
			return nil, plainError{fmt.Sprintf("%s %s: the body, sent as gzip (Content-Encoding), does not decode: it is cut short or not gzip (the status (%d) came, and %d bytes of it decoded)",
				method, ShownURL(r.URL), resp.StatusCode, len(data)), err}
		}
		if parent.Err() == nil && (errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
			return nil, bodyCut{plainError{fmt.Sprintf("%s %s: the server closed the connection before the whole answer came (the body was cut short: the status (%d) came, and %d bytes of its body)",
				method, ShownURL(r.URL), resp.StatusCode, len(data)), err}}
		}
		return nil, outboundError(parent, method, r, err)
	}
	if int64(len(data)) > limit {
		return nil, &BodyTooLargeError{Status: resp.StatusCode, Limit: limit,
			msg: fmt.Sprintf("%s %s: the response body is over the limit of %d bytes", method, ShownURL(r.URL), limit)}
	}
	out := &OutboundResponse{
		Status:     resp.StatusCode,
		StatusText: http.StatusText(resp.StatusCode),
		URL:        withoutUserinfo(resp.Request.URL),
		Redirected: resp.Request != req, // each hop is a new request
		Body:       data,
	}
	for name, vs := range resp.Header {
		for _, v := range vs {
			out.Headers = append(out.Headers, Header{Name: name, Value: v})
		}
	}
	return out, nil
}

// withoutUserinfo is u as text, without its user name and password.
func withoutUserinfo(u *url.URL) string {
	c := *u
	c.User, c.Fragment, c.RawFragment = nil, "", "" // (a fragment is never sent)
	return c.String()
}

// passwords finds the password of a URL in a message: after "//"
// ("http://name:pw@host"), or at the start of a word when the URL was
// written without a scheme ("name:pw@host/x", which net/url reads as
// the scheme "name" and leaves the password in its opaque part). The
// password runs to the last "@" of the authority, as net/url reads it.
var passwords = regexp.MustCompile(`(^|[\s"'(<]|//|:/)([^/\s"'@:]*:)[^/\s"]*@`) // (:/: http:/me:pw@host, one slash short)

// WithoutPasswords is msg with every URL password in it shown as
// "xxxxx", as url.URL.Redacted shows one: errors name URLs a server sent
// (a redirect's Location), or a program wrote, which may hold one.
func WithoutPasswords(msg string) string {
	return passwords.ReplaceAllString(msg, "${1}${2}xxxxx@")
}

// escapeQuery percent-encodes the bytes of a raw query that a request
// line cannot carry (see EscapeUnsafe), and the characters RFC 3986
// leaves out of URLs; escapes already there stay.
func escapeQuery(q string) string { return EscapeUnsafe(q, `"<>\^`+"`"+`{|}`) }

// EscapeUnsafe percent-encodes the bytes of a URL that a request line or
// a header cannot carry as they are (spaces, control characters, bytes
// past ASCII, as their UTF-8), and those in also; escapes already there
// ("%20") stay.
func EscapeUnsafe(u, also string) string {
	const hex = "0123456789ABCDEF"
	var b []byte
	for i := 0; i < len(u); i++ {
		c := u[i]
		if c > ' ' && c < 0x7f && strings.IndexByte(also, c) < 0 {
			if b != nil {
				b = append(b, c)
			}
			continue
		}
		if b == nil {
			b = append(make([]byte, 0, len(u)+16), u[:i]...)
		}
		b = append(b, '%', hex[c>>4], hex[c&15])
	}
	if b == nil {
		return u
	}
	return string(b)
}

// outboundError words a failed exchange: parent's error when it ended
// (the request's deadline, the thread cancelled), the timeout, or the
// cause the network gave, without Go's `Get "url":` prefix.
func outboundError(parent context.Context, method string, r OutboundRequest, err error) error {
	shown := ShownURL(r.URL)
	if parent.Err() != nil {
		return fmt.Errorf("%s %s: %w", method, shown, context.Cause(parent))
	}
	var ne net.Error
	if r.Timeout > 0 && (errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("%s %s: no answer within its timeout (%v)", method, shown, r.Timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if why := networkCause(err); why != "" {
		return fmt.Errorf("%s %s: %w", method, shown, plainError{why, err})
	}
	if msg := err.Error(); WithoutPasswords(msg) != msg {
		err = errors.New(WithoutPasswords(msg)) // a redirect's Location, quoted
	}
	return fmt.Errorf("%s %s: %w", method, shown, err)
}

// ShownURL is a URL as errors and logs show it: without its password
// and its query, which may hold credentials (?api_key=...), as "?…".
func ShownURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return WithoutPasswords(raw)
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	if u.RawQuery != "" || u.ForceQuery {
		u.RawQuery, u.ForceQuery = "…", false
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

// ErrBodyCut is (errors.Is) a failed exchange whose status came and
// whose body did not come whole.
var ErrBodyCut = errors.New("the body was cut short")

type bodyCut struct{ error }

func (e bodyCut) Unwrap() error        { return e.error }
func (e bodyCut) Is(target error) bool { return target == ErrBodyCut }

// plainError words err for a reader of Tova errors; errors.Is and As
// still reach err.
type plainError struct {
	msg string
	err error
}

func (e plainError) Error() string { return e.msg }
func (e plainError) Unwrap() error { return e.err }

// MalformedAnswer reports whether err is of an answer whose status line
// or headers did not read as HTTP's (cut short, or another protocol's):
// the request was sent, and may have been acted on.
func MalformedAnswer(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if m := e.Error(); strings.Contains(m, "malformed HTTP") || strings.Contains(m, "malformed MIME header") {
			return true
		}
	}
	return false
}

// networkCause says in plain words why a connection failed, for the
// causes a program meets (the host unknown, nothing listening, the
// network down): Go's text names its dialer and resolver ("dial tcp",
// "lookup x on 10.0.0.53:53"). It is "" for other causes.
func networkCause(err error) string {
	var dns *net.DNSError
	switch {
	case errors.As(err, &dns) && dns.IsNotFound:
		return "host " + dns.Name + " not found (DNS)"
	case errors.As(err, &dns) && dns.IsTimeout:
		return "looking up host " + dns.Name + " timed out (DNS)"
	case errors.As(err, &dns):
		return "could not look up host " + dns.Name + " (DNS): " + dns.Err
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "the server closed the connection (connection reset)"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "host unreachable"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable"
	case err.Error() == "http: server gave HTTP response to HTTPS client":
		return "the server answered plain HTTP to an https:// URL"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the server closed the connection before the whole answer came"
	case strings.Contains(err.Error(), "malformed HTTP status code") || strings.Contains(err.Error(), "malformed HTTP response"):
		return "the server's answer is not HTTP (its status line is malformed)"
	case strings.Contains(err.Error(), "malformed MIME header"):
		return "the server's answer is cut short or malformed in its headers"
	case errors.Is(err, io.EOF):
		return "the server closed the connection before an answer came"
	}
	return ""
}

// CredentialHeader reports whether a request header's name says it may
// carry a credential (Authorization, X-API-Key, X-Auth-Token,
// X-Session-Id, ...): not Idempotency-Key, nor a signature (a client
// that signs each try anew, X-Signature with a time in it).
func CredentialHeader(name string) bool {
	n := strings.ToLower(name)
	if n == "idempotency-key" || n == "sec-websocket-key" {
		return false
	}
	for _, w := range []string{"key", "token", "auth", "secret", "session", "password", "passwd", "credential", "jwt", "bearer"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}
