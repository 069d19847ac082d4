package netio

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Fetch bounds what it reads and how long it waits, and says why it
// stopped: a body over MaxBody (announced or not), a redirect loop, the
// caller's context ending (its error, for errors.Is).
func TestFetchLimits(t *testing.T) {
	t.Parallel()
	var sameHits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			w.Write([]byte(strings.Repeat("x", 100)))
			w.(http.Flusher).Flush() // no Content-Length: read until the limit
			w.Write([]byte(strings.Repeat("y", 100)))
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/host":
			w.Write([]byte(r.Host))
		case "/redir":
			w.Header().Set("Location", "/host")
			w.WriteHeader(http.StatusFound)
			w.Write([]byte("moved, with a body"))
		case "/switch":
			w.Header().Set("Connection", "Upgrade")
			w.Header().Set("Upgrade", "other")
			w.WriteHeader(http.StatusSwitchingProtocols)
			w.(http.Flusher).Flush()
			<-r.Context().Done() // the connection stays open
		case "/query":
			w.Write([]byte(r.RequestURI))
		case "/to":
			// A redirect to where the query names, as given: raw.
			w.Header()["Location"] = []string{r.URL.Query().Get("u")}
			w.WriteHeader(http.StatusFound)
		case "/same":
			if sameHits.Add(1) == 1 {
				http.Redirect(w, r, "/same", http.StatusFound) // to itself, once
				return
			}
			w.Write([]byte("same"))
		case "/secret-a", "/secret-b":
			loc := map[string]string{"/secret-a": "http://bob:hunter2@127.0.0.1:1/x", "/secret-b": "http://bob:hunter2@[::1/"}[r.URL.Path]
			w.Header()["Location"] = []string{loc}
			w.WriteHeader(http.StatusFound)
		case "/again":
			if r.URL.Query().Get("n") == "" {
				http.Redirect(w, r, "/again?n=1", http.StatusFound)
				return
			}
			w.Write([]byte("again"))
		case "/gzip":
			if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
				w.Write([]byte("plain"))
				return
			}
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			zw.Write([]byte("unzipped"))
			zw.Close()
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	if _, err := Fetch(ctx, OutboundRequest{URL: srv.URL + "/chunked", MaxBody: 150}); err == nil || !strings.Contains(err.Error(), "the response body is over the limit of 150 bytes") {
		t.Errorf("chunked body over the limit: %v", err)
	}
	if r, err := Fetch(ctx, OutboundRequest{URL: srv.URL + "/chunked", MaxBody: 200}); err != nil || len(r.Body) != 200 {
		t.Errorf("chunked body at the limit: %v", err)
	}
	if _, err := Fetch(ctx, OutboundRequest{URL: srv.URL + "/loop"}); err == nil || !strings.Contains(err.Error(), "stopped after 20 redirects") {
		t.Errorf("redirect loop: %v", err)
	}
	if r, err := Fetch(ctx, OutboundRequest{URL: srv.URL + "/host", Headers: Headers{{"Host", "example.test"}}}); err != nil || string(r.Body) != "example.test" {
		t.Errorf("Host header: %v %q", err, r.Body)
	}
	// "manual": the redirect, its body read, is the answer.
	if r, err := Fetch(ctx, OutboundRequest{URL: srv.URL + "/redir", Redirect: "manual"}); err != nil || r.Status != 302 || string(r.Body) != "moved, with a body" {
		t.Errorf("manual redirect: %v %+v", err, r)
	}
	// A switch of protocols nobody asked for is an error, at once.
	start := time.Now()
	if _, err := Fetch(ctx, OutboundRequest{URL: srv.URL + "/switch", Timeout: 10 * time.Second}); err == nil || !strings.Contains(err.Error(), "switched protocols (101)") || time.Since(start) > 2*time.Second {
		t.Errorf("101: %v after %v", err, time.Since(start))
	}
	// What a request line cannot carry is encoded; escapes stay.
	if r, err := Fetch(ctx, OutboundRequest{URL: srv.URL + "/query?q=a b&r=%20é"}); err != nil || string(r.Body) != "/query?q=a%20b&r=%20%C3%A9" {
		t.Errorf("query: %v %q", err, r.Body)
	}
	// The client asks for gzip and decodes it, whatever the code asked.
	if r, err := Fetch(ctx, OutboundRequest{URL: srv.URL + "/gzip", Headers: Headers{{"Accept-Encoding", "gzip, br"}}}); err != nil || string(r.Body) != "unzipped" {
		t.Errorf("gzip: %v %q", err, r.Body)
	}
	// A password in the URL is sent (basic auth) but never shown.
	if r, err := Fetch(ctx, OutboundRequest{URL: strings.Replace(srv.URL, "//", "//u:s3cret@", 1) + "/host"}); err != nil || strings.Contains(r.URL, "s3cret") {
		t.Errorf("userinfo in the answer's URL: %v %+v", err, r)
	}
	if _, err := Fetch(ctx, OutboundRequest{URL: "http://u:s3cret@127.0.0.1:1/x"}); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("userinfo in an error: %v", err)
	}
	// A followed redirect's query is encoded as the first one's is.
	if r, err := Fetch(ctx, OutboundRequest{URL: srv.URL + "/to?u=" + url.QueryEscape("/query?q=a b")}); err != nil || string(r.Body) != "/query?q=a%20b" || !r.Redirected {
		t.Errorf("redirect with a raw query: %v %+v", err, r)
	}
	if r, err := Fetch(ctx, OutboundRequest{URL: srv.URL + "/again#frag"}); err != nil || !r.Redirected || r.URL != srv.URL+"/again?n=1" {
		t.Errorf("redirected, and url without its fragment: %v %+v", err, r)
	}
	if r, err := Fetch(ctx, OutboundRequest{URL: srv.URL + "/same"}); err != nil || !r.Redirected || string(r.Body) != "same" {
		t.Errorf("a redirect to the same URL: %v %+v", err, r)
	}
	// A password in a redirect's Location is not shown either.
	for _, loc := range []string{"/secret-a", "/secret-b"} {
		for _, mode := range []string{"follow", "error"} {
			_, err := Fetch(ctx, OutboundRequest{URL: srv.URL + loc, Redirect: mode})
			shown := mode == "error" || loc == "/secret-b" // the Location is quoted
			if err == nil || strings.Contains(err.Error(), "hunter2") || shown != strings.Contains(err.Error(), "bob:xxxxx@") {
				t.Errorf("%s to %s: %v", mode, loc, err)
			}
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start = time.Now()
	if _, err := Fetch(cctx, OutboundRequest{URL: srv.URL + "/slow", Timeout: time.Minute}); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Errorf("the caller's deadline: %v after %v", err, time.Since(start))
	}
}

