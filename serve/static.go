package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"tova/internal/routepath"
	"tova/jobs"
	"tova/netio"
	"tova/store"
	"tova/vm"
)

// Static files: the guide's `static { dir, prefix, cache, fallback }`
// (Decision 20) and the reference's `static "/p" => "dir" [fallback
// "index.html"]` (Decision 2) both compile to a "static" config value.
// The front end answers a GET or HEAD under a static's prefix from its
// directory before routing (netio.Config.Static), on the connection's
// goroutine: a file's body is streamed from disk as the connection
// writes it and holds no handler of the pool. A static's fallback file
// answers after routing (netio.Config.Fallback), only for a path no
// route takes: it stands for the pages of a client-side app, never for
// a route (health's included).

// StaticDefaultDir is the directory of a static block that names none.
const StaticDefaultDir = "public"

// staticDefaults: a static block's prefix when it names none, and its
// Cache-Control when neither it nor a cache { max_age } gives one (the
// reference's).
const (
	staticDefaultPrefix = "/"
	staticDefaultMaxAge = 3600
	staticDefaultCache  = "public, max-age=3600"
	// staticFallbackCache is the fallback file's Cache-Control: it
	// answers for every missing path under the prefix and changes with
	// each deploy, so a cache asks again (its ETag makes that cheap),
	// whatever long life the files themselves get.
	staticFallbackCache = "no-cache"
)

// staticKeys are the keys a static block knows.
var staticKeys = []string{"dir", "prefix", "cache", "fallback"}

// staticMount is one static declaration: the files of root, served under
// prefix.
type staticMount struct {
	prefix   string                  // "/" or "/assets": no trailing '/'
	root     atomic.Pointer[os.Root] // the directory; nil while it is missing (see dirRoot)
	dir      string                  // the directory's absolute path
	retry    atomic.Int64            // when (Unix ns) dirRoot may look for a missing one again
	cache    string                  // the files' Cache-Control
	fallback string                  // a file of root answered for a missing one; "" for none
	at       string                  // the declaration's file:line:col
	zip      *staticZip              // the server's compression block's, nil for none
	// recheck, when set, refuses the directory found at a re-open as the
	// start refuses it (one that holds the program's own: a deploy that
	// made public a link to .); refused is told once each time it does
	recheck  func() error
	refused  func(error)
	refusing atomic.Bool
}

// staticFiles are a server's static declarations, the longest prefix
// first.
type staticFiles struct {
	mounts []*staticMount
	rt     *Runtime // its protected files are never answered
}

