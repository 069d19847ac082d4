package serve

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"tova/vm"
	"tova/vm/stdlib"
)

// Uploads (`uploads { max_size, allowed_types }`, the guide's form, or
// the reference's `upload { }`) check every file part (a part with a
// filename) of a multipart/form-data body before a route's guards and
// handler run (checkMultipart, which keeps no file's content), and
// again whenever the body is parsed: a file over max_size answers 413
// PAYLOAD_TOO_LARGE, one whose type is not allowed 415
// UNSUPPORTED_MEDIA_TYPE, each naming the field. A route's guards and
// handler never see such a body.
//
// The type checked is the part's declared Content-Type, without its
// parameters and case. Declared types the content sniffer knows by
// their bytes (sniffedTypes) must also be what the bytes are, as
// net/http.DetectContentType tells: a PDF sent as image/png is refused.
// A part that declares no type is taken to be what its bytes are.
//
// max_body bounds the whole body, before any of this: a file larger
// than max_body is refused by the front end (413) whatever max_size
// says, which is warned of at start-up when max_size is the larger.

// uploadKeys are the keys of an upload(s) block (configKeys).
var uploadKeys = []string{"max_size", "allowed_types"}

// uploadDefaultSize is the reference's default max_size: 10 MiB.
const uploadDefaultSize = 10 << 20

// sniffedTypes are the declared types whose bytes must agree: those
// DetectContentType recognises from a signature every such file starts
// with. (Text types and containers such as ZIP are left out: a .csv or
// a .docx sniffs as something else.)
var sniffedTypes = []string{"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "application/pdf"}

// uploadRules is a server's upload block.
type uploadRules struct {
	maxSize int64
	// sizeGiven: the block set max_size (the start-up warning of a
	// max_size above max_body is for one the program chose)
	sizeGiven bool
	allowed   []string // media types, lower case; "image/*" allows any image; empty allows any
	at        string   // where the block is
}

// readUploads reads an upload or uploads block (of kind, declared at
// at).
func readUploads(kind, at string, v vm.Value) (*uploadRules, error) {
	o, err := blockSettings(kind, at, v)
	if err != nil {
		return nil, err
	}
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("%s: %s.%s: %s", at, kind, key, fmt.Sprintf(format, args...))
	}
	u := &uploadRules{maxSize: uploadDefaultSize, at: at}
	if sv, ok := o.Get("max_size"); ok {
		n, err := byteSize(sv)
		if err != nil {
			return nil, bad("max_size", "%v", err)
		}
		if n <= 0 {
			return nil, bad("max_size", "a file size limit must be positive, got %s", vm.Repr(sv))
		}
		u.maxSize, u.sizeGiven = n, true
	}
	if tv, ok := o.Get("allowed_types"); ok && !tv.IsNil() {
		if tv.Kind() != vm.KArray {
			return nil, bad("allowed_types", "expected a list of media types such as [\"image/png\"], got %s", vm.Repr(tv))
		}
		for _, e := range tv.AsArray().Elems {
			if e.Kind() != vm.KString {
				return nil, bad("allowed_types", "expected media type Strings such as \"image/png\", got %s", vm.Repr(e))
			}
			t := strings.ToLower(strings.TrimSpace(e.AsString()))
			mt, _, err := mime.ParseMediaType(t)
			if err != nil || mt != t || strings.Count(t, "/") != 1 || strings.HasPrefix(t, "*") {
				return nil, bad("allowed_types", "%s is not a media type type/subtype such as \"image/png\" (or \"image/*\")", vm.Repr(e))
			}
			u.allowed = append(u.allowed, t)
		}
	}
	return u, nil
}

// warnOverBody warns when max_size is above the server's body limit
// (max_body, 0 for the front end's default), where it has no effect.
func (u *uploadRules) warnOverBody(log zerolog.Logger, maxBody int) {
	if maxBody <= 0 {
		maxBody = fasthttp.DefaultMaxRequestBodySize
	}
	if u == nil || !u.sizeGiven || u.maxSize <= int64(maxBody) {
		return
	}
	log.Warn().Str("at", u.at).Str("max_size", sizeText(u.maxSize)).Str("max_body", sizeText(int64(maxBody))).
		Msg("uploads.max_size is above max_body: a body over max_body is refused (413) first, so files are limited to less than max_body")
}

// sniffLen is how much of a file DetectContentType reads.
const sniffLen = 512

