// Package ast declares the syntax tree of a Tova program.
//
// The parser (frontend/parse) builds it; the resolver (frontend/resolve)
// annotates every Ident with a *Binding and every function with its locals
// and free variables; the compiler (bytecode) turns the annotated tree into
// bytecode. Nothing after the compiler sees the tree.
//
// Desugaring done by the parser, so later stages never see these forms:
//   - column expressions (§1.6): an argument of where/sort_by/group_by/
//     filter/find/map/... containing `.name` becomes a Lambda with one param
//     named "__row" and `.name` becomes Member{X: Ident{"__row"}, Name};
//     a bare `.id` argument of drop_nil/fill_nil/dropNil/fillNil/select
//     becomes StringLit{"id"}; anywhere else a bare `.name` is the lambda
//     fn(__row) __row.name.
//   - `x |> .method(args)` becomes MethodCall-shaped Call{Fn: Member{x, method}};
//     `x |> .prop` becomes Member{x, prop}. Other pipes stay Pipe nodes.
//   - number literal followed by a unit (`30.seconds`, `5.megabytes`)
//     becomes UnitLit.
//
// Desugaring done by the resolver:
//   - implicit `it`: a call argument that mentions an unbound `it` is
//     wrapped into Lambda{Params: [it], Body: arg}.
package ast

import "tova/frontend/token"

// Node is any syntax tree node.
type Node interface{ Pos() token.Pos }

// Expr is an expression node.
type Expr interface {
	Node
	exprNode()
}

// Stmt is a statement node.
type Stmt interface {
	Node
	stmtNode()
}

// File is one parsed source file.
type File struct {
	Name  string
	Stmts []Stmt
	// Placeholders are where `...` stands as a statement (code not
	// written yet): it does nothing, and is warned of.
	Placeholders []token.Pos
	// FloorDivs are where a comment holding a number alone follows an
	// operand on its line (`half = n // 2`, Python's floor division):
	// warned of.
	FloorDivs []token.Pos
	// Set by the resolver: bindings of the top-level code. Locals are
	// register slots of the file's main function; Globals are module slots
	// shared by all functions of the program.
	Locals  []*Binding
	Globals []*Binding
}

// ---------------------------------------------------------------- bindings

// Scope says where a resolved name lives at run time.
type Scope uint8

const (
	Undefined Scope = iota
	Local           // register slot Index of the current function
	Cell            // register slot Index of the current function holds a *Cell (the variable is captured by an inner function)
	Free            // free variable Index of the current closure (a captured Cell)
	Global          // module slot Index
	Builtin         // predeclared builtin, looked up by Name
)

var scopeNames = [...]string{"undefined", "local", "cell", "free", "global", "builtin"}

func (s Scope) String() string { return scopeNames[s] }

// Binding is one declared name. Several Idents share one Binding.
type Binding struct {
	Name    string
	Scope   Scope
	Index   int
	Mutable bool      // declared with var (or a function parameter? no: parameters are immutable)
	Decl    token.Pos // where it was declared (zero for builtins)
	// For a Free binding: the binding in the enclosing function that the
	// closure captures (itself Cell or Free there).
	Outer *Binding
	// Read is set by the resolver when code reads the binding.
	Read bool
	// ShadowsVar is where the module's var of this name is declared,
	// below this binding, which `x = v` in a function above it declared
	// (the var is not assigned): zero otherwise.
	ShadowsVar token.Pos
}

// Function is the resolver's view shared by FnDecl and Lambda.
type Function struct {
	Params   []*Param
	Body     *Block // block body; for expression lambdas a Block with one ExprStmt
	Async    bool
	Name     string     // "" for lambdas
	Locals   []*Binding // set by resolver: params first (one per Param, in order; destructured params get a hidden local), then every other local
	FreeVars []*Binding // set by resolver: the Free bindings of this function, by Index
	HasYield bool       // set by parser when the body contains yield (a generator)
	// TypeParams are the generic names its annotations may use: its own
	// (fn first<T>(xs: [T])) and, for a method, its impl block's.
	TypeParams []string
}

