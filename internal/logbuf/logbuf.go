// Package logbuf batches log lines. A busy server writes one access line
// per request, and a write system call per line would cost more than
// serving the request; one buffer behind one mutex would make every CPU
// contend for it. Lines go into one of several buffers instead, and the
// buffers are written out every interval, when one fills up, and on
// Flush and Close.
//
// A writer does not wait on the output: a line is only appended to a
// buffer. Nothing is dropped while the output keeps up. A burst larger
// than the buffers hold (megabytes printed at once) fills a buffer
// while the output still takes writes: its writer then waits for the
// flush to make room, as long as the output goes on taking them. When
// it stalls (a pipe whose reader stopped reading: a stuck log shipper,
// a paused `| less`: a write of it has taken no bytes for stallAfter),
// the buffers keep the lines up to maxBuffered each; lines past that are
// dropped and counted, at once, and once the output takes writes again a
// line says how many were lost. Serving goes on meanwhile.
//
// Lines written without a shard (Write: a server's own records, such as
// "server stopped" or a failed request's error) keep their place among
// the sharded ones: each starts an epoch, every buffered line belongs to
// the epoch in which it was written, and a flush writes the epochs in
// order. So the access lines of requests answered before a server
// stopped come out before its "server stopped", whichever buffers they
// were in.
//
// Access lines go into the buffer of the CPU that encodes them (Lock),
// in place: its lock and its last bytes are then in that CPU's cache,
// where a buffer shared with other CPUs would have to be fetched from
// theirs for every line, which costs as much as encoding the line. The
// goroutine serving a connection moves between CPUs, so its lines land
// in different buffers; they still come out in order, through epochs:
// a writer whose line goes to another buffer than its last line did
// makes sure the new line's epoch is later (see Lock), and a flush only
// takes the lines of the epochs before it began (see Flush).
package logbuf

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"tova/internal/idletick"
	"tova/internal/procid"
)

// flushAt is the size at which a buffer is written out at once.
const flushAt = 64 << 10

// maxBuffered is the size past which a buffer drops lines, while the
// output is stalled.
const maxBuffered = 4 << 20

// stallAfter is how long a write of at most writeChunk bytes may take
// before the output counts as stalled; writeChunk is the most a flush
// writes at once.
const (
	stallAfter = time.Second
	writeChunk = 1 << 20
)

// Writer batches lines for an io.Writer. It is safe for concurrent use.
type Writer struct {
	out    io.Writer
	outMu  sync.Mutex // held while a flush takes and writes the buffers
	epoch  atomic.Uint64
	own    shard // lines written without a shard, one epoch each
	shards []shard
	merged []byte // a flush's output, kept between flushes (under outMu)
	// dropped counts the lines dropped since the last flush that wrote.
	dropped atomic.Int64
	// onDrop, when set, is told of dropped lines instead of a line in
	// the output saying so (an output that is not a log: print's).
	onDrop func(n int64)
	kick   chan struct{} // a buffer filled up: flush now
	// writing is when the write of the output under way began (unix
	// nanoseconds), 0 when none is; room is closed when a flush has
	// taken the buffers (see full).
	writing atomic.Int64
	roomMu  sync.Mutex
	room    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once

	// gate lets the flusher sleep while there is nothing to write (see
	// New); end wakes it.
	gate *idletick.Gate
}

// A shard takes two cache lines of its own (the CPU may fetch lines in
// pairs), so that shards written from different CPUs do not share one.
type shard struct {
	mu    sync.Mutex
	buf   []byte
	marks []mark // where each epoch's lines begin in buf
	spare []byte // the buffer the last flush wrote out, to reuse
	_     [128 - 80]byte
}

// mark says that buf[at:] (up to the next mark) was written in epoch.
type mark struct {
	epoch uint64
	at    int
}

// New returns a Writer that writes out its buffers to out every interval.
// An interval that finds nothing to write stops the ticks until the next
// line is written, so that an idle program does not wake up every
// interval: a line is written out at most one interval after it was
// buffered either way.
func New(out io.Writer, every time.Duration) *Writer { return NewReporting(out, every, nil) }

// NewReporting is New, but for an output that is not a log: the count
// of lines dropped is given to onDrop (from the flusher) rather than
// written to the output as a log line.
func NewReporting(out io.Writer, every time.Duration, onDrop func(n int64)) *Writer {
	w := &Writer{
		onDrop: onDrop,
		out:    out,
		shards: make([]shard, max(4, 2*runtime.GOMAXPROCS(0))),
		kick:   make(chan struct{}, 1),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		gate:   idletick.New(),
	}
	go func() {
		defer close(w.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if !w.flush() && !w.gate.Sleep(t, every, w.buffered, w.stop) {
					w.Flush()
					return
				}
			case <-w.kick:
				w.flush()
			case <-w.stop:
				w.Flush()
				return
			}
		}
	}()
	return w
}

