package stdlib

import (
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"tova/vm"
)

func registerMath() {
	vm.RegisterValue("PI", vm.Float(math.Pi))
	vm.RegisterValue("E", vm.Float(math.E))
	vm.RegisterValue("INF", vm.Float(math.Inf(1)))
	vm.RegisterValue("NAN", vm.Float(math.NaN()))

	reg("abs", ps("n"), bAbs)
	reg("floor", ps("n"), roundFn("floor", math.Floor))
	reg("ceil", ps("n"), roundFn("ceil", math.Ceil))
	reg("trunc", ps("n"), roundFn("trunc", math.Trunc))
	reg("round", ps("n", "digits"), bRound)
	reg("sign", ps("n"), bSign)
	reg("sqrt", ps("n"), floatFn("sqrt", math.Sqrt))
	reg("cbrt", ps("n"), floatFn("cbrt", math.Cbrt))
	reg("pow", ps("base", "exp"), bPow)
	reg("clamp", ps("n", "lo", "hi"), bClamp)
	reg("sin", ps("n"), floatFn("sin", math.Sin))
	reg("cos", ps("n"), floatFn("cos", math.Cos))
	reg("tan", ps("n"), floatFn("tan", math.Tan))
	reg("asin", ps("n"), floatFn("asin", math.Asin))
	reg("acos", ps("n"), floatFn("acos", math.Acos))
	reg("atan", ps("n"), floatFn("atan", math.Atan))
	reg("atan2", ps("y", "x"), floatFn2("atan2", math.Atan2))
	reg("hypot", ps("a", "b"), bHypot)
	reg("log", ps("n"), floatFn("log", math.Log))
	alias("log", "ln")
	reg("log2", ps("n"), floatFn("log2", math.Log2))
	reg("log10", ps("n"), floatFn("log10", math.Log10))
	reg("exp", ps("n"), floatFn("exp", math.Exp))
	reg("to_radians", ps("deg"), floatFn("to_radians", func(x float64) float64 { return x * math.Pi / 180 }))
	reg("to_degrees", ps("rad"), floatFn("to_degrees", func(x float64) float64 { return x * 180 / math.Pi }))
	reg("is_nan", ps("n"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		v := arg(args, 0)
		return vm.Bool(v.Kind() == vm.KFloat && math.IsNaN(v.AsFloat())), nil
	})
	reg("is_finite", ps("n"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		v := arg(args, 0)
		if v.Kind() == vm.KInt {
			return vm.True, nil
		}
		return vm.Bool(v.Kind() == vm.KFloat && !math.IsNaN(v.AsFloat()) && !math.IsInf(v.AsFloat(), 0)), nil
	})
	reg("is_close", ps("a", "b", "tol"), bIsClose)
	reg("lerp", ps("a", "b", "t"), bLerp)
	reg("gcd", ps("a", "b"), bGcd)
	reg("lcm", ps("a", "b"), bLcm)
	reg("factorial", ps("n"), bFactorial)
	reg("divmod", ps("a", "b"), bDivmod)

	reg("random", nil, func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		return vm.Float(rand.Float64()), nil
	})
	reg("random_int", ps("lo", "hi"), bRandomInt)
	reg("random_float", ps("lo", "hi"), bRandomFloat)
	reg("choice", ps("seq"), bChoice)
	reg("shuffle", ps("seq"), bShuffle)
	reg("sample", ps("seq", "n", "seed"), bSample)

	regH("mean", ps("seq"), bMean)
	alias("mean", "avg", "average")
	regH("median", ps("seq"), bMedian)
	regH("mode", ps("seq"), bMode)
	regH("variance", ps("seq"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		return spread(t, "variance", args, false)
	})
	regH("stdev", ps("seq"), func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		return spread(t, "stdev", args, true)
	})
	alias("stdev", "std")
	regH("percentile", ps("seq", "p"), bPercentile)

	reg("to_fixed", ps("n", "digits"), bToFixed)
	reg("format_number", ps("n", "opts"), bFormatNumber)
	reg("to_hex", ps("n"), baseFn("to_hex", 16))
	reg("to_binary", ps("n"), baseFn("to_binary", 2))
	reg("to_octal", ps("n"), baseFn("to_octal", 8))
}

