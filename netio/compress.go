package netio

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/valyala/bytebufferpool"
	"github.com/valyala/fasthttp"
)

// Compression compresses answers, as the reference's compression block
// does (tova-semantics §2.34): a body of a textual type (text, JSON,
// JavaScript, XML, SVG) of at least MinSize bytes is sent gzipped, or
// deflated, when the request's Accept-Encoding allows it.
type Compression struct {
	// MinSize is the smallest body compressed (0: any).
	MinSize int
}

// DefaultCompressionMinSize is the reference's min_size default.
const DefaultCompressionMinSize = 1024

// compressionLevel trades CPU for size as most servers do by default.
const compressionLevel = fasthttp.CompressDefaultCompression

var compressBuffers bytebufferpool.Pool

// apply compresses the answer in ctx, if it may be: a body (not a
// stream: a static file, server-sent events) of a compressible type and
// at least MinSize bytes, with no encoding yet, in an answer that is no
// 204, 206 or 304. Such an answer varies by Accept-Encoding, compressed
// or not, and says so (Vary), so that a cache gives a client the
// encoding it asked for. A strong ETag becomes weak: the compressed
// bytes are not the ones it named.
func (c *Compression) apply(ctx *fasthttp.RequestCtx) {
	resp := &ctx.Response
	switch status := resp.StatusCode(); {
	case status < 200, status == fasthttp.StatusNoContent, status == fasthttp.StatusPartialContent, status == fasthttp.StatusNotModified:
		return
	}
	h := &resp.Header
	if resp.IsBodyStream() || len(h.ContentEncoding()) > 0 {
		return
	}
	body := resp.Body()
	coding, vary := c.Coding(h.ContentType(), len(body), AcceptEncoding(&ctx.Request.Header))
	if vary && !VaryNames(h.PeekAll(fasthttp.HeaderVary), fasthttp.HeaderAcceptEncoding) {
		h.Add(fasthttp.HeaderVary, fasthttp.HeaderAcceptEncoding)
	}
	if coding == "" {
		return
	}
	buf := compressBuffers.Get()
	defer compressBuffers.Put(buf)
	buf.B = Encode(buf.B[:0], body, coding)
	resp.SetBody(buf.B)
	h.SetContentEncoding(coding)
	if etag := h.Peek(fasthttp.HeaderETag); len(etag) > 0 {
		h.Set(fasthttp.HeaderETag, WeakETag(string(etag)))
	}
}

// WeakETag is the ETag of an answer sent compressed whose bytes as they
// are have etag: a strong one becomes weak, as it names bytes other than
// the ones sent; a weak one stays as it is.
func WeakETag(etag string) string {
	if strings.HasPrefix(etag, `"`) {
		return "W/" + etag
	}
	return etag
}

// Coding returns the content coding to send a body of n bytes and
// content type ct in, for a request whose Accept-Encoding is ae: "gzip",
// "deflate", or "" to send it as it is. vary reports whether the body is
// one c compresses (of a textual type and at least MinSize bytes): the
// answer then varies by Accept-Encoding, whatever the coding.
func (c *Compression) Coding(ct []byte, n int, ae []byte) (coding string, vary bool) {
	if n == 0 || n < c.MinSize || !compressibleType(ct) {
		return "", false
	}
	return acceptedCoding(ae), true
}

// AcceptEncoding is the request's Accept-Encoding: its lines, if it
// sent several, as one list (RFC 9110 §5.3).
func AcceptEncoding(h *fasthttp.RequestHeader) []byte {
	lines := h.PeekAll(fasthttp.HeaderAcceptEncoding)
	if len(lines) == 1 {
		return lines[0]
	}
	return bytes.Join(lines, []byte(", "))
}

// VaryNames reports whether the Vary lines name the header name (or
// are "*").
func VaryNames(lines [][]byte, name string) bool {
	for _, l := range lines {
		for len(l) > 0 {
			var item []byte
			item, l, _ = bytes.Cut(l, []byte{','})
			item = bytes.TrimSpace(item)
			if string(item) == "*" || bytes.EqualFold(item, []byte(name)) {
				return true
			}
		}
	}
	return false
}

