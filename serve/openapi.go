package serve

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"

	"tova/bytecode"
	"tova/netio"
	"tova/vm"
)

// The reference's API description (tova-semantics §2.10): a server with
// routes answers GET /openapi.json with an OpenAPI 3.0.3 document of
// them, and GET /docs with a Swagger UI page that reads it. The
// document is built once, at start-up, from the routes and their
// handlers' parameters: path parameters, query parameters (GET, HEAD,
// DELETE and OPTIONS) or JSON body fields (other methods), typed from
// their annotations, a `body: Type` as the request body, a route that
// takes files as taking a multipart/form-data body, and the record
// types they name as schemas. A program's own route on either
// path wins.
const (
	openAPIPath = "/openapi.json"
	docsPath    = "/docs"
	// errorSchema names the runtime's error body in the document's
	// schemas (a name no Tova type can take: it holds a dot).
	errorSchema = "tova.Error"
)

// docsPage is the Swagger UI page, as the reference serves it, with
// Swagger UI pinned to one release and its files' hashes (Subresource
// Integrity): the script runs on the server's own origin, where it
// could read a CSRF token and send requests with the user's cookies,
// and the reference's @5 ran whatever release unpkg served that day.
const docsPage = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>API Docs</title>
<link rel="stylesheet" href="https://unpkg.com/swagger-ui-dist@5.17.14/swagger-ui.css" integrity="sha384-wxLW6kwyHktdDGr6Pv1zgm/VGJh99lfUbzSn6HNHBENZlCN7W602k9VkGdxuFvPn" crossorigin="anonymous" referrerpolicy="no-referrer"></head>
<body><div id="swagger-ui"></div>
<script src="https://unpkg.com/swagger-ui-dist@5.17.14/swagger-ui-bundle.js" integrity="sha384-wmyclcVGX/WhUkdkATwhaK1X1JtiNrr2EoYJ+diV3vj4v6OC5yCeSu+yW13SYJep" crossorigin="anonymous" referrerpolicy="no-referrer"></script>
<script>SwaggerUIBundle({ url: "` + openAPIPath + `", dom_id: "#swagger-ui" });</script>
</body></html>
`

// openAPIRoutes registers GET /openapi.json and GET /docs on r, for a
// server with at least one route, unless the program declares them.
func (s *Server) openAPIRoutes(r *netio.Router) error {
	routes := 0
	for _, rt := range s.desc.Routes {
		if rt.Kind == "route" {
			routes++
		}
	}
	if routes == 0 {
		return nil
	}
	taken := map[string]bool{}
	for _, old := range r.Routes() {
		if old.Method == "GET" {
			taken[old.Pattern] = true
		}
	}
	doc, err := json.Marshal(s.openAPIDocument())
	if err != nil {
		return err
	}
	for _, p := range []struct{ path, ctype, body string }{
		{openAPIPath, "application/json", string(doc)},
		{docsPath, "text/html; charset=utf-8", docsPage},
	} {
		if taken[p.path] {
			continue
		}
		if m := r.Lookup("GET", p.path, nil); m.Route != nil {
			// (GET /:code of a link shortener: a link named docs is
			// the program's, as its own route at the path would be)
			s.log.Info().Str("path", p.path).Str("route", "GET "+m.Route.Pattern).Msg("API description not served at this path: the program's route answers it")
			continue
		}
		ctype, body := p.ctype, []byte(p.body)
		fn := vm.BuiltinValue(&vm.Builtin{Name: "GET " + p.path, Pure: true, Fn: func(*vm.Thread, []vm.Value) (vm.Value, error) {
			return vm.HostValue(&responseValue{status: 200, ctype: ctype, body: body}), nil
		}})
		rt := bytecode.Route{Kind: "route", Method: "GET", Path: p.path}
		if err := r.Handle("GET", p.path, s.routeHandler(rt, fn, nil, 0)); err != nil {
			return err
		}
	}
	return nil
}

// openAPIDocument describes the server's routes. A route declared again
// is described as the later declaration serves it.
func (s *Server) openAPIDocument() map[string]any {
	b := &openAPIBuilder{prog: s.rt.prog, schemas: map[string]any{}, auth: s.auth, csrf: s.csrf != nil}
	paths := map[string]map[string]any{}
	type templated struct {
		path  string
		names []string
	}
	shapes := map[string]templated{}
	for _, rt := range s.desc.Routes {
		var op map[string]any
		switch rt.Kind {
		case "route":
			var guards []vm.Value
			for _, g := range rt.Guards {
				guards = append(guards, s.inst.Globals[g])
			}
			op = b.operation(rt, s.inst.Globals[rt.Slot], guards)
		case "health":
			op = map[string]any{"summary": "Health check", "responses": map[string]any{
				"200": map[string]any{"description": "Healthy"},
				"503": map[string]any{"description": "Unhealthy"},
			}}
		default:
			continue
		}
		path, names := openAPIPathOf(rt.Path)
		// One routed path is one Path Item (OpenAPI forbids templates
		// that differ only in their parameters' names): a route that
		// names them otherwise is described under the first one's.
		shape := pathShape.ReplaceAllString(path, "{}")
		if first, ok := shapes[shape]; !ok {
			shapes[shape] = templated{path, names}
		} else if first.path != path {
			path = first.path
			if ps, ok := op["parameters"].([]any); ok {
				for i := range names {
					ps[i].(map[string]any)["name"] = first.names[i]
				}
			}
		}
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		paths[path][strings.ToLower(rt.Method)] = op
	}
	if _, own := paths[csrfPath]["get"]; b.csrf && !own {
		// (every POST needs a token from it: Swagger UI's "Try it out"
		// got 403 with no word of why; a route the program declares
		// there is its own, and described as such)
		paths[csrfPath] = map[string]any{"get": map[string]any{
			"summary":     "A CSRF token, for the X-Tova-CSRF header of every request but GET, HEAD and OPTIONS",
			"operationId": "csrfToken",
			"responses": map[string]any{"200": map[string]any{"description": "Success", "content": map[string]any{
				"application/json": map[string]any{"schema": map[string]any{
					"type": "object", "properties": map[string]any{"token": map[string]any{"type": "string"}},
				}},
			}}},
		}}
	}
	b.schemas[errorSchema] = map[string]any{
		"type": "object",
		"properties": map[string]any{
			"error": map[string]any{"type": "object", "properties": map[string]any{
				"code":    map[string]any{"type": "string"},
				"message": map[string]any{"type": "string"},
				"details": map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
			}},
			"request_id": map[string]any{"type": "string"},
		},
	}
	title := s.Name
	if title == "" {
		title = "Tova API"
	}
	components := map[string]any{"schemas": b.schemas}
	if b.secured {
		name, scheme := b.securityScheme()
		components["securitySchemes"] = map[string]any{name: scheme}
	}
	return map[string]any{
		"openapi":    "3.0.3",
		"info":       map[string]any{"title": title, "version": "1.0.0"},
		"paths":      paths,
		"components": components,
	}
}

// pathShape matches the parameters of an OpenAPI path template.
var pathShape = regexp.MustCompile(`\{[^/}]*\}`)

// openAPIPathOf turns a route pattern into an OpenAPI path template
// (":id" and "*rest" as "{id}" and "{rest}", a trailing "*" as
// "{wildcard}") and returns its parameters' names.
func openAPIPathOf(pattern string) (string, []string) {
	segs := strings.Split(pattern, "/")
	var names []string
	for i, seg := range segs {
		name := ""
		switch {
		case seg == "*":
			name = "wildcard"
		case strings.HasPrefix(seg, ":"), strings.HasPrefix(seg, "*"):
			name = seg[1:]
		default:
			continue
		}
		names = append(names, name)
		segs[i] = "{" + name + "}"
	}
	return strings.Join(segs, "/"), names
}

// openAPIBuilder builds schemas for type annotations, collecting the
// record types they name.
type openAPIBuilder struct {
	prog    *vm.Program
	schemas map[string]any
	// owners: the annotation each schema name stands for (one name for
	// the types of several scopes, `Item#3` and `Item#5`, is given once)
	owners map[string]string
	// auth is the server's auth block (nil: none); secured is set once
	// a route guarded by it is described, so that the document names
	// its security scheme.
	auth    *authSettings
	secured bool
	// csrf: the server checks CSRF tokens (an auth or session block
	// turns it on), which every request but GET, HEAD and OPTIONS sends
	// as X-Tova-CSRF.
	csrf bool
}

