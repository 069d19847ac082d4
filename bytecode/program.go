package bytecode

import (
	"strings"

	"tova/frontend/diag"
)

// Program is a compiled Tova program: everything the VM and the server
// runtime need, and nothing of the syntax tree. A Program is immutable once
// built; it is what a .tbc file encodes.
type Program struct {
	Files      []SourceFile
	SourceHash [32]byte // SHA-256 over the sources in Files order
	Constants  []Constant
	Funcs      []*Func // Funcs[0] is the main function of the program
	Types      []*TypeDesc
	Builtins   []string // builtin names referenced by GETBUILTIN
	Globals    []string // names of the module slots (G)
	Servers    []*Server
	// Configs are configuration blocks written at top level; they apply
	// to every server. Their slots are set by the main function.
	Configs []Config
	// Warnings are what the compiler found suspicious but compiled (a
	// match that misses variants); they are not part of the .tbc.
	Warnings diag.List
}

// FileName returns the name of file i, or "?" when the program has no
// such file.
func (p *Program) FileName(i int) string {
	if i < 0 || i >= len(p.Files) {
		return "?"
	}
	return p.Files[i].Name
}

// SourceFile names one source file and its content hash.
type SourceFile struct {
	Name string
	Hash [32]byte
}

// ConstKind is the kind of a constant.
type ConstKind uint8

const (
	KNil ConstKind = iota
	KInt
	KFloat
	KString
	KBool
	KNames // a list of names: object shapes, keyword-argument names
)

// Constant is one entry of the constant pool.
type Constant struct {
	Kind  ConstKind
	Int   int64 // KInt, KBool (0/1)
	Float float64
	Str   string
	Names []string
}

// Func is one compiled function.
type Func struct {
	Name       string
	File       int // index into Program.Files
	Pos        Pos // where the function is declared
	NumParams  int // not counting the rest parameter
	ParamNames []string
	ParamTypes []string // annotation source text per parameter, "" when absent
	HasRest    bool     // the last register parameter collects extra arguments
	NumRegs    int
	Async      bool
	Code       []Instr
	Lines      []LineEntry // sorted by PC; entry i covers PCs [Lines[i].PC, Lines[i+1].PC)
	Captures   []Capture   // how CLOSURE fills this function's free variables
}

// Pos is a line and column in a source file.
type Pos struct {
	Line int32
	Col  int32
}

// LineEntry maps the instructions from PC on to a source position.
type LineEntry struct {
	PC  uint32
	Pos Pos
}

// Capture says where a closure's free variable comes from in the function
// executing CLOSURE: a register holding a cell (FromParentFree false) or
// one of that function's own free variables.
type Capture struct {
	FromParentFree bool
	Index          int
}

// PosAt returns the source position of the instruction at pc.
func (f *Func) PosAt(pc int) Pos {
	lo, hi := 0, len(f.Lines)
	for lo < hi {
		m := (lo + hi) / 2
		if int(f.Lines[m].PC) <= pc {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 {
		return f.Pos
	}
	return f.Lines[lo-1].Pos
}

// TypeDesc describes a record type (Fields) or an ADT (Variants).
type TypeDesc struct {
	Name   string
	Fields []string
	// FieldTypes are a record's field annotations as source text ("" where
	// absent), one per field; handlers check request values against them.
	FieldTypes []string
	// Defaults give each field's default, a literal: one more than its
	// constant's index, 0 for a field without one; nil when no field
	// has one. The constructor fills in the fields it is not given.
	Defaults []int
	Variants []VariantDesc
	Derive   []string
}

// VariantDesc is one variant of an ADT; Fields is empty for a bare
// variant. Defaults are as TypeDesc's.
type VariantDesc struct {
	Name     string
	Fields   []string
	Defaults []int
	// FieldTypes are the fields' annotations, as TypeDesc's.
	FieldTypes []string
}

// Server describes one server block (same-name blocks merged): what is
// static (methods, paths, kinds, order) is here; every value (handler
// closures, config objects, the port) is computed by the server's Init
// function into the module slot named by the entry.
type Server struct {
	Name    string // "" for the unnamed server
	Pos     Pos
	Init    int // function index: runs the server body
	Port    int // module slot of the `port` value, -1 when absent
	PortPos Pos // where `port` is declared (zero when absent)
	Routes  []Route
	Hooks   []Hook
	Configs []Config
}

// Route is one HTTP endpoint. Kind is "route", "health", "sse" or
// "websocket". Slot holds the handler (for health: nil or the checks).
type Route struct {
	Kind   string
	Method string
	Path   string
	Slot   int
	Guards []int // module slots of the `with` guards, in order
	// BodyType is the `body: Type` annotation's text, "" when absent.
	BodyType string
	// Scope is the routes group the route is declared in (see Hook.Scope).
	Scope string
	Pos   Pos
}

// Hook is a function-valued declaration: Kind is "middleware",
// "on_error", "on_start", "on_stop", "background", "schedule",
// "subscribe" or "rpc" (a fn another server calls by name). Name is the
// function or schedule name; Arg the cron expression, interval pattern,
// topic or group prefix, and for rpc the server's port when it is
// declared as an Int literal, else "".
//
// Scope, for middleware and on_error, is the routes group the hook is
// declared in: "" outside any group, else the group's number in its
// server (1, 2, ... in source order) after its enclosing group's scope
// and a dot ("2.3": group 3, inside group 2). A hook applies to the
// routes declared in its group and the groups inside it, whatever their
// paths: a route written outside the group is not the group's, even if
// its path starts with the group's prefix.
type Hook struct {
	Kind  string
	Name  string
	Arg   string
	Scope string
	Slot  int
	Pos   Pos
}

// InScope reports whether a hook of scope hook applies to a route of
// scope route: the route is in the hook's group or one inside it.
func InScope(route, hook string) bool {
	return hook == "" || route == hook || len(route) > len(hook) && route[len(hook)] == '.' && route[:len(hook)] == hook
}

// Config is a configuration block (cors, db, rate_limit, tls, sessions,
// uploads, cache, static, jobs, max_body, discover, model, ...); Slot
// holds its value, usually an object. Name is set for named configs
// (discover "worker", model User). A data block's `refresh NAME every
// D` is one of kind "data refresh" named after the source, whose value
// is { every: D, load, apply } (see dataRefresh).
type Config struct {
	Kind string
	Name string
	Slot int
	Pos  Pos
	// Keys are where the values of the block's keys are, in the
	// source's order: a value refused at start-up is named there.
	Keys []ConfigKey
}

// ConfigKey is where a config block's key has its value.
type ConfigKey struct {
	Name string
	Pos  Pos
}

// KeyPos is where the value of key k of the block is, else the block's
// position.
func (c *Config) KeyPos(k string) (Pos, bool) {
	for _, x := range c.Keys {
		if x.Name == k {
			return x.Pos, true
		}
	}
	return c.Pos, false
}

// PortEnv is the environment variable that sets the port of the server
// named server: PORT_ and its name in upper case, each character other
// than a letter or a digit made '_' (server "api-v2": PORT_API_V2).
func PortEnv(server string) string {
	b := []byte("PORT_")
	for _, r := range strings.ToUpper(server) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b = append(b, byte(r))
		} else {
			b = append(b, '_')
		}
	}
	return string(b)
}
