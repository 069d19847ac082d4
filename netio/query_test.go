package netio

import (
	"strings"
	"testing"
)

func TestParseQueryLenient(t *testing.T) {
	cases := map[string]string{
		"a=1&b=2":             "a=1|b=2|",
		"a=%41%42&b=x+y":      "a=AB|b=x y|",
		"a=%&b=%4&c=%zz":      "a=%|b=%4|c=%zz|",
		"a=x;b=y":             "a=x;b=y|",
		"&&a&=v&":             "a=|=v|",
		"k%3D=v%26w":          "k==v&w|",
		"s=%ff%fe&t=%e2%82":   "s=\xff\xfe|t=\xe2\x82|",
		"raw=\xff":            "raw=\xff|",
		"%e2%82%ac=%E2%82%AC": "€=€|",
		"":                    "",
	}
	for raw, want := range cases {
		var b strings.Builder
		ParseQuery(raw, func(k, v string) { b.WriteString(k + "=" + v + "|") })
		if b.String() != want {
			t.Errorf("ParseQuery(%q) = %q, want %q", raw, b.String(), want)
		}
	}
}