// buffered reports whether a line waits in a buffer.
func (w *Writer) buffered() bool {
	if w.own.size() > 0 {
		return true
	}
	for i := range w.shards {
		if w.shards[i].size() > 0 {
			return true
		}
	}
	return false
}

// size is the length of s's buffer.
func (s *shard) size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.buf)
}

// Write buffers p as a line of no shard: it comes out after every line
// buffered before it and before every line buffered after it.
func (w *Writer) Write(p []byte) (int, error) {
	e := w.epoch.Add(1)
	return w.append(&w.own, e, p)
}

// WriteShard buffers p in the given shard: the lines one writer writes
// with the same shard come out in the order written.
func (w *Writer) WriteShard(i int, p []byte) (int, error) {
	return w.append(&w.shards[uint(i)%uint(len(w.shards))], w.epoch.Load(), p)
}

func (w *Writer) append(s *shard, epoch uint64, p []byte) (int, error) {
	w.end(s, append(s.begin(epoch), p...))
	return len(p), nil
}

// A Seq keeps one writer's lines in order (a connection's), whichever
// CPU's buffer each goes to: the writer passes the same Seq to each Lock.
// The zero Seq is ready to use.
type Seq struct {
	shard int    // the buffer of the last line, plus 1 (0: none yet)
	epoch uint64 // the epoch of the last line
}

// Lock locks the buffer of the CPU the caller runs on and returns it,
// for a line of the writer whose Seq is q to be appended in place. The
// caller must hand the grown buffer back with Unlock(q, …), on the same
// goroutine, without writing to the Writer in between.
func (w *Writer) Lock(q *Seq) []byte {
	i := cpu() % len(w.shards)
	e := w.epoch.Load()
	if q.shard != i+1 && q.shard != 0 && q.epoch == e {
		// The last line is in another buffer, maybe still there, and of
		// this epoch: a flush might take this buffer's lines of the
		// epoch and leave the other's. A new epoch puts this line after
		// that one.
		e = w.epoch.Add(1)
	}
	q.shard, q.epoch = i+1, e
	return w.shards[i].begin(e)
}

// Unlock stores b, the buffer Lock(q) returned with a line appended, and
// unlocks the buffer.
func (w *Writer) Unlock(q *Seq, b []byte) {
	w.end(&w.shards[q.shard-1], b)
}

// cpu returns the index of the CPU (the P) the caller runs on.
var cpu = procid.Current

// segEnd is where the lines of marks[i] end in buf.
func segEnd(marks []mark, buf []byte, i int) int {
	if i+1 < len(marks) {
		return marks[i+1].at
	}
	return len(buf)
}

// begin locks s and returns its buffer, marked for epoch.
func (s *shard) begin(epoch uint64) []byte {
	s.mu.Lock()
	if n := len(s.marks); n == 0 || s.marks[n-1].epoch != epoch {
		s.marks = append(s.marks, mark{epoch, len(s.buf)})
	}
	return s.buf
}

// end stores s's grown buffer b and unlocks s; a full buffer makes the
// flusher write out the buffers. A buffer past maxBuffered keeps its
// lines (see full).
func (w *Writer) end(s *shard, b []byte) {
	if len(s.buf) >= maxBuffered {
		w.full(s, b)
		return
	}
	s.buf = b
	full := len(b) >= flushAt
	s.mu.Unlock()
	if full {
		// The flusher writes all buffers, not this one alone (a flush
		// keeps the epochs in order), at once; the writer goes on.
		w.kickFlush()
	}
	w.gate.Wake()
}

func (w *Writer) kickFlush() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// full takes the line b holds past s's buffer, which is past
// maxBuffered (s locked; full unlocks it): while the output takes
// writes, it waits for a flush to make room and appends the line then;
// once the output has stalled (or the Writer is closed), it drops the
// line.
func (w *Writer) full(s *shard, b []byte) {
	epoch := s.marks[len(s.marks)-1].epoch // (begin marked the line's)
	line := slices.Clone(b[len(s.buf):])
	for {
		room := w.roomChan()
		s.mu.Unlock()
		if !w.waitRoom(room) {
			w.dropped.Add(1)
			w.gate.Wake()
			return
		}
		b = s.begin(epoch)
		if len(b) < maxBuffered {
			w.end(s, append(b, line...))
			return
		}
	}
}

// roomChan is the channel the next flush closes once it has taken the
// buffers.
func (w *Writer) roomChan() chan struct{} {
	w.roomMu.Lock()
	defer w.roomMu.Unlock()
	if w.room == nil {
		w.room = make(chan struct{})
	}
	return w.room
}

// waitRoom waits for room to close, and reports whether it did: not
// when the output has stalled or the Writer stops first.
func (w *Writer) waitRoom(room chan struct{}) bool {
	w.kickFlush()
	w.gate.Wake()
	t := time.NewTimer(stallAfter / 20)
	defer t.Stop()
	for {
		if w.stalled() {
			return false
		}
		select {
		case <-room:
			return true
		case <-w.stop:
			return false
		case <-t.C:
			t.Reset(stallAfter / 20)
		}
	}
}

