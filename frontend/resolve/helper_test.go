package resolve

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"tova/frontend/ast"
	"tova/frontend/diag"
	"tova/frontend/parse"
)

var testBuiltins = []string{"print", "len", "range", "map", "filter", "sum", "Ok", "Err", "Some", "None", "respond", "uuid", "env", "split", "where", "Date", "JSON", "fetch", "publish", "spawn_job", "auth", "role", "read"}

func resolveSrc(t *testing.T, srcs ...string) ([]*ast.File, error) {
	t.Helper()
	var files []*ast.File
	for i, src := range srcs {
		name := "a.tova"
		if i > 0 {
			name = fmt.Sprintf("f%d.tova", i)
		}
		f, err := parse.ParseFile(name, []byte(src))
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		files = append(files, f)
	}
	err := Resolve(files, Options{PredeclaredNames: testBuiltins})
	return files, err
}

// idents returns every identifier of the tree in source walk order.
func idents(n any) []*ast.Ident {
	var out []*ast.Ident
	seen := map[*ast.Ident]bool{}
	bindingType := reflect.TypeOf(&ast.Binding{})
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Pointer:
			if v.IsNil() || v.Type() == bindingType {
				return
			}
			if id, ok := v.Interface().(*ast.Ident); ok {
				if !seen[id] {
					seen[id] = true
					out = append(out, id)
				}
				return
			}
			walk(v.Elem())
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).Name == "Locals" || v.Type().Field(i).Name == "FreeVars" || v.Type().Field(i).Name == "Globals" {
					continue
				}
				walk(v.Field(i))
			}
		case reflect.Slice:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		case reflect.Map:
			keys := v.MapKeys()
			sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
			for _, k := range keys {
				walk(v.MapIndex(k))
			}
		}
	}
	walk(reflect.ValueOf(n))
	return out
}

func bindingString(b *ast.Binding) string {
	if b == nil {
		return "nil"
	}
	switch b.Scope {
	case ast.Builtin, ast.Undefined:
		return b.Scope.String()
	}
	return fmt.Sprintf("%s %d", b.Scope, b.Index)
}

// bindings maps "name@line:col" to "scope index" for every identifier.
func bindings(files []*ast.File) map[string]string {
	m := map[string]string{}
	for _, f := range files {
		for _, id := range idents(f) {
			key := fmt.Sprintf("%s@%d:%d", id.Name, id.PosV.Line, id.PosV.Col)
			if len(files) > 1 {
				key = f.Name + ":" + key
			}
			m[key] = bindingString(id.Binding)
		}
	}
	return m
}

func dumpBindings(m map[string]string) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, m[k])
	}
	return b.String()
}

func formatErrs(err error, src string) string {
	if err == nil {
		return ""
	}
	var b strings.Builder
	for _, e := range err.(diag.List) {
		b.WriteString(diag.Format(e, []byte(src)))
		b.WriteByte('\n')
	}
	return b.String()
}
