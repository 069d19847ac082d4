package parse

import (
	"errors"
	"strings"
	"testing"

	"tova/frontend/diag"
)

// tree parses src and returns the dump of its statements.
func tree(t *testing.T, src string) string {
	t.Helper()
	f, err := parseFile("t.tova", []byte(src))
	if err != nil {
		t.Errorf("parse %q: %v", src, err)
	}
	return Dump(f)
}

type shapeTest struct{ src, want string }

func runShapes(t *testing.T, tests []shapeTest) {
	t.Helper()
	for _, tt := range tests {
		if got := tree(t, tt.src); got != tt.want {
			t.Errorf("%s\n got %s\nwant %s", tt.src, got, tt.want)
		}
	}
}

func TestExpressions(t *testing.T) {
	runShapes(t, []shapeTest{
		{"a + b * c - d", "(- (+ a (* b c)) d)"},
		{"2 ** 3 ** 2", "(** 2 (** 3 2))"},
		{"-2 ** 2", "(** (- 2) 2)"},
		{"a ?? b or c and not d", "(?? a (or b (and c (not d))))"},
		{"a || b && !c", "(or a (and b (not c)))"},
		{"not a == b", "(not (== a b))"},
		{"1 < x < 10", "(Chain Operands:[1 x 10] Ops:[\"<\" \"<\"])"},
		{"a == b", "(== a b)"},
		{"x in xs and y not in ys", "(and (in x xs) (not in y ys))"},
		{"x is String", "(Is X:x TypeName:\"String\")"},
		{"x is not Nil", "(Is X:x TypeName:\"Nil\" Not:true)"},
		{"0..n + 1", "(Range Lo:0 Hi:(+ n 1))"},
		{"1..=5", "(Range Lo:1 Hi:5 Inclusive:true)"},
		{"a & b | c ^ d << 1", "(| (& a b) (^ c (<< d 1)))"},
		{"~x", "(~ x)"},
		{"a ++ b", "(+ a b)"},
		{"a?.b?.c", "(?. (?. a b) c)"},
		{"xs?[0]", "(Index X:xs Index:0 Optional:true)"},
		{"xs[i]", "(Index X:xs Index:i)"},
		{"xs[1:3]", "(Slice X:xs Lo:1 Hi:3)"},
		{"xs[:3]", "(Slice X:xs Hi:3)"},
		{"xs[1:]", "(Slice X:xs Lo:1)"},
		{"xs[::2]", "(Slice X:xs Step:2)"},
		{"xs[1:5:2]", "(Slice X:xs Lo:1 Hi:5 Step:2)"},
		{"parse(s)?", "(Propagate X:(call parse s))"},
		{"await fetch(u)", "(Await X:(call fetch u))"},
		{"f(a, b: 2, ...rest)", "(call f a b:2 ...rest)"},
		{"f(type: 1, default: 2)", "(call f type:1 default:2)"},
		{"obj.type.default", "(. (. obj type) default)"},
		{"Date.new()", "(call (. Date new))"},
		{"[1, 2, ...xs]", "(ArrayLit Elems:[1 2 (Spread X:xs)])"},
		{"[]", "(ArrayLit)"},
		{"(1, 2)", "(ArrayLit Elems:[1 2] Tuple:true)"},
		{"(a + b) * c", "(* (+ a b) c)"},
		{`{ a: 1, "b c": 2, [k]: 3, x, ...o }`, `(ObjectLit Entries:[(ObjEntry Key:"a" Value:1) (ObjEntry Key:"b c" Value:2) (ObjEntry KeyExpr:k Value:3) (ObjEntry Key:"x" Value:x) (ObjEntry Spread:o)])`},
		{"{ type: 1, default: 2 }", `(ObjectLit Entries:[(ObjEntry Key:"type" Value:1) (ObjEntry Key:"default" Value:2)])`},
		{"x = {}", `(Assign Targets:[x] Op:"=" Values:[(ObjectLit)])`},
		{"{\n  a: 1\n  b: 2,\n}", `(ObjectLit Entries:[(ObjEntry Key:"a" Value:1) (ObjEntry Key:"b" Value:2)])`},
		{"[x * 2 for x in xs if x > 1]", "(ListComp Elem:(* x 2) Vars:[x] Iter:xs Cond:(> x 1))"},
		{"[i + v for i, v in xs]", "(ListComp Elem:(+ i v) Vars:[i v] Iter:xs)"},
		{"{k: v for k, v in pairs}", "(DictComp Key:k Value:v Vars:[k v] Iter:pairs)"},
		{"d = {u.id: u for u in users if u.ok}", `(Assign Targets:[d] Op:"=" Values:[(DictComp Key:(. u id) Value:u Vars:[u] Iter:users Cond:(. u ok))])`},
		{"if a { 1 } elif b { 2 } else { 3 }", "(If Cond:a Then:{1} Elifs:[(ElifClause Cond:b Body:{2})] Else:{3})"},
		{"if a { 1 } else if b { 2 }", "(If Cond:a Then:{1} Elifs:[(ElifClause Cond:b Body:{2})])"},
		{"if a {\n  1\n}\nelse {\n  2\n}", "(If Cond:a Then:{1} Else:{2})"},
		// literals
		{"0xFF + 0b101 + 0o17 + 1_000", "(+ (+ (+ 255 5) 15) 1000)"},
		{"1e9 + 3.5 + 2.0", "(+ (+ 1e+09 3.5) 2.0)"},
		{"-9223372036854775808", "-9223372036854775808"},
		{"true and false or nil", "(or (and true false) nil)"},
		// units
		{"30.seconds", `(UnitLit Number:30 Unit:"second")`},
		{"1.minute + 1.5.hours", `(+ (UnitLit Number:1 Unit:"minute") (UnitLit Number:1.5 Unit:"hour"))`},
		{"5.megabytes", `(UnitLit Number:5 Unit:"megabyte")`},
		{"250.milliseconds + 7.days + 2.weeks + 1.byte + 3.kilobytes + 1.gigabyte",
			`(+ (+ (+ (+ (+ (UnitLit Number:250 Unit:"millisecond") (UnitLit Number:7 Unit:"day")) (UnitLit Number:2 Unit:"week")) (UnitLit Number:1 Unit:"byte")) (UnitLit Number:3 Unit:"kilobyte")) (UnitLit Number:1 Unit:"gigabyte"))`},
		{"15.foo()", "(call (. 15 foo))"},
		{"n.minutes", "(. n minutes)"},
		// strings
		{`"a {x + "b {y}"} c"`, `(InterpString Parts:["a " (+ x (InterpString Parts:["b " y])) " c"])`},
		{`'no {x}'`, `"no {x}"`},
		{`r"C:\dir"`, `"C:\\dir"`},
		{`f"hi {name}"`, `(InterpString Parts:["hi " name])`},
		{"\"\"\"\n    Hi {name}\n      more\n    \"\"\"", `(InterpString Parts:["Hi " name "\n  more"])`},
		{`"{ {a: 1}.a }"`, `(InterpString Parts:[(. (ObjectLit Entries:[(ObjEntry Key:"a" Value:1)]) a)])`},
	})
}

