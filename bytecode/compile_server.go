package bytecode

import (
	"cmp"
	"fmt"
	"math"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"tova/frontend/ast"
	"tova/frontend/diag"
	"tova/frontend/token"
	"tova/internal/routepath"
	"tova/internal/schedpattern"
)

// Server blocks compile into one Init function per server name (bodies
// of same-name blocks run in source order) plus the static description
// in Program.Servers. Init evaluates handlers, hooks and config values
// into hidden module slots named after what they hold.

func (c *compiler) compileServers(srcs []Source) {
	type group struct {
		name  string
		pos   token.Pos
		file  int
		stmts []ast.Stmt
	}
	var groups []*group
	var shared, lone []ast.Stmt
	var staticBlock ast.Stmt // a top-level static { } block, which serves files alone
	sharedFile := 0
	byName := map[string]*group{}
	topAuth := false // a top-level auth { } block, which serve applies to every server
	topSession := false
	var topAuthBlock *ast.ConfigBlock
	for i, s := range srcs {
		for _, st := range s.File.Stmts {
			if cb, ok := st.(*ast.ConfigBlock); ok && cb.Kind == "auth" {
				topAuth, topAuthBlock = true, cb
			}
			if cb, ok := st.(*ast.ConfigBlock); ok && (cb.Kind == "session" || cb.Kind == "sessions") {
				topSession = true
			}
			if ast.SharedServerDecl(st) {
				if len(shared) == 0 {
					sharedFile = i
				}
				shared = append(shared, st)
				continue
			}
			if cb, ok := st.(*ast.ConfigBlock); ok && cb.Kind == "static" && staticBlock == nil {
				staticBlock = st
				if len(shared) == 0 && len(lone) == 0 {
					sharedFile = i
				}
			}
			if c.implicitServer && ast.LoneServerDecl(st) {
				if len(shared) == 0 && len(lone) == 0 {
					sharedFile = i
				}
				lone = append(lone, st)
				continue
			}
			sd, ok := st.(*ast.ServerDecl)
			if !ok {
				continue
			}
			g := byName[sd.Name]
			if g == nil {
				g = &group{name: sd.Name, pos: sd.PosV, file: i}
				byName[sd.Name] = g
				groups = append(groups, g)
			}
			g.stmts = append(g.stmts, sd.Body...)
		}
	}
	if named, unnamed := byName["server"], byName[""]; named != nil && unnamed != nil {
		c.file, c.fileName = named.file, srcs[named.file].File.Name
		c.warnf(named.pos, `a server named "server" beside the unnamed server: the log lines of both name "server" (--server server selects this one, --server "" the unnamed one); give it another name`)
	}
	// Two names the environment cannot tell apart ("a-b" and "a_b", "api"
	// and "API"): one PORT_<NAME> would set both servers' ports.
	byEnv := map[string]*group{}
	for _, g := range groups {
		if g.name == "" {
			continue
		}
		env := PortEnv(g.name)
		if first := byEnv[env]; first != nil {
			c.file, c.fileName = g.file, srcs[g.file].File.Name
			c.warnf(g.pos, "servers %q and %q both take their port from %s: rename one, so that each can be given its own port", first.name, g.name, env)
			continue
		}
		byEnv[env] = g
	}
	if len(groups) == 0 && (len(shared)+len(lone) > 0 || staticBlock != nil) {
		// A program of HTTP declarations alone is one unnamed server,
		// and so is one of jobs, schedules and subscriptions, or a
		// static { } block alone.
		firsts := append(slices.Clip(shared), lone...)
		if len(firsts) == 0 {
			firsts = []ast.Stmt{staticBlock}
		}
		first := firsts[0].Pos()
		for _, st := range lone {
			if st.Pos().Line < first.Line || st.Pos().Line == first.Line && st.Pos().Col < first.Col {
				first = st.Pos()
			}
		}
		groups = append(groups, &group{pos: first, file: sharedFile, stmts: lone})
	}
	for _, g := range groups {
		c.file = g.file
		c.fileName = srcs[g.file].File.Name
		label := "server"
		if g.name != "" {
			label = "server " + g.name
		}
		f := c.newFunc(nil, label, g.pos, nil)
		srv := &Server{Name: g.name, Pos: Pos{g.pos.Line, g.pos.Col}, Init: len(c.prog.Funcs) - 1, Port: -1}
		c.prog.Servers = append(c.prog.Servers, srv)
		f.srv = srv
		f.shared, f.once = map[ast.Stmt]bool{}, map[string]token.Pos{}
		for _, st := range shared {
			f.shared[st] = true
		}
		body := append(slices.Clip(shared), g.stmts...)
		own := blockOf(body, "auth")
		f.hasAuth = topAuth || own != nil
		f.apiKeyAuth = isAPIKeyBlock(cmp.Or(own, topAuthBlock))
		if !topSession && blockOf(body, "session", "sessions") == nil {
			c.sessionWithoutBlock(body, label)
		}
		f.serverBody(body, "")
		rpcPort(srv, body, c.global)
		f.emit(RETNIL, 0, 0, 0)
		f.finish()
	}
}

// blockOf returns the first config block of one of kinds among stmts
// (in routes groups too), or nil.
func blockOf(stmts []ast.Stmt, kinds ...string) *ast.ConfigBlock {
	for _, st := range stmts {
		switch st := st.(type) {
		case *ast.ConfigBlock:
			if slices.Contains(kinds, st.Kind) {
				return st
			}
		case *ast.RoutesGroup:
			if cb := blockOf(st.Body, kinds...); cb != nil {
				return cb
			}
		}
	}
	return nil
}

// sessionWithoutBlock warns of the first req.session a server's code
// reads when it has no session block: it is nil there, and
// req.session.get(...) failed every request with "cannot call method
// get on nil".
func (c *compiler) sessionWithoutBlock(body []ast.Stmt, label string) {
	var at *ast.Member
	for _, st := range body {
		ast.Inspect(st, func(n any) bool {
			if m, ok := n.(*ast.Member); ok && at == nil && m.Name == "session" {
				if id, ok := m.X.(*ast.Ident); ok && (id.Name == "req" || id.Name == "request") {
					at = m
				}
			}
			return at == nil
		})
	}
	if at != nil {
		c.warnf(at.X.Pos(), "req.session is nil: %s has no session block (session { secret: env(\"SESSION_SECRET\") })", strings.Replace(label, "server", "the server", 1))
	}
}

// isAPIKeyBlock reports whether cb is an auth block that says, as a
// literal, type: "api_key".
func isAPIKeyBlock(cb *ast.ConfigBlock) bool {
	if cb == nil {
		return false
	}
	for _, e := range cb.Entries {
		if lit, ok := e.Value.(*ast.StringLit); ok && e.Key == "type" && lit.Value == "api_key" {
			return true
		}
	}
	return false
}

// authGuard names the guard `with auth` ("auth") or `with
// role("admin")` ("role"), the builtins, not a function of the
// program's of that name, and says where its name is; "" for any other
// guard. Those two authenticate, which only an auth block can do.
func authGuard(g ast.Expr) (string, token.Pos) { return guardNamed(g, true) }

// shadowedAuthGuard is authGuard of a guard named auth or role that is
// the program's own function, not the builtin.
func shadowedAuthGuard(g ast.Expr) (string, token.Pos) { return guardNamed(g, false) }

// guardNamed is the name of a guard `auth` or a call of `role`, and its
// position, when it is the builtin (builtin) or the program's own
// function of that name (!builtin); else "".
func guardNamed(g ast.Expr, builtin bool) (string, token.Pos) {
	id, ok := g.(*ast.Ident)
	want := "auth"
	if call, isCall := g.(*ast.Call); isCall {
		id, ok = call.Fn.(*ast.Ident)
		want = "role"
	}
	if !ok || id.Name != want || id.Binding == nil || (id.Binding.Scope == ast.Builtin) != builtin {
		return "", token.Pos{}
	}
	return want, id.PosV
}

// declaredOnce refuses a second declaration of what a server (or a
// scope of it) has one of: key names it. A declaration written outside
// any server block and one inside a server block are each once in their
// own scope (the server's own wins).
func (f *fstate) declaredOnce(st ast.Stmt, key, msg string) {
	if f.shared[st] || f.sharedGroup {
		// (written outside any server block, in a routes group too: the
		// server's own is not a second one)
		key = "shared " + key
	}
	if first, ok := f.once[key]; ok {
		f.c.errorf(st.Pos(), "%s (first at %d:%d)", msg, first.Line, first.Col)
		return
	}
	f.once[key] = st.Pos()
}

// hiddenSlot makes a module slot for a value the runtime reads.
func (c *compiler) hiddenSlot(name string) int {
	i := len(c.prog.Globals)
	c.prog.Globals = append(c.prog.Globals, name)
	return i
}

func (f *fstate) srvName() string {
	if f.srv == nil || f.srv.Name == "" {
		return "server"
	}
	return f.srv.Name
}

// evalToSlot evaluates e into a new hidden slot.
func (f *fstate) evalToSlot(e ast.Expr, name string) int {
	slot := f.c.hiddenSlot(f.srvName() + ":" + name)
	saved := f.top
	r := f.alloc(1)
	f.exprTo(e, r)
	f.emit(SETG, r, slot, 0)
	f.release(saved)
	return slot
}

// funcToSlot makes a closure of fn in a hidden slot, also storing it in
// its own binding when named.
func (f *fstate) funcToSlot(fn *ast.Function, name string, id *ast.Ident, label string, pos token.Pos) int {
	slot := f.c.hiddenSlot(f.srvName() + ":" + label)
	saved := f.top
	r := f.alloc(1)
	f.closure(fn, name, pos, r)
	f.emit(SETG, r, slot, 0)
	if id != nil && id.Binding != nil {
		f.store(id.Binding, r)
	}
	f.release(saved)
	return slot
}

func posOf(p token.Pos) Pos { return Pos{p.Line, p.Col} }

// checkRoutePath reports a path the router would refuse, where it is
// declared: p is the path joined to its groups' prefixes, own the path as
// written. Inside a group whose prefix was refused, only own is checked,
// so that the prefix's fault is reported once, at the group.
// It reports whether it refused the path.
func (f *fstate) checkRoutePath(pos token.Pos, what, p, own string, check func(string) string) bool {
	if f.badPrefix {
		p = joinPath("/", own)
	}
	if seg := routepath.DotSegment(own); seg != "" && p != own {
		// (joined to a group's prefix, they were resolved: /admin's
		// /../x was /x)
		f.c.errorf(pos, "%s %s: a path in a routes group cannot hold a %q segment: joined to the group's prefix, it would be resolved, to %s", what, shownPath(own), seg, shownPath(p))
		return true
	}
	why := check(p)
	if why != "" {
		shown := shownPath(p)
		if !strings.HasPrefix(p, "/") {
			// (health health: a route path must start with '/')
			shown = strconv.Quote(p)
			why += fmt.Sprintf(" (write %q)", "/"+p)
		}
		f.c.errorf(pos, "%s %s: %s", what, shown, why)
	}
	return why != ""
}

// shownPath is a route path as an error message shows it: as written,
// or quoted with escapes if it holds a character that is not printable
// (a line break would split the message's line, an ESC drive the
// terminal).
func shownPath(p string) string {
	if strings.IndexFunc(p, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return strconv.Quote(p)
	}
	return p
}

// routeShape is a route path with its parameters' names left out
// (/u/:id and /u/:uid are one route, as /a and /a/ are; /v/*rest, one
// segment or more, and /v/*, none or more, are two).
func routeShape(p string) string {
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		switch {
		case strings.HasPrefix(s, ":"):
			segs[i] = ":"
		case s == "*":
		case strings.HasPrefix(s, "*"):
			segs[i] = "*+"
		}
	}
	return strings.Join(segs, "/")
}

func joinPath(prefix, p string) string {
	if prefix == "" {
		return p
	}
	j := path.Join(prefix, p)
	if strings.HasSuffix(p, "/") && !strings.HasSuffix(j, "/") {
		j += "/"
	}
	return j
}

