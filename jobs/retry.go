package jobs

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/riverqueue/river/rivertype"
	"github.com/rs/zerolog"
)

// backoff is the retry policy: after failed attempt n (1-based) the job
// waits base·2^(n-1), capped at limit, times a random factor in
// [0.5, 1) so that jobs failing together do not retry together. The
// k-th wait is thus within [base·2^(k-2), base·2^(k-1)).
type backoff struct {
	base, limit time.Duration
	now         func() time.Time
}

// delay is the wait after failed attempt n, before jitter.
func (b backoff) delay(attempt int) time.Duration {
	d := b.base
	for i := 1; i < attempt && d < b.limit; i++ {
		d *= 2
	}
	return min(d, b.limit)
}

// NextRetry implements river.ClientRetryPolicy.
func (b backoff) NextRetry(job *rivertype.JobRow) time.Time {
	d := b.delay(job.Attempt)
	d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
	now := time.Now
	if b.now != nil {
		now = b.now
	}
	return now().Add(d)
}

// slogToZerolog forwards the queue library's log records of level Warn
// and above into the runtime's JSON log. A message repeated within
// logRepeatEvery of its last line is counted rather than written (with
// its database down the library says "Error fetching jobs" some twenty
// times a second, for as long as it is down): the next line written
// says how many were left out.
type slogToZerolog struct {
	log   zerolog.Logger
	attrs []slog.Attr
	seen  *logRepeats // shared by the handlers WithAttrs makes
}

// logRepeatEvery is the least time between two lines of one message of
// the queue library.
const logRepeatEvery = 10 * time.Second

type logRepeats struct {
	mu      sync.Mutex
	last    map[string]time.Time
	skipped map[string]int
}

// pass says whether a line of msg is written at now, and how many were
// left out since the last that was.
func (l *logRepeats) pass(msg string, now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil || len(l.last) > 256 {
		l.last, l.skipped = map[string]time.Time{}, map[string]int{}
	}
	if t, ok := l.last[msg]; ok && now.Sub(t) < logRepeatEvery {
		l.skipped[msg]++
		return false, 0
	}
	l.last[msg] = now
	n := l.skipped[msg]
	delete(l.skipped, msg)
	return true, n
}

func (h *slogToZerolog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (h *slogToZerolog) Handle(_ context.Context, r slog.Record) error {
	lvl := zerolog.WarnLevel
	if r.Level >= slog.LevelError {
		lvl = zerolog.ErrorLevel
	}
	e := h.log.WithLevel(lvl)
	if e == nil {
		return nil
	}
	skipped := 0
	if h.seen != nil {
		var ok bool
		at := r.Time
		if at.IsZero() {
			at = time.Now()
		}
		if ok, skipped = h.seen.pass(r.Message, at); !ok {
			e.Discard()
			return nil
		}
	}
	add := func(a slog.Attr) bool {
		e = e.Str(a.Key, a.Value.Resolve().String())
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	if skipped > 0 {
		e = e.Int("repeated", skipped)
	}
	e.Msg(r.Message)
	return nil
}

func (h *slogToZerolog) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &slogToZerolog{log: h.log, attrs: append(append([]slog.Attr{}, h.attrs...), attrs...), seen: h.seen}
}

func (h *slogToZerolog) WithGroup(string) slog.Handler { return h }
