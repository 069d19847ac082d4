package netio

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"tova/actors"
	"tova/internal/logbuf"
	"tova/internal/testutil"
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
		{"api", Request{Method: "GET", Path: "/odd", ID: "o"}, 99, zerolog.InfoLevel},
		{"api", Request{Method: "GET", Path: "/odd", ID: "o"}, 1000, zerolog.InfoLevel},
	} {
		var direct, viaZerolog, inPlace bytes.Buffer
		log := zerolog.New(&viaZerolog).Level(c.level).With().Timestamp().Logger()
		start := time.Now().Add(-1234 * time.Microsecond)
		srv, err := NewServer(Config{Name: c.server, Router: NewRouter(), Pool: testPool(t), Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		srv.access(nil, nil, &c.req, c.status, start, nil)
		srv.acc = newAccessLog(&direct, log.GetLevel(), c.server)
		srv.access(nil, nil, &c.req, c.status, start, nil)
		// encoded in place in a connection's line buffer
		lb := logbuf.New(&inPlace, time.Hour)
		srv.acc = newAccessLog(lb, log.GetLevel(), c.server)
		srv.access(nil, &timedConn{}, &c.req, c.status, start, nil)
		lb.Close()

		want := times.ReplaceAllString(viaZerolog.String(), `"time":"T"`)
		got := times.ReplaceAllString(direct.String(), `"time":"T"`)
		gotInPlace := times.ReplaceAllString(inPlace.String(), `"time":"T"`)
		// durations differ by the microseconds between the calls
		dur := regexp.MustCompile(`"duration_ms":[0-9.]+`)
		want, got = dur.ReplaceAllString(want, `"duration_ms":D`), dur.ReplaceAllString(got, `"duration_ms":D`)
		gotInPlace = dur.ReplaceAllString(gotInPlace, `"duration_ms":D`)
		if got != want {
			t.Errorf("direct line\n%s\nzerolog line\n%s", got, want)
		}
		if gotInPlace != want {
			t.Errorf("line encoded in place\n%s\nzerolog line\n%s", gotInPlace, want)
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

// shardLog records which shard each access line was written with.
type shardLog struct {
	mu     sync.Mutex
	shards map[string]int // request id → shard
}

func (s *shardLog) Write(p []byte) (int, error) { return s.WriteShard(-1, p) }

func (s *shardLog) WriteShard(shard int, p []byte) (int, error) {
	var line struct {
		ID string `json:"request_id"`
	}
	if err := json.Unmarshal(p, &line); err != nil {
		return 0, err
	}
	s.mu.Lock()
	s.shards[line.ID] = shard
	s.mu.Unlock()
	return len(p), nil
}

// A ShardWriter access log gets every line of a connection with that
// connection's shard, and different connections' lines with different
// shards.
func TestAccessLinesOfAConnectionShareAShard(t *testing.T) {
	t.Parallel()
	sl := &shardLog{shards: map[string]int{}}
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/", func(context.Context, *Request) *Response { return Text(200, "ok") })
	}, func(c *Config) { c.AccessLog = sl })
	connShards := make([]int, 3)
	for c := range connShards {
		conn := ts.dial()
		for n := range 3 {
			id := fmt.Sprintf("conn%d-req%d", c, n)
			fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\nX-Request-ID: %s\r\n\r\n", id)
			readResponse(t, conn)
			sl.mu.Lock()
			shard, ok := sl.shards[id]
			sl.mu.Unlock()
			if !ok || shard < 0 {
				t.Fatalf("%s: access line written with shard %d (%v)", id, shard, ok)
			}
			if n == 0 {
				connShards[c] = shard
			} else if shard != connShards[c] {
				t.Fatalf("%s: shard %d, earlier requests of the connection had %d", id, shard, connShards[c])
			}
		}
		conn.Close()
	}
	if connShards[0] == connShards[1] || connShards[1] == connShards[2] {
		t.Fatalf("connections share shards: %v", connShards)
	}
}

// Through a logbuf.Writer, each connection's access lines go into a line
// buffer of its own: with connections served at once on every CPU and
// flushes between their requests, every line comes out, whole, and each
// connection's lines in the order of its requests.
func TestAccessLinesOfAConnectionInOrder(t *testing.T) {
	t.Parallel()
	var out testutil.Buffer
	lw := logbuf.New(&out, time.Millisecond)
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/", func(context.Context, *Request) *Response { return Text(200, "ok") })
	}, func(c *Config) { c.AccessLog = lw })
	const conns, reqs = 6, 300
	errs := make(chan error, conns)
	ts.onConns(conns, func(c int, conn net.Conn, br *bufio.Reader) {
		for n := range reqs {
			if _, _, err := getOn(conn, br, "/", fmt.Sprintf("X-Request-ID: c%d-%d\r\n", c, n)); err != nil {
				errs <- err
				return
			}
		}
	})
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	lw.Close()
	next := make([]int, conns)
	for _, l := range out.Lines("{") {
		var line struct {
			ID string `json:"request_id"`
		}
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("torn line %q: %v", l, err)
		}
		var c, n int
		if _, err := fmt.Sscanf(line.ID, "c%d-%d", &c, &n); err != nil {
			t.Fatalf("id %q", line.ID)
		}
		if n != next[c] {
			t.Fatalf("connection %d: request %d's line after request %d's", c, n, next[c]-1)
		}
		next[c]++
	}
	for c, n := range next {
		if n != reqs {
			t.Fatalf("connection %d: %d of %d lines", c, n, reqs)
		}
	}
}

// The time field follows zerolog.TimeFieldFormat to its millisecond: two
// lines a few milliseconds apart have different times.
func TestAccessLogTimeMilliseconds(t *testing.T) {
	old := zerolog.TimeFieldFormat
	zerolog.TimeFieldFormat = "2006-01-02T15:04:05.000Z07:00"
	defer func() { zerolog.TimeFieldFormat = old }()
	a := newAccessLog(io.Discard, zerolog.InfoLevel, "")
	at := time.Date(2026, 12, 1, 10, 0, 0, 123_456_789, time.UTC)
	if got := string(a.timeField(at)); got != `"time":"2026-12-01T10:00:00.123Z",` {
		t.Errorf("timeField = %s", got)
	}
	if got := string(a.timeField(at.Add(5 * time.Millisecond))); got != `"time":"2026-12-01T10:00:00.128Z",` {
		t.Errorf("timeField 5 ms later = %s", got)
	}
}
