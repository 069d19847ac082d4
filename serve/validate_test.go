package serve

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// The reference's route decorator `with validate({...})` checks the
// body's fields and refuses with 400 VALIDATION_FAILED, each failure in
// the details, before the handler runs (it was a compile error: not
// applied yet).
func TestValidateDecorator(t *testing.T) {
	app := startApp(t, `
server {
  var made = 0
  route POST "/users" with validate({
    name: { required: true, min_length: 3, max_length: 10 },
    age: { min: 18, max: 130 },
    email: { pattern: "^[^@ ]+@[^@ ]+$" },
    plan: { one_of: ["free", "pro"] },
    tags: { max_length: 2 },
    code: { min_length: 3, pattern: "^[a-z]+$", one_of: ["abc", "xyz"] }
  }) => fn(req) {
    made += 1
    { ok: true }
  }
  route GET "/made" => fn() made
}
`)
	url := app.urls[""] + "/users"
	for body, want := range map[string]string{
		`{"name":"ann","age":30,"email":"a@b.c","plan":"pro","tags":["x"]}`: `200 {"ok":true}`,
		`{"name":"bob"}`:                      `200 {"ok":true}`,
		`{"name":"ézé"}`:                      `200 {"ok":true}`, // three characters, six bytes
		`{}`:                                  `400 name is required`,
		`{"name":""}`:                         `400 name is required`,
		`{"name":"al"}`:                       `400 name must be at least 3 characters`,
		`{"name":"abcdefghijk"}`:              `400 name must be at most 10 characters`,
		`{"name":7}`:                          `400 name must be a string`,
		`{"name":"ann","age":17}`:             `400 age must be at least 18`,
		`{"name":"ann","age":130.5}`:          `400 age must be at most 130`,
		`{"name":"ann","age":"old"}`:          `400 age must be a number`,
		`{"name":"ann","email":"a b@c"}`:      `400 email does not match the pattern ^[^@ ]+@[^@ ]+$`,
		`{"name":"ann","plan":"gold"}`:        `400 plan must be one of free, pro`,
		`{"name":"ann","tags":["a","b","c"]}`: `400 tags must be at most 2 items`,
		`[1]`:                                 `400 the body must be an object of fields`,
	} {
		if got := outcome(t, do(t, "POST", url, body)); got != want {
			t.Errorf("POST %s = %s, want %s", body, got, want)
		}
	}
	r := do(t, "POST", url, `{"name":"al","age":5,"plan":"x"}`)
	if d := r.json(t)["error"].(map[string]any)["details"]; len(d.([]any)) != 3 || r.json(t)["request_id"] != r.header.Get("X-Request-ID") {
		t.Errorf("every failure in the details: %s", r.body)
	}
	// Every rule a field breaks (it gave the first alone), a string
	// rule's "must be a string" once.
	r = do(t, "POST", url, `{"name":"ann","code":"A1"}`)
	if d := fmt.Sprint(r.json(t)["error"].(map[string]any)["details"]); d != "[code must be at least 3 characters code does not match the pattern ^[a-z]+$ code must be one of abc, xyz]" {
		t.Errorf("the rules code breaks: %s", d)
	}
	r = do(t, "POST", url, `{"name":"ann","code":7}`)
	if d := fmt.Sprint(r.json(t)["error"].(map[string]any)["details"]); d != "[code must be a string code must be one of abc, xyz]" {
		t.Errorf("the rules a number breaks: %s", d)
	}
	if r := do(t, "GET", app.urls[""]+"/made", ""); r.body != "3" {
		t.Errorf("the handler ran %s times, want 3", r.body)
	}
	wantStartErrors(t, "", map[string]string{
		`server { route POST "/" with validate({ a: { min: 0.0 / 0.0 } }) => fn() 1 }`:               `server: app.tova:1:38: ValueError: validate: a.min must be a number, got NaN`,
		`server { route POST "/" with validate({ a: { min: 10, max: 1 } }) => fn() 1 }`:              `server: app.tova:1:38: ValueError: validate: a: min 10 is over max 1: no value could pass`,
		`server { route POST "/" with validate({ a: { min_length: 3, max_length: 2 } }) => fn() 1 }`: `server: app.tova:1:38: ValueError: validate: a: min_length 3 is over max_length 2`,
		`server { route POST "/" with validate({ name: { requird: true } }) => fn() 1 }`:             `server: app.tova:1:38: ValueError: validate: name.requird is no rule (did you mean required? the rules: `,
		`server { route POST "/" with validate({ name: { min_length: -1 } }) => fn() 1 }`:            `server: app.tova:1:38: ValueError: validate: name.min_length must be an Int of at least 0, got -1`,
		`server { route POST "/" with validate({ name: { pattern: "(" } }) => fn() 1 }`:              `server: app.tova:1:38: ValueError: validate: name.pattern: error parsing regexp`,
		`server { route POST "/" with validate({ name: true }) => fn() 1 }`:                          `server: app.tova:1:38: TypeError: validate: the rules of name must be an object`,
		`server { route POST "/" with validate("name") => fn() 1 }`:                                  `server: app.tova:1:38: TypeError: validate({ field: { rule: value } }) takes one object of rules`,
		`server { route POST "/" with validate({ plan: { one_of: [] } }) => fn() 1 }`:                `server: app.tova:1:38: ValueError: validate: plan.one_of must be a non-empty List`,
	})
}