// securityScheme is the name and the OpenAPI security scheme of the
// server's auth block: an API key in its header, or a JWT bearer token.
func (b *openAPIBuilder) securityScheme() (string, map[string]any) {
	if b.auth.apiKey {
		return "apiKey", map[string]any{"type": "apiKey", "in": "header", "name": b.auth.header}
	}
	return "bearerAuth", map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
}

// operation describes one route served by handler fn, behind guards
// (the values of its `with` list). A route that takes files, by
// `with upload("field")` or a File parameter, takes a
// multipart/form-data body: its files are binary fields of that form,
// beside its other parameters that are not in the path or the query.
func (b *openAPIBuilder) operation(rt bytecode.Route, fn vm.Value, guards []vm.Value) map[string]any {
	_, pathParams := openAPIPathOf(rt.Path)
	inPath := map[string]bool{}
	for _, p := range pathParams {
		inPath[p] = true
	}
	pathTypes := map[string]string{}
	var query []any
	props, required := map[string]any{}, []string{}
	typed := rt.BodyType != ""
	queryMethod := rt.Method == "GET" || rt.Method == "HEAD" || rt.Method == "DELETE" || rt.Method == "OPTIONS"
	var uploaded []string   // the fields upload() requires a file in
	var rules []*fieldRules // with validate({...})
	// formFields: a form could send the body's fields (no record or
	// object among them, nor a rule of min or max, which needs a JSON
	// number)
	formFields := true
	formProps := map[string]any{} // (a form's fields: a Date is text there)
	for _, g := range guards {
		if field, ok := uploadField(g); ok && !slices.Contains(uploaded, field) {
			uploaded = append(uploaded, field)
		}
		rules = append(rules, validateRules(g)...)
	}
	multipart := len(uploaded) > 0
	typed = typed || multipart // (upload() refuses a request without its file: 400)
	if fn.Kind() == vm.KFunc {
		cl := fn.AsClosure()
		types := cl.ParamTypes()
		for i, name := range cl.ParamNames() {
			typ := ""
			if i < len(types) {
				typ = types[i]
			}
			typed = typed || typ != ""
			switch name {
			case "req", "request", "res", "response", "params", "_":
				continue
			}
			if inPath[name] {
				pathTypes[name] = typ
				continue
			}
			need := typ != "" && !cl.HasDefault(i) && !strings.HasPrefix(typ, "Option<")
			if slices.Contains(uploaded, name) {
				continue // (the file upload() requires, below)
			}
			multipart = multipart || takesFiles(typ)
			if queryMethod && !takesFiles(typ) {
				q := map[string]any{"name": name, "in": "query", "schema": b.textSchema(typ)}
				inner := strings.TrimSuffix(strings.TrimPrefix(typ, "Option<"), ">")
				if ti, _ := b.prog.RecordType(inner); ti != nil || inner == "Object" {
					// A record or an Object in the query is its JSON text (?f={"a":1}),
					// which the runtime reads: no form of it the
					// default style gives (?a=1) could supply it.
					delete(q, "schema")
					q["content"] = map[string]any{"application/json": map[string]any{"schema": b.schema(typ)}}
				}
				if need {
					q["required"] = true
				}
				query = append(query, q)
				continue
			}
			props[name] = b.schema(typ)
			formProps[name] = b.textSchema(typ)
			if !formScalar(strings.TrimSuffix(strings.TrimPrefix(typ, "Option<"), ">")) {
				formFields = false
			}
			if need {
				required = append(required, name)
			}
		}
	}
	params := []any{}
	for _, p := range pathParams {
		params = append(params, map[string]any{"name": p, "in": "path", "required": true, "schema": b.textSchema(pathTypes[p])})
	}
	params = append(params, query...)
	op := map[string]any{"responses": map[string]any{
		"200": map[string]any{"description": "Success"},
		"500": errorAnswer("Internal Server Error"),
	}}
	if len(rules) > 0 {
		// (the fields validate checks, in the body it reads)
		for _, f := range rules {
			if queryMethod {
				break // (a GET's rules refuse what its body lacks)
			}
			if f.hasMin || f.hasMax {
				formFields = false
			}
			s := f.schema()
			if old, ok := props[f.name].(map[string]any); ok && len(old) > 0 {
				s = map[string]any{"allOf": []any{old, s}}
			}
			props[f.name] = s
			if f.required && !slices.Contains(required, f.name) {
				required = append(required, f.name)
			}
		}
		op["responses"].(map[string]any)["400"] = errorAnswer("Bad Request: the body breaks a rule of validate(...), or a parameter or the body is not of its type")
	} else if typed {
		op["responses"].(map[string]any)["400"] = errorAnswer("Bad Request: a parameter or the body is not of its type")
	}
	guarded := false // by the auth block's credentials, which waive the CSRF token
	if b.auth != nil {
		// with auth, with role("admin"): the auth block's credentials,
		// which Swagger UI's Authorize sends
		for _, g := range guards {
			if !credentialGuard(g) {
				continue
			}
			guarded = true
			b.secured = true
			name, _ := b.securityScheme()
			op["security"] = []any{map[string]any{name: []any{}}}
			responses := op["responses"].(map[string]any)
			responses["401"] = errorAnswer("Unauthorized: no valid credentials")
			if g.AsBuiltin().Name == "role" {
				responses["403"] = errorAnswer("Forbidden: the credentials lack the role")
			}
		}
	}
	if (b.csrf && !queryMethod || b.csrf && rt.Method == "DELETE") && !guarded {
		// (a route of the auth block's guards needs none: a request with
		// its credentials is let through, one without them is 401; a
		// request of another route with them needs none either)
		param := map[string]any{"name": csrfHeader, "in": "header", "required": b.auth == nil,
			"description": "a token from GET " + csrfPath, "schema": map[string]any{"type": "string"}}
		if b.auth != nil {
			param["description"] = "a token from GET " + csrfPath + " (not needed with the auth block's credentials)"
		}
		params = append(params, param)
		responses := op["responses"].(map[string]any)
		if _, ok := responses["403"]; ok {
			responses["403"] = errorAnswer("Forbidden: the credentials lack the role, or the X-Tova-CSRF token is missing or not valid")
		} else {
			responses["403"] = errorAnswer("Forbidden: the X-Tova-CSRF token is missing or not valid")
		}
	}
	if len(params) > 0 {
		op["parameters"] = params
	}
	for _, field := range uploaded {
		props[field] = b.schema(fileType)
		required = append(required, field)
	}
	switch {
	case multipart:
		responses := op["responses"].(map[string]any)
		responses["413"] = errorAnswer("Payload Too Large: a file is over max_size (or the body over max_body)")
		responses["415"] = errorAnswer("Unsupported Media Type: a file's type is not among the upload block's allowed_types")
		schema := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			schema["required"] = required
		}
		op["requestBody"] = map[string]any{"required": len(required) > 0, "content": map[string]any{
			"multipart/form-data": map[string]any{"schema": schema},
		}}
	case rt.BodyType != "":
		inner, optional := strings.CutPrefix(rt.BodyType, "Option<")
		if optional {
			inner = strings.TrimSuffix(inner, ">")
		}
		op["requestBody"] = map[string]any{"required": !optional, "content": map[string]any{
			"application/json": map[string]any{"schema": b.schema(inner)},
		}}
	case len(props) > 0:
		schema := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			schema["required"] = required
		}
		content := map[string]any{"application/json": map[string]any{"schema": schema}}
		if formFields {
			// (the same fields from a form a page posts, as the runtime
			// reads them: text, numbers and Bools converted, a Date
			// from its ISO text alone)
			fields := map[string]any{}
			for k, v := range props {
				fields[k] = v
				if f, ok := formProps[k]; ok {
					fields[k] = f
				}
			}
			form := map[string]any{"type": "object", "properties": fields}
			if len(required) > 0 {
				form["required"] = required
			}
			content["application/x-www-form-urlencoded"] = map[string]any{"schema": form}
		}
		op["requestBody"] = map[string]any{"required": len(required) > 0, "content": content}
	}
	if multipart || formFields && len(props) > 0 {
		// A form's _csrf field (before a file) gives the token as the
		// header does: the header is not required of a form.
		for _, p := range params {
			if p, ok := p.(map[string]any); ok && p["name"] == csrfHeader {
				p["required"] = false
				p["description"] = p["description"].(string) + "; a form body gives it in its _csrf field instead (before any file)"
			}
		}
	}
	return op
}

