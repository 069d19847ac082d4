package ast

import "tova/frontend/token"

// Server-side declarations. They appear as statements: at top level
// (ServerDecl, DataBlock, and the config forms the guide writes at top
// level such as cors {} or env) or inside a ServerDecl / RoutesGroup body.

type (
	// ServerDecl is `server { ... }` (Name "") or `server "api" { ... }`.
	ServerDecl struct {
		PosV token.Pos
		Name string
		Body []Stmt
	}
	// PortStmt is `port <expr>`.
	PortStmt struct {
		PosV token.Pos
		X    Expr
		// Implicit: `port PORT` for an `env PORT: Int` beside a program's
		// one server (see resolve), also one of routes alone.
		Implicit bool
	}
	// RouteDecl is `route GET "/path" [body: T] [with g1, g2(x)] [-> T] => handler`.
	RouteDecl struct {
		PosV     token.Pos
		Method   string // upper case
		Path     string
		PathPos  token.Pos // the path string's
		Handler  Expr      // *Ident, *Lambda, or any expression
		Guards   []Expr    // `with` decorators: *Ident or *Call
		BodyType *TypeExpr
		RetType  *TypeExpr
	}
	// RoutesGroup is `routes "/prefix" { ... }`.
	RoutesGroup struct {
		PosV   token.Pos
		Prefix string
		Meta   []Expr // the reference's metadata values (version: "2"): resolved, not run
		// MetaKeys are Meta's names (version), MetaPos where each is.
		MetaKeys []string
		MetaPos  []token.Pos
		Body     []Stmt
	}
	// HookDecl covers the function-valued server declarations:
	//   Kind "middleware": `middleware fn name(req, next|res) { ... }`
	//   Kind "on_error":   `on_error fn(err, req[, res]) { ... }`
	//   Kind "on_start", "on_stop": `on_start fn() { ... }`
	//   Kind "background": `background fn name(args) { ... }`
	// Name is the function name ("" for anonymous); Fn the function.
	HookDecl struct {
		PosV token.Pos
		Kind string
		Name *Ident
		Fn   *Function
	}
	// HealthDecl is `health "/path"` with optional check names.
	HealthDecl struct {
		PosV   token.Pos
		Path   string
		Checks []string
	}
	// ConfigBlock is `kind { key: expr, ... }` for cors, rate_limit, db,
	// tls, sessions, session, uploads, upload, cache, static, jobs, auth,
	// compression, circuit_breaker and any other `ident { key: value }`
	// server block. Keys may be keywords (`cache { default: ... }`).
	// A config value may itself be a nested block `{ k: v }` (an ObjectLit).
	ConfigBlock struct {
		PosV    token.Pos
		Kind    string
		Entries []*ObjEntry
	}
	// MaxBodyStmt is `max_body <expr>`.
	MaxBodyStmt struct {
		PosV token.Pos
		X    Expr
	}
	// StaticDecl is the reference form `static "/public" => "./dir" [fallback "index.html"]`.
	// (The guide form `static { ... }` is a ConfigBlock with Kind "static".)
	StaticDecl struct {
		PosV     token.Pos
		Prefix   string
		Dir      Expr
		Fallback string
	}
	// WebSocketDecl is `websocket "/path" { on_open fn(ws) {...} ... }`
	// or the reference's `ws { ... }` (Path ""). Handlers maps on_open,
	// on_message, on_close, on_error to their functions; Config holds any
	// `key: expr` entries (e.g. auth: true).
	WebSocketDecl struct {
		PosV     token.Pos
		Path     string
		Handlers map[string]*Function
		Order    []string // handler names in source order
		Config   []*ObjEntry
	}
	// SSEDecl is `sse "/path" fn(send, close) { ... }`.
	SSEDecl struct {
		PosV token.Pos
		Path string
		Fn   *Function
	}
	// ScheduleDecl is the guide's `schedule "name" cron("expr") { ... }`
	// (Name set, Cron set) or the reference's `schedule "expr-or-30s" fn [name]() { ... }`
	// (Pattern set). Fn holds the body as a zero-parameter function.
	ScheduleDecl struct {
		PosV    token.Pos
		Name    string
		Cron    string
		Pattern string
		ArgPos  token.Pos // where the cron expression or the pattern is written
		Fn      *Function
		FnName  *Ident // `schedule "30s" fn tick() { … }`: tick names the function
	}
	// SubscribeDecl is `subscribe "topic" fn(payload) { ... }`.
	SubscribeDecl struct {
		PosV  token.Pos
		Topic string
		Name  *Ident // subscribe "t" fn name(...): nil for an unnamed one
		Fn    *Function
	}
	// DiscoverDecl is the guide's `discover "worker" { url: ..., health: ..., circuit_breaker: { ... } }`
	// (Config) or the reference's `discover "worker" at <url> [with { ... }]` (URL and Config from `with`).
	DiscoverDecl struct {
		PosV   token.Pos
		Name   string
		URL    Expr
		Config []*ObjEntry
	}
	// ModelDecl is `model User` (fields from the type User) or
	// `model Task { title: String  done: Bool = false  table: "tasks"  timestamps: true }`.
	// Entries whose value is a type go to Fields; `key: expr` options
	// (table, timestamps, belongs_to, has_many) go to Options.
	ModelDecl struct {
		PosV    token.Pos
		Name    *Ident
		Fields  []*FieldDecl
		Options []*ObjEntry
	}
	// EnvDecl is `env NAME: Type [= default]`.
	EnvDecl struct {
		PosV    token.Pos
		Name    *Ident
		Type    *TypeExpr
		Default Expr
	}
	// DataBlock is the top-level `data { source x = expr  pipeline y = expr  refresh x every 10.minutes }`.
	DataBlock struct {
		PosV  token.Pos
		Items []*DataItem
	}
)