// A union annotation (Int | Float, or an alias of one) converts a value
// to the first of its types that takes it, and refuses one none takes,
// naming them: it was not checked at all (a query's "abc" reached an
// Int | Float parameter as the String it is).
func TestUnionParameters(t *testing.T) {
	app := startApp(t, `
type Num = Int | Float
type Rec { n: Num }
server {
  route GET "/inline" => fn(n: Int | Float) { "{n} {type_of(n)}" }
  route GET "/alias" => fn(n: Num) { "{n} {type_of(n)}" }
  route GET "/maybe" => fn(n: Nil | Int) { "{n} {type_of(n)}" }
  route GET "/default" => fn(n: Int | Float = 10) { "{n} {type_of(n)}" }
  route POST "/body" body: Rec => fn(req) { "{req.body.n} {type_of(req.body.n)}" }
}
`)
	u := app.urls[""]
	for _, c := range []struct{ method, path, body, want string }{
		{"GET", "/inline?n=3", "", `"3 Int"`},
		{"GET", "/inline?n=2.5", "", `"2.5 Float"`},
		{"GET", "/alias?n=7", "", `"7 Int"`},
		{"GET", "/maybe?n=7", "", `"7 Int"`},
		{"GET", "/default?n=", "", `"10 Int"`},
		{"POST", "/body", `{"n": 2.5}`, `"2.5 Float"`},
	} {
		if r := do(t, c.method, u+c.path, c.body); r.status != 200 || r.body != c.want {
			t.Errorf("%s %s %s = %d %s, want %s", c.method, c.path, c.body, r.status, r.body, c.want)
		}
	}
	for _, c := range []struct{ method, path, body, want string }{
		{"GET", "/inline?n=abc", "", "n must be Int or Float"},
		{"GET", "/alias?n=abc", "", "n must be Int or Float"},
		{"POST", "/body", `{"n": [1]}`, "n must be Int or Float"},
		{"GET", "/maybe?n=abc", "", "n must be Nil or Int"},
		// an empty value is none, as for n: Int (it was "must be Int or Float")
		{"GET", "/inline?n=", "", "n is required"},
	} {
		if r := do(t, c.method, u+c.path, c.body); r.status != 400 || !strings.Contains(r.body, c.want) {
			t.Errorf("%s %s %s = %d %s, want 400 %q", c.method, c.path, c.body, r.status, r.body, c.want)
		}
	}
}

