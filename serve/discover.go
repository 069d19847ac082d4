package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"tova/bytecode"
	"tova/frontend/diag"
	"tova/netio"
	"tova/vm"
)

// Service discovery (Decision 16): inside a server block, another
// server of the program is a value whose methods call its functions,
// `worker.compute(21)`, as POST <base>/rpc/compute with
// {"__args":[21]} (rpc.go answers it). A server's `discover "worker"
// { url, health, timeout, circuit_breaker { failure_threshold,
// reset_timeout, half_open_requests } }` (or the reference's `discover
// "worker" at URL with { threshold, reset_timeout, timeout }`) sets
// where that server is, how long a call may take, the breaker its calls
// go through and a health path polled while the server runs. Each
// (calling server, peer) pair has its own breaker.

// The defaults of a discover block's settings, and the health poll.
const (
	defaultRPCTimeout     = 10 * time.Second
	defaultFailures       = 5
	defaultResetTimeout   = 30 * time.Second
	defaultHalfOpen       = 1
	defaultHealthInterval = 5 * time.Second
	// healthProbeTimeout bounds one health probe (less when the
	// interval is shorter).
	healthProbeTimeout = 2 * time.Second
	// maxPeerCount bounds failure_threshold and half_open_requests.
	maxPeerCount = 1 << 20
)

// discoverKeys are the keys a discover block takes: the guide's (url,
// health, circuit_breaker) and the reference's `with` keys (threshold,
// reset_timeout, timeout), which may also stand at the top.
var discoverKeys = []string{"url", "health", "health_interval", "timeout", "circuit_breaker",
	"failure_threshold", "threshold", "reset_timeout", "half_open_requests"}

// breakerKeys are the keys of a discover block's circuit_breaker.
var breakerKeys = []string{"failure_threshold", "threshold", "reset_timeout", "half_open_requests"}

// peerSettings are what a discover block says of a peer.
type peerSettings struct {
	url         string // "" when not given: see peer.base
	health      string // "" when not polled
	healthEvery time.Duration
	timeout     time.Duration
	failures    uint32 // consecutive failures that open the breaker
	reset       time.Duration
	halfOpen    uint32
	at          string // the discover declaration ("" for the defaults)
}

func defaultPeerSettings() peerSettings {
	return peerSettings{healthEvery: defaultHealthInterval, timeout: defaultRPCTimeout,
		failures: defaultFailures, reset: defaultResetTimeout, halfOpen: defaultHalfOpen}
}

