package netio

import (
	"strings"
)

// ParseQuery reads a query string or form-urlencoded body the way
// browsers and the reference's URLSearchParams do: it never fails. Pairs
// are separated by '&' only (a ';' is part of a value), '+' is a space, a
// '%' not followed by two hex digits is kept as it is, and bytes that do
// not form UTF-8 become U+FFFD. fn gets each pair in order; a pair with
// no '=' has an empty value, and an empty pair is skipped.
func ParseQuery(raw string, fn func(key, value string)) {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		fn(unescapeLenient(k), unescapeLenient(v))
	}
}

// unescapeLenient decodes '+' and %XX escapes, keeping malformed ones.
// Bytes that are not UTF-8 are kept as they are, as in a path or a
// header: a Tova string counts each as one character.
func unescapeLenient(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && unhex(s[i+1]) >= 0 && unhex(s[i+2]) >= 0:
			b = append(b, byte(unhex(s[i+1])<<4|unhex(s[i+2])))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b)
}