// A request with a Cert trusts that certificate alone, byte for byte:
// the server presenting it is reached though no root signed it and it
// names no such host; one presenting another is refused. Without a
// Cert, the system's roots decide.
func TestFetchPinnedCert(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.StartTLS()
	defer srv.Close()
	pin := srv.Certificate().Raw
	resp, err := Fetch(context.Background(), OutboundRequest{URL: srv.URL + "/", Cert: pin})
	if err != nil || string(resp.Body) != "ok" {
		t.Fatalf("pinned: %v, %v", resp, err)
	}
	if _, err := Fetch(context.Background(), OutboundRequest{URL: srv.URL + "/"}); err == nil {
		t.Errorf("unpinned: a certificate no root signed was trusted")
	}
	if _, err := Fetch(context.Background(), OutboundRequest{URL: srv.URL + "/", Cert: []byte("not it")}); err == nil || !strings.Contains(err.Error(), "presented another certificate") {
		t.Errorf("another pin: %v", err)
	}
}

// A failed connection is said in plain words naming the cause, not in
// Go's dialer and resolver text ("dial tcp …: connect:", "lookup x on
// 10.0.0.53:53"), and errors.Is still finds the cause.
func TestFetchNetworkErrorsInPlainWords(t *testing.T) {
	t.Parallel()
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer plain.Close()
	https := "https://" + strings.TrimPrefix(plain.URL, "http://") + "/x"
	// A server that closes each connection at once, or after half a body.
	closer := func(answer string) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					buf := make([]byte, 4096)
					_, _ = c.Read(buf)
					_, _ = io.WriteString(c, answer)
					c.Close()
				}()
			}
		}()
		return "http://" + ln.Addr().String() + "/x"
	}
	closed, cut := closer(""), closer("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nten bytes.")
	// (its headers cut, and a status line that is not HTTP's: Go's
	// "malformed HTTP status code" was shown as it is)
	headerCut, notHTTP := closer("HTTP/1.1 200 OK\r\nContent-Ty"), closer("HTTP/1.1 20\r\n\r\n")
	// (a body its Content-Encoding calls gzip that is not: it was said
	// to be cut)
	notGzip := closer("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 2\r\n\r\nhi")
	for _, tt := range []struct{ url, want string }{
		{"http://127.0.0.1:1/x", "GET http://127.0.0.1:1/x: connection refused"},
		{"http://no-such-host.invalid/x", "GET http://no-such-host.invalid/x: host no-such-host.invalid not found (DNS)"},
		{https, "GET " + https + ": the server answered plain HTTP to an https:// URL"},
		{closed, "GET " + closed + ": the server closed the connection before an answer came"},
		{cut, "GET " + cut + ": the server closed the connection before the whole answer came (the body was cut short: the status (200) came, and 10 bytes of its body)"},
		{headerCut, "GET " + headerCut + ": the server's answer is cut short or malformed in its headers"},
		{notHTTP, "GET " + notHTTP + ": the server's answer is not HTTP (its status line is malformed)"},
		{notGzip, "GET " + notGzip + ": the body, sent as gzip (Content-Encoding), does not decode: it is cut short or not gzip (the status (200) came, and 0 bytes of it decoded)"},
	} {
		_, err := Fetch(context.Background(), OutboundRequest{URL: tt.url, Timeout: 5 * time.Second})
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: got %v, want %s", tt.url, err, tt.want)
		}
	}
	_, err := Fetch(context.Background(), OutboundRequest{URL: "http://127.0.0.1:1/x", Timeout: 5 * time.Second})
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("errors.Is(%v, ECONNREFUSED) is false", err)
	}
}

