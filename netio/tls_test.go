package netio

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"tova/internal/testutil"
)

// newTLSServer starts a test server serving HTTPS with a fresh
// self-signed certificate; the client config trusts it.
func newTLSServer(t *testing.T, configure func(*Config)) (*testServer, *tls.Config) {
	t.Helper()
	cert := testutil.SelfSignedCert(t, "netio")
	ts := newTestServer(t, func(r *Router) {
		_ = r.Handle("GET", "/hello", func(context.Context, *Request) *Response { return Text(200, "hello") })
		_ = r.Handle("GET", "/own", func(context.Context, *Request) *Response {
			resp := Text(200, "own")
			resp.Headers = append(resp.Headers, Header{Name: "Strict-Transport-Security", Value: "max-age=60"})
			return resp
		})
		_ = r.Handle("GET", "/slow", func(context.Context, *Request) *Response {
			time.Sleep(300 * time.Millisecond)
			return Text(200, "slow")
		})
		_ = r.Handle("POST", "/echo", func(_ context.Context, req *Request) *Response { return Text(200, string(req.Body)) })
	}, func(cfg *Config) {
		cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert.Pair(t)}}
		if configure != nil {
			configure(cfg)
		}
	})
	return ts, cert.ClientConfig()
}

// getTLS sends a GET for path on conn and reads its response.
func getTLS(t *testing.T, conn net.Conn, br *bufio.Reader, path string) *http.Response {
	t.Helper()
	if _, err := io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	return resp
}