// An integer too large for Int, from the path, the query or a JSON body,
// was refused as "must be an integer", which it is: the detail says it
// is out of Int's range (still 400).
func TestIntParameterOutOfRange(t *testing.T) {
	app := startApp(t, `
server {
  fn f(n: Int) { n }
  route POST "/f" => f
  route GET "/g" => f
  route GET "/p/:n" => f
}
`)
	u := app.urls[""]
	const past = "n is out of range for Int (-9223372036854775808 to 9223372036854775807)"
	for _, c := range []struct{ method, path, body, want string }{
		{"POST", "/f", `{"n":99999999999999999999}`, past},
		{"POST", "/f", `{"n":-9223372036854775810000}`, past},
		{"POST", "/f", `{"n":1e20}`, past},
		{"GET", "/g?n=9223372036854775808", "", past},
		{"GET", "/g?n=-9223372036854775809", "", past},
		{"GET", "/p/99999999999999999999", "", past},
		{"GET", "/g?n=12x", "", "n must be an integer"},
		{"POST", "/f", `{"n":1.5}`, "n must be an integer"},
	} {
		r := do(t, c.method, u+c.path, c.body, "Content-Type", "application/json")
		if r.status != 400 || !strings.Contains(r.body, c.want) {
			t.Errorf("%s %s %s = %d %s, want 400 %q", c.method, c.path, c.body, r.status, r.body, c.want)
		}
	}
	if r := do(t, "GET", u+"/g?n=9223372036854775807", ""); r.status != 200 || r.body != "9223372036854775807" {
		t.Errorf("GET /g?n=max = %d %s", r.status, r.body)
	}
}

// A whole Float converts to an Int where a Float holds every integer
// (below 2^53); past it, where the Float may have rounded what the
// client wrote (9007199254740993.0 reads as ...992), and at -2^63,
// which -9223372036854775809 reads as, it is refused saying why (it
// "must be an integer", or was "out of range").
func TestIntParameterFromWholeFloat(t *testing.T) {
	app := startApp(t, `
server {
  fn f(n: Int) { n }
  route POST "/f" => f
}
`)
	u := app.urls[""]
	for body, want := range map[string]string{
		`{"n":1e15}`:               "1000000000000000",
		`{"n":9007199254740991.0}`: "9007199254740991",
		`{"n":-4.2e1}`:             "-42",
	} {
		if r := do(t, "POST", u+"/f", body, "Content-Type", "application/json"); r.status != 200 || r.body != want {
			t.Errorf("POST /f %s = %d %s, want 200 %s", body, r.status, r.body, want)
		}
	}
	const past = "n is out of range for Int (-9223372036854775808 to 9223372036854775807)"
	const least = "n is Int's minimum or an integer just below it, which JSON reads as the same Float: write the minimum as the integer -9223372036854775808"
	const inexact = "n is an integer past 2^53 written with a fraction or an exponent, which JSON reads as a Float that may hold another integer: write it as an integer"
	for body, want := range map[string]string{
		`{"n":9007199254740993.0}`:       inexact,
		`{"n":1e18}`:                     inexact,
		`{"n":-9.2233720368547748e18}`:   inexact,
		`{"n":9.223372036854775808e18}`:  past,
		`{"n":-9.223372036854777856e18}`: past,
		`{"n":-9.223372036854775808e18}`: least,
		`{"n":-9223372036854775809}`:     least,
	} {
		if r := do(t, "POST", u+"/f", body, "Content-Type", "application/json"); r.status != 400 || !strings.Contains(r.body, want) {
			t.Errorf("POST /f %s = %d %s, want 400 %q", body, r.status, r.body, want)
		}
	}
}

