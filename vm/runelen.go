package vm

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
	"unsafe"
)

// RuneLen is the number of characters of s, as len counts them (a byte
// that is no UTF-8 is one). For a long string the answer is kept, for
// the last ones asked of (see runeLenFacts): a loop such as `while i < len(s) { s[i] ... }`
// asks of the same text again and again, and counting it each time made
// the loop quadratic. (A string's bytes never change, and the kept
// string keeps them alive, so its address and length name its text.)
func RuneLen(s string) int {
	if len(s) < runeLenKept {
		return countRunes(s)
	}
	return factOf(s, false).runes
}

// runeLenKept is the shortest string whose count RuneLen keeps.
const runeLenKept = 256

// runeLenFact is what is known of a long string: its characters, and
// for one not all ASCII (once an index into it was asked for) where
// every markEvery-th character begins.
type runeLenFact struct {
	s     string
	runes int
	marks []int
}

const markEvery = 64

// runeLenFacts keep the facts of the last long strings asked of, each
// in the place its address picks (two texts compared character by
// character, a[i] == b[i], mostly keep both).
var runeLenFacts [16]atomic.Pointer[runeLenFact] // (16: h>>60 picks one)

// factOf is the fact of long string s, with its marks if marked (and
// the string is not all ASCII).
func factOf(s string, marked bool) *runeLenFact {
	slot := factSlot(s)
	f := slot.Load()
	if f != nil && len(f.s) == len(s) && unsafe.StringData(f.s) == unsafe.StringData(s) && (!marked || f.marks != nil || f.runes == len(s)) {
		return f
	}
	f = &runeLenFact{s: s}
	if !marked {
		f.runes = countRunes(s)
	} else if f.runes = countRunes(s); f.runes != len(s) {
		f.marks = make([]int, 0, f.runes/markEvery+1)
		for off, c := 0, 0; off < len(s); c++ {
			if c%markEvery == 0 {
				f.marks = append(f.marks, off)
			}
			_, size := utf8.DecodeRuneInString(s[off:])
			off += size
		}
	}
	slot.Store(f)
	forgetFacts()
	return f
}

// noteRunes records that long string s has n characters, known from how
// it was made (a slice of known characters, a known string and another
// appended), so that len of a string a loop remakes at each step (s =
// s[1:], out += row) is not counted from the start each time, which
// made such a loop quadratic.
func noteRunes(s string, n int) {
	if len(s) < runeLenKept {
		return
	}
	factSlot(s).Store(&runeLenFact{s: s, runes: n})
	forgetFacts()
}

// knownRunes is the number of characters of s if it costs nothing to
// tell: a short string's, counted, or a long one's kept fact.
func knownRunes(s string) (int, bool) {
	if len(s) < runeLenKept {
		return countRunes(s), true
	}
	if f := factSlot(s).Load(); f != nil && len(f.s) == len(s) && unsafe.StringData(f.s) == unsafe.StringData(s) {
		return f.runes, true
	}
	return 0, false
}

// factSlot is the place of runeLenFacts that long string s's fact is
// kept in: its address and length mixed (long strings' addresses share
// their low bits, and a prefix s[:i] is a string of its own).
func factSlot(s string) *atomic.Pointer[runeLenFact] {
	h := (uint64(uintptr(unsafe.Pointer(unsafe.StringData(s)))) ^ uint64(len(s))*0x9E3779B97F4A7C15) * 0x9E3779B97F4A7C15
	return &runeLenFacts[h>>60]
}

// forgetFacts starts, once, the forgetting of the kept facts.
func forgetFacts() {
	forgetFactsLater.Do(func() {
		// A kept string keeps the memory it lies in (a large file read,
		// a request's body) from the collector: the facts are forgotten
		// every second, which costs a loop over a long string one count.
		go func() {
			for range time.Tick(time.Second) {
				for i := range runeLenFacts {
					runeLenFacts[i].Store(nil)
				}
			}
		}()
	})
}

var forgetFactsLater sync.Once

// RuneOffset is the byte offset in s where character i begins: 0 for
// i <= 0, len(s) from its length on. Asked again of a long string (a
// loop calling char_at or substr), it does not count from the start.
func RuneOffset(s string, i int) int {
	if i <= 0 {
		return 0
	}
	if len(s) < runeLenKept {
		off := 0
		for ; i > 0 && off < len(s); i-- {
			if s[off] < utf8.RuneSelf {
				off++
			} else {
				_, size := utf8.DecodeRuneInString(s[off:])
				off += size
			}
		}
		return off
	}
	return runeOffset(s, RuneLen(s), i)
}

// runeOffset is the byte offset in s, of n characters, where character
// i (0 <= i <= n) begins.
func runeOffset(s string, n int, i int) int {
	if n == len(s) {
		return i
	}
	if i >= n {
		return len(s) // (past the last mark when n is a multiple of markEvery)
	}
	if k := n - i; k < markEvery && len(s) >= runeLenKept {
		// Near the end (s[len(s) - 3:]): walked back, not from marks,
		// which a string remade at each step would have made again each
		// time. (An invalid byte read backward may not be the
		// character it is read forward as: then from the marks.)
		off := len(s)
		for ; k > 0; k-- {
			r, size := utf8.DecodeLastRuneInString(s[:off])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			off -= size
		}
		if k == 0 {
			return off
		}
	}
	off, c := 0, 0
	if i < markEvery {
		// near the start (s[1:], s[0]): walked, without marks
		for ; c < i && off < len(s); c++ {
			_, size := utf8.DecodeRuneInString(s[off:])
			off += size
		}
		return off
	}
	if len(s) >= runeLenKept {
		f := factOf(s, true)
		off, c = f.marks[i/markEvery], i/markEvery*markEvery
	}
	for ; c < i && off < len(s); c++ {
		_, size := utf8.DecodeRuneInString(s[off:])
		off += size
	}
	return off
}

// countRunes counts the characters of s, 8 ASCII bytes at a time.
func countRunes(s string) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[i:]), 8))&0x8080808080808080 != 0 {
			return i + utf8.RuneCountInString(s[i:])
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return i + utf8.RuneCountInString(s[i:])
		}
	}
	return len(s)
}

// isASCII reports whether s is all ASCII.
func isASCII(s string) bool { return RuneLen(s) == len(s) }
