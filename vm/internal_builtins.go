package vm

import (
	"errors"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"tova/internal/schedpattern"
)

// Builtins the compiler emits calls to; their names start with "__" so
// that no Tova program can name them.
func init() {
	Register(
		&Builtin{Name: "__omit", Fn: builtinOmit},
		&Builtin{Name: "__env_check", Fn: builtinEnvCheck},
		&Builtin{Name: "__env_read", Fn: builtinEnvRead},
		&Builtin{Name: "__env_default", Fn: builtinEnvDefault},
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

// An env spec, as the compiler's envSpec writes it, is an object
// {name, type, required, line, col[, server]}: required is true when
// the declaration has no default.

// __env_check(specs) checks `env` declarations before any is read (see
// bytecode's envCheck and envDecls): every missing required variable
// and every value that does not convert is reported in one error, at
// the first declaration at fault. Declarations of servers this process
// does not run (Config.Serving) are skipped. It binds nothing: each
// declaration reads its variable where it runs (__env_read), so that
// a default may use the code above it.
func builtinEnvCheck(t *Thread, args []Value) (Value, error) {
	if len(args) != 1 || args[0].k != KArray {
		return Nil, TypeErrorf("__env_check: bad arguments")
	}
	var missing, bad []string
	var at []Value // the declaration of each problem
	// Two servers may declare one variable differently (one requires
	// it, or converts it to another type): each different declaration
	// is checked, and each problem told once.
	seen := map[string]bool{}
	for _, sv := range args[0].AsArray().Elems {
		o := sv.AsObject()
		if server, ok := o.Get("server"); ok && !slices.Contains(t.In.Cfg.Serving, server.AsString()) {
			continue
		}
		name, _ := o.Get("name")
		typ, _ := o.Get("type")
		req, _ := o.Get("required")
		n, ty := name.AsString(), typ.AsString()
		key := n + "\x00" + ty + "\x00" + strconv.FormatBool(req.Truthy())
		if seen[key] {
			continue
		}
		seen[key] = true
		_, set, err := readEnvVar(t, o)
		switch {
		case err != nil:
			if msg := err.Error(); !slices.Contains(bad, msg) {
				bad = append(bad, msg)
				at = append(at, sv)
			}
		case !set && req.Truthy() && !isOption(ty):
			if !slices.Contains(missing, n) {
				missing = append(missing, n)
				at = append(at, sv)
			}
		}
	}
	var msgs []string
	if len(missing) > 0 {
		msgs = append(msgs, "missing required environment variables: "+strings.Join(missing, ", "))
	}
	msgs = append(msgs, bad...)
	if len(msgs) == 0 {
		return Nil, nil
	}
	e := &Error{Kind: "EnvError", Msg: strings.Join(msgs, "; ")}
	// The error points at the first declaration at fault, not at the
	// first of the group (which may be well).
	o := at[0].AsObject()
	line, _ := o.Get("line")
	col, _ := o.Get("col")
	if st := t.StackTrace(); len(st) > 0 && line.Kind() == KInt && line.AsInt() > 0 {
		st[0].Line, st[0].Col = int(line.AsInt()), int(col.AsInt())
		e.Stack = st
	}
	return Nil, e
}

// __env_read(spec) is the value of an `env` declaration's variable,
// converted to its type (Some(value) for Option<T>), or nil when the
// variable is unset or empty and the declaration has a default, which
// the code that follows the call then computes and gives to
// __env_default. An unset Option<T> without a default is None.
func builtinEnvRead(t *Thread, args []Value) (Value, error) {
	if len(args) != 1 || args[0].k != KObject {
		return Nil, TypeErrorf("__env_read: bad arguments")
	}
	o := args[0].AsObject()
	v, set, err := readEnvVar(t, o)
	if err != nil {
		return Nil, Errorf("EnvError", "%s", err.Error())
	}
	if set {
		return v, nil
	}
	name, _ := o.Get("name")
	typ, _ := o.Get("type")
	req, _ := o.Get("required")
	switch {
	case !req.Truthy():
		return Nil, nil
	case isOption(typ.AsString()):
		return None, nil
	}
	return Nil, Errorf("EnvError", "missing required environment variables: %s", name.AsString())
}

// __env_default(spec, value) is an unset variable's default, computed
// where its declaration runs, made the declared type: an Int is a Float
// for Float, and a plain value of an Option<T> is Some(value), as a set
// variable is Some(its value), so that the type does not depend on the
// environment. A default of another type is an error, as one written
// as a literal is when the program compiles.
func builtinEnvDefault(t *Thread, args []Value) (Value, error) {
	if len(args) != 2 || args[0].k != KObject {
		return Nil, TypeErrorf("__env_default: bad arguments")
	}
	o := args[0].AsObject()
	name, _ := o.Get("name")
	typ, _ := o.Get("type")
	n, ty := name.AsString(), typ.AsString()
	inner, option := envType(ty)
	def := args[1]
	if option && def.k == KNil {
		return None, nil // no value at all: None
	}
	if def.k == KNil {
		return Nil, nil // (env X: String = nil: nil, as before defaults were checked)
	}
	wrap := option
	if ti := VariantOf(def); option && ti != nil && ti.ADT == OptionADT {
		if ti == NoneType {
			return def, nil
		}
		def, wrap = def.AsObject().vals[0], true
	}
	v, ok := envDefaultOf(def, inner)
	if !ok {
		got := TypeName(args[1])
		if wrap && def != args[1] {
			got = "Some(" + TypeName(def) + ")"
		}
		return Nil, Errorf("EnvError", "env %s: the default is %s, not %s", n, got, ty)
	}
	if v.k == KDuration && v.AsDuration() < 0 {
		return Nil, Errorf("EnvError", "env %s: the default is a negative Duration (%s): a setting's duration is zero or more", n, ToString(v))
	}
	if wrap {
		v = Some(v)
	}
	return v, nil
}

// envDefaultOf is v as a value of type typ (one of the compiler's
// envTypes), if it is one.
func envDefaultOf(v Value, typ string) (Value, bool) {
	switch typ {
	case "String":
		return v, v.k == KString
	case "Int":
		return v, v.k == KInt
	case "Float":
		if v.k == KInt {
			return Float(float64(v.AsInt())), true // (as when set)
		}
		return v, v.k == KFloat
	case "Bool":
		return v, v.k == KBool
	case "Duration":
		return v, v.k == KDuration
	}
	return v, true
}

// envType is an env declaration's type ty without its Option<...>, and
// whether it had one.
func envType(ty string) (inner string, option bool) {
	inner, option = strings.CutPrefix(ty, "Option<")
	return strings.TrimSuffix(inner, ">"), option
}

// redactedURL is raw with the password of a URL in it, if any, shown as
// xxxxx (postgres://u:secret@h/db).
func redactedURL(raw string) string {
	if u, err := url.Parse(strings.TrimSpace(raw)); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			return u.Redacted()
		}
	}
	// One url.Parse refuses (a '#' or '/' in the password, a bad port)
	// or a DSN of key=value words: cut what looks like a password.
	raw = userinfoPassword.ReplaceAllString(raw, "${1}xxxxx@")
	return passwordWord.ReplaceAllString(raw, "${1}xxxxx")
}

