package serve

import (
	"fmt"
	"strings"

	"tova/bytecode"
	"tova/internal/wire"
	"tova/netio"
	"tova/store"
	"tova/vm"
	"tova/vm/stdlib"
)

// The callee side of calls between servers: a server answers POST
// /rpc/<fn> for each of its functions that another server of the
// program calls by name (the compiler's rpc hooks), and for no other:
// a function no server calls that way stays private to its server, and
// /rpc/ of any other name is 404. The body is {"__args": [...]} (or, as
// the reference also takes, an object of the parameters by name); the
// answer {"result": <value>}, both through JSON in the form package wire
// describes (a response value the function returns answers as a
// route's would, see rpcAnswer). The function runs as a route's handler does: after
// the server's middleware, under its deadline, a failure answered 500
// (or by on_error) with the request id and logged with its Tova stack;
// the request id is the caller's X-Request-ID.

// rpcPath is where a server answers another's calls of its functions:
// POST /rpc/<fn>.
const rpcPath = "/rpc/"

// rpcRoutes registers the server's /rpc/<fn> routes.
func (s *Server) rpcRoutes(r *netio.Router) error {
	g := s.inst.Globals
	for _, h := range s.desc.Hooks {
		if h.Kind != "rpc" {
			continue
		}
		path := rpcPath + h.Name
		for _, old := range r.Routes() {
			if old.Method == "POST" && old.Pattern == path {
				return fmt.Errorf("%s: fn %s is called by another server, which POST %s answers, and a route of this server is declared there too: rename one", s.at(h.Pos), h.Name, path)
			}
		}
		fn := g[h.Slot]
		if fn.Kind() != vm.KFunc {
			continue // (a fn declaration's slot holds its function)
		}
		rt := bytecode.Route{Kind: "route", Method: "POST", Path: path, Pos: h.Pos}
		if s.rpcPaths == nil {
			s.rpcPaths = map[string]bool{}
		}
		s.rpcPaths[path] = true
		if err := r.Handle("POST", path, s.routeHandler(rt, s.rpcFunc(h.Name, fn, h.Pos), nil, 0)); err != nil {
			return fmt.Errorf("%s: fn %s: %v", s.at(h.Pos), h.Name, err)
		}
	}
	return nil
}

// rpcFunc is the handler of POST /rpc/<name>: it calls fn with the
// request's arguments, each of a typed parameter converted as a
// handler's are (400 when one does not convert).
func (s *Server) rpcFunc(name string, fn vm.Value, pos bytecode.Pos) vm.Value {
	cl := fn.AsClosure()
	params := cl.ParamNames()
	return vm.BuiltinValue(&vm.Builtin{Name: "rpc " + name, Pure: s.inst.Isolated(fn), Fn: func(t *vm.Thread, _ []vm.Value) (vm.Value, error) {
		x, ok := t.Host.(*exchange)
		if !ok {
			return vm.Nil, vm.Errorf("RPCError", "rpc %s: no request", name)
		}
		if !rpcCallerHeaders(x.current()) {
			// A page on any site can make a browser send a form, a text
			// or an empty POST to another site without asking it (no
			// CORS preflight): one ran a worker's function from a
			// visitor's machine. A call from a server sends X-Tova-Call,
			// and any other client JSON, which a page cannot send
			// unasked.
			return vm.Nil, &httpError{status: 415, code: "UNSUPPORTED_MEDIA_TYPE",
				message: "a call of /rpc/" + name + " sends its arguments as JSON (Content-Type: application/json), or the X-Tova-Call header"}
		}
		if token := x.current().Header(heldHeader); token != "" {
			if h, ok := s.rt.held.Load(token); ok {
				x.held, x.holds = h.(store.Held), true
			}
		}
		body, err := x.request().Body()
		if err != nil {
			return vm.Nil, err
		}
		args, skip, err := rpcArgs(body, params)
		if err != nil {
			return vm.Nil, err
		}
		args, skip = withRequest(x, body, params, cl.ParamTypes(), args, skip)
		args, skip, bad := s.typedArgs(cl, args, skip)
		if len(bad) > 0 {
			return vm.Nil, validationError(bad...)
		}
		// Those given nil for a parameter with a default are left out,
		// as a call leaving them out would (the rest still reach a
		// rest parameter).
		v, err := t.CallOmitting(fn, args, skip)
		if err != nil {
			return vm.Nil, err
		}
		if r, ok := x.builtResponse(v); ok {
			v = vm.HostValue(r)
		}
		v, err = rpcAnswer(t, name, v)
		if ve, ok := err.(*vm.Error); ok && len(ve.Stack) == 0 {
			// Raised once fn returned (its result cannot be sent): the
			// log line says which function it came from.
			ve.Stack = []vm.StackFrame{{Func: name, File: s.fileName(), Line: int(pos.Line), Col: int(pos.Col)}}
		}
		return v, err
	}})
}