func (f *fstate) serverBody(stmts []ast.Stmt, prefix string) {
	f.predeclare(stmts)
	for _, st := range stmts {
		if td, ok := st.(*ast.TypeDecl); ok {
			f.setPos(td.PosV)
			f.typeDecl(td)
		}
	}
	f.envDecls(stmts)
	f.hoistFuncs(stmts)
	f.implDecls(stmts)
	srv := f.srv
	for _, st := range stmts {
		f.setPos(st.Pos())
		switch st := st.(type) {
		case *ast.PortStmt:
			f.serverWide(st.PosV, "port")
			f.declaredOnce(st, "port", "port declared again for this server")
			f.checkPort(st)
			srv.Port = f.evalToSlot(st.X, "port")
			srv.PortPos = posOf(st.PosV)
		case *ast.RouteDecl:
			p := joinPath(prefix, st.Path)
			f.checkRoutePath(st.PathPos, "route "+st.Method, p, st.Path, routepath.Check)
			f.warnBracedParam(st.PathPos, "route "+st.Method, p, st.Path)
			r := Route{Kind: "route", Method: st.Method, Path: p, Pos: posOf(st.PosV), BodyType: f.c.handlerType(f.typeScope(), st.BodyType), Scope: f.scope}
			name := ""
			if id, ok := st.Handler.(*ast.Ident); ok {
				name = id.Name
			}
			switch h := st.Handler.(type) {
			case *ast.IntLit, *ast.FloatLit, *ast.StringLit, *ast.InterpString, *ast.BoolLit, *ast.NilLit,
				*ast.UnitLit, *ast.ArrayLit, *ast.ObjectLit:
				f.c.errorf(h.Pos(), "route %s %s: a handler is a function, not a value: write `=> fn() ...`", st.Method, shownPath(p))
			}
			f.checkAnnotation(st.BodyType, "body", bodySite)
			f.checkGuardCalls(st, p)
			if fn := f.c.namedHandler(st.Handler); fn != nil {
				f.checkParamTypes(fn)
				f.checkPathParams(st, p, fn)
				f.checkBodyParam(st, p, fn)
				f.warnHandlerHabits(st, p, fn)
				f.c.warnStatusSlips(fn, "a handler")
				f.warnFrameworkParams(st, p, fn)
				f.warnUntypedDefaults(st, p, fn)
				f.warnTextParamComparedToNumber(st, p, fn)
				f.warnRequestTextWithNumber(st, p, fn)
			}
			if lam, ok := st.Handler.(*ast.Lambda); ok {
				f.c.warnStatusSlips(lam.Fn, "a handler")
				f.warnFrameworkParams(st, p, lam.Fn)
				f.warnUntypedDefaults(st, p, lam.Fn)
				f.warnTextParamComparedToNumber(st, p, lam.Fn)
				f.warnRequestTextWithNumber(st, p, lam.Fn)
				f.checkParamTypes(lam.Fn)
				f.checkPathParams(st, p, lam.Fn)
				f.checkBodyParam(st, p, lam.Fn)
				f.warnHandlerHabits(st, p, lam.Fn)
				for _, prm := range lam.Fn.Params {
					if prm.Pattern != nil {
						f.c.errorf(prm.PosV, "route %s %s: a handler's parameters bind by name (path, query, body field), and a destructuring pattern has none: take req and destructure req.body", st.Method, shownPath(p))
					}
				}
				r.Slot = f.funcToSlot(lam.Fn, st.Method+" "+p, nil, "route "+st.Method+" "+p, lam.PosV)
			} else {
				r.Slot = f.evalToSlot(st.Handler, "route "+st.Method+" "+p+" "+name)
			}
			for i, g := range st.Guards {
				fn := f.c.namedHandler(g)
				if lam, ok := g.(*ast.Lambda); ok {
					fn = lam.Fn
				}
				if fn != nil && requiredParams(fn) > 2 {
					f.c.errorf(g.Pos(), "route %s %s: a guard is called with (req, res), and this one takes %d parameters", st.Method, shownPath(p), requiredParams(fn))
				}
				switch g.(type) {
				case *ast.IntLit, *ast.FloatLit, *ast.StringLit, *ast.InterpString, *ast.BoolLit, *ast.NilLit,
					*ast.UnitLit, *ast.ArrayLit, *ast.ObjectLit:
					// (the start refused it, at the route)
					f.c.errorf(g.Pos(), "route %s %s: a guard is a function called with (req, res) (with is_admin), not a value", st.Method, shownPath(p))
				}
				if fn != nil && len(fn.Params) == 2 {
					if nx := fn.Params[1].Name; nx != nil && nx.Name != "res" && nx.Name != "response" {
						// a (req, next) guard: `with logit`, a middleware
						// of one route
						what := "the guard"
						if id, ok := g.(*ast.Ident); ok {
							what += " " + id.Name
						}
						f.c.warnValuelessNextEnd(fn, what)
					}
				}
				if fn != nil {
					what := "the guard"
					if id, ok := g.(*ast.Ident); ok {
						what += " " + id.Name
					}
					f.c.warnIgnoredAnswer(fn, what)
				}
				if fn != nil && guardFallsOpen(fn) {
					f.c.warnf(g.Pos(), "route %s %s: the guard answers true on some paths and nothing on others, and nothing lets the request through: answer false where it refuses (false, Err(...) or None refuse with 403)", st.Method, shownPath(p))
				}
				if name, at := shadowedAuthGuard(g); name != "" && f.hasAuth {
					// (the user's function was called, and the block's
					// token check never ran: a route served unchecked)
					f.c.warnf(at, "route %s %s: with %s calls the program's own %s, not the auth block's check of the token: the route is guarded only as that function checks; give it another name to use the block's", st.Method, shownPath(p), name, name)
				}
				if name, at := authGuard(g); name != "" && !f.hasAuth {
					f.c.errorf(at, "route %s %s: with %s needs an auth { } block on the server (type: \"jwt\" or \"api_key\"); without one the route would not be protected", st.Method, shownPath(p), name)
				} else if name == "role" && f.apiKeyAuth {
					f.c.errorf(at, "route %s %s: with role(...) needs a jwt auth block: an api_key block's req.user is { key }, which has no role, so the route would refuse every request (check the key in a guard of your own instead)", st.Method, shownPath(p))
				}
				r.Guards = append(r.Guards, f.evalToSlot(g, "guard "+p+" "+string(rune('0'+i))))
			}
			// The same route twice: the later serves it, the earlier is
			// dead code (said only when the server started).
			key := "route " + st.Method + " " + routeShape(p)
			if f.shared[st] || f.sharedGroup {
				key = "shared " + key
			}
			if first, again := f.once[key]; again {
				f.c.warnf(st.PosV, "route %s %s declared again (first at %d:%d): this later declaration serves it, and the first is never called", st.Method, shownPath(p), first.Line, first.Col)
			} else {
				f.once[key] = st.PosV
			}
			srv.Routes = append(srv.Routes, r)
		case *ast.RoutesGroup:
			p := joinPath(prefix, st.Prefix)
			f.warnBracedParam(st.PosV, "routes", p, st.Prefix)
			for i, k := range st.MetaKeys {
				// (they were taken without a word, a misspelt one too)
				lk := strings.ToLower(k) // (Auth: true is auth: true)
				if lk != k && slices.Contains(groupMetaKeys, lk) {
					f.c.errorf(st.MetaPos[i], "routes %s: unknown option %s (did you mean %s? options are written in lower case)", shownPath(p), k, lk)
					continue
				}
				if lk == "auth" || lk == "role" || lk == "roles" {
					// (a warning left the whole group open to everyone)
					f.c.errorf(st.MetaPos[i], "routes %s: %s is no option of a group, and its routes would not be protected: write `with auth` (or `with role(\"admin\")`) on each of them, or check in a middleware of the group", shownPath(p), k)
					continue
				}
				if slices.Contains(groupGuardKeys, lk) {
					// (guard: is_admin was warned of as having no effect,
					// and the group served to everyone)
					f.c.errorf(st.MetaPos[i], "routes %s: %s is no option of a group, and its routes would not be guarded: write `with name` on each of them, or declare a middleware in the group (middleware fn check(req, next) { ... })", shownPath(p), k)
					continue
				}
				if slices.Contains(groupMetaKeys, k) {
					f.c.warnf(st.MetaPos[i], "routes %s: %s is not applied by this runtime: it has no effect (no API version, Deprecation or Sunset headers)", shownPath(p), k)
				} else {
					// (an error: authenticated: true, require_auth: ... were
					// warned of, and the group served to everyone)
					if near := diag.Closest(strings.ToLower(k), groupMetaKeys); near != "" {
						// (a misspelt option: no advice on guarding)
						f.c.errorf(st.MetaPos[i], "routes %s: unknown option %s (did you mean %s?)", shownPath(p), k, near)
						continue
					}
					f.c.errorf(st.MetaPos[i], "routes %s: unknown option %s (a group's options are %s): it would have no effect; to guard the group's routes, write `with name` on each of them, or declare a middleware in the group", shownPath(p), k, strings.Join(groupMetaKeys, ", "))
				}
			}
			outer, outerGroup, outerShared, outerScope, outerGuarded := f.badPrefix, f.group, f.sharedGroup, f.scope, f.guarded
			bad := f.checkRoutePath(st.PosV, "routes", p, st.Prefix, routepath.CheckPrefix)
			f.badPrefix, f.group, f.sharedGroup = outer || bad, &p, outerShared || f.shared[st]
			for _, b := range st.Body {
				if h, ok := b.(*ast.HookDecl); ok && h.Kind == "middleware" && f.guarded == "" {
					f.guarded = "its middleware"
					if h.Name != nil {
						f.guarded = "middleware " + h.Name.Name
					}
				}
			}
			f.groups++
			if f.scope = strconv.Itoa(f.groups); outerScope != "" {
				f.scope = outerScope + "." + f.scope
			}
			f.serverBody(st.Body, p)
			f.badPrefix, f.group, f.sharedGroup, f.scope, f.guarded = outer, outerGroup, outerShared, outerScope, outerGuarded
		case *ast.HookDecl:
			if st.Kind == "background" {
				f.serverWide(st.PosV, "background fn")
				for _, prm := range st.Fn.Params {
					if prm.Name != nil {
						// (its typed parameters convert a job's arguments
						// as a handler's do its request's: a default not
						// of its type was taken as it is)
						f.checkParamDefault(prm)
					}
				}
			}
			if st.Kind == "on_start" || st.Kind == "on_stop" {
				f.serverWide(st.PosV, st.Kind)
				if n := requiredParams(st.Fn); n > 0 {
					f.c.errorf(st.PosV, "%s takes no parameters, not %d (it runs with no request)", st.Kind, n)
				}
			}
			if st.Kind == "on_error" {
				f.declaredOnce(st, "on_error "+f.scope, "on_error declared again for the same routes (only one would run)")
			}
			if n := len(st.Fn.Params); st.Kind == "middleware" && n != 2 || st.Kind == "on_error" && (n < 1 || n > 3) {
				shapes := "(req, next) or (req, res)"
				if st.Kind == "on_error" {
					shapes = "(err), (err, req) or (err, req, res)"
				}
				f.c.errorf(st.PosV, "%s takes %s, not %d parameter(s)", st.Kind, shapes, n)
			}
			if st.Kind == "middleware" && len(st.Fn.Params) == 2 {
				// (req, next) that never calls next: every request of its
				// routes answers what it returns (nil: null, 200).
				if nx := st.Fn.Params[1].Name; nx != nil && nx.Name != "res" && nx.Name != "response" && (nx.Name == "_" || nx.Binding != nil && !nx.Binding.Read) {
					call := nx.Name
					if call == "_" {
						call = "next" // (a parameter _ cannot be called)
					}
					f.c.warnf(nx.PosV, "middleware never calls %s: no handler runs, every request it sees is answered with what it returns (call %s(req), or name the parameter res for the (req, res) shape)", nx.Name, call)
				} else if nx != nil && slices.Contains([]string{"resp", "rsp", "r"}, nx.Name) && readsField(st.Fn.Body, nx.Binding) && !calls(st.Fn.Body, nx.Binding) {
					// (resp.setHeader failed every request with 500; r(req)
					// is next as meant)
					f.c.warnf(nx.PosV, "middleware's second parameter %s is next, the rest of the chain, as any name but res and response is: name it res for the (req, res) shape", nx.Name)
				} else {
					f.c.warnValuelessNextEnd(st.Fn, "middleware")
				}
				f.c.warnStatusSlips(st.Fn, "a middleware")
				f.c.warnIgnoredAnswer(st.Fn, "the middleware")
			}
			name := ""
			if st.Name != nil {
				name = st.Name.Name
			}
			var slot int
			if st.Kind == "background" && f.c.implicitServer && st.Name != nil && st.Name.Binding != nil {
				// The function the top-level code bound already
				// (hoistFuncs), one value whoever names it.
				slot = f.evalToSlot(st.Name, st.Kind+" "+name)
			} else {
				frame := name
				if frame == "" && (st.Kind == "on_start" || st.Kind == "on_stop" || st.Kind == "on_error") {
					frame = st.Kind // its frame in a stack trace
				}
				slot = f.funcToSlot(st.Fn, frame, st.Name, st.Kind+" "+name, st.PosV)
			}
			srv.Hooks = append(srv.Hooks, Hook{Kind: st.Kind, Name: name, Arg: prefix, Scope: f.scope, Slot: slot, Pos: posOf(st.PosV)})
		case *ast.HealthDecl:
			checks := &ast.ArrayLit{PosV: st.PosV}
			for _, ch := range st.Checks {
				checks.Elems = append(checks.Elems, &ast.StringLit{PosV: st.PosV, Value: ch})
			}
			p := joinPath(prefix, st.Path)
			f.checkRoutePath(st.PosV, "health", p, st.Path, routepath.Check)
			f.warnBracedParam(st.PosV, "health", p, st.Path)
			slot := f.evalToSlot(checks, "health "+st.Path)
			srv.Routes = append(srv.Routes, Route{Kind: "health", Method: "GET", Path: p, Slot: slot, Scope: f.scope, Pos: posOf(st.PosV)})
		case *ast.ConfigBlock:
			entries := st.Entries
			if prefixed, ok := prefixStatic(st, prefix); ok {
				entries = prefixed
				f.unguardedStatic(st.PosV, prefix)
			} else {
				f.serverWide(st.PosV, st.Kind)
			}
			if st.Kind != "static" { // several serve, each under its own prefix (checked at start-up)
				key := st.Kind
				switch key {
				case "sessions":
					key = "session" // (one setting, of either name)
				case "uploads":
					key = "upload"
				}
				f.declaredOnce(st, "config "+key, st.Kind+" declared again for this server (only the last would count: write one block)")
			}
			f.checkConfigKeys(st)
			slot := f.evalToSlot(&ast.ObjectLit{PosV: st.PosV, Entries: entries}, st.Kind)
			srv.Configs = append(srv.Configs, Config{Kind: st.Kind, Slot: slot, Pos: posOf(st.PosV), Keys: configKeys(entries)})
		case *ast.MaxBodyStmt:
			f.serverWide(st.PosV, "max_body")
			f.declaredOnce(st, "max_body", "max_body declared again for this server")
			f.checkMaxBody(st)
			slot := f.evalToSlot(st.X, "max_body")
			srv.Configs = append(srv.Configs, Config{Kind: "max_body", Slot: slot, Pos: posOf(st.PosV)})
		case *ast.StaticDecl:
			f.unguardedStatic(st.PosV, prefix)
			obj := &ast.ObjectLit{PosV: st.PosV, Entries: []*ast.ObjEntry{
				{PosV: st.PosV, Key: "prefix", Value: &ast.StringLit{PosV: st.PosV, Value: joinPath(prefix, st.Prefix)}},
				{PosV: st.PosV, Key: "dir", Value: st.Dir},
				{PosV: st.PosV, Key: "fallback", Value: &ast.StringLit{PosV: st.PosV, Value: st.Fallback}},
			}}
			slot := f.evalToSlot(obj, "static "+st.Prefix)
			srv.Configs = append(srv.Configs, Config{Kind: "static", Slot: slot, Pos: posOf(st.PosV)})
		case *ast.WebSocketDecl:
			obj := &ast.ObjectLit{PosV: st.PosV}
			for _, name := range st.Order {
				obj.Entries = append(obj.Entries, &ast.ObjEntry{PosV: st.PosV, Key: name, Value: &ast.Lambda{PosV: st.PosV, Fn: st.Handlers[name]}})
			}
			obj.Entries = append(obj.Entries, st.Config...)
			// (auth: true … auth: false, or on_open fn and on_open: too:
			// only the last counted, silently)
			f.checkEntryKeys("websocket", " in this block", obj.Entries, false)
			own := st.Path
			if own == "" {
				own = "/*" // `ws { … }`: the reference's any path
			}
			p := joinPath(prefix, own)
			f.checkRoutePath(st.PosV, "websocket", p, own, routepath.Check)
			slot := f.evalToSlot(obj, "websocket "+p)
			f.c.warnf(st.PosV, "websocket %s: this runtime does not serve WebSockets yet: the block has no effect (an upgrade request to %s is answered as any request is: 404, or by a GET route of that path)", shownPath(p), shownPath(p))
			srv.Routes = append(srv.Routes, Route{Kind: "websocket", Method: "GET", Path: p, Slot: slot, Scope: f.scope, Pos: posOf(st.PosV)})
		case *ast.SSEDecl:
			p := joinPath(prefix, st.Path)
			f.checkRoutePath(st.PosV, "sse", p, st.Path, routepath.Check)
			slot := f.funcToSlot(st.Fn, "sse "+p, nil, "sse "+p, st.PosV)
			f.c.warnf(st.PosV, "sse %s: this runtime does not serve server-sent events yet: the block has no effect (GET %s answers 404)", shownPath(p), shownPath(p))
			srv.Routes = append(srv.Routes, Route{Kind: "sse", Method: "GET", Path: p, Slot: slot, Scope: f.scope, Pos: posOf(st.PosV)})
		case *ast.ScheduleDecl:
			arg := st.Cron
			if arg == "" {
				arg = st.Pattern
			}
			if n := requiredParams(st.Fn); n > 0 {
				// (each tick called it with none: they were nil)
				f.c.errorf(st.PosV, "a schedule's function takes no parameters, not %d (it runs with no request and no arguments)", n)
			}
			name := st.Name
			if name == "" {
				name = st.Fn.Name
			}
			if name == "" {
				// Unnamed: known by its pattern, and a second one of the
				// same pattern by its place among them ("30s #2"), as
				// the reference runs both.
				if f.unnamed == nil {
					f.unnamed = map[string]int{}
				}
				f.unnamed[arg]++
				name = arg
				if n := f.unnamed[arg]; n > 1 {
					name = fmt.Sprintf("%s #%d", arg, n)
				}
			}
			f.serverWide(st.PosV, "schedule")
			if st.Cron != "" && strings.TrimSpace(st.Name) == "" {
				// it would run, but nothing could name it: the logs,
				// tova jobs and the declared-once check go by the name
				f.c.errorf(st.PosV, "schedule %q: the name is empty (write schedule \"cleanup\" cron(\"…\") { … })", st.Name)
			}
			f.declaredOnce(st, "schedule "+name, fmt.Sprintf("schedule %q declared again in this server (only one would run)", name))
			if _, _, err := schedpattern.Parse(arg); err != nil {
				f.c.errorf(st.ArgPos, "schedule %q: %v", name, err)
			}
			slot := f.funcToSlot(st.Fn, name, st.FnName, "schedule "+name, st.PosV)
			srv.Hooks = append(srv.Hooks, Hook{Kind: "schedule", Name: name, Arg: arg, Slot: slot, Pos: posOf(st.PosV)})
		case *ast.SubscribeDecl:
			f.serverWide(st.PosV, "subscribe")
			if strings.TrimSpace(st.Topic) == "" {
				f.c.errorf(st.PosV, "subscribe needs a topic, the name publish sends its events under: subscribe \"user_created\" fn(user) { ... }")
			}
			if n := requiredParams(st.Fn); n > 1 {
				// (publish(topic, data) sends one value: the others
				// were always nil)
				f.c.errorf(st.PosV, "a subscriber takes the event's data, one parameter, not %d: publish(topic, data) sends one value (an object, for several)", n)
			}
			frame := "subscribe " + st.Topic
			if st.Name != nil {
				frame += " fn " + st.Name.Name // its frame in a stack trace
			}
			slot := f.funcToSlot(st.Fn, frame, nil, "subscribe "+st.Topic, st.PosV)
			name := ""
			if st.Name != nil {
				name = st.Name.Name // what keeps a pending delivery to it across versions
				for _, h := range srv.Hooks {
					if h.Kind == "subscribe" && h.Arg == st.Topic && h.Name == name {
						f.c.errorf(st.Name.PosV, "subscribe %q: a subscriber named %s is declared already for this topic (at %d:%d): "+
							"each subscriber of a topic needs its own name, which its deliveries go by", st.Topic, name, h.Pos.Line, h.Pos.Col)
					}
				}
			}
			srv.Hooks = append(srv.Hooks, Hook{Kind: "subscribe", Name: name, Arg: st.Topic, Slot: slot, Pos: posOf(st.PosV)})
		case *ast.DiscoverDecl:
			f.serverWide(st.PosV, "discover")
			entries := append([]*ast.ObjEntry{}, st.Config...)
			if st.URL != nil {
				entries = append(entries, &ast.ObjEntry{PosV: st.PosV, Key: "url", Value: st.URL})
			}
			f.checkEntryKeys("discover "+strconv.Quote(st.Name), "", entries, true)
			slot := f.evalToSlot(&ast.ObjectLit{PosV: st.PosV, Entries: entries}, "discover "+st.Name)
			srv.Configs = append(srv.Configs, Config{Kind: "discover", Name: st.Name, Slot: slot, Pos: posOf(st.PosV), Keys: configKeys(entries)})
		case *ast.ModelDecl:
			f.modelDecl(st)
		case *ast.FnDecl:
			if st.RPC {
				f.rpcHook(st)
			}
		case *ast.EnvDecl:
			f.envDecl(st)
		case *ast.TypeDecl, *ast.ImplDecl, *ast.TraitDecl:
			// handled above
		case *ast.ServerDecl:
			f.c.errorf(st.PosV, "server blocks cannot be nested")
		case *ast.DataBlock:
			f.c.errorf(st.PosV, "data blocks belong at top level")
		case *ast.Assign:
			f.settingAssigned(st)
			f.stmt(st)
		default:
			f.stmt(st)
		}
	}
}

