package resolve

import (
	"fmt"
	"sort"
	"strings"

	"tova/frontend/ast"
	"tova/frontend/diag"
	"tova/frontend/token"
)

// Calls between servers (Decision 16). Inside a server block, the name
// of another server of the program followed by one of its functions,
// `worker.compute(21)`, calls that function over HTTP: the resolver
// makes `worker` the value the runtime gives for that server,
// `__peer("worker")`, and marks worker's compute as called by name
// (ast.FnDecl.RPC), so that worker answers it at POST /rpc/compute.
// A server exposes no other function: those no server of the program
// calls by name stay private to it.
//
// A binding named like the server (a parameter, a local variable) wins,
// as it does for builtins; a builtin named like a server does not,
// unless the member is no function of that server. A function or
// variable of the module or of the calling server named like the
// server, where a call names one of that server's functions
// (`fn api()` beside `server "api"`, then `api.get_x()`), is an error:
// the call would never reach the server, and fail only when run.

// peerBuiltin is the builtin a server's name becomes.
const peerBuiltin = "__peer"

// collectServerFns records the plain functions of a server block
// (those of its routes groups included): what other servers may call
// by name.
func (r *resolver) collectServerFns(name string, body []ast.Stmt) {
	if r.serverFns == nil {
		r.serverFns = map[string]map[string]*ast.FnDecl{}
	}
	fns := r.serverFns[name]
	if fns == nil {
		fns = map[string]*ast.FnDecl{}
		r.serverFns[name] = fns
	}
	for _, st := range body {
		switch st := st.(type) {
		case *ast.FnDecl:
			if _, seen := fns[st.Name.Name]; !seen {
				fns[st.Name.Name] = st
			}
		case *ast.RoutesGroup:
			r.collectServerFns(name, st.Body)
		}
	}
}

// currentServer returns the name of the server block whose code is
// being resolved; ok is false outside any server block.
func (r *resolver) currentServer() (name string, ok bool) {
	for s := r.cur; s != nil; s = s.parent {
		if s.kind != scopeServer {
			continue
		}
		for n, sc := range r.servers {
			if sc == s {
				return n, true
			}
		}
	}
	return "", false
}

// peerMember resolves m when it names a function of another server
// (`worker.compute`), reporting whether it did: m.X then calls
// __peer("worker"). A member that is no function of that server is an
// error naming both.
func (r *resolver) peerMember(m *ast.Member) bool {
	id, ok := m.X.(*ast.Ident)
	if !ok || id.Name == "" {
		return false
	}
	fns, isServer := r.serverFns[id.Name]
	if !isServer {
		return false
	}
	here, inServer := r.currentServer()
	if !inServer || here == id.Name {
		// (in the server's own code a binding of its name is what is
		// meant: its functions are called by their own names there)
		return false
	}
	decl := fns[m.Name]
	if b := r.lookup(id.Name); b != nil {
		if decl != nil && r.declaredAtTop(id.Name, b) {
			r.shadowedServer(id, m, b)
		}
		return false
	}
	if decl == nil {
		if r.isBuiltin(id.Name) {
			return false // JSON.parse beside a server named JSON
		}
		end := token.Pos{Line: m.PosV.Line, Col: m.PosV.Col + int32(len([]rune(m.Name)))}
		msg := fmt.Sprintf("server %s has no function %s", id.Name, m.Name)
		if names := fnNames(fns); len(names) == 0 {
			msg += " (it declares none: another server calls the fns of a server block)"
		} else if s := closest(m.Name, names); s != "" {
			msg += fmt.Sprintf(" (did you mean %s.%s?)", id.Name, s)
		} else {
			msg += fmt.Sprintf(" (its functions: %s)", joinNames(names))
		}
		r.errorf(id.PosV, end, "%s", msg)
		id.Binding = &ast.Binding{Name: id.Name, Scope: ast.Undefined}
		return true
	}
	decl.RPC = true
	if r.peerCalls == nil {
		r.peerCalls = map[*ast.Member]*ast.FnDecl{}
	}
	r.peerCalls[m] = decl
	m.X = &ast.Call{PosV: id.PosV,
		Fn:   &ast.Ident{PosV: id.PosV, Name: peerBuiltin, Binding: r.builtin(peerBuiltin)},
		Args: []*ast.Arg{{PosV: id.PosV, Value: &ast.StringLit{PosV: id.PosV, Value: id.Name}}},
	}
	return true
}

// kindWord names a kind of declaration in a message.
func kindWord(k declKind) string {
	switch k {
	case kindFn:
		return "function"
	case kindType, kindVariant:
		return "type"
	case kindModel:
		return "model"
	case kindImport:
		return "import"
	case kindData:
		return "data source"
	}
	return "variable"
}

// shadowedServer reports the call m of server id's function that goes
// to b, a binding of the module or of the calling server named like the
// server, instead.
func (r *resolver) shadowedServer(id *ast.Ident, m *ast.Member, b *ast.Binding) {
	end := token.Pos{Line: m.PosV.Line, Col: m.PosV.Col + int32(len([]rune(m.Name)))}
	what := "the " + kindWord(r.info[b].kind)
	var notes []diag.Note
	if b.Decl.IsValid() {
		what += fmt.Sprintf(" declared at %d:%d", b.Decl.Line, b.Decl.Col)
		notes = append(notes, diagNote(b.Decl, id.Name))
	}
	msg := fmt.Sprintf("%s here is %s, not server %s: rename one of them to call server %s's %s", id.Name, what, id.Name, id.Name, m.Name)
	r.errs.Add(r.file.Name, id.PosV, end, msg, notes...)
}

