package stdlib

import (
	"strconv"
	"strings"

	"tova/vm"
)

// A call of a builtin passes a number of arguments (a method call's
// receiver counts: s.upper() passes one) within the builtin's bounds,
// else it is a TypeError at the call. Without the check, an argument too
// many was ignored and one missing was nil, which some builtins take as
// a value: replace("abc", "b") gave "anilc", xs.push() did nothing.
//
// The bounds of a builtin registered with parameters: at most one
// argument per parameter, and at least its first, unless arities says
// otherwise. A builtin registered without parameters (print, max, zip,
// merge…) takes any number, unless arities says it takes none.

// arities holds the bounds that differ from the default: the least
// number of arguments, and the most (-1: any number).
var arities = map[string][2]int{
	// Every parameter is needed: a missing one would be taken as nil.
	"replace": {3, 3}, "replace_first": {3, 3}, "regex_replace": {3, 4},
	"includes": {2, 2}, "contains": {2, 2}, "index_of": {2, 2}, "last_index_of": {2, 2},
	"indexOf": {2, 2}, "lastIndexOf": {2, 2},
	"has": {2, 2}, "has_key": {2, 2}, "remove": {2, 2}, "remove_at": {2, 2},
	"insert": {3, 3}, "insert_at": {3, 3}, "update_at": {3, 3},
	"starts_with": {2, 2}, "ends_with": {2, 2}, "count_of": {2, 2}, "char_at": {2, 2},
	"repeat": {2, 2}, "repeat_value": {2, 2}, "set_env": {2, 2},
	"map": {2, 2}, "filter": {2, 2}, "each": {2, 2}, "find": {2, 2}, "find_index": {2, 2},
	"flat_map": {2, 2}, "partition": {2, 2}, "group_by": {2, 2}, "sum_by": {2, 2},
	"min_by": {2, 2}, "max_by": {2, 2}, "map_values": {2, 2}, "zip_with": {3, 3},
	"take": {2, 2}, "drop": {2, 2}, "chunk": {2, 2}, "sliding_window": {2, 2},
	"union": {2, 2}, "intersection": {2, 2}, "difference": {2, 2},
	"symmetric_difference": {2, 2}, "is_subset": {2, 2}, "is_superset": {2, 2},
	"pow": {2, 2}, "atan2": {2, 2}, "hypot": {0, -1}, "gcd": {2, 2}, "lcm": {2, 2},
	"divmod": {2, 2}, "clamp": {3, 3}, "lerp": {3, 3},
	// A list and the values to add.
	"push": {2, -1}, "unshift": {2, -1},
	// Rows and any number of columns.
	"drop_nil": {1, -1},
	// The code is optional (0); env() is the whole environment.
	"exit": {0, 1}, "env": {0, 2},
	// count() in agg counts every row of a group.
	"agg_count": {0, 1},
	// Initial contents are optional.
	"collections.OrderedDict": {0, 1}, "collections.Counter": {0, 1}, "collections.Deque": {0, 1},
	// Table verbs whose parameters are all needed; join takes a table
	// join's options after the two tables.
	"rename": {3, 3}, "explode": {2, 2}, "cast": {3, 3}, "unpivot": {3, 3}, "pivot": {4, 4},
	"stratified_sample": {3, 4}, "moving_avg": {2, 2}, "join": {1, 3}, "getColumn": {2, 2},
	"row_number": {0, 0}, "rank": {0, 0}, "dense_rank": {0, 0}, "percent_rank": {0, 0}, "running_count": {0, 0},
	// The directory to list is optional (the working directory); the
	// text to write is needed.
	"fs.ls": {0, 2}, "fs.read_dir": {0, 2}, "fs.write_text": {2, 3},
	"fs.cp": {2, 3}, "fs.mv": {2, 2},
	"crypto.hmac": {3, 4}, "crypto.constant_time_equal": {2, 2},
	// A colour needs its name.
	"color": {2, 2},
	// JavaScript's (value, replacer, indent) is taken too.
	"json_stringify": {1, 3},
	// Builtins that take nothing: an argument is a slip (random(1, 100)
	// for random_int, uuid("order-") for a prefix it would not add).
	"random": {0, 0}, "uuid": {0, 0}, "now": {0, 0}, "now_iso": {0, 0}, "args": {0, 0}, "cwd": {0, 0},
	"script_dir": {0, 0}, "script_path": {0, 0}, "read_stdin": {0, 0}, "read_lines": {0, 0},
	"Date.now": {0, 0}, "Process.uptime": {0, 0}, "crypto.random_uuid": {0, 0},
}

// withArity wraps fn, the builtin name with parameters params, with the
// check of its argument count.
func withArity(name string, params []string, fn func(*vm.Thread, []vm.Value) (vm.Value, error)) func(*vm.Thread, []vm.Value) (vm.Value, error) {
	lo, hi, ok := bounds(name, params)
	if !ok {
		return fn
	}
	return func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		if n := len(args); n < lo || hi >= 0 && n > hi {
			return vm.Nil, arityErr(name, params, lo, hi, n)
		}
		return fn(t, args)
	}
}

// maxArgs is the Builtin.MaxArgs of name with parameters params: the
// most arguments it takes when more than params (-1: any number), else
// 0.
func maxArgs(name string, params []string) int {
	if _, hi, ok := bounds(name, params); ok && (hi < 0 || hi > len(params)) {
		return hi
	}
	return 0
}

// bounds returns the least and most arguments name takes (most -1: any
// number), and false when it takes any number.
func bounds(name string, params []string) (lo, hi int, ok bool) {
	if b, ok := arities[name]; ok {
		return b[0], b[1], true
	}
	if len(params) == 0 {
		return 0, -1, false
	}
	return 1, len(params), true
}

func arityErr(name string, params []string, lo, hi, n int) error {
	var want string
	switch {
	case hi < 0:
		want = "at least " + count(lo)
	case lo == hi:
		want = count(lo)
	case lo+1 == hi:
		want = strconv.Itoa(lo) + " or " + count(hi)
	default:
		want = strconv.Itoa(lo) + " to " + count(hi)
	}
	if len(params) == 0 {
		return vm.TypeErrorf("%s takes %s, got %d", name, want, n)
	}
	return vm.TypeErrorf("%s takes %s (%s), got %d", name, want, strings.Join(params, ", "), n)
}

func count(n int) string {
	if n == 1 {
		return "1 argument"
	}
	return strconv.Itoa(n) + " arguments"
}
