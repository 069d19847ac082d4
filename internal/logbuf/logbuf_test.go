package logbuf

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"tova/internal/testutil"
)

// Lines written concurrently to many shards all come out, whole, and the
// lines of each shard in the order written.
func TestLinesComeOutWholeAndInShardOrder(t *testing.T) {
	testOrder(t, func(w *Writer, g int) func([]byte) {
		return func(line []byte) { _, _ = w.WriteShard(g, line) }
	})
}

// So do lines appended in place to the buffer of the CPU each writer
// runs on, with a Seq per writer, while flushes take them every
// millisecond; here the writers change CPU at random, for every line.
func TestSeqLinesComeOutInOrderAcrossCPUs(t *testing.T) {
	defer func(f func() int) { cpu = f }(cpu)
	cpu = func() int { return rand.IntN(64) }
	testOrder(t, func(w *Writer, g int) func([]byte) {
		var q Seq
		return func(line []byte) { w.Unlock(&q, append(w.Lock(&q), line...)) }
	})
}

func testOrder(t *testing.T, writer func(w *Writer, g int) func([]byte)) {
	var out testutil.Buffer
	w := New(&out, time.Millisecond)
	const writers, lines = 8, 3000
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			write := writer(w, g)
			for n := range lines {
				write(fmt.Appendf(nil, "{\"g\":%d,\"n\":%d}\n", g, n))
				if n%100 == 0 {
					fmt.Fprintf(w, "own %d %d\n", g, n) // a new epoch
				}
			}
		}()
	}
	wg.Wait()
	w.Close()
	next := make([]int, writers)
	for _, l := range out.Lines("{") {
		var g, n int
		if _, err := fmt.Sscanf(l, "{\"g\":%d,\"n\":%d}", &g, &n); err != nil {
			t.Fatalf("torn line %q", l)
		}
		if n != next[g] {
			t.Fatalf("writer %d: line %d after %d", g, n, next[g]-1)
		}
		next[g]++
	}
	for g, n := range next {
		if n != lines {
			t.Fatalf("writer %d: %d of %d lines", g, n, lines)
		}
	}
}

type shardWriter struct {
	w *Writer
	i int
}

func (s shardWriter) Write(p []byte) (int, error) { return s.w.WriteShard(s.i, p) }

// Lines come out within the interval without any Flush, and a buffer that
// fills up is written out at once.
func TestFlushesOnIntervalAndWhenFull(t *testing.T) {
	var out testutil.Buffer
	w := New(&out, 20*time.Millisecond)
	defer w.Close()
	fmt.Fprintln(w, "one")
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(out.String(), "one\n") {
		if time.Now().After(deadline) {
			t.Fatal("line not written within the interval")
		}
		time.Sleep(5 * time.Millisecond)
	}

	// A full buffer is written out at once, not at the next interval.
	var full testutil.Buffer
	w2 := New(&full, time.Hour)
	line := strings.Repeat("x", 1023) + "\n"
	for range flushAt / len(line) {
		_, _ = w2.Write([]byte(line))
	}
	deadline = time.Now().Add(2 * time.Second)
	for len(full.String()) != flushAt {
		if time.Now().After(deadline) {
			t.Fatalf("a full buffer wrote %d bytes, want %d", len(full.String()), flushAt)
		}
		time.Sleep(time.Millisecond)
	}
	w2.Close()
}

// An interval that finds nothing to write stops the ticks; the next line,
// whichever way it is written, starts them again and comes out within
// the interval.
func TestIdleWriterSleepsAndWakesForTheNextLine(t *testing.T) {
	var out testutil.Buffer
	w := New(&out, 5*time.Millisecond)
	defer w.Close()
	writes := []func(line string){
		func(line string) { _, _ = w.Write([]byte(line)) },
		func(line string) { _, _ = w.WriteShard(3, []byte(line)) },
		func(line string) {
			var q Seq
			w.Unlock(&q, append(w.Lock(&q), line...))
		},
	}
	for round := range 3 {
		for i, write := range writes {
			deadline := time.Now().Add(2 * time.Second)
			for w.gate.Awake() {
				if time.Now().After(deadline) {
					t.Fatal("the writer kept ticking with nothing to write")
				}
				time.Sleep(time.Millisecond)
			}
			line := fmt.Sprintf("round %d, write %d\n", round, i)
			write(line)
			for !strings.Contains(out.String(), line) {
				if time.Now().After(deadline) {
					t.Fatalf("%q not written out after the writer slept", line)
				}
				time.Sleep(time.Millisecond)
			}
		}
	}
}

