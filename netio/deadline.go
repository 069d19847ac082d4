package netio

import (
	"net"
	"sync/atomic"
	"time"
)

// deadlineSlack is how late a coalesced deadline may fire.
const deadlineSlack = time.Second

// coarseListener hands out connections whose deadline updates are
// coalesced (see coarseConn). A TLS listener goes around it, not inside
// it, so that fasthttp still sees the *tls.Conn.
type coarseListener struct{ net.Listener }

func (l coarseListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &coarseConn{Conn: c}, nil
}

// coarseConn coalesces deadline updates. fasthttp moves a keep-alive
// connection's read deadline twice and its write deadline once per
// request, and each move re-arms a runtime timer. A deadline that extends
// the one in effect is set a slack further, and later extensions that
// fall within that slack are skipped; a deadline that shortens it (a
// timeout phase shorter than the previous one, or an abort) or clears it
// is applied exactly. A timeout therefore fires at most deadlineSlack late,
// never early, and a steady keep-alive connection re-arms its timers about
// once a second instead of on every request.
type coarseConn struct {
	net.Conn
	read, write atomic.Int64 // the deadline in effect, Unix ns; 0 for none
}

func (c *coarseConn) SetReadDeadline(t time.Time) error {
	return coalesce(&c.read, t, c.Conn.SetReadDeadline)
}

func (c *coarseConn) SetWriteDeadline(t time.Time) error {
	return coalesce(&c.write, t, c.Conn.SetWriteDeadline)
}

func (c *coarseConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

func coalesce(cur *atomic.Int64, t time.Time, set func(time.Time) error) error {
	if t.IsZero() {
		if cur.Swap(0) == 0 {
			return nil
		}
		return set(t)
	}
	want := t.UnixNano()
	in := cur.Load()
	switch {
	case in != 0 && want <= in && in-want <= int64(deadlineSlack):
		return nil // the deadline in effect is at most the slack later
	case in != 0 && want < in:
		// shortening: exact
	default:
		t = t.Add(deadlineSlack)
		want = t.UnixNano()
	}
	cur.Store(want)
	return set(t)
}
