package bytecode

import (
	"crypto/sha256"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"tova/frontend/ast"
	"tova/frontend/diag"
	"tova/frontend/scan"
	"tova/frontend/token"
)

// Source is one file handed to the compiler: its resolved syntax tree
// and its text (hashed into the program).
type Source struct {
	File *ast.File
	Text []byte
}

// Compile turns resolved syntax trees into a Program. The trees must
// have been through frontend/resolve without errors. Errors the compiler
// itself finds (limits exceeded, unsupported forms) come back as a
// diag.List.
func Compile(srcs []Source) (prog *Program, err error) {
	c := &compiler{prog: &Program{}, srcs: srcs, consts: map[constKey]int{}, builtins: map[string]int{}}
	h := sha256.New()
	for _, s := range srcs {
		sum := sha256.Sum256(s.Text)
		c.prog.Files = append(c.prog.Files, SourceFile{Name: s.File.Name, Hash: sum})
		h.Write(sum[:])
	}
	copy(c.prog.SourceHash[:], h.Sum(nil))
	defer func() {
		if r := recover(); r != nil {
			if b, ok := r.(bailout); ok {
				c.errs = append(c.errs, b.err)
				prog, err = nil, c.errs
				return
			}
			panic(r)
		}
	}()
	for i, s := range srcs {
		for _, at := range s.File.Placeholders {
			c.file, c.fileName = i, s.File.Name
			c.warnf(at, "... stands for code not written yet: it does nothing (a function of only ... returns nil, a route's handler answers null)")
		}
		for _, at := range s.File.FloorDivs {
			c.file, c.fileName = i, s.File.Name
			c.warnf(at, "%s", scan.FloorDiv)
		}
	}
	blocks, lone := false, false
	for _, s := range srcs {
		for _, st := range s.File.Stmts {
			// (a static { } block alone serves its files, as a static
			// declaration does)
			cb, static := st.(*ast.ConfigBlock)
			static = static && cb.Kind == "static"
			if _, ok := st.(*ast.ServerDecl); ok || ast.SharedServerDecl(st) || static {
				c.servers = true
				blocks = blocks || ok
			}
			lone = lone || ast.LoneServerDecl(st)
		}
	}
	// Without a server block, the declarations that run once per server
	// make up the program's one unnamed server (see ast.LoneServerDecl).
	if lone && !blocks {
		c.servers, c.implicitServer = true, true
	}
	c.collectGlobals(srcs)
	c.collectVariants(srcs)
	c.compileMain(srcs)
	c.compileServers(srcs)
	c.qualifyTypes()
	c.warnUnknownTypes()
	c.checkFuncSizes()
	// In the order of the source, as the errors are (the checks that
	// find them run in passes of their own).
	sort.Stable(c.prog.Warnings)
	if len(c.errs) > 0 {
		sort.Sort(c.errs)
		return nil, c.errs
	}
	return c.prog, nil
}

// checkFuncSizes refuses a function too large for the load-time check
// of its control flow (a list literal of 600 000 values), which would
// refuse the program at run time as an invalid artifact, with no place
// in the source: a compile error at the function instead.
func (c *compiler) checkFuncSizes() {
	if len(c.errs) > 0 {
		return
	}
	for i, f := range c.prog.Funcs {
		tracked, _ := c.prog.trackedRegs(f)
		if w := (len(tracked) + 63) / 64; w > 0 && len(f.Code) > maxFlowWords/(numKinds*w) {
			name := "function " + f.Name
			if i == 0 {
				name = "the program's top level"
			}
			pos := token.Pos{Line: f.Pos.Line, Col: f.Pos.Col}
			if !pos.IsValid() {
				pos = token.Pos{Line: 1, Col: 1}
			}
			c.errorf(pos, "%s is too large to compile (%d instructions): split it into functions, or read data this large from a file (read(\"data.json\"))", name, len(f.Code))
		}
	}
}

type constKey struct {
	kind ConstKind
	i    int64
	s    string
}

