package stdlib

import (
	"math"
	"testing"

	"tova/vm"
)

func TestMath(t *testing.T) {
	runCases(t, []tc{
		{"abs", a(I(-5)), "5"},
		{"abs", a(I(5)), "5"},
		{"abs", a(F(-3.14)), "3.14"},
		{"abs", a(I(0)), "0"},
		{"abs", a(vm.Duration(-1e9)), "1s"},
		{"floor", a(F(3.7)), "3"},
		{"floor", a(F(-1.5)), "-2"},
		{"floor", a(I(5)), "5"},
		{"floor", a(F(1e300)), "1e+300"},
		{"floor", a(F(math.NaN())), "NaN"},
		{"ceil", a(F(3.2)), "4"},
		{"ceil", a(F(-1.5)), "-1"},
		{"round", a(F(3.5)), "4"},
		{"round", a(F(3.4)), "3"},
		{"round", a(F(-1.5)), "-1"},
		{"round", a(F(-2.5)), "-2"},
		{"round", a(F(0.49999999999999994)), "0"},
		{"round", a(I(7)), "7"},
		{"round", a(F(3.14159), I(2)), "3.14"},
		{"round", a(F(1234.5), I(-2)), "1200"},
		// An Int keeps its digits (it went through a Float past 2^53).
		{"round", a(I(9007199254740993), I(2)), "9007199254740993"},
		{"round", a(I(9223372036854775807), I(0)), "9223372036854775807"},
		{"round", a(I(1250), I(-2)), "1300"},
		{"round", a(I(-15), I(-1)), "-10"},
		{"round", a(I(5), I(-30)), "0"},
		{"trunc", a(F(-3.7)), "-3"},
		{"sign", a(I(-42)), "-1"},
		{"sign", a(I(0)), "0"},
		{"sign", a(F(0.5)), "1"},
		{"sqrt", a(I(16)), "4"},
		{"sqrt", a(I(2)), "1.4142135623730951"},
		{"sqrt", a(I(-1)), "NaN"},
		{"pow", a(I(2), I(10)), "1024"},
		{"pow", a(I(3), I(3)), "27"},
		{"pow", a(I(2), I(-1)), "0.5"},
		{"pow", a(F(2), I(2)), "4"},
		{"pow", a(I(-2), I(63)), "-9223372036854775808"},
		{"clamp", a(I(15), I(0), I(10)), "10"},
		{"clamp", a(I(-5), I(0), I(10)), "0"},
		{"clamp", a(I(5), I(0), I(10)), "5"},
		{"clamp", a(F(0.5), I(0), I(1)), "0.5"},
		{"sin", a(I(0)), "0"},
		{"cos", a(I(0)), "1"},
		{"atan2", a(I(1), I(1)), "0.7853981633974483"},
		{"hypot", a(I(3), I(4)), "5"},
		{"log", a(F(math.E)), "1"},
		{"ln", a(I(1)), "0"},
		{"log2", a(I(8)), "3"},
		{"log10", a(I(1000)), "3"},
		{"exp", a(I(0)), "1"},
		{"to_degrees", a(F(math.Pi)), "180"},
		{"is_nan", a(F(math.NaN())), "true"},
		{"is_nan", a(I(42)), "false"},
		{"is_finite", a(I(42)), "true"},
		{"is_finite", a(F(math.Inf(1))), "false"},
		{"is_close", a(F(0.1+0.2), F(0.3)), "true"},
		{"is_close", a(F(1), F(1.01), F(0.1)), "true"},
		{"is_close", a(F(1), F(2)), "false"},
		{"lerp", a(I(0), I(10), F(0.5)), "5"},
		{"gcd", a(I(12), I(8)), "4"},
		{"gcd", a(I(-12), I(8)), "4"},
		{"lcm", a(I(4), I(6)), "12"},
		{"lcm", a(I(0), I(6)), "0"},
		{"factorial", a(I(5)), "120"},
		{"factorial", a(I(0)), "1"},
		{"factorial", a(I(-1)), "nil"},
		{"divmod", a(I(10), I(3)), "[3, 1]"},
		{"divmod", a(I(-7), I(2)), "[-4, 1]"},
		{"divmod", a(F(7.5), I(2)), "[3, 1.5]"},
		{"mean", a(nums(1, 2, 3, 4, 5)), "3"},
		{"avg", a(L(I(1), I(2))), "1.5"},
		{"mean", a(L()), "0"},
		{"median", a(nums(1, 2, 3, 4, 5)), "3"},
		{"median", a(nums(4, 1, 3, 2)), "2.5"},
		{"median", a(L()), "nil"},
		{"mode", a(nums(1, 2, 2, 3, 3, 3)), "3"},
		{"mode", a(L(S("a"), S("b"), S("a"))), `"a"`},
		{"mode", a(L()), "nil"},
		{"mode", a(L(L(I(1)), L(I(1)), I(2))), "[1]"},
		{"stdev", a(nums(2, 4, 4, 4, 5, 5, 7, 9)), "2"},
		{"variance", a(nums(2, 4, 4, 4, 5, 5, 7, 9)), "4"},
		{"variance", a(nums(5, 5, 5)), "0"},
		{"stdev", a(L()), "0"},
		{"percentile", a(nums(1, 2, 3, 4, 5), I(50)), "3"},
		{"percentile", a(nums(1, 2, 3, 4), I(25)), "1.75"},
		{"percentile", a(nums(10, 20, 30), I(0)), "10"},
		{"percentile", a(nums(10, 20, 30), I(100)), "30"},
		{"percentile", a(L(), I(50)), "nil"},
		{"to_fixed", a(F(3.14159), I(2)), "3.14"},
		{"to_fixed", a(F(3.7), I(0)), "4"},
		// Past 100 decimals (JavaScript refuses them) a number keeps its
		// value: x * 10^d is no longer exact there.
		{"to_fixed", a(F(1.5), I(101)), "1.5"},
		{"to_fixed", a(F(0.1), I(300)), "0.1"},
		{"to_fixed", a(F(1e-300), I(400)), "1e-300"},
		{"round", a(F(123.456), I(200)), "123.456"},
		{"round", a(F(1.5), I(114)), "1.5"},
		{"round", a(F(1.25), I(1)), "1.3"},
		{"format_number", a(I(1234567)), `"1,234,567"`},
		{"format_number", a(F(1234.5), O("decimals", I(2))), `"1,234.50"`},
		{"format_number", a(I(1234567), O("separator", S("."))), `"1.234.567"`},
		{"format_number", a(I(-1234)), `"-1,234"`},
		{"format_number", a(I(123)), `"123"`},
		// Infinity as printed (Go's +Inf), and big or small Floats in
		// their digits, grouped (1e+21, 1e-7)
		{"format_number", a(F(math.Inf(1)), O("decimals", I(2))), `"Infinity"`},
		{"format_number", a(F(math.Inf(-1))), `"-Infinity"`},
		{"format_number", a(F(1e21)), `"1,000,000,000,000,000,000,000"`},
		{"format_number", a(F(1e-7)), `"0.0000001"`},
		{"format_number", a(F(1234567.891)), `"1,234,567.891"`},
		{"to_hex", a(I(255)), `"ff"`},
		{"to_binary", a(I(10)), `"1010"`},
		{"to_octal", a(I(8)), `"10"`},
		{"to_hex", a(I(-255)), `"-ff"`},
	})
	e := newEnv(t)
	kindIs(t, "floor(3.7)", e.call(t, "floor", F(3.7)), vm.KInt)
	kindIs(t, "round(2.5)", e.call(t, "round", F(2.5)), vm.KInt)
	kindIs(t, "sqrt(16)", e.call(t, "sqrt", I(16)), vm.KFloat)
	kindIs(t, "pow(2, 3)", e.call(t, "pow", I(2), I(3)), vm.KInt)
	runErrCases(t, []ec{
		{"abs", a(S("x")), "TypeError", "abs: expected Number, got String"},
		{"format_number", a(F(1.5), O("decimals", I(-1))), "ValueError", "format_number: decimals must be from 0 to 100, got -1"},
		{"format_number", a(F(1.5), O("decimals", I(101))), "ValueError", "format_number: decimals must be from 0 to 100, got 101"},
		// An alias's errors name it, not the builtin it is another name
		// of (avg's said "mean: ...").
		{"avg", a(L(S("a"))), "TypeError", "avg: expected a list of numbers, found String"},
		{"average", a(nilV), "TypeError", "average: expected List, got Nil"},
		{"round", a(I(math.MaxInt64), I(-1)), "OverflowError", "round: integer overflow"},
		{"abs", a(I(math.MinInt64)), "OverflowError", "abs: integer overflow"},
		{"floor", a(nilV), "TypeError", "floor: expected Number, got Nil"},
		{"sqrt", a(S("4")), "TypeError", "sqrt: expected Number, got String"},
		{"pow", a(I(2), I(64)), "OverflowError", "pow: integer overflow"},
		{"pow", a(I(10), I(19)), "OverflowError", "pow: integer overflow"},
		{"factorial", a(I(21)), "OverflowError", "factorial: integer overflow"},
		{"divmod", a(I(1), I(0)), "ZeroDivisionError", "divmod: division by zero"},
		{"clamp", a(S("a"), I(0), I(1)), "TypeError", "clamp: cannot compare String with Int"},
		{"mean", a(L(S("a"))), "TypeError", "mean: expected a list of numbers, found String"},
		{"percentile", a(nums(1), I(200)), "ValueError", "percentile: p must be between 0 and 100, got 200"},
		{"random_int", a(I(5), I(1)), "ValueError", "random_int: empty range 5..=1"},
		{"gcd", a(F(1.5), I(2)), "TypeError", "gcd: expected Int, got Float"},
	})
}