// settingWords are the server declarations that `name = value` in a
// server block is easily mistaken for, with how each is written.
var settingWords = map[string]string{
	"port": "port 8080", "max_body": "max_body 5.megabytes", "host": "tova serve --host",
	"cors": "cors { origins: [...] }", "rate_limit": "rate_limit { max: 100, window: 1.minute }",
	"cache": "cache { ... }", "limits": "limits { timeout: 10.seconds }", "tls": "tls { ... }",
	"session": "session { ... }", "sessions": "sessions { ... }", "auth": "auth { ... }",
	"compression": "compression { ... }", "http": "http { ... }", "upload": "upload { ... }",
	"uploads": "uploads { ... }", "static": `static "/public" => "./public"`, "jobs": "jobs { ... }",
	"db": `db { adapter: "sqlite", database: "app.db" }`,
}

// settingAssigned warns of `port = 8080` (or `cors = {...}`) in a server
// block that nothing reads: it declares a variable of that name, and the
// server takes no port (or CORS) from it.
func (f *fstate) settingAssigned(a *ast.Assign) {
	if a.Op != "=" || len(a.Targets) != 1 || len(a.Declares) != 1 || !a.Declares[0] {
		return
	}
	b, ok := a.Targets[0].(*ast.PBind)
	if !ok || b.Name.Binding == nil || b.Name.Binding.Read {
		return
	}
	if how, ok := settingWords[b.Name.Name]; ok {
		if lit, isInt := a.Values[0].(*ast.IntLit); isInt && len(a.Values) == 1 && b.Name.Name == "port" {
			how = fmt.Sprintf("port %d", lit.Value) // (the program's own port)
		} else if u, isUnit := a.Values[0].(*ast.UnitLit); isUnit && len(a.Values) == 1 && b.Name.Name == "max_body" {
			if n, ok := u.Number.(*ast.IntLit); ok {
				unit := u.Unit
				if n.Value != 1 && !strings.HasSuffix(unit, "s") {
					unit += "s"
				}
				how = fmt.Sprintf("max_body %d.%s", n.Value, unit)
			}
		}
		f.c.warnf(b.Name.PosV, "%s = ... declares a variable named %s, which nothing reads: it sets nothing of the server (write %s)",
			b.Name.Name, b.Name.Name, how)
	}
}

// checkConfigKeys refuses a key set twice in one config block
// (`limits { timeout: 5.seconds, timeout: 200 }`): only the last would
// count, and nothing would say so.
func (f *fstate) checkConfigKeys(st *ast.ConfigBlock) {
	if !AppliedConfigs[st.Kind] {
		// (serve warns of a block it does not apply, too, when it starts;
		// one misspelt is caught here, at compile time)
		c := diag.Closest(st.Kind, appliedConfigKinds)
		if lower := strings.ToLower(st.Kind); AppliedConfigs[lower] {
			c = lower // CORS { }
		}
		if meant := foreignBlocks[strings.ToLower(st.Kind)]; c == "" && meant != "" {
			// (database { }: "declaration not applied" at start-up, and
			// the models on another database)
			f.c.warnf(st.PosV, "unknown block %s: this runtime applies no block of that name, so it has no effect: %s", st.Kind, meant)
		} else if c != "" {
			f.c.warnf(st.PosV, "unknown block %s: this runtime applies no block of that name, so it has no effect (did you mean %s?)", st.Kind, c)
		}
	}
	f.checkEntryKeys(st.Kind, " in this block", st.Entries, false)
	if KeyCheck != nil {
		for _, e := range st.Entries {
			if e.Key == "" || e.Value == nil {
				continue
			}
			if msg, fatal := KeyCheck(st.Kind, e.Key); fatal {
				f.c.errorf(e.Pos(), "%s", msg)
			} else if msg != "" {
				f.c.warnf(e.Pos(), "%s", msg)
			}
		}
	}
	if st.Kind == "db" {
		f.checkDbBlock(st)
	}
	if st.Kind == "rate_limit" {
		for _, e := range st.Entries {
			if e.Key != "key" {
				continue
			}
			fn := f.c.namedHandler(e.Value)
			if lam, ok := e.Value.(*ast.Lambda); ok {
				fn = lam.Fn
			}
			if fn != nil && requiredParams(fn) > 1 {
				// (the second was nil at every request: one key for all)
				f.c.errorf(e.Value.Pos(), "rate_limit.key is called with the request alone (key: fn(req) req.ip), and this one takes %d parameters", requiredParams(fn))
			}
		}
	}
}

// checkDbBlock refuses a literal db setting the store would refuse when
// the program starts, in the store's words, at the value: an adapter
// other than sqlite or postgres, a database, path or url that is not a
// String. (A value from env is checked at start-up.)
func (f *fstate) checkDbBlock(st *ast.ConfigBlock) {
	hasAdapter := slices.ContainsFunc(st.Entries, func(e *ast.ObjEntry) bool { return e.Key == "adapter" })
	for _, e := range st.Entries {
		if !slices.Contains([]string{"adapter", "driver", "database", "path", "url"}, e.Key) || e.Key == "driver" && hasAdapter {
			continue // (the store reads driver, the reference's name, only without an adapter)
		}
		v, ok := literal(e.Value)
		if !ok || v == nil {
			continue
		}
		s, isString := v.(string)
		switch {
		case !isString:
			f.c.errorf(e.Value.Pos(), "db.%s must be a String, got %s", e.Key, literalTypeName(v))
		case e.Key == "adapter" || e.Key == "driver":
			if !slices.Contains([]string{"sqlite", "sqlite3", "postgres", "postgresql", "pg", ""}, strings.ToLower(s)) {
				f.c.errorf(e.Value.Pos(), "db.%s must be \"sqlite\" or \"postgres\", got %q", e.Key, s)
			}
		}
	}
}

// literalTypeName is the Tova type of a literal's value.
func literalTypeName(v any) string {
	switch v.(type) {
	case int64:
		return "Int"
	case float64:
		return "Float"
	case bool:
		return "Bool"
	}
	return "String"
}

// AppliedConfigs are the config blocks the runtime applies: serve reads
// max_body, http, limits, tls, cache, static, cors, rate_limit,
// session(s), upload(s), auth, discover, compression and security (its
// trust_proxy), store reads db,
// jobs reads jobs. A block of another kind is accepted (later versions
// apply more): serve warns of it when the program starts, and the
// compiler of one whose name is close to one of these.
var AppliedConfigs = map[string]bool{"max_body": true, "http": true, "limits": true, "db": true, "jobs": true, "cache": true,
	"static": true, "cors": true, "rate_limit": true, "session": true, "sessions": true, "tls": true, "upload": true, "uploads": true,
	"auth": true, "discover": true, "compression": true, "security": true}

// KeyCheck, when set (package serve sets it, with the keys it reads),
// judges a key written in a config block of kind: "" for a key the
// runtime knows (or one its value decides of, at start-up), else what
// is wrong with it, and whether the server would refuse to start.
var KeyCheck func(kind, key string) (msg string, fatal bool)

// foreignBlocks are the names other frameworks give settings, with the
// block this runtime applies.
var foreignBlocks = map[string]string{
	"database": "a database is the db block, db { database: \"app.db\" }", "sqlite": "a database is the db block, db { database: \"app.db\" }",
	"postgres": "a database is the db block, db { url: env(\"DATABASE_URL\") }", "postgresql": "a database is the db block, db { url: env(\"DATABASE_URL\") }",
	"config":   "a server's settings are blocks of their own: port 3000, limits { timeout: 10.seconds }, cors { origins: [...] }",
	"settings": "a server's settings are blocks of their own: port 3000, limits { timeout: 10.seconds }, cors { origins: [...] }",
	"ssl":      "HTTPS is the tls block, tls { cert: \"cert.pem\", key: \"key.pem\" }", "https": "HTTPS is the tls block, tls { cert: \"cert.pem\", key: \"key.pem\" }",
	"gzip": "the compression block, compression { min_size: 1.kilobyte }", "cookies": "a session cookie is the session block, session { secret: env(\"SESSION_SECRET\") }",
	"throttle": "the rate_limit block, rate_limit { max: 100, window: 1.minute }", "ratelimit": "the rate_limit block, rate_limit { max: 100, window: 1.minute }",
	"jwt": "tokens are the auth block, auth { secret: env(\"AUTH_SECRET\") }",
}

var appliedConfigKinds = func() []string {
	var out []string
	for k := range AppliedConfigs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}()

// checkEntryKeys refuses a key set twice among a declaration's entries
// (`discover "w" { url: a, url: b }`) and, when nested, in the object
// literals they hold (`circuit_breaker: { failure_threshold: 3,
// failure_threshold: 5 }`): only the last would count, and nothing would
// say so. The message names what (and where, after "set twice").
func (f *fstate) checkEntryKeys(what, where string, entries []*ast.ObjEntry, nested bool) {
	seen := map[string]token.Pos{}
	for _, e := range entries {
		if e.Key == "" {
			continue // a spread or a computed key: known when it runs
		}
		if first, dup := seen[e.Key]; dup {
			f.c.errorf(e.PosV, "%s: %s set twice%s (first at %d:%d)", what, e.Key, where, first.Line, first.Col)
			continue
		}
		seen[e.Key] = e.PosV
		if o, ok := e.Value.(*ast.ObjectLit); ok && nested {
			f.checkEntryKeys(what+" "+e.Key, where, o.Entries, true)
		}
	}
}

// configKeys are where a block's keys have their values (nested
// objects' keys too, as "cors.x.y" would be named: "x.y"), for the
// runtime's start-up errors.
func configKeys(entries []*ast.ObjEntry) []ConfigKey {
	var out []ConfigKey
	var walk func(prefix string, es []*ast.ObjEntry)
	walk = func(prefix string, es []*ast.ObjEntry) {
		for _, e := range es {
			if e.Key == "" || e.Value == nil {
				continue
			}
			out = append(out, ConfigKey{Name: prefix + e.Key, Pos: posOf(ast.StartOf(e.Value))})
			if o, ok := e.Value.(*ast.ObjectLit); ok {
				walk(prefix+e.Key+".", o.Entries)
			}
		}
	}
	walk("", entries)
	return out
}

// builtinTypes are the type names an annotation may use besides the
// program's own types.
var builtinTypes = []string{"Any", "Bool", "Date", "Duration", "Float", "Function", "Int", "List", "Map",
	"Nil", "Number", "Object", "Option", "Result", "Size", "String"}

// checkParamTypes checks the annotations of a handler's parameters
// (req and res are given, not converted).
func (f *fstate) checkParamTypes(fn *ast.Function) {
	for _, prm := range fn.Params {
		if prm.Name != nil && !slices.Contains([]string{"req", "res", "request", "response"}, prm.Name.Name) {
			f.checkAnnotation(prm.Type, prm.Name.Name, paramSite)
			f.checkParamDefault(prm)
		}
	}
}

// checkParamDefault checks a handler parameter's literal default
// against its annotation: the handler gets the default as written when
// the request does not give the parameter, unconverted (`d: Duration =
// 5000` was the Int 5000, and `d > 1.second` failed with 500, where
// `?d=5000` gave 5 seconds).
func (f *fstate) checkParamDefault(prm *ast.Param) {
	t, d := prm.Type, prm.Default
	if t == nil || d == nil {
		return
	}
	if negativeSize(d) {
		// (negating a Size is a TypeError: every request leaving the
		// parameter out failed with 500)
		f.c.errorf(prm.Default.Pos(), "the default of %s: a Size is never negative", prm.Name.Name)
		return
	}
	if (t.Name == "?" || t.Name == "Option") && len(t.Args) == 1 && t.Args[0].Name == "Date" {
		// since: Date? = Some("2024-01-01"): the handler got the String
		// in its Some, as a Date's plain default (it was warned to
		// write exactly that)
		lit := d
		if c, ok := d.(*ast.Call); ok && len(c.Args) == 1 {
			if id, ok := c.Fn.(*ast.Ident); ok && id.Name == "Some" {
				lit = c.Args[0].Value
			}
		}
		if got := literalType(lit); got != "" {
			shown := typeString(t)
			if t.Name == "?" {
				shown = "Date?"
			}
			f.c.errorf(prm.Default.Pos(), "the default of %s: %s holds %s, not a Date: write Some(Date.new(%s))", prm.Name.Name, shown, articled(got), literalText(lit))
			return
		}
	}
	if u, ok := d.(*ast.Unary); ok && u.Op == "-" {
		d = u.X // (-1.5 is a Float literal too)
	}
	got := literalType(d)
	switch {
	case got != "" && t.Name == "Date":
		// The handler got the literal as it is, no Date: since.getTime()
		// failed with 500 where ?since=2024-01-01 gave a Date.
		hint := ""
		if got == "String" {
			hint = ": write Date.new(" + literalText(prm.Default) + ")"
		}
		f.c.errorf(prm.Default.Pos(), "the default of %s: Date is %s, not a Date%s", prm.Name.Name, articled(got), hint)
		return
	case got != "" && t.Name == "[]":
		f.c.errorf(prm.Default.Pos(), "the default of %s: %s is %s, not a list", prm.Name.Name, typeString(t), articled(got))
		return
	}
	if got == "Duration" || got == "Size" {
		if want := t.Name; want != got && want != "?" && want != "Option" {
			f.c.errorf(prm.Default.Pos(), "the default of %s: %s is %s, not %s", prm.Name.Name, typeString(t), articled(got), articled(want))
		}
		return
	}
	if got == "" {
		return
	}
	name := prm.Name.Name
	switch want := t.Name; {
	case want == "?" || want == "Option":
		shown := typeString(t)
		if want == "?" && len(t.Args) == 1 {
			shown = typeString(t.Args[0]) + "?"
		}
		f.c.warnf(prm.Default.Pos(), "the default of %s: %s is %s as it is, not an Option: a handler gets it unwrapped when the request leaves %s out, and Some(value) when it gives it; write Some(%s) (or None)", name, shown, literalText(prm.Default), name, literalText(prm.Default))
	case (want == "Duration" || want == "Size") && got != want:
		f.c.errorf(prm.Default.Pos(), "the default of %s: %s is %s, not a %s: write it with its unit (%s)", name, want, articled(got), want, map[string]string{"Duration": "5.seconds, 500.milliseconds", "Size": "1.megabyte, 512.kilobytes"}[want])
	case want == "Int" || want == "Float" || want == "String" || want == "Bool":
		if got != want && !(want == "Float" && got == "Int") && !wholeFloat(want, d) {
			f.c.errorf(prm.Default.Pos(), "the default of %s: %s is %s, not %s", name, want, articled(got), articled(want))
		}
	}
}

// literalText is a literal (maybe negated) as written, for a message.
func literalText(e ast.Expr) string {
	neg := ""
	if u, ok := e.(*ast.Unary); ok && u.Op == "-" {
		neg, e = "-", u.X
	}
	switch e := e.(type) {
	case *ast.IntLit:
		return neg + strconv.FormatInt(e.Value, 10)
	case *ast.FloatLit:
		return neg + strconv.FormatFloat(e.Value, 'g', -1, 64)
	case *ast.StringLit:
		return strconv.Quote(e.Value)
	case *ast.BoolLit:
		return strconv.FormatBool(e.Value)
	}
	return "the value"
}

// articled is a type's name with its article (an Int, a String).
func articled(typ string) string {
	if strings.ContainsRune("AEIOU", rune(typ[0])) {
		return "an " + typ
	}
	return "a " + typ
}

// isTypeName reports whether s is an identifier starting with an upper
// case letter.
func isTypeName(s string) bool {
	for i, r := range s {
		if i == 0 && !unicode.IsUpper(r) || !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' {
			return false
		}
	}
	return s != ""
}

// guardFallsOpen reports whether a guard's body answers true on some
// path and nothing on another (`if is_admin(req) { true }`): a guard that
// answers nothing lets the request through, as a hook does, so the one
// written to refuse by saying no more refuses nothing.
func guardFallsOpen(fn *ast.Function) bool {
	var yes, open bool
	var walk func(e ast.Expr)
	block := func(b *ast.Block) {
		if b == nil || len(b.Stmts) == 0 {
			open = true
			return
		}
		switch st := b.Stmts[len(b.Stmts)-1].(type) {
		case *ast.ExprStmt:
			walk(st.X)
		case *ast.Return:
			if st.X == nil {
				open = true
			} else {
				walk(st.X)
			}
		}
	}
	walk = func(e ast.Expr) {
		switch e := e.(type) {
		case *ast.Block:
			block(e)
		case *ast.If:
			block(e.Then)
			for _, el := range e.Elifs {
				block(el.Body)
			}
			if e.Else == nil {
				open = true
			} else {
				block(e.Else)
			}
		case *ast.Match:
			for _, arm := range e.Arms {
				walk(arm.Body)
			}
		case *ast.BoolLit:
			yes = yes || e.Value
		case *ast.NilLit:
			open = true
		}
	}
	block(fn.Body)
	return yes && open
}

