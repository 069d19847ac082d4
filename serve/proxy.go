package serve

import (
	"fmt"
	"net/netip"
	"strings"

	"tova/netio"
	"tova/vm"
)

// securityKeys are the keys of a security block this runtime applies.
var securityKeys = []string{"trust_proxy"}

// privateNets are the peers `trust_proxy: true` trusts: loopback and
// the private networks, where a reverse proxy on the same host or the
// same network connects from.
var privateNets = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("fc00::/7"),
}

// trustedProxies are the peers whose word on the client's address is
// taken (security { trust_proxy }): a request such a peer forwards is
// from the address its X-Forwarded-For reports (the last one there not
// itself a trusted proxy), or its X-Real-IP when it sends no
// X-Forwarded-For. Without them req.ip, and so a rate limit, would be
// the proxy's address for every client. A nil *trustedProxies trusts no
// one: the client is the connection's peer.
type trustedProxies struct {
	prefixes []netip.Prefix
}

// readSecurity reads a security block's value v, declared at at: its
// trust_proxy, false (the default), true (loopback and the private
// networks), or an address or network ("10.0.0.0/8") or a list of them.
func readSecurity(at string, v vm.Value) (*trustedProxies, error) {
	o, err := blockSettings("security", at, v)
	if err != nil {
		return nil, err
	}
	tp, ok := o.Get("trust_proxy")
	if !ok {
		return nil, nil
	}
	bad := func(why string) error {
		return fmt.Errorf("%s: security.trust_proxy: %s (give true for loopback and the private networks, or the proxies' addresses and networks: [\"10.0.0.5\", \"10.1.0.0/16\"])", at, why)
	}
	var items []vm.Value
	switch tp.Kind() {
	case vm.KBool:
		if !tp.AsBool() {
			return nil, nil
		}
		return &trustedProxies{prefixes: privateNets}, nil
	case vm.KString:
		items = []vm.Value{tp}
	case vm.KArray:
		items = tp.AsArray().Elems
	default:
		return nil, bad("expected true, false, or addresses, got " + vm.Repr(tp))
	}
	p := &trustedProxies{}
	for _, it := range items {
		if it.Kind() != vm.KString {
			return nil, bad("expected an address or a network as a String, got " + vm.Repr(it))
		}
		s := strings.TrimSpace(it.AsString())
		if strings.Contains(s, "/") {
			n, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, bad(fmt.Sprintf("%q is not a network", s))
			}
			p.prefixes = append(p.prefixes, n.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, bad(fmt.Sprintf("%q is not an IP address", s))
		}
		a = a.Unmap()
		p.prefixes = append(p.prefixes, netip.PrefixFrom(a, a.BitLen()))
	}
	if len(p.prefixes) == 0 {
		return nil, nil
	}
	return p, nil
}

// trusts says whether a is a trusted proxy's address.
func (p *trustedProxies) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, n := range p.prefixes {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// clientIP is the address of the client of r, as text ("" if unknown):
// the connection's peer, unless that is a trusted proxy (see
// trustedProxies). X-Forwarded-For is read from its end, each proxy
// having added the address it was connected from: the first address
// that is not a trusted proxy's is the client's (one before it could be
// anything the client wrote). An entry that is not an address ends the
// reading there, at the last proxy's.
func (p *trustedProxies) clientIP(r *netio.Request) string {
	if p == nil || !r.Remote.IsValid() || !p.trusts(r.Remote) {
		return r.RemoteIP()
	}
	h := r.Headers()
	if fwd := h.Values("x-forwarded-for"); len(fwd) > 0 {
		client := r.Remote
	lines:
		for i := len(fwd) - 1; i >= 0; i-- {
			entries := strings.Split(fwd[i], ",")
			for j := len(entries) - 1; j >= 0; j-- {
				a, ok := forwardedAddr(entries[j])
				if !ok {
					break lines
				}
				client = a
				if !p.trusts(a) {
					break lines
				}
			}
		}
		return client.String()
	}
	if a, ok := forwardedAddr(h.Get("x-real-ip")); ok {
		return a.String()
	}
	return r.RemoteIP()
}

// forwardedAddr reads one address of a forwarding header: an IP, or an
// IP with a port as some proxies write it ("203.0.113.7:5121",
// "[2001:db8::1]:443").
func forwardedAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}