// checkFile checks the file part of field named name, of size bytes,
// that starts with head (its first sniffLen bytes, or all of it): its
// size, its declared type, what its bytes are, and the type its name's
// extension gives it, which is what it is served as once saved (a PNG's
// bytes named evil.html are served as text/html). A refusal is the
// client's error (413, 415, or 400 for an empty file whose type only
// its bytes could show).
func (u *uploadRules) checkFile(field, name, declared string, head []byte, size int64) *httpError {
	if u != nil {
		if err := u.checkSize(field, size); err != nil {
			return err
		}
	}
	if declared != "" {
		if _, _, err := mime.ParseMediaType(declared); err != nil {
			// ("image/png, text/html": a browser takes the last type of
			// a list, and the prefix image/ let it through unchecked)
			return &httpError{status: 415, code: "UNSUPPORTED_MEDIA_TYPE",
				message: fmt.Sprintf("%s: the declared type %q is no media type (type/subtype)", field, strings.ToValidUTF8(declared, ""))}
		}
	}
	if he := u.checkName(field, name); he != nil {
		return he
	}
	if u == nil || len(u.allowed) == 0 {
		return nil
	}
	head = head[:min(len(head), sniffLen)]
	sniffed, _, _ := mime.ParseMediaType(http.DetectContentType(head))
	mt := sniffed
	if declared != "" {
		mt, _, _ = mime.ParseMediaType(declared) // lower case (it parses: see above)
	}
	// An empty file has no bytes to tell its type by: one that declares
	// none, or one the bytes must agree with, is refused as empty
	// rather than as text/plain (what no bytes sniff as).
	empty := &httpError{status: 400, code: "VALIDATION_FAILED", message: field + ": empty file"}
	if size == 0 && declared == "" {
		return empty
	}
	if !u.allows(mt) {
		return &httpError{status: 415, code: "UNSUPPORTED_MEDIA_TYPE",
			message: fmt.Sprintf("%s: file type %s not allowed (allowed: %s)", field, mt, strings.Join(u.allowed, ", "))}
	}
	if mt != sniffed && slices.Contains(sniffedTypes, mt) {
		if size == 0 {
			return empty
		}
		return &httpError{status: 415, code: "UNSUPPORTED_MEDIA_TYPE",
			message: fmt.Sprintf("%s: file declared %s but its content is %s", field, mt, sniffed)}
	}
	return nil
}

// checkMultipart checks every file part of a multipart body against
// the block, reading through the body once without keeping the parts'
// contents: of each it counts the bytes and keeps the first sniffLen,
// so that a refused file, or one the handler never reads, costs no more
// than the body itself. A malformed body is left to whoever reads it
// (nil).
func (u *uploadRules) checkMultipart(body []byte, boundary string) *httpError {
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var head [sniffLen]byte
	for {
		part, err := mr.NextPart()
		if err != nil {
			return nil
		}
		if part.FileName() == "" {
			continue // NextPart skips what is left of it
		}
		n, err := io.ReadFull(part, head[:])
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return nil
		}
		rest, err := io.Copy(io.Discard, part)
		if err != nil {
			return nil
		}
		if he := u.checkFile(part.FormName(), part.FileName(), part.Header.Get("Content-Type"), head[:n], int64(n)+rest); he != nil {
			return he
		}
	}
}

// checkName refuses a file name of a type browsers run scripts in
// (the name as save_file will make it: "evil.html " is saved as
// evil.html), unless that type is listed, with or without a list:
// static serves the saved file as its extension says.
func (u *uploadRules) checkName(field, name string) *httpError {
	listed := func(t string) bool { return u != nil && u.allows(t) }
	ext := strings.ToLower(filepath.Ext(stdlib.SafeFileName(name)))
	if et := activeType(ext); et != "" && !listed(et) && !(et == "application/xml" && listed("text/xml")) {
		allowed := "none listed: an uploads block's allowed_types lists the types taken"
		if u != nil && len(u.allowed) > 0 {
			allowed = strings.Join(u.allowed, ", ")
		}
		return &httpError{status: 415, code: "UNSUPPORTED_MEDIA_TYPE",
			message: fmt.Sprintf("%s: the file name's extension %s is of type %s, not allowed (allowed: %s)", field, ext, et, allowed)}
	}
	return nil
}