func TestLambdasAndPipes(t *testing.T) {
	runShapes(t, []shapeTest{
		{"fn(x) x * 2", "(fn (x) {(* x 2)})"},
		{"fn(a, b = 1) { a + b }", "(fn (a b=1) {(+ a b)})"},
		{"async fn(x) { await x }", "(fn async (x) {(Await X:x)})"},
		{"x => x + 1", "(fn (x) {(+ x 1)})"},
		{"(a, b) => a + b", "(fn (a b) {(+ a b)})"},
		{"() => 1", "(fn () {1})"},
		{"(a) => { a }", "(fn (a) {a})"},
		{"fn(req) { status: \"ok\" }", `(fn (req) {(ObjectLit Entries:[(ObjEntry Key:"status" Value:"ok")])})`},
		{"fn() {}", "(fn () {})"},
		{"xs.map(x => x.upper())", "(call (. xs map) (fn (x) {(call (. x upper))}))"},
		{"xs |> map(fn(x) x * 2) |> filter(it > 0)", "(Pipe X:(Pipe X:xs Target:(call map (fn (x) {(* x 2)}))) Target:(call filter (> it 0)))"},
		{"x |> f", "(Pipe X:x Target:f)"},
		{"x |> f(a, _, b)", "(Pipe X:x Target:(call f a _ b))"},
		{"x |> .trim().lower()", "(call (. (call (. x trim)) lower))"},
		{"x |> .length", "(. x length)"},
		{"a ?? b |> f()", "(Pipe X:(?? a b) Target:(call f))"},
		{"x = a\n  |> f()\n  |> g()", "(Assign Targets:[x] Op:\"=\" Values:[(Pipe X:(Pipe X:a Target:(call f)) Target:(call g))])"},
		{"x = a\n  .b()\n  ?.c", "(Assign Targets:[x] Op:\"=\" Values:[(?. (call (. a b)) c)])"},
		{"ok = a and\n  b\n  or c", "(Assign Targets:[ok] Op:\"=\" Values:[(or (and a b) c)])"},
		{"ok = a\n  and b", "(Assign Targets:[ok] Op:\"=\" Values:[(and a b)])"},
		{"print(x)\n(a)", "(call print x)\na"},
		{"f(a\n(b))", "(call f (call a b))"},
		{"xs\n[0]", "xs\n(ArrayLit Elems:[0])"},
		// column shorthand
		{"xs.map(.name)", "(call (. xs map) (fn (__row) {(. __row name)}))"},
		{"t |> where(.active and .id > 0) |> sort_by(.age)", "(Pipe X:(Pipe X:t Target:(call where (fn (__row) {(and (. __row active) (> (. __row id) 0))}))) Target:(call sort_by (fn (__row) {(. __row age)})))"},
		{"b |> drop_nil(.id) |> fill_nil(.x, 0)", `(Pipe X:(Pipe X:b Target:(call drop_nil "id")) Target:(call fill_nil "x" 0))`},
		{"select(t, .a, .b)", `(call select t "a" "b")`},
		{"where(len(.name) > 3)", "(call where (fn (__row) {(> (call len (. __row name)) 3)}))"},
		// agg's and derive's columns are one object; sum in agg is agg_sum
		{"agg(total: sum(.amount))", `(call agg (ObjectLit Entries:[(ObjEntry Key:"total" Value:(call agg_sum (fn (__row) {(. __row amount)})))]))`},
		{"t |> derive(.d = .a * 2, .k = 1)", `(Pipe X:t Target:(call derive (ObjectLit Entries:[(ObjEntry Key:"d" Value:(fn (__row) {(* (. __row a) 2)})) (ObjEntry Key:"k" Value:1)])))`},
		{"s.agg(scale: 2)", "(call (. s agg) scale:2)"},
		{"select(t, -.a)", `(call select t (ObjectLit Entries:[(ObjEntry Key:"exclude" Value:"a")]))`},
		{"foo(bar(.x) + 1)", "(call foo (fn (__row) {(+ (call bar (. __row x)) 1)}))"},
		{"f = .name", "(Assign Targets:[f] Op:\"=\" Values:[(fn (__row) {(. __row name)})])"},
		{"map(fn(r) .x)", "(call map (fn (r) {(fn (__row) {(. __row x)})}))"},
	})
}

func TestStatements(t *testing.T) {
	runShapes(t, []shapeTest{
		{"x = 1", `(Assign Targets:[x] Op:"=" Values:[1])`},
		{"a, b = b, a", `(Assign Targets:[a b] Op:"=" Values:[b a])`},
		{"x: Int = 1", `(Assign Targets:[x] Op:"=" Values:[1] Type:Int)`},
		{"{ name, age: years } = obj", `(Assign Targets:[(PObject Fields:[(PField Key:"name" Pattern:name) (PField Key:"age" Pattern:years)])] Op:"=" Values:[obj])`},
		{"{ a = 1, ...rest } = obj", `(Assign Targets:[(PObject Fields:[(PField Key:"a" Pattern:a Default:1)] Rest:rest)] Op:"=" Values:[obj])`},
		{"[head, ...rest] = arr", `(Assign Targets:[(PArray Elems:[head] RestIndex:1 Rest:rest)] Op:"=" Values:[arr])`},
		{"[a, [b, c]] = xs", `(Assign Targets:[(PArray Elems:[a (PArray Elems:[b c])])] Op:"=" Values:[xs])`},
		{"let { a } = o", `(Assign Targets:[(PObject Fields:[(PField Key:"a" Pattern:a)])] Op:"=" Values:[o])`},
		{"obj.f = 1\nxs[0] = 2\n_ = g()", "(Assign Targets:[(PTarget X:(. obj f))] Op:\"=\" Values:[1])\n(Assign Targets:[(PTarget X:(Index X:xs Index:0))] Op:\"=\" Values:[2])\n(Assign Targets:[(PWild)] Op:\"=\" Values:[(call g)])"},
		{"x += 1\ny **= 2\nz <<= 1\nobj.n -= 1", "(Assign Targets:[x] Op:\"+=\" Values:[1])\n(Assign Targets:[y] Op:\"**=\" Values:[2])\n(Assign Targets:[z] Op:\"<<=\" Values:[1])\n(Assign Targets:[(PTarget X:(. obj n))] Op:\"-=\" Values:[1])"},
		{"var x = 0", `(VarDecl Targets:[x] Values:[0])`},
		{"var a, b = 1, 2", `(VarDecl Targets:[a b] Values:[1 2])`},
		{"var x: Int", `(VarDecl Targets:[x] Values:[nil] Type:Int)`},
		{"x = 1; y = 2", "(Assign Targets:[x] Op:\"=\" Values:[1])\n(Assign Targets:[y] Op:\"=\" Values:[2])"},
		{"fn add(a, b = 10) { a + b }", "(FnDecl Name:add Fn:add (a b=10) {(+ a b)})"},
		{"fn greet({ name, age }) { name }", `(FnDecl Name:greet Fn:greet ((PObject Fields:[(PField Key:"name" Pattern:name) (PField Key:"age" Pattern:age)])) {name})`},
		{"fn f([x, y], ...rest) { x }", "(FnDecl Name:f Fn:f ((PArray Elems:[x y]) ...rest) {x})"},
		{"fn div(a: Float, b: Float) -> Result<Float, String> { Ok(a / b) }", "(FnDecl Name:div Fn:div (a:Float b:Float) {(call Ok (/ a b))} RetType:Result<Float,String>)"},
		{"fn id<T>(x: T) -> T { x }", "(FnDecl Name:id Fn:id (x:T) {x} RetType:T)"},
		{"async fn load(id) { await get(id) }", "(FnDecl Name:load Fn:async load (id) {(Await X:(call get id))})"},
		// A function that yields returns the generator of its body.
		{"fn gen() { yield 1\n yield }", "(FnDecl Name:gen Fn:gen () {(Return X:(call __generator (fn gen gen () {(Yield X:1); (Yield)})))})"},
		{"fn health() { { status: \"ok\" } }", `(FnDecl Name:health Fn:health () {(ObjectLit Entries:[(ObjEntry Key:"status" Value:"ok")])})`},
		{"fn f() { { a, b } }", `(FnDecl Name:f Fn:f () {(ObjectLit Entries:[(ObjEntry Key:"a" Value:a) (ObjEntry Key:"b" Value:b)])})`},
		{"fn f() { { x } }", "(FnDecl Name:f Fn:f () {(ObjectLit Entries:[(ObjEntry Key:\"x\" Value:x)])})"},
		{"fn f() {\n  x: Int = 5\n  x\n}", `(FnDecl Name:f Fn:f () {(Assign Targets:[x] Op:"=" Values:[5] Type:Int); x})`},
		{"fn make() { fn(x) x * 2 }", "(FnDecl Name:make Fn:make () {(fn (x) {(* x 2)})})"},
		{"fn f() {\n  ...\n}", "(FnDecl Name:f Fn:f () {})"},
		{"return", "(Return)"},
		{"fn f() { return }", "(FnDecl Name:f Fn:f () {(Return)})"},
		{"while x { break }", "(While Cond:x Body:{(Break)})"},
		{"loop { continue }", "(Loop Body:{(Continue)})"},
		{"outer: for i in xs {\n  for j in ys { break outer }\n}", `(For Label:"outer" Vars:[i] Iter:xs Body:{(For Vars:[j] Iter:ys Body:{(Break Label:"outer")})})`},
		{"search: while more() { continue search }", `(While Label:"search" Cond:(call more) Body:{(Continue Label:"search")})`},
		{"for i, x in xs when x > 0 { f(x) } else { g() }", "(For Vars:[i x] Iter:xs When:(> x 0) Body:{(call f x)} Else:{(call g)})"},
		{"for [a, b] in pairs { a }", "(For Vars:[(PArray Elems:[a b])] Iter:pairs Body:{a})"},
		{"for { name } in users { name }", `(For Vars:[(PObject Fields:[(PField Key:"name" Pattern:name)])] Iter:users Body:{name})`},
		{"for i in 0..3 {}", "(For Vars:[i] Iter:(Range Lo:0 Hi:3) Body:{})"},
		{"defer close(f)", "(Defer Body:{(call close f)})"},
		{"defer { a()\n b() }", "(Defer Body:{(call a); (call b)})"},
		{"guard x != nil else { return Err(\"nil\") }", `(Guard Cond:(!= x nil) Else:{(Return X:(call Err "nil"))})`},
		{"try { a() } catch err { b(err) } finally { c() }", "(Try Body:{(call a)} CatchVar:err Catch:{(call b err)} Finally:{(call c)})"},
		{"try { a() } catch { 1 }", "(Try Body:{(call a)} Catch:{1})"},
		{"try { a() } catch (e) { e }", "(Try Body:{(call a)} CatchVar:e Catch:{e})"},
		{"try {\n  a()\n}\ncatch e {\n  e\n}", "(Try Body:{(call a)} CatchVar:e Catch:{e})"},
		{"try { a() } finally { c() }", "(Try Body:{(call a)} Finally:{(call c)})"},
		{"throw \"boom\"", `(Throw X:"boom")`},
		{"import { a, b as c } from \"mod\"", `(Import Names:[(ImportName Name:a) (ImportName Name:b Alias:c)] From:"mod")`},
		{"import m from \"mod\"", `(Import Default:m From:"mod")`},
		{"import m, {\n  a as b,\n} from \"mod\"", `(Import Default:m Names:[(ImportName Name:a Alias:b)] From:"mod")`},
		{"import \"mod\"", `(Import From:"mod")`},
		{"shared {\n  x = 1\n}\ny = 2", "(Assign Targets:[x] Op:\"=\" Values:[1])\n(Assign Targets:[y] Op:\"=\" Values:[2])"},
		{"{\n  a = 1\n}", "{(Assign Targets:[a] Op:\"=\" Values:[1])}"},
		{"toString = 1\nvalueOf = toString", "(Assign Targets:[toString] Op:\"=\" Values:[1])\n(Assign Targets:[valueOf] Op:\"=\" Values:[toString])"},
		{"café = 1\n$x = 2", "(Assign Targets:[café] Op:\"=\" Values:[1])\n(Assign Targets:[$x] Op:\"=\" Values:[2])"},
	})
}