// readStatic reads the program's static blocks (for every server) and
// the server's own. Several may be declared, each with its own prefix
// (the reference keeps only a server's last). A directory that does not
// exist is warned of (once, for the first server started: top) and
// serves nothing, as is a fallback that is no file of its directory
// (it may be built later, so it is looked for again on each request); one that cannot be opened otherwise, and a bad value,
// fail the start.
func (s *Server) readStatic(top bool) (*staticFiles, error) {
	g := s.inst.Globals
	code := s.rt.code
	cache := staticDefaultCache
	topFile := code.FileName(code.Funcs[0].File)
	for _, c := range code.Configs {
		if c.Kind == "cache" {
			if err := staticCacheMaxAge(s.rt.topAt(c.Pos), g[c.Slot], &cache); err != nil {
				return nil, keyAt(topFile, &c, s.rt.topAt(c.Pos), err)
			}
		}
	}
	for _, c := range s.desc.Configs {
		if c.Kind == "cache" {
			if err := staticCacheMaxAge(s.at(c.Pos), g[c.Slot], &cache); err != nil {
				return nil, keyAt(s.fileName(), &c, s.at(c.Pos), err)
			}
		}
	}
	sf := &staticFiles{rt: s.rt}
	add := func(at string, v vm.Value, warn bool) error {
		m, err := readStaticMount(at, v, cache)
		if err != nil {
			return err
		}
		if err := servesProgram(at, m.dir, s.rt.opts.Dir); err != nil {
			m.close()
			return err
		}
		// and so when the path is opened again (made later, or replaced)
		m.recheck = func() error { return servesProgram(at, m.dir, s.rt.opts.Dir) }
		m.refused = func(error) {
			s.log.Error().Str("kind", "static").Str("at", at).Str("dir", dirOf(v)).Str("program_dir", s.rt.opts.Dir).
				Msg("static directory holds the program's own directory (its source, its database): it serves nothing until it is another directory")
		}
		// Nor one that holds the database or the job queue, wherever
		// they are (db { path: "data/app.db" } beside static "/files"
		// => "data": the file and its WAL, the rows just written, were
		// downloadable).
		queue, _, _ := jobs.QueueOf(s.inst)
		for _, f := range []string{store.SQLiteFile(s.inst), queue} {
			if err := servesFile(at, m.dir, f); err != nil {
				m.close()
				return err
			}
		}
		for _, o := range sf.mounts {
			if o.prefix == m.prefix {
				m.close()
				return fmt.Errorf("%s: static: the prefix %q is served already, by the static at %s (give each its own prefix)", at, m.prefix, o.at)
			}
		}
		if m.root.Load() == nil && warn {
			s.log.Warn().Str("kind", "static").Str("at", at).Str("dir", dirOf(v)).
				Msg("static directory not found: it serves nothing until it is made")
		}
		if strings.ContainsAny(m.prefix, ":*") && warn {
			// static "/a/*" => "public" served only /a/*/... as written
			s.log.Warn().Str("kind", "static").Str("at", at).Str("prefix", m.prefix).
				Msg("static prefix holds ':' or '*', which it takes as written: a static prefix has no parameters or wildcards (static \"/a\" serves every path under /a)")
		}
		if r := m.root.Load(); r != nil && m.fallback != "" && warn {
			if st, err := r.Stat(m.fallback); err != nil || !st.Mode().IsRegular() {
				s.log.Warn().Str("kind", "static").Str("at", at).Str("dir", dirOf(v)).Str("fallback", m.fallback).
					Msg("static fallback file not found in the directory: a missing page gets 404")
			}
		}
		sf.mounts = append(sf.mounts, m)
		return nil
	}
	for _, c := range code.Configs {
		if c.Kind == "static" {
			if err := add(s.rt.topAt(c.Pos), g[c.Slot], top); err != nil {
				sf.close(context.Background())
				return nil, keyAt(topFile, &c, s.rt.topAt(c.Pos), err)
			}
		}
	}
	for _, c := range s.desc.Configs {
		if c.Kind == "static" {
			if err := add(s.at(c.Pos), g[c.Slot], true); err != nil {
				sf.close(context.Background())
				return nil, keyAt(s.fileName(), &c, s.at(c.Pos), err)
			}
		}
	}
	slices.SortStableFunc(sf.mounts, func(a, b *staticMount) int { return len(b.prefix) - len(a.prefix) })
	return sf, nil
}

// staticCacheMaxAge reads a cache block's max_age and
// stale_while_revalidate (the reference's: in seconds, or a Duration)
// into the static files' Cache-Control.
func staticCacheMaxAge(at string, v vm.Value, cache *string) error {
	v = vm.WithoutOptions(v) // (an Option env's value is what it holds, None none)
	if v.Kind() != vm.KObject {
		return nil
	}
	seconds := func(key string) (int64, bool, error) {
		a, ok := v.AsObject().Get(key)
		if !ok {
			return 0, false, nil
		}
		d, err := duration(a, time.Second)
		switch {
		case err == nil && d < 0:
			err = fmt.Errorf("a %s must not be negative, got %s", key, vm.Repr(a))
		case err == nil && d%time.Second != 0:
			// (Cache-Control counts whole seconds: 1.5 went out as 1)
			err = fmt.Errorf("a %s is whole seconds (Cache-Control has no fractions), got %s", key, vm.Repr(a))
		}
		if err != nil {
			return 0, false, fmt.Errorf("%s: cache.%s: %v", at, key, err)
		}
		return int64(d / time.Second), true, nil
	}
	age, hasAge, err := seconds("max_age")
	if err != nil {
		return err
	}
	stale, hasStale, err := seconds("stale_while_revalidate")
	if err != nil {
		return err
	}
	if !hasAge && !hasStale {
		return nil
	}
	if !hasAge {
		age = staticDefaultMaxAge
	}
	*cache = "public, max-age=" + strconv.FormatInt(age, 10)
	if hasStale {
		*cache += ", stale-while-revalidate=" + strconv.FormatInt(stale, 10)
	}
	return nil
}

