// Package routepath is the syntax of route patterns, shared by the
// compiler (which refuses a bad pattern with its source position) and
// the router (which refuses it from Go callers).
//
// A pattern is an absolute path whose segments are literal, ":name" (one
// segment), "*name" (the rest of the path, at least one character) or
// "*" (the rest of the path, possibly empty); a rest segment comes last.
// Empty segments and a trailing '/' are ignored. Names are identifiers,
// each used once per pattern.
package routepath

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"
)

// Segments splits a pattern into its non-empty segments.
func Segments(p string) []string {
	var segs []string
	start := 0
	for i := 0; i <= len(p); i++ {
		if i == len(p) || p[i] == '/' {
			if i > start {
				segs = append(segs, p[start:i])
			}
			start = i + 1
		}
	}
	return segs
}

// Check returns why p is not a valid pattern, or "" when it is.
func Check(p string) string {
	if len(p) == 0 || p[0] != '/' {
		return "a route path must start with '/'"
	}
	segs := Segments(p)
	seen := map[string]bool{}
	for i, seg := range segs {
		var name string
		switch seg[0] {
		case '*':
			if i != len(segs)-1 {
				return fmt.Sprintf("%q must be the last segment", seg)
			}
			if seg == "*" {
				continue
			}
			name = seg[1:]
			if !ValidName(name) {
				return fmt.Sprintf("bad wildcard name %q", name)
			}
		case ':':
			name = seg[1:]
			if base, ok := strings.CutSuffix(name, "?"); ok && ValidName(base) {
				// (Express's optional parameter)
				return fmt.Sprintf("bad parameter name %q: a parameter is never optional here: declare two routes, one with :%s and one without", name, base)
			}
			if !ValidName(name) {
				return fmt.Sprintf("bad parameter name %q", name)
			}
		default:
			if why := checkLiteral(seg); why != "" {
				return why
			}
			continue
		}
		if seen[name] {
			return fmt.Sprintf("parameter %q appears twice", name)
		}
		seen[name] = true
	}
	return ""
}

// checkLiteral returns why a literal segment could never match a
// request's path, or "". Paths are matched decoded, without their query
// and fragment, and with their "." and ".." segments resolved; a ':' or
// '*' inside a segment is a literal character.
func checkLiteral(seg string) string {
	if seg == "." || seg == ".." {
		return dotSegment(seg)
	}
	for i := 0; i < len(seg); i++ {
		switch c := seg[i]; {
		case c == '?' || c == '#':
			return fmt.Sprintf("a route path cannot hold %q: the query and fragment of a URL are not part of its path", c)
		case c == '%':
			if d, err := url.PathUnescape(seg); err == nil && d != seg {
				return fmt.Sprintf("paths are matched decoded: write %q, not %q", d, seg)
			}
			return fmt.Sprintf("a route path cannot hold a bare '%%' (%q)", seg)
		case c < 0x20 || c == 0x7f:
			return fmt.Sprintf("a route path cannot hold the control character %q", c)
		}
	}
	return ""
}

// dotSegment is why a path with the segment seg, "." or "..", is refused.
func dotSegment(seg string) string {
	// A request's /a/../b is /b by the time it is matched.
	return fmt.Sprintf("a route path cannot hold a %q segment: a request's path has its dot segments resolved before it is matched, so it would never match", seg)
}

// DotSegment is the first "." or ".." segment of p, a path as written
// (a route's in a group, which is joined to the group's prefix), or "":
// joined, it would be resolved, and /admin's "/../x" be /x.
func DotSegment(p string) string {
	for _, seg := range Segments(p) {
		if seg == "." || seg == ".." {
			return seg
		}
	}
	return ""
}

// CheckPrefix returns why p is not a valid prefix of a group of routes,
// or "" when it is: a pattern that does not end in a rest segment.
func CheckPrefix(p string) string {
	if why := Check(p); why != "" {
		return why
	}
	if segs := Segments(p); len(segs) > 0 && segs[len(segs)-1][0] == '*' {
		return "a group prefix cannot end in a rest segment"
	}
	return ""
}

// ValidName reports whether s may name a parameter: an identifier, as
// Tova writes them (a letter, '_' or '$', then letters, digits, '_' and
// '$'; letters and digits from all of Unicode, with combining marks), so
// that a handler parameter of that name can take it.
func ValidName(s string) bool {
	for i, r := range s {
		switch {
		case r == '_' || r == '$' || unicode.IsLetter(r):
		case i > 0 && (unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)):
		default:
			return false // also for invalid UTF-8 (utf8.RuneError)
		}
	}
	return s != ""
}