func TestMatch(t *testing.T) {
	runShapes(t, []shapeTest{
		{"match v {\n  0 => \"zero\"\n  1..5 => \"small\"\n  -3..=-1 => \"neg\"\n  -7 => 7\n  2.5 => \"f\"\n  true => 1\n  nil => 2\n}",
			`(Match Subject:v Arms:[(MatchArm Pattern:(PLit Value:0) Body:"zero") (MatchArm Pattern:(PRange Lo:1 Hi:5) Body:"small") (MatchArm Pattern:(PRange Lo:(- 3) Hi:(- 1) Inclusive:true) Body:"neg") (MatchArm Pattern:(PLit Value:(- 7)) Body:7) (MatchArm Pattern:(PLit Value:2.5) Body:"f") (MatchArm Pattern:(PLit Value:true) Body:1) (MatchArm Pattern:(PLit Value:nil) Body:2)])`},
		{"match v {\n  n if n > 100 => \"big {n}\"\n  \"/api\" ++ rest => rest\n  \"x\"++_ => 1\n  \"a\"..\"m\" => 2\n  _ => 0\n}",
			`(Match Subject:v Arms:[(MatchArm Pattern:n Guard:(> n 100) Body:(InterpString Parts:["big " n])) (MatchArm Pattern:(PStrPrefix Prefix:"/api" Rest:rest) Body:rest) (MatchArm Pattern:(PStrPrefix Prefix:"x" Rest:(PWild)) Body:1) (MatchArm Pattern:(PRange Lo:"a" Hi:"m") Body:2) (MatchArm Pattern:(PWild) Body:0)])`},
		{"match v {\n  [] => 0\n  [x] => x\n  [a, b, ...] => a\n  [first, ..._] => first\n  [x, ...rest, y] => rest\n  (x, y) => x\n  (0, _) => 0\n}",
			`(Match Subject:v Arms:[(MatchArm Pattern:(PArray) Body:0) (MatchArm Pattern:(PArray Elems:[x]) Body:x) (MatchArm Pattern:(PArray Elems:[a b] RestIndex:2) Body:a) (MatchArm Pattern:(PArray Elems:[first] RestIndex:1) Body:first) (MatchArm Pattern:(PArray Elems:[x y] RestIndex:1 Rest:rest) Body:rest) (MatchArm Pattern:(PArray Elems:[x y]) Body:x) (MatchArm Pattern:(PArray Elems:[(PLit Value:0) (PWild)]) Body:0)])`},
		{"match u {\n  { role: \"admin\" } => 1\n  { age: a } if a >= 18 => 2\n  { name, ...rest } => 3\n}",
			`(Match Subject:u Arms:[(MatchArm Pattern:(PObject Fields:[(PField Key:"role" Pattern:(PLit Value:"admin"))]) Body:1) (MatchArm Pattern:(PObject Fields:[(PField Key:"age" Pattern:a)]) Guard:(>= a 18) Body:2) (MatchArm Pattern:(PObject Fields:[(PField Key:"name" Pattern:name)] Rest:rest) Body:3)])`},
		{"match r {\n  Ok(v) => v\n  Err(e) => { log(e)\n e }\n  Some(Ok(x)) => x\n  None => 0\n  Circle(r) | Square(r) => r\n  Red => 1\n  Shape.Custom(r, g, b) => r\n}",
			`(Match Subject:r Arms:[(MatchArm Pattern:(PVariant Name:"Ok" Args:[v]) Body:v) (MatchArm Pattern:(PVariant Name:"Err" Args:[e]) Body:{(call log e); e}) (MatchArm Pattern:(PVariant Name:"Some" Args:[(PVariant Name:"Ok" Args:[x])]) Body:x) (MatchArm Pattern:(PVariant Name:"None") Body:0) (MatchArm Pattern:(POr Alts:[(PVariant Name:"Circle" Args:[r]) (PVariant Name:"Square" Args:[r])]) Body:r) (MatchArm Pattern:(PVariant Name:"Red") Body:1) (MatchArm Pattern:(PVariant Name:"Custom" Args:[r g b]) Body:r)])`},
		{"match x { 1 | 2 | 3 => \"few\", _ => \"many\" }",
			`(Match Subject:x Arms:[(MatchArm Pattern:(POr Alts:[(PLit Value:1) (PLit Value:2) (PLit Value:3)]) Body:"few") (MatchArm Pattern:(PWild) Body:"many")])`},
		{"match url {\n  \"https://\" ++ d => { protocol: \"https\", domain: d }\n  _ => {}\n}",
			`(Match Subject:url Arms:[(MatchArm Pattern:(PStrPrefix Prefix:"https://" Rest:d) Body:(ObjectLit Entries:[(ObjEntry Key:"protocol" Value:"https") (ObjEntry Key:"domain" Value:d)])) (MatchArm Pattern:(PWild) Body:{})])`},
		{"fn f(x) {\n  match x {\n    Err(m) => return m\n    x if ok => x\n  }\n}",
			`(FnDecl Name:f Fn:f (x) {(Match Subject:x Arms:[(MatchArm Pattern:(PVariant Name:"Err" Args:[m]) Body:{(Return X:m)}) (MatchArm Pattern:x Guard:ok Body:x)])})`},
		{"greeting = match t {\n  \"am\" => \"morning\"\n  _ => \"hi\"\n}",
			`(Assign Targets:[greeting] Op:"=" Values:[(Match Subject:t Arms:[(MatchArm Pattern:(PLit Value:"am") Body:"morning") (MatchArm Pattern:(PWild) Body:"hi")])])`},
	})
}

