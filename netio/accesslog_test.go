package netio

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"tova/actors"
)

// The direct access line is byte for byte what zerolog writes for the
// same record (the time aside, which each takes itself).
func TestAccessLogMatchesZerolog(t *testing.T) {
	times := regexp.MustCompile(`"time":"[^"]*"`)
	for _, c := range []struct {
		server string
		req    Request
		status int
		level  zerolog.Level
	}{
		{"api", Request{Method: "GET", Path: "/json", ID: "abc-1"}, 200, zerolog.InfoLevel},
		{"", Request{Method: "POST", Path: "/a\"b\\c\n\t\x01\b\f\r/é/\xff\u2028", ID: "x.y_z"}, 404, zerolog.DebugLevel},
		{"wörker \"1\"", Request{Method: "DELETE", Path: "/", ID: "r"}, 503, zerolog.InfoLevel},
		{"api", Request{Method: "GET", Path: "/quiet", ID: "q"}, 200, zerolog.WarnLevel},
	} {
		var direct, viaZerolog bytes.Buffer
		log := zerolog.New(&viaZerolog).Level(c.level).With().Timestamp().Logger()
		start := time.Now().Add(-1234 * time.Microsecond)
		srv, err := NewServer(Config{Name: c.server, Router: NewRouter(), Pool: testPool(t), Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		srv.access(nil, &c.req, c.status, start, nil)
		srv.acc = newAccessLog(&direct, log.GetLevel(), c.server)
		srv.access(nil, &c.req, c.status, start, nil)

		want := times.ReplaceAllString(viaZerolog.String(), `"time":"T"`)
		got := times.ReplaceAllString(direct.String(), `"time":"T"`)
		// durations differ by the microseconds between the two calls
		dur := regexp.MustCompile(`"duration_ms":[0-9.]+`)
		want, got = dur.ReplaceAllString(want, `"duration_ms":D`), dur.ReplaceAllString(got, `"duration_ms":D`)
		if got != want {
			t.Errorf("direct line\n%s\nzerolog line\n%s", got, want)
		}
		if direct.Len() > 0 {
			var m map[string]any
			if err := json.Unmarshal(direct.Bytes(), &m); err != nil {
				t.Errorf("not JSON: %v: %s", err, direct.String())
			}
			if _, err := time.Parse(zerolog.TimeFieldFormat, m["time"].(string)); err != nil {
				t.Errorf("time: %v", err)
			}
			if d := m["duration_ms"].(float64); d < 1.234 || d > 1000 {
				t.Errorf("duration_ms %v", d)
			}
		}
	}
}

func testPool(t *testing.T) *actors.Pool {
	t.Helper()
	sys := actors.NewSystem(actors.Options{Name: "test"})
	p, err := sys.StartPool(actors.PoolOptions{Name: "p", Min: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sys.Stop(context.Background()) })
	return p
}
