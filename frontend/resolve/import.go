package resolve

import (
	"fmt"
	"strings"

	"tova/frontend/ast"
	"tova/frontend/diag"
	"tova/frontend/token"
)

// builtinModules are the modules an import may name: the groups of the
// reference's standard library. Their functions are builtins, in scope
// without an import, so importing one checks that the names are builtins
// and may rename them (`import { upper as up } from "strings"`). Any
// builtin may be imported from any of them.
var builtinModules = []string{
	"async", "collections", "datetime", "encoding", "functional", "json",
	"math", "objects", "regex", "strings", "url", "validation",
}

// moduleNamespaces are the builtin namespaces (math.sqrt, str.upper)
// that `import * as m from "module"` names, by module.
var moduleNamespaces = map[string]string{
	"math": "math", "strings": "str", "collections": "arr", "datetime": "dt",
	"regex": "re", "json": "json", "url": "url",
}

func isBuiltinModule(name string) bool {
	for _, m := range builtinModules {
		if m == name {
			return true
		}
	}
	return false
}

// isFilePath reports whether an import names a file rather than a
// module: "./util", "../lib/x.tova", "/abs", "@/utils" (the reference's
// project root) or any name ending in .tova.
func isFilePath(from string) bool {
	return strings.HasPrefix(from, ".") || strings.HasPrefix(from, "/") ||
		strings.HasPrefix(from, "@/") || strings.HasSuffix(from, ".tova")
}

// importDecl declares the names of an import in scope s, when its
// statement list is hoisted. A program is one file, so only builtin
// modules can be imported: a name imported from one binds the builtin of
// that name. Any other import is reported at the module's name, and its
// names are declared undefined, so that their uses are not reported too.
func (r *resolver) importDecl(im *ast.Import, s *scope) {
	ok := r.checkModule(im)
	if im.Default != nil {
		if ok {
			r.errorf(im.Default.PosV, identEnd(im.Default),
				"import %s from %q: a builtin module has no default value; import its functions by name "+
					"(import { upper, trim } from \"strings\"), or call them without an import: every builtin is in scope",
				im.Default.Name, im.From)
		}
		r.declareImport(s, im.Default, &ast.Binding{Name: im.Default.Name, Scope: ast.Undefined, Decl: im.Default.PosV})
	}
	if im.Star != nil {
		b := &ast.Binding{Name: moduleNamespaces[im.From], Scope: ast.Builtin, Decl: im.Star.PosV}
		if !ok {
			b.Scope = ast.Undefined
		} else if b.Name == "" || !r.isBuiltin(b.Name) {
			var with []string
			for _, m := range builtinModules {
				if ns := moduleNamespaces[m]; ns != "" {
					with = append(with, fmt.Sprintf("%q (%s)", m, ns))
				}
			}
			r.errorf(im.Star.PosV, identEnd(im.Star),
				"import * as %s from %q: that module has no namespace value; its functions are builtins, in scope without an import "+
					"(the modules with one: %s)", im.Star.Name, im.From, strings.Join(with, ", "))
			b.Scope = ast.Undefined
		}
		r.declareImport(s, im.Star, b)
	}
	for _, n := range im.Names {
		local := n.Name
		if n.Alias != nil {
			local = n.Alias
		}
		b := &ast.Binding{Name: n.Name.Name, Scope: ast.Builtin, Decl: local.PosV}
		switch {
		case !ok:
			b.Scope = ast.Undefined
		case !r.isBuiltin(n.Name.Name):
			msg := fmt.Sprintf("no builtin %s to import from %q", n.Name.Name, im.From)
			if c := diag.Closest(n.Name.Name, r.opts.PredeclaredNames); c != "" {
				msg += " (did you mean " + c + "?)"
			}
			r.errorf(n.Name.PosV, identEnd(n.Name), "%s", msg)
			b.Scope = ast.Undefined
		}
		if n.Alias != nil {
			n.Name.Binding = b
		}
		r.declareImport(s, local, b)
	}
}

// checkModule reports an import of anything but a builtin module.
func (r *resolver) checkModule(im *ast.Import) bool {
	if isBuiltinModule(im.From) {
		return true
	}
	end := token.Pos{Line: im.FromPos.Line, Col: im.FromPos.Col + int32(len([]rune(im.From))) + 2}
	if isFilePath(im.From) {
		r.errorf(im.FromPos, end, "cannot import %q: this runtime runs single-file programs; "+
			"copy what this program needs from that file into it", im.From)
		return false
	}
	msg := fmt.Sprintf("unknown module %q: this runtime runs single-file programs, without packages; "+
		"its only modules are the builtin %s, and their functions need no import", im.From, strings.Join(builtinModules, ", "))
	if c := diag.Closest(im.From, builtinModules); c != "" {
		msg = fmt.Sprintf("unknown module %q (did you mean %q?)", im.From, c)
	}
	r.errorf(im.FromPos, end, "%s", msg)
	return false
}

// declareImport binds the local name of an import in scope s.
func (r *resolver) declareImport(s *scope, id *ast.Ident, b *ast.Binding) {
	if prev := r.redeclared(s, id, kindImport); prev != nil {
		id.Binding = prev
		return
	}
	r.info[b] = &bindInfo{kind: kindImport, file: r.file}
	s.names[id.Name] = b
	id.Binding = b
}
