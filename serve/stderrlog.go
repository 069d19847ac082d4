package serve

import (
	"bytes"
	"sync"

	"github.com/rs/zerolog"

	"tova/internal/logbuf"
)

// stderrLog is a server's standard error as Tova code and the runtime's
// plain words reach it (console.error, console.warn, a shell command's
// errors, the store's "tova: warning: ..." lines): each line one JSON
// record of the server's log, {"level":"warn","from":"stderr",
// "message":"..."}. Written as they came, they were lines of text among
// the JSON ones, and a value with a line break in it
// (console.error("bad: " + input)) wrote a line a log reader took for
// one of the runtime's ({"level":"error",...}).
type stderrLog struct {
	mu   sync.Mutex
	log  zerolog.Logger
	part []byte // a line not ended yet
}

// maxStderrLine bounds a line kept waiting for its end.
const maxStderrLine = 64 << 10

func (w *stderrLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.part = append(w.part, p...)
			if len(w.part) > maxStderrLine {
				w.emit()
			}
			return n, nil
		}
		w.part = append(w.part, p[:i]...)
		w.emit()
		p = p[i+1:]
	}
	return n, nil
}

func (w *stderrLog) emit() {
	line := bytes.TrimSuffix(w.part, []byte("\r"))
	w.part = w.part[:0]
	w.log.Warn().Str("from", "stderr").Msg(logbuf.Message(string(line)))
}
