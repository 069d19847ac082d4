// Package jsonstr appends JSON string literals; the VM's JSON and the
// HTTP front end's access lines share it.
package jsonstr

import (
	"encoding/binary"
	"unicode/utf8"
	"unsafe"
)

// Append writes s as a JSON string the way JavaScript's JSON.stringify
// and zerolog do: only ", \ and control characters are escaped (\b \f
// \n \r \t in short form); invalid UTF-8 becomes U+FFFD.
func Append(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	i := PlainPrefix(s)
	for i < len(s) {
		c := s[i]
		if plain[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Len is len(Append(nil, s)), counted without building it: an escape
// makes up to six bytes of one, so that a caller can refuse a string
// whose text would be too long.
func Len(s string) int {
	n := len(s) + 2
	for i := PlainPrefix(s); i < len(s); {
		c := s[i]
		switch {
		case plain[c]:
			i++
		case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f':
			n++
			i++
		case c < utf8.RuneSelf:
			n += 5 // \u00XX
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				n += 5 // \ufffd
			}
			i += size
		}
	}
	return n
}

// PlainPrefix returns the length of s's longest prefix of whole 8-byte
// words with no byte to escape, checking a word at a time: no control
// character, '"', '\\' or byte of a multi-byte UTF-8 sequence. (They are
// the bytes a JSON parser must look at inside a string, too.)
func PlainPrefix(s string) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[i:]), 8))
		// A byte is flagged if it is < 0x20, >= 0x80, '"' or '\\'
		// (a zero byte of w^'"' or w^'\\').
		q, bs := w^(ones*'"'), w^(ones*'\\')
		special := (w - ones*0x20) | w | (q-ones) & ^q | (bs-ones) & ^bs
		if special&highs != 0 {
			break
		}
	}
	return i
}

// plain marks the bytes copied as they are: printable ASCII but " and \.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()