// readStaticMount reads one static value, declared at at; cache is the
// Cache-Control of a block that gives none. A relative directory is
// resolved against the working directory.
func readStaticMount(at string, v vm.Value, cache string) (*staticMount, error) {
	m := &staticMount{prefix: staticDefaultPrefix, cache: cache, at: at}
	dir := StaticDefaultDir
	v = vm.WithoutOptions(v) // (an Option env's value is what it holds, None none)
	if v.Kind() != vm.KObject {
		return nil, fmt.Errorf("%s: static: expected a block of settings, got %s", at, vm.Repr(v))
	}
	obj := v.AsObject()
	str := func(key string, dst *string) error {
		x, ok := obj.Get(key)
		if !ok {
			return nil
		}
		if x.Kind() != vm.KString {
			return fmt.Errorf("%s: static.%s: expected a String, got %s", at, key, vm.Repr(x))
		}
		*dst = x.AsString()
		return nil
	}
	for _, k := range []struct {
		key string
		dst *string
	}{{"dir", &dir}, {"prefix", &m.prefix}, {"cache", &m.cache}, {"fallback", &m.fallback}} {
		if err := str(k.key, k.dst); err != nil {
			return nil, err
		}
	}
	if !strings.HasPrefix(m.prefix, "/") {
		return nil, fmt.Errorf("%s: static.prefix: %q does not begin with '/'", at, m.prefix)
	}
	if slices.Contains(routepath.Segments(m.prefix), "..") {
		// ("/s/.." was the prefix "/": every path served from it)
		return nil, fmt.Errorf("%s: static.prefix: %q leaves itself: it would be %s (write that)", at, m.prefix, path.Clean(m.prefix))
	}
	m.prefix = path.Clean(m.prefix)
	if dir == "" {
		return nil, fmt.Errorf("%s: static.dir: the directory is empty (write dir: \"public\")", at)
	}
	if strings.ContainsAny(m.cache, "\r\n") {
		return nil, fmt.Errorf("%s: static.cache: a header value cannot hold a line break", at)
	}
	if m.fallback != "" && !filepath.IsLocal(m.fallback) {
		return nil, fmt.Errorf("%s: static.fallback: %q is not a file inside the directory", at, m.fallback)
	}
	var err error
	if m.dir, err = filepath.Abs(dir); err != nil {
		return nil, fmt.Errorf("%s: static.dir: %v", at, err)
	}
	root, err := os.OpenRoot(m.dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		m.retry.Store(time.Now().UnixNano() + int64(staticRetry))
		return m, nil
	case err != nil:
		return nil, fmt.Errorf("%s: static.dir: %v", at, err)
	}
	m.root.Store(root)
	return m, nil
}

// resolvedPath is path with its links followed, or path when that
// fails (it does not exist yet).
func resolvedPath(path string) string {
	if r, err := filepath.EvalSymlinks(path); err == nil {
		return r
	}
	return path
}

// servesProgram refuses a static directory that holds the program's
// own directory, prog (static "/" => "."): its source, its SQLite
// database and what else is kept beside it were served to anyone, as
// tova build refuses to deploy it.
func servesProgram(at, dir, prog string) error {
	if prog == "" {
		return nil
	}
	p, err := filepath.Abs(prog)
	if err != nil {
		return nil
	}
	d, p := resolvedPath(dir), resolvedPath(p)
	if d == p || strings.HasPrefix(p, strings.TrimSuffix(d, string(filepath.Separator))+string(filepath.Separator)) {
		return fmt.Errorf("%s: static: the directory %s holds the program's own directory %s: its source, its database and the files beside it would be downloadable (serve a directory of its own, such as \"public\")", at, dir, prog)
	}
	return nil
}

