package logbuf

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"tova/internal/testutil"
)

// Lines written concurrently to many shards all come out, whole, and the
// lines of each shard in the order written.
func TestLinesComeOutWholeAndInShardOrder(t *testing.T) {
	var out testutil.Buffer
	w := New(&out, 5*time.Millisecond)
	const writers, lines = 8, 3000
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range lines {
				fmt.Fprintf(shardWriter{w, g}, "{\"g\":%d,\"n\":%d}\n", g, n)
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
			t.Fatalf("shard %d: line %d after %d", g, n, next[g]-1)
		}
		next[g]++
	}
	for g, n := range next {
		if n != lines {
			t.Fatalf("shard %d: %d of %d lines", g, n, lines)
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

	var full bytes.Buffer
	w2 := New(&full, time.Hour)
	line := strings.Repeat("x", 1023) + "\n"
	for range flushAt / len(line) {
		_, _ = w2.Write([]byte(line))
	}
	if full.Len() != flushAt {
		t.Fatalf("a full buffer wrote %d bytes, want %d", full.Len(), flushAt)
	}
	w2.Close()
}