type compiler struct {
	// txHandles are the parameters of the functions given to
	// db.transaction (see txHandle), found at the first SQL call
	txHandles map[*ast.Binding]bool
	// handlerFns are the named functions routes are answered by (found
	// once: see isHandler)
	handlerFns map[*ast.Function]bool
	// intFields are the field names the program gives Int values (see
	// intField)
	intFields map[string]int
	// selfType is the type of the impl block whose method is being
	// compiled ("" outside one): what `is Self` tests.
	selfType string
	// implicitServer: the program has no server block, and its
	// top-level declarations that run once per server make up its one
	// unnamed server.
	implicitServer bool
	prog           *Program
	consts         map[constKey]int
	builtins       map[string]int
	globals        map[*ast.Binding]int
	globalsNamed   map[string][]*ast.Binding // the keys of globals by name, in slot order
	// variantTypes maps a variant name to the types declaring one of that
	// name, typeVariants a type to its variants (collectVariants).
	variantTypes map[string][]string
	typeVariants map[string][]string
	file         int
	fileName     string
	errs         diag.List
	reported     map[string]bool      // file:line:col:message of each error and warning
	topConfigs   map[string]token.Pos // config blocks outside any server, by kind
	srcs         []Source
	fnDecls      map[fnAt]*ast.Function     // every fn declaration, for namedHandler
	readsState   map[*ast.Function]bool     // fnReadsState's answers
	implFns      map[string][]*ast.Function // the functions of impl blocks, by name (data refresh dependents)
	traitImpls   map[string][]string        // the types of each trait's (or interface's) impl blocks, by trait, in program order
	typeWarned   map[*ast.TypeExpr]bool     // annotations warned of as naming no type (once each)
	unknownTypes []unknownType              // those of functions and bindings, warned of last (a route's own warning comes first)
	fnNames      map[fnAt]*ast.Ident        // immutable bindings of another name (h = g), for namedHandler
	dataBlocks   []*ast.DataBlock           // the program's data blocks, in order (dependents)
	refreshed    map[*ast.Binding]token.Pos // the sources refresh lines name, and where
	aliases      map[string]*ast.TypeExpr   // every type alias, for handlerType
	// typesIn holds the type declarations of each scope, declScope
	// where each type and model is declared (indexDecls)
	typesIn   map[typeScope]map[string]*ast.TypeDecl
	models    map[string]bool // the names of the program's models
	declScope map[ast.Stmt]typeScope
	// typeIndex is the index in prog.Types of each type declaration's
	// binding, for its impl blocks
	typeIndex map[*ast.Binding]int
	// typeRefs are the declarations that handler annotations name with
	// a placeholder, `Name#?k` for typeRefs[k], which qualify replaces
	// with the declaration's index in prog.Types once all are compiled
	typeRefs []*ast.Binding
	// multiTypes: the type names that more than one scope declares
	multiTypes map[string]bool
	// servers: the program declares a server (or HTTP declarations
	// outside one), so its functions may run on many requests at once
	servers bool
}

// bailout aborts compilation on an error that leaves no sensible way on.
type bailout struct{ err *diag.Error }

func (c *compiler) errorf(pos token.Pos, format string, args ...any) {
	if e := c.once(pos, fmt.Sprintf(format, args...)); e != nil {
		c.errs = append(c.errs, e)
	}
}

// warnf records a warning: the program compiles, and the CLI shows it.
func (c *compiler) warnf(pos token.Pos, format string, args ...any) {
	if e := c.once(pos, "warning: "+fmt.Sprintf(format, args...)); e != nil {
		c.prog.Warnings = append(c.prog.Warnings, e)
	}
}