// requiredParams counts fn's parameters that have no default and do not
// collect the rest: those a caller must give.
func requiredParams(fn *ast.Function) int {
	n := 0
	for _, p := range fn.Params {
		if p.Default == nil && !p.Rest {
			n++
		}
	}
	return n
}

// namedHandler returns the function a handler names (`=> create_user`)
// when a `fn` declaration of the program binds that name, or an
// immutable binding of a lambda (`g = fn(...)`) or of another such name
// (`h = g`), else nil.
func (c *compiler) namedHandler(h ast.Expr) *ast.Function {
	c.indexDecls()
	// `h = g`, `g = f`: follow the names, 16 at most (a cycle ends there).
	for range 16 {
		id, ok := h.(*ast.Ident)
		if !ok || id.Binding == nil {
			return nil
		}
		// (a free variable: the declaration it captures)
		at := fnAt{c.file, outermost(id.Binding).Decl}
		if fn := c.fnDecls[at]; fn != nil {
			return fn
		}
		next := c.fnNames[at]
		if next == nil {
			return nil
		}
		h = next
	}
	return nil
}

// aliasOf returns what a `type Name = T` declaration of the program
// makes Name stand for (its refinement, `where {...}`, aside), or nil.
func (c *compiler) aliasOf(name string) *ast.TypeExpr {
	c.indexDecls()
	return c.aliases[name]
}

// indexDecls records, once, every fn declaration and immutable binding
// of a lambda (for namedHandler) and type alias (for aliasOf) of the
// program, at top level, in servers and in routes groups, and the type
// declarations of each scope there (for visibleType).
func (c *compiler) indexDecls() {
	if c.fnDecls != nil {
		return
	}
	c.fnDecls, c.aliases, c.fnNames = map[fnAt]*ast.Function{}, map[string]*ast.TypeExpr{}, map[fnAt]*ast.Ident{}
	c.implFns, c.traitImpls = map[string][]*ast.Function{}, map[string][]string{}
	c.typesIn, c.declScope, c.models = map[typeScope]map[string]*ast.TypeDecl{}, map[ast.Stmt]typeScope{}, map[string]bool{}
	var walk func(file int, stmts []ast.Stmt, sc typeScope)
	walk = func(file int, stmts []ast.Stmt, sc typeScope) {
		for _, st := range stmts {
			switch st := st.(type) {
			case *ast.FnDecl:
				c.fnDecls[fnAt{file, st.Name.PosV}] = st.Fn
			case *ast.Assign:
				// `g = fn(req, res) ...`: an immutable binding that holds
				// its lambda for good.
				if len(st.Targets) == 1 && len(st.Values) == 1 && st.Op == "=" && len(st.Declares) == 1 && st.Declares[0] {
					if b, ok := st.Targets[0].(*ast.PBind); ok {
						switch v := st.Values[0].(type) {
						case *ast.Lambda:
							c.fnDecls[fnAt{file, b.Name.PosV}] = v.Fn
						case *ast.Ident: // `h = g`, followed by namedHandler
							c.fnNames[fnAt{file, b.Name.PosV}] = v
						}
					}
				}
			case *ast.TypeDecl:
				if st.Alias != nil {
					c.aliases[st.Name.Name] = st.Alias
				}
				if c.typesIn[sc] == nil {
					c.typesIn[sc] = map[string]*ast.TypeDecl{}
				}
				if _, dup := c.typesIn[sc][st.Name.Name]; !dup { // (a second one is an error of the resolver)
					c.typesIn[sc][st.Name.Name] = st
				}
				c.declScope[st] = sc
			case *ast.ModelDecl:
				c.declScope[st] = sc
				c.models[st.Name.Name] = true
			case *ast.ServerDecl:
				walk(file, st.Body, typeScope{server: true, name: st.Name})
			case *ast.RoutesGroup:
				walk(file, st.Body, sc)
			case *ast.DataBlock:
				c.dataBlocks = append(c.dataBlocks, st)
			case *ast.ImplDecl:
				for _, m := range append(slices.Clip(st.Methods), st.Defaults...) {
					c.implFns[m.Name.Name] = append(c.implFns[m.Name.Name], m.Fn)
				}
				if st.Trait != nil && !slices.Contains(c.traitImpls[st.Trait.Name], st.Type.Name) {
					c.traitImpls[st.Trait.Name] = append(c.traitImpls[st.Trait.Name], st.Type.Name)
				}
			case *ast.TraitDecl:
				if c.traitImpls[st.Name.Name] == nil {
					c.traitImpls[st.Name.Name] = []string{}
				}
			}
		}
	}
	for i, src := range c.srcs {
		walk(i, src.File.Stmts, typeScope{})
	}
}

// typeScope is where a type or a model is declared, as the resolver
// scopes their names: at top level (the zero typeScope, routes groups
// there included), or in the server blocks of one name, which share a
// scope.
type typeScope struct {
	server bool
	name   string
}

// visibleType returns the declaration of the type that name means in
// scope sc: the server's own, else the top level's; nil if none.
func (c *compiler) visibleType(sc typeScope, name string) *ast.TypeDecl {
	c.indexDecls()
	if td := c.typesIn[sc][name]; td != nil {
		return td
	}
	return c.typesIn[typeScope{}][name]
}

// handlerType is an annotation as serve converts by it: typeString with
// the program's aliases followed (`type Id = Int` makes `Id` an Int),
// written in scope sc. The name of a type that scopes of their own
// declare each (two servers' Item) is qualified: `Item#i` is the one
// of prog.Types[i], the one the name means in sc (see qualifyTypes).
func (c *compiler) handlerType(sc typeScope, t *ast.TypeExpr) string {
	t = c.unalias(t, 0)
	c.indexDecls()
	if c.multiTypes == nil {
		c.multiTypes = map[string]bool{}
		seen := map[string]bool{}
		for _, types := range c.typesIn {
			for name, td := range types {
				if td.Alias != nil {
					continue
				}
				c.multiTypes[name] = seen[name]
				seen[name] = true
			}
		}
	}
	var qualified func(t *ast.TypeExpr) *ast.TypeExpr
	qualified = func(t *ast.TypeExpr) *ast.TypeExpr {
		if t == nil {
			return nil
		}
		u := *t
		if c.multiTypes[t.Name] {
			if td := c.visibleType(sc, t.Name); td != nil && td.Alias == nil {
				u.Name = fmt.Sprintf("%s#?%d", t.Name, len(c.typeRefs))
				c.typeRefs = append(c.typeRefs, td.Name.Binding)
			}
		}
		if len(t.Args) > 0 {
			u.Args = make([]*ast.TypeExpr, len(t.Args))
			for i, a := range t.Args {
				u.Args[i] = qualified(a)
			}
		}
		return &u
	}
	return typeString(qualified(t))
}

// qualifyTypes replaces the placeholders handlerType wrote, `Name#?k`,
// by `Name#i`, i being the index in prog.Types of typeRefs[k].
func (c *compiler) qualifyTypes() {
	if len(c.typeRefs) == 0 {
		return
	}
	fix := func(s *string) {
		if !strings.Contains(*s, "#?") {
			return
		}
		*s = placeholder.ReplaceAllStringFunc(*s, func(m string) string {
			k, _ := strconv.Atoi(m[2:])
			return "#" + strconv.Itoa(c.typeIndex[c.typeRefs[k]])
		})
	}
	for _, fn := range c.prog.Funcs {
		for i := range fn.ParamTypes {
			fix(&fn.ParamTypes[i])
		}
	}
	for _, srv := range c.prog.Servers {
		for i := range srv.Routes {
			fix(&srv.Routes[i].BodyType)
		}
	}
	for _, td := range c.prog.Types {
		for i := range td.FieldTypes {
			fix(&td.FieldTypes[i])
		}
		for j := range td.Variants {
			for i := range td.Variants[j].FieldTypes {
				fix(&td.Variants[j].FieldTypes[i])
			}
		}
	}
}

var placeholder = regexp.MustCompile(`#\?[0-9]+`)

// typeScope is the scope whose type declarations f's code sees: its
// server's (code in a server block, or in a function there), else the
// top level's.
func (f *fstate) typeScope() typeScope {
	for g := f; g != nil; g = g.parent {
		if g.srv != nil {
			return typeScope{server: true, name: g.srv.Name}
		}
	}
	return typeScope{}
}

func (c *compiler) unalias(t *ast.TypeExpr, depth int) *ast.TypeExpr {
	if t == nil || depth > 16 { // (a cycle of aliases stays as it is)
		return t
	}
	if a := c.aliasOf(t.Name); a != nil && len(t.Args) == 0 {
		return c.unalias(a, depth+1)
	}
	if len(t.Args) == 0 {
		return t
	}
	u := *t
	if u.Name == "?" {
		u.Name = "Option" // `Int?` is Option<Int>
	}
	u.Args = make([]*ast.TypeExpr, len(t.Args))
	for i, a := range t.Args {
		u.Args[i] = c.unalias(a, depth+1)
	}
	return &u
}

// isNames are the type names `x is Name` tests x against, any of which
// it may be: Name itself, or what an alias stands for (`type Id = Int`:
// Int; `type Num = Int | Float`: Int, Float). A refinement (`type Email =
// String where {...}`), whose check nothing runs, is a compile error
// there; a name that no type has (`x is Strng`, always false) is warned
// of.
func (f *fstate) isNames(e *ast.Is) []string {
	if e.TypeName == "Self" {
		// The type of the impl block whose method this is.
		if f.c.selfType == "" {
			f.c.warnf(e.PosV, "Self is the type of an impl block's methods, and this is no method: `is Self` is always false")
		}
		return []string{cmp.Or(f.c.selfType, "Self")}
	}
	a := f.c.aliasOf(e.TypeName)
	f.c.indexDecls()
	if types, trait := f.c.traitImpls[e.TypeName]; trait && a == nil {
		// A trait: the types that implement it (impl Trait for Type).
		if len(types) == 0 {
			f.c.warnf(e.PosV, "no type implements %s (impl %s for Type): `is %s` is always false", e.TypeName, e.TypeName, e.TypeName)
			return []string{e.TypeName}
		}
		return types
	}
	if a == nil {
		f.checkIsName(e)
		return []string{e.TypeName}
	}
	var names []string
	var add func(t *ast.TypeExpr, depth int)
	add = func(t *ast.TypeExpr, depth int) {
		if depth > 16 {
			return // (aliases of each other: type K = K2 | Int, type K2 = K | String)
		}
		t = f.c.unalias(t, 0)
		switch {
		case t.Check != nil:
			f.c.errorf(e.PosV, "%s is a refinement (%s where ...), whose condition is not checked: `is` cannot test it; test `is %s` and the condition", e.TypeName, typeString(&ast.TypeExpr{Name: t.Name, Args: t.Args}), t.Name)
		case t.Name == "|":
			for _, u := range t.Args {
				add(u, depth+1)
			}
		case t.Name == "[]":
			names = append(names, "List")
		case t.Name == "?":
			names = append(names, "Nil")
			add(t.Args[0], depth+1)
		case !slices.Contains(names, t.Name):
			names = append(names, t.Name)
		}
	}
	add(a, 0)
	if len(names) == 0 {
		names = []string{e.TypeName}
	}
	return names
}

// isTypeNames are the names `is` knows besides the program's types:
// the builtin kinds, and the objects the runtime makes.
var isTypeNames = []string{"Any", "Array", "Bool", "Column", "Counter", "Database", "Date", "DefaultDict", "Deque", "Duration", "Err", "Error", "FetchResponse", "File",
	"Float", "Function", "Generator", "Headers", "HttpResponse", "Int", "List", "Map", "Model", "Nil", "None", "Number", "Object",
	"Ok", "Option", "OrderedDict", "Range", "Regex", "Request", "Response", "Result", "RouteTimeout", "Row", "Seq", "Server", "Session", "Size",
	"Some", "Str", "Stream", "String", "WindowFunction"}

// checkIsName warns of `x is Name` where no type is called Name: always
// false, which a misspelt name (Strng) would leave unsaid.
func (f *fstate) checkIsName(e *ast.Is) {
	name := e.TypeName
	if slices.Contains(f.generics(), name) && !f.knownTypeName(name, nil) {
		f.c.warnf(e.PosV, "%s is a type parameter, which is no type at run time: `is %s` is always false; test the kinds it may be (x is Int)", name, name)
		return
	}
	if !isTypeName(name) || f.knownTypeName(name, nil) {
		return
	}
	known := slices.Clone(isTypeNames)
	for _, td := range f.c.prog.Types {
		known = append(known, td.Name)
	}
	hint := ""
	if s := diag.Closest(name, known); s != "" {
		hint = " (did you mean " + s + "?)"
	}
	f.c.warnf(e.PosV, "unknown type %s%s: `is %s` is always false", name, hint, name)
}

// fnAt is where a function is declared: its file and its name's position.
type fnAt struct {
	file int
	pos  token.Pos
}

// annotationSite is where an annotation is written, which decides the
// names it may use besides the builtins and the program's types.
type annotationSite int

const (
	bodySite  annotationSite = iota // a route's `body: Type`
	paramSite                       // a handler's parameter: File too, an uploaded file
	modelSite                       // a model's field: a model's name too (it may hold another model's record)
)

// fileType is the runtime's name for an uploaded file (a file part of a
// multipart body), which a handler's parameter may be annotated with.
const fileType = "File"

// checkPathParams warns of a route whose path names a parameter (:id)
// that its handler, which does not take req, takes under no name, while
// it takes another the path does not name (fn(uid)): that one is read
// from the query or the body, and the path's is lost (a 400 "is
// required", or nil, with no word of why).
func (f *fstate) checkPathParams(st *ast.RouteDecl, path string, fn *ast.Function) {
	takes := map[string]bool{}
	var others []string
	for _, prm := range fn.Params {
		if prm.Name == nil {
			continue
		}
		switch n := prm.Name.Name; n {
		case "req", "request":
			return // (req.params reads them)
		case "res", "response", "_":
		default:
			takes[n] = true
			others = append(others, n)
		}
	}
	var lost []string
	for _, seg := range strings.Split(path, "/") {
		if name, ok := strings.CutPrefix(seg, ":"); ok && name != "" {
			if takes[name] {
				others = slices.DeleteFunc(others, func(o string) bool { return o == name })
			} else if slices.Contains(strings.Split(st.Path, "/"), seg) {
				// (one of the route's own: a group's, /orgs/:org, may
				// be its middleware's alone)
				lost = append(lost, name)
			}
		}
	}
	if len(lost) == 0 || len(others) == 0 {
		return
	}
	f.c.warnf(st.PosV, "route %s %s: the path's :%s is taken by no parameter of the handler, which takes %s from the query or the body instead; name the parameter %s, or take req and read req.params",
		st.Method, shownPath(path), lost[0], strings.Join(others, ", "), lost[0])
}

// warnTextParamComparedToNumber warns of an untyped path parameter
// compared with == or != to a number, or to an id field (t.id == id):
// the parameter is the path's text, "1", which equals no Int, so
// todos.find(fn(t) t.id == id) found nothing for /todos/1.
func (f *fstate) warnTextParamComparedToNumber(st *ast.RouteDecl, path string, fn *ast.Function) {
	inPath := map[string]bool{}
	for _, seg := range strings.Split(path, "/") {
		if name, ok := strings.CutPrefix(seg, ":"); ok && name != "" {
			inPath[name] = true
		}
	}
	for _, prm := range fn.Params {
		if prm.Name == nil || prm.Type != nil || !inPath[prm.Name.Name] || prm.Name.Binding == nil {
			continue
		}
		b := prm.Name.Binding
		isParam := func(e ast.Expr) bool {
			id, ok := e.(*ast.Ident)
			return ok && id.Binding != nil && origin(id.Binding) == b
		}
		var at *ast.Binary
		ast.Inspect(fn.Body, func(n any) bool {
			if e, ok := n.(*ast.Binary); ok && at == nil && (e.Op == "==" || e.Op == "!=") &&
				(isParam(e.X) && f.numberish(e.Y) || isParam(e.Y) && f.numberish(e.X)) {
				at = e
			}
			return at == nil
		})
		if at != nil {
			name := prm.Name.Name
			f.c.warnf(at.PosV, "route %s %s: the path parameter %s is text (\"1\" for /1), and == never converts: it equals no number; declare it %s: Int to have it converted (a path that is no Int answers 400)", st.Method, shownPath(path), name, name)
		}
	}
}