// rpcCallerHeaders reports whether a call of an /rpc/ route comes with
// headers no page can make a browser send to another site unasked: the
// X-Tova-Call of another server's call, or a JSON Content-Type.
func rpcCallerHeaders(r *netio.Request) bool {
	if r.Header(peerCallHeader) == "1" { // (as the CSRF check takes it)
		return true
	}
	ct, _, _ := strings.Cut(r.Header("Content-Type"), ";")
	ct = strings.ToLower(strings.TrimSpace(ct))
	return ct == "application/json" || strings.HasSuffix(ct, "+json")
}

// typedArgs converts args, as they came through JSON (see package wire),
// for cl's typed parameters, as a handler's are converted: a record
// type's object is the record again, a Some or None of an Option<T>
// parameter Some or None again... skip marks, by argument, those left to
// their parameter's default: one the caller left out (skip given), or
// a nil given for a typed parameter with a default. bad says why those
// that do not convert do not.
func (s *Server) typedArgs(cl *vm.Closure, args []vm.Value, skip []bool) (_ []vm.Value, _ []bool, bad []string) {
	params, types := cl.ParamNames(), cl.ParamTypes()
	// skip, by argument: one the caller left out (__omitted), or a
	// nil given for a typed parameter with a default
	for i := range params {
		typ := ""
		if i < len(types) {
			typ = types[i]
		}
		if typ == "" {
			continue
		}
		optional := strings.HasPrefix(typ, "Option<")
		if i >= len(args) || args[i].IsNil() || i < len(skip) && skip[i] {
			// Missing, or null (nil, None) given: as a handler's
			// parameter, its default applies, or it is required.
			switch {
			case cl.HasDefault(i):
				if i < len(args) {
					if skip == nil {
						skip = make([]bool, len(args))
					}
					skip[i] = true
				}
			case optional:
				args = extend(args, i)
				args[i] = vm.None
				if i < len(skip) {
					skip[i] = false
				}
			default:
				bad = append(bad, params[i]+" is required")
			}
			continue
		}
		v, msg := s.convertArg(params[i], args[i], typ)
		if msg != "" {
			bad = append(bad, msg)
			continue
		}
		args[i] = v
	}
	return args, skip, bad
}

// convertArg converts v, not nil, an argument that came through JSON for
// parameter name of type typ, as a handler's is (convertParam), an
// Option<T>'s made Some again; msg says why one does not convert.
func (s *Server) convertArg(name string, v vm.Value, typ string) (_ vm.Value, msg string) {
	c, msg := s.convertParam(name, v, typ)
	if msg == "" && strings.HasPrefix(typ, "Option<") {
		c = vm.Some(c)
	}
	return c, msg
}

