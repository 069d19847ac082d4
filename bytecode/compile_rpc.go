package bytecode

import (
	"strconv"

	"tova/frontend/ast"
)

// rpcHook records a function of the server that another server of the
// program calls by name (the resolver set fd.RPC): the server answers
// it at POST /rpc/<name>, and no function it does not record.
func (f *fstate) rpcHook(fd *ast.FnDecl) {
	b := fd.Name.Binding
	if b == nil || b.Scope != ast.Global {
		return
	}
	f.srv.Hooks = append(f.srv.Hooks, Hook{Kind: "rpc", Name: fd.Name.Name, Slot: f.c.global(b), Pos: posOf(fd.PosV)})
}

// rpcPort gives the server's rpc hooks the port its `port` declares when
// that is an Int literal: where a caller running in another process
// (serve --server) reaches it when neither a discover url nor
// PORT_<NAME> says. "0" is `port 0`: a port picked at start, which such
// a caller cannot know. "@N" is a port read from module slot N, a
// constant or an env of the program's top level (`port WORKER_PORT`):
// every process runs the top level, and the caller reads the slot in its
// own instance (it called 3000 + the server's place, where the server
// did not listen). "?" is a port the server computes in its own block
// (`port base + 1`), which no other process can know.
func rpcPort(srv *Server, stmts []ast.Stmt, slot func(*ast.Binding) int) {
	port := ""
	for _, st := range stmts {
		if p, ok := st.(*ast.PortStmt); ok {
			if v, ok := literal(p.X); ok {
				if n, isInt := v.(int64); isInt && n >= 0 && n <= 65535 {
					port = strconv.FormatInt(n, 10)
				}
			} else if id, ok := p.X.(*ast.Ident); ok && id.Binding != nil && id.Binding.Scope == ast.Global &&
				!id.Binding.Mutable && !declaredIn(stmts, id.Binding) {
				port = "@" + strconv.Itoa(slot(id.Binding))
			} else {
				port = "?"
			}
		}
	}
	for i := range srv.Hooks {
		if srv.Hooks[i].Kind == "rpc" {
			srv.Hooks[i].Arg = port
		}
	}
}

// declaredIn reports whether b is declared in stmts (a server's own
// constant, which another server's process never computes).
func declaredIn(stmts []ast.Stmt, b *ast.Binding) bool {
	found := false
	for _, st := range stmts {
		ast.Inspect(st, func(n any) bool {
			if id, ok := n.(*ast.Ident); ok && id.Binding == b && id.PosV == b.Decl {
				found = true
			}
			return !found
		})
	}
	return found
}
