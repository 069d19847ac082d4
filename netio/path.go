package netio

import (
	"bytes"
	"errors"
)

// Paths appendCleanPath refuses.
var (
	// errEncodedSlashDots: a "%2F" that makes a "." or ".." segment,
	// as in "/files/..%2F..%2Fadmin". Resolved, it would climb out of
	// the segment the client sent it in (a proxy in front, which sees
	// one segment, would route it elsewhere than this server does).
	errEncodedSlashDots = errors.New(`the request path has "." or ".." segments made with an encoded "/" (%2F)`)
	// errEncodedNUL: a "%00", refused as a raw NUL byte is.
	errEncodedNUL = errors.New("the request path holds an encoded NUL byte (%00)")
)

// appendCleanPath appends to dst the request path raw, percent-decoded
// (malformed escapes are kept as written) and normalised: runs of '/'
// collapse to one, "." and ".." segments are resolved (".." never climbs
// above the root), and a trailing '/' is removed except for "/" itself.
// As in the reference runtime, a decoded "%2F" separates segments; but a
// path where it makes a dot segment is refused (errEncodedSlashDots), as
// is a "%00" (errEncodedNUL). The error comes with the path cleaned all
// the same, for the log.
func appendCleanPath(dst, raw []byte) ([]byte, error) {
	if cleanAlready(raw) {
		return append(dst, raw...), nil // the common case, as sent
	}
	return appendResolvedPath(dst, raw)
}

// cleanAlready says whether raw is its own clean form: it starts with
// '/', has no escape, no empty or dot segment, and no trailing '/'
// (unless it is "/").
func cleanAlready(raw []byte) bool {
	n := len(raw)
	if n == 0 || raw[0] != '/' || n > 1 && raw[n-1] == '/' {
		return false
	}
	for i := 1; i < n; i++ {
		switch raw[i] {
		case '%':
			return false
		case '/', '.':
			if raw[i-1] == '/' {
				return false
			}
		}
	}
	return true
}

// appendResolvedPath is appendCleanPath for any path: it decodes and
// resolves each segment.
func appendResolvedPath(dst, raw []byte) ([]byte, error) {
	start := len(dst)
	dst = append(dst, '/')
	slash, nul := false, false
	for i := 0; i < len(raw); i++ {
		c, escaped := raw[i], false
		if c == '%' {
			c, i, escaped = percentAt(raw, i)
		}
		if escaped {
			slash = slash || c == '/'
			nul = nul || c == 0
		}
		dst = append(dst, c)
	}
	// Resolve segments in place: the output never overtakes the input.
	b := dst[start:]
	w, r, n := 0, 0, len(b)
	dots := false
	for r < n {
		for r < n && b[r] == '/' {
			r++
		}
		if r == n {
			break
		}
		s := r
		for r < n && b[r] != '/' {
			r++
		}
		switch seg := b[s:r]; {
		case len(seg) == 1 && seg[0] == '.':
			dots = true
		case len(seg) == 2 && seg[0] == '.' && seg[1] == '.':
			dots = true
			for w > 0 && b[w-1] != '/' {
				w--
			}
			if w > 0 {
				w-- // drop the separator too
			}
		default:
			b[w] = '/'
			w++
			w += copy(b[w:], seg)
		}
	}
	if w == 0 {
		b[0] = '/'
		w = 1
	}
	var err error
	switch {
	case nul:
		err = errEncodedNUL
	case slash && dots && encodedSlashDots(raw):
		err = errEncodedSlashDots
	}
	return dst[:start+w], err
}

// encodedSlashDots says whether a decoded "%2F" makes a dot segment in
// raw: whether a segment of raw (split at its literal '/') that holds
// "%2F" has, decoded and split at its own '/', a "." or ".." part.
func encodedSlashDots(raw []byte) bool {
	for len(raw) > 0 {
		seg := raw
		if i := bytes.IndexByte(raw, '/'); i >= 0 {
			seg, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		decoded, slash := decodeSegment(seg)
		if !slash {
			continue
		}
		for _, part := range bytes.Split(decoded, []byte{'/'}) {
			if string(part) == "." || string(part) == ".." {
				return true
			}
		}
	}
	return false
}

// decodeSegment percent-decodes seg as appendCleanPath does, and says
// whether it held an encoded '/'.
func decodeSegment(seg []byte) ([]byte, bool) {
	out := make([]byte, 0, len(seg))
	slash := false
	for i := 0; i < len(seg); i++ {
		c, escaped := seg[i], false
		if c == '%' {
			c, i, escaped = percentAt(seg, i)
		}
		slash = slash || escaped && c == '/'
		out = append(out, c)
	}
	return out, slash
}

// percentAt decodes the '%' at raw[i]: a valid escape gives its byte and
// the index of its last digit; a malformed one is the '%' itself.
func percentAt(raw []byte, i int) (c byte, last int, escaped bool) {
	if i+2 < len(raw) {
		if hi, lo := unhex(raw[i+1]), unhex(raw[i+2]); hi >= 0 && lo >= 0 {
			return byte(hi<<4 | lo), i + 2, true
		}
	}
	return '%', i, false
}

// cleanPath returns the normalised form of a path; see appendCleanPath.
func cleanPath(p string) string {
	b, _ := appendCleanPath(make([]byte, 0, len(p)+1), []byte(p))
	return string(b)
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}
