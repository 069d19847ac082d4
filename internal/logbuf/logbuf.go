// Package logbuf batches log lines. A busy server writes one access line
// per request, and a write system call per line would cost more than
// serving the request; one buffer behind one mutex would make every CPU
// contend for it. Lines go into one of several buffers instead (a
// connection's lines always into the same one, so they stay in order),
// and the buffers are written out every interval, when one fills up, and
// on Flush and Close. Nothing is dropped.
package logbuf

import (
	"io"
	"runtime"
	"sync"
	"time"
)

// flushAt is the size at which a buffer is written out at once.
const flushAt = 64 << 10

// Writer batches lines for an io.Writer. It is safe for concurrent use.
type Writer struct {
	out    io.Writer
	outMu  sync.Mutex
	shards []shard
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

type shard struct {
	mu  sync.Mutex
	buf []byte
	_   [32]byte // a cache line per shard
}

// New returns a Writer that writes out its buffers to out every interval.
func New(out io.Writer, every time.Duration) *Writer {
	w := &Writer{
		out:    out,
		shards: make([]shard, max(4, 2*runtime.GOMAXPROCS(0))),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	go func() {
		defer close(w.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				w.Flush()
			case <-w.stop:
				w.Flush()
				return
			}
		}
	}()
	return w
}

// Write buffers p (in shard 0).
func (w *Writer) Write(p []byte) (int, error) { return w.WriteShard(0, p) }

// WriteShard buffers p in the given shard: lines written with the same
// shard come out in the order written.
func (w *Writer) WriteShard(i int, p []byte) (int, error) {
	s := &w.shards[uint(i)%uint(len(w.shards))]
	s.mu.Lock()
	s.buf = append(s.buf, p...)
	if len(s.buf) >= flushAt {
		w.writeOut(s)
	}
	s.mu.Unlock()
	return len(p), nil
}

// writeOut writes s's buffer to out; s.mu is held.
func (w *Writer) writeOut(s *shard) {
	if len(s.buf) == 0 {
		return
	}
	w.outMu.Lock()
	_, _ = w.out.Write(s.buf)
	w.outMu.Unlock()
	if cap(s.buf) > 4*flushAt {
		s.buf = nil // a burst's: not kept
	} else {
		s.buf = s.buf[:0]
	}
}

// Flush writes out everything buffered.
func (w *Writer) Flush() {
	for i := range w.shards {
		s := &w.shards[i]
		s.mu.Lock()
		w.writeOut(s)
		s.mu.Unlock()
	}
}

// Close flushes and stops the periodic flushing; later writes are
// buffered until the next Flush.
func (w *Writer) Close() {
	w.once.Do(func() { close(w.stop) })
	<-w.done
}
