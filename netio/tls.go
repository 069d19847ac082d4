package netio

import (
	"crypto/tls"
	"errors"

	"github.com/valyala/fasthttp"
)

// HTTPS. A server given a Config.TLS serves HTTP/1.1 over TLS 1.2 or
// later on its port, and nothing else: there is no plain-HTTP fallback.
// The TLS connection is inside the timedConn, not around it: the timedConn
// then keeps its timeouts over the decrypted stream as it does over a
// plain one (the handshake counts in the first request's read timeout),
// its line check reads the request's text, and the handlers see the
// connection they see without TLS (its shard, its recycled exchange).
// fasthttp does not know the connection is TLS, which changes nothing it
// does for this server: it would only give a URI an https scheme, and
// netio reads no scheme.

// hstsValue is the Strict-Transport-Security of every response over
// TLS: clients are to use https:// for the host and its subdomains for a
// year (the reference runtime's value).
const hstsValue = "max-age=31536000; includeSubDomains"

// serverTLS is cfg as the server uses it: TLS 1.2 at least (1.0 and 1.1
// are broken and deprecated, RFC 8996) and HTTP/1.1 or HTTP/1.0 as the
// application protocols a client may negotiate (ALPN): this server does
// not speak HTTP/2. (A client offering only http/1.0, as curl --http1.0
// does, would otherwise have its handshake refused.)
func serverTLS(cfg *tls.Config) *tls.Config {
	c := cfg.Clone()
	if c.MinVersion < tls.VersionTLS12 {
		c.MinVersion = tls.VersionTLS12
	}
	c.NextProtos = []string{"http/1.1", "http/1.0"}
	return c
}

// errPlainHTTP is a plain-HTTP request sent to an HTTPS port (an http://
// URL given for an https:// server). It is answered 400, in plain HTTP,
// and the connection closed, where the TLS handshake would end it with
// no answer the client can read.
var errPlainHTTP = errors.New("a plain HTTP request arrived: this port serves HTTPS (https://, not http://)")

// plainHTTPMessage is the 400 body's message for errPlainHTTP.
const plainHTTPMessage = "Bad Request: this port serves HTTPS: use an https:// URL"

// plainHTTPRequest reports whether err, from a TLS connection's first
// read, says its first bytes were no TLS record but what begins an HTTP
// request: a method in capitals, then a space ("GET /", "POST ",
// "DELETE" cut at five bytes).
func plainHTTPRequest(err error) bool {
	var re tls.RecordHeaderError
	if !errors.As(err, &re) || re.Conn == nil {
		return false
	}
	h := re.RecordHeader
	for i, b := range h {
		switch {
		case b >= 'A' && b <= 'Z':
		case i > 0 && (b == ' ' || b == '/'):
		default:
			return false
		}
	}
	return true
}

// secure adds Strict-Transport-Security to the response of a server over
// TLS, unless the handler set its own (a client heeds the first one).
// The answer to a plain-HTTP request (tc.plainHTTP) gets none: it is not
// over TLS, and a client ignores it there.
func (s *Server) secure(ctx *fasthttp.RequestCtx, tc *timedConn) {
	if s.cfg.TLS == nil || tc != nil && tc.plainHTTP {
		return
	}
	if len(ctx.Response.Header.Peek(headerHSTS)) == 0 {
		ctx.Response.Header.Set(headerHSTS, hstsValue)
	}
}

const headerHSTS = "Strict-Transport-Security"