func bodyOf(r *http.Response) string {
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

// Over TLS the server answers HTTP/1.1 on one connection request after
// request, every answer (an error one too) with Strict-Transport-Security;
// a handler's own value is kept. TLS 1.1 is refused, and ALPN offers
// http/1.1 and http/1.0 (a client offering only http/1.0, as curl
// --http1.0, had its handshake refused).
func TestServesHTTPSWithHSTS(t *testing.T) {
	ts, client := newTLSServer(t, func(cfg *Config) { cfg.MaxRequestBodySize = 1000 })
	if u := ts.srv.URL(); u != "https://"+ts.addr {
		t.Errorf("URL() = %q", u)
	}
	client.NextProtos = []string{"h2", "http/1.1"}
	conn, err := tls.Dial("tcp", ts.addr, client)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if p := conn.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
		t.Errorf("ALPN chose %q", p)
	}
	only10 := client.Clone()
	only10.NextProtos = []string{"http/1.0"}
	if c10, err := tls.Dial("tcp", ts.addr, only10); err != nil {
		t.Errorf("a client offering only http/1.0: %v", err)
	} else {
		if p := c10.ConnectionState().NegotiatedProtocol; p != "http/1.0" {
			t.Errorf("ALPN chose %q for an http/1.0 client", p)
		}
		c10.Close()
	}
	br := bufio.NewReader(conn)
	for i, c := range []struct{ path, status, body, hsts string }{
		{"/hello", "200 OK", "hello", hstsValue},
		{"/nowhere", "404 Not Found", `"NOT_FOUND"`, hstsValue},
		{"/own", "200 OK", "own", "max-age=60"},
		{"/hello", "200 OK", "hello", hstsValue},
	} {
		r := getTLS(t, conn, br, c.path)
		if b := bodyOf(r); r.Status != c.status || !strings.Contains(b, c.body) {
			t.Errorf("request %d, GET %s: %s %q", i, c.path, r.Status, b)
		}
		if h := r.Header.Values("Strict-Transport-Security"); len(h) != 1 || h[0] != c.hsts {
			t.Errorf("request %d, GET %s: Strict-Transport-Security %q, want %q", i, c.path, h, c.hsts)
		}
	}
	// A request fasthttp could not read is answered over TLS too.
	io.WriteString(conn, "GET /hello HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
	r, err := http.ReadResponse(br, nil)
	if err != nil || r.StatusCode != 400 || r.Header.Get("Strict-Transport-Security") != hstsValue {
		t.Errorf("a malformed request: %v %v", r, err)
	}

	// A body over the limit is refused over TLS as without it: 413,
	// received whole before the connection closes.
	big, err := tls.Dial("tcp", ts.addr, client)
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	go io.WriteString(big, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"+strings.Repeat("x", 100000))
	r, err = http.ReadResponse(bufio.NewReader(big), nil)
	if err != nil || r.StatusCode != 413 || r.Header.Get("Strict-Transport-Security") != hstsValue || !strings.Contains(bodyOf(r), "TOO_LARGE") {
		t.Errorf("a body over the limit: %v %v", r, err)
	}

	old := client.Clone()
	old.MaxVersion = tls.VersionTLS11
	if c, err := tls.Dial("tcp", ts.addr, old); err == nil {
		c.Close()
		t.Errorf("a TLS 1.1 handshake succeeded")
	}
}

// A plain-HTTP request to the HTTPS port is answered 400 in plain HTTP,
// naming the fault, at once (the handshake would otherwise wait for a
// ClientHello until the read timeout, or end with an alert the client
// cannot read); the server goes on serving HTTPS.
func TestPlainHTTPToHTTPSPortIs400(t *testing.T) {
	ts, client := newTLSServer(t, nil)
	conn := ts.dial()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(conn, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
	br := bufio.NewReader(conn)
	r, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := bodyOf(r)
	if r.StatusCode != 400 || !strings.Contains(e, plainHTTPMessage) || r.Header.Get("Strict-Transport-Security") != "" {
		t.Errorf("plain HTTP: %s %v %s", r.Status, r.Header, e)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("after the 400: %v, want the connection closed", err)
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(ts.logs.String(), "plain HTTP request arrived"); {
		if time.Now().After(deadline) {
			t.Fatalf("no access line: %s", ts.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}

	tc, err := tls.Dial("tcp", ts.addr, client)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if r := getTLS(t, tc, bufio.NewReader(tc), "/hello"); r.StatusCode != 200 || bodyOf(r) != "hello" {
		t.Errorf("HTTPS after: %s", r.Status)
	}
}

// The connection timeouts hold over TLS: a client that never begins its
// handshake, or that completes it and sends no request, is closed at the
// read timeout.
func TestTLSConnectionTimeouts(t *testing.T) {
	ts, client := newTLSServer(t, func(cfg *Config) { cfg.ReadTimeout, cfg.IdleTimeout = 200*time.Millisecond, 200*time.Millisecond })
	silent := ts.dial()
	start := time.Now()
	silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); err != io.EOF || time.Since(start) > 3*time.Second {
		t.Errorf("no handshake: read %v after %v", err, time.Since(start))
	}

	conn, err := tls.Dial("tcp", ts.addr, client)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	if r := getTLS(t, conn, br, "/hello"); r.StatusCode != 200 {
		t.Fatalf("GET: %s", r.Status)
	}
	start = time.Now()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF || time.Since(start) > 3*time.Second {
		t.Errorf("idle: read %v after %v", err, time.Since(start))
	}
}

// Shutdown drains over TLS: a request in flight is answered, one that
// comes after is refused 503.
func TestTLSShutdownDrains(t *testing.T) {
	ts, client := newTLSServer(t, nil)
	conn, err := tls.Dial("tcp", ts.addr, client)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	if r := getTLS(t, conn, br, "/hello"); r.StatusCode != 200 {
		t.Fatalf("GET: %s", r.Status)
	}
	io.WriteString(conn, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	waitUntil(t, func() bool { return ts.srv.cfg.Pool.Stats().Busy == 1 }) // /slow runs
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ts.srv.Shutdown(ctx) }()
	r, err := http.ReadResponse(br, nil)
	if err != nil || r.StatusCode != 200 || bodyOf(r) != "slow" {
		t.Fatalf("in flight during the drain: %v %v", r, err)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}