// Encode appends body, compressed in coding ("gzip" or "deflate"), to
// dst.
//
// Text the compressor finds few repeats in (base64, random
// identifiers) it stores as it is, a few bytes larger: such a body is
// compressed again with Huffman coding alone, which takes a quarter off
// base64, and the smaller kept.
func Encode(dst, body []byte, coding string) []byte {
	start := len(dst)
	dst = appendEncoded(dst, body, coding, compressionLevel)
	if len(dst)-start <= len(body) {
		return dst
	}
	n := len(dst)
	dst = appendEncoded(dst, body, coding, fasthttp.CompressHuffmanOnly)
	if len(dst)-n < n-start {
		return append(dst[:start], dst[n:]...)
	}
	return dst[:n]
}

func appendEncoded(dst, body []byte, coding string, level int) []byte {
	if coding == "gzip" {
		return fasthttp.AppendGzipBytesLevel(dst, body, level)
	}
	return fasthttp.AppendDeflateBytesLevel(dst, body, level)
}

// compressibleType: the reference's types, text, JSON, JavaScript, XML
// and SVG (by the media type's name: application/problem+json and
// image/svg+xml are).
func compressibleType(ct []byte) bool {
	if i := bytes.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = bytes.ToLower(bytes.TrimSpace(ct))
	if string(ct) == "text/event-stream" {
		return false // server-sent events: each one is for the client as it comes
	}
	// By the type's structure: text/*, and a subtype that is JSON,
	// JavaScript or XML (+json, +xml: image/svg+xml). A substring took
	// in the ZIP documents whose names hold "xml" or "text" (.docx,
	// .odt), which compress no further.
	typ, sub, ok := bytes.Cut(ct, []byte("/"))
	if !ok {
		return false
	}
	if string(typ) == "text" {
		return true
	}
	for _, s := range [...]string{"json", "javascript", "ecmascript", "xml"} {
		if bytes.HasSuffix(sub, []byte(s)) {
			return true
		}
	}
	return false
}

// acceptedCoding returns the coding to send for the Accept-Encoding
// value ae: "gzip" or "deflate", by their weights (gzip first when
// equal; "*" stands for either unnamed; q=0 refuses), or "" for none.
func acceptedCoding(ae []byte) string {
	gzipQ, deflateQ, anyQ, identityQ := -1.0, -1.0, -1.0, -1.0
	for len(ae) > 0 {
		var item []byte
		item, ae, _ = bytes.Cut(ae, []byte{','})
		name, params, _ := bytes.Cut(item, []byte{';'})
		q := 1.0
		for len(params) > 0 {
			var p []byte
			p, params, _ = bytes.Cut(params, []byte{';'})
			k, v, _ := bytes.Cut(p, []byte{'='})
			if string(bytes.ToLower(bytes.TrimSpace(k))) == "q" {
				f, err := strconv.ParseFloat(string(bytes.TrimSpace(v)), 64)
				if err != nil || f < 0 || f > 1 {
					f = 0 // an unreadable weight: the coding is not sent
				}
				q = f
			}
		}
		switch string(bytes.ToLower(bytes.TrimSpace(name))) {
		case "gzip", "x-gzip":
			gzipQ = q
		case "deflate":
			deflateQ = q
		case "*":
			anyQ = q
		case "identity":
			identityQ = q
		}
	}
	if gzipQ < 0 {
		gzipQ = anyQ
	}
	if deflateQ < 0 {
		deflateQ = anyQ
	}
	// identity weighed above both (identity;q=1, gzip;q=0.5): the body
	// as it is, which the client prefers
	switch {
	case identityQ > gzipQ && identityQ > deflateQ:
		return ""
	case gzipQ > 0 && gzipQ >= deflateQ:
		return "gzip"
	case deflateQ > 0:
		return "deflate"
	}
	return ""
}