func TestTypes(t *testing.T) {
	runShapes(t, []shapeTest{
		{"type User { id: Int, name: String }", `(TypeDecl Name:User Fields:[(FieldDecl Name:"id" Type:Int) (FieldDecl Name:"name" Type:String)])`},
		{"type User {\n  id: Int\n  name: String = \"anon\"\n}", `(TypeDecl Name:User Fields:[(FieldDecl Name:"id" Type:Int) (FieldDecl Name:"name" Type:String Default:"anon")])`},
		{"type Shape { Circle(r: Float)  Square(side: Float) }", `(TypeDecl Name:Shape Variants:[(VariantDecl Name:"Circle" Fields:[(FieldDecl Name:"r" Type:Float)]) (VariantDecl Name:"Square" Fields:[(FieldDecl Name:"side" Type:Float)])])`},
		{"type Color { Red, Green, Blue } derive [Eq, Show]", `(TypeDecl Name:Color Variants:[(VariantDecl Name:"Red") (VariantDecl Name:"Green") (VariantDecl Name:"Blue")] Derive:["Eq" "Show"])`},
		{"type Opt<T> {\n  Has(T)\n  Pair(Int, String)\n  Nothing\n}", `(TypeDecl Name:Opt Params:["T"] Variants:[(VariantDecl Name:"Has" Fields:[(FieldDecl Name:"value" Type:T)]) (VariantDecl Name:"Pair" Fields:[(FieldDecl Name:"_0" Type:Int) (FieldDecl Name:"_1" Type:String)]) (VariantDecl Name:"Nothing")])`},
		{"type Box<T> { value: T }", `(TypeDecl Name:Box Params:["T"] Fields:[(FieldDecl Name:"value" Type:T)])`},
		{"type Email = String where {\n  it |> contains(\"@\")\n  it |> contains(\".\")\n}", `(TypeDecl Name:Email Alias:String where (fn (it) {(and (Pipe X:it Target:(call contains "@")) (Pipe X:it Target:(call contains ".")))}))`},
		{"type Id = Int | String", "(TypeDecl Name:Id Alias:|<Int,String>)"},
		{"x: [Int] = []\ny: Option<List<Int>> = None\nz: String? = nil\nf: (Int, Int) -> Bool = g", "(Assign Targets:[x] Op:\"=\" Values:[(ArrayLit)] Type:[]<Int>)\n(Assign Targets:[y] Op:\"=\" Values:[None] Type:Option<List<Int>>)\n(Assign Targets:[z] Op:\"=\" Values:[nil] Type:?<String>)\n(Assign Targets:[f] Op:\"=\" Values:[g] Type:fn<Int,Int,Bool>)"},
	})
}

func TestServer(t *testing.T) {
	runShapes(t, []shapeTest{
		{"server {\n  port 3000\n}", "(ServerDecl Body:[(PortStmt X:3000)])"},
		{"server \"api\" {\n  port env(\"PORT\")\n}", `(ServerDecl Name:"api" Body:[(PortStmt X:(call env "PORT"))])`},
		// A minus against the number negates it; with a space it subtracts.
		{"server {\n  port -1\n  max_body -5\n}", "(ServerDecl Body:[(PortStmt X:(- 1)) (MaxBodyStmt X:(- 5))])"},
		{"server {\n  port - 1\n}", "(ServerDecl Body:[(- port 1)])"},
		// a "(" after a space starts the value; against the word, a call
		{"server {\n  port (3000 + 1)\n  max_body (5).megabytes\n}", `(ServerDecl Body:[(PortStmt X:(+ 3000 1)) (MaxBodyStmt X:(UnitLit Number:5 Unit:"megabyte"))])`},
		{"server {\n  port(3000)\n}", "(ServerDecl Body:[(call port 3000)])"},
		{"route POST \"/u\" body: User with auth, role(\"admin\") -> User => create_user", `(RouteDecl Method:"POST" Path:"/u" Handler:create_user Guards:[auth (call role "admin")] BodyType:User RetType:User)`},
		{"route get \"/x\" => fn(req) { { ok: true } }", `(RouteDecl Method:"GET" Path:"/x" Handler:(fn (req) {(ObjectLit Entries:[(ObjEntry Key:"ok" Value:true)])}))`},
		{"routes \"/api\" {\n  route GET \"/a\" => a\n  routes \"/b\" { route GET \"/c\" => c }\n}", `(RoutesGroup Prefix:"/api" Body:[(RouteDecl Method:"GET" Path:"/a" Handler:a) (RoutesGroup Prefix:"/b" Body:[(RouteDecl Method:"GET" Path:"/c" Handler:c)])])`},
		{"routes \"/v2\" version: \"2\" {\n}", `(RoutesGroup Prefix:"/v2" Meta:["2"] MetaKeys:["version"] MetaPos:[(Pos Line:1 Col:14)])`},
		{"middleware fn mw(req, next) { next(req) }", `(HookDecl Kind:"middleware" Name:mw Fn:mw (req next) {(call next req)})`},
		{"on_error fn(err, req, res) { res.status(500) }", `(HookDecl Kind:"on_error" Fn:(err req res) {(call (. res status) 500)})`},
		{"on_start fn() { a() }\non_stop async fn() { b() }", "(HookDecl Kind:\"on_start\" Fn:() {(call a)})\n(HookDecl Kind:\"on_stop\" Fn:async () {(call b)})"},
		{"background fn job(p) { p }", `(HookDecl Kind:"background" Name:job Fn:job (p) {p})`},
		{"health \"/health\"\nhealth \"/h\" { check_memory, check_db }", "(HealthDecl Path:\"/health\")\n(HealthDecl Path:\"/h\" Checks:[\"check_memory\" \"check_db\"])"},
		{"max_body 5.megabytes", `(MaxBodyStmt X:(UnitLit Number:5 Unit:"megabyte"))`},
		{"static \"/p\" => \"./dir\" fallback \"index.html\"", `(StaticDecl Prefix:"/p" Dir:"./dir" Fallback:"index.html")`},
		{"static { cache: \"immutable\" }", `(ConfigBlock Kind:"static" Entries:[(ObjEntry Key:"cache" Value:"immutable")])`},
		{"cache { default: \"x\" }", `(ConfigBlock Kind:"cache" Entries:[(ObjEntry Key:"default" Value:"x")])`},
		{"db {\n  adapter: \"sqlite\"\n  database: \"app.db\"\n}", `(ConfigBlock Kind:"db" Entries:[(ObjEntry Key:"adapter" Value:"sqlite") (ObjEntry Key:"database" Value:"app.db")])`},
		{"rate_limit { max: 3 window: 1.minute, key: fn(req) req.ip }", `(ConfigBlock Kind:"rate_limit" Entries:[(ObjEntry Key:"max" Value:3) (ObjEntry Key:"window" Value:(UnitLit Number:1 Unit:"minute")) (ObjEntry Key:"key" Value:(fn (req) {(. req ip)}))])`},
		{"auth { type: \"jwt\", secret: s, nested: { a: 1 } }", `(ConfigBlock Kind:"auth" Entries:[(ObjEntry Key:"type" Value:"jwt") (ObjEntry Key:"secret" Value:s) (ObjEntry Key:"nested" Value:(ObjectLit Entries:[(ObjEntry Key:"a" Value:1)]))])`},
		{"ws {\n  on_open fn(ws) { ws.send(\"hi\") }\n  on_message fn(ws, m) { ws.send(m) }\n  auth: true\n}", `(WebSocketDecl Handlers:{on_message:on_message (ws m) {(call (. ws send) m)} on_open:on_open (ws) {(call (. ws send) "hi")}} Order:["on_open" "on_message"] Config:[(ObjEntry Key:"auth" Value:true)])`},
		{"websocket \"/ws\" { ... }", `(WebSocketDecl Path:"/ws" Handlers:{})`},
		{"websocket \"/ws\" {\n  on_close fn(ws, code, reason) { code }\n  on_error fn(ws, err) { err }\n}", `(WebSocketDecl Path:"/ws" Handlers:{on_close:on_close (ws code reason) {code} on_error:on_error (ws err) {err}} Order:["on_close" "on_error"])`},
		{"sse \"/events\" fn(send, close) { ... }", `(SSEDecl Path:"/events" Fn:(send close) {})`},
		{"schedule \"cleanup\" cron(\"0 * * * *\") { ... }", `(ScheduleDecl Name:"cleanup" Cron:"0 * * * *" Fn:cleanup () {})`},
		{"schedule \"*/5 * * * *\" fn tick() { t() }\nschedule \"30s\" fn() { u() }", "(ScheduleDecl Pattern:\"*/5 * * * *\" Fn:tick () {(call t)} FnName:tick)\n(ScheduleDecl Pattern:\"30s\" Fn:() {(call u)})"},
		{"subscribe \"topic\" fn(p) { p }", `(SubscribeDecl Topic:"topic" Fn:(p) {p})`},
		{"discover \"w\" {\n  url: \"http://x\",\n  circuit_breaker: {\n    failure_threshold: 3,\n    reset_timeout: 30.seconds\n  }\n}", `(DiscoverDecl Name:"w" Config:[(ObjEntry Key:"url" Value:"http://x") (ObjEntry Key:"circuit_breaker" Value:(ObjectLit Entries:[(ObjEntry Key:"failure_threshold" Value:3) (ObjEntry Key:"reset_timeout" Value:(UnitLit Number:30 Unit:"second"))]))])`},
		{"discover \"w\" at \"http://x\" with { threshold: 2 }", `(DiscoverDecl Name:"w" URL:"http://x" Config:[(ObjEntry Key:"threshold" Value:2)])`},
		{"model User", "(ModelDecl Name:User)"},
		{"model Task { title: String  done: Bool = false  table: \"tasks\"  timestamps: true }", `(ModelDecl Name:Task Fields:[(FieldDecl Name:"title" Type:String) (FieldDecl Name:"done" Type:Bool Default:false)] Options:[(ObjEntry Key:"table" Value:"tasks") (ObjEntry Key:"timestamps" Value:true)])`},
		{"env PORT: Int = 3000\nenv KEY: Option<String> = None", "(EnvDecl Name:PORT Type:Int Default:3000)\n(EnvDecl Name:KEY Type:Option<String> Default:None)"},
		{"data {\n  source users: Table = read(\"u.csv\")\n  pipeline active = users |> where(.active)\n  refresh users every 10.minutes\n  refresh active on_demand\n  refresh users 5.seconds\n  validate User { it.age > 0 }\n}",
			`(DataBlock Items:[(DataItem Kind:"source" Name:users Type:Table Value:(call read "u.csv")) (DataItem Kind:"pipeline" Name:active Value:(Pipe X:users Target:(call where (fn (__row) {(. __row active)})))) (DataItem Kind:"refresh" Name:users Every:(UnitLit Number:10 Unit:"minute")) (DataItem Kind:"refresh" Name:active OnDemand:true) (DataItem Kind:"refresh" Name:users Every:(UnitLit Number:5 Unit:"second")) (DataItem Kind:"validate" Name:User Rules:[(fn (it) {(> (. it age) 0)})])])`},
		// contextual words stay ordinary names elsewhere
		{"port = 1\nmodel = port\nhealth(x)\nenv(\"X\")\nroute = 2", "(Assign Targets:[port] Op:\"=\" Values:[1])\n(Assign Targets:[model] Op:\"=\" Values:[port])\n(call health x)\n(call env \"X\")\n(Assign Targets:[route] Op:\"=\" Values:[2])"},
	})
}

