package vm

import (
	"sort"

	"tova/bytecode"
)

// The builtin table is filled by init functions (this package's builtins
// and those of the server runtime packages) and read-only afterwards.
var builtinTable = map[string]Value{}

// Register adds builtins to the table. It must only be called from init
// functions: after program start the table is read-only.
func Register(bs ...*Builtin) {
	for _, b := range bs {
		b.Pure = true
		builtinTable[b.Name] = BuiltinValue(b)
	}
}

// RegisterValue adds a non-function builtin (a namespace such as JSON, or
// a constant) from an init function.
func RegisterValue(name string, v Value) { builtinTable[name] = v }

// A program is checked for the builtins it names when it is decoded.
func init() {
	bytecode.BuiltinKnown = func(name string) bool { _, ok := builtinTable[name]; return ok }
}

// LookupBuiltin returns the builtin named name.
func LookupBuiltin(name string) (Value, bool) {
	v, ok := builtinTable[name]
	return v, ok
}

// BuiltinNames returns the sorted names of all builtins.
func BuiltinNames() []string {
	names := make([]string, 0, len(builtinTable))
	for n := range builtinTable {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
