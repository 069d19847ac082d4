package bytecode

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
	Name     string
	Fields   []string
	Variants []VariantDesc
	Derive   []string
}

// VariantDesc is one variant of an ADT; Fields is empty for a bare variant.
type VariantDesc struct {
	Name   string
	Fields []string
}

// Server is the metadata of one named server (filled by the server issue).
type Server struct {
	Name string
}
