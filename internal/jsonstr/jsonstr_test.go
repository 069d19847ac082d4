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
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Errorf("%s is not JSON: %v", got, err)
		}
	}
}
