package resolve

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"tova/frontend/ast"
	"tova/frontend/diag"
	"tova/frontend/token"
)

// Options describe the names predeclared by the runtime (builtins).
type Options struct {
	// IsPredeclared reports whether name is a builtin. It may be nil.
	IsPredeclared func(name string) bool
	// PredeclaredNames lists builtins, for "did you mean" suggestions;
	// each is predeclared too.
	PredeclaredNames []string
}

// Resolve annotates files in place. The files form one program: their
// top-level names share one module scope, and server blocks of the same
// name (across files) share one server scope. It returns a diag.List
// sorted by file and position, or nil.
func Resolve(files []*ast.File, opts Options) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = diag.List{{Msg: fmt.Sprintf("internal resolver error: %v", p)}}
		}
	}()
	r := &resolver{
		opts:       opts,
		info:       make(map[*ast.Binding]*bindInfo),
		builtins:   make(map[string]*ast.Binding),
		predecl:    make(map[*ast.Ident]*ast.Binding),
		mains:      make(map[*ast.File]*funcInfo),
		order:      make(map[*ast.File]int, len(files)),
		servers:    make(map[string]*scope),
		discovered: map[string]bool{},
		background: map[string]bool{},
		declared:   make(map[string]bool, len(opts.PredeclaredNames)),
		traits:     map[string]*ast.TraitDecl{},
		aliases:    map[*ast.Binding]bool{},
		methodsOf:  map[*scope]map[string]map[string]*ast.FnDecl{},
		defaultsOf: map[*scope]map[string]map[string]traitDefault{},
		typeDecls:  map[*scope]map[string]*ast.TypeDecl{},
		variants:   map[*ast.Binding]*ast.VariantDecl{},
	}
	for _, n := range opts.PredeclaredNames {
		r.declared[n] = true
	}
	r.module = &scope{kind: scopeModule, names: map[string]*ast.Binding{}}
	for i, f := range files {
		r.mains[f] = &funcInfo{file: f}
		r.order[f] = i
	}
	envPortOfLoneServer(files)
	r.predeclareProgram(files)
	for _, f := range files {
		r.file = f
		r.fn = r.mains[f]
		r.cur = r.module
		r.resolveStmts(f.Stmts, false)
	}
	r.finish(files)
	return r.errs.Err()
}

// envPortOfLoneServer gives a program's one server, declared with no
// `port`, the port its top-level `env PORT: Int = N` declares (the
// guide's form), as if it said `port PORT`: it listened on 3000
// whatever the default said. (With several servers, PORT reaches the
// first one a process runs, and the others keep their own ports.)
func envPortOfLoneServer(files []*ast.File) {
	var decl *ast.EnvDecl
	var servers []*ast.ServerDecl
	names := map[string]bool{}
	var declFile *ast.File
	lone := false // a declaration of a program of routes alone
	for _, f := range files {
		for _, st := range f.Stmts {
			if ast.SharedServerDecl(st) || ast.LoneServerDecl(st) {
				lone = true
			}
			switch st := st.(type) {
			case *ast.EnvDecl:
				t := st.Type
				if t != nil && (t.Name == "Option" || t.Name == "?") && len(t.Args) == 1 {
					t = t.Args[0]
				}
				if st.Name != nil && st.Name.Name == "PORT" && t != nil && t.Name == "Int" && len(t.Args) == 0 {
					decl, declFile = st, f
				}
			case *ast.ServerDecl:
				servers = append(servers, st)
				names[st.Name] = true
			}
		}
	}
	if decl == nil {
		return
	}
	// (the name read just after its declaration's: read at the
	// declaration's own place, it was "used before its declaration")
	at := token.Pos{Line: decl.Name.PosV.Line, Col: decl.Name.PosV.Col + 1}
	port := &ast.PortStmt{PosV: decl.PosV, X: &ast.Ident{PosV: at, Name: "PORT"}, Implicit: true}
	if len(names) == 0 && lone {
		// (routes alone, the guide's health check's form: one unnamed
		// server)
		declFile.Stmts = append(declFile.Stmts, port)
		return
	}
	if len(names) != 1 {
		return
	}
	for _, s := range servers {
		for _, st := range s.Body {
			if _, ok := st.(*ast.PortStmt); ok {
				return
			}
		}
	}
	servers[0].Body = append(servers[0].Body, port)
}