// warnRequestTextWithNumber warns of req.params.x or req.query.x (text,
// always) compared with a number by == or !=, or given to + or * with
// one: `u.id == req.params.id` matched nothing, `req.query.page * 10`
// was "2222222222" and `req.params.id + 1` "71", without a word.
func (f *fstate) warnRequestTextWithNumber(st *ast.RouteDecl, path string, fn *ast.Function) {
	var req *ast.Binding
	for _, prm := range fn.Params {
		if prm.Name != nil && prm.Type == nil && (prm.Name.Name == "req" || prm.Name.Name == "request") {
			req = prm.Name.Binding
		}
	}
	if req == nil {
		return
	}
	textOf := func(e ast.Expr) (where, name string) {
		m, ok := e.(*ast.Member)
		if !ok {
			return "", ""
		}
		inner, ok := m.X.(*ast.Member)
		if !ok || inner.Name != "params" && inner.Name != "query" {
			return "", ""
		}
		if id, ok := inner.X.(*ast.Ident); ok && id.Binding != nil && origin(id.Binding) == req {
			return inner.Name, m.Name
		}
		return "", ""
	}
	done := false
	ast.Inspect(fn.Body, func(n any) bool {
		e, ok := n.(*ast.Binary)
		if done || !ok || e.Op != "==" && e.Op != "!=" && e.Op != "+" && e.Op != "*" {
			return !done
		}
		where, name := textOf(e.X)
		other := e.Y
		if where == "" {
			where, name = textOf(e.Y)
			other = e.X
		}
		if where == "" || !f.numberish(other) {
			return true
		}
		done = true
		what := map[string]string{"==": "== never converts: it equals no number", "!=": "!= never converts: it differs from every number",
			"+": "+ joins it with the number as text (\"7\" + 1 is \"71\")", "*": "* repeats it (\"2\" * 3 is \"222\")"}[e.Op]
		kind := map[string]string{"params": "path parameter", "query": "query parameter"}[where]
		f.c.warnf(e.PosV, "route %s %s: req.%s.%s is text, as every %s is, and %s; take it as a typed parameter, fn(%s: Int), to have it converted (text that is no Int answers 400)",
			st.Method, shownPath(path), where, name, kind, what, name)
		return false
	})
}

// numberish reports whether e is a number: a literal, or a field the
// program gives Ints (t.id of rows it writes with id: 1, or a model's,
// whose ids are Ints; a UUID's or a slug's field is text, as a path's).
func (f *fstate) numberish(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.IntLit, *ast.FloatLit:
		return true
	case *ast.Member:
		return f.c.intField(e.Name)
	}
	return false
}

// intField reports whether the program gives a field of that name Int
// values and never text: an object literal's {name: 1}, or {name: n} of
// a binding declared with an Int (var next_id = 1), or a model's id;
// not where a literal gives it text ({id: "intro"}). Found once, in
// every file of the program.
func (c *compiler) intField(name string) bool {
	if c.intFields == nil {
		c.intFields = map[string]int{}
		intVars := map[*ast.Binding]bool{}
		otherVars := map[*ast.Binding]bool{} // (a var given a value of another kind too: code = uuid())
		var entries []*ast.ObjEntry
		models := false
		for _, src := range c.srcs {
			ast.Inspect(src.File, func(n any) bool {
				switch n := n.(type) {
				case *ast.ObjEntry:
					entries = append(entries, n)
				case *ast.VarDecl, *ast.Assign:
					var targets []ast.Pattern
					var values []ast.Expr
					op := "="
					if v, ok := n.(*ast.VarDecl); ok {
						targets, values = v.Targets, v.Values
					} else {
						a := n.(*ast.Assign)
						targets, values, op = a.Targets, a.Values, a.Op
					}
					for i, tg := range targets {
						if pb, ok := tg.(*ast.PBind); ok && pb.Name != nil && pb.Name.Binding != nil && i < len(values) {
							b := origin(pb.Name.Binding)
							if _, isInt := values[i].(*ast.IntLit); isInt {
								intVars[b] = true
							} else if op == "=" {
								otherVars[b] = true
							}
						}
					}
				case *ast.ModelDecl:
					models = true
				}
				return true
			})
		}
		// (1: an Int given; 2: text given, which no Int outweighs)
		for _, e := range entries {
			if e.Key == "" {
				continue
			}
			switch v := e.Value.(type) {
			case *ast.IntLit:
				c.intFields[e.Key] = max(c.intFields[e.Key], 1)
			case *ast.Ident:
				if b := v.Binding; b != nil && intVars[origin(b)] && !otherVars[origin(b)] {
					c.intFields[e.Key] = max(c.intFields[e.Key], 1)
				}
			case *ast.StringLit, *ast.InterpString:
				c.intFields[e.Key] = 2
			}
		}
		if models && c.intFields["id"] == 0 {
			c.intFields["id"] = 1
		}
	}
	return c.intFields[name] == 1
}

// checkBodyParam warns of a handler parameter named body annotated with
// a type of the program (fn(body: Order)) on a route without `body:`:
// parameters bind by name, so it reads the body's field "body", and a
// request with the order itself answers 400 "body is required", with no
// word of why.
//
// On a route with `body: T`, a parameter named body reads the checked
// record's field "body": one of a T without such a field is always nil
// (fn(body) { body } answered null), which is warned of too.
func (f *fstate) checkBodyParam(st *ast.RouteDecl, path string, fn *ast.Function) {
	if st.BodyType != nil {
		f.checkBodyParamOfTyped(st, path, fn)
		return
	}
	for _, prm := range fn.Params {
		if prm.Name == nil || prm.Name.Name != "body" || prm.Type == nil {
			continue
		}
		t := prm.Type
		// (body: Order?, Option<Order>, [Order] too: the Option ones
		// answered None, the order given)
		for (t.Name == "?" || t.Name == "Option" || t.Name == "[]" || t.Name == "List") && len(t.Args) == 1 {
			t = t.Args[0]
		}
		if len(t.Args) > 0 {
			continue
		}
		for _, td := range f.c.prog.Types {
			if td.Name == t.Name {
				ty := annotText(prm.Type)
				f.c.warnf(prm.PosV, "route %s %s: the parameter body reads the request body's field \"body\" (parameters bind by name); to check the whole body as %s, write `route %s \"%s\" body: %s => fn(req) ...` and read req.body",
					st.Method, shownPath(path), ty, st.Method, st.Path, ty)
				return
			}
		}
	}
}

// wholeBodyNames are parameter names other frameworks give the whole
// request body (Express's req.body as a handler's `body`, FastAPI's
// `payload: Item`): here an untyped one reads the body's field of its
// name.
var wholeBodyNames = map[string]bool{"body": true, "data": true, "payload": true, "input": true, "json": true}

// warnHandlerHabits warns of two habits of other frameworks that compile
// and answer wrongly: a handler of a body method whose one parameter,
// untyped and named as the whole body is elsewhere (`fn(body)`,
// `fn(user)` of a model User), which reads the body's field of that
// name, nil (a POST stored nil and answered 201); and a handler that
// ends by assigning a new local (`users = User.all()`), which answers
// null.
func (f *fstate) warnHandlerHabits(st *ast.RouteDecl, path string, fn *ast.Function) {
	if fn == nil || fn.Body == nil {
		return
	}
	hasRes := false
	for _, prm := range fn.Params {
		if prm.Name != nil && (prm.Name.Name == "res" || prm.Name.Name == "response") {
			hasRes = true
		}
	}
	if st.BodyType == nil && (st.Method == "POST" || st.Method == "PUT" || st.Method == "PATCH") && len(fn.Params) == 1 {
		prm := fn.Params[0]
		if prm.Name != nil && prm.Type == nil && prm.Default == nil && !slices.Contains(strings.Split(path, "/"), ":"+prm.Name.Name) {
			name := prm.Name.Name
			model := ""
			for m := range f.c.models {
				if strings.EqualFold(m, name) {
					model = m
				}
			}
			if wholeBodyNames[name] || model != "" {
				typ := "T"
				if model != "" {
					typ = model
				}
				f.c.warnf(prm.PosV, "route %s %s: the parameter %s reads the request body's field \"%s\" (parameters bind by name), nil for a body that has none; the whole body is req.body (fn(req)), or checked as a record with `route %s \"%s\" body: %s => fn(req) ...`",
					st.Method, shownPath(path), name, name, st.Method, st.Path, typ)
			}
		}
	}
	if len(fn.Body.Stmts) > 0 {
		if es, ok := fn.Body.Stmts[len(fn.Body.Stmts)-1].(*ast.ExprStmt); ok && stringifies(es.X) {
			// (Express's res.send(JSON.stringify(x)), Flask's
			// json.dumps: the answer was a JSON string holding the text)
			at := es.X.(*ast.Call).Fn.Pos()
			if m, ok := es.X.(*ast.Call).Fn.(*ast.Member); ok {
				at = m.X.Pos() // (JSON, not the dot)
			}
			f.c.warnf(at, "route %s %s: the handler answers the JSON text as a String, which is sent as JSON again (\"{\\\"a\\\":1}\"): return the value itself, which is answered as JSON",
				st.Method, shownPath(path))
		}
	}
	if hasRes {
		return // (res.json gave the answer)
	}
	if last, ok := fn.Body.Stmts[max(len(fn.Body.Stmts)-1, 0)].(*ast.Assign); ok && last.Op == "=" && len(last.Declares) == 1 && last.Declares[0] {
		if pb, ok := last.Targets[0].(*ast.PBind); ok {
			f.c.warnf(last.PosV, "route %s %s: the handler ends by assigning %s, whose value is nil: what a handler returns is the answer, so every request is answered null; end it with %s itself",
				st.Method, shownPath(path), pb.Name.Name, pb.Name.Name)
		}
	}
}

// stringifies reports whether e is a call that makes a value's JSON
// text: JSON.stringify(x), json_stringify(x), to_json(x).
func stringifies(e ast.Expr) bool {
	c, ok := e.(*ast.Call)
	if !ok {
		return false
	}
	switch fn := c.Fn.(type) {
	case *ast.Ident:
		return isBuiltin(fn, "json_stringify") || isBuiltin(fn, "jsonStringify") || isBuiltin(fn, "to_json")
	case *ast.Member:
		id, ok := fn.X.(*ast.Ident)
		return ok && isBuiltin(id, "JSON") && fn.Name == "stringify"
	}
	return false
}

// valuelessEnd tells where the last statement of body is, and what it
// is, when it has no value (an assignment, a declaration, a loop, a
// print); "" when it has one.
// warnValuelessNextEnd warns of a (req, next) function (middleware, or
// a guard of that shape) that calls next and ends with a statement of
// no value: every request it sees is answered null.
func (c *compiler) warnValuelessNextEnd(fn *ast.Function, what string) {
	nx := fn.Params[1].Name
	if nx == nil || nx.Binding == nil || !calls(fn.Body, nx.Binding) {
		return
	}
	if at, end := valuelessEnd(fn.Body); end != "" {
		// (r = next(req); print("after"): every answer null)
		c.warnf(at, "%s ends with %s, whose value is nil: what a middleware returns is the answer, so every request it sees is answered null; end it with the response, as %s(req) returned it", what, end, nx.Name)
	}
}

func valuelessEnd(body *ast.Block) (token.Pos, string) {
	if body == nil || len(body.Stmts) == 0 {
		return token.Pos{}, ""
	}
	switch last := body.Stmts[len(body.Stmts)-1].(type) {
	case *ast.Assign:
		if last.Op == "=" {
			return last.Pos(), "an assignment"
		}
		return last.Pos(), "an update (" + last.Op + ")"
	case *ast.VarDecl:
		return last.Pos(), "a var declaration"
	case *ast.For:
		return last.Pos(), "a loop"
	case *ast.While:
		if b, ok := last.Cond.(*ast.BoolLit); ok && b.Value && !breaks(last.Body) {
			return token.Pos{}, "" // (while true { return next(req) }: never ends)
		}
		return last.Pos(), "a loop"
	case *ast.Loop:
		if !breaks(last.Body) {
			return token.Pos{}, "" // (a retry loop that returns: never ends)
		}
		return last.Pos(), "a loop"
	case *ast.ExprStmt:
		if call, ok := last.X.(*ast.Call); ok {
			if id, ok := call.Fn.(*ast.Ident); ok && isBuiltin(id, "print") {
				return id.PosV, "a print"
			}
		}
	}
	return token.Pos{}, ""
}

// checkGuardCalls refuses a route's guard written as a call of a guard
// of the program's (with g() for with g): the call ran once, as the
// server started, without a request, and its value was no function.
// A call that makes a guard (with limiter(10), a function of fewer
// parameters than a guard's or given its arguments) is left alone.
func (f *fstate) checkGuardCalls(st *ast.RouteDecl, path string) {
	f.c.indexDecls()
	for _, g := range st.Guards {
		call, ok := g.(*ast.Call)
		if !ok {
			continue
		}
		id, ok := call.Fn.(*ast.Ident)
		if !ok || id.Binding == nil {
			continue
		}
		b := outermost(id.Binding)
		fn := f.c.fnDecls[fnAt{f.c.file, b.Decl}]
		if fn == nil || b.Scope != ast.Global || len(fn.Params) == 0 || fn.Params[0].Name == nil || len(call.Args) >= requiredParams(fn) {
			continue
		}
		if n := fn.Params[0].Name.Name; n != "req" && n != "request" {
			continue
		}
		f.c.errorf(id.PosV, "route %s %s: with %s() calls the guard %s once, as the server starts, without a request: write with %s", st.Method, shownPath(path), id.Name, id.Name, id.Name)
	}
}

// warnBracedParam warns of a {id} in a path (own, the part written at
// the declaration, of the whole path p): OpenAPI's form of a path
// parameter, in a string without interpolation, is matched only by the
// text {id}.
func (f *fstate) warnBracedParam(at token.Pos, what, p, own string) {
	if m := bracedParam.FindString(own); m != "" {
		f.c.warnf(at, "%s %s: %s in a path is the text %s, which only a request for it matches: a path parameter is written :%s", what, shownPath(p), m, m, m[1:len(m)-1])
	}
	if m := anglePath.FindStringSubmatch(own); m != nil {
		// Flask's /items/<int:item_id>, Express's docs' <id>
		typed := ""
		if t := map[string]string{"int": "Int", "float": "Float", "string": "String", "path": "String"}[m[2]]; t != "" {
			typed = fmt.Sprintf(" (its type is the handler parameter's, fn(%s: %s))", m[3], t)
		}
		f.c.warnf(at, "%s %s: %s in a path is the text %s, which only a request for it matches: a path parameter is written :%s%s", what, shownPath(p), m[1], m[1], m[3], typed)
	}
}

// anglePath is a path parameter written as Flask writes it, <id> or
// <int:id>.
var anglePath = regexp.MustCompile(`(?:^|/)(<(?:([a-z]+):)?([A-Za-z_][A-Za-z0-9_]*)>)(?:/|$)`)

// bracedParam is a path parameter written as OpenAPI writes it, {id}.
var bracedParam = regexp.MustCompile(`\{[A-Za-z_][A-Za-z0-9_]*\}`)

// breaks reports whether a break of the loop whose body is body is
// written in it: outside the functions it makes, and outside the loops
// in it (whose own breaks they are), but for a labelled one.
func breaks(body *ast.Block) bool {
	found := false
	inner := 0
	var labels []string // of the loops inside body being visited
	var visit func(n any) bool
	visit = func(n any) bool {
		switch n := n.(type) {
		case *ast.Break:
			// (a labelled break ends the loop of its label: one of those
			// inside, or one body is in)
			found = found || inner == 0 || n.Label != "" && !slices.Contains(labels, n.Label)
		case *ast.Lambda, *ast.Function:
			return false
		case *ast.For, *ast.While, *ast.Loop:
			label := ""
			switch l := n.(type) {
			case *ast.For:
				label = l.Label
			case *ast.While:
				label = l.Label
			case *ast.Loop:
				label = l.Label
			}
			inner++
			labels = append(labels, label)
			ast.Inspect(n, func(m any) bool {
				if m == n {
					return true
				}
				return visit(m)
			})
			labels = labels[:len(labels)-1]
			inner--
			return false
		}
		return !found
	}
	ast.Inspect(body, visit)
	return found
}

// checkBodyParamOfTyped is checkBodyParam's for a route with `body: T`.
func (f *fstate) checkBodyParamOfTyped(st *ast.RouteDecl, path string, fn *ast.Function) {
	t := st.BodyType
	for (t.Name == "?" || t.Name == "Option") && len(t.Args) == 1 {
		t = t.Args[0]
	}
	for _, prm := range fn.Params {
		if prm.Name == nil || prm.Name.Name != "body" {
			continue
		}
		for _, td := range f.c.prog.Types {
			if td.Name != t.Name || len(td.Variants) > 0 || slices.Contains(td.Fields, "body") {
				continue
			}
			f.c.warnf(prm.PosV, "route %s %s: the parameter body reads the checked body's field \"body\" (parameters bind by name), which a %s has not: it is always nil; take req and read req.body, the checked %s",
				st.Method, shownPath(path), td.Name, td.Name)
			return
		}
	}
}

