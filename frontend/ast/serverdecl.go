package ast

// LoneServerDecl reports whether st is a declaration that runs once per
// server (on_start, on_stop, background fn, schedule, subscribe,
// discover). Written outside any server block in a program that has no
// server block, it belongs to the program's one unnamed server (the
// guide's "Combining Patterns" block); beside server blocks, which one
// would run it is not said, and it is refused.
func LoneServerDecl(st Stmt) bool {
	switch st := st.(type) {
	case *ScheduleDecl, *SubscribeDecl, *DiscoverDecl:
		return true
	case *PortStmt:
		return st.Implicit // (an env PORT's, for a program of routes alone)
	case *HookDecl:
		return st.Kind == "on_start" || st.Kind == "on_stop" || st.Kind == "background"
	}
	return false
}

// SharedServerDecl reports whether st is an HTTP declaration written outside
// any server block: such a declaration belongs to every server of the
// program, as if written at the top of each server block (so that the
// guide's health route, trace and logger middleware and on_error work
// as written, and a program of routes alone is one server). Declarations
// that would then run once per server (port, on_start, on_stop,
// background fn, schedule, subscribe, discover) are refused there, by the
// compiler.
func SharedServerDecl(st Stmt) bool {
	switch st := st.(type) {
	case *RouteDecl, *RoutesGroup, *HealthDecl, *MaxBodyStmt,
		*StaticDecl, *WebSocketDecl, *SSEDecl:
		return true
	case *HookDecl:
		return st.Kind == "middleware" || st.Kind == "on_error"
	}
	return false
}
