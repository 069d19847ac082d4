package ast

import "reflect"

// Inspect walks the syntax tree n depth first, calling visit with each
// node it reaches through a pointer (*Ident, *Call, *Block...); when
// visit returns false, the node's children are not walked. The
// resolver's Bindings are not syntax, and are not walked.
func Inspect(n any, visit func(node any) bool) {
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() {
				return
			}
			if _, ok := v.Interface().(*Binding); ok {
				return
			}
			if visit(v.Interface()) {
				walk(v.Elem())
			}
		case reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i))
				}
			}
		case reflect.Slice, reflect.Array:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		}
	}
	walk(reflect.ValueOf(n))
}