// readDiscover reads the value of `discover name` declared at at.
func readDiscover(log zerolog.Logger, name, at string, v vm.Value, keyAt func(string) string) (peerSettings, error) {
	ps := defaultPeerSettings()
	ps.at = at
	bad := func(key string, err error) error {
		return fmt.Errorf("%s: discover %q: %s: %v", at, name, key, err)
	}
	if v.Kind() != vm.KObject {
		return ps, nil
	}
	o := v.AsObject()
	if u, ok := o.Get("url"); ok {
		s, err := peerURL(u)
		if err != nil {
			return ps, bad("url", err)
		}
		ps.url = s
	}
	if h, ok := o.Get("health"); ok && !h.IsNil() {
		if h.Kind() != vm.KString || !strings.HasPrefix(h.AsString(), "/") {
			return ps, bad("health", fmt.Errorf("expected a path such as \"/health\", got %s", vm.Repr(h)))
		}
		ps.health = h.AsString()
	}
	durations := []struct {
		key  string
		into *time.Duration
	}{{"timeout", &ps.timeout}, {"health_interval", &ps.healthEvery}, {"reset_timeout", &ps.reset}}
	counts := []struct {
		key  string
		into *uint32
	}{{"failure_threshold", &ps.failures}, {"threshold", &ps.failures}, {"half_open_requests", &ps.halfOpen}}
	// A setting given twice (threshold is failure_threshold's other
	// name; circuit_breaker's keys may be given at the top too) is an
	// error: one of the two was dropped without a word.
	given := map[any]string{}
	twice := func(into any, key string) error {
		if prev, ok := given[into]; ok {
			return bad(key, fmt.Errorf("%s sets the same setting: give one of the two", prev))
		}
		given[into] = key
		return nil
	}
	read := func(o *vm.Object, prefix string) error {
		for _, d := range durations {
			if x, ok := o.Get(d.key); ok {
				if err := twice(d.into, prefix+d.key); err != nil {
					return err
				}
				n, err := duration(x, time.Millisecond)
				if err == nil && n <= 0 {
					err = fmt.Errorf("must be a positive duration such as 30.seconds (or milliseconds), got %s", vm.Repr(x))
				}
				if err != nil {
					return bad(prefix+d.key, err)
				}
				*d.into = n
			}
		}
		for _, c := range counts {
			if x, ok := o.Get(c.key); ok {
				if err := twice(c.into, prefix+c.key); err != nil {
					return err
				}
				if x.Kind() != vm.KInt || x.AsInt() < 1 || x.AsInt() > maxPeerCount {
					return bad(prefix+c.key, fmt.Errorf("must be a positive Int no greater than %d, got %s", maxPeerCount, vm.NumberRepr(x)))
				}
				*c.into = uint32(x.AsInt())
			}
		}
		return nil
	}
	if err := read(o, ""); err != nil {
		return ps, err
	}
	if cb, ok := o.Get("circuit_breaker"); ok && !cb.IsNil() {
		if cb.Kind() != vm.KObject {
			return ps, bad("circuit_breaker", fmt.Errorf("expected { failure_threshold, reset_timeout, half_open_requests }, got %s", vm.Repr(cb)))
		}
		for _, k := range cb.AsObject().Keys() {
			if !slices.Contains(breakerKeys, k) {
				e := log.Warn().Str("kind", "discover").Str("key", "circuit_breaker."+k).Strs("known", breakerKeys).Str("at", keyAt("circuit_breaker."+k))
				if meant := diag.Closest(k, breakerKeys); meant != "" {
					e = e.Str("did_you_mean", meant) // (as a key of the block's own has)
				}
				e.Msg(unknownKeyMsg)
			}
		}
		if err := read(cb.AsObject(), "circuit_breaker."); err != nil {
			return ps, err
		}
	}
	return ps, nil
}

// peerURL reads a discover url: an absolute http or https URL, kept
// without a trailing slash (paths are added to it).
func peerURL(v vm.Value) (string, error) {
	if v.IsNil() || vm.VariantOf(v) == vm.NoneType {
		// (url: env("WORKER_URL") of an unset variable)
		return "", fmt.Errorf("expected an http or https URL String such as \"http://localhost:3002\", got %s: is the environment variable it reads set?", vm.Repr(v))
	}
	if v.Kind() != vm.KString {
		return "", fmt.Errorf("expected an http or https URL String such as \"http://localhost:3002\", got %s", vm.Repr(v))
	}
	u, err := url.Parse(v.AsString())
	if err != nil {
		if hint := urlHint(v.AsString()); hint != "" {
			return "", fmt.Errorf("%q is not an absolute http or https URL%s", netio.WithoutPasswords(v.AsString()), hint)
		}
		return "", fmt.Errorf("the URL does not parse: %v", errors.Unwrap(err))
	}
	// The value as written ("http://", not url's "http:"), but without
	// a password it holds.
	shown := v.AsString()
	if _, has := u.User.Password(); has {
		shown = u.Redacted()
	} else {
		shown = netio.WithoutPasswords(shown) // (written without a scheme)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("%q is not an absolute http or https URL%s", shown, urlHint(v.AsString()))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q has a query or a fragment: give the server's base URL", shown)
	}
	return strings.TrimRight(v.AsString(), "/"), nil
}

// peers are the other servers of the program a server can call, by
// name, and the health probes of those its discover blocks poll.
type peers struct {
	byName map[string]*peer
	stop   context.CancelFunc
	wg     sync.WaitGroup
}