var (
	userinfoPassword = regexp.MustCompile(`(://[^:/@\s]*:)[^@\s]*@`)
	passwordWord     = regexp.MustCompile(`(?i)((?:password|passwd|pwd)=)[^\s&;]*`)
)

// secretName reports whether an env variable's name says it holds a
// secret (API_KEY, SESSION_SECRET, DB_PASSWORD, AUTH_TOKEN...).
func secretName(name string) bool {
	u := strings.ToUpper(name)
	for _, w := range []string{"SECRET", "PASS", "PWD", "TOKEN", "KEY", "CREDENTIAL", "PRIVATE"} {
		if strings.Contains(u, w) {
			return true
		}
	}
	return false
}

func isOption(ty string) bool { return strings.HasPrefix(ty, "Option<") }

// readEnvVar reads the variable of the env spec o: set is false when
// it is unset or empty; err, when it is set, says why its text does
// not convert to the declared type.
func readEnvVar(t *Thread, o *Object) (v Value, set bool, err error) {
	name, _ := o.Get("name")
	typ, _ := o.Get("type")
	n, ty := name.AsString(), typ.AsString()
	raw, ok := t.In.Cfg.Getenv(n)
	if !ok || raw == "" {
		return Nil, false, nil
	}
	inner, option := envType(ty)
	v, err = convertEnv(raw, inner)
	if err != nil {
		got := strconv.Quote(redactedURL(raw))
		if secretName(n) {
			// (its value goes to no log: a secret declared with the
			// wrong type would be printed at every start)
			got = "a value of " + strconv.Itoa(len(raw)) + " bytes (not shown: the name says it is a secret)"
		}
		msg := "env " + n + ": expected " + inner + ", got " + got
		switch {
		case err == errNegativeDuration:
			msg += ": a setting's duration is zero or more"
		case inner == "Duration" && (errors.Is(err, ErrDurationRange) || schedpattern.DurationText.MatchString(strings.TrimSpace(raw))):
			// (written well, too long for one: not "a duration such as")
			msg += ": out of range for Duration (about ±292 years)"
		case inner == "Duration":
			msg += " (a duration such as 30s, 500ms, 1h30m or 2d)"
		}
		return Nil, true, errors.New(msg)
	}
	if option {
		v = Some(v)
	}
	return v, true, nil
}