type scopeKind uint8

const (
	scopeModule scopeKind = iota
	scopeServer
	scopeFunc
	scopeBlock
)

// scope is one lexical scope. Bindings declared in a scope with global
// set (a server body and blocks of server-level code) are module slots.
type scope struct {
	parent *scope
	kind   scopeKind
	global bool
	names  map[string]*ast.Binding
}

// funcInfo is the resolver's record of one function: the main function
// of a file (fn nil) or an FnDecl/Lambda/hook function.
type funcInfo struct {
	fn      *ast.Function
	file    *ast.File // for a main function
	parent  *funcInfo // lexically enclosing function; nil at server level
	locals  []*ast.Binding
	free    []*ast.Binding
	freeMap map[*ast.Binding]*ast.Binding // captured binding -> Free binding here
}

type declKind uint8

const (
	kindLet     declKind = iota // x = e
	kindVar                     // var x
	kindParam                   // parameter
	kindLoop                    // for-loop variable
	kindCatch                   // catch variable
	kindPattern                 // match pattern binding
	kindFn                      // fn declaration, named hook
	kindType                    // type name
	kindVariant                 // ADT variant
	kindModel                   // model
	kindEnv                     // env declaration
	kindData                    // data source or pipeline
	kindHidden                  // hidden slot of a destructured parameter
	kindImport                  // imported name: a builtin, or undefined
)

// alwaysReady reports whether a binding of this kind is usable anywhere
// in the program, whatever the order of statements (it is initialised
// before top-level code runs).
func (k declKind) alwaysReady() bool {
	switch k {
	case kindFn, kindType, kindVariant, kindModel, kindData:
		return true
	}
	return false
}

type bindInfo struct {
	kind  declKind
	owner *funcInfo // function whose registers hold a Local/Cell binding
	file  *ast.File
	// module is set for a top-level binding of a main function whose
	// storage (main local or module slot) is decided at the end.
	module bool
	// global is set when a module binding must be a module slot.
	global bool
	// declared is set once the declaring statement has been resolved (for
	// use-before-declaration errors in top-level code).
	declared bool
	// hoisted is set for a local bound to a lambda that hoistLambdas
	// declared ahead of its assignment: until declared, only the bodies
	// of nested functions see it (lookup).
	hoisted bool
}

