package parse

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"tova/frontend/ast"
	"tova/frontend/token"
)

// Dump renders a syntax tree (any node, slice of nodes, or *ast.File) as a
// compact, deterministic S-expression, for tests and debugging:
//
//	(Assign = [x] [(+ 1 (call f y))])
//
// Identifiers print as their names, literals as Go literals, binary and
// unary operators as (op x y); other nodes as (Type Field:value ...)
// listing only non-zero fields. Positions and resolver annotations are
// omitted.
func Dump(n any) string {
	var b strings.Builder
	dump(&b, reflect.ValueOf(n))
	return b.String()
}

var posType = reflect.TypeOf(token.Pos{})

func dump(b *strings.Builder, v reflect.Value) {
	if !v.IsValid() {
		b.WriteString("nil")
		return
	}
	if v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
		if v.IsNil() {
			b.WriteString("nil")
			return
		}
		if v.Kind() == reflect.Interface {
			dump(b, v.Elem())
			return
		}
	}
	switch n := v.Interface().(type) {
	case *ast.Ident:
		b.WriteString(n.Name)
		return
	case *ast.IntLit:
		b.WriteString(strconv.FormatInt(n.Value, 10))
		return
	case *ast.FloatLit:
		s := strconv.FormatFloat(n.Value, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eIN") {
			s += ".0"
		}
		b.WriteString(s)
		return
	case *ast.TypeExpr:
		dumpType(b, n)
		if n.Check != nil {
			b.WriteString(" where ")
			dump(b, reflect.ValueOf(n.Check))
		}
		return
	case *ast.StringLit:
		b.WriteString(strconv.Quote(n.Value))
		return
	case *ast.BoolLit:
		b.WriteString(strconv.FormatBool(n.Value))
		return
	case *ast.NilLit:
		b.WriteString("nil")
		return
	case *ast.Binary:
		fmt.Fprintf(b, "(%s ", n.Op)
		dump(b, reflect.ValueOf(n.X))
		b.WriteByte(' ')
		dump(b, reflect.ValueOf(n.Y))
		b.WriteByte(')')
		return
	case *ast.Unary:
		fmt.Fprintf(b, "(%s ", n.Op)
		dump(b, reflect.ValueOf(n.X))
		b.WriteByte(')')
		return
	case *ast.ExprStmt:
		dump(b, reflect.ValueOf(n.X))
		return
	case *ast.PBind:
		b.WriteString(n.Name.Name)
		return
	case *ast.Call:
		b.WriteString("(call ")
		dump(b, reflect.ValueOf(n.Fn))
		for _, a := range n.Args {
			b.WriteByte(' ')
			if a.Spread {
				b.WriteString("...")
			}
			if a.Name != "" {
				b.WriteString(a.Name + ":")
			}
			dump(b, reflect.ValueOf(a.Value))
		}
		b.WriteByte(')')
		return
	case *ast.Member:
		if n.Optional {
			b.WriteString("(?. ")
		} else {
			b.WriteString("(. ")
		}
		dump(b, reflect.ValueOf(n.X))
		b.WriteString(" " + n.Name + ")")
		return
	case *ast.Lambda:
		b.WriteString("(fn ")
		dump(b, reflect.ValueOf(n.Fn))
		b.WriteByte(')')
		return
	case *ast.Function:
		dumpFunction(b, n)
		return
	case *ast.Block:
		b.WriteString("{")
		for i, s := range n.Stmts {
			if i > 0 {
				b.WriteString("; ")
			}
			dump(b, reflect.ValueOf(s))
		}
		b.WriteString("}")
		return
	case *ast.File:
		for i, s := range n.Stmts {
			if i > 0 {
				b.WriteByte('\n')
			}
			dump(b, reflect.ValueOf(s))
		}
		return
	}
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		b.WriteString("(" + t.Name())
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			fv := v.Field(i)
			if f.Type == posType || fv.IsZero() || skipField(t.Name(), f.Name, fv) {
				continue
			}
			b.WriteString(" " + f.Name + ":")
			dump(b, fv)
		}
		b.WriteByte(')')
	case reflect.Slice:
		b.WriteByte('[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b.WriteByte(' ')
			}
			dump(b, v.Index(i))
		}
		b.WriteByte(']')
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(k.String() + ":")
			dump(b, v.MapIndex(k))
		}
		b.WriteByte('}')
	case reflect.String:
		b.WriteString(strconv.Quote(v.String()))
	default:
		fmt.Fprint(b, v.Interface())
	}
}

// skipField leaves out resolver output and redundant fields.
func skipField(_, field string, v reflect.Value) bool {
	switch field {
	case "Binding", "Declares", "Locals", "Globals", "FreeVars":
		return true
	case "RestIndex":
		return v.Int() < 0
	}
	return false
}

func dumpFunction(b *strings.Builder, f *ast.Function) {
	if f.Async {
		b.WriteString("async ")
	}
	if f.Name != "" {
		b.WriteString(f.Name + " ")
	}
	if f.HasYield {
		b.WriteString("gen ")
	}
	b.WriteByte('(')
	for i, q := range f.Params {
		if i > 0 {
			b.WriteByte(' ')
		}
		if q.Rest {
			b.WriteString("...")
		}
		if q.Name != nil {
			b.WriteString(q.Name.Name)
		} else {
			dump(b, reflect.ValueOf(q.Pattern))
		}
		if q.Type != nil {
			b.WriteByte(':')
			dumpType(b, q.Type)
		}
		if q.Default != nil {
			b.WriteByte('=')
			dump(b, reflect.ValueOf(q.Default))
		}
	}
	b.WriteString(") ")
	dump(b, reflect.ValueOf(f.Body))
}

func dumpType(b *strings.Builder, t *ast.TypeExpr) {
	b.WriteString(t.Name)
	if len(t.Args) > 0 {
		b.WriteByte('<')
		for i, a := range t.Args {
			if i > 0 {
				b.WriteByte(',')
			}
			dumpType(b, a)
		}
		b.WriteByte('>')
	}
}
