package routepath

import (
	"slices"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name  string
		check func(string) string
		want  map[string]string
	}{
		{"Check", Check, map[string]string{
			"/":                 "",
			"/a//b/":            "",
			"/u/:id/posts/:pid": "",
			"/f/*rest":          "",
			"/f/*":              "",
			"/_x/:a_1":          "",
			"":                  "a route path must start with '/'",
			"users":             "a route path must start with '/'",
			"/a/*rest/b":        `"*rest" must be the last segment`,
			"/a/*/b":            `"*" must be the last segment`,
			"/a/:":              `bad parameter name ""`,
			"/a/:1x":            `bad parameter name "1x"`,
			"/a/:id?":           `bad parameter name "id?": a parameter is never optional here: declare two routes, one with :id and one without`,
			"/a/:x-y":           `bad parameter name "x-y"`,
			"/u/:ñame/*résumé":  "", // identifiers, as Tova writes them
			"/u/:$id/:x2":       "",
			"/u/:é́":            "",
			"/u/:\u0301x":       "bad parameter name \"\u0301x\"", // a combining mark first
			"/u/:٣":             `bad parameter name "٣"`,         // a digit first
			"/u/:a\xffb":        `bad parameter name "a\xffb"`,
			"/u/:a€":            `bad parameter name "a€"`,
			"/a/*9":             `bad wildcard name "9"`,
			"/a/:id/b/:id":      `parameter "id" appears twice`,
			"/a/:id/*id":        `parameter "id" appears twice`,
			"/v1/things:batch":  "", // ':' inside a segment is literal
			"/files/./list":     `a route path cannot hold a "." segment: a request's path has its dot segments resolved before it is matched, so it would never match`,
			"/api/v1/../v2":     `a route path cannot hold a ".." segment: a request's path has its dot segments resolved before it is matched, so it would never match`,
			"/a/.well-known/b":  "",
			"/a/...":            "",
			"/a b/c":            "",
			"/q?x=1":            `a route path cannot hold '?': the query and fragment of a URL are not part of its path`,
			"/a#top":            `a route path cannot hold '#': the query and fragment of a URL are not part of its path`,
			"/a%20b":            `paths are matched decoded: write "a b", not "a%20b"`,
			"/100%":             `a route path cannot hold a bare '%' ("100%")`,
			"/a\tb":             `a route path cannot hold the control character '\t'`,
		}},
		{"CheckPrefix", CheckPrefix, map[string]string{
			"/api":         "",
			"/u/:id":       "",
			"/files/*path": "a group prefix cannot end in a rest segment",
			"/files/*":     "a group prefix cannot end in a rest segment",
			"api":          "a route path must start with '/'",
		}},
	} {
		for p, want := range tc.want {
			if got := tc.check(p); got != want {
				t.Errorf("%s(%q) = %q, want %q", tc.name, p, got, want)
			}
		}
	}
}

func TestSegments(t *testing.T) {
	for p, want := range map[string][]string{
		"/":         nil,
		"//a///b/":  {"a", "b"},
		"/u/:id":    {"u", ":id"},
		"no/slash/": {"no", "slash"},
	} {
		if got := Segments(p); !slices.Equal(got, want) {
			t.Errorf("Segments(%q) = %q, want %q", p, got, want)
		}
	}
}
