package netio

import (
	"math/rand/v2"
	"testing"
)

// fieldValue turns each control character but a tab into a space, at any
// place: in the words read 8 bytes at a time, across their edges, and in
// the bytes after the last whole word.
func TestFieldValue(t *testing.T) {
	t.Parallel()
	want := func(v string) string {
		b := []byte(v)
		for i, c := range b {
			if c < ' ' && c != '\t' || c == 0x7f {
				b[i] = ' '
			}
		}
		return string(b)
	}
	for _, v := range []string{
		"", "application/json", "text/plain; charset=utf-8", "a\tb", "tab\tinside a long value, still kept",
		"bad\r\nX-Injected: 1", "nul\x00", "0123456\x7f", "01234567\x7f", "012345678\x1f", "\x01234567",
		"caf\xc3\xa9 \xff\x80 obs-text", "0123456789abcdef\n",
	} {
		if got := fieldValue(v); got != want(v) {
			t.Errorf("fieldValue(%q) = %q, want %q", v, got, want(v))
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("abc \t\x00\x01\x1f\x20\x7e\x7f\x80\xff\r\n")
	for range 20000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			if rng.IntN(8) == 0 {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			} else {
				b[i] = byte(' ' + rng.IntN(95))
			}
		}
		if got := fieldValue(string(b)); got != want(string(b)) {
			t.Fatalf("fieldValue(%q) = %q, want %q", b, got, want(string(b)))
		}
	}
}