// DataItem is one statement of a data block.
// Kind "source": Name, Type, Value. Kind "pipeline": Name, Value.
// Kind "refresh": Name, Every (a UnitLit or number expr) or OnDemand.
// Kind "validate": Name (the type) and Rules.
type DataItem struct {
	PosV     token.Pos
	Kind     string
	Name     *Ident
	Type     *TypeExpr
	Value    Expr
	Every    Expr
	OnDemand bool
	Rules    []Expr
}

func (d *DataItem) Pos() token.Pos { return d.PosV }

func (x *ServerDecl) Pos() token.Pos    { return x.PosV }
func (x *PortStmt) Pos() token.Pos      { return x.PosV }
func (x *RouteDecl) Pos() token.Pos     { return x.PosV }
func (x *RoutesGroup) Pos() token.Pos   { return x.PosV }
func (x *HookDecl) Pos() token.Pos      { return x.PosV }
func (x *HealthDecl) Pos() token.Pos    { return x.PosV }
func (x *ConfigBlock) Pos() token.Pos   { return x.PosV }
func (x *MaxBodyStmt) Pos() token.Pos   { return x.PosV }
func (x *StaticDecl) Pos() token.Pos    { return x.PosV }
func (x *WebSocketDecl) Pos() token.Pos { return x.PosV }
func (x *SSEDecl) Pos() token.Pos       { return x.PosV }
func (x *ScheduleDecl) Pos() token.Pos  { return x.PosV }
func (x *SubscribeDecl) Pos() token.Pos { return x.PosV }
func (x *DiscoverDecl) Pos() token.Pos  { return x.PosV }
func (x *ModelDecl) Pos() token.Pos     { return x.PosV }
func (x *EnvDecl) Pos() token.Pos       { return x.PosV }
func (x *DataBlock) Pos() token.Pos     { return x.PosV }

func (*ServerDecl) stmtNode()    {}
func (*PortStmt) stmtNode()      {}
func (*RouteDecl) stmtNode()     {}
func (*RoutesGroup) stmtNode()   {}
func (*HookDecl) stmtNode()      {}
func (*HealthDecl) stmtNode()    {}
func (*ConfigBlock) stmtNode()   {}
func (*MaxBodyStmt) stmtNode()   {}
func (*StaticDecl) stmtNode()    {}
func (*WebSocketDecl) stmtNode() {}
func (*SSEDecl) stmtNode()       {}
func (*ScheduleDecl) stmtNode()  {}
func (*SubscribeDecl) stmtNode() {}
func (*DiscoverDecl) stmtNode()  {}
func (*ModelDecl) stmtNode()     {}
func (*EnvDecl) stmtNode()       {}
func (*DataBlock) stmtNode()     {}
