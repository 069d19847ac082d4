package vm

import (
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
