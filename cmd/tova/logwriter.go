package main

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// logWriter batches log lines: a busy server writes one access line per
// request, and a write system call per line would cost more than serving
// the request. Lines are flushed every interval and on Close; nothing is
// dropped (a full buffer is written through).
type logWriter struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

func newLogWriter(w io.Writer, every time.Duration) *logWriter {
	l := &logWriter{w: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				l.Flush()
			case <-l.stop:
				l.Flush()
				return
			}
		}
	}()
	return l
}

func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Flush writes out what is buffered.
func (l *logWriter) Flush() {
	l.mu.Lock()
	l.w.Flush()
	l.mu.Unlock()
}

// Close flushes and stops the flusher.
func (l *logWriter) Close() {
	close(l.stop)
	<-l.done
}