// once returns the diagnostic msg at pos, or nil if it was reported
// already: a declaration written outside any server block is compiled
// into every server, and is to be reported once.
func (c *compiler) once(pos token.Pos, msg string) *diag.Error {
	key := fmt.Sprintf("%s:%d:%d:%s", c.fileName, pos.Line, pos.Col, msg)
	if c.reported[key] {
		return nil
	}
	if c.reported == nil {
		c.reported = map[string]bool{}
	}
	c.reported[key] = true
	return &diag.Error{File: c.fileName, Pos: pos, Msg: msg}
}

func (c *compiler) fatalf(pos token.Pos, format string, args ...any) {
	panic(bailout{&diag.Error{File: c.fileName, Pos: pos, Msg: fmt.Sprintf(format, args...)}})
}

// collectGlobals numbers the module slots of every file.
func (c *compiler) collectGlobals(srcs []Source) {
	c.globals = map[*ast.Binding]int{}
	for _, s := range srcs {
		for _, b := range s.File.Globals {
			c.global(b)
		}
	}
}

func (c *compiler) global(b *ast.Binding) int {
	if i, ok := c.globals[b]; ok {
		return i
	}
	c.globals[b] = len(c.prog.Globals)
	c.prog.Globals = append(c.prog.Globals, b.Name)
	if c.globalsNamed == nil {
		c.globalsNamed = map[string][]*ast.Binding{}
	}
	c.globalsNamed[b.Name] = append(c.globalsNamed[b.Name], b)
	return c.globals[b]
}

// ---------------------------------------------------------------- constants

func (c *compiler) constant(k constKey, make func() Constant) int {
	if i, ok := c.consts[k]; ok {
		return i
	}
	i := len(c.prog.Constants)
	if i > MaxB {
		c.fatalf(token.Pos{}, "too many constants (limit %d)", MaxB+1)
	}
	c.prog.Constants = append(c.prog.Constants, make())
	c.consts[k] = i
	return i
}

func (c *compiler) kInt(v int64) int {
	return c.constant(constKey{KInt, v, ""}, func() Constant { return Constant{Kind: KInt, Int: v} })
}

func (c *compiler) kFloat(v float64) int {
	bits := int64(math.Float64bits(v))
	return c.constant(constKey{KFloat, bits, ""}, func() Constant { return Constant{Kind: KFloat, Float: v} })
}

func (c *compiler) kString(s string) int {
	return c.constant(constKey{KString, 0, s}, func() Constant { return Constant{Kind: KString, Str: s} })
}

func (c *compiler) kBool(b bool) int {
	v := int64(0)
	if b {
		v = 1
	}
	return c.constant(constKey{KBool, v, ""}, func() Constant { return Constant{Kind: KBool, Int: v} })
}

func (c *compiler) kNames(names []string) int {
	key := ""
	for _, n := range names {
		key += n + "\x00"
	}
	return c.constant(constKey{KNames, int64(len(names)), key}, func() Constant {
		return Constant{Kind: KNames, Names: append([]string{}, names...)}
	})
}

func (c *compiler) builtin(name string) int {
	if i, ok := c.builtins[name]; ok {
		return i
	}
	i := len(c.prog.Builtins)
	c.prog.Builtins = append(c.prog.Builtins, name)
	c.builtins[name] = i
	return i
}

// ---------------------------------------------------------------- functions