// A line written without a shard comes out after every line buffered
// before it, whichever shard, and before every line buffered after it,
// also when a full buffer forces a flush in between.
func TestUnshardedLinesKeepTheirPlace(t *testing.T) {
	var out testutil.Buffer
	w := New(&out, time.Hour)
	for i := range 8 {
		fmt.Fprintf(shardWriter{w, i}, "before %d\n", i)
	}
	fmt.Fprintln(w, "server stopped")
	long := strings.Repeat("x", 1000)
	for n := 0; n*1000 < 2*flushAt; n++ { // fills a shard or two: a flush
		fmt.Fprintf(shardWriter{w, n % 8}, "after %d %s\n", n, long)
	}
	fmt.Fprintln(w, "the end")
	w.Close()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	stop, end := slices.Index(lines, "server stopped"), slices.Index(lines, "the end")
	if stop != 8 || end != len(lines)-1 {
		t.Fatalf("unsharded lines at %d and %d of %d", stop, end, len(lines))
	}
	for i, l := range lines {
		if (i < stop) != strings.HasPrefix(l, "before ") || (i > stop && i < end) != strings.HasPrefix(l, "after ") {
			t.Fatalf("line %d %.20q out of place", i, l)
		}
	}
}

// BenchmarkWriteShard: access-line-sized lines from many connections at
// once, each with its own shard number, written out to io.Discard.
func BenchmarkWriteShard(b *testing.B) {
	w := New(io.Discard, 50*time.Millisecond)
	defer w.Close()
	line := []byte(`{"level":"info","server":"api","method":"GET","path":"/json","status":200,"duration_ms":0.123,"request_id":"k3v0q9b1m2ta-4f1","time":"2026-11-30T16:00:00Z","message":"request"}` + "\n")
	var conns atomic.Int64
	b.SetParallelism(32)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		shard := int(conns.Add(1))
		for pb.Next() {
			_, _ = w.WriteShard(shard, line)
		}
	})
}

// stalledOut is an output whose writes block until release is closed,
// as a pipe whose reader stopped reading.
type stalledOut struct {
	release chan struct{}
	mu      sync.Mutex
	b       bytes.Buffer
}

func (s *stalledOut) Write(p []byte) (int, error) {
	<-s.release
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// A stalled output never holds up a writer: the lines are kept up to the
// buffers' bound, then dropped and counted; once the output takes writes
// again the kept lines come out, in order, and a line says how many were
// lost.
func TestStalledOutputDropsInsteadOfBlocking(t *testing.T) {
	out := &stalledOut{release: make(chan struct{})}
	w := New(out, time.Millisecond)
	line := []byte(strings.Repeat("x", 200) + "\n")
	const n = 4 * maxBuffered / 200 // well past every buffer's bound
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range n {
			_, _ = w.WriteShard(0, line)
		}
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("a writer waited on the stalled output")
	}
	close(out.release)
	w.Close()
	out.mu.Lock()
	got := out.b.String()
	out.mu.Unlock()
	kept := strings.Count(got, string(line))
	m := regexp.MustCompile(`"dropped":(\d+),"message":"log lines dropped`).FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("no line says lines were dropped (%d kept of %d)", kept, n)
	}
	dropped, _ := strconv.Atoi(m[1])
	if kept+dropped != n || kept < maxBuffered/200 {
		t.Errorf("kept %d and dropped %d of %d lines", kept, dropped, n)
	}
}

