package serve

import (
	"fmt"
	"strings"
	"testing"
)

// Behind a reverse proxy every request comes from the proxy's address:
// req.ip, and so a rate limit per client, is the client's only when a
// security block trusts the proxy. Then X-Forwarded-For is read from its
// end (the first address not a trusted proxy's is the client's; one
// before it could be anything the client wrote), X-Real-IP when there is
// none. Without the block, or from a peer it does not trust, the headers
// are not believed (a client could pick its own rate-limit bucket).
func TestTrustProxy(t *testing.T) {
	const routes = `
  route GET "/ip" => fn(req) req.ip
`
	cases := []struct {
		security string
		headers  []string
		want     string
	}{
		{``, []string{"X-Forwarded-For", "203.0.113.7"}, "127.0.0.1"},
		{``, []string{"X-Real-IP", "203.0.113.7"}, "127.0.0.1"},
		{`security { trust_proxy: true }`, nil, "127.0.0.1"},
		{`security { trust_proxy: true }`, []string{"X-Forwarded-For", "203.0.113.7"}, "203.0.113.7"},
		{`security { trust_proxy: true }`, []string{"X-Real-IP", "203.0.113.8"}, "203.0.113.8"},
		// the client wrote the first; the proxy appended the second
		{`security { trust_proxy: true }`, []string{"X-Forwarded-For", "1.2.3.4, 203.0.113.9"}, "203.0.113.9"},
		// two proxies of the trusted networks, then the client
		{`security { trust_proxy: true }`, []string{"X-Forwarded-For", "203.0.113.9, 10.0.0.2,192.168.1.1"}, "203.0.113.9"},
		{`security { trust_proxy: true }`, []string{"X-Forwarded-For", "[2001:db8::1]:443"}, "2001:db8::1"},
		// not an address: the last proxy's word stops there
		{`security { trust_proxy: true }`, []string{"X-Forwarded-For", "unknown, 10.0.0.2"}, "10.0.0.2"},
		{`security { trust_proxy: ["127.0.0.1"] }`, []string{"X-Forwarded-For", "10.0.0.2"}, "10.0.0.2"},
		{`security { trust_proxy: "127.0.0.0/8" }`, []string{"X-Forwarded-For", "203.0.113.7"}, "203.0.113.7"},
		// the peer (127.0.0.1) is not the trusted proxy
		{`security { trust_proxy: ["10.0.0.0/8"] }`, []string{"X-Forwarded-For", "203.0.113.7"}, "127.0.0.1"},
		{`security { trust_proxy: false }`, []string{"X-Forwarded-For", "203.0.113.7"}, "127.0.0.1"},
	}
	for _, top := range []bool{false, true} {
		for _, c := range cases {
			src := "server {\n  " + c.security + routes + "}\n"
			if top {
				src = c.security + "\nserver {" + routes + "}\n"
			}
			app := startApp(t, src)
			u := app.urls[""]
			if r := do(t, "GET", u+"/ip", "", c.headers...); r.status != 200 || r.body != `"`+c.want+`"` {
				t.Errorf("%s %v: req.ip %d %s, want %s", c.security, c.headers, r.status, r.body, c.want)
			}
		}
	}

	// Each client has its own allowance, in the server's rate limit and
	// in a route's; one client's refusal does not refuse the next.
	for _, src := range []string{
		`server {
  security { trust_proxy: true }
  rate_limit { requests: 2, window: 1.minute, key: fn(req) req.ip }
  route GET "/x" => fn(req) "ok"
}`,
		`server {
  security { trust_proxy: true }
  route GET "/x" with rate_limit(2, 60) => fn(req) "ok"
}`,
	} {
		app := startApp(t, src)
		for _, client := range []string{"203.0.113.1", "203.0.113.2"} {
			var codes []int
			for range 3 {
				codes = append(codes, do(t, "GET", app.urls[""]+"/x", "", "X-Forwarded-For", client).status)
			}
			if got := fmt.Sprint(codes); got != "[200 200 429]" {
				t.Errorf("%s\nfrom %s: %s, want [200 200 429]", src, client, got)
			}
		}
	}
}

// A security block's trust_proxy that is not true, false, or addresses
// stops the start, naming the block.
func TestTrustProxyRefused(t *testing.T) {
	for src, want := range map[string]string{
		`security { trust_proxy: "10.0.0.300" }`:    `security.trust_proxy: "10.0.0.300" is not an IP address`,
		`security { trust_proxy: ["10.0.0.0/33"] }`: `security.trust_proxy: "10.0.0.0/33" is not a network`,
		`security { trust_proxy: 1 }`:               `security.trust_proxy: expected true, false, or addresses, got 1`,
		`security { trust_proxy: [1] }`:             `security.trust_proxy: expected an address or a network as a String, got 1`,
	} {
		err := startError(t, "server {\n"+src+"\n  route GET \"/\" => fn() 1\n}\n")
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "app.tova:") {
			t.Errorf("%s: %v, want %q", src, err, want)
		}
	}
}