// errorsOf parses src and returns its errors as "line:col: message".
func errorsOf(src string) []string {
	_, err := parseFile("t.tova", []byte(src))
	if err == nil {
		return nil
	}
	var out []string
	for _, e := range err.(diag.List) {
		out = append(out, e.Pos.String()+": "+e.Msg)
	}
	return out
}

func TestErrors(t *testing.T) {
	tests := []struct {
		src  string
		want []string
	}{
		{"x = (1 + 2\ny = 3\n", []string{"2:1: unclosed '(' opened at 1:5"}},
		{"x = (1 +\ny = 2\n", []string{"2:3: expected ')' to close the '(' opened at 1:5, found '='"}},
		{"if x {\n  y = 1\n", []string{"2:8: unclosed '{' opened at 1:6"}},
		{"d = [1, 2\n", []string{"1:10: unclosed '[' opened at 1:5"}},
		// a match arm without a value, the next arm below it (a value
		// below, at any indentation, of tabs or spaces, is its own)
		{"y = match x {\n  1 =>\n  _ => 2\n}\n", []string{"2:5: the match arm at 2:3 has nothing after its =>: write its value there, or on the next line indented under it (the line below, an arm of its own, is the next arm)"}},
		// Python's floor division, a comment that took the bracket
		{"fn mid(lo, hi) { (lo + hi) // 2 }\n", []string{"1:27: unclosed '{' opened at 1:16: the // at 1:28 begins a comment, to the end of its line, which took the '}' after it (Python's floor division a // b is floor(a / b))"}},
		{"z = [\n  1\n  2\n]\n", []string{"3:3: expected ',' before number 2: a newline does not separate the elements of the array literal opened at 1:5 (and closed at 4:1)"}},
		{"f(\n  a\n  b\n)\n", []string{"3:3: expected ',' before 'b': a newline does not separate the elements of the argument list opened at 1:2 (and closed at 4:1)"}},
		{"d = [1, 2\ny = f(3)\n", []string{"2:1: unclosed '[' opened at 1:5"}},
		{"f(a b)", []string{"1:5: expected ',' or ')' in argument list, found 'b'"}},
		{"fn f(a, b {\n  a\n}\nz = 1\n", []string{"1:11: expected ',' or ')' in parameter list, found '{'"}},
		{"x = 1 +\n", []string{"1:8: expected expression, found end of file"}},
		{"a = 1\nb = )\nc = 2 3\nd = 4\n", []string{"2:5: expected expression, found ')'", "3:7: expected newline or ';' after statement, found number 3"}},
		{"fn pub() { 1 }", []string{"1:4: expected name, found keyword 'pub'"}},
		{"default = 1", []string{"1:1: expected expression, found 'default': 'default' is a reserved word, which cannot be a name: name it otherwise"}},
		{"fn f(if) {}", []string{"1:6: expected parameter name, found keyword 'if'"}},
		{"fn f(from, to) {}", []string{"1:6: expected parameter name, found keyword 'from': name the parameter otherwise (since, start) (a route handler reads a query's from as req.query.from)"}},
		{"match x {\n  1 => \"a\"\n  2 \"b\"\n  3 => \"c\"\n  4 =>\n}\n", []string{"3:5: expected '=>' after match pattern, found string \"b\"", "6:1: expected expression, found '}'"}},
		{"route FOO \"/x\" => h", []string{"1:7: unknown HTTP method FOO (want GET, POST, PUT, DELETE, PATCH, HEAD or OPTIONS)"}},
		{"route POST \"/n\" with body: Note => h", []string{"1:22: body: is not a middleware: write it outside the with list, as in route POST \"/n\" body: T with auth => handler"}},
		{"route POST \"/n\" with auth, body: Note => h", []string{"1:28: body: is not a middleware: write it outside the with list, as in route POST \"/n\" body: T with auth => handler"}},
		{"x = {a: 1, b: }\ny = 2\n", []string{"1:15: expected expression, found '}'"}},
		{"print(\"{ }\")", []string{"1:10: empty interpolation in string"}},
		{"server {\n  cache \"public\"\n}", []string{"2:9: expected newline or ';' after statement, found string \"public\": cache takes a block of settings, cache { default: \"public, max-age=60\" }"}},
		// other languages' habits, with what Tova writes
		{"x := 5\n", []string{"1:4: expected type, found '=': := is not Tova: write x = 5 (or var x = 5 for a binding that changes)"}},
		{"from = 5\n", []string{"1:1: expected expression, found 'from': 'from' is a reserved word, which cannot be a name: name it otherwise"}},
		{"type = \"user\"\n", []string{"1:6: expected name, found '=': 'type' is a reserved word, which cannot be a name: name it otherwise"}},
		{"switch x {\n}\n", []string{"1:1: unknown word switch: Tova's is match: match x { 1 => ..., _ => ... }"}},
		{"println!(\"hi {}\", 5)\n", []string{`1:8: expected newline or ';' after statement, found '!': println! is Rust's macro: write print(...), which takes the values, or "{x}" in a string`}},
		{"print([1, 2].map(|x| x * 2))\n", []string{"1:18: expected expression, found '|': |x| ... is Rust's closure: a function is written fn(x) x * 2, or x => x * 2"}},
		{"print(map(lambda x: x * 2, [1]))\n", []string{"1:18: expected ',' or ')' in argument list, found 'x': lambda is Python's: a function is written fn(x) x * 2, or x => x * 2"}},
		{"print(typeof 5)\n", []string{"1:14: expected ',' or ')' in argument list, found number 5: typeof is JavaScript's: write type_of(x), or test a kind with x is Int"}},
		{"test \"reverse\" {\n  assert_eq(1, 1)\n}\n", []string{`1:6: expected newline or ';' after statement, found string "reverse": test "..." { ... } blocks are the reference's test runner's (tova test), which this runtime does not have: check with assert_eq(actual, expected) in a script that tova run runs`}},
		{"x = 1; test \"a\" { }\n", []string{`1:13: expected newline or ';' after statement, found string "a": test "..." { ... } blocks are the reference's test runner's (tova test), which this runtime does not have: check with assert_eq(actual, expected) in a script that tova run runs`}},
		{"fn f() {\n  describe \"x\" { }\n}\n", []string{`2:12: expected newline or ';' after statement, found string "x": describe "..." { ... } blocks are the reference's test runner's (tova test), which this runtime does not have: check with assert_eq(actual, expected) in a script that tova run runs`}},
		{"server {\n  route \"POST /users/:id\" => fn() 1\n}\n", []string{`2:9: a route needs a method before its path, as in route POST "/users/:id" => handler`}},
		{"fn f(x) {\n  unless x > 1 { print(x) }\n}\n", []string{"2:10: expected newline or ';' after statement, found 'x': unless is Ruby's: write if not cond { ... }"}},
		{"server {\n  route GET \"/q\" => fn(q: Optional[str] = None) q\n}\n", []string{"2:35: expected ',' or ')' in parameter list, found '[': a type's arguments are written in <>, Option<String> (or String?), [Int] for a list, not Python's Optional[...]"}},
		{"server {\n  static \"public\"\n}\n", []string{`2:18: expected '=>' after the static prefix, found newline: static takes the prefix it serves at and the directory, static "/" => "public" (or static { dir: "public" })`}},
		{"x = 5 instanceof Int\n", []string{"1:7: expected newline or ';' after statement, found 'instanceof': instanceof is JavaScript's: test a kind with x is Int (or type_of(x))"}},
		{"r = /abc\nprint(r)\n", []string{"1:5: expected expression, found '/': a regex literal ends with a / on its line, /abc/"}},
		{"x = 4 / / 2\n", []string{"1:9: expected expression, found '/'"}},
		{"model Todo { tags: String[] }\n", []string{"1:26: a list type is written [String], not String[]"}},
		{"import os\n", []string{`1:8: import os: builtins need no import (env("PORT"), read(path), exec(cmd), ...); a module is imported with import { name } from "module"`}},
		{"from os import environ\n", []string{`1:1: expected expression, found 'from': from ... import is Python's: builtins need no import, and a module is imported with import { name } from "module"`}},
		{"u = User { name: \"a\" }\n", []string{"1:10: expected newline or ';' after statement, found '{': a record is made by calling its type, User(name: value, ...), or written as an object, { name: value }"}},
		{"x = { reset_timeout: 30s }\n", []string{"1:22: 30s is no Tova literal: a duration or a size is written 30.seconds"}},
		{"x = 5mb\n", []string{"1:5: 5mb is no Tova literal: a duration or a size is written 5.megabytes"}},
		{"x = 10m\n", []string{"1:5: 10m is no Tova literal: a duration or a size is written 10.minutes"}},
		// In a config block (read as 30 and an entry s: "undefined: s"),
		// and m in a size setting, M anywhere, as megabytes.
		{"server {\n  limits { timeout: 30s }\n}\n", []string{"2:21: 30s is no Tova literal: a duration or a size is written 30.seconds"}},
		{"server {\n  uploads { max_size: 5m }\n}\n", []string{"2:23: 5m is no Tova literal: a duration or a size is written 5.megabytes"}},
		{"server {\n  max_body 10m\n}\n", []string{"2:12: 10m is no Tova literal: a duration or a size is written 10.megabytes"}},
		{"server {\n  cors { max_age: 10m }\n}\n", []string{"2:19: 10m is no Tova literal: a duration or a size is written 10.minutes"}},
		{"server {\n  jobs { max_attempts: 3, max_backoff: 10m }\n}\n", []string{"2:40: 10m is no Tova literal: a duration or a size is written 10.minutes"}},
		{"server {\n  rate_limit { max: 5, window: 1m }\n}\n", []string{"2:32: 1m is no Tova literal: a duration or a size is written 1.minute"}},
		{"server {\n  @app.post(\"/x\")\n  fn x() { 1 }\n}\n", []string{`2:3: expected expression, found '@': Tova has no decorators: a route is declared in a server block, route POST "/x" => fn(req) { ... } (a guard is written with: route POST "/x" with auth => ...)`}},
		{"x = 10M\n", []string{"1:5: 10M is no Tova literal: a duration or a size is written 10.megabytes"}},
		{"x = \"hello \" . name\n", []string{`1:14: ' . ' after a string joins nothing here (PHP's concatenation): join with + ("a" + b), or interpolate, "hello {name}"`}},
		{"@app.get(\"/hi\")\nfn hi() { 1 }\n", []string{`1:1: expected expression, found '@': Tova has no decorators: a route is declared in a server block, route GET "/hi" => fn(req) { ... } (a guard is written with: route GET "/hi" with auth => ...)`}},
		{"server {\n  subscribe user_created fn(u) { print(u) }\n}\n", []string{`2:13: subscribe takes a string literal, its topic: subscribe "user_created" fn(data) { … } (a name holding one is not taken)`}},
		{"server {\n  discover worker { url: \"http://x\" }\n}\n", []string{`2:12: discover takes a string literal, the server's name: discover "worker" { url: … } (a name holding one is not taken)`}},
		{"server {\n  on_start { print(\"start\") }\n}\n", []string{"2:3: on_start takes a function written in place: on_start fn() { … }"}},
		{"server {\n  schedule \"c\" every(5.minutes) { print(1) }\n}\n", []string{`2:16: a schedule is written schedule "5m" fn c() { … } (an interval), or schedule "c" cron("0 * * * *") fn() { … }`}},
		{"server {\n  health\n}\n", []string{`2:3: health takes a path string: health "/health" (with checks: health "/health" { check_memory, check_db })`}},
		{"struct User { name: String }\n", []string{"1:1: unknown word struct: Tova declares a record type with type Name { field: Type }"}},
		{"enum Color { Red, Green }\n", []string{"1:1: unknown word enum: Tova declares a type of variants with type Name { A, B, C(field: Type) }"}},
		{"puts \"hi\"\n", []string{"1:1: unknown word puts: Tova prints with print(...)"}},
		{"let mut x = 5\n", []string{"1:5: expected expression, found 'mut': let mut is Rust's: a binding that changes is declared var x = 5"}},
		{"x = 1\nif x = 2 { print(1) }\n", []string{"2:6: expected '{' after the condition, found '=': = assigns; a comparison is written =="}},
		{"while x = 2 { x }\n", []string{"1:9: expected '{' after the condition, found '=': = assigns; a comparison is written =="}},
		{"server(\"api\") {\n}\n", []string{`1:7: a server's name is written without parentheses: server "api" { ... }`}},
		{"v, err := f()\n", []string{"1:8: := is not Tova: write the names and = (a, b = f()), and var before them for bindings that change"}},
		// (in a lambda's body, read as an object's entries)
		{"h = fn(req) {\n  data, err := f()\n}\n", []string{"2:13: := is not Tova: write the names and = (a, b = f()), and var before them for bindings that change"}},
		{"f = (req) { \"hi\" }\n", []string{"1:11: expected newline or ';' after statement, found '{': a function with a block body is written fn(req) { ... } (or (req) => expr)"}},
		{"server {\n  route GET \"/u/{id}\" => fn(id) id\n}\n", []string{`2:13: route path must be a plain string (no {interpolation}): a path parameter is written :name, "/users/:id"`}},
		{"server {\n  routes \"/t/{tenant}\" {\n    route GET \"/x\" => fn() 1\n  }\n}\n", []string{`2:10: route prefix must be a plain string (no {interpolation}): a path parameter is written :name, "/users/:id"`}},
		{"raise E(1)\n", []string{"1:1: unknown word raise: Tova throws with throw: throw \"message\" (or a value, { code: 404 })"}},
		{"fn f() { throw new Error(\"x\") }\n", []string{"1:20: expected newline or ';' after statement, found 'Error': Tova has no new, and Error(...) is JavaScript's: throw the message itself, throw \"...\""}},
		{"y = x > 3 ? \"a\" : \"b\"\n", []string{"1:13: expected newline or ';' after statement, found string \"a\": Tova has no ?: operator: write if c { a } else { b }"}},
		{"y = \"a\" if x > 3 else \"b\"\n", []string{"1:9: expected newline or ';' after statement, found 'if': a value chosen by a condition is written if c { a } else { b }"}},
		{"server {\n  port: 80\n}\n", []string{"2:7: expected newline or ';' after statement, found ':': port is written without a colon (port 8080)"}},
		{"match x {\n  default => 1\n}\n", []string{"2:3: expected pattern, found 'default': the arm that takes any other value is written _ => ..."}},
		{"db { adapter = \"sqlite\" }\n", []string{"1:14: expected ',' or newline between entries, found '=': a setting is written key: value (adapter: ...)"}},
		{"env API_KEY = \"x\"\n", []string{"1:13: an env declaration gives the variable's type: env API_KEY: String = ... (or Int, Float, Bool, Duration, Option<...>)"}},
		{"env PORT = 8080\n", []string{"1:10: an env declaration gives the variable's type: env PORT: Int = ... (or Int, Float, Bool, Duration, Option<...>)"}},
		{"env API_KEY\nprint(1)\n", []string{"1:5: an env declaration gives the variable's type: env API_KEY: String (or Int, Float, Bool, Duration, Option<...>)"}},
		{"x = match 3 {\n  1 => 1\n  else => 2\n}\n", []string{"3:3: expected pattern, found 'else': the arm that takes any other value is written _ => ..."}},
		{`r = "a{,3}"`, []string{"1:8: expected expression, found ',': the '{' before it, in a string, begins an interpolation (write \\{ for a literal brace, or use '...' quotes)"}},
		{`b = "\\d{2,4}"`, []string{"1:11: expected '}' to end the interpolation, found ',': the '{' before it, in a string, begins an interpolation (write \\{ for a literal brace, or use '...' quotes)"}},
		{"server {\n  rate_limit 100\n}", []string{"2:14: expected newline or ';' after statement, found number 100: rate_limit takes a block of settings, rate_limit { requests: 100, window: 1.minute }"}},
		{"mut counts = {}", []string{"1:1: expected expression, found 'mut': a binding that changes is declared with var (var counts = ...)"}},
		// CSS or JavaScript in a string: its brace began an
		// interpolation, which the message says.
		{"page = \"<style>body { color: red; }</style>\"", []string{"1:28: expected '}' to end the interpolation, found ':': the '{' before it, in a string, begins an interpolation (write \\{ for a literal brace, or use '...' quotes)"}},
		{"page = \"<script>function f() { return 1 }</script>\"", []string{"1:32: expected expression, found 'return': the '{' before it, in a string, begins an interpolation (write \\{ for a literal brace, or use '...' quotes)"}},
		// other languages' words, too far from Tova's for a "did you mean"
		{"function add(a, b) {\n  a + b\n}", []string{"1:1: unknown word function (Tova declares functions with fn: fn add(...) { ... })"}},
		{"def add(a, b) {\n  a + b\n}", []string{"1:1: unknown word def (did you mean fn?)"}},
		{"print(1 === 1)", []string{"1:9: '===' is not a Tova operator: == never coerces, write =="}},
		{"if a !== b { c }", []string{"1:6: '!==' is not a Tova operator: != never coerces, write !="}},
		{"var x = 3\nx++\nprint(x)", []string{"2:2: '++' is not a Tova operator: write x += 1"}},
		{"fn f() {\n  n--\n}", []string{"2:4: '--' is not a Tova operator: write n -= 1"}},
		{"counts[0]++\nprint(counts)", []string{"1:10: '++' is not a Tova operator: write counts[0] += 1"}},
		{"m.a[i]--\nprint(m)", []string{"1:7: '--' is not a Tova operator: write m.a[i] -= 1"}},
		{"o.hits--\nprint(o)", []string{"1:7: '--' is not a Tova operator: write o.hits -= 1"}},
		// Inside an expression too (it was x ++ (+2), x left as it was),
		// naming an element whose index is an expression as written.
		{"x = 1\ny = x++ + 2", []string{"2:6: '++' is not a Tova operator: write x += 1"}},
		{"a = [5]\nb = a[0]-- - 1", []string{"2:9: '--' is not a Tova operator: write a[0] -= 1"}},
		{"print(x++ * 3)", []string{"1:8: '++' is not a Tova operator: write x += 1"}},
		{"if x++ > 0 { print(1) }", []string{"1:5: '++' is not a Tova operator: write x += 1"}},
		{"f(n++, 1)", []string{"1:4: '++' is not a Tova operator: write n += 1"}},
		{"m.a[i + 1]--", []string{"1:11: '--' is not a Tova operator: write m.a[i + 1] -= 1"}},
		{"xs[len(xs) - 1]++", []string{"1:16: '++' is not a Tova operator: write xs[len(xs) - 1] += 1"}},
		{"f()[0]++", []string{"1:7: '++' is not a Tova operator: write f()[0] += 1"}},
		{"const x = 5", []string{"1:1: unknown word const: Tova binds a name with x = 5 (it cannot be rebound), or var x = 5 for one that changes"}},
		{"f(n++)", []string{"1:4: '++' is not a Tova operator: write n += 1"}},
		// (a ++ at the end of a line, apart from its left operand, is
		// concatenation going on to the next line)
		{"s = \"a\" ++\n  \"b\"\nt = \"a\"++\n  \"b\"\nu = [1]++\n  [2]\nx++", []string{"7:2: '++' is not a Tova operator: write x += 1"}},
		{"if a == = b { c }", []string{"1:9: expected expression, found '='"}},
		// a condition's missing last operand, before the body's '{'
		{"fn check(count) {\n  if count > {\n    print(\"big\")\n  }\n}\n", []string{"2:14: expected an expression after '>', found '{' (the if's body)"}},
		{"if a {\n} elif b and\n{\n  return 1\n}\n", []string{"3:1: expected an expression after 'and', found '{' (the elif's body)"}},
		{"while n < -{ n = 1 }", []string{"1:12: expected an expression after '-', found '{' (the while's body)"}},
		{"if x == { a: 1 } { y }", nil},
		{"if f(fn() {\n  o = { a: 1 }\n  o\n}) { y }", nil},
		{"if \"{ { a: 1 } }\" == s { y }", nil},
		{"if (match x { 1 => { a: 1 }, _ => { a: 2 } }).a == 1 { y }", nil},
		// a regex refused is quoted as written, not as rewritten for RE2
		{`x = /\u{110000}/`, []string{"1:5: invalid regex /\\u{110000}/: invalid escape sequence: `\\x{110000` (patterns are RE2: no lookaround or backreferences)"}},
		{"while match s {\n  \"a\" => { go: true }\n  _ => { go: false }\n}.go {\n  y\n}\n", nil},
		{"if f(1,\n{ a: 1 }\n) { y }", nil},
		// in an interpolation, its closing brace is what follows the expression
		{`print("val: {x + } and more")`, []string{"1:18: expected expression, found '}'"}},
		{`print("a {(1 + 2} b")`, []string{"1:17: unclosed '(' opened at 1:11"}},
		{`x = "{[1, 2}"`, []string{"1:12: unclosed '[' opened at 1:7"}},
		{"x = 99999999999999999999", []string{"1:5: integer literal 99999999999999999999 overflows Int"}},
		// The spec's r! and ns::name, which the reference does not take,
		// point to what it does.
		{"fn g(r) {\n  v = r!\n  Ok(v)\n}", []string{"2:8: expected newline or ';' after statement, found '!': an Err or None is passed on with ? (r?), not !"}},
		{"print(math::sqrt(4))", []string{"1:11: expected ',' or ')' in argument list, found '::': a module's member is written with a dot (math.sqrt), not ::"}},
		// A relation written bare is pointed to its list form.
		// A cron schedule needs its name (it said a statement ended).
		{"server {\n  schedule cron(\"0 * * * *\") { print(1) }\n}", []string{"2:12: a schedule needs a name before its cron: schedule \"name\" cron(\"0 * * * *\") { … }"}},
		// An unnamed hook with no body says one is wanted.
		{"server {\n  on_start fn()\n}", []string{"2:16: expected '{' to start the body (or one expression), found newline"}},
		// A named hook's body is a block, as a declared fn's.
		{"server {\n  middleware fn m(req, next) next(req)\n}", []string{"2:30: expected '{', found 'next': the body of fn m is a block, { … }; an unnamed fn(…) may be one expression"}},
		// A reserved word where a name goes says so (fn guard(req, next)
		// in a middleware said only that a '(' was wanted).
		{"server {\n  middleware fn guard(req, next) { next(req) }\n}", []string{"2:17: expected '(' to start the parameter list, found 'guard': 'guard' is a reserved word, which cannot be a name: name it otherwise"}},
		// A long one is shortened, so the reason stays in the message.
		{"x = " + strings.Repeat("9", 1000), []string{"1:5: integer literal 99999999999999999999…9999999999 (1000 digits) overflows Int"}},
		{"x = \"abc", []string{"1:5: unterminated string literal"}},
		{"/* never closed", []string{"1:1: unterminated block comment"}},
		{"fn f() {\n  x = 1\n}}\ny = 2", []string{"3:2: unexpected '}'"}},
		{"for in xs {}", []string{"1:5: expected name, found keyword 'in'"}},
		{"1..2..3", []string{"1:5: range operators do not chain; use parentheses"}},
		{"f() = 1", []string{"1:1: cannot assign to this expression"}},
		{"a, b += 1", []string{"1:6: += needs a single target"}},
		{"try { x }", []string{"1:10: expected 'catch' or 'finally' after try block, found end of file"}},
		{"x = ...y", []string{"1:5: unexpected '...': spread is only allowed in arrays, objects and call arguments"}},
		{"xs?[1:2]", []string{"1:4: a slice cannot be optional"}},
		{"match x { Foo(1 => 2 }", []string{"1:17: expected ',' or ')' in variant pattern, found '=>'"}},
		{"fn f() { return 1, }", []string{"1:20: expected expression, found '}'"}},
		{"f = x => y = 1", []string{"1:12: expected newline or ';' after statement, found '='"}},
		{"websocket \"/ws\" { on_start fn() {} }", []string{"1:19: unknown websocket handler on_start (want on_open, on_message, on_close or on_error)"}},
		{"type T { lower }", []string{"1:10: expected ':' after field name 'lower'"}},
		{"client { x }", []string{"1:1: client blocks are not supported: this runtime runs server code only"}},
		// a server word with what it does not take on its line
		{"server {\n  middleware logger\n}", []string{"2:3: middleware takes a function written in place: middleware fn name(req, next) { … } or middleware fn name(req, res) { … }"}},
		{"on_start boot", []string{"1:1: on_start takes a function written in place: on_start fn() { … }"}},
		// A hook's parameters after its word, a server's name unquoted, a
		// guard after the handler: what to write, not that a statement
		// ended early or a '{' was expected.
		{"server {\n  on_error(err, req) { \"x\" }\n}", []string{"2:3: on_error takes a function written in place: on_error fn(err, req) { … } or on_error fn(err, req, res) { … }"}},
		{"server api {\n  port 1\n}", []string{`1:8: a server's name is a string: server "api" { ... }`}},
		// (the last one was taken without a word)
		{"x = rows |> agg(s: sum(.v), s: count())", []string{"1:29: agg: the column s is named twice in this call"}},
		{"x = rows |> derive(.b = 1, .b = 2)", []string{"1:29: derive: the column b is named twice in this call"}},
		{"server {\n  route GET \"/a\" => fn() 1 with auth\n}", []string{`2:28: a route's guards come before its handler: route GET "/a" with guard => handler`}},
		{"server {\n  route GET \"/a\" => fn() {\n    1\n  } with auth\n}", []string{`4:5: a route's guards come before its handler: route GET "/a" with guard => handler`}},
		{"server { health 42 }", []string{`1:10: health takes a path string: health "/health" (with checks: health "/health" { check_memory, check_db })`}},
		// several errors, one per statement
		{"a = )\nb = 2\nc = (\nd + 4\ne = [1\n", []string{"1:5: expected expression, found ')'", "5:1: unclosed '(' opened at 3:5"}},
	}
	for _, tt := range tests {
		got := errorsOf(tt.src)
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("%q\n got %q\nwant %q", tt.src, got, tt.want)
		}
	}
}