// guarded reports whether the file name of root, st, is one of the
// program's databases or the -wal, -shm or -journal file beside one.
func (sf *staticFiles) guarded(root *os.Root, name string, st fs.FileInfo) bool {
	if sf.rt.isProtected(st) {
		return true
	}
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if bst, err := root.Stat(base); err == nil && sf.rt.isProtected(bst) {
				return true
			}
		}
	}
	return false
}

// servesFile refuses a static directory that holds the file f (a
// database, the job queue): it and the files SQLite keeps beside it
// would be served to anyone.
func servesFile(at, dir, f string) error {
	if f == "" || strings.HasPrefix(f, "file:") {
		return nil
	}
	abs, err := filepath.Abs(f)
	if err != nil {
		return nil
	}
	d, p := resolvedPath(dir), filepath.Join(resolvedPath(filepath.Dir(abs)), filepath.Base(abs))
	if strings.HasPrefix(p, strings.TrimSuffix(d, string(filepath.Separator))+string(filepath.Separator)) {
		return fmt.Errorf("%s: static: the directory %s holds the database %s: its rows (and its -wal file's) would be downloadable (keep the database out of the static directory)", at, dir, f)
	}
	return nil
}

// dirOf is the directory a static value names, as the warning shows it.
func dirOf(v vm.Value) string {
	if v.Kind() == vm.KObject {
		if d, ok := v.AsObject().Get("dir"); ok && d.Kind() == vm.KString {
			if abs, err := filepath.Abs(d.AsString()); err == nil {
				return abs
			}
			return d.AsString()
		}
	}
	abs, _ := filepath.Abs(StaticDefaultDir)
	return abs
}

// compress makes the files go out compressed as c says (nil: as they
// are).
func (sf *staticFiles) compress(c *netio.Compression) {
	if c == nil {
		return
	}
	z := newStaticZip(c)
	for _, m := range sf.mounts {
		m.zip = z
	}
}

// handler is the front end's Static hook, nil when nothing is served.
func (sf *staticFiles) handler() func(*fasthttp.RequestCtx, *netio.Request) int {
	if len(sf.mounts) > 0 {
		return sf.serve // (a missing directory may be made later)
	}
	return nil
}

// fallbackHandler is the front end's Fallback hook, nil when no static
// has a fallback.
func (sf *staticFiles) fallbackHandler() func(*fasthttp.RequestCtx, *netio.Request) int {
	for _, m := range sf.mounts {
		if m.fallback != "" {
			return sf.serveFallback
		}
	}
	return nil
}

// close closes the directories (when the server stops).
func (sf *staticFiles) close(context.Context) {
	for _, m := range sf.mounts {
		m.close()
	}
}

func (m *staticMount) close() {
	m.retry.Store(math.MaxInt64) // (never opened again)
	if r := m.root.Swap(nil); r != nil {
		r.Close()
	}
}

// serve answers a GET or HEAD for a file of a static's directory, and
// returns its status; 0 lets routing go on. The mounts whose prefix the
// path is under are tried longest prefix first.
func (sf *staticFiles) serve(ctx *fasthttp.RequestCtx, req *netio.Request) int {
	if req.Method != fasthttp.MethodGet && req.Method != fasthttp.MethodHead {
		return 0
	}
	slash := endsInSlash(req.URI)
	for _, m := range sf.mounts {
		name, ok := m.under(req.Path)
		if !ok || hidden(name) {
			continue
		}
		root := m.dirRoot()
		if root == nil || slash && !isDir(root, name) {
			continue
		}
		f, st, dir := m.open(root, name, true)
		if f == nil {
			continue
		}
		if sf.rt != nil && sf.guarded(root, name, st) {
			// a database of the program's, or a file SQLite keeps
			// beside one: never served, as if it were not there
			f.Close()
			continue
		}
		if dir && !slash && req.Path != "/" {
			f.Close()
			return redirectToDir(ctx, req)
		}
		return m.send(ctx, req, f, st, m.cache, contentType(st.Name()))
	}
	return 0
}