// A Writer for an output that is not a log (print's) tells onDrop how
// many lines it dropped, and writes no log line into the output.
func TestReportingWriterTellsOfDropsApart(t *testing.T) {
	out := &stalledOut{release: make(chan struct{})}
	var told atomic.Int64
	w := NewReporting(out, time.Millisecond, func(n int64) { told.Add(n) })
	line := []byte(strings.Repeat("x", 200) + "\n")
	const n = 4 * maxBuffered / 200
	for range n {
		_, _ = w.WriteShard(0, line)
	}
	close(out.release)
	w.Close()
	out.mu.Lock()
	got := out.b.String()
	out.mu.Unlock()
	kept := strings.Count(got, string(line))
	if strings.Contains(got, "dropped") || len(got) != kept*len(line) {
		t.Errorf("the output holds more than the lines: %q", got[len(got)-min(len(got), 300):])
	}
	if told.Load() == 0 || kept+int(told.Load()) != n {
		t.Errorf("kept %d, told of %d dropped, of %d lines", kept, told.Load(), n)
	}
}

// slowOut takes every write, each after a pause: an output that keeps
// going, slower than lines come.
type slowOut struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *slowOut) Write(p []byte) (int, error) {
	time.Sleep(5 * time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// A burst past the buffers' bound to an output that keeps taking
// writes loses nothing: its writers wait for room (a server printing
// megabytes at once to a file lost two lines in three).
func TestBurstToALiveOutputDropsNothing(t *testing.T) {
	out := &slowOut{}
	var told atomic.Int64
	w := NewReporting(out, 50*time.Millisecond, func(n int64) { told.Add(n) })
	line := []byte(strings.Repeat("x", 1<<20-1) + "\n") // 1 MiB lines, as printed
	const n, writers = 40, 8
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n / writers {
				_, _ = w.WriteShard(i%2, line)
			}
		}()
	}
	wg.Wait()
	w.Close()
	out.mu.Lock()
	kept := strings.Count(out.b.String(), string(line))
	out.mu.Unlock()
	if kept != n || told.Load() != 0 {
		t.Errorf("kept %d of %d lines, %d dropped", kept, n, told.Load())
	}
}

// writesOut records each Write it is given.
type writesOut struct {
	mu     sync.Mutex
	writes [][]byte
}

func (o *writesOut) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.writes = append(o.writes, bytes.Clone(p))
	return len(p), nil
}

// A flush larger than a part is written in parts that each end at a
// line's end: two Writers of one pipe (2>&1) take turns by whole writes,
// and a part cut inside a line let the other's lines in (a printed line
// was cut).
func TestFlushPartsEndAtLineEnds(t *testing.T) {
	out := &writesOut{}
	w := New(out, time.Hour)
	line := []byte(strings.Repeat("x", 9000) + "\n")
	long := []byte(strings.Repeat("y", writeChunk+10) + "\n")
	for range 3 * writeChunk / len(line) {
		_, _ = w.WriteShard(0, line)
	}
	_, _ = w.WriteShard(0, long)
	_, _ = w.WriteShard(0, line)
	w.Close()
	out.mu.Lock()
	defer out.mu.Unlock()
	if len(out.writes) < 3 {
		t.Fatalf("%d writes, want the flush in parts", len(out.writes))
	}
	for i, p := range out.writes {
		if len(p) == 0 || p[len(p)-1] != '\n' {
			t.Errorf("write %d of %d bytes ends inside a line", i, len(p))
		}
	}
}

// A long message is cut on a character's boundary, saying how much was
// left out; a short one is kept as it is.
func TestMessage(t *testing.T) {
	if got := Message("short"); got != "short" {
		t.Errorf("Message(short) = %q", got)
	}
	long := strings.Repeat("é", MaxMessage) // 2 bytes each
	got := Message(long)
	if !utf8.ValidString(got) || !strings.HasSuffix(got, "… ("+strconv.Itoa(len(long)-MaxMessage)+" more bytes)") || len(got) > MaxMessage+32 {
		t.Errorf("Message of %d bytes: %d bytes, ends %q", len(long), len(got), got[len(got)-40:])
	}
}