// readPeers makes the server's peers: every other named server of the
// program, with the settings of its discover block if the server has
// one. A discover block's bad value is a start-up error; one naming no
// other server of the program is warned of.
func (s *Server) readPeers() error {
	set := map[string]peerSettings{}
	for _, c := range s.desc.Configs {
		if c.Kind != "discover" {
			continue
		}
		at := s.at(c.Pos)
		if first, again := set[c.Name]; again {
			return fmt.Errorf("%s: discover %q declared again (first at %s)", at, c.Name, first.at)
		}
		raw := s.inst.Globals[c.Slot]
		if x, ok := vm.OptionValue(raw); ok {
			raw = x
		}
		if raw.Kind() == vm.KObject {
			if u, ok := raw.AsObject().Get("url"); ok && vm.VariantOf(u) == vm.NoneType {
				// (WithoutOptions drops a key given None: the peer was
				// called at its default URL, where the program named one)
				_, err := peerURL(u)
				return keyAt(s.fileName(), &c, at, fmt.Errorf("%s: discover %q: url: %v", at, c.Name, err))
			}
		}
		ps, err := readDiscover(s.log, c.Name, at, vm.WithoutOptions(raw), keyPlace(s.fileName(), &c, at))
		if err != nil {
			return keyAt(s.fileName(), &c, at, err)
		}
		set[c.Name] = ps
		if c.Name == s.Name || !slices.ContainsFunc(s.rt.code.Servers, func(d *bytecode.Server) bool { return d.Name == c.Name }) {
			s.log.Warn().Str("name", c.Name).Str("at", at).
				Msg("discover names no other server of this program: it has no effect (a server calls the functions of the program's other servers by name)")
		}
	}
	s.peers = &peers{byName: map[string]*peer{}}
	for _, d := range s.rt.code.Servers {
		if d.Name == "" || d.Name == s.Name {
			continue
		}
		ps, ok := set[d.Name]
		if !ok {
			ps = defaultPeerSettings()
		}
		if ps.url == "" && called(d) {
			// Where the calls go when the peer runs apart: a bad
			// value is said now, naming the variable, not at each
			// call as a URL that does not parse or a port nothing
			// listens on.
			key := bytecode.PortEnv(d.Name)
			if v, ok := s.rt.opts.Getenv(key); ok && v != "" {
				p, err := envPort(key, v)
				if err == nil && p == 0 && !slices.Contains(s.rt.serving, d.Name) {
					// (the peer's own process takes 0 as any free port,
					// which no other process knows)
					err = fmt.Errorf("%s=%q is port 0, which server %s's own process takes as any free port, out of this server's reach: set the port it listens on, or give discover %q { url: ... }", key, v, d.Name, d.Name)
				}
				if err != nil {
					return fmt.Errorf("%w (where this server calls server %s)", err, d.Name)
				}
			}
		}
		s.peers.byName[d.Name] = newPeer(s, d.Name, ps)
	}
	return nil
}

// called reports whether another server of the program calls a
// function of server d.
func called(d *bytecode.Server) bool {
	return slices.ContainsFunc(d.Hooks, func(h bytecode.Hook) bool { return h.Kind == "rpc" })
}

// envPort reads the port a PORT or PORT_<NAME> variable key gives, as
// `env PORT: Int` reads it (surrounding spaces, a sign).
func envPort(key, v string) (int, error) {
	p, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || p < 0 || p > 65535 {
		return 0, fmt.Errorf("%s=%q is not a port number", key, v)
	}
	return p, nil
}

// Peer implements vm.Peers: the value `name` is in this server's code.
func (s *Server) Peer(name string, slots []int) (vm.Value, error) {
	if s.peers != nil {
		if p, ok := s.peers.byName[name]; ok {
			if slots != nil {
				return vm.HostValue(&peerObject{p: p, slots: slots}), nil
			}
			return p.value, nil
		}
	}
	return vm.Nil, vm.Errorf("RPCError", "no server named %s in this program", name)
}

// startHealthChecks starts polling the health path of each peer whose
// discover block gives one.
func (s *Server) startHealthChecks() {
	if s.peers == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.peers.stop = cancel
	for _, p := range s.peers.byName {
		if p.health == "" {
			continue
		}
		s.peers.wg.Add(1)
		go func() {
			defer s.peers.wg.Done()
			p.pollHealth(ctx)
		}()
	}
}