// redirectToDir answers a directory's path written without its '/'
// (/docs) with 301 to the path with it (/docs/), query kept, as nginx
// and Go's http.FileServer do: the index.html is its page only there,
// where a browser resolves the page's relative links (style.css)
// against the directory rather than its parent. The path is the clean
// one, so the Location never begins with "//" (another host).
func redirectToDir(ctx *fasthttp.RequestCtx, req *netio.Request) int {
	loc := (&url.URL{Path: req.Path + "/"}).EscapedPath()
	if req.RawQuery != "" {
		loc += "?" + netio.EscapeUnsafe(req.RawQuery, "")
	}
	ctx.Response.Header.Set(fasthttp.HeaderLocation, loc)
	ctx.Response.SetStatusCode(fasthttp.StatusMovedPermanently)
	return fasthttp.StatusMovedPermanently
}

// endsInSlash says whether a request target's path ends in '/': it
// names a directory, not a file (page.html/ was answered page.html,
// whose relative links then missed).
func endsInSlash(uri string) bool {
	if i := strings.IndexAny(uri, "?#"); i >= 0 {
		uri = uri[:i]
	}
	if strings.IndexByte(uri, '%') >= 0 {
		if d, err := url.PathUnescape(uri); err == nil {
			uri = d // (page.html%2F)
		}
	}
	// (page.html/. is page.html/ too)
	return len(uri) > 1 && (uri[len(uri)-1] == '/' || strings.HasSuffix(uri, "/.") || strings.HasSuffix(uri, "/.."))
}

// staticRetry is how often a static directory's path is looked at
// again (made since start-up? made anew?), while requests come under
// its prefix.
const staticRetry = time.Second

// dirRoot is the mount's directory, nil while it does not exist: the
// path is looked at again at most once per staticRetry, so that a
// directory made after the server started (a build step's assets), or
// made anew (a clean rebuild), is served without a restart.
func (m *staticMount) dirRoot() *os.Root {
	cur := m.root.Load()
	now, next := time.Now().UnixNano(), m.retry.Load()
	if now < next || !m.retry.CompareAndSwap(next, now+int64(staticRetry)) {
		return cur
	}
	// Once per staticRetry: is the path still the directory opened? A
	// build that removes it and makes it anew (or swaps a new one in
	// with mv) leaves the one opened empty or gone.
	if cur != nil {
		opened, err1 := cur.Stat(".")
		named, err2 := os.Stat(m.dir)
		if err1 == nil && err2 == nil && os.SameFile(opened, named) {
			return cur
		}
	}
	r, err := os.OpenRoot(m.dir)
	if err != nil {
		r = nil // (gone: nothing served until it is made again)
	}
	if r != nil && m.recheck != nil {
		if err := m.recheck(); err != nil {
			r.Close()
			r = nil // served as a missing directory is
			if !m.refusing.Swap(true) && m.refused != nil {
				m.refused(err)
			}
		} else {
			m.refusing.Store(false)
		}
	}
	if !m.root.CompareAndSwap(cur, r) {
		if r != nil {
			r.Close()
		}
		return m.root.Load()
	}
	if cur != nil {
		// (a file a request opened from it stays open; a request that
		// took it just before fails to open one, as if it were gone)
		cur.Close()
	}
	return r
}

// isDir says whether name is a directory of root.
func isDir(root *os.Root, name string) bool {
	st, err := root.Stat(name)
	return err == nil && st.IsDir()
}

// has reports whether serve answers a GET of path with a file.
func (sf *staticFiles) has(path string) bool {
	for _, m := range sf.mounts {
		name, ok := m.under(path)
		if !ok || hidden(name) {
			continue
		}
		root := m.dirRoot()
		if root == nil {
			continue
		}
		if f, _, _ := m.open(root, name, true); f != nil {
			f.Close()
			return true
		}
	}
	return false
}

// serveFallback answers a GET or HEAD that no file and no route took
// with the fallback file of the first mount, longest prefix first, that
// the path is under and that has one; 0 leaves the 404.
func (sf *staticFiles) serveFallback(ctx *fasthttp.RequestCtx, req *netio.Request) int {
	for _, m := range sf.mounts {
		if _, ok := m.under(req.Path); !ok || m.fallback == "" {
			continue
		}
		root := m.dirRoot()
		if root == nil {
			continue
		}
		if f, st, _ := m.open(root, m.fallback, false); f != nil {
			return m.send(ctx, req, f, st, staticFallbackCache, "text/html; charset=utf-8")
		}
		return 0
	}
	return 0
}

