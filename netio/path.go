package netio

// appendCleanPath appends to dst the request path raw, percent-decoded
// (malformed escapes are kept as written) and normalised: runs of '/'
// collapse to one, "." and ".." segments are resolved (".." never climbs
// above the root), and a trailing '/' is removed except for "/" itself.
// As in the reference runtime, a decoded "%2F" separates segments.
func appendCleanPath(dst, raw []byte) []byte {
	start := len(dst)
	dst = append(dst, '/')
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '%' && i+2 < len(raw) {
			if hi, lo := unhex(raw[i+1]), unhex(raw[i+2]); hi >= 0 && lo >= 0 {
				c = byte(hi<<4 | lo)
				i += 2
			}
		}
		dst = append(dst, c)
	}
	// Resolve segments in place: the output never overtakes the input.
	b := dst[start:]
	w, r, n := 0, 0, len(b)
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
		case len(seg) == 2 && seg[0] == '.' && seg[1] == '.':
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
	return dst[:start+w]
}

// cleanPath returns the normalised form of a path; see appendCleanPath.
func cleanPath(p string) string {
	return string(appendCleanPath(make([]byte, 0, len(p)+1), []byte(p)))
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
