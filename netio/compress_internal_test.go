package netio

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	crand "crypto/rand"
	"encoding/base64"
	"io"
	"strings"
	"testing"
)

// A Content-Type is compressed by its structure: text/*, and subtypes
// that are JSON, JavaScript or XML. A substring match took in ZIP
// documents whose names hold "xml" or "text" (.docx, .odt), which grew.
func TestCompressibleType(t *testing.T) {
	for ct, want := range map[string]bool{
		"text/html; charset=utf-8": true,
		"text/plain":               true,
		"TEXT/CSV":                 true,
		"application/json":         true,
		"application/problem+json": true,
		"application/x-ndjson":     true,
		"application/javascript":   true,
		"text/javascript":          true,
		"application/xml":          true,
		"image/svg+xml":            true,
		"application/atom+xml":     true,
		"text/event-stream":        false,
		"application/vnd.openxmlformats-officedocument.wordprocessingml.document": false,
		"application/vnd.oasis.opendocument.text":                                 false,
		"application/octet-stream":                                                false,
		"image/png":                                                               false,
		"json":                                                                    false,
		"":                                                                        false,
	} {
		if got := compressibleType([]byte(ct)); got != want {
			t.Errorf("%q: %v, want %v", ct, got, want)
		}
	}
}

// Text with few repeats (base64 of random bytes) was stored by the
// compressor as it is, the gzip answer a little larger than the body:
// it is a quarter smaller now, and reads back as the body. Text with
// repeats is compressed as before.
func TestEncodeShrinksTextWithFewRepeats(t *testing.T) {
	raw := make([]byte, 30000)
	crand.Read(raw)
	random := []byte(base64.StdEncoding.EncodeToString(raw))
	repeated := []byte(strings.Repeat(`{"message":"Hello, World!"},`, 2000))
	for _, c := range []struct {
		body []byte
		most float64 // of the body's size
	}{{random, 0.8}, {repeated, 0.01}} {
		for _, coding := range []string{"gzip", "deflate"} {
			out := Encode([]byte("kept"), c.body, coding)
			if !bytes.HasPrefix(out, []byte("kept")) {
				t.Fatalf("%s: dst's bytes not kept", coding)
			}
			out = out[4:]
			if float64(len(out)) > c.most*float64(len(c.body)) {
				t.Errorf("%s of %d bytes: %d bytes, want at most %.0f%%", coding, len(c.body), len(out), 100*c.most)
			}
			var rd io.Reader
			if coding == "gzip" {
				zr, err := gzip.NewReader(bytes.NewReader(out))
				if err != nil {
					t.Fatal(err)
				}
				rd = zr
			} else {
				zr, err := zlib.NewReader(bytes.NewReader(out))
				if err != nil {
					t.Fatal(err)
				}
				rd = zr
			}
			back, err := io.ReadAll(rd)
			if err != nil || !bytes.Equal(back, c.body) {
				t.Errorf("%s: read back %d bytes, %v", coding, len(back), err)
			}
		}
	}
}