// number returns argument i, checking it is an Int or a Float.
func number(fname string, args []vm.Value, i int) (vm.Value, error) {
	v := arg(args, i)
	if !v.IsNumber() {
		return vm.Nil, typeErr(fname, "Number", v)
	}
	return v, nil
}

func floatFn(name string, f func(float64) float64) func(*vm.Thread, []vm.Value) (vm.Value, error) {
	return func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		x, err := numArg(name, args, 0)
		if err != nil {
			return vm.Nil, err
		}
		return vm.Float(f(x)), nil
	}
}

func floatFn2(name string, f func(float64, float64) float64) func(*vm.Thread, []vm.Value) (vm.Value, error) {
	return func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		x, err := numArg(name, args, 0)
		if err != nil {
			return vm.Nil, err
		}
		y, err := numArg(name, args, 1)
		if err != nil {
			return vm.Nil, err
		}
		return vm.Float(f(x, y)), nil
	}
}

// roundedInt returns the integral float f as an Int when it fits, else
// as a Float (NaN, infinities, huge values).
func roundedInt(f float64) vm.Value {
	if v := floatToInt(f); !v.IsNil() && !math.IsInf(f, 0) {
		return v
	}
	return vm.Float(f)
}

func roundFn(name string, f func(float64) float64) func(*vm.Thread, []vm.Value) (vm.Value, error) {
	return func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		v, err := number(name, args, 0)
		if err != nil {
			return vm.Nil, err
		}
		if v.Kind() == vm.KInt {
			return v, nil
		}
		return roundedInt(f(v.AsFloat())), nil
	}
}

// jsRound rounds half up, as JavaScript's Math.round does.
func jsRound(x float64) float64 {
	f := math.Floor(x)
	if x-f >= 0.5 {
		return f + 1
	}
	return f
}

func bRound(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	v, err := number("round", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	if has(args, 1) {
		d, err := intArg("round", args, 1)
		if err != nil {
			return vm.Nil, err
		}
		if v.Kind() == vm.KInt {
			return roundIntDigits(v.AsInt(), d) // (exact: a Float lost digits past 2^53)
		}
		return vm.Float(roundDigits(v.Number(), d)), nil
	}
	if v.Kind() == vm.KInt {
		return v, nil
	}
	return roundedInt(jsRound(v.AsFloat())), nil
}

// roundIntDigits rounds an Int to d decimal places, as round does a
// Float (a half up): with d >= 0 it is n; with d < 0, n to a multiple of
// 10^-d, an Int, or an OverflowError past the Int range.
func roundIntDigits(n, d int64) (vm.Value, error) {
	if d >= 0 {
		return vm.Int(n), nil
	}
	if d < -19 {
		return vm.Int(0), nil // |n| < 10^19: less than half of 10^-d
	}
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(-d), nil)
	num := new(big.Int).Add(new(big.Int).Mul(big.NewInt(n), big.NewInt(2)), p) // 2n + p
	q := new(big.Int).Div(num, new(big.Int).Mul(p, big.NewInt(2)))             // floor((n + p/2) / p)
	r := q.Mul(q, p)
	if !r.IsInt64() {
		return vm.Nil, overflowErr("round")
	}
	return vm.Int(r.Int64()), nil
}

func roundDigits(x float64, d int64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	if d >= decimalsHeld(x) {
		return x // it has no more decimals than that
	}
	d = min(max(d, -308), 308)
	p := math.Pow(10, float64(d))
	r := jsRound(x*p) / p
	if math.IsInf(r, 0) || math.IsNaN(r) {
		return x
	}
	return r
}