// Param is one function parameter: a name (or destructuring pattern),
// an optional type annotation and an optional default.
type Param struct {
	PosV    token.Pos
	Name    *Ident  // nil when Pattern is a destructuring pattern
	Pattern Pattern // non-nil for `fn f({ a, b })` / `fn f([x, y])`
	Type    *TypeExpr
	Default Expr
	Rest    bool // ...args
}

func (p *Param) Pos() token.Pos { return p.PosV }

// TypeExpr is a type annotation: Int, String, [Int], Option<String>, Result<T, E>.
type TypeExpr struct {
	PosV  token.Pos
	Name  string      // "Int", "Option", ... ; "[]" for an array type
	Args  []*TypeExpr // generic arguments, or the element type of "[]"
	Check Expr        // refinement `where { ... }` (may be nil)
}

func (t *TypeExpr) Pos() token.Pos { return t.PosV }

// ---------------------------------------------------------------- expressions

type (
	Ident struct {
		PosV    token.Pos
		Name    string
		Binding *Binding // set by resolver
	}
	IntLit struct {
		PosV  token.Pos
		Value int64
	}
	FloatLit struct {
		PosV  token.Pos
		Value float64
	}
	StringLit struct {
		PosV  token.Pos
		Value string
	}
	// InterpString is "a {x} b": Parts alternate freely between *StringLit and other Exprs.
	InterpString struct {
		PosV  token.Pos
		Parts []Expr
	}
	BoolLit struct {
		PosV  token.Pos
		Value bool
	}
	NilLit struct{ PosV token.Pos }
	// UnitLit is a duration or size literal: 30.seconds, 1.5.hours, 5.megabytes.
	// Unit is normalised to the singular: millisecond second minute hour day week byte kilobyte megabyte gigabyte.
	UnitLit struct {
		PosV   token.Pos
		Number Expr // *IntLit or *FloatLit
		Unit   string
	}
	ArrayLit struct {
		PosV  token.Pos
		Elems []Expr // may contain *Spread
		Tuple bool   // written (a, b)
	}
	ObjectLit struct {
		PosV    token.Pos
		Entries []*ObjEntry
	}
	Spread struct {
		PosV token.Pos
		X    Expr
	}
	Unary struct {
		PosV token.Pos
		Op   string // "-", "+", "not", "~"
		X    Expr
	}
	// Binary covers arithmetic, comparison (non-chained), logic, ??, in, not in, bitwise.
	// Op is one of: + - * / % ** == != < <= > >= and or ?? in "not in" & | ^ << >>
	Binary struct {
		PosV token.Pos
		Op   string
		X, Y Expr
	}
	// Chain is a chained comparison 1 < x < 10: len(Ops) == len(Operands)-1 >= 2.
	Chain struct {
		PosV     token.Pos
		Operands []Expr
		Ops      []string
	}
	Range struct {
		PosV      token.Pos
		Lo, Hi    Expr
		Inclusive bool
	}
	// Is is `x is String` / `x is not Nil` / `x is Circle`.
	Is struct {
		PosV     token.Pos
		X        Expr
		TypeName string
		Not      bool
	}
	Call struct {
		PosV token.Pos
		Fn   Expr // a *Member callee is a method call
		Args []*Arg
	}
	Member struct {
		PosV     token.Pos
		X        Expr
		Name     string
		Optional bool // x?.name
	}
	Index struct {
		PosV     token.Pos
		X        Expr
		Index    Expr
		Optional bool // x?[i]
	}
	Slice struct {
		PosV         token.Pos
		X            Expr
		Lo, Hi, Step Expr // each may be nil
	}
	Lambda struct {
		PosV token.Pos
		Fn   *Function
	}
	// Pipe is X |> Target for the pipe forms not desugared by the parser:
	// Target is a *Call (value becomes first argument, or replaces `_`
	// placeholders: Ident named "_"), or any other expression (called with X).
	Pipe struct {
		PosV   token.Pos
		X      Expr
		Target Expr
	}
	// If is both statement and expression; as an expression Else is required.
	If struct {
		PosV  token.Pos
		Cond  Expr
		Then  *Block
		Elifs []*ElifClause
		Else  *Block // may be nil
	}
	Match struct {
		PosV    token.Pos
		Subject Expr
		Arms    []*MatchArm
	}
	// Try is try/catch/finally; its value is the value of the body or of the catch block.
	Try struct {
		PosV     token.Pos
		Body     *Block
		CatchVar *Ident // may be nil
		Catch    *Block // may be nil when Finally is set
		Finally  *Block
	}
	// Block as an expression: `{ stmts }` where the last statement gives the value.
	Block struct {
		PosV  token.Pos
		Stmts []Stmt
	}
	// ListComp is [Elem for Vars in Iter if Cond], with More clauses
	// `for Vars in Iter if Cond` nested inside that one, in order:
	// [[x, y] for x in xs for y in ys].
	ListComp struct {
		PosV token.Pos
		Elem Expr
		Vars []Pattern // one or two (index/key, value)
		Iter Expr
		Cond Expr // may be nil
		More []*CompClause
	}
	// DictComp is {Key: Value for Vars in Iter if Cond}.
	DictComp struct {
		PosV       token.Pos
		Key, Value Expr
		Vars       []Pattern
		Iter       Expr
		Cond       Expr
	}
	Await struct {
		PosV token.Pos
		X    Expr
	}
	// Propagate is `expr?`: on Err/None return it from the enclosing function, else unwrap.
	Propagate struct {
		PosV token.Pos
		X    Expr
	}
	Yield struct {
		PosV token.Pos
		X    Expr
		// From: `yield from X`, each value of X yielded in turn (the
		// reference's delegation, JavaScript's yield*).
		From bool
	}
)