// fstate is the compiler state of one function.
type fstate struct {
	c      *compiler
	parent *fstate
	// optJumps holds the jumps of the optional links (?.) of the member,
	// index and call chain being compiled: each goes to the chain's end,
	// where the whole chain is nil (see optionalChain)
	optJumps *[]int
	fn       *Func
	af       *ast.Function // nil for a main function

	regOf map[*ast.Binding]int
	// decls are the bindings declare and declareAt gave a register, in
	// order: a block forgets those of its own when it ends (blockTo), so
	// that a block compiled again (a finally block's copy for errors, for
	// a cancellation) gives them registers above its own temporaries,
	// not the ones of its first copy, which those temporaries reused.
	decls   []*ast.Binding
	top     int // first free register
	maxRegs int
	pos     token.Pos

	loops []*loopCtx
	// atomics counts the ATOMIC brackets open where code is being
	// compiled (atomicBegin, atomicEnd), so that a break or continue
	// out of a statement writing module state closes them.
	atomics int
	// cancelling is set while a finally block is compiled for a
	// cancellation's path (see cancelPath), nil otherwise.
	cancelling *cancelCtx
	tries      []*tryCtx

	srv *Server // the server whose Init this is, if any
	// hasAuth: the server has an auth block, which with auth needs
	hasAuth bool
	// apiKeyAuth: that block is an api_key one (a literal type:
	// "api_key"), whose users have no role
	apiKeyAuth bool
	// badPrefix: compiling inside a routes group whose prefix was refused
	badPrefix bool
	// group: the routes group being compiled (its whole prefix), nil
	// outside one; sharedGroup: that group is written outside any
	// server block, so it is compiled into every server
	group       *string
	sharedGroup bool
	// guarded: a middleware of that group, or of a group around it,
	// names it (middleware does not run for static files)
	guarded string
	// scope: the routes group being compiled, as Hook.Scope names it;
	// groups: how many groups the server has numbered so far
	scope  string
	groups int
	// shared: the server body's declarations written outside any server
	// block; once: where the server's port and each scope's on_error
	// were declared, to refuse a second one
	shared map[ast.Stmt]bool
	once   map[string]token.Pos
	// unnamed: the schedules with neither name nor function name so far,
	// by pattern
	unnamed map[string]int
}

type loopCtx struct {
	label      string
	breaks     []int // JMP instructions to patch to the loop exit
	continues  []int // JMP instructions to patch to the continue target
	tryDepth   int   // len(tries) when the loop started
	atomics    int   // fstate.atomics when the loop started
	contTarget int   // -1 until known
}

// tryCtx is an active try block of the current function.
type tryCtx struct {
	finally  *ast.Block
	handler  bool // a TRYBEGIN handler is active for this context
	inFinish bool // currently compiling this context's finally code
}

func (c *compiler) newFunc(parent *fstate, name string, pos token.Pos, af *ast.Function) *fstate {
	fn := &Func{Name: name, File: c.file, Pos: Pos{pos.Line, pos.Col}}
	c.prog.Funcs = append(c.prog.Funcs, fn)
	return &fstate{c: c, parent: parent, fn: fn, af: af, regOf: map[*ast.Binding]int{}}
}

// alloc reserves n consecutive registers and returns the first.
func (f *fstate) alloc(n int) int {
	r := f.top
	f.top += n
	if f.top > f.maxRegs {
		f.maxRegs = f.top
		if f.maxRegs > MaxA {
			at := f.pos
			if at.Line == 0 { // before the first statement: the function's own position
				at = token.Pos{Line: int32(max(f.fn.Pos.Line, 1)), Col: int32(max(f.fn.Pos.Col, 1))}
			}
			f.c.fatalf(at, "function %s needs too many registers (limit %d): it holds too many values at once (locals, or a very long expression); split it into smaller functions", f.fn.Name, MaxA)
		}
	}
	return r
}

// release frees every register from r on.
func (f *fstate) release(r int) {
	if r < f.top {
		f.top = r
	}
}

func (f *fstate) setPos(p token.Pos) {
	if p.IsValid() {
		f.pos = p
	}
}

func (f *fstate) emit(op Op, a, b, cc int) int {
	if a < 0 || a > MaxA || b < 0 || b > MaxB || cc < 0 || cc > MaxC {
		f.c.fatalf(f.pos, "operand out of range in %s", op)
	}
	pc := len(f.fn.Code)
	p := Pos{f.pos.Line, f.pos.Col}
	if n := len(f.fn.Lines); n == 0 || f.fn.Lines[n-1].Pos != p {
		if n > 0 && int(f.fn.Lines[n-1].PC) == pc {
			f.fn.Lines[n-1].Pos = p
		} else {
			f.fn.Lines = append(f.fn.Lines, LineEntry{PC: uint32(pc), Pos: p})
		}
	}
	f.fn.Code = append(f.fn.Code, Make(op, a, b, cc))
	return pc
}