// checkAnnotation warns of a type name in a route handler's annotation
// (a parameter's, or `body: Type`) or a model's field that is neither a
// builtin type nor one the program declares: such a parameter is not
// checked or converted (as in the reference), which a misspelt name (Usr
// for User) would otherwise leave unsaid.
func (f *fstate) checkAnnotation(t *ast.TypeExpr, what string, site annotationSite) {
	if t == nil {
		return
	}
	for _, a := range t.Args {
		f.checkAnnotation(a, what, site)
	}
	f.c.indexDecls()
	if t.Name == "[]" || slices.Contains(builtinTypes, t.Name) || f.c.aliasOf(t.Name) != nil || f.c.variantTypes[t.Name] != nil || site == modelSite && (f.c.models[t.Name] || t.Name == "DateTime" || t.Name == "Timestamp") {
		// (a model's DateTime or Timestamp field is a Date's: the
		// store checks and converts it)
		return
	}
	if !isIdentName(t.Name) || len(t.Name) == 1 {
		return // a form of its own (Int?, A | B, a function type) or a generic's T: not a name to look up
	}
	known := slices.Clone(builtinTypes)
	for _, td := range f.c.prog.Types {
		if td.Name == t.Name {
			return
		}
		known = append(known, td.Name)
	}
	switch {
	case t.Name == fileType && site == paramSite:
		return
	case t.Name == fileType:
		// (a body is the whole request's, a column is the store's: an
		// uploaded file is neither)
		f.c.warnf(t.PosV, "File, an uploaded file, annotates a handler's parameter (image: File): %s is not checked or converted", what)
		return
	}
	if f.c.typeWarned[t] {
		return
	}
	f.c.markTypeWarned(t)
	f.c.warnf(t.PosV, "unknown type %s%s: %s is not checked or converted", t.Name, typeHint(t.Name, known), what)
}

func (c *compiler) markTypeWarned(t *ast.TypeExpr) {
	if c.typeWarned == nil {
		c.typeWarned = map[*ast.TypeExpr]bool{}
	}
	c.typeWarned[t] = true
}

// generics are the generic names the annotations of f's code may use:
// its own function's and those of the functions around it.
func (f *fstate) generics() []string {
	var out []string
	for g := f; g != nil; g = g.parent {
		if g.af != nil {
			out = append(out, g.af.TypeParams...)
		}
	}
	return out
}

// checkTypeNames warns of a name no type has in the annotation t of a
// function's parameter or return, or of a binding (fn g(x: Strin), y:
// Integr = 5): annotations are not checked when the program runs, so a
// misspelt one said nothing. generics are the names in scope as type
// parameters.
func (f *fstate) checkTypeNames(t *ast.TypeExpr, generics []string) {
	if t == nil || f.c.typeWarned[t] {
		return
	}
	for _, a := range t.Args {
		f.checkTypeNames(a, generics)
	}
	name := t.Name
	if !isIdentName(name) || len(name) == 1 || name == fileType || name == "DateTime" || name == "Timestamp" || f.knownTypeName(name, generics) {
		return
	}
	known := slices.Clone(builtinTypes)
	for _, td := range f.c.prog.Types {
		known = append(known, td.Name)
	}
	f.c.unknownTypes = append(f.c.unknownTypes, unknownType{t: t, hint: typeHint(name, known), file: f.c.file, fileName: f.c.fileName})
}

// checkTypeDecl checks the names a type declaration's fields and alias
// use, as checkTypeNames does an annotation's. An alias of a union of
// names no type has (type Priority = Low | Normal | High) is the
// variants' form written as an alias: a parameter of it was not checked
// at all.
func (f *fstate) checkTypeDecl(st *ast.TypeDecl) {
	generics := append(f.generics(), st.Params...)
	if a := st.Alias; a != nil && a.Name == "|" && a.Check == nil {
		var names []string
		for _, u := range a.Args {
			if len(u.Args) > 0 || !isIdentName(u.Name) || f.knownTypeName(u.Name, generics) {
				names = nil
				break
			}
			names = append(names, u.Name)
		}
		if len(names) == len(a.Args) && len(names) > 0 {
			f.c.markTypeWarned(a)
			for _, u := range a.Args {
				f.c.markTypeWarned(u)
			}
			f.c.warnf(a.PosV, "type %s: no type is called %s: a type whose values are these names is written with braces, type %s { %s }", st.Name.Name, strings.Join(names, ", "), st.Name.Name, strings.Join(names, ", "))
			return
		}
	}
	f.checkTypeNames(st.Alias, generics)
	for _, fl := range st.Fields {
		f.checkTypeNames(fl.Type, generics)
	}
	for _, v := range st.Variants {
		for _, fl := range v.Fields {
			f.checkTypeNames(fl.Type, generics)
		}
	}
}

// knownTypeName reports whether name is a type's: a builtin's, the
// program's, or one of generics.
func (f *fstate) knownTypeName(name string, generics []string) bool {
	if slices.Contains(builtinTypes, name) || slices.Contains(isTypeNames, name) || slices.Contains(generics, name) || name == "Self" {
		return true
	}
	f.c.indexDecls()
	if f.c.aliasOf(name) != nil || f.c.variantTypes[name] != nil || f.c.models[name] {
		return true
	}
	if _, trait := f.c.traitImpls[name]; trait {
		return true
	}
	for _, td := range f.c.prog.Types {
		if td.Name == name {
			return true
		}
	}
	return false
}

// unknownType is an annotation checkTypeNames found naming no type.
type unknownType struct {
	t        *ast.TypeExpr
	hint     string
	file     int
	fileName string
}

// warnUnknownTypes warns of the annotations checkTypeNames found naming
// no type, but those a route handler's check warned of in its own
// words (a named handler's function is compiled before its route).
func (c *compiler) warnUnknownTypes() {
	file, fileName := c.file, c.fileName
	for _, u := range c.unknownTypes {
		if c.typeWarned[u.t] {
			continue
		}
		c.markTypeWarned(u.t)
		c.file, c.fileName = u.file, u.fileName
		c.warnf(u.t.PosV, "unknown type %s%s: annotations are not checked when the program runs, so this one says nothing", u.t.Name, u.hint)
	}
	c.file, c.fileName = file, fileName
}

// typeHint is the " (did you mean Int?)" of an unknown type name: a
// known name that differs only in case first (int, the spelling of
// Python, Go and TypeScript, for Int), else the nearest one.
func typeHint(name string, known []string) string {
	if t, ok := otherLanguagesTypes[strings.ToLower(name)]; ok && slices.Contains(known, t) {
		return " (did you mean " + t + "?)"
	}
	for _, k := range known {
		if strings.EqualFold(k, name) {
			return " (did you mean " + k + "?)"
		}
	}
	if s := diag.Closest(name, known); s != "" {
		return " (did you mean " + s + "?)"
	}
	return ""
}

// envTypeHint is typeHint's for an env declaration's type: none for
// one that is no name ([String] is no String).
func envTypeHint(name string) string {
	if !isIdentName(name) {
		return ""
	}
	return typeHint(name, envTypes)
}

// otherLanguagesTypes are other languages' names of Tova's types, by
// their lower case: Integer is too far from Int for a "did you mean".
var otherLanguagesTypes = map[string]string{"integer": "Int", "long": "Int", "boolean": "Bool", "double": "Float", "float64": "Float",
	"decimal": "Float", "str": "String", "text": "String", "char": "String", "array": "List", "vec": "List", "dict": "Map",
	"hashmap": "Map", "record": "Object", "none": "Nil", "null": "Nil", "datetime": "Date", "timestamp": "Date", "timedelta": "Duration",
	"i8": "Int", "i16": "Int", "i32": "Int", "i64": "Int", "u8": "Int", "u16": "Int", "u32": "Int", "u64": "Int", "isize": "Int", "usize": "Int",
	"int32": "Int", "int64": "Int", "uint": "Int", "uint32": "Int", "uint64": "Int", "f32": "Float", "f64": "Float", "float32": "Float"}

// isIdentName reports whether s is an identifier (of either case): a
// type name as written, not one of the forms a TypeExpr also holds
// ("[]", "?", "|", "fn", "()") or a dotted name.
func isIdentName(s string) bool {
	for i, r := range s {
		if i == 0 && !unicode.IsLetter(r) && r != '_' || !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' {
			return false
		}
	}
	return s != "" && s != "fn"
}

// prefixStatic returns the entries of a static block written in a
// group (prefix), the group's prefix put before the block's own, as a
// group does the reference's `static "/files" => dir`; ok is false
// outside a group, for another block, or if the block's prefix is no
// literal String.
func prefixStatic(st *ast.ConfigBlock, prefix string) (entries []*ast.ObjEntry, ok bool) {
	if st.Kind != "static" || prefix == "" {
		return nil, false
	}
	entries = slices.Clone(st.Entries)
	for i, e := range entries {
		if e.Key == "prefix" {
			lit, ok := e.Value.(*ast.StringLit)
			if !ok {
				return nil, false
			}
			c := *e
			c.Value = &ast.StringLit{PosV: lit.PosV, Value: joinPath(prefix, lit.Value)}
			entries[i] = &c
			return entries, true
		}
	}
	return append(entries, &ast.ObjEntry{PosV: st.PosV, Key: "prefix", Value: &ast.StringLit{PosV: st.PosV, Value: prefix}}), true
}

// unguardedStatic warns of static files served in a group that a
// middleware guards: they are answered before any middleware runs.
func (f *fstate) unguardedStatic(pos token.Pos, prefix string) {
	if f.guarded != "" {
		f.c.warnf(pos, "static in routes %s: its files are answered before any middleware runs, so %s does not guard them: anyone may fetch them (serve them from a route of the group, with fs.read_text, if they are private)", shownPath(prefix), f.guarded)
	}
}

// serverWide warns of a declaration that concerns the whole server
// written inside a routes group: it applies to every route of the
// server (as in the reference, whose groups only prefix their routes),
// which its place suggests it does not.
//
// In a group written outside any server block, which every server
// compiles, what would run once per server (a port, hooks, jobs,
// schedules, subscribers) is refused, as it is outside a group there.
func (f *fstate) serverWide(pos token.Pos, what string) {
	switch {
	case f.group == nil:
	case f.sharedGroup && slices.Contains([]string{"port", "on_start", "on_stop", "background fn", "schedule", "subscribe", "discover"}, what):
		f.c.errorf(pos, "%s in routes %s, outside any server block, would run once per server: write it inside the server block that runs it", what, shownPath(*f.group))
	default:
		f.c.warnf(pos, "%s in routes %s applies to the whole server, not only to the group's routes: declare it in the server block", what, shownPath(*f.group))
	}
}

// envDecls checks the `env` declarations of a scope together when the
// scope starts, so that every missing required variable and every
// value that does not convert is reported in one error (when a server
// block declares one, envCheck has already checked them all, and this
// check passes). Each declaration then reads its variable where it is
// written (envDecl), so that a default may use what the code before it
// binds.
func (f *fstate) envDecls(stmts []ast.Stmt) {
	var specs []ast.Expr
	for _, st := range stmts {
		if d, ok := st.(*ast.EnvDecl); ok {
			f.checkEnvDecl(d)
			specs = append(specs, envSpec(d, nil))
		}
	}
	if len(specs) == 0 {
		return
	}
	saved := f.top
	base := f.alloc(2)
	f.setPos(specs[0].Pos())
	f.emit(GETBUILTIN, base, f.c.builtin("__env_check"), 0)
	f.exprTo(&ast.ArrayLit{PosV: specs[0].Pos(), Elems: specs}, base+1)
	f.emit(CALL, base, 1, 0)
	f.release(saved)
}

// envDecl binds an `env` declaration's name to its variable's value,
// read and converted by __env_read, or, when it is unset, to its
// default, computed here and only then, made the declared type by
// __env_default.
func (f *fstate) envDecl(d *ast.EnvDecl) {
	saved := f.top
	base := f.alloc(3)
	f.setPos(d.PosV)
	f.emit(GETBUILTIN, base, f.c.builtin("__env_read"), 0)
	f.exprTo(envSpec(d, nil), base+1)
	f.emit(CALL, base, 1, 0)
	if d.Default != nil {
		set := f.emit(JNNIL, base, 0, 0)
		f.emit(GETBUILTIN, base, f.c.builtin("__env_default"), 0)
		f.exprTo(envSpec(d, nil), base+1)
		f.exprTo(d.Default, base+2)
		f.setPos(d.PosV)
		f.emit(CALL, base, 2, 0)
		f.patch(set, f.here())
	}
	f.store(d.Name.Binding, base)
	f.release(saved)
}

// envSpec is the description of d that __env_check, __env_read and
// __env_default take: server is the name of the server block declaring
// it (nil at the top level and in a scope's own check).
func envSpec(d *ast.EnvDecl, server ast.Expr) ast.Expr {
	entries := []*ast.ObjEntry{
		{PosV: d.PosV, Key: "name", Value: &ast.StringLit{PosV: d.PosV, Value: d.Name.Name}},
		{PosV: d.PosV, Key: "type", Value: &ast.StringLit{PosV: d.PosV, Value: envTypeString(d.Type)}},
		{PosV: d.PosV, Key: "required", Value: &ast.BoolLit{PosV: d.PosV, Value: d.Default == nil}},
		// where it is declared, for an error about it alone
		{PosV: d.PosV, Key: "line", Value: &ast.IntLit{PosV: d.PosV, Value: int64(d.PosV.Line)}},
		{PosV: d.PosV, Key: "col", Value: &ast.IntLit{PosV: d.PosV, Value: int64(d.PosV.Col)}},
	}
	if server != nil {
		entries = append(entries, &ast.ObjEntry{PosV: d.PosV, Key: "server", Value: server})
	}
	return &ast.ObjectLit{PosV: d.PosV, Entries: entries}
}

// envCheck makes the program's first step a check of every `env`
// declaration, top-level and in server blocks, when a server block has
// one: a server's variables are read when the server starts, after the
// top-level code, so that without it a missing top-level variable would
// hide a server's, and one server's the next one's. The check
// (__env_check) takes the declarations of the servers the process runs
// and reports every missing or unconvertible variable in one error; it
// binds nothing.
func (f *fstate) envCheck(srcs []Source) {
	var specs []ast.Expr
	hasServer := false
	var walk func(stmts []ast.Stmt, server ast.Expr)
	walk = func(stmts []ast.Stmt, server ast.Expr) {
		for _, st := range stmts {
			switch st := st.(type) {
			case *ast.EnvDecl:
				// The default is not computed: it may use what the code
				// before it binds. Only whether there is one matters.
				specs = append(specs, envSpec(st, server))
				hasServer = hasServer || server != nil
			case *ast.ServerDecl:
				walk(st.Body, &ast.StringLit{PosV: st.PosV, Value: st.Name})
			case *ast.RoutesGroup:
				walk(st.Body, server)
			}
		}
	}
	for _, s := range srcs {
		walk(s.File.Stmts, nil)
	}
	if !hasServer {
		return // the top-level declarations check themselves
	}
	saved := f.top
	base := f.alloc(2)
	f.setPos(specs[0].Pos())
	f.emit(GETBUILTIN, base, f.c.builtin("__env_check"), 0)
	f.exprTo(&ast.ArrayLit{PosV: specs[0].Pos(), Elems: specs}, base+1)
	f.emit(CALL, base, 1, 0)
	f.release(saved)
}

// envTypes are the types an environment variable's text converts to.
var envTypes = []string{"String", "Int", "Float", "Bool", "Duration"}

// readsField reports whether the code n reads a field or calls a method
// of the binding b (resp.setHeader(...)): what a response is used for,
// which next is not (req |> r passed it on as meant).
func readsField(n any, b *ast.Binding) bool {
	return usesBinding(n, b, func(node any) ast.Expr {
		if m, ok := node.(*ast.Member); ok {
			return m.X
		}
		return nil
	})
}

// calls reports whether the code n calls the binding b by its name.
func calls(n any, b *ast.Binding) bool {
	return usesBinding(n, b, func(node any) ast.Expr {
		if c, ok := node.(*ast.Call); ok {
			return c.Fn
		}
		return nil
	})
}

// usesBinding reports whether, in the code n, some node's part that
// part picks (nil: none) is a name bound to b.
func usesBinding(n any, b *ast.Binding, part func(node any) ast.Expr) bool {
	found := false
	ast.Inspect(n, func(node any) bool {
		if id, ok := part(node).(*ast.Ident); ok && b != nil && id.Binding == b {
			found = true
		}
		return !found
	})
	return found
}

// envTypeString is the type of an env declaration as the runtime reads
// it: `T?` is Option<T> (it was "?<T>", no type a variable converts to).
func envTypeString(t *ast.TypeExpr) string {
	if t != nil && t.Name == "?" && len(t.Args) == 1 {
		return "Option<" + typeString(t.Args[0]) + ">"
	}
	return typeString(t)
}