// ObjEntry is one entry of an object literal.
type ObjEntry struct {
	PosV    token.Pos
	Key     string // identifier or string key
	KeyExpr Expr   // computed key [k]: v (Key is "")
	Value   Expr   // for shorthand {x}, an *Ident
	Spread  Expr   // ...other (Key, KeyExpr and Value unused)
}

func (e *ObjEntry) Pos() token.Pos { return e.PosV }

// Arg is one call argument.
type Arg struct {
	PosV   token.Pos
	Name   string // named argument `batch: 10000`, else ""
	Value  Expr
	Spread bool // f(...xs)
}

func (a *Arg) Pos() token.Pos { return a.PosV }

type ElifClause struct {
	PosV token.Pos
	Cond Expr
	Body *Block
}

func (e *ElifClause) Pos() token.Pos { return e.PosV }

type MatchArm struct {
	PosV    token.Pos
	Pattern Pattern
	Guard   Expr // may be nil
	Body    Expr // an expression, or a *Block
}

func (m *MatchArm) Pos() token.Pos { return m.PosV }

// CompClause is a further `for Vars in Iter if Cond` of a list
// comprehension.
type CompClause struct {
	Vars []Pattern
	Iter Expr
	Cond Expr // may be nil
}

// ---------------------------------------------------------------- patterns

// Pattern is a match or destructuring pattern.
type Pattern interface {
	Node
	patternNode()
}

type (
	// PBind binds the whole value to a name (lowercase identifier in match).
	PBind struct{ Name *Ident }
	// PWild is `_`.
	PWild struct{ PosV token.Pos }
	// PLit matches a literal: *IntLit, *FloatLit, *StringLit, *BoolLit, *NilLit, or a negated number (Unary "-").
	PLit struct{ Value Expr }
	// PRange matches Lo..Hi or Lo..=Hi (numbers or strings).
	PRange struct {
		PosV      token.Pos
		Lo, Hi    Expr
		Inclusive bool
	}
	// PArray is [a, b, ...rest] (also used for tuple patterns (a, b)).
	// RestIndex is the position of `...rest` in Elems' order, -1 if none;
	// Rest is the rest binding (nil for a bare `...`).
	PArray struct {
		PosV      token.Pos
		Elems     []Pattern
		RestIndex int
		Rest      *Ident
	}
	// PObject is { a, b: pat, c = default, ...rest }.
	PObject struct {
		PosV   token.Pos
		Fields []*PField
		Rest   *Ident
	}
	// PVariant is Ok(v), Err(e), Some(x), None, Circle(r), or a user variant with named fields.
	PVariant struct {
		PosV token.Pos
		Name string
		Args []Pattern
		// Fields names the field of each of Args (`Node(value: v)`), or
		// is nil when they go by position; the resolver puts named ones
		// in the variant's order and sets it back to nil.
		Fields []*Ident
	}
	// PStrPrefix is "prefix" ++ rest.
	PStrPrefix struct {
		PosV   token.Pos
		Prefix string
		Rest   Pattern // *PBind or *PWild
	}
	// POr is p1 | p2.
	POr struct {
		PosV token.Pos
		Alts []Pattern
	}
)