func init() {
	// A name a handler gave an upload (f.filename = name) is checked as
	// the client's was: saved, evil.html was served as HTML.
	stdlib.SavedNameAllowed = func(t *vm.Thread, name string) error {
		var u *uploadRules
		if x, ok := t.Host.(*exchange); ok {
			u = x.s.uploads
		}
		if he := u.checkName("save_file", name); he != nil {
			return vm.Errorf("ValueError", "%s (the name was set by the program: f.filename)", he.message)
		}
		return nil
	}
}

// checkSize refuses a file of size bytes over max_size.
func (u *uploadRules) checkSize(field string, size int64) *httpError {
	if size <= u.maxSize {
		return nil
	}
	return &httpError{status: 413, code: "PAYLOAD_TOO_LARGE",
		message: fmt.Sprintf("%s: file too large (max %s)", field, sizeText(u.maxSize))}
}

// activeTypes are the types, by file name extension, of the files a
// browser runs scripts in when served (as static serves a saved upload,
// by its extension): a name of one of them is refused unless its type
// is allowed, whatever the bytes are.
var activeTypes = map[string]string{
	".html": "text/html", ".htm": "text/html", ".shtml": "text/html",
	".xhtml": "application/xhtml+xml", ".xht": "application/xhtml+xml",
	".svg": "image/svg+xml", ".svgz": "image/svg+xml",
	".xml": "application/xml", ".xsl": "application/xml", ".xslt": "application/xml",
	".js": "text/javascript", ".mjs": "text/javascript",
}

// activeType is the type of extension ext if browsers run scripts in
// it: the table's, or what the system's types give it when that is
// HTML, XML (.atom, .rss, .rdf: any +xml) or JavaScript, as static will
// serve it; "" if none.
func activeType(ext string) string {
	if t := activeTypes[ext]; t != "" {
		return t
	}
	// What static serves it as: its own table, then the host's (.cjs,
	// in static's table as JavaScript, was let through by this one).
	t, _, err := mime.ParseMediaType(contentType("f" + ext))
	if err == nil && (t == "text/html" || strings.HasSuffix(t, "/xml") || strings.HasSuffix(t, "+xml") || strings.Contains(t, "javascript") || strings.Contains(t, "ecmascript")) {
		return t
	}
	return ""
}

// allows reports whether media type mt is in the allowed list. A
// wildcard does not take SVG (a picture that can carry script): "image/*"
// allows it only listed.
func (u *uploadRules) allows(mt string) bool {
	for _, a := range u.allowed {
		if a == mt || strings.HasSuffix(a, "/*") && strings.HasPrefix(mt, a[:len(a)-1]) && mt != "image/svg+xml" {
			return true
		}
	}
	return false
}

// sizeText shows a byte count as the limits are written: 10 MiB, 512
// KiB, 1000 bytes.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n == 1:
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}

// checkUploads checks the file parts of a multipart body before the
// route's guards and handler run, when the server has an upload block,
// so that a file the block refuses is refused whether or not the
// handler reads the body. (A malformed body is left to whoever reads
// it, as without a block.)
func (x *exchange) checkUploads() error {
	if x.s.uploads == nil {
		return nil
	}
	ct, params, _ := mime.ParseMediaType(x.current().ContentType)
	if ct != "multipart/form-data" {
		return nil
	}
	if q := x.req; q != nil && q.parsed {
		// Middleware read the body: parsing it checked the files.
		if he, ok := q.bodyErr.(*httpError); ok && he.status != 400 {
			return he
		}
		return nil
	}
	if he := x.s.uploads.checkMultipart(x.current().Body, params["boundary"]); he != nil {
		return he
	}
	return nil
}

func init() {
	vm.Register(&vm.Builtin{Name: "upload", Params: []string{"field"}, Fn: builtinUpload})
}