// checkEnvDecl refuses an `env` declaration whose type is not one a
// variable's text converts to, or whose literal default is not of it
// (`env PORT: Int = "x"`), where the variable would otherwise be one
// type when set and another when not.
func (f *fstate) checkEnvDecl(d *ast.EnvDecl) {
	ty := envTypeString(d.Type)
	inner := strings.TrimSuffix(strings.TrimPrefix(ty, "Option<"), ">")
	if !slices.Contains(envTypes, inner) {
		f.c.errorf(d.Type.PosV, "env %s: type %s is not one an environment variable converts to%s: %s, or Option<…> of one", d.Name.Name, ty, envTypeHint(inner), strings.Join(envTypes, ", "))
		return
	}
	got := literalType(d.Default)
	switch d.Default.(type) {
	case *ast.NilLit:
		// The reference's form for a variable that may be unset: nil
		// then, as there (warned of: its type is the environment's).
		if inner == ty {
			f.c.warnf(d.Default.Pos(), "env %s: the default is nil, not %s: %s is nil when the variable is unset; declare it %s: Option<%s> = None to say it may be missing", d.Name.Name, inner, d.Name.Name, d.Name.Name, inner)
		}
		return
	}
	if got != "" && got != inner && !(inner == "Float" && got == "Int") {
		hint := ""
		if (inner == "Duration" || inner == "Size") && (got == "Int" || got == "Float") {
			hint = ": write it with its unit (" + map[string]string{"Duration": literalText(d.Default) + ".seconds", "Size": literalText(d.Default) + ".megabytes"}[inner] + ")"
		}
		f.c.errorf(d.Default.Pos(), "env %s: the default is %s, not %s%s", d.Name.Name, got, inner, hint)
	}
}

// negativeSize reports whether e is a negated Size literal
// (-1.megabyte), which is a TypeError when it runs: a Size has no sign.
func negativeSize(e ast.Expr) bool {
	u, ok := e.(*ast.Unary)
	return ok && u.Op == "-" && literalType(u.X) == "Size"
}

// wholeFloat reports whether e is a whole Float literal for an Int
// field (1.0), which the store takes as the Int.
func wholeFloat(want string, e ast.Expr) bool {
	f, ok := e.(*ast.FloatLit)
	return ok && want == "Int" && f.Value == math.Trunc(f.Value) && math.Abs(f.Value) < 1<<53
}

// literalType is the type of a String, Int, Float, Bool, Duration or
// Size literal (maybe negated), "" for any other expression.
func literalType(e ast.Expr) string {
	if u, ok := e.(*ast.Unary); ok && u.Op == "-" {
		e = u.X // (-1.5, -30.seconds)
	}
	switch e := e.(type) {
	case *ast.UnitLit:
		if slices.Contains([]string{"byte", "kilobyte", "megabyte", "gigabyte"}, e.Unit) {
			return "Size"
		}
		return "Duration"
	case *ast.StringLit:
		return "String"
	case *ast.IntLit:
		return "Int"
	case *ast.FloatLit:
		return "Float"
	case *ast.BoolLit:
		return "Bool"
	}
	return ""
}

// modelDecl binds a model name to the value of __model(spec): the store
// runtime builds the model object from the spec. The spec's types give
// the value of each program type the fields name, as the model's
// declaration sees it, and its records the fields of each record type
// reached through them, as that type's declaration sees them: the
// store checks and reads fields by these, not by names, which two
// servers may both declare.
// modelOptionNotes are the reference's model options this runtime
// accepts without applying, with what that means; table and timestamps
// apply. soft_delete and primary_key change what a program's calls do
// (a delete would remove rows for good; find would take an id), so a
// model giving them does not compile.
var modelOptionNotes = map[string]struct {
	refuse bool
	note   string
}{
	"soft_delete": {true, "is not supported: delete removes rows for good; keep a deleted_at field and filter on it instead"},
	"primary_key": {true, "is not supported: every model's key is its Int id"},
	"belongs_to":  {false, "is not applied: the model has no accessor for the related rows (query them with where)"},
	"has_many":    {false, "is not applied: the model has no accessor for the related rows (query them with where)"},
	"has_one":     {false, "is not applied: the model has no accessor for the related row (query it with where)"},
	"indexes":     {false, "is not applied: no index is made (db.exec(\"CREATE INDEX IF NOT EXISTS ...\") below the model's declaration makes one)"},
}

// appliedOptions are the options of a model the runtime applies: those
// it warns of as not applied are not even computed (has_many: [Order]
// names a model declared after this one, which is not bound yet).
func appliedOptions(opts []*ast.ObjEntry) []*ast.ObjEntry {
	var out []*ast.ObjEntry
	for _, o := range opts {
		if _, known := modelOptionNotes[o.Key]; !known {
			out = append(out, o)
		}
	}
	return out
}

// checkModelOptions refuses a model option this runtime does not know
// (a field written `views: 0` rather than `views: Int = 0` is one) and
// warns of, or refuses, those of the reference it does not apply.
func (f *fstate) checkModelOptions(st *ast.ModelDecl) {
	for _, o := range st.Options {
		switch n, known := modelOptionNotes[o.Key]; {
		case o.Key == "table" || o.Key == "timestamps":
		case known && n.refuse:
			f.c.errorf(o.PosV, "model %s: %s %s", st.Name.Name, o.Key, n.note)
		case known && o.Key == "indexes" && uniqueFields(o.Value) != nil:
			// (duplicates went in where the program meant one row a
			// key: one like per user)
			table := strings.ToLower(st.Name.Name) + "s"
			for _, t := range st.Options {
				if lit, ok := t.Value.(*ast.StringLit); ok && t.Key == "table" {
					table = lit.Value
				}
			}
			cols := strings.Join(uniqueFields(o.Value), ", ")
			f.c.warnf(o.PosV, "model %s: indexes is not applied, and unique: true is not enforced: duplicates are stored; make the index below the model's declaration, db.exec(\"CREATE UNIQUE INDEX IF NOT EXISTS %s_key ON %s (%s)\"), and a duplicate is then a unique_violation DatabaseError", st.Name.Name, table, table, cols)
		case known:
			f.c.warnf(o.PosV, "model %s: %s %s%s", st.Name.Name, o.Key, n.note, f.c.relationHint(st, o))
		default:
			hint := "a field is written name: Type (views: Int = 0)"
			if s := diag.Closest(o.Key, []string{"table", "timestamps"}); s != "" {
				hint = "did you mean " + s + "?"
			}
			f.c.errorf(o.PosV, "model %s: unknown option %s (%s)", st.Name.Name, o.Key, hint)
		}
	}
}

// uniqueFields are the fields of the first index an indexes option's
// value asks to be unique (unique: true), ["field"] when it names none
// as literals; nil when it asks for none.
func uniqueFields(v ast.Expr) []string {
	var fields []string
	ast.Inspect(v, func(n any) bool {
		o, ok := n.(*ast.ObjectLit)
		if !ok || fields != nil {
			return fields == nil
		}
		unique := false
		var named []string
		for _, e := range o.Entries {
			switch e.Key {
			case "unique":
				b, ok := e.Value.(*ast.BoolLit)
				unique = !ok || b.Value
			case "fields":
				if a, ok := e.Value.(*ast.ArrayLit); ok {
					for _, x := range a.Elems {
						if s, ok := x.(*ast.StringLit); ok {
							named = append(named, s.Value)
						}
					}
				}
			}
		}
		if unique {
			fields = named
			if len(fields) == 0 {
				fields = []string{"field"}
			}
		}
		return fields == nil
	})
	return fields
}

// relationHint is the "; store the id, user_id: Int" of a belongs_to
// (bare, belongs_to: User, or a list of one) whose model has no field
// for the related row's id, and the "; store the id in Comment, post_id:
// Int" of a has_many or has_one, else "".
func (c *compiler) relationHint(st *ast.ModelDecl, o *ast.ObjEntry) string {
	if o.Key != "belongs_to" && o.Key != "has_many" && o.Key != "has_one" {
		return ""
	}
	v := o.Value
	if a, ok := v.(*ast.ArrayLit); ok && len(a.Elems) == 1 {
		v = a.Elems[0]
	}
	id, ok := v.(*ast.Ident)
	if !ok {
		return ""
	}
	if o.Key != "belongs_to" {
		// (the id of the one is kept by the many)
		field := strings.ToLower(st.Name.Name) + "_id"
		if slices.Contains(c.modelFields(id.Name), field) {
			return ""
		}
		return "; store the id in " + id.Name + ", " + field + ": Int"
	}
	field := strings.ToLower(id.Name) + "_id"
	for _, fl := range st.Fields {
		if fl.Name == field {
			return ""
		}
	}
	return "; store the id, " + field + ": Int"
}

// modelFields are the field names of the program's model name (none
// if it declares no such model).
func (c *compiler) modelFields(name string) []string {
	var out []string
	for _, src := range c.srcs {
		ast.Inspect(src.File, func(n any) bool {
			if m, ok := n.(*ast.ModelDecl); ok && m.Name != nil && m.Name.Name == name {
				for _, fl := range m.Fields {
					out = append(out, fl.Name)
				}
			}
			return true
		})
	}
	return out
}

func (f *fstate) modelDecl(st *ast.ModelDecl) {
	f.checkModelOptions(st)
	f.c.indexDecls()
	sc := f.c.declScope[st]
	fields := st.Fields
	if len(fields) == 0 {
		if td := f.c.visibleType(sc, st.Name.Name); td != nil && td.Alias == nil {
			fields, sc = td.Fields, f.c.declScope[td]
		} else if td == nil {
			// (the reference's `model User` of a type User: with none,
			// the model had an id alone, and create({ name }) failed
			// with a ColumnError)
			f.c.warnf(st.PosV, "model %s has no fields and no type %s gives it any: its rows hold an id alone; declare them, model %s { name: String }, or a type %s { ... } beside it", st.Name.Name, st.Name.Name, st.Name.Name, st.Name.Name)
		}
	}
	for _, o := range st.Options {
		if b, ok := o.Value.(*ast.BoolLit); ok && o.Key == "timestamps" && b.Value {
			for _, fl := range fields {
				if (fl.Name == "created_at" || fl.Name == "updated_at") && fl.Type != nil && fl.Type.Name != "Date" {
					// (the store made it a Date, and a filter of the
					// declared type failed: field created_at is Date)
					f.c.errorf(fl.PosV, "model %s: %s is the Date timestamps: true sets on each row: declare it a Date, or leave it out", st.Name.Name, fl.Name)
				}
			}
		}
	}
	mt := &modelTypes{c: f.c, pos: st.PosV, seen: map[*ast.TypeDecl]bool{}}
	var types []*ast.ObjEntry
	fieldList := &ast.ArrayLit{PosV: st.PosV}
	for _, fl := range fields {
		if len(st.Fields) > 0 { // (a model of a type: the type's fields were checked as such)
			f.checkAnnotation(fl.Type, "the field "+fl.Name, modelSite)
		}
		typText := mt.text(sc, fl.Type, nil, &types)
		if fl.Name == "id" && (fl.Default != nil || fl.Type != nil && typText != "Int" && typText != "Int?") {
			// The store makes id, the table's Int primary key, itself:
			// id: String = uuid() gave rows 1, 2, 3, guessable where a
			// token was meant, without a word.
			pos := fl.PosV
			if len(st.Fields) == 0 {
				pos = st.PosV
			}
			f.c.errorf(pos, "model %s: id is the table's primary key, an Int the store gives each row (1, 2, 3...): a field id of another type or with a default would not be applied; name that field otherwise (token: String = uuid())", st.Name.Name)
		}
		if negativeSize(thunked(fl.Default)) {
			f.c.errorf(fl.Default.Pos(), "model %s: the default of %s is a negative Size: a Size is never negative", st.Name.Name, fl.Name)
		} else if got, want := literalType(fl.Default), strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(typText, "Option<"), ">"), "?"); got != "" && got != want &&
			(slices.Contains([]string{"String", "Int", "Float", "Bool", "Duration", "Size"}, want) || strings.HasPrefix(want, "[") || want == "Date" && (got == "Bool" || got == "Duration" || got == "Size")) &&
			!(want == "Float" && got == "Int") && !wholeFloat(want, fl.Default) {
			// Each create relying on it would fail (a TypeError at the
			// call, a 500 in a route), as an env's would at start.
			f.c.errorf(fl.Default.Pos(), "model %s: the default of %s is %s, not %s", st.Name.Name, fl.Name, got, want)
		}
		var def ast.Expr = &ast.NilLit{PosV: fl.PosV}
		if fl.Default != nil {
			def = fl.Default
		}
		fieldList.Elems = append(fieldList.Elems, &ast.ObjectLit{PosV: fl.PosV, Entries: []*ast.ObjEntry{
			{PosV: fl.PosV, Key: "name", Value: &ast.StringLit{PosV: fl.PosV, Value: fl.Name}},
			// (aliases followed: `type Id = Int` makes an Id field an Int column)
			{PosV: fl.PosV, Key: "type", Value: &ast.StringLit{PosV: fl.PosV, Value: typText}},
			// (as written: older tovas stored an Id field as JSON text)
			{PosV: fl.PosV, Key: "written", Value: &ast.StringLit{PosV: fl.PosV, Value: typeString(fl.Type)}},
			{PosV: fl.PosV, Key: "default", Value: def},
			{PosV: fl.PosV, Key: "has_default", Value: &ast.BoolLit{PosV: fl.PosV, Value: fl.Default != nil}},
			// (a default that is no literal is fn() expr: each create calls it)
			{PosV: fl.PosV, Key: "default_fn", Value: &ast.BoolLit{PosV: fl.PosV, Value: isThunk(fl.Default)}},
		}})
	}
	spec := &ast.ObjectLit{PosV: st.PosV, Entries: []*ast.ObjEntry{
		{PosV: st.PosV, Key: "name", Value: &ast.StringLit{PosV: st.PosV, Value: st.Name.Name}},
		{PosV: st.PosV, Key: "fields", Value: fieldList},
		{PosV: st.PosV, Key: "options", Value: &ast.ObjectLit{PosV: st.PosV, Entries: appliedOptions(st.Options)}},
		{PosV: st.PosV, Key: "types", Value: &ast.ObjectLit{PosV: st.PosV, Entries: types}},
		{PosV: st.PosV, Key: "records", Value: &ast.ArrayLit{PosV: st.PosV, Elems: mt.records}},
	}}
	saved := f.top
	base := f.alloc(2)
	f.setPos(st.PosV)
	f.emit(GETBUILTIN, base, f.c.builtin("__model"), 0)
	f.exprTo(spec, base+1)
	f.emit(CALL, base, 1, 0)
	f.store(st.Name.Binding, base)
	f.release(saved)
}

// thunked is the expression of a field's default the parser wrapped in
// fn() expr, else e.
func thunked(e ast.Expr) ast.Expr {
	if isThunk(e) {
		if b := e.(*ast.Lambda).Fn.Body; b != nil && len(b.Stmts) == 1 {
			if st, ok := b.Stmts[0].(*ast.ExprStmt); ok {
				return st.X
			}
		}
	}
	return e
}

// isThunk says whether a field's default is the parser's fn() expr
// wrapping of a default that is no literal.
func isThunk(e ast.Expr) bool {
	l, ok := e.(*ast.Lambda)
	return ok && len(l.Fn.Params) == 0 && l.Fn.Name == ""
}

// modelTypes gathers the program types of a model spec: records holds
// { type, fields, types } for each record type reached, its fields'
// types as text and the types these name (name → the type's value).
type modelTypes struct {
	c       *compiler
	pos     token.Pos
	records []ast.Expr
	seen    map[*ast.TypeDecl]bool
}

// text returns type t, written in scope sc, as the store reads it: with
// the aliases visible there followed (`type Id = Int` makes an Id field
// an Int column), and adds the program types it names to *types (the
// first of a name wins, which only an alias naming a type another
// scope shadows can make differ). params are the type parameters in
// scope, which name no type.
func (m *modelTypes) text(sc typeScope, t *ast.TypeExpr, params []string, types *[]*ast.ObjEntry) string {
	return fieldTypeString(m.resolve(sc, t, params, types, 0))
}

// fieldTypeString is typeString with an optional type written T?, as
// declared and as the store reads it (typeString writes ?<T>).
func fieldTypeString(t *ast.TypeExpr) string {
	if t == nil || len(t.Args) == 0 {
		return typeString(t)
	}
	args := make([]string, len(t.Args))
	for i, a := range t.Args {
		args[i] = fieldTypeString(a)
	}
	switch {
	case t.Name == "?" && len(args) == 1:
		return args[0] + "?"
	case t.Name == "[]" && len(args) == 1:
		return "[" + args[0] + "]"
	}
	return t.Name + "<" + strings.Join(args, ", ") + ">"
}

func (m *modelTypes) resolve(sc typeScope, t *ast.TypeExpr, params []string, types *[]*ast.ObjEntry, depth int) *ast.TypeExpr {
	if t == nil || depth > 16 { // (a cycle of aliases stays as it is)
		return t
	}
	if len(t.Args) > 0 {
		u := *t
		u.Args = make([]*ast.TypeExpr, len(t.Args))
		for i, a := range t.Args {
			u.Args[i] = m.resolve(sc, a, params, types, depth+1)
		}
		if td := m.c.visibleType(sc, t.Name); td != nil && td.Alias == nil && !slices.Contains(params, t.Name) {
			// An applied generic type (Box<Int>): its declaration
			// checks and reads the field, as a plain type's does (it was
			// not named, and the rows read back plain objects).
			m.refer(td, types)
		}
		return &u
	}
	if slices.Contains(params, t.Name) {
		return t
	}
	td := m.c.visibleType(sc, t.Name)
	switch {
	case td == nil:
	case td.Alias != nil:
		return m.resolve(m.c.declScope[td], td.Alias, nil, types, depth+1)
	default:
		m.refer(td, types)
	}
	return t
}

