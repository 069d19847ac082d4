package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

const openAPIApp = `
type User {
  id: Int
  name: String
  email: Option<String>
  tags: [String]
  friend: Option<User>
}
server {
  fn list_users(limit: Int = 10, q) { [] }
  fn get_user(id: Int) { nil }
  route GET "/users" => list_users
  route GET "/users/:id" => get_user
  route POST "/users" body: User => fn(req) req.body
  route PUT "/users/:id" => fn(id: Int, name: String, note) { id }
  route DELETE "/files/*path" => fn(path) path
  route GET "/proxy/*" => fn(req) "x"
  route GET "/teams/:team/members" => fn(req) []
  health "/health"
  routes "/api/v1" {
    route GET "/ping" => fn() "pong"
  }
}
`

// getDoc fetches and validates a server's OpenAPI document.
func getDoc(t *testing.T, base string) (*openapi3.T, map[string]any) {
	t.Helper()
	r := do(t, "GET", base+"/openapi.json", "")
	if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi.json = %d %v %s", r.status, r.header, r.body)
	}
	doc, err := openapi3.NewLoader().LoadFromData([]byte(r.body))
	if err != nil {
		t.Fatalf("load: %v\n%s", err, r.body)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the document is not valid OpenAPI: %v\n%s", err, r.body)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(r.body), &raw); err != nil {
		t.Fatal(err)
	}
	return doc, raw
}