// Servers that each declare a type of one name convert their routes'
// parameters and bodies by their own: server b's Item was checked as
// server a's, the first of the name, and its handler got an a-Item. A
// top-level type of that name, which b's own hides, and types with
// variants are told apart too; so is each server's OpenAPI schema, and
// a message names the type as the program wrote it.
func TestTypesOfOneNameInSeveralServers(t *testing.T) {
	app := startApp(t, `
type Item { top: Int }
type Color { Red, Green }
server "a" {
  type Item { a: Int }
  type Box { item: Item }
  fn h(it: Item) { { got: str(it) } }
  route POST "/h" => h
  route POST "/box" body: Box => fn(req) { { got: str(req.body.item) } }
}
server "b" {
  type Item { b: String }
  type Color { Blue(v: Int) }
  fn h(it: Item) { { got: str(it) } }
  route POST "/h" => h
  route POST "/body" body: Item => fn(req) { { got: str(req.body) } }
  route POST "/color" => fn(c: Color) { { got: str(c) } }
}
server "c" {
  fn h(it: Item, c: Color) { { got: str(it), c: str(c) } }
  route POST "/h" => h
}
`)
	for _, c := range []struct{ srv, method, path, body, want string }{
		{"a", "POST", "/h", `{"it":{"a":1}}`, `{"got":"Item(a: 1)"}`},
		{"a", "POST", "/box", `{"item":{"a":2}}`, `{"got":"Item(a: 2)"}`},
		{"b", "POST", "/h", `{"it":{"b":"x"}}`, `{"got":"Item(b: \"x\")"}`},
		{"b", "POST", "/body", `{"b":"y"}`, `{"got":"Item(b: \"y\")"}`},
		{"b", "POST", "/color", `{"c":{"__tag":"Blue","v":3}}`, `{"got":"Blue(v: 3)"}`},
		{"c", "POST", "/h", `{"it":{"top":4},"c":"Red"}`, `{"got":"Item(top: 4)","c":"Red"}`},
	} {
		if r := do(t, c.method, app.urls[c.srv]+c.path, c.body); r.status != 200 || r.body != c.want {
			t.Errorf("%s: %s %s %s = %d %s, want %s", c.srv, c.method, c.path, c.body, r.status, r.body, c.want)
		}
	}
	for _, c := range []struct{ srv, method, path, body, want string }{
		{"a", "POST", "/h", `{"it":{"b":"x"}}`, "it.a is required"},
		{"a", "POST", "/box", `{"item":{"top":1}}`, "item.a is required"},
		{"b", "POST", "/h", `{"it":{"a":1}}`, "it.b is required"},
		{"b", "POST", "/body", `{"a":1}`, "b is required"},
		{"b", "POST", "/color", `{"c":"Red"}`, "c must be a Color (Blue)"},
		{"c", "POST", "/h", `{"it":{"a":1},"c":"Red"}`, "it.top is required"},
	} {
		if r := do(t, c.method, app.urls[c.srv]+c.path, c.body); r.status != 400 || !strings.Contains(r.body, c.want) {
			t.Errorf("%s: %s %s %s = %d %s, want 400 %q", c.srv, c.method, c.path, c.body, r.status, r.body, c.want)
		}
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]any
			}
		}
	}
	r := do(t, "GET", app.urls["b"]+"/openapi.json", "")
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
		t.Fatal(err)
	}
	if p := doc.Components.Schemas["Item"].Properties; p["b"] == nil || p["a"] != nil {
		t.Errorf("server b's Item schema: %v", p)
	}
}

// Parameters of the language's kinds Number, List, Object and Function
// are checked as the other types are: `price: Number` took ?price=5 as
// the String "5" (price * 2 was "55"), and each took any value.
func TestKindParameters(t *testing.T) {
	app := startApp(t, `
server {
  route GET "/n" => fn(n: Number) { { n: n, twice: n * 2, kind: type_of(n) } }
  route GET "/l" => fn(l: List) { { l: l } }
  route POST "/k" => fn(n: Number, l: List, o: Object, f: Function = print) { { n: type_of(n), l: len(l), o: keys(o) } }
}
`)
	u := app.urls[""]
	for _, c := range []struct{ method, path, body, want string }{
		{"GET", "/n?n=5", "", `{"n":5,"twice":10,"kind":"Int"}`},
		{"GET", "/n?n=2.5", "", `{"n":2.5,"twice":5,"kind":"Float"}`},
		{"GET", "/l?l=a&l=b", "", `{"l":["a","b"]}`},
		{"POST", "/k", `{"n":1.5,"l":[1,2],"o":{"a":1}}`, `{"n":"Float","l":2,"o":["a"]}`},
	} {
		if r := do(t, c.method, u+c.path, c.body); r.status != 200 || r.body != c.want {
			t.Errorf("%s %s %s = %d %s, want %s", c.method, c.path, c.body, r.status, r.body, c.want)
		}
	}
	r := do(t, "POST", u+"/k", `{"n":"abc","l":"abc","o":"abc","f":"abc"}`)
	want := `["n must be a number","l must be a list","o must be an object","f must be a function, which a request cannot send"]`
	if r.status != 400 || !strings.Contains(r.body, want) {
		t.Errorf("POST /k with Strings = %d %s, want 400 %s", r.status, r.body, want)
	}
	if r := do(t, "GET", u+"/n?n=abc", ""); r.status != 400 || !strings.Contains(r.body, "n must be a number") {
		t.Errorf("GET /n?n=abc = %d %s", r.status, r.body)
	}
}