// under reports whether p (a clean request path) is under the mount's
// prefix, and the name of its file in the directory ("." for the
// directory itself).
func (m *staticMount) under(p string) (string, bool) {
	rest := p
	if m.prefix != "/" {
		var ok bool
		if rest, ok = strings.CutPrefix(p, m.prefix); !ok || rest != "" && rest[0] != '/' {
			return "", false
		}
	}
	rest = strings.TrimPrefix(rest, "/")
	if rest == "" {
		return ".", true
	}
	return rest, true
}

// hidden reports whether the file name (clean, relative) is, or is
// under, a dotfile: .env, .git/config, .htpasswd hold what is not for
// the web. The directory's .well-known (RFC 8615: ACME challenges,
// security.txt) is the exception.
func hidden(name string) bool {
	if name == "." {
		return false
	}
	for i, seg := range strings.Split(name, "/") {
		if strings.HasPrefix(seg, ".") && !(i == 0 && seg == ".well-known") {
			return true
		}
	}
	return false
}

// open opens the regular file name of the directory (for a directory,
// with index, its index.html, and dir is true); nil if there is none.
// The root refuses a name, or a symbolic link, that leads out of the
// directory. Anything but a regular file (a FIFO, a device, a socket)
// is never opened: its open could block the connection's thread for
// good (a FIFO's waits for a writer). The name is looked at first, and
// opened without blocking, in case it was swapped for a FIFO in
// between; the file opened is looked at again.
func (m *staticMount) open(root *os.Root, name string, index bool) (f *os.File, st fs.FileInfo, dir bool) {
	st, err := root.Stat(name)
	if err != nil {
		return nil, nil, false
	}
	if st.IsDir() && index {
		f, st, _ = m.open(root, path.Join(name, "index.html"), false)
		return f, st, true
	}
	if !st.Mode().IsRegular() {
		return nil, nil, false
	}
	f, err = root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, false
	}
	if st, err = f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, false
	}
	return f, st, false
}