type PField struct {
	PosV    token.Pos
	Key     string
	Pattern Pattern // for shorthand { a }: PBind of a
	Default Expr    // may be nil
}

func (f *PField) Pos() token.Pos { return f.PosV }

// ---------------------------------------------------------------- statements

type (
	ExprStmt struct{ X Expr }
	// Assign is `targets op values`. Op is "=" or a compound operator ("+=", ...).
	// With Op "=" and a single *PBind target, the resolver decides whether
	// this declares a new immutable binding or assigns an outer var
	// (Decision 3) and sets Declares.
	// Targets are patterns; member and index targets are wrapped in PTarget.
	Assign struct {
		PosV     token.Pos
		Targets  []Pattern
		Op       string
		Values   []Expr
		Type     *TypeExpr // x: Int = 1
		Declares []bool    // set by resolver: per PBind target, true if it declares a new binding
	}
	// VarDecl is `var x = 1`, `var a, b = 1, 2`, `var x: Int = 1`.
	VarDecl struct {
		PosV    token.Pos
		Targets []Pattern
		Values  []Expr
		Type    *TypeExpr
	}
	FnDecl struct {
		PosV    token.Pos
		Name    *Ident
		Fn      *Function
		RetType *TypeExpr
		// RPC is set by the resolver on a server's function that
		// another server of the program calls by name
		// (`worker.compute(21)`): the server answers it at POST
		// /rpc/<name>.
		RPC bool
	}
	Return struct {
		PosV token.Pos
		X    Expr // may be nil
	}
	Break struct {
		PosV  token.Pos
		Label string
	}
	Continue struct {
		PosV  token.Pos
		Label string
	}
	While struct {
		PosV  token.Pos
		Label string
		Cond  Expr
		Body  *Block
	}
	Loop struct {
		PosV  token.Pos
		Label string
		Body  *Block
	}
	// For is `for Vars in Iter [when Cond] { Body } [else { Else }]`.
	// One var: element (chars for strings). Two vars: index/element for arrays, key/value for objects.
	For struct {
		PosV  token.Pos
		Label string
		Vars  []Pattern
		Iter  Expr
		When  Expr
		Body  *Block
		Else  *Block
	}
	Guard struct {
		PosV token.Pos
		Cond Expr
		Else *Block
	}
	Defer struct {
		PosV token.Pos
		Body *Block // `defer expr` is a Block with one ExprStmt
	}
	// With is `with X as Name { Body }`: Body runs with Name bound to
	// X's value, and Close runs however Body is left (normally, by an
	// error, a return or a break): the parser makes it the call
	// __dispose(Name), which calls Name.close(), else Name.dispose(),
	// if the value has that method.
	With struct {
		PosV  token.Pos
		X     Expr
		Name  *Ident
		Body  *Block
		Close *Block
	}
	Throw struct {
		PosV token.Pos
		X    Expr
	}
	// TypeDecl is a record (Fields) or an ADT (Variants), with optional derive list.
	TypeDecl struct {
		PosV     token.Pos
		Name     *Ident
		Params   []string // generic parameters
		Fields   []*FieldDecl
		Variants []*VariantDecl
		Derive   []string
		Alias    *TypeExpr // type Email = String where {...}
	}
	// ImplDecl is `impl Type { fn ... }` (methods, whose first parameter
	// is self, and associated functions, without it) or `impl Trait for
	// Type { fn ... }` (methods: the parser gives each its self).
	ImplDecl struct {
		PosV    token.Pos
		Type    *Ident
		Trait   *Ident // nil: a plain impl
		Methods []*FnDecl
		// Defaults are the trait's default methods the impl does not
		// override (set by the resolver).
		Defaults []*FnDecl
	}
	// TraitDecl is `trait Name { ... }` or `interface Name { ... }`: method
	// signatures (a FnDecl whose Fn.Body is nil) and, in a trait, default
	// methods. Each method's first parameter is self (added by the parser).
	TraitDecl struct {
		PosV      token.Pos
		Name      *Ident
		Interface bool
		Methods   []*FnDecl
	}
	// Import is `import { a, b as c } from "m"`, `import m from "m"` or
	// `import "m"`. Programs are single files: the resolver accepts only
	// builtin modules, and binds the names to builtins.
	Import struct {
		PosV    token.Pos
		Default *Ident        // import m from "m"
		Star    *Ident        // import * as m from "m"
		Names   []*ImportName // { a, b as c }
		From    string
		FromPos token.Pos
	}
)

