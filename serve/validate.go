package serve

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"tova/frontend/diag"
	"tova/vm"
)

func init() {
	vm.Register(&vm.Builtin{Name: "validate", Params: []string{"rules"}, Fn: builtinValidate})
}

// validateRuleKeys are the rules a field of `with validate({...})` may
// have, as in the reference.
var validateRuleKeys = []string{"required", "min_length", "max_length", "min", "max", "pattern", "one_of"}

// fieldRules are one field's rules.
type fieldRules struct {
	name                 string
	required             bool
	minLen, maxLen       int // -1: none
	min, max             vm.Value
	pattern              *regexp.Regexp
	oneOf                []vm.Value
	hasMin, hasMax       bool
	patternText, choices string
}

// validate({ field: { required, min_length, max_length, min, max,
// pattern, one_of }, ... }) is the reference's route decorator `with
// validate({...})`: a guard that checks the request body's fields and
// refuses the request with 400 VALIDATION_FAILED, every failure in its
// details ("name must be at least 3 characters"). Rules are read when
// the route is declared: a bad one fails the start.
func builtinValidate(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if len(args) != 1 || args[0].Kind() != vm.KObject {
		got := "nothing"
		if len(args) > 0 {
			got = vm.Repr(args[0])
		}
		return vm.Nil, vm.TypeErrorf("validate({ field: { rule: value } }) takes one object of rules, got %s", got)
	}
	var fields []*fieldRules
	for _, name := range args[0].AsObject().Keys() {
		v, _ := args[0].AsObject().Get(name)
		f, err := readFieldRules(name, v)
		if err != nil {
			return vm.Nil, err
		}
		fields = append(fields, f)
	}
	guard := func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		q, err := guardRequest("validate(...)", args)
		if err != nil {
			return vm.Nil, err
		}
		body, err := q.Body()
		if err != nil {
			return vm.Nil, err
		}
		var o *vm.Object
		switch body.Kind() {
		case vm.KObject:
			o = body.AsObject()
		case vm.KNil:
			o = vm.NewObject() // no body: every required field is missing
		default:
			return vm.Nil, validationError("the body must be an object of fields")
		}
		var details []string
		for _, f := range fields {
			v, _ := o.Get(f.name)
			details = append(details, f.check(v)...)
		}
		if len(details) > 0 {
			return vm.Nil, validationError(details...)
		}
		return vm.Nil, nil
	}
	// (its rules kept as a member, which /openapi.json describes)
	return vm.BuiltinValue(&vm.Builtin{Name: "validate", Params: []string{"req", "res"}, Pure: true, Fn: guard,
		Members: map[string]vm.Value{"rules": args[0]}}), nil
}

// validateRules are the rules of a guard validate({...}) made, or nil
// for another guard.
func validateRules(g vm.Value) []*fieldRules {
	if g.Kind() != vm.KBuiltin {
		return nil
	}
	b := g.AsBuiltin()
	rules, ok := b.Members["rules"]
	if b.Name != "validate" || !ok || rules.Kind() != vm.KObject {
		return nil
	}
	var out []*fieldRules
	for _, name := range rules.AsObject().Keys() {
		v, _ := rules.AsObject().Get(name)
		if f, err := readFieldRules(name, v); err == nil { // (read once already, when the route was declared)
			out = append(out, f)
		}
	}
	return out
}

// schema is the JSON schema of the values the rules let through.
func (f *fieldRules) schema() map[string]any {
	s := map[string]any{}
	if f.minLen >= 0 || f.maxLen >= 0 || f.pattern != nil {
		s["type"] = "string"
		if f.minLen >= 0 {
			s["minLength"] = f.minLen
		}
		if f.maxLen >= 0 {
			s["maxLength"] = f.maxLen
		}
		if f.pattern != nil {
			s["pattern"] = f.patternText
		} else {
			// (a length counts a List's items too)
			list := map[string]any{"type": "array", "items": map[string]any{}}
			if f.minLen >= 0 {
				list["minItems"] = f.minLen
			}
			if f.maxLen >= 0 {
				list["maxItems"] = f.maxLen
			}
			s = map[string]any{"anyOf": []any{s, list}}
		}
	}
	if (f.hasMin || f.hasMax) && s["anyOf"] == nil {
		s["type"] = "number"
		if f.hasMin {
			s["minimum"] = jsonNumber(f.min)
		}
		if f.hasMax {
			s["maximum"] = jsonNumber(f.max)
		}
	}
	if len(f.oneOf) > 0 {
		var enum []any
		for _, c := range f.oneOf {
			switch c.Kind() {
			case vm.KInt, vm.KFloat:
				enum = append(enum, jsonNumber(c))
			case vm.KBool:
				enum = append(enum, c.AsBool())
			case vm.KNil:
				enum = append(enum, nil)
			default:
				enum = append(enum, vm.ToString(c))
			}
		}
		s["enum"] = enum
	}
	return s
}

// jsonNumber is the Go number of an Int or a Float.
func jsonNumber(v vm.Value) any {
	if v.Kind() == vm.KInt {
		return v.AsInt()
	}
	return v.AsFloat()
}