// send answers with the file f: 304 when the request's If-None-Match
// (else If-Modified-Since) says the client has it, else 200 with the
// body streamed from f (none for HEAD), or compressed (staticzip.go). It
// closes f, or hands it to fasthttp, which closes it once the body is
// written.
func (m *staticMount) send(ctx *fasthttp.RequestCtx, req *netio.Request, f *os.File, st fs.FileInfo, cache, ctype string) int {
	size, mod := st.Size(), st.ModTime()
	etag := `"` + strconv.FormatInt(size, 36) + "-" + strconv.FormatInt(mod.UnixMilli(), 36) + `"`
	resp := &ctx.Response
	// A compressed answer's ETag is weak: it names the file, not the
	// bytes sent. A 304 carries what the 200 would.
	coding, vary := m.zip.coding(ctx, ctype, size)
	if coding != "" {
		resp.Header.Set(fasthttp.HeaderETag, netio.WeakETag(etag))
	} else {
		resp.Header.Set(fasthttp.HeaderETag, etag)
	}
	if vary {
		resp.Header.Add(fasthttp.HeaderVary, fasthttp.HeaderAcceptEncoding)
	}
	resp.Header.Set(fasthttp.HeaderCacheControl, cache)
	resp.Header.Set(fasthttp.HeaderLastModified, mod.UTC().Format(http.TimeFormat))
	if !preconditions(&ctx.Request.Header, etag, mod) {
		f.Close()
		resp.Header.Del(fasthttp.HeaderCacheControl) // (an answer to the conditions, not the file's)
		resp.SetStatusCode(fasthttp.StatusPreconditionFailed)
		return fasthttp.StatusPreconditionFailed
	}
	if fresh(&ctx.Request.Header, etag, mod) {
		f.Close()
		resp.SetStatusCode(fasthttp.StatusNotModified)
		return fasthttp.StatusNotModified
	}
	resp.Header.SetContentType(ctype)
	if coding != "" {
		if body, err := m.zip.encoded(f, st, coding); err == nil {
			f.Close()
			resp.Header.SetContentEncoding(coding)
			resp.SetStatusCode(fasthttp.StatusOK)
			if req.Method == fasthttp.MethodHead {
				resp.Header.SetContentLength(len(body))
				return fasthttp.StatusOK
			}
			resp.SetBodyRaw(body)
			return fasthttp.StatusOK
		}
		// The file could not be read whole: it is streamed as it is,
		// as far as it can be.
		resp.Header.Set(fasthttp.HeaderETag, etag)
	}
	resp.Header.Set(fasthttp.HeaderAcceptRanges, "bytes")
	if req.Method == fasthttp.MethodGet {
		if rng := ctx.Request.Header.Peek(fasthttp.HeaderRange); len(rng) > 0 && ifRange(&ctx.Request.Header, etag) {
			switch from, n, ok := byteRange(string(rng), size); {
			case ok && n == 0: // no range of the file is left
				f.Close()
				resp.Header.Set(fasthttp.HeaderContentRange, "bytes */"+strconv.FormatInt(size, 10))
				resp.Header.Del(fasthttp.HeaderContentType)
				resp.Header.Del(fasthttp.HeaderCacheControl)
				resp.SetStatusCode(fasthttp.StatusRequestedRangeNotSatisfiable)
				return fasthttp.StatusRequestedRangeNotSatisfiable
			case ok:
				resp.Header.Set(fasthttp.HeaderContentRange, "bytes "+strconv.FormatInt(from, 10)+"-"+strconv.FormatInt(from+n-1, 10)+"/"+strconv.FormatInt(size, 10))
				resp.SetStatusCode(fasthttp.StatusPartialContent)
				resp.SetBodyStream(fileSection{io.NewSectionReader(f, from, n), f}, int(n))
				return fasthttp.StatusPartialContent
			}
		}
	}
	resp.SetStatusCode(fasthttp.StatusOK)
	if req.Method == fasthttp.MethodHead {
		f.Close()
		resp.Header.SetContentLength(int(size))
		return fasthttp.StatusOK
	}
	resp.SetBodyStream(f, int(size))
	return fasthttp.StatusOK
}

// fileSection is part of an open file as a response body: fasthttp
// closes the file once the part is written.
type fileSection struct {
	*io.SectionReader
	f *os.File
}

func (s fileSection) Close() error { return s.f.Close() }

// preconditions reports whether a request's If-Match (else its
// If-Unmodified-Since) holds for the file of etag and modification time
// mod (RFC 9110 §13.2.2): if not, it is answered 412, so that a client
// resuming a download of the file it had does not splice in another.
func preconditions(h *fasthttp.RequestHeader, etag string, mod time.Time) bool {
	if im := listHeader(h, fasthttp.HeaderIfMatch); im != "" {
		return etagListed(im, etag, false)
	}
	if ius := h.Peek(fasthttp.HeaderIfUnmodifiedSince); len(ius) > 0 {
		if t, err := http.ParseTime(string(ius)); err == nil {
			return !mod.Truncate(time.Second).After(t)
		}
	}
	return true
}

// listHeader is the list header name of h, its lines joined: lines of
// one list header are one list (RFC 9110 §5.3), If-None-Match: "a" and
// If-None-Match: "b" the list "a","b".
func listHeader(h *fasthttp.RequestHeader, name string) string {
	vs := h.PeekAll(name)
	if len(vs) == 1 {
		return string(vs[0])
	}
	return string(bytes.Join(vs, []byte(",")))
}

// ifRange reports whether a request's Range applies (RFC 9110 §13.1.5):
// it has no If-Range, or its If-Range is the file's ETag; otherwise the
// whole file is sent. A date never matches: a file's time, to the second
// as Last-Modified gives it, is not a strong validator (the file may
// have changed twice within that second), and a Range whose If-Range is
// not one is ignored.
func ifRange(h *fasthttp.RequestHeader, etag string) bool {
	v := string(h.Peek(fasthttp.HeaderIfRange))
	return v == "" || v == etag
}

