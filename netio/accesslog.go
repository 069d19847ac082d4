package netio

import (
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"
)

// accessLog writes access lines straight to a writer, in the format a
// zerolog logger with a "server" field and Timestamp() gives them:
//
//	{"level":"info","server":"api","method":"GET","path":"/x","status":200,
//	 "duration_ms":0.412,"request_id":"…","time":"…","message":"request"}
//
// It is the hot path of every request: one buffer append per field, the
// time formatted once a second, one Write per line.
type accessLog struct {
	w      io.Writer
	level  zerolog.Level
	prefix [3][]byte // info, warn, error: `{"level":"…"[,"server":"…"],`
	stamp  atomic.Pointer[timeStamp]
	bufs   sync.Pool
}

type timeStamp struct {
	sec int64
	b   []byte // `"time":"2006-01-02T15:04:05Z07:00",`
}

func newAccessLog(w io.Writer, level zerolog.Level, server string) *accessLog {
	a := &accessLog{w: w, level: level}
	for i, l := range []string{"info", "warn", "error"} {
		b := append([]byte(`{"level":"`), l...)
		b = append(b, '"', ',')
		if server != "" {
			b = append(b, `"server":`...)
			b = appendJSONString(b, server)
			b = append(b, ',')
		}
		a.prefix[i] = b
	}
	a.bufs.New = func() any { b := make([]byte, 0, 256); return &b }
	return a
}

// enabled reports whether a line of this status is written at all.
func (a *accessLog) enabled(status int) bool {
	switch {
	case status >= 500:
		return a.level <= zerolog.ErrorLevel
	case status >= 400:
		return a.level <= zerolog.WarnLevel
	}
	return a.level <= zerolog.InfoLevel
}

func (a *accessLog) write(req *Request, status int, start time.Time) {
	if !a.enabled(status) {
		return
	}
	// One monotonic clock read: the wall time follows from start's.
	d := time.Since(start)
	now := start.Add(d)
	bp := a.bufs.Get().(*[]byte)
	b := (*bp)[:0]
	switch {
	case status >= 500:
		b = append(b, a.prefix[2]...)
	case status >= 400:
		b = append(b, a.prefix[1]...)
	default:
		b = append(b, a.prefix[0]...)
	}
	b = append(b, `"method":`...)
	b = appendJSONString(b, req.Method)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, req.Path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"duration_ms":`...)
	b = appendMillis(b, d)
	b = append(b, `,"request_id":`...)
	b = appendJSONString(b, req.ID)
	b = append(b, ',')
	b = append(b, a.timeField(now)...)
	b = append(b, `"message":"request"}`+"\n"...)
	_, _ = a.w.Write(b)
	*bp = b
	a.bufs.Put(bp)
}

// timeField returns the formatted time field of now's second.
func (a *accessLog) timeField(now time.Time) []byte {
	sec := now.Unix()
	if st := a.stamp.Load(); st != nil && st.sec == sec {
		return st.b
	}
	b := append([]byte(`"time":"`), now.Truncate(time.Second).AppendFormat(nil, zerolog.TimeFieldFormat)...)
	st := &timeStamp{sec: sec, b: append(b, '"', ',')}
	a.stamp.Store(st)
	return st.b
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, as zerolog does: quotes,
// backslashes and control characters escaped, invalid UTF-8 replaced.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