type resolver struct {
	// memberRecv is the name being resolved as the receiver of a member
	// (User in User.find), for the note of an undefined one
	memberRecv *ast.Ident
	opts       Options
	errs       diag.List
	// suggested counts the undefined names given a "did you mean"
	// (maxSuggested)
	suggested int
	declared  map[string]bool // PredeclaredNames as a set

	module  *scope
	servers map[string]*scope
	// discovered: the server names discover declarations give
	discovered map[string]bool
	// serverFns: each server's plain functions, by name (peer.go)
	serverFns map[string]map[string]*ast.FnDecl
	// peerCalls: the function of another server each `worker.compute`
	// names (peer.go)
	peerCalls map[*ast.Member]*ast.FnDecl
	// background: the names of every server's background fns
	// (spawnByName)
	background map[string]bool
	// hasServer is set when the program declares a server: its jobs go
	// through the queue (a script's spawn_job runs a plain function).
	hasServer bool
	// refreshes: a data block of the program refreshes a source, so
	// that its sources' and pipelines' code also runs in functions of
	// their own (bytecode's dataRefresh); inData: such code is being
	// resolved, and the module names it reads must be module slots
	refreshes, inData bool
	// dataValue: a data block's source or pipeline value is being
	// resolved; dataReady: the sources and pipelines declared before it,
	// which it may read (one declared after has no value yet)
	dataValue bool
	dataReady map[*ast.Binding]bool
	// ownBindings: the builtin-named bindings whose own declaration's
	// value is being resolved (see ownValue)
	ownBindings map[*ast.Binding]bool
	mains       map[*ast.File]*funcInfo
	order       map[*ast.File]int // place of each file in the program

	info     map[*ast.Binding]*bindInfo
	builtins map[string]*ast.Binding
	// predecl maps the declaring identifier of a hoisted top-level or
	// server-level binding to that binding.
	predecl map[*ast.Ident]*ast.Binding
	// traits are the program's trait and interface declarations, by name.
	traits map[string]*ast.TraitDecl
	// methodsOf are the methods the impl blocks of each scope give each
	// type, by type name and method name: the first declaration of each.
	methodsOf map[*scope]map[string]map[string]*ast.FnDecl
	// defaultsOf are the trait defaults each scope's types take, by type
	// name and method name.
	defaultsOf map[*scope]map[string]map[string]traitDefault
	// typeDecls are each scope's type declarations, by name.
	typeDecls map[*scope]map[string]*ast.TypeDecl
	// variants maps a variant's binding to its declaration.
	variants map[*ast.Binding]*ast.VariantDecl
	// aliases are the bindings of type aliases and refinements (type
	// Email = String where ...): names of types with no value.
	aliases map[*ast.Binding]bool
	// slots lists module-slot candidates in declaration order.
	slots []*ast.Binding

	// implicitFns are the lambdas made for implicit `it`, implicitIt
	// their parameters' bindings: an `it` they bind does not stop a
	// nested call's argument from taking its own.
	implicitFns map[*ast.Function]bool
	implicitIt  map[*ast.Binding]bool

	// reads, while the values of an assignment are resolved, records
	// the module bindings they read (see assign).
	reads *valueReads
	// elsewhere: the expression being resolved is a top-level HTTP
	// declaration's (a route's handler, max_body, static), which every
	// server computes in its own set-up, after the top-level code: a
	// module binding it reads is read outside main, as a function's
	// read is, and is bound by then wherever it is declared.
	elsewhere bool

	file  *ast.File
	fn    *funcInfo // current function; nil in server-level code
	cur   *scope
	loops []string // labels of the enclosing loops of the current function ("" unlabeled)
}

// ---------------------------------------------------------------- errors

func (r *resolver) errorf(pos token.Pos, end token.Pos, format string, args ...any) {
	r.errs.Add(r.file.Name, pos, end, fmt.Sprintf(format, args...))
}

func diagNote(pos token.Pos, name string) diag.Note {
	return diag.Note{Pos: pos, Msg: name + " declared here"}
}

func identEnd(id *ast.Ident) token.Pos {
	return token.Pos{Line: id.PosV.Line, Col: id.PosV.Col + int32(len([]rune(id.Name)))}
}

// ---------------------------------------------------------------- scopes

func (r *resolver) push(kind scopeKind) *scope {
	s := &scope{parent: r.cur, kind: kind, names: map[string]*ast.Binding{}}
	if r.cur != nil && r.cur.global && kind == scopeBlock {
		s.global = true
	}
	r.cur = s
	return s
}

func (r *resolver) pop() { r.cur = r.cur.parent }

// lookup finds the innermost visible binding of name (builtins excluded).
func (r *resolver) lookup(name string) *ast.Binding {
	for s := r.cur; s != nil; s = s.parent {
		if b, ok := s.names[name]; ok {
			if inf := r.info[b]; inf != nil && inf.hoisted && !inf.declared && r.fn == inf.owner {
				// A lambda's name hoisted ahead of its assignment is for
				// the bodies of the block's lambdas: the function's own
				// code above the assignment sees what it saw before.
				continue
			}
			return b
		}
	}
	return nil
}

// lookupAbove finds the binding of b's name in the scopes enclosing the
// one b is declared in (nil if none).
func (r *resolver) lookupAbove(b *ast.Binding) *ast.Binding {
	for s := r.cur; s != nil; s = s.parent {
		if s.names[b.Name] == b {
			return lookupFrom(s.parent, b.Name)
		}
	}
	return nil
}

