package netio

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestCoalescedDeadlines(t *testing.T) {
	var cur atomic.Int64
	var sets []time.Time
	set := func(d time.Time) error { sets = append(sets, d); return nil }
	base := time.Unix(1_000_000, 0)
	step := func(d time.Time) {
		t.Helper()
		if err := coalesce(&cur, d, set); err != nil {
			t.Fatal(err)
		}
	}
	effective := func() time.Time { return sets[len(sets)-1] }

	step(base.Add(60 * time.Second)) // first: extended by the slack
	if len(sets) != 1 || !effective().Equal(base.Add(60*time.Second+deadlineSlack)) {
		t.Fatalf("first deadline %v", sets)
	}
	// Requests within the next second ask for slightly later deadlines
	// (and the same one again): nothing is re-armed.
	for ms := range 900 {
		step(base.Add(60*time.Second + time.Duration(ms)*time.Millisecond))
	}
	if len(sets) != 1 {
		t.Fatalf("re-armed %d times within the slack", len(sets)-1)
	}
	// Past the slack: re-armed, never earlier than asked.
	want := base.Add(62 * time.Second)
	step(want)
	if len(sets) != 2 || effective().Before(want) || effective().After(want.Add(deadlineSlack)) {
		t.Fatalf("extension beyond the slack: %v", sets)
	}
	// A shorter phase is applied exactly.
	short := base.Add(10 * time.Second)
	step(short)
	if len(sets) != 3 || !effective().Equal(short) {
		t.Fatalf("shortening: %v", sets)
	}
	// An abort (a deadline in the past) is exact too.
	past := time.Unix(1, 0)
	step(past)
	if !effective().Equal(past) {
		t.Fatalf("abort: %v", sets)
	}
	// Clearing is passed on once.
	step(time.Time{})
	step(time.Time{})
	if len(sets) != 5 || !effective().IsZero() {
		t.Fatalf("clear: %v", sets)
	}
}

// A client that stalls in the middle of its request is answered 408 and
// disconnected once ReadTimeout (plus at most the slack) has passed; an
// idle keep-alive connection is closed after IdleTimeout.
func TestReadAndIdleTimeoutsAreEnforced(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/", func(context.Context, *Request) *Response { return Text(200, "ok") })
	}, func(c *Config) {
		c.ReadTimeout = 300 * time.Millisecond
		c.IdleTimeout = 300 * time.Millisecond
	})

	stalled, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	start := time.Now()
	fmt.Fprintf(stalled, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
	resp, _ := io.ReadAll(stalled) // until the server closes
	d := time.Since(start)
	if d < 300*time.Millisecond || d > 300*time.Millisecond+deadlineSlack+time.Second {
		t.Fatalf("stalled request cut after %v", d)
	}
	if !strings.HasPrefix(string(resp), "HTTP/1.1 408") {
		t.Fatalf("stalled request answered %q", resp)
	}

	idle, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	br := bufio.NewReader(idle)
	// Keep the connection busy for longer than the timeouts: the
	// coalesced deadlines must keep moving with the requests.
	busyUntil := time.Now().Add(1500 * time.Millisecond)
	for n := 0; time.Now().Before(busyUntil); n++ {
		fmt.Fprintf(idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		line, err := br.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "HTTP/1.1 200") {
			t.Fatalf("request %d on a busy keep-alive connection: %q %v", n, line, err)
		}
		for line != "\r\n" {
			if line, err = br.ReadString('\n'); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := br.Discard(2); err != nil { // "ok"
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	start = time.Now()
	_, err = br.ReadByte() // idle now: the server closes
	d = time.Since(start)
	if err == nil || d > 300*time.Millisecond+deadlineSlack+time.Second {
		t.Fatalf("idle connection: %v after %v", err, d)
	}
}