// A server with routes describes them at GET /openapi.json, a valid
// OpenAPI 3.0.3 document, and serves a Swagger UI page at GET /docs.
func TestOpenAPIDocument(t *testing.T) {
	app := startApp(t, openAPIApp)
	u := app.urls[""]
	doc, _ := getDoc(t, u)
	if doc.OpenAPI != "3.0.3" || doc.Info.Title != "Tova API" {
		t.Errorf("openapi %q, title %q", doc.OpenAPI, doc.Info.Title)
	}
	var paths []string
	for p := range doc.Paths.Map() {
		paths = append(paths, p)
	}
	for _, want := range []string{"/users", "/users/{id}", "/files/{path}", "/proxy/{wildcard}", "/teams/{team}/members", "/health", "/api/v1/ping"} {
		if doc.Paths.Find(want) == nil {
			t.Errorf("no path %s in %v", want, paths)
		}
	}
	if doc.Paths.Find("/openapi.json") != nil || doc.Paths.Find("/docs") != nil {
		t.Errorf("the document describes itself: %v", paths)
	}

	list := doc.Paths.Find("/users").Get
	if list == nil || len(list.Parameters) != 2 {
		t.Fatalf("GET /users: %+v", list)
	}
	if p := list.Parameters.GetByInAndName("query", "limit"); p == nil || p.Required || !p.Schema.Value.Type.Is("integer") {
		t.Errorf("limit: %+v", p)
	}
	if p := list.Parameters.GetByInAndName("query", "q"); p == nil || p.Required || p.Schema.Value.Type != nil {
		t.Errorf("q: %+v", p)
	}
	get := doc.Paths.Find("/users/{id}").Get
	if p := get.Parameters.GetByInAndName("path", "id"); p == nil || !p.Required || !p.Schema.Value.Type.Is("integer") {
		t.Errorf("id: %+v", p)
	}
	if get.Responses.Value("400") == nil || get.Responses.Value("200") == nil || get.Responses.Value("500") == nil {
		t.Errorf("GET /users/{id} responses: %v", get.Responses.Map())
	}

	post := doc.Paths.Find("/users").Post
	body := post.RequestBody.Value.Content.Get("application/json").Schema
	if body.Ref != "#/components/schemas/User" || !post.RequestBody.Value.Required {
		t.Errorf("POST /users body: %+v", body)
	}
	user := doc.Components.Schemas["User"].Value
	if !user.Type.Is("object") || strings.Join(user.Required, ",") != "id,name,tags" {
		t.Errorf("User: type %v, required %v", user.Type, user.Required)
	}
	if e := user.Properties["email"].Value; !e.Type.Is("string") || !e.Nullable {
		t.Errorf("User.email: %+v", e)
	}
	if tags := user.Properties["tags"].Value; !tags.Type.Is("array") || !tags.Items.Value.Type.Is("string") {
		t.Errorf("User.tags: %+v", tags)
	}
	if f := user.Properties["friend"].Value; !f.Nullable || len(f.AllOf) != 1 || f.AllOf[0].Ref != "#/components/schemas/User" {
		t.Errorf("User.friend: %+v", f)
	}

	put := doc.Paths.Find("/users/{id}").Put
	if p := put.Parameters.GetByInAndName("path", "id"); p == nil || !p.Schema.Value.Type.Is("integer") {
		t.Errorf("PUT id: %+v", p)
	}
	fields := put.RequestBody.Value.Content.Get("application/json").Schema.Value
	if len(fields.Properties) != 2 || !fields.Properties["name"].Value.Type.Is("string") || strings.Join(fields.Required, ",") != "name" {
		t.Errorf("PUT /users/{id} body: %+v required %v", fields.Properties, fields.Required)
	}
	// A path parameter the handler does not name is still described.
	if p := doc.Paths.Find("/teams/{team}/members").Get.Parameters.GetByInAndName("path", "team"); p == nil || !p.Schema.Value.Type.Is("string") && p.Schema.Value.Type != nil {
		t.Errorf("team: %+v", p)
	}
	if h := doc.Paths.Find("/health").Get; h == nil || h.Responses.Value("503") == nil {
		t.Errorf("health: %+v", h)
	}
	if doc.Components.Schemas[errorSchema] == nil {
		t.Errorf("no %s schema", errorSchema)
	}

	docs := do(t, "GET", u+"/docs", "")
	if docs.status != 200 || !strings.HasPrefix(docs.header.Get("Content-Type"), "text/html") ||
		!strings.Contains(docs.body, "swagger-ui") || !strings.Contains(docs.body, `url: "/openapi.json"`) {
		t.Errorf("GET /docs = %d %v %.200s", docs.status, docs.header, docs.body)
	}
	// Swagger UI pinned, with its files' hashes: @5 ran whatever release
	// unpkg served, on the server's own origin.
	if strings.Count(docs.body, `integrity="sha384-`) != 2 || strings.Count(docs.body, "swagger-ui-dist@5.17.14/") != 2 {
		t.Errorf("GET /docs: Swagger UI not pinned:\n%s", docs.body)
	}
	// The document is served as a route is: HEAD works, other methods 405.
	if r := do(t, "HEAD", u+"/openapi.json", ""); r.status != 200 {
		t.Errorf("HEAD /openapi.json = %d", r.status)
	}
	if r := do(t, "POST", u+"/openapi.json", ""); r.status != 405 {
		t.Errorf("POST /openapi.json = %d", r.status)
	}
}

// A named server's document has its name as title; a program's own
// /docs route wins; a server without routes has neither path.
func TestOpenAPINamedAndOwnRoutes(t *testing.T) {
	app := startApp(t, `
server "api" {
  route GET "/docs" => fn() "own docs"
  route GET "/x" => fn() 1
}
server "worker" {
  health "/health"
}
`)
	doc, _ := getDoc(t, app.urls["api"])
	if doc.Info.Title != "api" {
		t.Errorf("title %q", doc.Info.Title)
	}
	if doc.Paths.Find("/docs") == nil {
		t.Errorf("the program's /docs route is not described")
	}
	if r := do(t, "GET", app.urls["api"]+"/docs", ""); r.body != `"own docs"` {
		t.Errorf("GET /docs = %s", r.body)
	}
	for _, p := range []string{"/openapi.json", "/docs"} {
		if r := do(t, "GET", app.urls["worker"]+p, ""); r.status != 404 {
			t.Errorf("worker %s = %d", p, r.status)
		}
	}
}