// compilerOnly are the builtins only the compiler's code calls (by
// GETBUILTIN): no program names them.
var compilerOnly = []string{"__omit", "__env_check", "__env_read", "__env_default", "__peer"}

func (r *resolver) isBuiltin(name string) bool {
	if strings.HasPrefix(name, "__") && slices.Contains(compilerOnly, name) {
		// (given a program's values, they failed on Go's nil pointers)
		return false
	}
	if r.declared[name] {
		return true
	}
	return r.opts.IsPredeclared != nil && r.opts.IsPredeclared(name)
}

func (r *resolver) builtin(name string) *ast.Binding {
	b := r.builtins[name]
	if b == nil {
		b = &ast.Binding{Name: name, Scope: ast.Builtin}
		r.builtins[name] = b
	}
	return b
}

// declare creates the binding of id in scope s (the current function owns
// it if it is a local).
func (r *resolver) declare(s *scope, id *ast.Ident, kind declKind) *ast.Binding {
	if prev := r.redeclared(s, id, kind); prev != nil {
		id.Binding = prev
		return prev
	}
	b := r.newBinding(s, id.Name, id.PosV, kind)
	s.names[id.Name] = b
	id.Binding = b
	return b
}

// redeclared reports, and returns, a binding of scope s that id may not
// be declared next to.
func (r *resolver) redeclared(s *scope, id *ast.Ident, kind declKind) *ast.Binding {
	prev, ok := s.names[id.Name]
	if !ok || r.mayRedeclare(prev, kind) {
		return nil
	}
	r.errs.Add(r.file.Name, id.PosV, identEnd(id),
		fmt.Sprintf("%s redeclared in this scope", id.Name),
		diag.Note{Pos: prev.Decl, Msg: fmt.Sprintf("%s declared here", id.Name)})
	return prev
}

// mayRedeclare allows `model User` next to `type User`: the model binding
// then shadows the type's constructor for later lookups.
func (r *resolver) mayRedeclare(prev *ast.Binding, kind declKind) bool {
	pk := r.info[prev].kind
	return pk == kindType && kind == kindModel || pk == kindModel && kind == kindType
}

// newBinding allocates storage for a binding declared in scope s.
func (r *resolver) newBinding(s *scope, name string, pos token.Pos, kind declKind) *ast.Binding {
	b := &ast.Binding{Name: name, Mutable: kind == kindVar, Decl: pos}
	inf := &bindInfo{kind: kind, file: r.file}
	r.info[b] = inf
	switch {
	case s.global || s.kind == scopeModule && kind.alwaysReady():
		b.Scope = ast.Global
		r.slots = append(r.slots, b)
	case s.kind == scopeModule:
		b.Scope = ast.Local // main local unless used elsewhere; decided in finish
		inf.module = true
		inf.owner = r.mains[r.file]
		r.slots = append(r.slots, b)
	default:
		b.Scope = ast.Local
		b.Index = len(r.fn.locals)
		inf.owner = r.fn
		r.fn.locals = append(r.fn.locals, b)
	}
	return b
}

// use returns the binding an identifier in the current function must
// refer to for the visible binding b: b itself, or a Free binding of the
// current function (making b a Cell in its owner).
func (r *resolver) use(b *ast.Binding, id *ast.Ident) *ast.Binding {
	if r.dataValue && id != nil && !r.dataReady[b] {
		if inf := r.info[b]; inf != nil && inf.kind == kindData {
			r.errs.Add(r.file.Name, id.PosV, identEnd(id),
				fmt.Sprintf("%s used before its declaration: a data block's sources and pipelines are computed in the order they are written", id.Name),
				diag.Note{Pos: b.Decl, Msg: fmt.Sprintf("%s declared here", id.Name)})
		}
	}
	if b.Scope == ast.Global || b.Scope == ast.Builtin || b.Scope == ast.Undefined {
		return b
	}
	inf := r.info[b]
	if inf == nil {
		return b
	}
	if inf.module {
		if r.fn != inf.owner {
			inf.global = true
			r.reads.add(r.fn, b)
		} else if r.elsewhere {
			inf.global = true
			return b
		} else if r.inData {
			inf.global = true // read again by a refresh, outside main
		}
		if r.fn == inf.owner && !inf.declared && !inf.kind.alwaysReady() && id != nil {
			r.errs.Add(r.file.Name, id.PosV, identEnd(id),
				fmt.Sprintf("%s used before its declaration", id.Name),
				diag.Note{Pos: b.Decl, Msg: fmt.Sprintf("%s declared here", id.Name)})
		}
		return b
	}
	if r.fn == nil || r.fn == inf.owner {
		return b
	}
	return r.freeVar(r.fn, b)
}