// ImportName is one name in the braces of an import.
type ImportName struct {
	Name  *Ident // the module's name for it
	Alias *Ident // the name given by `as`, or nil
}

// PTarget wraps a member or index expression used as an assignment target.
type PTarget struct{ X Expr }

type FieldDecl struct {
	PosV    token.Pos
	Name    string
	Type    *TypeExpr
	Default Expr
}

func (f *FieldDecl) Pos() token.Pos { return f.PosV }

type VariantDecl struct {
	PosV    token.Pos
	Name    string
	Fields  []*FieldDecl // empty for bare variants
	Binding *Binding     // set by resolver: the variant's constructor binding
}

func (v *VariantDecl) Pos() token.Pos { return v.PosV }

// ---------------------------------------------------------------- Pos / markers

func (x *Ident) Pos() token.Pos        { return x.PosV }
func (x *IntLit) Pos() token.Pos       { return x.PosV }
func (x *FloatLit) Pos() token.Pos     { return x.PosV }
func (x *StringLit) Pos() token.Pos    { return x.PosV }
func (x *InterpString) Pos() token.Pos { return x.PosV }
func (x *BoolLit) Pos() token.Pos      { return x.PosV }
func (x *NilLit) Pos() token.Pos       { return x.PosV }
func (x *UnitLit) Pos() token.Pos      { return x.PosV }
func (x *ArrayLit) Pos() token.Pos     { return x.PosV }
func (x *ObjectLit) Pos() token.Pos    { return x.PosV }
func (x *Spread) Pos() token.Pos       { return x.PosV }
func (x *Unary) Pos() token.Pos        { return x.PosV }
func (x *Binary) Pos() token.Pos       { return x.PosV }
func (x *Chain) Pos() token.Pos        { return x.PosV }
func (x *Range) Pos() token.Pos        { return x.PosV }
func (x *Is) Pos() token.Pos           { return x.PosV }
func (x *Call) Pos() token.Pos         { return x.PosV }
func (x *Member) Pos() token.Pos       { return x.PosV }
func (x *Index) Pos() token.Pos        { return x.PosV }
func (x *Slice) Pos() token.Pos        { return x.PosV }
func (x *Lambda) Pos() token.Pos       { return x.PosV }
func (x *Pipe) Pos() token.Pos         { return x.PosV }
func (x *If) Pos() token.Pos           { return x.PosV }
func (x *Match) Pos() token.Pos        { return x.PosV }
func (x *Try) Pos() token.Pos          { return x.PosV }
func (x *Block) Pos() token.Pos        { return x.PosV }
func (x *ListComp) Pos() token.Pos     { return x.PosV }
func (x *DictComp) Pos() token.Pos     { return x.PosV }
func (x *Await) Pos() token.Pos        { return x.PosV }
func (x *Propagate) Pos() token.Pos    { return x.PosV }
func (x *Yield) Pos() token.Pos        { return x.PosV }

func (*Ident) exprNode()        {}
func (*IntLit) exprNode()       {}
func (*FloatLit) exprNode()     {}
func (*StringLit) exprNode()    {}
func (*InterpString) exprNode() {}
func (*BoolLit) exprNode()      {}
func (*NilLit) exprNode()       {}
func (*UnitLit) exprNode()      {}
func (*ArrayLit) exprNode()     {}
func (*ObjectLit) exprNode()    {}
func (*Spread) exprNode()       {}
func (*Unary) exprNode()        {}
func (*Binary) exprNode()       {}
func (*Chain) exprNode()        {}
func (*Range) exprNode()        {}
func (*Is) exprNode()           {}
func (*Call) exprNode()         {}
func (*Member) exprNode()       {}
func (*Index) exprNode()        {}
func (*Slice) exprNode()        {}
func (*Lambda) exprNode()       {}
func (*Pipe) exprNode()         {}
func (*If) exprNode()           {}
func (*Match) exprNode()        {}
func (*Try) exprNode()          {}
func (*Block) exprNode()        {}
func (*ListComp) exprNode()     {}
func (*DictComp) exprNode()     {}
func (*Await) exprNode()        {}
func (*Propagate) exprNode()    {}
func (*Yield) exprNode()        {}

