package vm

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"tova/bytecode"
)

// funcProto is a bytecode function prepared for execution.
type funcProto struct {
	*bytecode.Func
	prog  *Program
	index int
	// caches holds one inline cache word per instruction for GETFIELD /
	// SETFIELD: shape id << 32 | slot + 1. Read and written atomically.
	caches []uint64
	// methods holds, per CALLM instruction, the builtin of that name
	// (resolved at load time; nil when there is none).
	methods []*Builtin
	// fullMask is the `provided` mask of a call passing every parameter.
	fullMask uint64
	// freshObject: every value the function returns is an object literal
	// made by the instruction just before its RET (see returnsFreshObject).
	freshObject bool
}

// returnsFreshObject reports whether every RET of code returns the object
// the instruction right before it made (NEWOBJ into the returned
// register), and no jump lands on that RET: the object a call returns
// is then referenced by its caller alone, as nothing ran between its
// making and the return. (RETNIL returns nil; a raise returns nothing.)
func returnsFreshObject(code []bytecode.Instr) bool {
	rets := 0
	for pc, in := range code {
		if in.Op() != bytecode.RET {
			continue
		}
		if pc == 0 || code[pc-1].Op() != bytecode.NEWOBJ || code[pc-1].A() != in.A() {
			return false
		}
		rets++
	}
	if rets == 0 {
		return false
	}
	for _, in := range code {
		if target, ok := bytecode.JumpTarget(in); ok && target < len(code) && code[target].Op() == bytecode.RET {
			return false
		}
		// (a try block's cancellation path jumps too)
		if c := in.C(); in.Op() == bytecode.TRYBEGIN && c != 0 && c < len(code) && code[c].Op() == bytecode.RET {
			return false
		}
	}
	return true
}

// typeEntry holds the constructors made from one bytecode.TypeDesc:
// ctors[0] is the type itself (records) and ctors[i+1] variant i.
type typeEntry struct {
	ctors []Value
	adt   *ADTInfo
}

// frame is one activation record.
type frame struct {
	fn       *funcProto
	cl       *Closure
	base     int    // index of R[0] in the thread stack
	pc       int    // next instruction
	ret      int    // caller register receiving the result (absolute stack index)
	provided uint64 // bit i set: parameter i was passed
	// boundary marks a frame entered from Go (Thread.Call): returning
	// from it leaves the interpreter loop.
	boundary bool
	// atomic is Thread.atomic when the frame was entered, restored when
	// it returns (a return from inside a statement writing module state
	// leaves its bracket).
	atomic int32
}

// handler is an active try block of frame number frame.
type handler struct {
	frame   int
	reg     int   // register receiving the error value
	target  int   // catch pc
	cleanup int   // where a cancellation goes: the finally path (0: none)
	atomic  int32 // Thread.atomic when the try began
}

// Closure is a Tova function value.
type Closure struct {
	Fn   *funcProto
	Free []*Cell
}

// Name returns the function's name ("<lambda>" for anonymous ones).
func (c *Closure) Name() string {
	if c.Fn.Name == "" {
		return "<lambda>"
	}
	return c.Fn.Name
}

// Decl is where the function is declared, as a stack frame: what points
// at a function that failed by returning a value (Err) rather than at a
// line of it.
func (c *Closure) Decl() StackFrame {
	file := ""
	if files := c.Fn.prog.Code.Files; c.Fn.File < len(files) {
		file = files[c.Fn.File].Name
	}
	return StackFrame{Func: c.Name(), File: file, Line: int(c.Fn.Pos.Line), Col: int(c.Fn.Pos.Col)}
}

// ParamNames returns the declared parameter names.
func (c *Closure) ParamNames() []string { return c.Fn.ParamNames }

// ParamTypes returns the parameter annotations ("" where absent).
func (c *Closure) ParamTypes() []string { return c.Fn.ParamTypes }