// stopHealthChecks stops the health probes and waits for them.
func (s *Server) stopHealthChecks() {
	if s.peers == nil || s.peers.stop == nil {
		return
	}
	s.peers.stop()
	s.peers.wg.Wait()
}

// unplaced is the error of a call to a peer base cannot place.
func (p *peer) unplaced(what string) error {
	if p.portArg() == "?" {
		return vm.Errorf("RPCError", "%s: server %s's port is an expression (port BASE + 1, port env(...)), which a server running apart does not compute: give discover %q { url: ... } or set %s, or declare its port as a number or as one name of the program's top level (WORKER_PORT = BASE + 1 at the top, then port WORKER_PORT)", what, p.name, p.name, bytecode.PortEnv(p.name))
	}
	return vm.Errorf("RPCError", "%s: server %s declares port 0, a port its process picks at start, which a server running apart cannot know: give discover %q { url: ... } or set %s", what, p.name, p.name, bytecode.PortEnv(p.name))
}

// portArg is what the peer's rpc hooks say of its port (see
// bytecode.rpcPort), "" if it declares none.
func (p *peer) portArg() string {
	for _, d := range p.from.rt.code.Servers {
		if d.Name == p.name {
			for _, h := range d.Hooks {
				if h.Kind == "rpc" {
					return h.Arg
				}
			}
		}
	}
	return ""
}

// base is the URL the peer's calls go to: the discover block's url;
// else, for a server running in this process, its own address; else
// http://localhost and the port PORT_<NAME> gives, or the one its `port`
// declares as a literal, or the one its place gives (3000, 3001, ...),
// as the peer's own process would pick; "" for a peer that declares
// `port 0` (its process picks a port at start, which no other knows) or
// computes its port in its own block.
func (p *peer) base() string {
	u, _ := p.place()
	return u
}

// place is base, and the certificate an https peer of this process must
// present (nil for any other): it is reached at its listen address, an
// IP its certificate seldom names, and the process trusts the
// certificate it serves itself.
func (p *peer) place() (string, []byte) {
	if p.url != "" {
		return p.url, nil
	}
	rt := p.from.rt
	for _, s := range rt.servers {
		if s.Name == p.name && s.http != nil {
			if a, ok := s.Addr().(*net.TCPAddr); ok {
				host := a.IP
				if host.IsUnspecified() {
					host = net.IPv4(127, 0, 0, 1)
				}
				scheme, pin := "http", []byte(nil)
				if strings.HasPrefix(s.URL(), "https:") {
					scheme, pin = "https", s.cert
				}
				return scheme + "://" + net.JoinHostPort(host.String(), strconv.Itoa(a.Port)), pin
			}
		}
	}
	if v, ok := rt.opts.Getenv(bytecode.PortEnv(p.name)); ok && v != "" {
		// Read as the peer's own process reads it (" 8081", "+8081");
		// one it refuses stays as it is, for the call's error to show.
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 && n <= 65535 {
			v = strconv.Itoa(n)
		}
		return "http://localhost:" + v, nil
	}
	for i, d := range rt.code.Servers {
		if d.Name != p.name {
			continue
		}
		for _, h := range d.Hooks {
			if h.Kind != "rpc" || h.Arg == "" {
				continue
			}
			if h.Arg == "0" || h.Arg == "?" {
				return "", nil // (see unplaced)
			}
			slot, computed := strings.CutPrefix(h.Arg, "@")
			if !computed {
				return "http://localhost:" + h.Arg, nil
			}
			// `port WORKER_PORT`: a constant or env of the top level,
			// which this process computed as the peer's did.
			if n, err := strconv.Atoi(slot); err == nil && n >= 0 && n < len(p.from.inst.Globals) {
				if v := p.from.inst.Globals[n]; v.Kind() == vm.KInt && v.AsInt() > 0 && v.AsInt() <= 65535 {
					return "http://localhost:" + strconv.FormatInt(v.AsInt(), 10), nil
				}
			}
			break // (not a port: the place's, as before)
		}
		return "http://localhost:" + strconv.Itoa(3000+i), nil
	}
	return "http://localhost:3000", nil
}