// errNegativeDuration refuses a negative Duration setting ("-30s"):
// every duration a program configures (a timeout, a grace period, an
// interval, a cache's lifetime) is a length of time, and a negative one
// is a typo that would otherwise pass the start-up check and make a
// timeout that has always passed.
var errNegativeDuration = errors.New("negative duration")

// convertEnv converts a variable's text to typ. A number is written in
// decimal, with underscores allowed between digits as in the language's
// literals ("1_000"), for Int and Float alike.
func convertEnv(raw, typ string) (Value, error) {
	switch typ {
	case "Int":
		s, ok := withoutDigitSeparators(strings.TrimSpace(raw))
		if !ok {
			return Nil, strconv.ErrSyntax
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return Int(n), err
	case "Float":
		// Decimal numbers only: not Inf, NaN or a hex float, which no
		// one means by a setting.
		s, ok := withoutDigitSeparators(strings.TrimSpace(raw))
		if !ok {
			return Nil, strconv.ErrSyntax
		}
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
		d, err := ParseDurationText(raw) // "30s", "1h30m", "2d" (as one prints)
		if err == nil && d < 0 {
			err = errNegativeDuration
		}
		return Duration(int64(d)), err
	}
	return Str(raw), nil
}

// withoutDigitSeparators is s without the underscores that separate its
// digits; ok is false when an underscore is not between two digits
// ("_1", "1__0", "1_.5"), which the text of no number has.
func withoutDigitSeparators(s string) (string, bool) {
	if !strings.Contains(s, "_") {
		return s, true
	}
	isDigit := func(i int) bool { return i >= 0 && i < len(s) && s[i] >= '0' && s[i] <= '9' }
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '_' {
			if !isDigit(i-1) || !isDigit(i+1) {
				return "", false
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String(), true
}

// ErrDurationRange is ParseDurationText's error of a duration written
// well but too long for one (106752d: past about 292 years).
var ErrDurationRange = schedpattern.ErrDurationRange

// ParseDurationText reads a Duration written as text: Go's form (30s,
// 1h30m, 500ms), with whole weeks and days first (2d, 1d12h), as a
// Duration prints.
func ParseDurationText(raw string) (time.Duration, error) { return schedpattern.ParseDuration(raw) }