// builtResponse is, as a response value, the answer a called function
// built with its res parameter: res.json(v) or res.send(text) was
// called (they win over its return value, as a handler's do), or it
// returned res itself (res.status(201) as its last expression, no
// body), or it set a status outside 2xx with res.status and returned a
// value. Its answer is then that of a function returning
// respond(res.status, v): the body of a 2xx one is the result.
func (x *exchange) builtResponse(v vm.Value) (*responseValue, bool) {
	rs := x.res
	self, _ := v.AsHostOK().(*resObject)
	if !rs.jsonSet && !rs.bodySet && self != rs {
		if _, isResponse := asResponse(v); rs.statusSet && (rs.status < 200 || rs.status > 299) && !isResponse {
			// res.status(404) then a value: respond(404, v), the
			// caller's error
			return &responseValue{status: rs.status, statusSet: true, ctype: "application/json", jsonBody: &v}, true
		}
		return nil, false
	}
	r := &responseValue{status: rs.status, statusSet: true, ctype: "application/json"}
	switch {
	case rs.jsonSet:
		body := rs.json
		r.jsonBody = &body
	case rs.bodySet:
		r.body, r.ctype = rs.bodyText, rs.ctype
	}
	// (the answer is r, as if returned: res's body is sent no more)
	rs.jsonSet, rs.json = false, vm.Nil
	rs.bodySet, rs.bodyText, rs.ctype = false, nil, ""
	return r, true
}

// rpcAnswer is the answer to a call whose function returned v: {"result":
// v} (see wire.Value); a response value (respond, text, ...) answers as a
// route's would: a 2xx one's body is the result (nil when it has none,
// as a 204's), any other status is
// sent as it is, which the caller takes as an error.
func rpcAnswer(t *vm.Thread, name string, v vm.Value) (vm.Value, error) {
	if r, ok := asResponse(v); ok { // (a fetch's response too, passed on)
		if r.status < 200 || r.status > 299 {
			return vm.HostValue(r), nil // (netio drops a HeaderNotRun it sets: the function ran)
		}
		if r.jsonBody == nil && len(r.body) == 0 && (r.body == nil || r.status == 204 || r.status == 205) {
			v = vm.Nil // no body (respond(204, nil), res.status(202)): no value
		} else {
			v, _, _ = r.GetAttr(t, "body")
		}
	}
	result, bad := wire.Value(v)
	if bad != nil {
		return vm.Nil, wire.SendError("rpc "+name+": the result", "to another server", bad)
	}
	out := vm.NewObject()
	out.Set("result", result)
	// (a whole Float keeps its fraction: the caller reads a Float back)
	body, err := stdlib.AppendJSONExact(t, nil, vm.ObjectValue(out), false)
	if err != nil {
		return vm.Nil, err
	}
	// (its status is set: one res.status gave, a 204's, does not replace
	// it, which would send the answer without its body)
	r := &responseValue{status: 200, statusSet: true, ctype: "application/json", body: body}
	if ti := vm.VariantOf(v); ti == vm.OkType || ti == vm.ErrType || ti == vm.SomeType || ti == vm.NoneType {
		// The caller makes a Result or Option result that again (a
		// header, which a caller of an older build passes over).
		r.set(rpcResultHeader, ti.Tag)
	}
	return vm.HostValue(r), nil
}

// rpcResultHeader names the variant a call's result was, when it was
// Ok, Err, Some or None: the caller makes it that variant again.
const rpcResultHeader = "X-Tova-Result"

// rpcResult is the result of a call as the callee gave it: the variant
// its answer's rpcResultHeader names (Ok(x) crossed as {"value": x},
// Err(e) as {"error": e}, Some(x) as x, None as null), else v.
func rpcResult(v vm.Value, variant string) vm.Value {
	field := func(k string) vm.Value {
		if v.Kind() == vm.KObject {
			x, _ := v.AsObject().Get(k)
			return x
		}
		return vm.Nil
	}
	switch variant {
	case "Ok":
		return vm.Ok(field("value"))
	case "Err":
		return vm.Err(field("error"))
	case "Some":
		return vm.Some(v)
	case "None":
		return vm.None
	}
	return v
}