// here is the index of the next instruction.
func (f *fstate) here() int { return len(f.fn.Code) }

// patch sets the jump target of the instruction at pc to target.
func (f *fstate) patch(pc, target int) {
	in := f.fn.Code[pc]
	op := in.Op()
	if Ops[op].C == OJump && Ops[op].B != OJump {
		f.fn.Code[pc] = Make(op, in.A(), in.B(), target)
	} else {
		f.fn.Code[pc] = Make(op, in.A(), target, in.C()) // (TRYBEGIN: the handler; see patchCleanup)
	}
}

// patchCleanup sets the TRYBEGIN at pc's cancellation target (C).
func (f *fstate) patchCleanup(pc, target int) {
	in := f.fn.Code[pc]
	f.fn.Code[pc] = Make(in.Op(), in.A(), in.B(), target)
}

func (f *fstate) patchAll(pcs []int, target int) {
	for _, pc := range pcs {
		f.patch(pc, target)
	}
}

func (f *fstate) finish() {
	// Nothing may run past the end: close the function with RETNIL when
	// its last instruction falls through or a jump lands at the end.
	n := len(f.fn.Code)
	needRet := n == 0 || f.fn.Code[n-1].Op().FallsThrough()
	for _, in := range f.fn.Code {
		info := Ops[in.Op()]
		if info.B == OJump && in.B() == n || info.C == OJump && in.C() == n {
			needRet = true
		}
	}
	if needRet {
		f.emit(RETNIL, 0, 0, 0)
	}
	if f.maxRegs < 1 {
		f.maxRegs = 1
	}
	f.fn.NumRegs = f.maxRegs
}

// ---------------------------------------------------------------- main

func (c *compiler) compileMain(srcs []Source) {
	if len(srcs) == 0 {
		f := c.newFunc(nil, "main", token.Pos{}, nil)
		f.emit(RETNIL, 0, 0, 0)
		f.finish()
		return
	}
	// One main function runs every file's top-level code in order.
	f := c.newFunc(nil, "main", token.Pos{Line: 1, Col: 1}, nil)
	f.envCheck(srcs)
	c.unheardTopics(srcs)
	c.unknownJobs(srcs)
	for i, s := range srcs {
		c.file = i
		c.fileName = s.File.Name
		f.fn.File = i
		blk := &ast.Block{Stmts: s.File.Stmts}
		f.block(blk, -1)
	}
	f.emit(RETNIL, 0, 0, 0)
	f.finish()
}

// unheardTopics warns of each publish("topic", …) whose topic, written
// as a literal, no subscribe of the program names: its events would be
// stored and delivered to no one, without a word (a topic misspelt,
// publish("payment_chek", …), broke a chain of jobs silently).
func (c *compiler) unheardTopics(srcs []Source) {
	c.unknownNames(srcs, "publish", func(n any) string {
		if d, ok := n.(*ast.SubscribeDecl); ok {
			return d.Topic
		}
		return ""
	}, "publish %q: no subscribe of this program names the topic: its events reach no one%s")
	// publish("t", a, b): a payload is one value; the call failed every
	// time it ran (a 500), and compiled without a word.
	for i, s := range srcs {
		ast.Inspect(s.File, func(n any) bool {
			call, ok := n.(*ast.Call)
			if !ok || len(call.Args) <= 2 {
				return true
			}
			if id, ok := call.Fn.(*ast.Ident); !ok || !isBuiltin(id, "publish") || slices.ContainsFunc(call.Args, func(a *ast.Arg) bool { return a.Spread || a.Name != "" }) {
				return true
			}
			c.file, c.fileName = i, s.File.Name
			c.errorf(call.Args[2].Value.Pos(), "publish takes a topic and one payload, not %d arguments: give several values as one object (publish(\"t\", { a, b }))", len(call.Args))
			return true
		})
	}
}

