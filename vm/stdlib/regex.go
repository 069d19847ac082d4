package stdlib

import (
	"regexp"
	"strings"

	"tova/vm"
)

// Regex is the value of a regex literal, /pattern/flags: its RE2
// pattern, compiled once, and its flags (i, m, s change what matches; g
// makes replace change every match). The regex builtins take one where
// they take a pattern string, and replace and split take one where they
// take the text to find.
type Regex struct {
	Source, Flags string
	re            *regexp.Regexp
}

func (r *Regex) TypeName() string { return "Regex" }

// String is the literal: /pattern/flags.
func (r *Regex) String() string { return "/" + r.Source + "/" + r.Flags }

// JSONValue: a regex serialises as its literal's text.
func (r *Regex) JSONValue() vm.Value { return vm.Str(r.String()) }

// global reports the g flag.
func (r *Regex) global() bool { return strings.ContainsRune(r.Flags, 'g') }

func (r *Regex) GetAttr(t *vm.Thread, name string) (vm.Value, bool, error) {
	switch name {
	case "source":
		return vm.Str(r.Source), true, nil
	case "flags":
		return vm.Str(r.Flags), true, nil
	case "global":
		return vm.Bool(r.global()), true, nil
	}
	return vm.Nil, false, nil
}

func (r *Regex) SetAttr(t *vm.Thread, name string, v vm.Value) error {
	return vm.TypeErrorf("cannot set %s of a Regex", name)
}

// CallMethod: re.test(s), as in JavaScript.
func (r *Regex) CallMethod(t *vm.Thread, name string, args []vm.Value) (vm.Value, bool, error) {
	if name != "test" {
		return vm.Nil, false, nil
	}
	if len(args) != 1 || args[0].Kind() != vm.KString {
		return vm.Nil, true, vm.TypeErrorf("Regex.test(text): expected a String")
	}
	return vm.Bool(r.re.MatchString(args[0].AsString())), true, nil
}

// asRegex is v's Regex, nil if v is none.
func asRegex(v vm.Value) *Regex {
	if v.Kind() != vm.KHost {
		return nil
	}
	r, _ := v.AsHostOK().(*Regex)
	return r
}

// bRegex is __regex(pattern, flags), what a regex literal compiles to
// (the compiler has checked both).
func bRegex(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	src, err := str("regex", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	flags, err := optStr("regex", args, 1, "")
	if err != nil {
		return vm.Nil, err
	}
	re, err := compilePattern("regex", src, flags)
	if err != nil {
		return vm.Nil, err
	}
	return vm.HostValue(&Regex{Source: src, Flags: flags, re: re}), nil
}

// replaceFirstRegex replaces the first match of re in s: with to's
// expansion ($1, $&, $<name>, as JavaScript's replace: see jsExpand)
// or, for a function, its result for the match.
func replaceFirstRegex(t *vm.Thread, fname, s string, re *regexp.Regexp, tov vm.Value) (vm.Value, error) {
	if !callable(tov) {
		return replaceJS(fname, re, s, vm.ToString(tov), false)
	}
	return replaceWithGroups(t, fname, re, s, tov, groupParams(tov), 1)
}
