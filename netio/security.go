package netio

import (
	"strings"

	"github.com/valyala/fasthttp"
)

// securityHeaders are the headers a server with Config.SecurityHeaders
// adds to every answer, those the reference Tova adds to every response
// of a server (tova-semantics §2.35): no MIME sniffing, no framing by
// another page, no legacy XSS auditor, referrers cut to the origin across
// sites, and no camera, microphone or location for the page.
var securityHeaders = Headers{
	{"X-Content-Type-Options", "nosniff"},
	{"X-Frame-Options", "DENY"},
	{"X-XSS-Protection", "0"},
	{"Referrer-Policy", "strict-origin-when-cross-origin"},
	{"Permissions-Policy", "camera=(), microphone=(), geolocation=()"},
}

// SecurityHeaders returns the headers a server with
// Config.SecurityHeaders adds to every answer that has none of its own
// of that name.
func SecurityHeaders() Headers {
	return append(Headers(nil), securityHeaders...)
}

// IsSecurityHeader reports whether name is one of the security headers
// (in any case).
func IsSecurityHeader(name string) bool {
	for _, f := range securityHeaders {
		if strings.EqualFold(f.Name, name) {
			return true
		}
	}
	return false
}

// SetSecurityHeaders sets the security headers in h, replacing any of
// the same name: what a server adds to an answer whose code set none
// (the benchmark's bare handler sends the same bytes with it).
func SetSecurityHeaders(h *fasthttp.ResponseHeader) { addSecurityHeaders(h, false) }

// securityFields are securityHeaders as fasthttp sets them.
var securityFields = func() (b [][2][]byte) {
	for _, f := range securityHeaders {
		b = append(b, [2][]byte{[]byte(f.Name), []byte(f.Value)})
	}
	return b
}()

// addSecurityHeaders adds to h each security header it does not carry
// yet: a value the handler set (an embeddable page's X-Frame-Options:
// SAMEORIGIN) is kept. Without own (the answer's code set no header),
// it does not look for them first. Names are sent as written
// (X-XSS-Protection, not fasthttp's X-Xss-Protection).
func addSecurityHeaders(h *fasthttp.ResponseHeader, own bool) {
	for _, f := range securityFields {
		if !own || len(h.PeekBytes(f[0])) == 0 {
			h.SetCanonical(f[0], f[1])
		}
	}
}
