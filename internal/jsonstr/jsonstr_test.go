package jsonstr

import (
	"encoding/json"
	"testing"
)

func TestAppend(t *testing.T) {
	for in, want := range map[string]string{
		"":               `""`,
		"plain":          `"plain"`,
		"q\"b\\":         `"q\"b\\"`,
		"\b\f\n\r\t":     `"\b\f\n\r\t"`,
		"\x00\x1f":       `"\u0000\u001f"`,
		"é\u2028<>&":     "\"é\u2028<>&\"",
		"bad\xffbyte":    `"bad\ufffdbyte"`,
		"cut\xe2\x82":    `"cut\ufffd\ufffd"`,
		"emoji 🙂 ok\x7f": "\"emoji 🙂 ok\x7f\"",
	} {
		got := string(Append(nil, in))
		if got != want {
			t.Errorf("Append(%q) = %s, want %s", in, got, want)
		}
		if n := Len(in); n != len(got) {
			t.Errorf("Len(%q) = %d, want %d", in, n, len(got))
		}
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Errorf("%s is not JSON: %v", got, err)
		}
	}
}

// Every byte value, at every position of a string longer than a few
// words, is escaped exactly as the byte-at-a-time rule says (the word
// scan must not skip any).
func TestAppendWordScan(t *testing.T) {
	base := []byte("abcdefghijklmnopqrstuvwxyz0123456789")
	for c := 0; c < 256; c++ {
		for pos := range base {
			s := append([]byte(nil), base...)
			s[pos] = byte(c)
			got := string(Append(nil, string(s)))
			want := `"` + string(base[:pos]) + escapeByteRef(byte(c), string(s[pos:])) + `"`
			if got != want {
				t.Fatalf("byte %#x at %d: got %s, want %s", c, pos, got, want)
			}
			if n := Len(string(s)); n != len(got) {
				t.Fatalf("byte %#x at %d: Len %d, want %d", c, pos, n, len(got))
			}
		}
	}
}

// escapeByteRef escapes rest (which starts with c; the rest of it plain
// ASCII) byte by byte.
func escapeByteRef(c byte, rest string) string {
	var head string
	switch {
	case c == '"' || c == '\\':
		head = `\` + string(c)
	case c == '\b':
		head = `\b`
	case c == '\f':
		head = `\f`
	case c == '\n':
		head = `\n`
	case c == '\r':
		head = `\r`
	case c == '\t':
		head = `\t`
	case c < 0x20:
		head = `\u00` + string("0123456789abcdef"[c>>4]) + string("0123456789abcdef"[c&15])
	case c >= 0x80:
		head = `\ufffd` // a lone byte >= 0x80 is invalid UTF-8
	default:
		head = string(c)
	}
	return head + rest[1:]
}
