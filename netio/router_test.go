package netio

import (
	"bufio"
	"context"
	"errors"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestCleanPath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"", "/"},
		{"/", "/"},
		{"//", "/"},
		{"/users/42/", "/users/42"},
		{"//a///b//", "/a/b"},
		{"/a/./b/../c", "/a/c"},
		{"/a/b/../../..", "/"},
		{"/../../etc/passwd", "/etc/passwd"},
		{"/a/..", "/"},
		{"/a%20b/%7Euser", "/a b/~user"},
		{"/a%2Fb", "/a/b"},
		{"/%zz/%4", "/%zz/%4"},
		{"/%2e%2e/x", "/x"},
		{"/caf%C3%A9", "/café"},
		{"/.hidden/..x", "/.hidden/..x"},
		{"relative/path", "/relative/path"},
	} {
		if got := cleanPath(tc.in); got != tc.want {
			t.Errorf("cleanPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// A %2F that makes a dot segment, and a %00, are refused; the path is
// still cleaned (for the log). A %2F elsewhere, or beside dot segments
// the client wrote as such, is not.
func TestCleanPathRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
		err      error
	}{
		{"/p/..%2f..%2fjson", "/json", errEncodedSlashDots},
		{"/p/a%2F.%2Fb", "/p/a/b", errEncodedSlashDots},
		{"/p/a%2F%2e%2e", "/p", errEncodedSlashDots},
		{"/p/..%2F", "/", errEncodedSlashDots},
		{"/a%00b", "/a\x00b", errEncodedNUL},
		{"/p/a%2Fb", "/p/a/b", nil},
		{"/p/../a%2Fb", "/a/b", nil},
		{"/p/./x/a%2F..b", "/p/x/a/..b", nil},
		{"/%2e%2e/x", "/x", nil},
		{"/a%0Ab", "/a\nb", nil},
	} {
		got, err := appendCleanPath(nil, []byte(tc.in))
		if string(got) != tc.want || err != tc.err {
			t.Errorf("appendCleanPath(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func named(name string) Handler {
	return func(context.Context, *Request) *Response { return Text(200, name) }
}

func routeName(t *testing.T, r *Router, method, path string) (string, Params, string) {
	t.Helper()
	m := r.Lookup(method, path, nil)
	if m.Route == nil {
		return "", nil, m.Allow()
	}
	return string(m.Route.Handler(context.Background(), nil).Body), m.Params, ""
}

func TestRouterPriorityIgnoresDeclarationOrder(t *testing.T) {
	t.Parallel()
	r := NewRouter()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// Declared from least to most specific on purpose.
	must(r.Handle("GET", "/*", named("catchall-root")))
	must(r.Handle("GET", "/users/*rest", named("users-rest")))
	must(r.Handle("GET", "/users/:id", named("user")))
	must(r.Handle("GET", "/users/me", named("me")))
	must(r.Handle("GET", "/users/:id/posts/:post", named("post")))
	must(r.Handle("POST", "/users/:id", named("user-post")))
	must(r.Handle("GET", "/files/*path", named("files")))
	must(r.Handle("GET", "/proxy/*", named("proxy")))
	must(r.Handle("PUT", "/users/me/", named("me-put")))
	api := r.Group("/api/v1/")
	must(api.Handle("get", "/ping", named("ping")))
	must(api.Group("admin").Handle("GET", "stats/", named("stats")))
	must(api.Handle("GET", "/", named("api-root")))

	for _, tc := range []struct {
		method, path, want string
		params             Params
	}{
		{"GET", "/users/me", "me", nil},
		{"GET", "/users/42", "user", Params{{"id", "42"}}},
		{"POST", "/users/me", "user-post", Params{{"id", "me"}}}, // no POST on the static route
		{"PUT", "/users/me", "me-put", nil},
		{"GET", "/users/42/posts/7", "post", Params{{"id", "42"}, {"post", "7"}}},
		{"GET", "/users/42/other", "users-rest", Params{{"rest", "42/other"}}},
		{"GET", "/users/me/posts/1", "post", Params{{"id", "me"}, {"post", "1"}}},
		{"GET", "/files/a/b/c.txt", "files", Params{{"path", "a/b/c.txt"}}},
		{"GET", "/files", "catchall-root", Params{{"*", "files"}}}, // *path needs one character
		{"GET", "/proxy", "proxy", Params{{"*", ""}}},
		{"GET", "/proxy/x/y", "proxy", Params{{"*", "x/y"}}},
		{"GET", "/api/v1/ping", "ping", nil},
		{"GET", "/api/v1/admin/stats", "stats", nil},
		{"GET", "/api/v1", "api-root", nil},
		{"HEAD", "/users/me", "me", nil},
		{"GET", "/", "catchall-root", Params{{"*", ""}}},
	} {
		got, params, _ := routeName(t, r, tc.method, tc.path)
		if got != tc.want || !equalParams(params, tc.params) {
			t.Errorf("%s %s -> %q %v, want %q %v", tc.method, tc.path, got, params, tc.want, tc.params)
		}
	}
	if _, _, allow := routeName(t, r, "DELETE", "/users/me"); allow != "GET, HEAD, OPTIONS, POST, PUT" {
		t.Errorf("Allow = %q", allow)
	}
}

func equalParams(a, b Params) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRouterNotFoundAndAllow(t *testing.T) {
	t.Parallel()
	r := NewRouter()
	_ = r.Handle("GET", "/items/:id", named("get"))
	_ = r.Handle("DELETE", "/items/:id", named("del"))
	_ = r.Handle("POST", "/items", named("create"))
	if m := r.Lookup("GET", "/nothing", nil); m.Route != nil || m.Allow() != "" {
		t.Fatalf("unknown path: %+v", m)
	}
	if m := r.Lookup("PATCH", "/items/3", nil); m.Route != nil || m.Allow() != "DELETE, GET, HEAD, OPTIONS" {
		t.Fatalf("known path: %q", m.Allow())
	}
	if m := r.Lookup("GET", "/items", nil); m.Route != nil || m.Allow() != "OPTIONS, POST" {
		t.Fatalf("POST-only path: %q", m.Allow())
	}
	if m := r.Lookup("BREW", "/items", nil); m.Route != nil || m.Allow() != "OPTIONS, POST" {
		t.Fatalf("unknown method: %q", m.Allow())
	}
}

func TestRouterRejectsBadPatterns(t *testing.T) {
	t.Parallel()
	r := NewRouter()
	for _, tc := range []struct{ method, pattern string }{
		{"GET", "no-slash"},
		{"BREW", "/coffee"},
		{"GET", "/a/*rest/b"},
		{"GET", "/a/*/b"},
		{"GET", "/a/:/b"},
		{"GET", "/a/:1x"},
		{"GET", "/a/:id/b/:id"},
		{"GET", "/a/:id/*id"},
	} {
		err := r.Handle(tc.method, tc.pattern, named("x"))
		var re *RouteError
		if !errors.As(err, &re) || re.Method != tc.method || re.Pattern != tc.pattern || re.Reason == "" {
			t.Errorf("%s %s: %v, want a RouteError with its reason", tc.method, tc.pattern, err)
		}
	}
}

func TestLaterDeclarationWins(t *testing.T) {
	t.Parallel()
	r := NewRouter()
	_ = r.Handle("GET", "/x", named("first"))
	_ = r.Handle("GET", "/x/", named("second"))
	if got, _, _ := routeName(t, r, "GET", "/x"); got != "second" {
		t.Fatalf("got %q", got)
	}
	if n := len(r.Routes()); n != 1 {
		t.Fatalf("%d routes", n)
	}
	var replaced []string
	r.OnReplace = func(old, new *Route) { replaced = append(replaced, old.Pattern+" by "+new.Pattern) }
	_ = r.Handle("GET", "/x", named("third"))
	_ = r.Handle("GET", "/u/:id", named("id"))
	_ = r.Handle("POST", "/u/:name", named("post")) // another method: no replacement
	_ = r.Handle("GET", "/u/:name", named("name"))
	if got := strings.Join(replaced, ", "); got != "/x by /x, /u/:id by /u/:name" {
		t.Fatalf("replacements: %s", got)
	}
}

func TestValidRequestID(t *testing.T) {
	t.Parallel()
	long := make([]byte, 129)
	for i := range long {
		long[i] = 'a'
	}
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{"abc-DEF_123.x", true},
		{string(long[:128]), true},
		{string(long), false},
		{"", false},
		{"has space", false},
		{"semi;colon", false},
		{"uni\u00e9", false},
	} {
		if got := validRequestID([]byte(tc.id)); got != tc.ok {
			t.Errorf("validRequestID(%q) = %v", tc.id, got)
		}
	}
	g := NewCounterIDs()
	a, b := string(g.AppendID(nil)), string(g.AppendID(nil))
	if a == b || !validRequestID([]byte(a)) || len(a) < 14 {
		t.Fatalf("ids %q %q", a, b)
	}
	if string(NewCounterIDs().AppendID(nil)) == a {
		t.Fatal("two generators share a prefix")
	}
	u := string(UUIDv7IDs{}.AppendID(nil))
	if len(u) != 36 || u[14] != '7' || !validRequestID([]byte(u)) {
		t.Fatalf("uuid %q", u)
	}
}

// appendBase32 writes what strconv does, from one digit to thirteen.
func TestAppendBase32(t *testing.T) {
	t.Parallel()
	for _, n := range []uint64{0, 1, 9, 10, 31, 32, 33, 1023, 1024, 1<<35 - 1, 1 << 35, 1<<60 - 1, 1 << 60, math.MaxUint64 - 1, math.MaxUint64} {
		if got, want := string(appendBase32([]byte("x-"), n)), "x-"+strconv.FormatUint(n, 32); got != want {
			t.Errorf("appendBase32(%d) = %q, want %q", n, got, want)
		}
	}
	for n := uint64(0); n < 1<<16; n += 7 {
		if got, want := string(appendBase32(nil, n*0x9e3779b1)), strconv.FormatUint(n*0x9e3779b1, 32); got != want {
			t.Fatalf("appendBase32(%d) = %q, want %q", n*0x9e3779b1, got, want)
		}
	}
}

// Ids made on many goroutines at once, with collections dropping the
// CPUs' reserved blocks meanwhile, are all distinct and share the
// generator's prefix.
func TestCounterIDsUniqueAcrossCPUs(t *testing.T) {
	t.Parallel()
	g := NewCounterIDs()
	prefix := string(g.AppendID(nil))[:13]
	const workers, each = 8, 5000
	ids := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if w == 0 && i%1000 == 0 {
					runtime.GC()
				}
				ids[w] = append(ids[w], string(g.AppendID(nil)))
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, l := range ids {
		for _, id := range l {
			if seen[id] || !strings.HasPrefix(id, prefix) || !validRequestID([]byte(id)) {
				t.Fatalf("id %q repeated or malformed", id)
			}
			seen[id] = true
		}
	}
}

func TestParseHeaderBlock(t *testing.T) {
	t.Parallel()
	block := []byte("Host: example.com\r\nX-Multi:  one \r\nx-multi: two\r\nX-Folded: a\r\n  b\r\nbad line\r\nEmpty:\r\n\r\n")
	hs := parseHeaderBlock(nil, block)
	want := Headers{{"host", "example.com"}, {"x-multi", "one"}, {"x-multi", "two"}, {"x-folded", "a b"}, {"empty", ""}}
	if len(hs) != len(want) {
		t.Fatalf("got %q", hs)
	}
	for i := range want {
		if hs[i] != want[i] {
			t.Errorf("header %d = %q, want %q", i, hs[i], want[i])
		}
	}
	if got := hs.Values("X-MULTI"); len(got) != 2 || got[1] != "two" {
		t.Errorf("Values = %q", got)
	}
	if v, ok := hs.Lookup("empty"); !ok || v != "" {
		t.Errorf("Lookup(empty) = %q %v", v, ok)
	}
	if string(block[:4]) != "Host" {
		t.Error("the block was modified")
	}
}

func TestCopyRequestWithoutRawHeaders(t *testing.T) {
	t.Parallel()
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/a/../b/?x=1&x=2")
	ctx.Request.Header.SetMethod("PUT")
	ctx.Request.Header.Set("X-Request-ID", "given-id")
	ctx.Request.Header.Set("Content-Type", "text/plain")
	ctx.Request.SetBodyString("payload")
	var ex exchange
	if _, err := copyRequest(&ctx, nil, &ex, NewCounterIDs(), ctx.Request.Body(), false, nil); err != nil {
		t.Fatal(err)
	}
	r := &ex.req
	if r.Method != "PUT" || r.Path != "/b" || r.RawQuery != "x=1&x=2" || r.ID != "given-id" ||
		r.ContentType != "text/plain" || string(r.Body) != "payload" || r.Header("x-request-id") != "given-id" {
		t.Fatalf("%+v headers %q", r, r.Headers())
	}
	ctx.Request.Reset() // the copy must not depend on fasthttp's buffers
	if r.Method != "PUT" || r.Header("content-type") != "text/plain" || string(r.Body) != "payload" {
		t.Fatalf("after reset: %+v", r)
	}
}

// checkRawHeaders finds the X-Request-ID fasthttp's Peek finds, when
// the field appears once.
func TestRawHeaderIDMatchesPeek(t *testing.T) {
	for _, hdrs := range []string{
		"Host: h\r\nX-Request-ID: abc-1\r\n",
		"Host: h\r\nx-request-id:   spaced  \r\n",
		"Host: h\r\nX-Request-IDs: no\r\n",
		"Host: h\r\nAccept: */*\r\n",
		"Host: h\r\nX-Request-ID:\r\n",
	} {
		var req fasthttp.Request
		raw := "GET / HTTP/1.1\r\n" + hdrs + "\r\n"
		if err := req.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
			t.Fatal(err)
		}
		want := string(req.Header.Peek("X-Request-ID"))
		got, err := checkRawHeaders(req.Header.RawHeaders())
		if err != nil || string(got) != want {
			t.Errorf("%q: checkRawHeaders %q, %v; Peek %q", hdrs, got, err, want)
		}
	}
}

// originPath finds the same path as fasthttp's URI parser for every
// origin-form target, and declines the other forms (which fall back to
// that parser).
func TestOriginPathMatchesFasthttp(t *testing.T) {
	for _, target := range []string{
		"/", "/json", "/a/b?x=1", "/a?x=1#f", "/a#f?x", "/a#", "/a?", "/?", "/#",
		"/a/../b", "/%2F/x?y=%20", "/a;b=c/d", "/a//b", "/users/42?tab=posts&x=/y",
	} {
		var u fasthttp.URI
		if err := u.Parse([]byte("example.com"), []byte(target)); err != nil {
			t.Fatalf("fasthttp rejects %q: %v", target, err)
		}
		got, ok := originPath([]byte(target))
		if !ok || string(got) != string(u.PathOriginal()) {
			t.Errorf("originPath(%q) = %q, %v; fasthttp finds %q", target, got, ok, u.PathOriginal())
		}
	}
	for _, target := range []string{"", "*", "//evil.com/x", "http://h/p?q", "x/y"} {
		if got, ok := originPath([]byte(target)); ok {
			t.Errorf("originPath(%q) = %q, want fallback", target, got)
		}
	}
}

// The shortcut for a path that is already clean gives what resolving it
// gives, for every path.
func FuzzCleanPathShortcut(f *testing.F) {
	for _, s := range []string{"/", "/json", "/a/b", "/a//b", "/a/", "/.well-known/x", "/a/.b", "/a/b.", "a", "", "/%41", "/a/..", "//", "/a.b/c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		full, fullErr := appendResolvedPath([]byte("x"), []byte(raw))
		got, err := appendCleanPath([]byte("x"), []byte(raw))
		if string(got) != string(full) || err != fullErr {
			t.Fatalf("%q: %q, %v; resolved: %q, %v", raw, got, err, full, fullErr)
		}
		if cleanAlready([]byte(raw)) && string(full) != "x"+raw {
			t.Fatalf("%q taken as clean, resolves to %q", raw, full[1:])
		}
	})
}

// A path equal to a pattern without dynamic segments is looked up in
// Router.exact first: it must find what the tree finds, for every method.
func TestExactRoutesAgreeWithTree(t *testing.T) {
	t.Parallel()
	r := NewRouter()
	for _, rt := range []struct{ method, pattern string }{
		{"GET", "/"}, {"GET", "/json"}, {"POST", "/:name"}, {"GET", "/users/me"},
		{"PUT", "/users/:id"}, {"DELETE", "/users/*rest"}, {"GET", "/a/b/c"},
		{"PATCH", "/a/:x/c"}, {"OPTIONS", "/a/*"}, {"HEAD", "/h"}, {"GET", "/json"},
	} {
		if err := r.Handle(rt.method, rt.pattern, named(rt.method+" "+rt.pattern)); err != nil {
			t.Fatal(err)
		}
	}
	if len(r.exact) != 5 { // /, /json, /users/me, /a/b/c, /h
		t.Fatalf("exact holds %d patterns, want 5", len(r.exact))
	}
	for _, path := range []string{"/", "/json", "/json/", "/users/me", "/users/42", "/users/me/x", "/a/b/c", "/a/z/c", "/a/b", "/h", "/nope"} {
		for _, method := range append(methodNames[:], "BREW") {
			m := r.Lookup(method, path, nil)
			var want *Route
			if mi := methodIndex(method); mi >= 0 {
				var vals [8]string
				want, _ = r.root.find(path, mi, vals[:0])
			}
			if m.Route != want {
				t.Errorf("%s %s: Lookup found %v, the tree %v", method, path, m.Route, want)
			}
		}
	}
}