// declaredAtTop reports whether b, the binding name resolves to, is
// declared in a module or a server block rather than in a function (a
// parameter, a local).
func (r *resolver) declaredAtTop(name string, b *ast.Binding) bool {
	for s := r.cur; s != nil; s = s.parent {
		if s.names[name] == b {
			return s.kind == scopeModule || s.kind == scopeServer
		}
	}
	return false
}

// peerNamedArgs binds the named arguments of a call of another server's
// function decl (`worker.pair(b: 2, a: 1)`) to its parameters here,
// where the declaration is known, as a local call binds them: the call
// sends its arguments by position. The arguments are still computed in
// the order written; `__peer("worker", [1, 0])` then tells the parameter
// each one is for, and a parameter left out between two given is sent
// as left out (it takes its default). Named arguments no parameter has
// go into one object for a trailing destructured parameter, as in a
// local call; without one, each is an error.
func (r *resolver) peerNamedArgs(c *ast.Call, m *ast.Member, decl *ast.FnDecl) {
	named := false
	for _, a := range c.Args {
		if a.Spread {
			return // (positions unknown until run: sent as they are)
		}
		named = named || a.Name != ""
	}
	if !named {
		return
	}
	params := decl.Fn.Params
	var names []string
	for _, p := range params {
		if p.Name != nil && !p.Rest {
			names = append(names, p.Name.Name)
		}
	}
	var gather *ast.ObjectLit // for a trailing destructured parameter
	last := len(params) - 1
	if last >= 0 && params[last].Pattern != nil {
		if _, isObject := params[last].Pattern.(*ast.PObject); isObject {
			gather = &ast.ObjectLit{PosV: c.PosV}
		}
	}
	var out []*ast.Arg // in the order written
	var slots []int    // the parameter of each
	taken := map[int]bool{}
	for _, a := range c.Args {
		if a.Name == "" {
			taken[len(out)] = true
			slots = append(slots, len(out))
			out = append(out, a)
		}
	}
	for _, a := range c.Args {
		if a.Name == "" {
			continue
		}
		j := -1
		for i, p := range params {
			if p.Name != nil && !p.Rest && p.Name.Name == a.Name {
				j = i
			}
		}
		end := token.Pos{Line: a.PosV.Line, Col: a.PosV.Col + int32(len([]rune(a.Name)))}
		switch {
		case j < 0 && gather != nil:
			if len(gather.Entries) == 0 {
				// (where its first entry is written)
				taken[last] = true
				slots = append(slots, last)
				out = append(out, &ast.Arg{PosV: gather.PosV, Value: gather})
			}
			gather.Entries = append(gather.Entries, &ast.ObjEntry{PosV: a.PosV, Key: a.Name, Value: a.Value})
			continue
		case j < 0:
			msg := fmt.Sprintf("%s.%s has no parameter named %s", m.X.(*ast.Call).Args[0].Value.(*ast.StringLit).Value, m.Name, a.Name)
			if s := closest(a.Name, names); s != "" && len(a.Name) >= 2 {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			} else if len(names) == 0 {
				msg += " (it has none)"
			} else {
				msg += " (its parameters: " + strings.Join(names, ", ") + ")"
			}
			r.errorf(a.PosV, end, "%s", msg)
			continue
		case taken[j]:
			r.errorf(a.PosV, end, "argument %s given twice (by position and by name, or by name twice)", a.Name)
			continue
		}
		taken[j] = true
		slots = append(slots, j)
		out = append(out, &ast.Arg{PosV: a.PosV, Value: a.Value})
	}
	c.Args = out
	elems := make([]ast.Expr, len(slots))
	for i, j := range slots {
		elems[i] = &ast.IntLit{PosV: c.PosV, Value: int64(j)}
	}
	peer := m.X.(*ast.Call)
	peer.Args = append(peer.Args, &ast.Arg{PosV: c.PosV, Value: &ast.ArrayLit{PosV: c.PosV, Elems: elems}})
}

// serverNote completes the "undefined" error of a name that is a
// server's, or one a discover declaration gives.
func (r *resolver) serverNote(name string) (string, bool) {
	if name == "" {
		return "", false
	}
	if _, isServer := r.serverFns[name]; isServer {
		if here, _ := r.currentServer(); here == name {
			return fmt.Sprintf(" (%s is this server: call its functions by their own names)", name), true
		}
		return fmt.Sprintf(" (%s is a server: another server's code calls its functions as %s.fn(args))", name, name), true
	}
	if r.discovered[name] {
		return fmt.Sprintf(" (%s is discovered, but no server block of this program is named so: only the program's own servers are called by name; call another program's routes with fetch)", name), true
	}
	return "", false
}

func fnNames(fns map[string]*ast.FnDecl) []string {
	names := make([]string, 0, len(fns))
	for n := range fns {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func joinNames(names []string) string { return strings.Join(names, ", ") }

// closest is the name of names nearest to name (at most two edits),
// or "".
func closest(name string, names []string) string {
	best, bestD := "", 3
	for _, c := range names {
		if d := diag.Distance(name, c, bestD+1); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}
