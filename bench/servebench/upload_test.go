package servebench

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"tova/driver"
	"tova/serve"
)

// BenchmarkUpload: a handler reading an 8 MiB text body (len(req.body))
// over one connection that hands the server the request in 64 KiB reads,
// without the kernel. B/op is what the server allocates per upload: the
// body's buffer as it grows, and whatever the handler's reading copies.
//
//	go test -run '^$' -bench Upload -benchmem ./bench/servebench
func BenchmarkUpload(b *testing.B) {
	const size = 8 << 20
	ln := target(b, "upload", uploadTarget)
	msg := []byte(fmt.Sprintf("POST /len HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", size, strings.Repeat("x", size)))
	want := []byte(fmt.Sprintf(`{"n":%d}`, size))
	b.SetBytes(size)
	b.ReportAllocs()
	serveTimed(b, ln, &uploadConn{connEnds: newConnEnds(b.N), msg: msg, want: want})
}

func uploadTarget() (func(net.Listener) error, error) {
	p, err := driver.CompileFile("upload.tova", []byte(`server {
  max_body 16.megabytes
  route POST "/len" => fn(req) { { n: len(req.body) } }
}
`))
	if err != nil {
		return nil, err
	}
	rt, err := serve.Start(p, serve.Options{Host: "127.0.0.1", Ports: map[string]int{"": 0}, Logger: zerolog.New(io.Discard), AccessLog: io.Discard})
	if err != nil {
		return nil, err
	}
	return rt.Servers()[0].Serve, nil
}

// uploadConn sends msg n times, at most 64 KiB a read, each once the
// answer to the one before has come; it checks that each answer ends
// with want.
type uploadConn struct {
	connEnds
	msg, want []byte
	off       int
	answered  bool
}

func (c *uploadConn) Read(p []byte) (int, error) {
	if c.off == len(c.msg) {
		if !c.answered || c.n == 0 {
			return 0, io.EOF
		}
		c.off, c.answered = 0, false
	}
	if c.off == 0 {
		c.n--
	}
	k := copy(p[:min(len(p), 64<<10)], c.msg[c.off:])
	c.off += k
	return k, nil
}

func (c *uploadConn) Write(p []byte) (int, error) {
	if c.err == nil && (!bytes.HasPrefix(p, []byte("HTTP/1.1 200 OK\r\n")) || !bytes.HasSuffix(p, c.want)) {
		c.err = fmt.Errorf("unexpected answer: %q", p)
	}
	c.answered = true
	return len(p), nil
}
