package bytecode

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzDecode feeds Decode arbitrary bytes. Decode must not panic, must
// report failures as *FormatError, and whatever it accepts must encode
// back to the very same bytes. Each input is also tried with its
// trailing checksum recomputed, so that mutations reach the payload
// parsers and the validation instead of stopping at the checksum.
func FuzzDecode(f *testing.F) {
	for _, p := range []*Program{tbcSample(), tbcAllOps(), tbcMinimal()} {
		f.Add(mustEncode(f, p))
	}
	for _, c := range tbcDamaged(f) {
		f.Add(c.data)
	}
	files, _ := filepath.Glob(filepath.Join(damagedDir, "*.tbc"))
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, data)
		checkDecode(t, reseal(slices.Clone(data)))
	})
}

func checkDecode(t *testing.T, data []byte) {
	p, err := Decode(data)
	if err != nil {
		var fe *FormatError
		if !errors.As(err, &fe) || fe.Msg == "" {
			t.Fatalf("Decode error %v (%T) is not a *FormatError", err, err)
		}
		if fe.Offset < 0 || fe.Offset > len(data) {
			t.Fatalf("error offset %d outside the %d-byte input: %v", fe.Offset, len(data), err)
		}
		return
	}
	again, err := Encode(p)
	if err != nil {
		t.Fatalf("Encode rejects a decoded program: %v", err)
	}
	if !bytes.Equal(again, data) {
		t.Fatalf("re-encoding differs:\n in %x\nout %x", data, again)
	}
	var b bytes.Buffer
	if err := Disasm(&b, p); err != nil {
		t.Fatal(err)
	}
}