// Load prepares a bytecode program for execution. It checks what the
// decoder cannot: that every builtin the program names exists.
func Load(p *bytecode.Program) (*Program, error) {
	if len(p.Funcs) == 0 {
		return nil, fmt.Errorf("program has no main function")
	}
	// The interpreter reads registers, constants and instructions without
	// bounds checks; that is safe only for validated code.
	if err := p.Validate(); err != nil { // (control flow too: no function runs past its end)
		return nil, err
	}
	prog := &Program{Code: p}
	prog.consts = make([]Value, len(p.Constants))
	for i, k := range p.Constants {
		switch k.Kind {
		case bytecode.KNil:
			prog.consts[i] = Nil
		case bytecode.KInt:
			prog.consts[i] = Int(k.Int)
		case bytecode.KFloat:
			prog.consts[i] = Float(k.Float)
		case bytecode.KString:
			prog.consts[i] = Str(k.Str)
		case bytecode.KBool:
			prog.consts[i] = Bool(k.Int != 0)
		case bytecode.KNames:
			// Names constants are used by NEWOBJ (shape) and CALLKW; keep
			// the shape ready in an Object-less Value: resolved lazily.
			prog.consts[i] = shapeConst(ShapeOf(k.Names))
		}
	}
	prog.builtins = make([]Value, len(p.Builtins))
	for i, name := range p.Builtins {
		b, ok := LookupBuiltin(name)
		if !ok { // (Validate refused it: bytecode.BuiltinKnown)
			return nil, fmt.Errorf("program uses unknown builtin %q", name)
		}
		prog.builtins[i] = b
	}
	prog.types = make([]*typeEntry, len(p.Types))
	for i, td := range p.Types {
		te := newTypeEntry(td, prog.consts)
		prog.types[i] = te
		json := slices.Contains(td.Derive, "JSON")
		if te.adt == nil {
			ti := te.ctors[0].AsType().Info
			ti.decl, ti.prog, ti.JSON = i+1, prog, json
			continue
		}
		for _, ti := range te.adt.Variants {
			ti.decl, ti.prog, ti.JSON = i+1, prog, json
		}
		if prog.namespaces == nil {
			prog.namespaces = map[*Object]int{}
		}
		prog.namespaces[te.ctors[0].AsObject()] = i
	}
	prog.funcs = make([]*funcProto, len(p.Funcs))
	for i, f := range p.Funcs {
		fp := &funcProto{Func: f, prog: prog, index: i, caches: make([]uint64, len(f.Code)), freshObject: returnsFreshObject(f.Code)}
		if f.NumParams >= 64 {
			fp.fullMask = ^uint64(0)
		} else {
			fp.fullMask = 1<<uint(f.NumParams) - 1
		}
		for pc, in := range f.Code {
			if in.Op() != bytecode.CALLM || in.C() >= len(p.Constants) {
				continue
			}
			if b, ok := LookupBuiltin(p.Constants[in.C()].Str); ok && b.k == KBuiltin {
				if fp.methods == nil {
					fp.methods = make([]*Builtin, len(f.Code))
				}
				fp.methods[pc] = b.AsBuiltin()
			}
		}
		prog.funcs[i] = fp
	}
	return prog, nil
}

func newTypeEntry(td *bytecode.TypeDesc, consts []Value) *typeEntry {
	te := &typeEntry{}
	eq := true // records and variants compare structurally
	defaults := func(ti *TypeInfo, ks []int) {
		if len(ks) == 0 {
			return
		}
		ti.defaults, ti.hasDefault = make([]Value, len(ks)), make([]bool, len(ks))
		for i, k := range ks {
			if k > 0 {
				ti.defaults[i], ti.hasDefault[i] = consts[k-1], true
			}
		}
	}
	if len(td.Variants) == 0 {
		ti := NewTypeInfo(td.Name, td.Name, td.Fields, -1)
		defaults(ti, td.Defaults)
		ti.Eq = eq
		te.ctors = []Value{TypeValueOf(ti)}
		return te
	}
	te.adt = &ADTInfo{Name: td.Name}
	te.ctors = make([]Value, len(td.Variants)+1)
	for j, vd := range td.Variants {
		ti := NewTypeInfo(td.Name, vd.Name, vd.Fields, j)
		defaults(ti, vd.Defaults)
		ti.ADT = te.adt
		ti.Eq = eq
		te.adt.Variants = append(te.adt.Variants, ti)
		if ti.Singleton != nil {
			te.ctors[j+1] = ObjectValue(ti.Singleton)
		} else {
			te.ctors[j+1] = TypeValueOf(ti)
		}
	}
	// The ADT name is not callable: it is an object of its variants, so
	// that Color.Red and Shape.Circle(2.0) name them (`is` checks use
	// names, not this value).
	ns := NewObject()
	for j, vd := range td.Variants {
		ns.Set(vd.Name, te.ctors[j+1])
	}
	te.ctors[0] = ObjectValue(ns)
	return te
}