// A route takes back what it answers for a record with Option fields
// (GET, edit, PUT): `{"value": x}` is Some(x) and `{"__tag": "None"}`
// None, in a body, a parameter, a variant's field and a list, as
// T.from_json reads them. They were refused ("nick must be a string").
func TestOptionFieldsRoundTrip(t *testing.T) {
	app := startApp(t, `
type P { name: String, nick: String? }
type Ev { Click(x: Int, label: String?), Quit }
server {
  route GET "/p" => fn() { [P("a", Some("x")), P("b", None)] }
  route PUT "/p" body: P => fn(req) { str(req.body) }
  route PUT "/param" => fn(p: P, tags: [Int?], n: Int?) { "{p} {tags} {n}" }
  route PUT "/ev" => fn(e: Ev) { str(e) }
}
`)
	u := app.urls[""]
	got := do(t, "GET", u+"/p", "")
	var ps []json.RawMessage
	if err := json.Unmarshal([]byte(got.body), &ps); err != nil || len(ps) != 2 {
		t.Fatalf("GET /p = %s", got.body)
	}
	for _, c := range []struct{ path, body, want string }{
		{"/p", string(ps[0]), `"P(name: \"a\", nick: Some(\"x\"))"`},
		{"/p", string(ps[1]), `"P(name: \"b\", nick: None)"`},
		{"/param", `{"p":` + string(ps[0]) + `,"tags":[{"value":1},{"__tag":"None"},null,2],"n":{"value":3}}`, `"P(name: \"a\", nick: Some(\"x\")) [Some(1), None, None, Some(2)] Some(3)"`},
		{"/param", `{"p":` + string(ps[1]) + `,"tags":[],"n":{"__tag":"None"}}`, `"P(name: \"b\", nick: None) [] None"`},
		{"/ev", `{"e":{"__tag":"Click","x":1,"label":{"value":"a"}}}`, `"Click(x: 1, label: Some(\"a\"))"`},
	} {
		if r := do(t, "PUT", u+c.path, c.body); r.status != 200 || r.body != c.want {
			t.Errorf("PUT %s %s = %d %s, want %s", c.path, c.body, r.status, r.body, c.want)
		}
	}
	if r := do(t, "PUT", u+"/p", `{"name":"c","nick":{"value":5}}`); r.status != 400 || !strings.Contains(r.body, "nick must be a string") {
		t.Errorf("PUT /p with Some(5) = %d %s", r.status, r.body)
	}
}

// An Option in an Option is converted and checked inside, as a route
// answers it: Some(Some(1)) is {"value":{"value":1}}, Some(None)
// {"value":{"__tag":"None"}}; the inner value was taken unchecked.
func TestNestedOptionParameters(t *testing.T) {
	app := startApp(t, `
type R { x: Option<Option<Int>> }
server {
  route POST "/p" => fn(x: Option<Option<Int>>) { str(x) }
  route POST "/r" body: R => fn(req) { str(req.body) }
  route GET "/echo" => fn() Some(Some(1))
}
`)
	u := app.urls[""]
	echo := do(t, "GET", u+"/echo", "").body
	for _, c := range []struct{ path, body, want string }{
		{"/p", `{"x":` + echo + `}`, `200 "Some(Some(1))"`},
		{"/p", `{"x":{"value":{"__tag":"None"}}}`, `200 "Some(None)"`},
		{"/p", `{"x":{"__tag":"None"}}`, `200 "None"`},
		{"/p", `{"x":"abc"}`, `400 x must be an integer`},
		{"/r", `{"x":[1,2]}`, `400 x must be an integer`},
		{"/r", `{"x":{"value":{"value":2}}}`, `200 "R(x: Some(Some(2)))"`},
	} {
		r := do(t, "POST", u+c.path, c.body, "Content-Type", "application/json")
		got := fmt.Sprint(r.status, " ", r.body)
		if r.status == 400 {
			got = fmt.Sprint(r.status, " ", r.json(t)["error"].(map[string]any)["details"].([]any)[0])
		}
		if got != c.want {
			t.Errorf("POST %s %s = %s, want %s", c.path, c.body, got, c.want)
		}
	}
}