// Every syntax error is kept, however many (the parser stopped
// recording at 50 and the count read as the file's).
func TestEveryErrorIsKept(t *testing.T) {
	src := strings.Repeat("x = @\n", 5000)
	_, err := ParseFile("t.tova", []byte(src))
	var list diag.List
	if !errors.As(err, &list) || len(list) != 5000 {
		t.Fatalf("got %d errors, want 5000: %v", len(list), err)
	}
}

func TestNeverNil(t *testing.T) {
	f, err := ParseFile("t.tova", []byte("x = (\n"))
	if f == nil || err == nil {
		t.Fatalf("want a file and an error, got %v %v", f, err)
	}
}

func TestSmallFileIsFast(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	src := []byte(tenLines)
	res := testing.Benchmark(func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := parseFile("t.tova", src); err != nil {
				b.Fatal(err)
			}
		}
	})
	if per := res.NsPerOp(); per > 1_000_000 {
		t.Errorf("parsing a 10-line file takes %d ns", per)
	}
}

const tenLines = `fn add(a, b = 10) { a + b }
var total = 0
for x in [1, 2, 3] when x > 1 { total += x }
msg = "total {total} and {add(1, 2)}"
server {
  route GET "/health" => fn(req) { { status: "ok", uptime: 5.seconds } }
  cors { origins: ["*"], credentials: true }
}
result = match total { 0 => "none", n if n > 3 => "many", _ => "few" }
xs = [1, 2, 3] |> map(fn(x) x * 2) |> filter(it > 2)
`