// Date, Duration and Size parameters and fields are typed as the
// runtime reads them; a route with validate({...}) describes its fields
// and its 400; a body of fields may come from a form as well as JSON.
func TestOpenAPIDatesRulesAndForms(t *testing.T) {
	app := startApp(t, `
type Ev { at: Date, dur: Duration }
server {
  route GET "/a" => fn(since: Date, d: Duration, s: Size, until: Option<Date>) "ok"
  route POST "/ev" body: Ev => fn(req) req.body
  route POST "/v" with validate({ title: { required: true, min_length: 3, max_length: 80 }, n: { min: 1, max: 5 }, kind: { one_of: ["a", "b"] } }) => fn(req) req.body
  route POST "/login" => fn(email: String, password: String) "ok"
  route POST "/item" => fn(item: Ev, note: String) "ok"
  route POST "/day" => fn(day: Date) "ok"
  route GET "/days" => fn(days: [Date]) "ok"
}
`)
	doc, _ := getDoc(t, app.urls[""])
	a := doc.Paths.Find("/a").Get
	// (in a query, a Date is ISO 8601 text: milliseconds only in a JSON body)
	since := a.Parameters.GetByInAndName("query", "since").Schema.Value
	if !since.Type.Is("string") || since.Format != "date-time" {
		t.Errorf("since: %+v", since)
	}
	if d := a.Parameters.GetByInAndName("query", "d").Schema.Value; len(d.OneOf) != 2 || !d.OneOf[0].Value.Type.Is("number") || !d.OneOf[1].Value.Type.Is("string") {
		t.Errorf("d: %+v", d)
	}
	if s := a.Parameters.GetByInAndName("query", "s").Schema.Value; !s.Type.Is("integer") || s.Min == nil || *s.Min != 0 {
		t.Errorf("s: %+v", s)
	}
	if u := a.Parameters.GetByInAndName("query", "until").Schema.Value; !u.Nullable || !u.Type.Is("string") {
		t.Errorf("until: %+v", u)
	}
	ev := doc.Components.Schemas["Ev"].Value
	if len(ev.Properties["at"].Value.OneOf) != 2 || len(ev.Properties["dur"].Value.OneOf) != 2 {
		t.Errorf("Ev: %+v", ev.Properties)
	}
	v := doc.Paths.Find("/v").Post
	if v.Responses.Value("400") == nil || v.RequestBody == nil {
		t.Fatalf("POST /v: %+v", v)
	}
	fields := v.RequestBody.Value.Content.Get("application/json").Schema.Value
	title, n, kind := fields.Properties["title"].Value, fields.Properties["n"].Value, fields.Properties["kind"].Value
	// (a length counts a String's characters or a List's items)
	if len(title.AnyOf) != 2 || title.AnyOf[0].Value.MinLength != 3 || *title.AnyOf[0].Value.MaxLength != 80 ||
		title.AnyOf[1].Value.MinItems != 3 || strings.Join(fields.Required, ",") != "title" {
		t.Errorf("title: %+v, required %v", title, fields.Required)
	}
	// (min and max need a JSON number: no form body)
	if v.RequestBody.Value.Content.Get("application/x-www-form-urlencoded") != nil {
		t.Errorf("POST /v takes a form: %v", v.RequestBody.Value.Content)
	}
	if !n.Type.Is("number") || *n.Min != 1 || *n.Max != 5 || len(kind.Enum) != 2 || kind.Enum[0] != "a" {
		t.Errorf("n %+v, kind %+v", n, kind)
	}
	if item := doc.Paths.Find("/item").Post.RequestBody.Value.Content; item.Get("application/x-www-form-urlencoded") != nil {
		t.Errorf("POST /item takes a form, whose fields give no record: %v", item)
	}
	// (a form's Date is its ISO text, as a query's list's)
	day := doc.Paths.Find("/day").Post.RequestBody.Value.Content
	if f := day.Get("application/x-www-form-urlencoded").Schema.Value.Properties["day"].Value; !f.Type.Is("string") || f.Format != "date-time" {
		t.Errorf("a form's Date: %+v", f)
	}
	if j := day.Get("application/json").Schema.Value.Properties["day"].Value; len(j.OneOf) != 2 {
		t.Errorf("a JSON body's Date: %+v", j)
	}
	if d := doc.Paths.Find("/days").Get.Parameters.GetByInAndName("query", "days").Schema.Value; !d.Type.Is("array") || d.Items.Value.Format != "date-time" {
		t.Errorf("a query's [Date]: %+v", d)
	}
	login := doc.Paths.Find("/login").Post.RequestBody.Value.Content
	if login.Get("application/x-www-form-urlencoded") == nil || login.Get("application/json") == nil {
		t.Errorf("POST /login body: %v", login)
	}
}