// refer adds type td to *types under its name and, for a record type
// met the first time, its entry to m.records.
func (m *modelTypes) refer(td *ast.TypeDecl, types *[]*ast.ObjEntry) {
	name := td.Name.Name
	if !slices.ContainsFunc(*types, func(e *ast.ObjEntry) bool { return e.Key == name }) {
		*types = append(*types, &ast.ObjEntry{PosV: m.pos, Key: name, Value: &ast.Ident{PosV: m.pos, Name: name, Binding: td.Name.Binding}})
	}
	if len(td.Variants) > 0 || m.seen[td] {
		return
	}
	m.seen[td] = true // (before its fields: a record type may contain itself)
	var own []*ast.ObjEntry
	texts := &ast.ArrayLit{PosV: m.pos}
	for _, fl := range td.Fields {
		texts.Elems = append(texts.Elems, &ast.StringLit{PosV: m.pos, Value: m.text(m.c.declScope[td], fl.Type, td.Params, &own)})
	}
	m.records = append(m.records, &ast.ObjectLit{PosV: m.pos, Entries: []*ast.ObjEntry{
		{PosV: m.pos, Key: "type", Value: &ast.Ident{PosV: m.pos, Name: name, Binding: td.Name.Binding}},
		{PosV: m.pos, Key: "fields", Value: texts},
		{PosV: m.pos, Key: "types", Value: &ast.ObjectLit{PosV: m.pos, Entries: own}},
	}})
}

// literal returns the value of a literal operand of a server setting: an
// Int, a Float (either maybe negated), a String, a Bool or nil; ok is
// false for anything computed, which serve checks when it starts.
func literal(e ast.Expr) (v any, ok bool) {
	neg := false
	if u, isUnary := e.(*ast.Unary); isUnary && u.Op == "-" {
		neg, e = true, u.X
	}
	switch x := e.(type) {
	case *ast.IntLit:
		if neg {
			return -x.Value, true
		}
		return x.Value, true
	case *ast.FloatLit:
		if neg {
			return -x.Value, true
		}
		return x.Value, true
	}
	if neg {
		return nil, false
	}
	switch x := e.(type) {
	case *ast.StringLit:
		return x.Value, true
	case *ast.BoolLit:
		return x.Value, true
	case *ast.NilLit:
		return nil, true
	}
	return nil, false
}

// The rules of the server settings, in the words of their errors: the
// compiler applies them to literals, serve to computed values. Each
// takes the value as Tova shows it.
const (
	PortRule     = "port must be an Int between 0 and 65535, got %s"
	BodySizeRule = "a body limit must be positive, got %s"
	SizeRule     = "expected a size such as 5.megabytes, got %s"
)

// checkPort refuses a literal port serve would refuse at startup, with
// the same words, at the declaration.
func (f *fstate) checkPort(st *ast.PortStmt) {
	if u, ok := st.X.(*ast.UnitLit); ok {
		f.c.errorf(st.X.Pos(), PortRule, "a "+map[bool]string{true: "size", false: "duration"}[strings.HasSuffix(u.Unit, "byte")]+" ("+u.Unit+"s)")
		return
	}
	v, ok := literal(st.X)
	if !ok {
		return
	}
	if n, isInt := v.(int64); isInt && n >= 0 && n <= 65535 {
		return
	}
	f.c.errorf(st.X.Pos(), PortRule, literalRepr(v))
}

// checkMaxBody refuses a literal body limit that is not a positive Int
// or a size (a duration literal is refused too; a size's value is
// checked by serve).
func (f *fstate) checkMaxBody(st *ast.MaxBodyStmt) {
	x, neg := st.X, false
	if u, ok := x.(*ast.Unary); ok && u.Op == "-" {
		if _, ok := u.X.(*ast.UnitLit); ok {
			x, neg = u.X, true
		}
	}
	if m, ok := x.(*ast.Member); ok {
		if _, isNum := literal(m.X); isNum && !neg {
			// 5.kb: a number with a field no unit has
			f.c.errorf(st.X.Pos(), "max_body: %s is no size unit: write bytes, kilobytes, megabytes or gigabytes (5.megabytes)", m.Name)
			return
		}
	}
	if u, ok := x.(*ast.UnitLit); ok {
		switch u.Unit {
		case "byte", "kilobyte", "megabyte", "gigabyte":
			unit := map[string]float64{"byte": 1, "kilobyte": 1 << 10, "megabyte": 1 << 20, "gigabyte": 1 << 30}[u.Unit]
			n, ok := literal(u.Number)
			if !ok {
				break
			}
			shown := literalRepr(n) + "." + u.Unit + "s"
			switch v := asFloat(n) * unit; {
			case neg || v < 1:
				if neg {
					shown = "-" + shown
				}
				f.c.errorf(st.X.Pos(), "max_body: "+BodySizeRule, shown)
			case v >= math.MaxInt64:
				f.c.errorf(st.X.Pos(), "max_body: %s is too large a size", shown)
			}
		default: // a duration: 5.seconds
			f.c.errorf(st.X.Pos(), "max_body: "+SizeRule, "a duration ("+u.Unit+"s)")
		}
		return
	}
	v, ok := literal(st.X)
	if !ok {
		return
	}
	switch n, isInt := v.(int64); {
	case !isInt:
		f.c.errorf(st.X.Pos(), "max_body: "+SizeRule, literalRepr(v))
	case n <= 0:
		f.c.errorf(st.X.Pos(), "max_body: "+BodySizeRule, literalRepr(n))
	}
}

// asFloat is a number literal's value as a float64 (0 for others).
func asFloat(v any) float64 {
	switch v := v.(type) {
	case int64:
		return float64(v)
	case float64:
		return v
	}
	return 0
}

// literalRepr shows a literal as Tova source would write it.
func literalRepr(v any) string {
	switch v := v.(type) {
	case nil:
		return "nil"
	case string:
		return strconv.Quote(v)
	case float64:
		r := strconv.FormatFloat(v, 'f', -1, 64)
		if !strings.ContainsAny(r, ".eEIN") {
			r += ".0" // a Float, though integral: 8080.0
		}
		return r
	}
	return fmt.Sprint(v)
}

// groupGuardKeys are group options that mean to guard the group's
// routes, which no option of a group does: refused, as auth: is.
var groupGuardKeys = []string{"guard", "guards", "middleware", "middlewares", "with", "before", "require", "requires", "protect", "protected", "authenticate", "authorize", "permission", "permissions", "policy", "access"}

// groupMetaKeys are the options the reference gives a routes group
// (`routes "/v1" version: "1" deprecated: true { ... }`).
var groupMetaKeys = []string{"version", "deprecated", "sunset"}

// warnStatusSlips warns of answers of fn (a handler, or middleware:
// what) written as other frameworks give a status, which here answer
// 200 with the status in the body: Flask's `return body, 201` (the list
// [body, 201]) and `return 404`, and an object `{ status: 401, error }`.
func (c *compiler) warnStatusSlips(fn *ast.Function, what string) {
	if fn == nil || fn.Body == nil {
		return
	}
	setsStatus := false // (it takes res: res.status(401) may set it)
	for _, p := range fn.Params {
		if p.Name != nil && (p.Name.Name == "res" || p.Name.Name == "response") {
			setsStatus = true
		}
	}
	isStatus := func(e ast.Expr, lo int64) (int64, bool) {
		n, ok := e.(*ast.IntLit)
		if !ok {
			return 0, false
		}
		return n.Value, n.Value >= lo && n.Value <= 599
	}
	check := func(x ast.Expr) {
		switch x := x.(type) {
		case *ast.ArrayLit:
			// (return body, 201: a list whose place is its first
			// value's; return (body, 201), a tuple)
			if len(x.Elems) == 2 && (x.PosV == x.Elems[0].Pos() || x.Tuple) {
				if code, ok := isStatus(x.Elems[1], 100); ok {
					c.warnf(x.Elems[1].Pos(), "%s answering `body, %d` answers the list [body, %d] with status 200: a status is given with respond(%d, body), or res.status(%d)", what, code, code, code, code)
				} else if code, ok := isStatus(x.Elems[0], 100); ok {
					// (return 404, { error }: the status first)
					c.warnf(x.Elems[0].Pos(), "%s answering `%d, body` answers the list [%d, body] with status 200: a status is given with respond(%d, body), or res.status(%d)", what, code, code, code, code)
				}
			}
		case *ast.IntLit:
			if code, ok := isStatus(x, 400); ok {
				c.warnf(x.PosV, "%s answering %d answers the number %d with status 200: a status is given with respond(%d, body), or res.status(%d)", what, code, code, code, code)
			}
		case *ast.ObjectLit:
			for _, en := range x.Entries {
				if en.Key != "status" || setsStatus {
					continue
				}
				if code, ok := isStatus(en.Value, 300); ok {
					c.warnf(en.Value.Pos(), "%s answering an object with status: %d answers it as JSON with status 200: a status is given with respond(%d, { ... }), or res.status(%d)", what, code, code, code)
				}
			}
		}
	}
	ast.Inspect(fn.Body, func(n any) bool {
		switch n := n.(type) {
		case *ast.Lambda, *ast.Function:
			return false
		case *ast.Return:
			check(n.X)
		}
		return true
	})
	if k := len(fn.Body.Stmts); k > 0 {
		if es, ok := fn.Body.Stmts[k-1].(*ast.ExprStmt); ok {
			check(es.X)
		}
	}
}

// warnIgnoredAnswer warns of a value a hook or guard of the (req, res)
// shape answers that answers nothing: an object, a text or a list
// (`return { error: "unauthorized" }`), which lets the request through
// to the handler, as nil does, where it was written to refuse it.
func (c *compiler) warnIgnoredAnswer(fn *ast.Function, what string) {
	if fn == nil || fn.Body == nil || len(fn.Params) != 2 {
		return
	}
	res := fn.Params[1].Name
	if res == nil || res.Name != "res" && res.Name != "response" {
		return
	}
	usesRes := false // (res.status(401) refuses; the object is its body's afterthought)
	ast.Inspect(fn.Body, func(n any) bool {
		if m, ok := n.(*ast.Member); ok {
			if id, ok := m.X.(*ast.Ident); ok && id.Binding != nil && id.Binding == res.Binding {
				usesRes = true
			}
		}
		return !usesRes
	})
	if usesRes {
		return
	}
	var at ast.Expr
	var tail func(e ast.Expr)
	tailBlock := func(b *ast.Block) {
		if b != nil && len(b.Stmts) > 0 {
			if es, ok := b.Stmts[len(b.Stmts)-1].(*ast.ExprStmt); ok {
				tail(es.X)
			}
		}
	}
	tail = func(e ast.Expr) {
		switch e := e.(type) {
		case *ast.ObjectLit, *ast.StringLit, *ast.InterpString, *ast.ArrayLit:
			if at == nil {
				at = e
			}
		case *ast.If:
			tailBlock(e.Then)
			for _, el := range e.Elifs {
				tailBlock(el.Body)
			}
			tailBlock(e.Else)
		case *ast.Block:
			tailBlock(e)
		}
	}
	ast.Inspect(fn.Body, func(n any) bool {
		switch n := n.(type) {
		case *ast.Lambda, *ast.Function:
			return false
		case *ast.Return:
			tail(n.X)
		}
		return at == nil
	})
	tailBlock(fn.Body)
	if at == nil {
		return
	}
	kind := "an object"
	switch at.(type) {
	case *ast.StringLit, *ast.InterpString:
		kind = "a text"
	case *ast.ArrayLit:
		kind = "a list"
	}
	c.warnf(at.Pos(), "%s answers %s here, which refuses nothing: of the (req, res) shape, it stops the request only with a response, return respond(401, { error: \"unauthorized\" }) (a guard also with false, Err(...) or None: 403), and any other value lets the request through to the handler", what, kind)
}

// frameworkParams are the names other frameworks give a handler's
// context or writer (gin's c, Koa's ctx, net/http's w and r).
var frameworkParams = map[string]string{"c": "gin", "ctx": "Koa's or gin's", "context": "a framework's", "w": "net/http's", "r": "net/http's", "rw": "net/http's", "writer": "net/http's", "resp": "a framework's"}

// warnFrameworkParams warns of a handler parameter named as another
// framework's context (c, ctx, w, r) whose methods the handler calls
// (c.JSON(200, ...)): it binds by name, a query or body field of that
// name, nil without one, and the call failed at run time.
func (f *fstate) warnFrameworkParams(st *ast.RouteDecl, path string, fn *ast.Function) {
	for _, prm := range fn.Params {
		if prm.Name == nil || prm.Type != nil || frameworkParams[prm.Name.Name] == "" || strings.Contains(path, ":"+prm.Name.Name) {
			continue
		}
		b := prm.Name.Binding
		var at *ast.Member
		read := false // (a field read, not a call)
		ast.Inspect(fn.Body, func(n any) bool {
			if c, ok := n.(*ast.Call); ok && at == nil {
				if m, ok := c.Fn.(*ast.Member); ok {
					if id, ok := m.X.(*ast.Ident); ok && id.Binding == b && b != nil && frameworkMethod(m.Name) {
						at = m
					}
				}
			}
			if a, ok := n.(*ast.Assign); ok && at == nil && contextNames[prm.Name.Name] {
				// (Koa's ctx.body = {...}, ctx.status = 201: set on nil)
				for _, tg := range a.Targets {
					if pt, ok := tg.(*ast.PTarget); ok {
						if m, ok := pt.X.(*ast.Member); ok {
							if id, ok := m.X.(*ast.Ident); ok && id.Binding == b && b != nil {
								at, read = m, true
							}
						}
					}
				}
			}
			if m, ok := n.(*ast.Member); ok && at == nil && requestFields[m.Name] && contextNames[prm.Name.Name] {
				// (net/http's r.URL.Path, Koa's ctx.path: a request's
				// field read of a query value, nil)
				if id, ok := m.X.(*ast.Ident); ok && id.Binding == b && b != nil {
					at, read = m, true
				}
			}
			return at == nil
		})
		if at != nil {
			use := fmt.Sprintf("%s.%s(...) fails", prm.Name.Name, at.Name)
			if read {
				use = fmt.Sprintf("%s.%s fails", prm.Name.Name, at.Name)
			}
			f.c.warnf(prm.Name.PosV, "route %s %s: the parameter %s is no request or response context (%s): a handler's parameters bind by name, so %s is the query or body field %q, nil without one, and %s; take fn(req, res), and answer with the value itself, or respond(code, body)", st.Method, shownPath(path), prm.Name.Name, frameworkParams[prm.Name.Name], prm.Name.Name, prm.Name.Name, use)
		}
	}
}

// warnUntypedDefaults warns of a handler parameter without a type whose
// default is a number or a Bool (fn(page = 1), fn(active = false)): a
// request's value arrives as text, so page + 1 of ?page=2 is "21", and
// "false" is true; declared page: Int = 1, it is converted.
func (f *fstate) warnUntypedDefaults(st *ast.RouteDecl, path string, fn *ast.Function) {
	for _, prm := range fn.Params {
		if prm.Name == nil || prm.Type != nil || prm.Default == nil {
			continue
		}
		d := prm.Default
		if u, ok := d.(*ast.Unary); ok && u.Op == "-" {
			d = u.X
		}
		kind, example := "", ""
		switch d.(type) {
		case *ast.IntLit:
			kind, example = "Int", `"2"`
		case *ast.FloatLit:
			kind, example = "Float", `"2.5"`
		case *ast.BoolLit:
			kind, example = "Bool", `"false"`
		default:
			continue
		}
		name := prm.Name.Name
		f.c.warnf(prm.Name.PosV, "route %s %s: the parameter %s has a default of type %s but no type of its own: a request's value arrives as text (%s), which is neither converted nor checked; declare it %s: %s = ... to have it converted (a value that is no %s answers 400)", st.Method, shownPath(path), name, kind, example, name, kind, kind)
	}
}

// frameworkMethod reports whether a method of that name is one other
// frameworks' contexts have and no value a handler parameter reads does
// (c.JSON, w.Write, ctx.throw): Tova's builtins are lower-case, and a
// text's or a list's methods are not these.
// contextNames are the parameter names whose request fields read are
// warned of (c, w and the rest may well be a body's object field).
var contextNames = map[string]bool{"r": true, "ctx": true, "context": true}

// requestFields are a request's fields, as other frameworks' contexts
// have them too: read of a handler's parameter named c, ctx, w or r,
// they were meant of the request.
var requestFields = map[string]bool{"path": true, "method": true, "headers": true, "params": true, "url": true,
	"URL": true, "Header": true, "Body": true, "Method": true, "request": true, "req": true, "ip": true}

func frameworkMethod(name string) bool {
	if name != "" && name[0] >= 'A' && name[0] <= 'Z' {
		return true
	}
	switch name {
	case "json", "send", "status", "throw", "redirect", "render", "sendStatus", "set", "body", "query", "param", "header", "cookie", "bind", "abort":
		return true
	}
	return false
}