func (x *ExprStmt) Pos() token.Pos  { return x.X.Pos() }
func (x *Assign) Pos() token.Pos    { return x.PosV }
func (x *VarDecl) Pos() token.Pos   { return x.PosV }
func (x *FnDecl) Pos() token.Pos    { return x.PosV }
func (x *Return) Pos() token.Pos    { return x.PosV }
func (x *Break) Pos() token.Pos     { return x.PosV }
func (x *Continue) Pos() token.Pos  { return x.PosV }
func (x *While) Pos() token.Pos     { return x.PosV }
func (x *Loop) Pos() token.Pos      { return x.PosV }
func (x *For) Pos() token.Pos       { return x.PosV }
func (x *Guard) Pos() token.Pos     { return x.PosV }
func (x *Defer) Pos() token.Pos     { return x.PosV }
func (x *With) Pos() token.Pos      { return x.PosV }
func (x *Throw) Pos() token.Pos     { return x.PosV }
func (x *TypeDecl) Pos() token.Pos  { return x.PosV }
func (x *ImplDecl) Pos() token.Pos  { return x.PosV }
func (x *TraitDecl) Pos() token.Pos { return x.PosV }
func (x *Import) Pos() token.Pos    { return x.PosV }

func (*ExprStmt) stmtNode()  {}
func (*Assign) stmtNode()    {}
func (*VarDecl) stmtNode()   {}
func (*FnDecl) stmtNode()    {}
func (*Return) stmtNode()    {}
func (*Break) stmtNode()     {}
func (*Continue) stmtNode()  {}
func (*While) stmtNode()     {}
func (*Loop) stmtNode()      {}
func (*For) stmtNode()       {}
func (*Guard) stmtNode()     {}
func (*Defer) stmtNode()     {}
func (*With) stmtNode()      {}
func (*Throw) stmtNode()     {}
func (*TypeDecl) stmtNode()  {}
func (*ImplDecl) stmtNode()  {}
func (*TraitDecl) stmtNode() {}
func (*Import) stmtNode()    {}

func (x *PBind) Pos() token.Pos      { return x.Name.PosV }
func (x *PWild) Pos() token.Pos      { return x.PosV }
func (x *PLit) Pos() token.Pos       { return x.Value.Pos() }
func (x *PRange) Pos() token.Pos     { return x.PosV }
func (x *PArray) Pos() token.Pos     { return x.PosV }
func (x *PObject) Pos() token.Pos    { return x.PosV }
func (x *PVariant) Pos() token.Pos   { return x.PosV }
func (x *PStrPrefix) Pos() token.Pos { return x.PosV }
func (x *POr) Pos() token.Pos        { return x.PosV }
func (x *PTarget) Pos() token.Pos    { return x.X.Pos() }

func (*PBind) patternNode()      {}
func (*PWild) patternNode()      {}
func (*PLit) patternNode()       {}
func (*PRange) patternNode()     {}
func (*PArray) patternNode()     {}
func (*PObject) patternNode()    {}
func (*PVariant) patternNode()   {}
func (*PStrPrefix) patternNode() {}
func (*POr) patternNode()        {}
func (*PTarget) patternNode()    {}

// StartOf is where the expression x begins: an element's, a field's, a
// call's, a binary expression's or a pipe's is where its left side
// begins (x.Pos() is its bracket, dot, parenthesis or operator).
func StartOf(x Expr) token.Pos {
	switch e := x.(type) {
	case *Index:
		return StartOf(e.X)
	case *Member:
		return StartOf(e.X)
	case *Call:
		return StartOf(e.Fn)
	case *Binary:
		return StartOf(e.X)
	case *Pipe:
		return StartOf(e.X)
	}
	return x.Pos()
}