// A program's parameter route that matches /docs or /openapi.json
// answers it (a link shortener's GET /:code, a link named docs); the
// CSRF token route stays the runtime's, and the shadowed route is
// warned of.
func TestOwnParameterRouteWinsOverAPIDescription(t *testing.T) {
	app := startApp(t, `
auth { type: "api_key", keys: ["k-0123456789abcdef"] }
server {
  route GET "/:code" => fn(code) "link {code}"
}
`)
	for _, p := range []string{"/docs", "/openapi.json"} {
		if r := do(t, "GET", app.urls[""]+p, ""); r.status != 200 || r.body != fmt.Sprintf("%q", "link "+p[1:]) {
			t.Errorf("GET %s = %d %s", p, r.status, r.body)
		}
	}
	if r := do(t, "GET", app.urls[""]+"/csrf-token", ""); r.status != 200 || !strings.Contains(r.body, `"token"`) {
		t.Errorf("GET /csrf-token = %d %s", r.status, r.body)
	}
	if w := logged(app.logs, "GET /csrf-token answers CSRF tokens, and the route that would match it otherwise never sees that path: declare GET /csrf-token yourself to answer it"); len(w) != 1 || w[0]["route"] != "GET /:code" {
		t.Errorf("shadowed route not warned of: %v\n%s", w, app.logs)
	}
}

// Routes of one path that name its parameter differently are one Path
// Item (the document had /items/{id} and /items/{key}, which OpenAPI
// forbids): the later one's parameter takes the first one's name.
func TestOpenAPIOnePathItemPerPath(t *testing.T) {
	app := startApp(t, `
server {
  fn get_item(id: Int) { { id: id } }
  fn delete_item(key: Int) { { deleted: key } }
  route GET "/items/:id" => get_item
  route DELETE "/items/:key" => delete_item
}
`)
	doc, _ := getDoc(t, app.urls[""])
	if doc.Paths.Value("/items/{key}") != nil || doc.Paths.Len() != 1 {
		t.Fatalf("paths %v", doc.Paths.InMatchingOrder())
	}
	item := doc.Paths.Value("/items/{id}")
	if item == nil || item.Get == nil || item.Delete == nil {
		t.Fatalf("/items/{id}: %+v", item)
	}
	if p := item.Delete.Parameters; len(p) != 1 || p[0].Value.Name != "id" || p[0].Value.In != "path" || p[0].Value.Schema.Value.Type.Slice()[0] != "integer" {
		t.Errorf("DELETE parameters %+v", p)
	}
}

