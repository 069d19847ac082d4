package netio

import (
	"fmt"
	"strings"
	"time"

	"tova/internal/routepath"
)

// Methods a route may declare. Their order here is the sorted order used in
// Allow headers.
var methodNames = [...]string{"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"}

const (
	mDELETE = iota
	mGET
	mHEAD
	mOPTIONS
	mPATCH
	mPOST
	mPUT
	numMethods
)

func methodIndex(m string) int {
	switch m {
	case "GET":
		return mGET
	case "POST":
		return mPOST
	case "PUT":
		return mPUT
	case "DELETE":
		return mDELETE
	case "PATCH":
		return mPATCH
	case "HEAD":
		return mHEAD
	case "OPTIONS":
		return mOPTIONS
	}
	return -1
}

// methodSet is a bit set over methodNames.
type methodSet uint8

// allow renders the set as an Allow header value: sorted, with HEAD when
// GET is present, and OPTIONS always.
func (s methodSet) allow() string {
	if s&(1<<mGET) != 0 {
		s |= 1 << mHEAD
	}
	s |= 1 << mOPTIONS
	var b strings.Builder
	for i, name := range methodNames {
		if s&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteString(", ")
			}
			b.WriteString(name)
		}
	}
	return b.String()
}

// Route is one registered route.
type Route struct {
	Method  string
	Pattern string // normalised pattern, e.g. "/users/:id"
	Handler Handler
	// Timeout, if set and shorter than the server's RequestTimeout, is
	// the route's own deadline; past it the answer is 504
	// GATEWAY_TIMEOUT (the route's promise broken), not the server's
	// 503 TIMEOUT.
	Timeout time.Duration
	// Inline runs the handler on the connection's goroutine, not through
	// the pool: for a handler of Go code that answers at once (a health
	// probe), which must answer even when every worker is busy.
	Inline bool
	params []string // names of the dynamic segments, in order
}

// node is one path segment of the routing tree.
type node struct {
	static   map[string]*node
	param    *node
	wildcard *[numMethods]*Route // "*name": the rest of the path, at least one character
	catchAll *[numMethods]*Route // trailing "*": the rest of the path, possibly empty
	routes   *[numMethods]*Route // routes ending at this node
}

// Router maps (method, path) to handlers. Matching works on normalised
// paths segment by segment, trying at each level a static segment, then a
// ":param", then a "*name" wildcard, then a trailing "*" catch-all, and
// backtracking when a branch does not end in a route for the method; so
// static beats param beats wildcard whatever the declaration order.
// Declaring the same method and pattern twice (or patterns that differ
// only in their parameters' names) keeps the later handler, as the
// reference does; OnReplace hears of it.
//
// A Router is built before the server starts and is read-only afterwards.
type Router struct {
	// OnReplace, when set, is told when a declaration replaces an
	// earlier route for the same method and paths.
	OnReplace func(old, new *Route)

	root   node
	routes []*Route
	// exact holds the routes of each pattern without dynamic segments,
	// by pattern: the route a path equal to one of them matches, unless
	// its method has none there (static segments come first, so the
	// tree would find the same).
	exact map[string]*[numMethods]*Route
}

// NewRouter returns an empty router.
func NewRouter() *Router { return &Router{} }

// Routes returns the registered routes in declaration order.
func (r *Router) Routes() []*Route { return append([]*Route(nil), r.routes...) }

// allowAny renders the Allow header of the server as a whole (for
// `OPTIONS *`): every method some route declares.
func (r *Router) allowAny() string {
	var s methodSet
	for _, rt := range r.routes {
		s |= 1 << methodIndex(rt.Method)
	}
	return s.allow()
}

// RouteError is a route Handle refuses.
type RouteError struct {
	Method, Pattern string
	Reason          string
}

func (e *RouteError) Error() string {
	return fmt.Sprintf("netio: route %s %s: %s", e.Method, e.Pattern, e.Reason)
}

// Handle registers h for method and pattern. Patterns are absolute paths
// whose segments may be ":name" (one segment), "*name" (the rest of the
// path, at least one character; last segment only) or "*" (the rest of the
// path, possibly empty; last segment only). A trailing '/' is ignored.
func (r *Router) Handle(method, pattern string, h Handler) error {
	mi := methodIndex(strings.ToUpper(method))
	if mi < 0 {
		return &RouteError{method, pattern, "unknown method"}
	}
	if h == nil {
		return &RouteError{method, pattern, "nil handler"}
	}
	if why := routepath.Check(pattern); why != "" {
		return &RouteError{method, pattern, why}
	}
	segs := routepath.Segments(pattern)
	rt := &Route{Method: methodNames[mi], Handler: h}
	n := &r.root
	var canon strings.Builder
	for _, seg := range segs {
		canon.WriteByte('/')
		canon.WriteString(seg)
		switch {
		case seg[0] == '*':
			name := seg[1:]
			slot := &n.wildcard
			if name == "" {
				name = "*"
				slot = &n.catchAll
			}
			rt.params = append(rt.params, name)
			rt.Pattern = canon.String()
			if *slot == nil {
				*slot = new([numMethods]*Route)
			}
			r.add(*slot, mi, rt)
			return nil
		case seg[0] == ':':
			rt.params = append(rt.params, seg[1:])
			if n.param == nil {
				n.param = &node{}
			}
			n = n.param
		default:
			if n.static == nil {
				n.static = map[string]*node{}
			}
			child := n.static[seg]
			if child == nil {
				child = &node{}
				n.static[seg] = child
			}
			n = child
		}
	}
	rt.Pattern = canon.String()
	if rt.Pattern == "" {
		rt.Pattern = "/"
	}
	if n.routes == nil {
		n.routes = new([numMethods]*Route)
		if len(rt.params) == 0 {
			if r.exact == nil {
				r.exact = map[string]*[numMethods]*Route{}
			}
			r.exact[rt.Pattern] = n.routes
		}
	}
	r.add(n.routes, mi, rt)
	return nil
}

