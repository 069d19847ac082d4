package vm

import "unsafe"

// Appending to a string in a loop (out += row, s = s ++ c,
// out = "{out}{row}") copies the whole string at every step unless the
// concatenation can reuse what it copied last time; without that,
// building a page or a CSV file is quadratic.
//
// A thread builds each long concatenation result in a byte buffer and
// remembers the buffer as a tip, whose length is that of the string it
// made. A later concatenation whose left operand is a tip (the same data
// pointer, the same length) writes the rest into the buffer's spare room,
// growing it to twice the size needed when it is full, and returns a
// longer view of the same buffer, which becomes the tip. No string has
// ever seen the bytes past a tip (every string over the buffer is at most
// as long as the tip), so no value changes: strings stay immutable, and
// a shorter string over the buffer (s after s + "x" was made) is copied
// as any other string is, so a = s + "x"; b = s + "y" are two strings.
// Only the thread that made a buffer writes to it, and only past the
// tip, so a string shared with other threads (a server's module state)
// is only ever read there.

// appendMin is the length from which a concatenation result is made a
// tip: shorter ones are copied as they are, at little cost.
const appendMin = 256

// numTips is how many tips a thread remembers, most recently used first,
// so that building a long row and appending it to an accumulator do not
// forget each other.
const numTips = 4

// tipOf returns the index of the tip that s is, or -1.
func (t *Thread) tipOf(s string) int {
	if len(s) < appendMin {
		return -1
	}
	p := unsafe.StringData(s)
	for i, b := range t.tips {
		if len(b) == len(s) && unsafe.SliceData(b) == p {
			return i
		}
	}
	return -1
}

// setTip makes buf the most recent tip in place of tip i (numTips-1, the
// least recently used, for a new one).
func (t *Thread) setTip(i int, buf []byte) {
	copy(t.tips[1:i+1], t.tips[:i])
	t.tips[0] = buf
}

// room returns buf with room for n more bytes: buf itself, or a copy with
// twice the room needed (within the string limit).
func room(buf []byte, n int) []byte {
	if cap(buf)-len(buf) >= n {
		return buf
	}
	nb := make([]byte, len(buf), min(2*(len(buf)+n), max(MaxStringBytes, len(buf)+n)))
	copy(nb, buf)
	return nb
}

// addString is a + b for a String a: b's text appended.
func (t *Thread) addString(a, b Value) (Value, error) {
	if b.k != KString {
		b = Str(ToString(b))
	}
	x, y := a.AsString(), b.AsString()
	n := len(x) + len(y)
	if n > MaxStringBytes {
		return Nil, StringTooLarge("+", n)
	}
	if n < appendMin {
		return Str(x + y), nil
	}
	var buf []byte
	i := t.tipOf(x)
	if i >= 0 {
		buf = room(t.tips[i], len(y))
	} else {
		i = numTips - 1
		buf = append(make([]byte, 0, n), x...)
	}
	buf = append(buf, y...)
	t.setTip(i, buf)
	r := unsafe.String(&buf[0], n)
	if rx, ok := knownRunes(x); ok && (len(y) == 0 || y[0] < 0x80 || y[0] >= 0xC0 || len(x) == 0 || x[len(x)-1] < 0x80) {
		// (unless an incomplete character of x's end is completed by
		// y's first bytes, the characters of both)
		noteRunes(r, rx+countRunes(y))
	}
	return Str(r), nil
}
