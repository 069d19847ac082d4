package vm

import (
	"context"
	"math/rand"
	"strings"
	"testing"
	"unicode/utf8"
)

// Indexing and slicing a long string give what walking its characters
// gives, at every place (around the kept marks too), whether or not its
// facts are kept from an earlier ask, and for bytes that are no UTF-8.
func TestLongStringIndexAndSlice(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	parts := []string{"a", "é", "😀", "\xff", "z", "ü"}
	for round := 0; round < 20; round++ {
		var b strings.Builder
		for b.Len() < 300+rng.Intn(900) {
			b.WriteString(parts[rng.Intn(len(parts))])
		}
		s := b.String()
		if round < 3 {
			// a count of characters that is a multiple of the marks'
			s = strings.Repeat("é", 64*(5+round))
		}
		var chars []string
		for off := 0; off < len(s); {
			_, size := utf8.DecodeRuneInString(s[off:])
			chars = append(chars, s[off:off+size])
			off += size
		}
		if n, _ := Len(Str(s)); n != len(chars) {
			t.Fatalf("len = %d, want %d", n, len(chars))
		}
		for i := -len(chars) - 1; i <= len(chars); i++ {
			want := Nil
			switch {
			case i >= 0 && i < len(chars):
				want = Str(chars[i])
			case i < 0 && i >= -len(chars):
				want = Str(chars[len(chars)+i])
			}
			if got := charAt(s, int64(i)); !Equal(got, want) {
				t.Fatalf("round %d: s[%d] = %s, want %s", round, i, Repr(got), Repr(want))
			}
		}
		for k := 0; k < 200; k++ {
			lo, hi := rng.Intn(len(chars)+1), rng.Intn(len(chars)+1)
			got, err := sliceValue(Str(s), Int(int64(lo)), Int(int64(hi)), Nil)
			want := ""
			if lo < hi {
				want = strings.Join(chars[lo:hi], "")
			}
			if err != nil || got.AsString() != want {
				t.Fatalf("round %d: s[%d:%d] = %q, %v; want %q", round, lo, hi, got.AsString(), err, want)
			}
		}
	}
}

// Long strings spread over the kept facts' places: allocations of 1 KB
// and more share the low bits of their addresses, and by those alone
// every one went to the same place, two texts read a[i] == b[i] pushing
// each other out at every turn.
func TestLongStringsSpreadOverTheFacts(t *testing.T) {
	used := map[*runeLenFact]bool{}
	var keep []string
	for try := 0; try < 3 && len(used) < 8; try++ { // (the facts are forgotten every second)
		clear(used)
		for i := range 32 {
			s := strings.Repeat("é", 20000+i)
			keep = append(keep, s)
			factOf(s, false)
		}
		for i := range runeLenFacts {
			if f := runeLenFacts[i].Load(); f != nil {
				used[f] = true
			}
		}
	}
	if len(used) < 8 {
		t.Errorf("32 long strings kept in %d places of %d", len(used), len(runeLenFacts))
	}
	_ = keep
}

// The characters of a string made by appending to or slicing a long one
// are known from how it was made (len of a string a loop remakes at each
// step was counted from the start each time: quadratic), and they are
// what counting gives, also across bytes that are no UTF-8 and an
// incomplete character completed by what is appended.
func TestDerivedStringsKeepTheirCount(t *testing.T) {
	in := runTova(t, "x = 1\n")
	th := in.NewThread(context.Background())
	parts := []string{"a", "é", "😀", "\xff", "\xe2", "\x82\xac", "z", "\x82"}
	out := Str("")
	built := ""
	count := func(s string) int {
		n := 0
		for off := 0; off < len(s); n++ {
			_, size := utf8.DecodeRuneInString(s[off:])
			off += size
		}
		return n
	}
	rng := rand.New(rand.NewSource(7))
	for i := 0; i < 700; i++ {
		p := parts[rng.Intn(len(parts))]
		var err error
		if out, err = th.addString(out, Str(p)); err != nil {
			t.Fatal(err)
		}
		built += p
		if n, _ := Len(out); n != count(built) {
			t.Fatalf("step %d: len %d, want %d", i, n, count(built))
		}
		for _, lo := range []int64{1, -3} {
			sl, err := sliceValue(out, Int(lo), Nil, Nil)
			if err != nil {
				t.Fatal(err)
			}
			start := lo
			if lo < 0 {
				start = max(0, int64(count(built))+lo)
			}
			want := built[RuneOffsetSlow(built, int(start)):]
			if sl.AsString() != want {
				t.Fatalf("step %d: [%d:] = %q, want %q", i, lo, sl.AsString(), want)
			}
			if n, _ := Len(sl); n != count(want) {
				t.Fatalf("step %d: len of [%d:] %d, want %d", i, lo, n, count(want))
			}
		}
	}
}

// RuneOffsetSlow is where character i of s begins, walked.
func RuneOffsetSlow(s string, i int) int {
	off := 0
	for ; i > 0 && off < len(s); i-- {
		_, size := utf8.DecodeRuneInString(s[off:])
		off += size
	}
	return off
}
