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
// a caller cannot know.
func rpcPort(srv *Server, stmts []ast.Stmt) {
	port := ""
	for _, st := range stmts {
		if p, ok := st.(*ast.PortStmt); ok {
			if v, ok := literal(p.X); ok {
				if n, isInt := v.(int64); isInt && n >= 0 && n <= 65535 {
					port = strconv.FormatInt(n, 10)
				}
			}
		}
	}
	for i := range srv.Hooks {
		if srv.Hooks[i].Kind == "rpc" {
			srv.Hooks[i].Arg = port
		}
	}
}