func (r *Router) add(slot *[numMethods]*Route, mi int, rt *Route) {
	if old := slot[mi]; old != nil {
		if r.OnReplace != nil {
			r.OnReplace(old, rt)
		}
		for i, x := range r.routes {
			if x == old {
				r.routes = append(r.routes[:i], r.routes[i+1:]...)
				break
			}
		}
	}
	slot[mi] = rt
	r.routes = append(r.routes, rt)
}

// Group returns a route group whose patterns are prefixed with prefix.
func (r *Router) Group(prefix string) *Group { return &Group{r: r, prefix: prefix} }

// Group registers routes under a path prefix; groups nest.
type Group struct {
	r      *Router
	prefix string
}

// Handle registers h for method and prefix+pattern.
func (g *Group) Handle(method, pattern string, h Handler) error {
	return g.r.Handle(method, joinPattern(g.prefix, pattern), h)
}

// Group returns a nested group.
func (g *Group) Group(prefix string) *Group {
	return &Group{r: g.r, prefix: joinPattern(g.prefix, prefix)}
}

func joinPattern(prefix, p string) string {
	return "/" + strings.Trim(strings.TrimRight(prefix, "/")+"/"+strings.TrimLeft(p, "/"), "/")
}

// Match is the result of a route lookup.
type Match struct {
	// Route is the matched route, nil if none.
	Route  *Route
	Params Params
	// allowed holds the methods of the routes whose pattern matches the
	// path (set when Route is nil and the path is known).
	allowed methodSet
}

// Allow renders the Allow header for a 405 or OPTIONS answer; empty if the
// path matched no route.
func (m *Match) Allow() string {
	if m.allowed == 0 {
		return ""
	}
	return m.allowed.allow()
}

// Lookup finds the route for method and a normalised path. HEAD falls back
// to GET. Parameter values are slices of path, appended to params.
func (r *Router) Lookup(method, path string, params Params) Match {
	mi := methodIndex(method)
	var vals [8]string
	m := Match{}
	if mi >= 0 {
		if rt := routeFor(r.exact[path], mi); rt != nil {
			m.Route, m.Params = rt, params
			return m
		}
		if rt, n := r.root.find(path, mi, vals[:0]); rt != nil {
			for i, name := range rt.params {
				params = append(params, Param{Name: name, Value: n[i]})
			}
			m.Route, m.Params = rt, params
			return m
		}
	}
	r.root.collect(path, &m.allowed)
	return m
}

// routeFor picks the route for method mi among the routes of one pattern.
func routeFor(rs *[numMethods]*Route, mi int) *Route {
	if rs == nil {
		return nil
	}
	if rt := rs[mi]; rt != nil {
		return rt
	}
	if mi == mHEAD {
		return rs[mGET]
	}
	return nil
}

// find walks the tree in priority order; path is what remains, starting
// with '/' or empty. It returns the route and the parameter values.
func (n *node) find(path string, mi int, vals []string) (*Route, []string) {
	if path == "" || path == "/" {
		if rt := routeFor(n.routes, mi); rt != nil {
			return rt, vals
		}
		if rt := routeFor(n.catchAll, mi); rt != nil {
			return rt, append(vals, "")
		}
		return nil, nil
	}
	rest := path[1:]
	seg, tail := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		seg, tail = rest[:i], rest[i:]
	}
	if child := n.static[seg]; child != nil {
		if rt, v := child.find(tail, mi, vals); rt != nil {
			return rt, v
		}
	}
	if n.param != nil {
		if rt, v := n.param.find(tail, mi, append(vals, seg)); rt != nil {
			return rt, v
		}
	}
	if rt := routeFor(n.wildcard, mi); rt != nil {
		return rt, append(vals, rest)
	}
	if rt := routeFor(n.catchAll, mi); rt != nil {
		return rt, append(vals, rest)
	}
	return nil, nil
}

// collect gathers the methods of every route whose pattern matches path.
func (n *node) collect(path string, set *methodSet) {
	add := func(rs *[numMethods]*Route) {
		if rs == nil {
			return
		}
		for i, rt := range rs {
			if rt != nil {
				*set |= 1 << i
			}
		}
	}
	if path == "" || path == "/" {
		add(n.routes)
		add(n.catchAll)
		return
	}
	rest := path[1:]
	seg, tail := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		seg, tail = rest[:i], rest[i:]
	}
	if child := n.static[seg]; child != nil {
		child.collect(tail, set)
	}
	if n.param != nil {
		n.param.collect(tail, set)
	}
	add(n.wildcard)
	add(n.catchAll)
}