// readFieldRules reads the rules v of the field name.
func readFieldRules(name string, v vm.Value) (*fieldRules, error) {
	if v.Kind() != vm.KObject {
		return nil, vm.TypeErrorf("validate: the rules of %s must be an object such as { required: true }, got %s", name, vm.Repr(v))
	}
	f := &fieldRules{name: name, minLen: -1, maxLen: -1}
	bad := func(rule, want string, got vm.Value) error {
		return vm.Errorf("ValueError", "validate: %s.%s must be %s, got %s", name, rule, want, vm.Repr(got))
	}
	o := v.AsObject()
	for _, rule := range o.Keys() {
		x, _ := o.Get(rule)
		switch rule {
		case "required":
			if x.Kind() != vm.KBool {
				return nil, bad(rule, "true or false", x)
			}
			f.required = x.AsBool()
		case "min_length", "max_length":
			if x.Kind() != vm.KInt || x.AsInt() < 0 || x.AsInt() > 1<<30 {
				return nil, bad(rule, "an Int of at least 0", x)
			}
			if rule == "min_length" {
				f.minLen = int(x.AsInt())
			} else {
				f.maxLen = int(x.AsInt())
			}
		case "min", "max":
			if x.Kind() != vm.KInt && (x.Kind() != vm.KFloat || math.IsNaN(x.AsFloat())) {
				return nil, bad(rule, "a number", x)
			}
			if rule == "min" {
				f.min, f.hasMin = x, true
			} else {
				f.max, f.hasMax = x, true
			}
		case "pattern":
			if x.Kind() != vm.KString {
				return nil, bad(rule, "a regular expression String", x)
			}
			re, err := regexp.Compile(x.AsString())
			if err != nil {
				return nil, vm.Errorf("ValueError", "validate: %s.pattern: %v", name, err)
			}
			f.pattern, f.patternText = re, x.AsString()
		case "one_of":
			if x.Kind() != vm.KArray || len(x.AsArray().Elems) == 0 {
				return nil, bad(rule, "a non-empty List", x)
			}
			f.oneOf = x.AsArray().Elems
			texts := make([]string, len(f.oneOf))
			for i, c := range f.oneOf {
				texts[i] = vm.ToString(c)
			}
			f.choices = strings.Join(texts, ", ")
		default:
			if near := diag.Closest(rule, validateRuleKeys); near != "" {
				return nil, vm.Errorf("ValueError", "validate: %s.%s is no rule (did you mean %s? the rules: %s)", name, rule, near, strings.Join(validateRuleKeys, ", "))
			}
			return nil, vm.Errorf("ValueError", "validate: %s.%s is no rule (the rules: %s)", name, rule, strings.Join(validateRuleKeys, ", "))
		}
	}
	// Rules no value can pass are a mistake, said now.
	if c, _ := vm.Compare(f.min, f.max); f.hasMin && f.hasMax && c > 0 {
		return nil, vm.Errorf("ValueError", "validate: %s: min %s is over max %s: no value could pass", name, vm.Repr(f.min), vm.Repr(f.max))
	}
	if f.minLen >= 0 && f.maxLen >= 0 && f.minLen > f.maxLen {
		return nil, vm.Errorf("ValueError", "validate: %s: min_length %d is over max_length %d: no value could pass", name, f.minLen, f.maxLen)
	}
	return f, nil
}

// check returns why the field's value v breaks its rules: every rule
// it breaks (it gave the first alone), none when it keeps them. A
// missing value (nil, or an empty String) breaks only required.
func (f *fieldRules) check(v vm.Value) []string {
	if v.IsNil() || v.Kind() == vm.KString && v.AsString() == "" {
		if f.required {
			return []string{f.name + " is required"}
		}
		return nil
	}
	var out []string
	add := func(msg string) {
		if !slices.Contains(out, msg) { // ("must be a string" of two rules)
			out = append(out, msg)
		}
	}
	if f.minLen >= 0 || f.maxLen >= 0 {
		n, unit := -1, "characters"
		switch v.Kind() {
		case vm.KString:
			n = utf8.RuneCountInString(v.AsString())
		case vm.KArray:
			n, unit = len(v.AsArray().Elems), "items"
		}
		switch {
		case n < 0:
			add(f.name + " must be a string")
		case f.minLen >= 0 && n < f.minLen:
			add(fmt.Sprintf("%s must be at least %d %s", f.name, f.minLen, unit))
		case f.maxLen >= 0 && n > f.maxLen:
			add(fmt.Sprintf("%s must be at most %d %s", f.name, f.maxLen, unit))
		}
	}
	if f.hasMin || f.hasMax {
		if v.Kind() != vm.KInt && v.Kind() != vm.KFloat {
			add(f.name + " must be a number")
		} else if c, _ := vm.Compare(v, f.min); f.hasMin && c < 0 {
			add(fmt.Sprintf("%s must be at least %s", f.name, vm.ToString(f.min)))
		} else if c, _ := vm.Compare(v, f.max); f.hasMax && c > 0 {
			add(fmt.Sprintf("%s must be at most %s", f.name, vm.ToString(f.max)))
		}
	}
	if f.pattern != nil {
		if v.Kind() != vm.KString {
			add(f.name + " must be a string")
		} else if !f.pattern.MatchString(v.AsString()) {
			add(fmt.Sprintf("%s does not match the pattern %s", f.name, f.patternText))
		}
	}
	if f.oneOf != nil && !slices.ContainsFunc(f.oneOf, func(c vm.Value) bool { return vm.Equal(c, v) }) {
		add(fmt.Sprintf("%s must be one of %s", f.name, f.choices))
	}
	return out
}