func BenchmarkParseTenLines(b *testing.B) {
	src := []byte(tenLines)
	b.SetBytes(int64(len(src)))
	for i := 0; i < b.N; i++ {
		parseFile("t.tova", src)
	}
}

// TestLongChains: calls, members and indexes applied in a row are bounded
// as nesting is. A million `()` in a row overflowed the compiler's stack,
// which ends the process.
func TestLongChains(t *testing.T) {
	if errs := errorsOf("f = fn() f\nx = f" + strings.Repeat("()", maxChain) + "\n"); errs != nil {
		t.Errorf("a chain of %d calls: %q", maxChain, errs)
	}
	for _, link := range []string{"()", ".a", "[0]", "?.a", ".f()"} {
		src := "x = f" + strings.Repeat(link, 2*maxChain) + "\n"
		errs := errorsOf(src)
		want := "expression too long: more than 10000 calls, members and indexes in a row; name a part of it"
		if len(errs) != 1 || !strings.HasSuffix(errs[0], want) || !strings.HasPrefix(errs[0], "1:") {
			t.Errorf("a chain of %s: got %q", link, errs)
		}
	}
}

// A chain of binary operators (a - b - c ..., ??, |>, in, is) is
// bounded as a chain of calls is: half a million ?? overflowed the
// compiler's stack, and a ** chain (which nests to the right) is
// nesting.
func TestLongOperatorChains(t *testing.T) {
	if errs := errorsOf("x = 1" + strings.Repeat(" - 1", maxChain) + "\n"); errs != nil {
		t.Errorf("a chain of %d operators: %q", maxChain, errs)
	}
	want := "expression too long: more than 10000 operators in a row; compute it in several statements, or from a list (sum, join)"
	for _, link := range []string{" - 1", " ?? nil", " ++ \"a\"", " |> f", " in xs", " is Int", " and true", " < 2"} {
		errs := errorsOf("x = 1" + strings.Repeat(link, 2*maxChain) + "\n")
		if link == " < 2" {
			continue // (a comparison chain is one node: no deeper)
		}
		if len(errs) != 1 || !strings.HasSuffix(errs[0], want) {
			t.Errorf("a chain of %q: got %q", link, errs)
		}
	}
	if errs := errorsOf("x = 2" + strings.Repeat(" ** 2", 2*maxDepth) + "\n"); len(errs) != 1 || !strings.HasSuffix(errs[0], "program nested too deeply") {
		t.Errorf("a chain of **: got %q", errs)
	}
}

