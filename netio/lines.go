package netio

import (
	"bytes"
	"errors"
)

// errBareLF is a request whose header block fasthttp would wait on for
// ever: one with a line ending in LF alone, not yet ended by the CRLF CRLF
// fasthttp looks for. HTTP/1.1 lines end in CRLF; a hand-typed request
// through `nc` ends them in LF, and fasthttp would go on reading until
// the read timeout. The connection answers 400 at once instead.
var errBareLF = errors.New("the request's header block has lines ending in LF alone and no CRLF CRLF ending it; HTTP/1.1 lines end in CRLF")

// bareLFMessage is the 400 body's message for errBareLF.
const bareLFMessage = "Bad Request: request line and header fields must end in CRLF"

// errTLS is a TLS handshake sent to this plain HTTP port (an https://
// URL given for an http:// server). fasthttp would wait for a request
// line until the read timeout while the client waits for the server's
// handshake; the connection is answered and closed at once instead.
var errTLS = errors.New("a TLS handshake arrived: this port serves plain HTTP (http://, not https://)")

// tlsMessage is the 400 body's message for errTLS.
const tlsMessage = "Bad Request: this port serves plain HTTP, not HTTPS"

// errHTTP2 is the connection preface of HTTP/2 with prior knowledge
// (RFC 9113 §3.4): answered 505 at once, as a request line naming
// HTTP/2.0 is, where fasthttp would refuse its `*` target with 400.
var errHTTP2 = errors.New("an HTTP/2 connection preface arrived: this server speaks HTTP/1.x")

// isHTTP2Preface reports whether b, a connection's first bytes, begin the
// HTTP/2 connection preface.
func isHTTP2Preface(b []byte) bool { return bytes.HasPrefix(b, []byte("PRI * HTTP/2.0\r\n")) }

// isTLSHandshake reports whether b, a connection's first bytes, begin a
// TLS handshake record (content type 22, protocol version 3.x).
func isTLSHandshake(b []byte) bool { return len(b) >= 2 && b[0] == 0x16 && b[1] == 0x03 }

// lineCheck follows a request's header block as the connection reads it,
// to tell a block that is still arriving from one that never will end the
// way fasthttp needs. fasthttp takes the block to end at its first CRLF
// CRLF and tolerates a line ending in LF alone before it; so does this
// check. It looks only at the header block of the request whose first
// byte a read brought (bodies may hold any bytes), from that read on, and
// stops at the block's end: for an ordinary request, a look at the end of
// its first read.
type lineCheck struct {
	open bool // in a header block: its CRLF CRLF not read yet
	bare bool // a line of the block ended in LF alone, or a CR no LF follows
	crlf bool // the last line ended in CRLF
	cr   bool // the last byte read was a CR
	line int  // bytes of the current line read so far, up to 2
	lf   bool // a line of the block has ended: the request line was read
	// rest: bytes came after the block's end (its body, or requests
	// pipelined behind it), so the next request's first bytes may
	// have come with them, and its reads may begin anywhere in it.
	rest bool
	// method holds the block's first bytes, up to 5: whether the
	// request is a HEAD is known from them when fasthttp could not read
	// the block (and forgot its method).
	method  [5]byte
	methodN uint8
}

// head says whether the block's request line begins with HEAD.
func (l *lineCheck) head() bool { return l.methodN == 5 && string(l.method[:]) == "HEAD " }

// inRequestLine says whether the block's first line, the request line,
// is still being read (so a block too large to read is a URI too long).
func (l *lineCheck) inRequestLine() bool { return l.open && !l.lf }

var crlfcrlf = []byte("\r\n\r\n")

// start begins the header block of a request whose first read this
// is. After a request with bytes past its block (rest), the read may
// begin anywhere in the next one (its request line's CR in the bytes
// before, and this read beginning with the LF), so that request is not
// checked: a valid one would be refused as having a line ended in LF
// alone.
func (l *lineCheck) start() { *l = lineCheck{open: !l.rest} }

// more notes a read of the request after its block's end.
func (l *lineCheck) more() { l.rest = true }

// waitsInVain says whether reading more for the block is pointless: its
// reader asks for more, yet a line ended in LF alone and the block has
// not ended, so the client most likely ended it in its own way already.
func (l *lineCheck) waitsInVain() bool { return l.open && l.bare }

// scan reads p, the next bytes of the block, and closes the check at the
// block's end.
func (l *lineCheck) scan(p []byte) {
	if l.methodN < 5 {
		l.methodN += uint8(copy(l.method[l.methodN:], p))
	}
	// Most blocks arrive whole in one read, at its end (no body).
	if bytes.HasSuffix(p, crlfcrlf) {
		l.open = false
		return
	}
	// A CR that no LF follows ends no line (RFC 9112 §2.2: a bare CR
	// is invalid): a block of lines ended so, "GET / HTTP/1.1\rHost:
	// a\r\r", would be read on until the read timeout.
	if l.cr && len(p) > 0 && p[0] != '\n' {
		l.bare = true
	}
	for q := p; ; {
		i := bytes.IndexByte(q, '\r')
		if i < 0 || i+1 >= len(q) {
			break
		}
		if q[i+1] != '\n' {
			l.bare = true
			break
		}
		q = q[i+1:]
	}
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			l.line = min(l.line+len(p), 2)
			l.cr = p[len(p)-1] == '\r'
			return
		}
		l.lf = true
		cr := l.cr
		if i > 0 {
			cr = p[i-1] == '\r'
		}
		switch {
		case !cr:
			l.bare, l.crlf = true, false
		case l.crlf && l.line+i == 1: // CRLF, then a line of CRLF alone
			l.open = false
			l.rest = len(p) > i+1
			return
		default:
			l.crlf = true
		}
		l.line, l.cr = 0, false
		p = p[i+1:]
	}
}