// A route with `with upload("image")` was described as taking an
// optional JSON body, the one body it refuses: a route that takes files
// (by upload() or a File parameter) takes a multipart/form-data body,
// its files required binary fields, its other parameters fields of the
// same form, and it may answer 413 and 415.
func TestOpenAPIUploadRoutes(t *testing.T) {
	app := startApp(t, `
server {
  uploads { max_size: 1.megabyte, allowed_types: ["image/png"] }
  fn upload_image(id: Int, image) { { id, size: image.size } }
  route POST "/posts/:id/image" with upload("image") => upload_image
  route POST "/docs/:id" => fn(id: Int, scan: File, pages: [File], cover: File?, note: String, tag = "x") id
  route GET "/plain" => fn(q: String) q
}
`)
	doc, raw := getDoc(t, app.urls[""])
	form := func(path string) *openapi3.Schema {
		t.Helper()
		op := doc.Paths.Find(path).Post
		body := op.RequestBody.Value
		if !body.Required || body.Content.Get("application/json") != nil || body.Content.Get("multipart/form-data") == nil {
			t.Fatalf("%s: request body %+v", path, body.Content)
		}
		for _, code := range []string{"400", "413", "415"} {
			if op.Responses.Value(code) == nil {
				t.Errorf("%s: no %s answer", path, code)
			}
		}
		return body.Content.Get("multipart/form-data").Schema.Value
	}
	binary := func(s *openapi3.Schema) bool { return s.Type.Is("string") && s.Format == "binary" }

	up := form("/posts/{id}/image")
	if len(up.Properties) != 1 || !binary(up.Properties["image"].Value) || strings.Join(up.Required, ",") != "image" {
		t.Errorf("with upload(\"image\"): %s", mustJSON(t, raw["paths"].(map[string]any)["/posts/{id}/image"]))
	}
	if p := doc.Paths.Find("/posts/{id}/image").Post.Parameters; len(p) != 1 || p[0].Value.In != "path" {
		t.Errorf("with upload(\"image\") parameters: %+v", p)
	}

	d := form("/docs/{id}")
	if len(d.Properties) != 5 || !binary(d.Properties["scan"].Value) || !binary(d.Properties["cover"].Value) ||
		!d.Properties["pages"].Value.Type.Is("array") || !binary(d.Properties["pages"].Value.Items.Value) ||
		!d.Properties["note"].Value.Type.Is("string") || strings.Join(d.Required, ",") != "scan,pages,note" {
		t.Errorf("File parameters: %s", mustJSON(t, raw["paths"].(map[string]any)["/docs/{id}"]))
	}

	plain := doc.Paths.Find("/plain").Get
	if plain.RequestBody != nil || plain.Responses.Value("413") != nil {
		t.Errorf("a route without files: %+v", plain)
	}
}

// mustJSON is v as JSON, for a failure's message.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Routes guarded by the auth block (with auth, with role) carry its
// security scheme, named under components, and their 401 (and 403):
// Swagger UI then offers to send the credentials. Open routes carry none.
func TestOpenAPIAuthRoutes(t *testing.T) {
	for _, c := range []struct {
		block, scheme string
		want          map[string]any
		admin         string // (an api_key block's users have no role)
	}{
		{`auth { type: "api_key", keys: ["k1"], csrf: false }`, "apiKey", map[string]any{"type": "apiKey", "in": "header", "name": "X-API-Key"}, `auth`},
		{`auth { type: "jwt", secret: "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t", csrf: false }`, "bearerAuth", map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}, `role("admin")`},
	} {
		app := startApp(t, `
server {
  `+c.block+`
  route GET "/me" with auth => fn(req) req.user
  route POST "/admin" with `+c.admin+` => fn() "ok"
  route GET "/open" => fn() "open"
}
`)
		doc, raw := getDoc(t, app.urls[""])
		schemes := raw["components"].(map[string]any)["securitySchemes"]
		if got := mustJSON(t, schemes); got != mustJSON(t, map[string]any{c.scheme: c.want}) {
			t.Errorf("%s: securitySchemes %s", c.scheme, got)
		}
		me, admin, open := doc.Paths.Find("/me").Get, doc.Paths.Find("/admin").Post, doc.Paths.Find("/open").Get
		for _, op := range []*openapi3.Operation{me, admin} {
			if op.Security == nil || len(*op.Security) != 1 || (*op.Security)[0][c.scheme] == nil || op.Responses.Value("401") == nil {
				t.Errorf("%s: guarded operation %s: security %v, 401 %v", c.scheme, op.OperationID, op.Security, op.Responses.Value("401"))
			}
		}
		if c.admin != "auth" && admin.Responses.Value("403") == nil || me.Responses.Value("403") != nil {
			t.Errorf("%s: 403 answers: admin %v, me %v", c.scheme, admin.Responses.Value("403"), me.Responses.Value("403"))
		}
		if open.Security != nil || open.Responses.Value("401") != nil {
			t.Errorf("%s: the open route has security %v", c.scheme, open.Security)
		}
	}
}