func TestConstants(t *testing.T) {
	for name, want := range map[string]string{"PI": "3.141592653589793", "E": "2.718281828459045", "INF": "Infinity"} {
		v, ok := vm.LookupBuiltin(name)
		if !ok {
			t.Errorf("%s is not registered", name)
			continue
		}
		eq(t, name, v, want)
	}
}

func TestRandom(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 200; i++ {
		r := e.call(t, "random")
		if f := r.AsFloat(); r.Kind() != vm.KFloat || f < 0 || f >= 1 {
			t.Fatalf("random() = %s", vm.Repr(r))
		}
		n := e.call(t, "random_int", I(1), I(6)).AsInt()
		if n < 1 || n > 6 {
			t.Fatalf("random_int(1, 6) = %d", n)
		}
		f := e.call(t, "random_float", I(-1), I(1)).AsFloat()
		if f < -1 || f >= 1 {
			t.Fatalf("random_float(-1, 1) = %v", f)
		}
	}
	eq(t, "random_int(3, 3)", e.call(t, "random_int", I(3), I(3)), "3")
	e.call(t, "random_int", I(math.MinInt64), I(math.MaxInt64))
	eq(t, "choice([])", e.call(t, "choice", L()), "nil")
	eq(t, "choice([7])", e.call(t, "choice", nums(7)), "7")
	xs := nums(1, 2, 3, 4, 5)
	sh := e.call(t, "shuffle", xs)
	eq(t, "sorted(shuffle(xs))", e.call(t, "sorted", sh), "[1, 2, 3, 4, 5]")
	eq(t, "xs after shuffle", xs, "[1, 2, 3, 4, 5]")
	s := e.call(t, "sample", xs, I(3))
	eq(t, "len(sample)", e.call(t, "len", s), "3")
	eq(t, "unique(sample)", e.call(t, "len", e.call(t, "unique", s)), "3")
	eq(t, "sample too many", e.call(t, "len", e.call(t, "sample", xs, I(10))), "5")
}