// A route's body: type and its typed parameters read req.body as the
// handler does: what middleware set it to. They read the request's own
// body, so that the handler of a body: U route got the middleware's
// body unchecked (not a U, its name an Int).
func TestTypedBodyReadsMiddlewaresBody(t *testing.T) {
	app := startApp(t, `
type U { name: String }
server {
  middleware fn unwrap(req, res) {
    if req.body != nil and req.body.data != nil { req.body = req.body.data }
  }
  fn g(req) { { b: req.body, t: type_of(req.body) } }
  route POST "/h" => fn(n: Int) { { n: n } }
  route POST "/b" body: U => g
}
`)
	u := app.urls[""]
	for _, c := range []struct {
		path, body string
		status     int
		want       string
	}{
		{"/h", `{"data":{"n":5}}`, 200, `{"n":5}`},
		{"/h", `{"n":1,"data":{"n":2}}`, 200, `{"n":2}`},
		{"/b", `{"data":{"name":"a"}}`, 200, `{"b":{"name":"a"},"t":"U"}`},
		{"/b", `{"name":"a","data":{"name":5}}`, 400, `name must be a string`},
		{"/b", `{"name":"a"}`, 200, `{"b":{"name":"a"},"t":"U"}`},
	} {
		if r := do(t, "POST", u+c.path, c.body); r.status != c.status || !strings.Contains(r.body, c.want) {
			t.Errorf("POST %s %s = %d %s, want %d %s", c.path, c.body, r.status, r.body, c.status, c.want)
		}
	}
}

// A record parameter of a GET route reads its JSON text from the query
// (?f={"name":"a","age":3}), and /openapi.json describes it so (content
// application/json): it described a query parameter with a schema,
// whose every form Swagger UI sends answered 400.
func TestRecordQueryParameterAsJSON(t *testing.T) {
	app := startApp(t, `
type Filter { name: String, age: Int }
server {
  fn search(f: Filter) { str(f) }
  fn anything(o: Object) { o }
  route GET "/search" => search
  route GET "/any" => anything
  route GET "/maybe" => fn(f: Option<Filter>) { str(f) }
  route GET "/dflt" => fn(f: Filter = Filter("d", 1)) { str(f) }
}
`)
	u := app.urls[""]
	// JSON null, or an empty value, is none: None, the default, or
	// required (as a JSON body's null is)
	for q, want := range map[string]string{
		"/maybe?f=null": `"None"`, "/maybe?f=": `"None"`, "/maybe": `"None"`,
		"/dflt?f=null": `"Filter(name: \"d\", age: 1)"`, "/dflt?f=": `"Filter(name: \"d\", age: 1)"`,
	} {
		if r := do(t, "GET", u+q, ""); r.status != 200 || r.body != want {
			t.Errorf("GET %s: %d %s, want %s", q, r.status, r.body, want)
		}
	}
	for _, q := range []string{"/search?f=null", "/search?f=", "/any?o="} {
		if r := do(t, "GET", u+q, ""); r.status != 400 || !strings.Contains(r.body, "is required") {
			t.Errorf("GET %s: %d %s, want 400 … is required", q, r.status, r.body)
		}
	}
	if r := do(t, "GET", u+"/any?o="+url.QueryEscape(`{"name":"a"}`), ""); r.status != 200 || r.body != `{"name":"a"}` {
		t.Errorf("an Object's JSON in the query: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", u+"/any?o=a", ""); r.status != 400 || !strings.Contains(r.body, "o must be an object") {
		t.Errorf("an Object's text that is not JSON: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", u+"/search?f="+url.QueryEscape(`{"name":"a","age":3}`), ""); r.status != 200 || r.body != `"Filter(name: \"a\", age: 3)"` {
		t.Errorf("JSON in the query: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", u+"/search?f="+url.QueryEscape(`{"name":"a"}`), ""); r.status != 400 || !strings.Contains(r.body, "f.age is required") {
		t.Errorf("JSON without a field: %d %s", r.status, r.body)
	}
	r := do(t, "GET", u+"/openapi.json", "")
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []map[string]any
		}
	}
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/search", "/any"} {
		ps := doc.Paths[path]["get"].Parameters
		if len(ps) != 1 || ps[0]["schema"] != nil || ps[0]["content"] == nil {
			t.Errorf("%s: parameters: %v", path, ps)
		}
	}
}
