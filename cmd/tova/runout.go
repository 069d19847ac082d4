package main

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// runFlushEvery bounds how long a printed line waits in tova run's
// output buffer.
const runFlushEvery = 50 * time.Millisecond

// runOutput is tova run's standard output when it is a pipe or a file:
// buffered, so a program printing many lines does not pay a write for
// each, yet flushed within runFlushEvery of a line being printed (a
// program that prints and then waits shows its lines; a process killed
// loses at most that much) and before anything is written to standard
// error, so the two streams keep their order in one file (`2>&1`).
type runOutput struct {
	mu    sync.Mutex
	buf   *bufio.Writer
	timer *time.Timer
	armed bool
}

func newRunOutput(w io.Writer) *runOutput {
	o := &runOutput{buf: bufio.NewWriterSize(w, 64<<10)}
	o.timer = time.AfterFunc(time.Hour, o.Flush)
	o.timer.Stop()
	return o
}

func (o *runOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n, err := o.buf.Write(p)
	if o.buf.Buffered() > 0 && !o.armed {
		o.armed = true
		o.timer.Reset(runFlushEvery)
	}
	return n, err
}

// Flush writes out what is buffered.
func (o *runOutput) Flush() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.armed = false
	o.buf.Flush()
}

// Close flushes and stops the timer.
func (o *runOutput) Close() {
	o.timer.Stop()
	o.Flush()
}

// beforeStderr is standard error that first flushes standard output.
type beforeStderr struct {
	out *runOutput
	w   io.Writer
}

func (b beforeStderr) Write(p []byte) (int, error) {
	b.out.Flush()
	return b.w.Write(p)
}
