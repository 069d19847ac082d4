package stdlib

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// FuzzJSON checks the JSON reader against encoding/json: it accepts
// exactly the texts encoding/json calls valid (within its nesting
// limit), and what it reads, written back by the JSON writer, decodes to
// what encoding/json decodes from the original text.
func FuzzJSON(f *testing.F) {
	for _, seed := range []string{
		`{"a":[1,2.5,-0,1e3,"x\u00e9\n",true,false,null],"b":{}}`,
		`[]`, `""`, `0`, `-1.5e-7`, `12345678901234567890`, `1e999`,
		`"\ud83d\ude00 \ud800"`, `{"a":1,"a":2}`, `[1,]`, `{"a" 1}`, `01`, `"\x"`,
		" \t\n[\n1\n] ", `[[[[[[[[[[]]]]]]]]]]`, `"` + strings.Repeat("é", 40) + `"`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ParseJSON(data)
		valid := json.Valid(data)
		if (err == nil) != valid {
			if err != nil && strings.Contains(err.Error(), "max depth") {
				return
			}
			t.Fatalf("ParseJSON(%q): err %v, but json.Valid says %v", data, err, valid)
		}
		if err != nil {
			return
		}
		var want any
		if json.Unmarshal(data, &want) != nil {
			return // valid, but out of float64's range: nothing to compare
		}
		e := newEnv(t)
		out, err := AppendJSON(e.th, nil, v)
		if err != nil {
			t.Fatalf("AppendJSON of ParseJSON(%q): %v", data, err)
		}
		var got any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("ParseJSON(%q) written back as %q: %v", data, out, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("ParseJSON(%q) written back as %q:\n got %#v\nwant %#v", data, out, got, want)
		}
	})
}
