package pgpath

import "testing"

func TestMissing(t *testing.T) {
	shop := "shop"
	for _, c := range []struct {
		current *string
		path    string
		want    string
	}{
		{nil, "shop", "shop"},
		{nil, `"$user", public`, "public"},
		{nil, `"$user", "My ""Odd"" Schema", x`, `My "Odd" Schema`},
		{nil, `"$user"`, ""},
		{&shop, "shop", ""},
	} {
		if got := Missing(c.current, c.path); got != c.want {
			t.Errorf("Missing(%v, %q) = %q, want %q", c.current, c.path, got, c.want)
		}
	}
}