// textSchema is schema of a value given as text (a path's or a
// query's): a Date is ISO 8601 text there, never Unix milliseconds,
// which only a JSON body's number gives.
func (b *openAPIBuilder) textSchema(typ string) map[string]any {
	inner, optional := strings.CutPrefix(strings.TrimSpace(typ), "Option<")
	if optional {
		inner = strings.TrimSuffix(inner, ">")
	}
	if elem, ok := strings.CutPrefix(strings.TrimSpace(inner), "["); ok && strings.HasSuffix(elem, "]") {
		// (?days=2024-06-15&days=...: each a Date's text)
		s := map[string]any{"type": "array", "items": b.textSchema(strings.TrimSuffix(elem, "]"))}
		if optional {
			s["nullable"] = true
		}
		return s
	}
	if strings.TrimSpace(inner) != "Date" {
		return b.schema(typ)
	}
	s := map[string]any{"type": "string", "format": "date-time"}
	if optional {
		s["nullable"] = true
	}
	return s
}

// formScalar reports whether a form's text gives a value of the
// annotation typ: untyped, or a scalar the runtime converts text to.
func formScalar(typ string) bool {
	switch strings.TrimSpace(typ) {
	case "", "String", "Int", "Float", "Bool", "Number", "Date", "Duration", "Size":
		return true
	}
	return false
}