// stalled reports whether a write of the output has gone on for
// stallAfter.
func (w *Writer) stalled() bool {
	at := w.writing.Load()
	return at != 0 && time.Now().UnixNano()-at >= int64(stallAfter)
}

// segment is the lines of one epoch from one buffer.
type segment struct {
	epoch uint64
	own   bool // a line of no shard: before the shards' lines of its epoch
	b     []byte
}

// Flush writes out everything buffered, in epoch order: the lines of
// every epoch before the one it starts. A line of an earlier epoch that
// is appended after the flush took its buffer (its writer read the epoch
// just before the flush started) goes out with the next flush; every
// line that must follow it has a later epoch (its writer read the epoch
// after that line was appended), so it waits for the next flush too.
func (w *Writer) Flush() { w.flush() }

// flush is Flush; it reports whether it wrote anything.
func (w *Writer) flush() bool {
	w.outMu.Lock()
	defer w.outMu.Unlock()
	until := w.epoch.Add(1)
	var segs []segment
	take := func(s *shard, own bool) {
		s.mu.Lock()
		later := false // lines of epochs from until on, to keep
		for i, m := range s.marks {
			if m.epoch >= until {
				later = true
				continue
			}
			segs = append(segs, segment{m.epoch, own, s.buf[m.at:segEnd(s.marks, s.buf, i)]})
		}
		// The bytes are taken until this flush has written them: the
		// shard goes on in the buffer the previous flush wrote out
		// (flushes take turns under outMu). A burst's buffer is not
		// kept.
		taken, marks := s.buf, s.marks
		s.buf, s.marks = s.spare[:0], nil
		s.spare = taken
		if cap(taken) > 4*flushAt {
			s.spare = nil
		}
		if later {
			// Rare: lines of epochs the flush began after, in a buffer
			// it takes. They move to the new buffer.
			for i, m := range marks {
				if m.epoch >= until {
					s.marks = append(s.marks, mark{m.epoch, len(s.buf)})
					s.buf = append(s.buf, taken[m.at:segEnd(marks, taken, i)]...)
				}
			}
		} else {
			s.marks = marks[:0]
		}
		s.mu.Unlock()
	}
	take(&w.own, true)
	for i := range w.shards {
		take(&w.shards[i], false)
	}
	w.roomMu.Lock()
	if w.room != nil {
		close(w.room) // writers waiting for room (see full)
		w.room = nil
	}
	w.roomMu.Unlock()
	dropped := w.dropped.Swap(0)
	if len(segs) == 0 && dropped == 0 {
		return false
	}
	slices.SortStableFunc(segs, func(a, b segment) int {
		switch {
		case a.epoch != b.epoch:
			if a.epoch < b.epoch {
				return -1
			}
			return 1
		case a.own != b.own:
			if a.own {
				return -1
			}
			return 1
		}
		return 0
	})
	out := w.merged[:0]
	for _, sg := range segs {
		out = append(out, sg.b...)
	}
	if dropped > 0 && w.onDrop != nil {
		w.onDrop(dropped)
	} else if dropped > 0 {
		out = fmt.Appendf(out, `{"level":"warn","time":%q,"dropped":%d,"message":"log lines dropped: the log's output stopped taking them (a reader that does not read) and the buffers were full"}`+"\n",
			time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00"), dropped)
	}
	// In parts, each timed: a part that takes stallAfter is a stall.
	// A part ends at a line's end: two Writers of one pipe (2>&1) take
	// turns by whole writes (tova serve gives them one lock, each
	// write under it), and a line cut between parts was cut by the
	// other's lines. A line longer than a part is one write.
	for rest := out; len(rest) > 0; {
		n := len(rest)
		if n > writeChunk {
			if i := bytes.LastIndexByte(rest[:writeChunk], '\n'); i >= 0 {
				n = i + 1
			} else if i := bytes.IndexByte(rest[writeChunk:], '\n'); i >= 0 {
				n = writeChunk + i + 1 // one line longer than a part
			}
		}
		w.writing.Store(time.Now().UnixNano())
		_, _ = w.out.Write(rest[:n])
		rest = rest[n:]
	}
	w.writing.Store(0)
	if cap(out) <= 4*flushAt*len(w.shards) {
		w.merged = out
	}
	return true
}

// closeWait bounds how long Close waits for the last lines to be
// written: an output that has stalled must not keep a stopping process
// from exiting.
const closeWait = 5 * time.Second

// Close flushes and stops the periodic flushing; later writes are
// buffered until the next Flush. It waits at most closeWait for a
// stalled output.
func (w *Writer) Close() {
	w.once.Do(func() { close(w.stop) })
	select {
	case <-w.done:
	case <-time.After(closeWait):
	}
}