// upload(field = "file") is the reference's route decorator `with
// upload("avatar")`: a guard that requires the request's multipart body
// to hold one file in that field (a 400 VALIDATION_FAILED "avatar: not
// a valid file" otherwise, or "avatar: expected one file, got 2"). The
// server's upload block checks the file as it checks every file;
// without a block, the reference's default max_size (10 MiB) applies to
// this one (checkDefaultSize), as to a File parameter's. The guard
// keeps the field's name as its member field (uploadField: the API
// description says the route takes that file).
func builtinUpload(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	field := "file"
	if len(args) > 0 && !args[0].IsNil() {
		if args[0].Kind() != vm.KString || args[0].AsString() == "" {
			return vm.Nil, vm.TypeErrorf("upload: the field name must be a non-empty String, got %s", vm.Repr(args[0]))
		}
		field = args[0].AsString()
	}
	guard := func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		q, err := guardRequest(fmt.Sprintf("upload(%q)", field), args)
		if err != nil {
			return vm.Nil, err
		}
		notFile := &httpError{status: 400, code: "VALIDATION_FAILED", message: field + ": not a valid file"}
		if ct, _, _ := mime.ParseMediaType(q.r.ContentType); ct != "multipart/form-data" {
			return vm.Nil, notFile
		}
		body, err := q.Body()
		if err != nil {
			return vm.Nil, err
		}
		var files []*stdlib.File
		if body.Kind() == vm.KObject {
			v, _ := body.AsObject().Get(field)
			files = fileParts(v)
		}
		if len(files) == 0 {
			return vm.Nil, notFile
		}
		if len(files) > 1 {
			// The handler takes one file (save_file(req.body.avatar, …)),
			// not a list of them.
			return vm.Nil, &httpError{status: 400, code: "VALIDATION_FAILED",
				message: fmt.Sprintf("%s: expected one file, got %d", field, len(files))}
		}
		if err := checkDefaultSize(q.uploads, field, files); err != nil {
			return vm.Nil, err
		}
		return vm.Nil, nil
	}
	return vm.BuiltinValue(&vm.Builtin{Name: "upload", Params: []string{"req", "res"}, Pure: true, Fn: guard,
		Members: map[string]vm.Value{"field": vm.Str(field)}}), nil
}

// uploadField is the field guard g, a value of a route's `with` list,
// requires a file in, if it is upload(field)'s guard.
func uploadField(g vm.Value) (string, bool) {
	if g.Kind() != vm.KBuiltin {
		return "", false
	}
	b := g.AsBuiltin()
	field, ok := b.Members["field"]
	if b.Name != "upload" || !ok || field.Kind() != vm.KString {
		return "", false
	}
	return field.AsString(), true
}

// fileParts returns the file parts v holds: v itself when it is one (a
// file part of a multipart body, as multipartObject makes it), the
// elements of a list of them; else none.
func fileParts(v vm.Value) []*stdlib.File {
	if f := stdlib.AsFile(v); f != nil {
		return []*stdlib.File{f}
	}
	if v.Kind() != vm.KArray {
		return nil
	}
	var out []*stdlib.File
	for _, e := range v.AsArray().Elems {
		f := stdlib.AsFile(e)
		if f == nil {
			return nil
		}
		out = append(out, f)
	}
	return out
}

// fileType is the annotation of a handler's parameter that takes an
// uploaded file: one file part of a multipart body (a File), as
// upload() requires one.
const fileType = "File"

// takesFiles reports whether a parameter of type typ takes uploaded
// files: File or [File], maybe in Option<…>.
func takesFiles(typ string) bool {
	if inner, ok := strings.CutPrefix(typ, "Option<"); ok {
		typ = strings.TrimSuffix(inner, ">")
	}
	return typ == fileType || typ == "["+fileType+"]"
}

// convertFile takes v for a parameter name annotated File: one file
// part of a multipart body. Anything else, an object spelling a file's
// fields from a JSON body or a form's text field included, went through
// no upload check and is refused.
func convertFile(name string, v vm.Value) (vm.Value, string) {
	switch files := fileParts(v); {
	case len(files) == 1 && v.Kind() == vm.KArray:
		return v.AsArray().Elems[0], ""
	case len(files) == 1:
		return v, ""
	case len(files) > 1:
		return vm.Nil, fmt.Sprintf("%s must be one file, got %d", name, len(files))
	}
	return vm.Nil, name + " must be a file (a file part of a multipart/form-data body)"
}

// checkDefaultSize checks the files given for field, which upload() or
// a File parameter takes, against the default max_size when the server
// has no upload block (rules nil): with one, every file part was
// checked before the route's guards ran.
func checkDefaultSize(rules *uploadRules, field string, files []*stdlib.File) *httpError {
	if rules != nil {
		return nil
	}
	defaults := &uploadRules{maxSize: uploadDefaultSize}
	for _, f := range files {
		size, _ := f.Fields().Get("size")
		if err := defaults.checkSize(field, size.AsInt()); err != nil {
			return err
		}
	}
	return nil
}
