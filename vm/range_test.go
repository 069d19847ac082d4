package vm

import (
	"math"
	"testing"
)

// Last, Index and Has of a range near the largest or smallest Int
// stepped past it and wrapped (the last of range(maxInt-7, maxInt, 3)
// was found by adding 3 once more): each agrees with walking the range
// one integer at a time, in small ranges, open and closed, shifted to
// both ends of Int.
func TestRangeMethodsMatchAWalk(t *testing.T) {
	for _, base := range []int64{0, math.MaxInt64 - 8, math.MinInt64 + 8} {
		for lo := int64(-8); lo <= 8; lo++ {
			for hi := int64(-8); hi <= 8; hi++ {
				for step := int64(-4); step <= 4; step++ {
					if step != 0 {
						checkRange(t, RangeValue{Lo: base + lo, Hi: base + hi, Step: step})
						checkRange(t, RangeValue{Lo: base + lo, Hi: base + hi, Step: step, Closed: true})
					}
				}
			}
		}
	}
}

func checkRange(t *testing.T, r RangeValue) {
	t.Helper()
	var want []int64
	for x := r.Lo; r.Step > 0 && x < r.Hi || r.Step < 0 && x > r.Hi || r.Closed && x == r.Hi; x += r.Step {
		want = append(want, x)
		if x+r.Step < x != (r.Step < 0) || r.Closed && x == r.Hi {
			break // the next step would wrap, or this is the end
		}
	}
	if got := r.Count(); got != uint64(len(want)) {
		t.Fatalf("%+v: Count %d, want %d", r, got, len(want))
	}
	if len(want) > 0 && r.Last() != want[len(want)-1] {
		t.Errorf("%+v: Last %d, want %d", r, r.Last(), want[len(want)-1])
	}
	n := int64(len(want))
	for i := -n - 2; i < n+2; i++ {
		v, ok := r.Index(i)
		j := i
		if j < 0 {
			j += n
		}
		if wantOK := j >= 0 && j < n; ok != wantOK || ok && v != want[j] {
			t.Errorf("%+v: Index(%d) = %d, %v", r, i, v, ok)
		}
	}
	for d := int64(-5); d <= 21; d++ {
		x := min(r.Lo, r.Hi) + d // wraps at the ends of Int: still a question to ask
		in := false
		for _, w := range want {
			in = in || w == x
		}
		if r.Has(x) != in {
			t.Errorf("%+v: Has(%d) = %v", r, x, !in)
		}
	}
}
