package netio

import (
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"tova/internal/jsonstr"
	"tova/internal/logbuf"
)

// accessLog writes access lines straight to a writer, in the format a
// zerolog logger with a "server" field and Timestamp() gives them:
//
//	{"level":"info","server":"api","method":"GET","path":"/x","status":200,
//	 "duration_ms":0.412,"request_id":"…","time":"…","message":"request"}
//
// It is the hot path of every request: one buffer append per field, the
// time formatted once a millisecond, one Write per line, from a buffer the
// request's exchange keeps.
type accessLog struct {
	w      io.Writer
	sw     ShardWriter    // w, if it is one
	lw     *logbuf.Writer // w, if it is one
	level  zerolog.Level
	prefix [zerolog.ErrorLevel + 1][]byte // by level: `{"level":"…"[,"server":"…"],`
	stamp  atomic.Pointer[timeStamp]
}

type timeStamp struct {
	ms int64
	b  []byte // `"time":"2006-01-02T15:04:05Z07:00",`
}

func newAccessLog(w io.Writer, level zerolog.Level, server string) *accessLog {
	a := &accessLog{w: w, level: level}
	a.sw, _ = w.(ShardWriter)
	a.lw, _ = w.(*logbuf.Writer)
	for _, l := range []zerolog.Level{zerolog.InfoLevel, zerolog.WarnLevel, zerolog.ErrorLevel} {
		b := append([]byte(`{"level":"`), l.String()...)
		b = append(b, '"', ',')
		if server != "" {
			b = append(b, `"server":`...)
			b = jsonstr.Append(b, server)
			b = append(b, ',')
		}
		a.prefix[l] = b
	}
	return a
}

// accessLevel is the level of a request's access line: info below 400,
// warn for 4xx, error for 5xx.
func accessLevel(status int) zerolog.Level {
	switch {
	case status >= 500 && status != fasthttp.StatusHTTPVersionNotSupported:
		// (505 is the client's protocol, not a failure of the server)
		return zerolog.ErrorLevel
	case status >= 400:
		return zerolog.WarnLevel
	}
	return zerolog.InfoLevel
}

// write writes req's line, encoded in buf (the request exchange's, kept
// from request to request); it returns buf, maybe grown.
func (a *accessLog) write(buf []byte, tc *timedConn, req *Request, status int, start time.Time) []byte {
	level := accessLevel(status)
	if level < a.level {
		return buf
	}
	// One monotonic clock read: the wall time follows from start's.
	d := time.Since(start)
	now := start.Add(d)
	if a.lw != nil && tc != nil {
		// Encoded straight into the buffer of the CPU it runs on, kept
		// in order with the connection's other lines.
		a.lw.Unlock(&tc.logSeq, a.encode(a.lw.Lock(&tc.logSeq), level, req, status, d, now))
		return buf
	}
	b := a.encode(buf[:0], level, req, status, d, now)
	if a.sw != nil {
		_, _ = a.sw.WriteShard(connShard(tc), b)
	} else {
		_, _ = a.w.Write(b)
	}
	return b
}

// encode appends req's access line to b.
func (a *accessLog) encode(b []byte, level zerolog.Level, req *Request, status int, d time.Duration, now time.Time) []byte {
	b = append(b, a.prefix[level]...)
	b = append(b, `"method":`...)
	b = jsonstr.Append(b, req.Method)
	b = append(b, `,"path":`...)
	b = jsonstr.Append(b, req.Path)
	b = append(b, `,"status":`...)
	if status >= 100 && status <= 999 {
		b = append(b, byte('0'+status/100), byte('0'+status/10%10), byte('0'+status%10))
	} else {
		b = strconv.AppendInt(b, int64(status), 10)
	}
	b = append(b, `,"duration_ms":`...)
	b = appendMillis(b, d)
	b = append(b, `,"request_id":`...)
	b = jsonstr.Append(b, req.ID)
	b = append(b, ',')
	b = append(b, a.timeField(now)...)
	return append(b, `"message":"request"}`+"\n"...)
}

// timeField returns the formatted time field of now's millisecond (the
// finest zerolog.TimeFieldFormat that tova serve uses).
func (a *accessLog) timeField(now time.Time) []byte {
	ms := now.UnixMilli()
	if st := a.stamp.Load(); st != nil && st.ms == ms {
		return st.b
	}
	b := append([]byte(`"time":"`), now.Truncate(time.Millisecond).AppendFormat(nil, zerolog.TimeFieldFormat)...)
	st := &timeStamp{ms: ms, b: append(b, '"', ',')}
	a.stamp.Store(st)
	return st.b
}