// rpcArgs reads a call's arguments from its body: {"__args": [...]},
// with "__omitted": the indexes of those that stand for parameters the
// call left out (skip), or an object of the parameters by name.
func rpcArgs(body vm.Value, params []string) (args []vm.Value, skip []bool, err error) {
	if body.IsNil() {
		return nil, nil, nil
	}
	if body.Kind() != vm.KObject {
		return nil, nil, badBody(`an RPC body is {"__args": [...]}, got ` + vm.TypeName(body))
	}
	o := body.AsObject()
	if a, ok := o.Get("__args"); ok {
		if a.Kind() != vm.KArray {
			return nil, nil, badBody(`__args must be a list of the arguments, got ` + vm.TypeName(a))
		}
		args = append([]vm.Value(nil), a.AsArray().Elems...)
		if om, ok := o.Get("__omitted"); ok {
			if om.Kind() != vm.KArray {
				return nil, nil, badBody(`__omitted must be a list of argument indexes, got ` + vm.TypeName(om))
			}
			skip = make([]bool, len(args))
			for _, i := range om.AsArray().Elems {
				if i.Kind() != vm.KInt || i.AsInt() < 0 || i.AsInt() >= int64(len(args)) {
					return nil, nil, badBody(`__omitted must be a list of argument indexes, got ` + vm.Repr(om))
				}
				skip[i.AsInt()] = true
			}
		}
		return args, skip, nil
	}
	var given []bool
	for i, p := range params {
		if v, ok := o.Get(p); ok {
			args = extend(args, i)
			args[i] = v
			for len(given) <= i {
				given = append(given, false)
			}
			given[i] = true
		}
	}
	// Those between the given are left out, as those after them.
	for i := range given {
		if !given[i] {
			if skip == nil {
				skip = make([]bool, len(args))
			}
			skip[i] = true
		}
	}
	return args, skip, nil
}

// withRequest binds, as a handler's are (Decision 7), the untyped
// parameters named req or request to the call's request and res or
// response to its response, the caller's arguments going to the other
// parameters in order (fn agent(req, id) called as notify.agent(5)):
// they were bound to the caller's arguments, nil when it gave none.
func withRequest(x *exchange, body vm.Value, params, types []string, args []vm.Value, skip []bool) ([]vm.Value, []bool) {
	bound := func(i int) (vm.Value, bool) {
		if i < len(types) && types[i] != "" {
			return vm.Nil, false
		}
		switch params[i] {
		case "req", "request":
			return x.reqValue(), true
		case "res", "response":
			return x.resValue(), true
		}
		return vm.Nil, false
	}
	binds := false
	for i := range params {
		if _, ok := bound(i); ok {
			binds = true
		}
	}
	if !binds {
		return args, skip
	}
	// A caller that named its arguments placed them by the parameters'
	// slots, req's left out (marked omitted): filled in place. One that
	// passed them in order did not count req: they shift past it.
	inPlace := false
	for i := range params {
		if _, ok := bound(i); ok && i < len(args) && i < len(skip) && skip[i] {
			inPlace = true
		}
	}
	if _, positional := rpcPositional(body); !positional || inPlace {
		// (each argument is at its parameter's place)
		for i := range params {
			if v, ok := bound(i); ok {
				args = extend(args, i)
				args[i] = v
				if i < len(skip) {
					skip[i] = false
				}
			}
		}
		return args, skip
	}
	var out []vm.Value
	var outSkip []bool
	next := 0
	for i := range params {
		if v, ok := bound(i); ok {
			out, outSkip = append(out, v), append(outSkip, false)
			continue
		}
		if next < len(args) {
			out, outSkip = append(out, args[next]), append(outSkip, next < len(skip) && skip[next])
			next++
		} else {
			out, outSkip = append(out, vm.Nil), append(outSkip, true) // (left out)
		}
	}
	for ; next < len(args); next++ { // (a rest parameter's)
		out, outSkip = append(out, args[next]), append(outSkip, next < len(skip) && skip[next])
	}
	for len(out) > 0 && outSkip[len(out)-1] {
		out, outSkip = out[:len(out)-1], outSkip[:len(out)-1]
	}
	return out, outSkip
}

// rpcPositional is the __args list of an RPC body, if it has one.
func rpcPositional(body vm.Value) (vm.Value, bool) {
	if body.Kind() != vm.KObject {
		return vm.Nil, false
	}
	return body.AsObject().Get("__args")
}

// extend makes args long enough to hold index i (nil for the missing).
func extend(args []vm.Value, i int) []vm.Value {
	for len(args) <= i {
		args = append(args, vm.Nil)
	}
	return args
}