// HasDefault reports whether parameter i has a default value (the
// function begins by testing whether it was passed).
func (c *Closure) HasDefault(i int) bool {
	for _, in := range c.Fn.Code {
		if in.Op() == bytecode.JARG && in.A() == i {
			return true
		}
	}
	return false
}

// qualified reads the name of a type that several scopes declare as
// the compiler writes it in an annotation, `Item#3`: the type's name and
// its index in the program's types; i is -1 for any other name.
func (p *Program) qualified(name string) (base string, i int) {
	base, n, ok := strings.Cut(name, "#")
	if !ok {
		return name, -1
	}
	i, err := strconv.Atoi(n)
	if err != nil || i < 0 || i >= len(p.Code.Types) || i >= len(p.types) {
		return base, -1
	}
	return base, i
}

// TypeText is an annotation as the program wrote it: without the
// qualifiers the compiler gives names that several scopes declare
// (`Item#3` is Item).
func TypeText(typ string) string {
	if !strings.Contains(typ, "#") {
		return typ
	}
	var b strings.Builder
	for i := 0; i < len(typ); i++ {
		if typ[i] == '#' {
			for i+1 < len(typ) && typ[i+1] >= '0' && typ[i+1] <= '9' {
				i++
			}
			continue
		}
		b.WriteByte(typ[i])
	}
	return b.String()
}

// RecordType returns the record type declared as name (the first, if
// several scopes declare one) and its fields' annotations ("" where
// absent), or nil.
func (p *Program) RecordType(name string) (*TypeInfo, []string) {
	if base, i := p.qualified(name); i >= 0 {
		if td := p.Code.Types[i]; td.Name == base && len(td.Variants) == 0 {
			return p.types[i].ctors[0].AsType().Info, td.FieldTypes
		}
		return nil, nil
	}
	for i, td := range p.Code.Types {
		if td.Name == name && len(td.Variants) == 0 {
			return p.types[i].ctors[0].AsType().Info, td.FieldTypes
		}
	}
	return nil, nil
}

// RecordFieldTypes returns the annotations of the fields of the record
// type ti ("" where a field has none), or nil.
func (p *Program) RecordFieldTypes(ti *TypeInfo) []string {
	for i, td := range p.Code.Types {
		if len(td.Variants) == 0 && p.types[i].ctors[0].AsType().Info == ti {
			return td.FieldTypes
		}
	}
	return nil
}

// VariantsNamed returns the variants of every type declared as name
// that has variants (servers may each declare their own), in
// declaration order, or nil when none has.
func (p *Program) VariantsNamed(name string) []*TypeInfo {
	if base, i := p.qualified(name); i >= 0 {
		if td := p.Code.Types[i]; td.Name == base && len(td.Variants) > 0 {
			return p.types[i].adt.Variants
		}
		return nil
	}
	var vs []*TypeInfo
	for i, td := range p.Code.Types {
		if td.Name == name && len(td.Variants) > 0 {
			vs = append(vs, p.types[i].adt.Variants...)
		}
	}
	return vs
}

// VariantFieldTypes returns the annotations of the fields of ti, a
// variant of a type the program declares ("" where a field has none),
// or nil.
func (p *Program) VariantFieldTypes(ti *TypeInfo) []string {
	for i, td := range p.Code.Types {
		if adt := p.types[i].adt; adt != nil {
			for j, v := range adt.Variants {
				if v == ti && j < len(td.Variants) {
					return td.Variants[j].FieldTypes
				}
			}
		}
	}
	return nil
}

// Variants returns the variants of the type declared as name (the
// first, if several scopes declare one), in declaration order, or nil
// when no type of that name has variants.
func (p *Program) Variants(name string) []*TypeInfo {
	for i, td := range p.Code.Types {
		if td.Name == name && len(td.Variants) > 0 {
			return p.types[i].adt.Variants
		}
	}
	return nil
}