// A server that checks CSRF tokens describes them: every operation but
// GET, HEAD and OPTIONS takes the X-Tova-CSRF header (required) and may
// answer 403, and GET /csrf-token, which gives one, is a path of the
// document. Swagger UI's "Try it out" of a POST otherwise got 403 with
// no word of why.
func TestOpenAPICSRFRoutes(t *testing.T) {
	app := startApp(t, `
server {
  sessions { secret: env("SESSION_SECRET"), csrf: true }
  route GET "/a" => fn() "a"
  route POST "/b" => fn() "b"
  route DELETE "/c/:id" => fn(id: Int) id
  route POST "/form" => fn(title: String) title
}
`, withEnv(map[string]string{"SESSION_SECRET": sessionSecret}))
	doc, _ := getDoc(t, app.urls[""])
	// A form's _csrf field gives the token: the header is optional
	// there (it was required, though such a form passed).
	for _, p := range doc.Paths.Find("/form").Post.Parameters {
		if p.Value.Name == "X-Tova-CSRF" && (p.Value.Required || !strings.Contains(p.Value.Description, "_csrf field")) {
			t.Errorf("POST /form's CSRF header: required %v, %q", p.Value.Required, p.Value.Description)
		}
	}
	csrfParam := func(op *openapi3.Operation) bool {
		for _, p := range op.Parameters {
			if p.Value.Name == "X-Tova-CSRF" && p.Value.In == "header" && p.Value.Required {
				return true
			}
		}
		return false
	}
	for name, op := range map[string]*openapi3.Operation{"POST /b": doc.Paths.Find("/b").Post, "DELETE /c": doc.Paths.Find("/c/{id}").Delete} {
		if !csrfParam(op) || op.Responses.Value("403") == nil {
			t.Errorf("%s: the CSRF header %v, 403 %v", name, csrfParam(op), op.Responses.Value("403"))
		}
	}
	if get := doc.Paths.Find("/a").Get; csrfParam(get) || get.Responses.Value("403") != nil {
		t.Errorf("GET /a takes the CSRF header")
	}
	if p := doc.Paths.Find("/csrf-token"); p == nil || p.Get == nil {
		t.Errorf("no GET /csrf-token in the document")
	}
	// Without the check, none of it.
	plain := startApp(t, `
server {
  route POST "/b" => fn() "b"
}
`)
	doc, _ = getDoc(t, plain.urls[""])
	if csrfParam(doc.Paths.Find("/b").Post) || doc.Paths.Find("/csrf-token") != nil {
		t.Errorf("a server without CSRF checks describes them")
	}
	// With an auth block, whose credentials waive the token: a route of
	// its guards takes no CSRF header, another one takes it as optional;
	// the program's own GET /csrf-token is described as its own.
	authed := startApp(t, `
server {
  auth { secret: "0123456789abcdef0123456789abcdef" }
  route POST "/u" with auth => fn() "u"
  route POST "/open" => fn() "o"
  route GET "/csrf-token" => fn() "mine"
}
`)
	doc, _ = getDoc(t, authed.urls[""])
	header := func(op *openapi3.Operation) *openapi3.Parameter {
		for _, p := range op.Parameters {
			if p.Value.Name == "X-Tova-CSRF" {
				return p.Value
			}
		}
		return nil
	}
	if p := header(doc.Paths.Find("/u").Post); p != nil {
		t.Errorf("POST /u with auth takes the CSRF header: %+v", p)
	}
	if p := header(doc.Paths.Find("/open").Post); p == nil || p.Required {
		t.Errorf("POST /open: the CSRF header %+v, want it optional", p)
	}
	if op := doc.Paths.Find("/csrf-token").Get; op == nil || op.OperationID == "csrfToken" {
		t.Errorf("the program's GET /csrf-token described as the runtime's: %+v", op)
	}
}
