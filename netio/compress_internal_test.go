package netio

import "testing"

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