// unknownJobs warns of each spawn_job("name", …) whose name, written as
// a literal, no background fn of the program has: each call would fail
// (a misspelt spawn_job("send_emial", …) failed every request with 500,
// without a word when it compiled).
func (c *compiler) unknownJobs(srcs []Source) {
	c.unknownNames(srcs, "spawn_job", func(n any) string {
		if d, ok := n.(*ast.HookDecl); ok && d.Kind == "background" && d.Name != nil {
			return d.Name.Name
		}
		return ""
	}, "spawn_job %q: no background fn of this program has the name: each call fails%s")
	c.ambiguousJobs(srcs)
}

// ambiguousJobs warns of a spawn_job("name") in a server that declares
// no background fn of that name while several other servers do: the
// runtime cannot tell which server's is meant, and each call fails.
func (c *compiler) ambiguousJobs(srcs []Source) {
	declared := map[string][]string{} // fn name → the servers declaring it
	for _, s := range srcs {
		for _, st := range s.File.Stmts {
			srv, ok := st.(*ast.ServerDecl)
			if !ok {
				continue
			}
			ast.Inspect(srv, func(n any) bool {
				if h, ok := n.(*ast.HookDecl); ok && h.Kind == "background" && h.Name != nil && !slices.Contains(declared[h.Name.Name], srv.Name) {
					declared[h.Name.Name] = append(declared[h.Name.Name], srv.Name)
				}
				return true
			})
		}
	}
	for i, s := range srcs {
		for _, st := range s.File.Stmts {
			srv, ok := st.(*ast.ServerDecl)
			if !ok {
				continue
			}
			ast.Inspect(srv, func(n any) bool {
				call, ok := n.(*ast.Call)
				if !ok || len(call.Args) == 0 {
					return true
				}
				if id, ok := call.Fn.(*ast.Ident); !ok || !isBuiltin(id, "spawn_job") {
					return true
				}
				lit, ok := call.Args[0].Value.(*ast.StringLit)
				if !ok || slices.Contains(declared[lit.Value], srv.Name) || len(declared[lit.Value]) < 2 {
					return true
				}
				var names []string
				for _, d := range declared[lit.Value] {
					names = append(names, strconv.Quote(d))
				}
				c.file, c.fileName = i, s.File.Name
				c.warnf(lit.PosV, "spawn_job %q: background fn %s is declared in several servers (%s) and not in this one, which cannot tell whose is meant: each call fails (declare it in one server only, or call a function of the server that runs it)",
					lit.Value, lit.Value, strings.Join(names, ", "))
				return true
			})
		}
	}
}

// unknownNames warns of each call of the builtin fname whose first
// argument, a literal String, is none of the names declared (what
// declared gives, "" for a node that declares none), with msg (of the
// literal and a " (did you mean …)" hint).
func (c *compiler) unknownNames(srcs []Source, fname string, declared func(n any) string, msg string) {
	names := map[string]bool{}
	for _, s := range srcs {
		ast.Inspect(s.File, func(n any) bool {
			if name := declared(n); name != "" {
				names[name] = true
			}
			return true
		})
	}
	for i, s := range srcs {
		ast.Inspect(s.File, func(n any) bool {
			call, ok := n.(*ast.Call)
			if !ok || len(call.Args) == 0 {
				return true
			}
			id, ok := call.Fn.(*ast.Ident)
			if !ok || !isBuiltin(id, fname) {
				return true
			}
			if lit, ok := call.Args[0].Value.(*ast.StringLit); ok && !names[lit.Value] {
				c.file, c.fileName = i, s.File.Name
				hint := ""
				if near := diag.Closest(lit.Value, slices.Sorted(maps.Keys(names))); near != "" {
					hint = fmt.Sprintf(" (did you mean %q?)", near)
				}
				c.warnf(lit.PosV, msg, lit.Value, hint)
			}
			return true
		})
	}
}