// freeVar returns f's Free binding for the local b of an enclosing
// function, creating the chain of Free bindings down from b's owner.
func (r *resolver) freeVar(f *funcInfo, b *ast.Binding) *ast.Binding {
	owner := r.info[b].owner
	if f == owner || f == nil {
		return b
	}
	if fb, ok := f.freeMap[b]; ok {
		return fb
	}
	outer := r.freeVar(f.parent, b)
	if outer == b {
		b.Scope = ast.Cell
	}
	fb := &ast.Binding{Name: b.Name, Scope: ast.Free, Index: len(f.free), Mutable: b.Mutable, Decl: b.Decl, Outer: outer}
	if f.freeMap == nil {
		f.freeMap = make(map[*ast.Binding]*ast.Binding)
	}
	f.freeMap[b] = fb
	f.free = append(f.free, fb)
	return fb
}

// ---------------------------------------------------------------- finish

// finish assigns module slots and main-function locals, and stores the
// locals and free variables of every function.
func (r *resolver) finish(files []*ast.File) {
	n := 0
	for _, b := range r.slots {
		inf := r.info[b]
		if inf.module && !inf.global {
			main := inf.owner
			b.Index = len(main.locals)
			main.locals = append(main.locals, b)
			continue
		}
		b.Scope = ast.Global
		b.Index = n
		n++
		inf.file.Globals = append(inf.file.Globals, b)
	}
	for _, f := range files {
		f.Locals = r.mains[f].locals
	}
}

// ---------------------------------------------------------------- suggestions

// suggest returns a visible or predeclared name close to name, or "".
func (r *resolver) suggest(name string) string {
	n := len([]rune(name))
	if n <= 2 {
		return "" // every short name is close to some other
	}
	limit := 1
	if n > 4 {
		limit = 2
	}
	best, bestD := "", limit+1
	builtins := false
	consider := func(c string) {
		if c == name || c == "" || c[0] == '$' || len(c) > 1 && c[0] == '_' && c[1] == '_' {
			return
		}
		// The program's own names win a tie with a builtin's (gret:
		// greet, not get).
		d := diag.Distance(name, c, bestD+1)
		if d < bestD || d == bestD && c < best && !builtins {
			best, bestD = c, d
		}
	}
	for s := r.cur; s != nil; s = s.parent {
		names := make([]string, 0, len(s.names))
		for c := range s.names {
			names = append(names, c)
		}
		sort.Strings(names)
		for _, c := range names {
			consider(c)
		}
	}
	// The program's servers, called by name (workr.compute: worker, not
	// the builtin words).
	// (Only where a server's code is: elsewhere a server's name is no
	// value.)
	servers := make([]string, 0, len(r.serverFns))
	if here, inServer := r.currentServer(); inServer {
		for c := range r.serverFns {
			if c != here {
				servers = append(servers, c)
			}
		}
	}
	sort.Strings(servers)
	for _, c := range servers {
		consider(c)
	}
	builtins = true
	// Words that stand where a name may (brake: break, not take; fales:
	// false, not values), before the builtins, which win no tie with them.
	for _, c := range []string{"break", "continue", "false", "nil", "return", "true"} {
		consider(c)
	}
	for _, c := range r.opts.PredeclaredNames {
		consider(c)
	}
	if bestD > limit {
		return ""
	}
	return best
}
