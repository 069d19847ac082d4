package vm

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Builtins the compiler emits calls to; their names start with "__" so
// that no Tova program can name them.
func init() {
	Register(
		&Builtin{Name: "__omit", Fn: builtinOmit},
		&Builtin{Name: "__env_decls", Fn: builtinEnvDecls},
		&Builtin{Name: "__env_check", Fn: builtinEnvCheck},
		&Builtin{Name: "__peer", Fn: builtinPeer},
	)
}

// Peers is implemented by an instance's Host that can call the
// functions of the other servers of the program (serve's servers).
type Peers interface {
	// Peer returns the value whose methods call server name's
	// functions; slots, if not nil, is the parameter each argument of
	// the call is for (a call by name), those none is for left out.
	Peer(name string, slots []int) (Value, error)
}

// __peer(name [, slots]) is the server named name, in `name.fn(args)`
// written in another server's code (see the resolver's peerMember);
// slots is the parameter each argument of a call by name is for
// (peerNamedArgs).
func builtinPeer(t *Thread, args []Value) (Value, error) {
	if len(args) < 1 || len(args) > 2 || args[0].k != KString {
		return Nil, TypeErrorf("__peer: bad arguments")
	}
	var slots []int
	if len(args) == 2 {
		if args[1].k != KArray {
			return Nil, TypeErrorf("__peer: bad arguments")
		}
		for _, i := range args[1].AsArray().Elems {
			if i.k != KInt {
				return Nil, TypeErrorf("__peer: bad arguments")
			}
			slots = append(slots, int(i.n))
		}
	}
	p, ok := t.In.Host.(Peers)
	if !ok {
		return Nil, Errorf("RPCError", "server %s: calling another server's functions needs a running server (tova serve)", args[0].AsString())
	}
	return p.Peer(args[0].AsString(), slots)
}

// __omit(obj, keys...) is a copy of obj without keys: the ...rest of an
// object pattern.
func builtinOmit(t *Thread, args []Value) (Value, error) {
	if len(args) == 0 {
		return Nil, TypeErrorf("__omit: missing object")
	}
	if args[0].k != KObject && args[0].k != KNil {
		return Nil, TypeErrorf("cannot destructure %s as an object", TypeName(args[0]))
	}
	out := NewObject()
	if args[0].k == KNil {
		return ObjectValue(out), nil
	}
	src := args[0].AsObject()
	skip := map[string]bool{}
	for _, k := range args[1:] {
		skip[ToString(k)] = true
	}
	for i, k := range src.Keys() {
		if !skip[k] {
			out.Set(k, src.vals[i])
		}
	}
	return ObjectValue(out), nil
}

// __env_decls(specs) reads `env NAME: Type = default` declarations:
// specs is a list of {name, type, required, default}. Every missing
// required variable is reported in one error; values are converted to
// Int, Float or Bool; Option<T> gives Some(value) or None.
func builtinEnvDecls(t *Thread, args []Value) (Value, error) {
	if len(args) != 1 || args[0].k != KArray {
		return Nil, TypeErrorf("__env_decls: bad arguments")
	}
	return readEnv(t, args[0].AsArray().Elems)
}

// __env_check(specs) checks the `env` declarations of the whole program
// before any is read (see bytecode's envCheck): those of the top level
// and of the server blocks this process runs (Config.Serving), with one
// error for every missing or unconvertible variable among them. A
// variable two servers declare is named once.
func builtinEnvCheck(t *Thread, args []Value) (Value, error) {
	if len(args) != 1 || args[0].k != KArray {
		return Nil, TypeErrorf("__env_check: bad arguments")
	}
	var specs []Value
	seen := map[string]bool{}
	for _, sv := range args[0].AsArray().Elems {
		o := sv.AsObject()
		if server, ok := o.Get("server"); ok && !slices.Contains(t.In.Cfg.Serving, server.AsString()) {
			continue
		}
		if name, _ := o.Get("name"); !seen[name.AsString()] {
			seen[name.AsString()] = true
			specs = append(specs, sv)
		}
	}
	if _, err := readEnv(t, specs); err != nil {
		return Nil, err
	}
	return Nil, nil
}

// readEnv reads the variables of specs (see __env_decls).
func readEnv(t *Thread, specs []Value) (Value, error) {
	out := make([]Value, len(specs))
	var missing, bad []string
	var at []Value // the declaration of each problem
	for i, sv := range specs {
		o := sv.AsObject()
		name, _ := o.Get("name")
		typ, _ := o.Get("type")
		req, _ := o.Get("required")
		def, _ := o.Get("default")
		n, ty := name.AsString(), typ.AsString()
		raw, ok := t.In.Cfg.Getenv(n)
		option := strings.HasPrefix(ty, "Option<")
		inner := ty
		if option {
			inner = strings.TrimSuffix(strings.TrimPrefix(ty, "Option<"), ">")
		}
		if !ok || raw == "" {
			switch {
			case option && def.k == KNil:
				out[i] = None
			case req.Truthy() && !option:
				missing = append(missing, n)
				at = append(at, sv)
			default:
				if inner == "Float" && def.k == KInt {
					def = Float(float64(def.AsInt())) // (as when set)
				}
				if ti := VariantOf(def); option && (ti == nil || ti.ADT != OptionADT) {
					// `Option<Int> = 5`: Some(5), as a set variable gives
					// Some(its value), so that the type does not depend on
					// the environment.
					def = Some(def)
				}
				out[i] = def
			}
			continue
		}
		v, err := convertEnv(raw, inner)
		if err != nil {
			bad = append(bad, "env "+n+": expected "+inner+", got "+strconv.Quote(raw))
			at = append(at, sv)
			continue
		}
		if option {
			v = Some(v)
		}
		out[i] = v
	}
	var msgs []string
	if len(missing) > 0 {
		msgs = append(msgs, "missing required environment variables: "+strings.Join(missing, ", "))
	}
	msgs = append(msgs, bad...)
	if len(msgs) > 0 {
		e := &Error{Kind: "EnvError", Msg: strings.Join(msgs, "; ")}
		if len(at) > 0 {
			// The error points at the first declaration at fault, not
			// at the first of the group (which may be well).
			o := at[0].AsObject()
			line, _ := o.Get("line")
			col, _ := o.Get("col")
			if st := t.StackTrace(); len(st) > 0 && line.Kind() == KInt && line.AsInt() > 0 {
				st[0].Line, st[0].Col = int(line.AsInt()), int(col.AsInt())
				e.Stack = st
			}
		}
		return Nil, e
	}
	return NewArray(out), nil
}

func convertEnv(raw, typ string) (Value, error) {
	switch typ {
	case "Int":
		n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
		return Int(n), err
	case "Float":
		// Decimal numbers only: not Inf, NaN or a hex float, which no
		// one means by a setting.
		s := strings.TrimSpace(raw)
		f, err := strconv.ParseFloat(s, 64)
		if err == nil && (math.IsInf(f, 0) || math.IsNaN(f) || strings.ContainsAny(s, "xXpP")) {
			err = strconv.ErrSyntax
		}
		return Float(f), err
	case "Bool":
		switch strings.ToLower(strings.TrimSpace(raw)) {
		case "true", "1", "yes", "on":
			return True, nil
		case "false", "0", "no", "off":
			return False, nil
		}
		return Nil, strconv.ErrSyntax
	case "Duration":
		d, err := time.ParseDuration(strings.TrimSpace(raw)) // "30s", "1h30m"
		return Duration(int64(d)), err
	}
	return Str(raw), nil
}