// A URL written without a scheme ("admin:pw@host/x", which net/url reads
// as the scheme "admin") kept its password in messages.
func TestWithoutPasswords(t *testing.T) {
	for msg, want := range map[string]string{
		`GET http://u:pw@host/x`:               `GET http://u:xxxxx@host/x`,
		`"admin:s3cret@db.example.com/x" bad`:  `"admin:xxxxx@db.example.com/x" bad`,
		`admin:s3cret@db.example.com/x`:        `admin:xxxxx@db.example.com/x`,
		`to https://u:p@ss@host/x`:             `to https://u:xxxxx@host/x`,
		`http://u@host/x and http://host:80/x`: `http://u@host/x and http://host:80/x`,
		`dial tcp 127.0.0.1:80: refused`:       `dial tcp 127.0.0.1:80: refused`,
	} {
		if got := WithoutPasswords(msg); got != want {
			t.Errorf("WithoutPasswords(%q) = %q, want %q", msg, got, want)
		}
	}
}

// A redirect to another origin (here another port of the same host,
// which Go's client takes for the same site) does not take the request's
// Authorization and Cookie there, as the Fetch standard has it, nor a
// header whose name says it carries a credential (X-API-Key); one to
// the same origin does. No redirect adds a Referer the code did not set
// (Go's client gave the previous URL, its query included).
func TestFetchRedirectKeepsCredentialsToTheirOrigin(t *testing.T) {
	seen := make(chan http.Header, 4)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen <- r.Header.Clone() }))
	defer other.Close()
	var firstURL string
	back := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, firstURL+"/end", http.StatusFound)
	}))
	defer back.Close()
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/d", http.StatusFound)
		case "/round":
			// (to the other origin, which sends it back here)
			http.Redirect(w, r, back.URL+"/b", http.StatusFound)
		case "/here":
			http.Redirect(w, r, "/same", http.StatusFound)
		default:
			seen <- r.Header.Clone()
		}
	}))
	defer first.Close()
	firstURL = first.URL
	// (an API key header, the guide's X-API-Key, and the like are
	// credentials too; a header that names none goes on)
	creds := Headers{{Name: "Authorization", Value: "Bearer SECRET"}, {Name: "Cookie", Value: "sid=SECRET"},
		{Name: "X-API-Key", Value: "SECRET"}, {Name: "X-Auth-Token", Value: "SECRET"}, {Name: "X-Trace", Value: "t1"},
		{Name: "X-Jwt-Assertion", Value: "SECRET"}, {Name: "X-Passwd", Value: "SECRET"}}
	for path, kept := range map[string]bool{"/away?key=k": false, "/here?key=k": true, "/round": false} {
		if _, err := Fetch(context.Background(), OutboundRequest{URL: first.URL + path, Headers: creds}); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		h := <-seen
		for _, name := range []string{"Authorization", "Cookie", "X-API-Key", "X-Auth-Token", "X-Jwt-Assertion", "X-Passwd"} {
			if got := h.Get(name) != ""; got != kept {
				t.Errorf("%s: the next hop got %s %q (credentials kept: want %v)", path, name, h.Get(name), kept)
			}
		}
		if h.Get("Referer") != "" || h.Get("X-Trace") != "t1" {
			t.Errorf("%s: the next hop got Referer %q, X-Trace %q", path, h.Get("Referer"), h.Get("X-Trace"))
		}
	}
}

// A response whose body trickles in past the timeout is said so, with
// the status that came: "no answer" sent the reader to a dead upstream.
func TestFetchBodyPastItsTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = bufio.NewReader(c).ReadString('\n')
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nab")
		time.Sleep(2 * time.Second)
	}()
	_, err = Fetch(context.Background(), OutboundRequest{URL: "http://" + ln.Addr().String() + "/slow", Timeout: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "the body did not arrive whole within its timeout (300ms): the status (200) came, and 2 bytes of it") {
		t.Errorf("err = %v", err)
	}
}