// decimalsHeld is how many decimals the shortest text of x (finite)
// has: 1.5 has 1, 1e-300 has 300, 1200.0 has none. Rounding x to as
// many or more is x; x * 10^d would no longer be exact there.
func decimalsHeld(x float64) int64 {
	t := strconv.FormatFloat(x, 'e', -1, 64) // [-]d[.ddd]e±x
	mant, exp, _ := strings.Cut(t, "e")
	e, _ := strconv.Atoi(exp)
	digits := len(strings.TrimLeft(strings.Replace(mant, ".", "", 1), "-"))
	return max(int64(digits-1-e), 0)
}

func bAbs(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	v := arg(args, 0)
	switch v.Kind() {
	case vm.KInt:
		n := v.AsInt()
		if n == math.MinInt64 {
			return vm.Nil, overflowErr("abs")
		}
		if n < 0 {
			return vm.Int(-n), nil
		}
		return v, nil
	case vm.KFloat:
		return vm.Float(math.Abs(v.AsFloat())), nil
	case vm.KDuration:
		if d := v.AsDuration(); d < 0 {
			return vm.Duration(-d), nil
		}
		return v, nil
	}
	return vm.Nil, typeErr("abs", "Number", v)
}

func bSign(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	v, err := number("sign", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	x := v.Number()
	switch {
	case x > 0:
		return vm.Int(1), nil
	case x < 0:
		return vm.Int(-1), nil
	case math.IsNaN(x):
		return v, nil
	}
	return vm.Int(0), nil
}

// powInt computes b**e for e >= 0 with overflow detection.
func powInt(b, e int64) (int64, bool) {
	r := int64(1)
	for e > 0 {
		if e&1 == 1 {
			var ok bool
			if r, ok = mulInt(r, b); !ok {
				return 0, false
			}
		}
		e >>= 1
		if e > 0 {
			var ok bool
			if b, ok = mulInt(b, b); !ok {
				return 0, false
			}
		}
	}
	return r, true
}

func bPow(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	b, err := number("pow", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	e, err := number("pow", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	if b.Kind() == vm.KInt && e.Kind() == vm.KInt && e.AsInt() >= 0 {
		r, ok := powInt(b.AsInt(), e.AsInt())
		if !ok {
			return vm.Nil, overflowErr("pow")
		}
		return vm.Int(r), nil
	}
	return vm.Float(math.Pow(b.Number(), e.Number())), nil
}

func bClamp(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	// As the reference's Math.min(Math.max(n, lo), hi): NaN anywhere is
	// NaN (it was hi, which looked a valid value), and bounds the wrong
	// way round give hi.
	n, lo, hi := arg(args, 0), arg(args, 1), arg(args, 2)
	if isNaN(n) || isNaN(lo) || isNaN(hi) {
		return vm.Float(math.NaN()), nil
	}
	c, err := compare(n, lo)
	if err != nil {
		return vm.Nil, vm.TypeErrorf("clamp: %s", errMessage(err))
	}
	if c < 0 {
		n = lo
	}
	c, err = compare(n, hi)
	if err != nil {
		return vm.Nil, vm.TypeErrorf("clamp: %s", errMessage(err))
	}
	if c > 0 {
		return hi, nil
	}
	return n, nil
}

// bHypot is JavaScript's Math.hypot: the square root of the sum of
// the squares of any number of numbers.
func bHypot(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	r := 0.0
	for i := range args {
		x, err := numArg("hypot", args, i)
		if err != nil {
			return vm.Nil, err
		}
		r = math.Hypot(r, x)
	}
	return vm.Float(r), nil
}

func bIsClose(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	a, err := numArg("is_close", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	b, err := numArg("is_close", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	tol := 1e-9
	if has(args, 2) {
		if tol, err = numArg("is_close", args, 2); err != nil {
			return vm.Nil, err
		}
	}
	return vm.Bool(math.Abs(a-b) <= tol), nil
}

func bLerp(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	a, err := numArg("lerp", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	b, err := numArg("lerp", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	x, err := numArg("lerp", args, 2)
	if err != nil {
		return vm.Nil, err
	}
	return vm.Float(a + (b-a)*x), nil
}

func gcd(a, b int64) int64 {
	if a < 0 {
		a = -a
	}
	if b < 0 {
		b = -b
	}
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func bGcd(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	a, err := intArg("gcd", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	b, err := intArg("gcd", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	if a == math.MinInt64 || b == math.MinInt64 {
		return vm.Nil, overflowErr("gcd")
	}
	return vm.Int(gcd(a, b)), nil
}

func bLcm(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	a, err := intArg("lcm", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	b, err := intArg("lcm", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	if a == 0 || b == 0 {
		return vm.Int(0), nil
	}
	if a == math.MinInt64 || b == math.MinInt64 {
		return vm.Nil, overflowErr("lcm")
	}
	r, ok := mulInt(a/gcd(a, b), b)
	if !ok {
		return vm.Nil, overflowErr("lcm")
	}
	if r < 0 {
		r = -r
	}
	return vm.Int(r), nil
}

func bFactorial(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	n, err := intArg("factorial", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	if n < 0 {
		return vm.Nil, nil
	}
	r := int64(1)
	for i := int64(2); i <= n; i++ {
		var ok bool
		if r, ok = mulInt(r, i); !ok {
			return vm.Nil, overflowErr("factorial")
		}
	}
	return vm.Int(r), nil
}

func bDivmod(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	a, err := number("divmod", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	b, err := number("divmod", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	if a.Kind() == vm.KInt && b.Kind() == vm.KInt {
		x, y := a.AsInt(), b.AsInt()
		if y == 0 {
			return vm.Nil, vm.Errorf("ZeroDivisionError", "divmod: division by zero")
		}
		if x == math.MinInt64 && y == -1 {
			return vm.Nil, overflowErr("divmod")
		}
		q, r := x/y, x%y
		if r != 0 && (r < 0) != (y < 0) {
			q--
			r += y
		}
		return newList([]vm.Value{vm.Int(q), vm.Int(r)}), nil
	}
	x, y := a.Number(), b.Number()
	q := math.Floor(x / y)
	return newList([]vm.Value{vm.Float(q), vm.Float(x - q*y)}), nil
}

// ---------------------------------------------------------------- random

func bRandomInt(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	lo, err := intArg("random_int", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	hi, err := intArg("random_int", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	if hi < lo {
		return vm.Nil, valueErr("random_int: empty range %d..=%d", lo, hi)
	}
	span := uint64(hi-lo) + 1
	if span == 0 {
		return vm.Int(int64(rand.Uint64())), nil
	}
	return vm.Int(lo + int64(rand.Uint64N(span))), nil
}

func bRandomFloat(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	lo, err := numArg("random_float", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	hi, err := numArg("random_float", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	return vm.Float(lo + rand.Float64()*(hi-lo)), nil
}

func bChoice(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	xs, err := elems(t, "choice", arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	if len(xs) == 0 {
		return vm.Nil, nil
	}
	return xs[rand.IntN(len(xs))], nil
}

func bShuffle(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	xs, err := copyElems(t, "shuffle", arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	rand.Shuffle(len(xs), func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
	return newList(xs), nil
}

// bSample: sample(xs, n, seed: s) is n elements of xs (a fraction of
// them for n < 1) drawn at random, in the order drawn. With an Int seed
// it is the reference's table_sample, so that a seed picks the rows it
// picks there (all of them, in their order, when n reaches their
// number).
func bSample(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	xs, err := copyElems(t, "sample", arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	n, err := sampleCount("sample", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	if has(args, 2) {
		seed, err := intArg("sample", args, 2)
		if err != nil {
			return vm.Nil, err
		}
		rows := sampleRows(xs, n, xorshift128(seed))
		if rows == nil {
			rows = []vm.Value{}
		}
		return newList(rows), nil
	}
	return newList(drawSample(xs, sampleSize(n, len(xs)), rand.Float64)), nil
}

// ---------------------------------------------------------------- statistics

func numbers(t *vm.Thread, fname string, seq vm.Value) ([]float64, error) {
	var out []float64
	if n := seqLen(seq); n > 0 {
		out = make([]float64, 0, n)
	}
	err := iterate(t, fname, seq, func(v vm.Value, _ int) error {
		if !v.IsNumber() {
			return vm.TypeErrorf("%s: expected a list of numbers, found %s", fname, vm.TypeName(v))
		}
		out = append(out, v.Number())
		return nil
	})
	return out, err
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func bMean(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	xs, err := numbers(t, "mean", arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	if len(xs) == 0 {
		return vm.Int(0), nil
	}
	return vm.Float(mean(xs)), nil
}

func bMedian(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	xs, err := numbers(t, "median", arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	if len(xs) == 0 {
		return vm.Nil, nil
	}
	slices.Sort(xs)
	m := len(xs) / 2
	if len(xs)%2 == 1 {
		return vm.Float(xs[m]), nil
	}
	return vm.Float((xs[m-1] + xs[m]) / 2), nil
}

func bMode(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	xs, err := elems(t, "mode", arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	counts := map[hkey]int{}
	best, bestN := vm.Nil, 0
	var slow []vm.Value
	var slowN []int
	for _, x := range xs {
		n := 0
		if k, ok := hashKey(x); ok {
			counts[k]++
			n = counts[k]
		} else {
			i := slices.IndexFunc(slow, func(y vm.Value) bool { return vm.Equal(x, y) })
			if i < 0 {
				slow, slowN = append(slow, x), append(slowN, 0)
				i = len(slow) - 1
			}
			slowN[i]++
			n = slowN[i]
		}
		if n > bestN {
			best, bestN = x, n
		}
	}
	return best, nil
}

func spread(t *vm.Thread, fname string, args []vm.Value, root bool) (vm.Value, error) {
	xs, err := numbers(t, fname, arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	if len(xs) == 0 {
		return vm.Int(0), nil
	}
	m := mean(xs)
	s := 0.0
	for _, x := range xs {
		s += (x - m) * (x - m)
	}
	v := s / float64(len(xs))
	if root {
		v = math.Sqrt(v)
	}
	return vm.Float(v), nil
}

func bPercentile(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	xs, err := numbers(t, "percentile", arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	pc, err := numArg("percentile", args, 1)
	if err != nil {
		return vm.Nil, err
	}
	if len(xs) == 0 {
		return vm.Nil, nil
	}
	if pc < 0 || pc > 100 || math.IsNaN(pc) {
		return vm.Nil, valueErr("percentile: p must be between 0 and 100, got %s", FormatNumber(pc))
	}
	slices.Sort(xs)
	idx := pc / 100 * float64(len(xs)-1)
	lo := int(math.Floor(idx))
	hi := int(math.Ceil(idx))
	return vm.Float(xs[lo] + (xs[hi]-xs[lo])*(idx-float64(lo))), nil
}

// ---------------------------------------------------------------- formatting

func bToFixed(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	x, err := numArg("to_fixed", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	d, err := optInt("to_fixed", args, 1, 0)
	if err != nil {
		return vm.Nil, err
	}
	if n := arg(args, 0); n.Kind() == vm.KInt && d >= 0 && (n.AsInt() > 1<<53 || n.AsInt() < -(1<<53)) {
		// An Int has no decimals to round, and past 2^53 a Float is
		// another number: the Int itself, as round(n, d) gives it.
		return n, nil
	}
	if d < 0 || d > 100 || math.IsNaN(x) || math.IsInf(x, 0) {
		return vm.Float(roundDigits(x, d)), nil
	}
	r, err := strconv.ParseFloat(toFixed(x, int(d)), 64)
	if err != nil {
		return vm.Float(roundDigits(x, d)), nil
	}
	return vm.Float(r), nil
}

// toFixed formats x with d decimals as JavaScript's toFixed does: the
// value x holds (2.675 is 2.67499…, so 2.67) rounded to the nearest,
// an exact half away from zero (2.5 is 3, -0.125 is -0.13), where Go's
// formatting would round it to even.
func toFixed(x float64, d int) string {
	text := strconv.FormatFloat(x, 'f', d, 64)
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return text
	}
	if next := strconv.FormatFloat(math.Abs(x), 'f', d+1, 64); next[len(next)-1] != '5' {
		return text // not a half: the digit after the last kept one is exact only if it is a 5
	}
	r := new(big.Rat).SetFloat64(math.Abs(x))
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d)), nil)))
	if r.Denom().Cmp(big.NewInt(2)) != 0 {
		return text
	}
	// An exact half: the larger neighbour, as a decimal of d places.
	n := new(big.Int).Quo(r.Num(), r.Denom())
	n.Add(n, big.NewInt(1))
	digits := n.String()
	if len(digits) <= d {
		digits = strings.Repeat("0", d-len(digits)+1) + digits
	}
	out := digits
	if d > 0 {
		out = digits[:len(digits)-d] + "." + digits[len(digits)-d:]
	}
	if x < 0 {
		out = "-" + out
	}
	return out
}

func bFormatNumber(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	x, err := number("format_number", args, 0)
	if err != nil {
		return vm.Nil, err
	}
	sep, decimals := ",", int64(-1)
	if opts := arg(args, 1); opts.Kind() == vm.KObject {
		if err := checkOptions("format_number", opts, "decimals", "separator"); err != nil {
			return vm.Nil, err
		}
		if s := field(opts, "separator"); s.Kind() == vm.KString {
			sep = s.AsString()
		} else if !s.IsNil() {
			return vm.Nil, vm.TypeErrorf("format_number: the option separator must be a String, got %s", vm.TypeName(s))
		}
		d, ok, err := intOption("format_number", opts, "decimals")
		if err != nil {
			return vm.Nil, err
		}
		if ok && (d < 0 || d > 100) {
			// (taken as 0 or 20 without a word; JavaScript's RangeError)
			return vm.Nil, vm.Errorf("ValueError", "format_number: decimals must be from 0 to 100, got %d", d)
		}
		if ok {
			decimals = d
		}
	} else if !opts.IsNil() {
		return vm.Nil, typeErr("format_number", "Object of options", opts)
	}
	var text string
	switch {
	case x.Kind() == vm.KFloat && (math.IsNaN(x.AsFloat()) || math.IsInf(x.AsFloat(), 0)):
		return vm.Str(FormatNumber(x.AsFloat())), nil // Infinity, as printed (Go's +Inf)
	case decimals >= 0 && x.Kind() == vm.KInt:
		text = strconv.FormatInt(x.AsInt(), 10)
		if decimals > 0 {
			text += "." + strings.Repeat("0", int(decimals))
		}
	case decimals >= 0:
		text = toFixed(x.AsFloat(), int(decimals))
	case x.Kind() == vm.KInt:
		text = strconv.FormatInt(x.AsInt(), 10)
	default:
		// Its digits without an exponent (1e21, 1e-7 as a person writes
		// them), which the separators then group.
		text = strconv.FormatFloat(x.AsFloat(), 'f', -1, 64)
	}
	if strings.ContainsAny(text, "eIN") {
		return vm.Str(text), nil
	}
	neg := strings.HasPrefix(text, "-")
	text = strings.TrimPrefix(text, "-")
	intPart, frac, _ := strings.Cut(text, ".")
	if n := int64(len(text)) + int64((len(intPart)-1)/3)*int64(len(sep)) + 1; n > vm.MaxStringBytes {
		return vm.Nil, vm.StringTooLarge("format_number", int(n)) // (a separator of a client's size)
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(c)
	}
	if frac != "" {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return vm.Str(b.String()), nil
}

func baseFn(name string, base int) func(*vm.Thread, []vm.Value) (vm.Value, error) {
	return func(t *vm.Thread, args []vm.Value) (vm.Value, error) {
		n, err := intArg(name, args, 0)
		if err != nil {
			return vm.Nil, err
		}
		return vm.Str(strconv.FormatInt(n, base)), nil
	}
}
