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