// errorAnswer is a response whose body is the runtime's error body.
func errorAnswer(description string) map[string]any {
	return map[string]any{"description": description, "content": map[string]any{
		"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/" + errorSchema}},
	}}
}

// schema is the JSON schema of a value of the annotation typ ("" or a
// type it does not describe: any value).
func (b *openAPIBuilder) schema(typ string) map[string]any {
	typ = strings.TrimSpace(typ)
	switch typ {
	case "":
		return map[string]any{}
	case "Int":
		return map[string]any{"type": "integer", "format": "int64"}
	case "Float":
		return map[string]any{"type": "number", "format": "double"}
	case "Bool":
		return map[string]any{"type": "boolean"}
	case "String":
		return map[string]any{"type": "string"}
	case "Number":
		return map[string]any{"type": "number"}
	case "Date":
		// (ISO 8601 text, or in a JSON body Unix milliseconds)
		return map[string]any{"oneOf": []any{
			map[string]any{"type": "string", "format": "date-time"},
			map[string]any{"type": "integer", "format": "int64", "description": "Unix milliseconds"},
		}}
	case "Duration":
		return map[string]any{"oneOf": []any{
			map[string]any{"type": "number", "description": "milliseconds"},
			map[string]any{"type": "string", "example": "30s", "description": "text such as 30s, 1h30m, 2d"},
		}}
	case "Size":
		return map[string]any{"type": "integer", "format": "int64", "minimum": 0, "description": "bytes"}
	case "List":
		return map[string]any{"type": "array", "items": map[string]any{}}
	case "Object":
		return map[string]any{"type": "object"}
	case fileType:
		if ti, _ := b.prog.RecordType(typ); ti == nil { // (a program's own type File is its own)
			return map[string]any{"type": "string", "format": "binary"}
		}
	}
	if inner, ok := strings.CutPrefix(typ, "Option<"); ok && strings.HasSuffix(inner, ">") {
		s := b.schema(strings.TrimSuffix(inner, ">"))
		if _, ref := s["$ref"]; ref {
			return map[string]any{"allOf": []any{s}, "nullable": true}
		}
		if _, one := s["oneOf"]; one {
			return map[string]any{"anyOf": s["oneOf"], "nullable": true}
		}
		s["nullable"] = true
		return s
	}
	if elem, ok := strings.CutPrefix(typ, "["); ok && strings.HasSuffix(elem, "]") {
		return map[string]any{"type": "array", "items": b.schema(strings.TrimSuffix(elem, "]"))}
	}
	ti, ftypes := b.prog.RecordType(typ)
	if ti == nil {
		return map[string]any{}
	}
	name := vm.TypeText(typ)
	if b.owners == nil {
		b.owners = map[string]string{}
	}
	if owner, taken := b.owners[name]; taken && owner != typ {
		name = strings.ReplaceAll(typ, "#", "_")
	}
	b.owners[name] = typ
	if _, done := b.schemas[name]; !done {
		props, required := map[string]any{}, []string{}
		rec := map[string]any{"type": "object", "properties": props}
		b.schemas[name] = rec // before its fields: a type may name itself
		for i, f := range ti.Fields {
			ft := ""
			if i < len(ftypes) {
				ft = ftypes[i]
			}
			props[f] = b.schema(ft)
			if _, def := ti.Default(i); ft != "" && !strings.HasPrefix(ft, "Option<") && !def {
				// (a field with a default is filled in when left out)
				required = append(required, f)
			}
		}
		if len(required) > 0 {
			rec["required"] = required
		}
	}
	return map[string]any{"$ref": "#/components/schemas/" + name}
}
