package serve

import (
	"bytes"

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
// (It keeps nothing between writes, so it needs no lock: the log's
// writer takes records from several threads at once.)
type stderrLog struct{ log zerolog.Logger }

// Write logs each line of p, and the rest of p after its last line
// break, as a record: a write is its own (console.error's, one call's),
// never joined to the next, which may be another request's.
func (w stderrLog) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		line := p
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			line, p = p[:i], p[i+1:]
		} else {
			p = nil
		}
		w.log.Warn().Str("from", "stderr").Msg(logbuf.Message(string(bytes.TrimSuffix(line, []byte("\r")))))
	}
	return n, nil
}
