package serve

import "testing"

func TestGCPercentFor(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, 2000},       // not measured yet: 1 MiB
		{4 * mib, 1500}, // next collection at 64 MiB
		{16 * mib, 300},
		{32 * mib, 100}, // half the floor: plain GOGC
		{1 << 30, 100},
	} {
		if got := gcPercentFor(c.live, 64*mib); got != c.want {
			t.Errorf("live %d MiB: GOGC %d, want %d", c.live/mib, got, c.want)
		}
	}
}