// byteRange reads a Range header for a file of size bytes (RFC 9110
// §14.1.2): one range, "bytes=a-b", "bytes=a-" or "bytes=-n" (the unit
// in any case, §14.1), gives its
// start and length (the end cut to the file's); a range that starts past
// the end gives length 0 (416). ok is false for what is sent whole: a
// Range that is malformed, in another unit, or asks for several ranges
// (a server may ignore a Range; one range is what downloads resume and
// media players seek with), and any Range of an empty file.
func byteRange(v string, size int64) (from, n int64, ok bool) {
	unit, spec, found := strings.Cut(v, "=")
	if !found || !strings.EqualFold(unit, "bytes") || size == 0 {
		return 0, 0, false
	}
	// Empty elements of the list are no ranges (RFC 9110 §5.6.1:
	// "bytes=0-4," asks for one).
	var ranges []string
	for _, r := range strings.Split(spec, ",") {
		if r = strings.TrimSpace(r); r != "" {
			ranges = append(ranges, r)
		}
	}
	if len(ranges) != 1 {
		return 0, 0, false
	}
	spec = ranges[0]
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false
	}
	digits := func(s string) (int64, bool) {
		if s == "" || strings.TrimLeft(s, "0123456789") != "" {
			return 0, false
		}
		x, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return math.MaxInt64, true // more digits than any file has bytes
		}
		return x, true
	}
	if first == "" { // the last n bytes
		k, ok := digits(last)
		if !ok {
			return 0, 0, false
		}
		k = min(k, size)
		return size - k, k, true
	}
	a, ok := digits(first)
	if !ok {
		return 0, 0, false
	}
	b := size - 1
	if last != "" {
		if b, ok = digits(last); !ok || b < a {
			return 0, 0, false
		}
		b = min(b, size-1)
	}
	if a >= size {
		return 0, 0, true
	}
	return a, b - a + 1, true
}

// fresh reports whether a request with header h already has the file
// of etag and modification time mod: its If-None-Match names etag (see
// notModified) or, without one, its If-Modified-Since is not before mod
// (to the second).
func fresh(h *fasthttp.RequestHeader, etag string, mod time.Time) bool {
	if inm := listHeader(h, fasthttp.HeaderIfNoneMatch); inm != "" {
		return notModified(inm, etag)
	}
	if ims := h.Peek(fasthttp.HeaderIfModifiedSince); len(ims) > 0 {
		t, err := http.ParseTime(string(ims))
		return err == nil && !mod.Truncate(time.Second).After(t)
	}
	return false
}

// webTypes are the Content-Types of a site's files, the same on every
// machine: the host's MIME tables differ (one knew .webmanifest, .map
// and .avif by none, and served them as octet-stream), and a
// program must answer alike wherever it is deployed. Other extensions
// are the host's (Go's own table, then the system's).
var webTypes = map[string]string{
	".html": "text/html; charset=utf-8", ".htm": "text/html; charset=utf-8",
	".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
	".mjs": "text/javascript; charset=utf-8", ".cjs": "text/javascript; charset=utf-8",
	".json": "application/json",
	".map":  "application/json", ".webmanifest": "application/manifest+json",
	".txt": "text/plain; charset=utf-8", ".md": "text/markdown; charset=utf-8",
	".csv": "text/csv; charset=utf-8", ".xml": "text/xml; charset=utf-8",
	".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
	".gif": "image/gif", ".webp": "image/webp", ".avif": "image/avif", ".ico": "image/x-icon",
	".woff": "font/woff", ".woff2": "font/woff2", ".ttf": "font/ttf", ".otf": "font/otf",
	".wasm": "application/wasm", ".pdf": "application/pdf", ".zip": "application/zip",
	".gz": "application/gzip", ".mp4": "video/mp4", ".webm": "video/webm",
	".mp3": "audio/mpeg", ".wav": "audio/wav", ".ogg": "audio/ogg",
}

// contentType is the Content-Type of a file by its name's extension.
func contentType(name string) string {
	ext := strings.ToLower(filepath.Ext(name))
	if t, ok := webTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}