// TestLongPrefixRuns: a run of prefix operators nests as brackets do and
// is bounded the same way. Two million `!` in a row overflowed the
// parser's stack, which ends the process.
func TestLongPrefixRuns(t *testing.T) {
	for _, op := range []string{"!", "not ", "- ", "+ ", "~", "await "} {
		if errs := errorsOf("x = " + strings.Repeat(op, 100) + "1\n"); errs != nil {
			t.Errorf("100 %q in a row: %q", op, errs)
		}
		errs := errorsOf("x = " + strings.Repeat(op, 200_000) + "1\n")
		if len(errs) != 1 || !strings.HasSuffix(errs[0], "program nested too deeply") || !strings.HasPrefix(errs[0], "1:") {
			t.Errorf("200000 %q in a row: got %q", op, errs)
		}
	}
}

// A string or comment that runs to the end of the source is its only
// error: the brackets it swallowed were reported unclosed, at a line
// past the end of the file.
func TestCutEndIsOneError(t *testing.T) {
	tests := []struct{ src, want string }{
		{"fn a() {\n  s = \"oops\n  print(s)\n}\nprint(1)\n", "2:7: unterminated string literal"},
		{"x = [1, \"oops\n]\nprint(x)\n", "1:9: unterminated string literal"},
		{"f(r\"oops\n)\n", "1:3: unterminated raw string literal"},
		{"if x {\n  y = \"\"\"oops\n}\n", "2:7: unterminated \"\"\" string literal"},
		{"fn a() {\n  /* oops\n}\n", "2:3: unterminated block comment"},
		{"shared {\n  x = 'oops\n}\n", "2:7: unterminated string literal"},
	}
	for _, tt := range tests {
		if got := errorsOf(tt.src); len(got) != 1 || got[0] != tt.want {
			t.Errorf("%q\n got %q\nwant %q", tt.src, got, tt.want)
		}
	}
}

// Past the scanner's limit of open brackets, the parser's own depth
// error, long before, was reported with the scanner's and with a false
// "unclosed '{'": it is the only one.
func TestTooDeepIsOneError(t *testing.T) {
	n := 2100
	parens := "x = " + strings.Repeat("(", n) + "1" + strings.Repeat(")", n) + "\nprint(x)\n"
	ifs := "fn f() {\n" + strings.Repeat("if true {\n", n) + "1\n" + strings.Repeat("}\n", n) + "}\nprint(f())\n"
	for _, src := range []string{parens, ifs} {
		if errs := errorsOf(src); len(errs) != 1 || !strings.HasSuffix(errs[0], ": program nested too deeply") {
			t.Errorf("%.30q…: got %q", src, errs)
		}
	}
	// Where the parser stops before the nesting, the scanner's error says
	// why the rest of the source was not read.
	errs := errorsOf("x = @" + strings.Repeat("(", n) + "\n")
	if len(errs) != 2 || errs[1] != "1:2006: program nested too deeply: more than 2000 brackets open" {
		t.Errorf("got %q", errs)
	}
}
