package serve

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"sync"
	"syscall"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/valyala/fasthttp"
	"golang.org/x/sync/singleflight"

	"tova/netio"
)

// Static files under a compression block are compressed as handlers'
// answers are (netio.Compression): a file of a textual type, of at least
// min_size bytes and at most staticZipMax, is sent gzipped or deflated to
// a client that accepts it, unless the request asks for a range (ranges
// are of the file as it is). The compressed bytes of the files sent
// lately are kept, keyed by the file's identity, size and modification
// time, so that a file is compressed once, not on every request.
const (
	// staticZipMax is the largest file compressed: larger ones are
	// streamed from disk as they are.
	staticZipMax = 8 << 20
	// staticZipKept bounds the compressed bytes kept, staticZipFiles
	// the files.
	staticZipKept  = 32 << 20
	staticZipFiles = 4096
)

// staticZip is a server's compression of its static files.
type staticZip struct {
	c *netio.Compression
	// work joins the requests for a file that is being compressed to
	// that compression; slots bounds the compressions at once (a request
	// that finds none free gets the file as it is).
	work  singleflight.Group
	slots chan struct{}

	mu    sync.Mutex
	kept  *simplelru.LRU[staticZipKey, []byte]
	bytes int
	made  int // compressions made (for tests)
}

// errNotCompressed: the file is not compressed now, and goes out as it
// is: every compression slot is taken, or the file has no identity to
// share or keep a compression by.
var errNotCompressed = errors.New("static compression: not now")

// staticZipKey names one coding of one version of a file.
type staticZipKey struct {
	dev, ino    uint64
	size, mtime int64
	coding      string
}

func newStaticZip(c *netio.Compression) *staticZip {
	z := &staticZip{c: c, slots: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))}
	z.kept, _ = simplelru.NewLRU[staticZipKey, []byte](staticZipFiles, func(_ staticZipKey, b []byte) { z.bytes -= len(b) })
	return z
}

// coding returns the coding to send a file of type ctype and size in to
// the request of ctx ("" for none), and whether the answer varies by
// Accept-Encoding.
func (z *staticZip) coding(ctx *fasthttp.RequestCtx, ctype string, size int64) (coding string, vary bool) {
	if z == nil || size > staticZipMax {
		return "", false
	}
	coding, vary = z.c.Coding([]byte(ctype), int(size), netio.AcceptEncoding(&ctx.Request.Header))
	if len(ctx.Request.Header.Peek(fasthttp.HeaderRange)) > 0 {
		coding = ""
	}
	return coding, vary
}

// encoded returns the file f (described by st), compressed in coding:
// the bytes kept, or f's read and compressed now, once for all the
// requests that ask meanwhile. It returns errNotCompressed, without waiting,
// if as many files as there are CPUs are being compressed already. The
// bytes returned are not to be changed.
func (z *staticZip) encoded(f *os.File, st fs.FileInfo, coding string) ([]byte, error) {
	key := staticZipKey{size: st.Size(), mtime: st.ModTime().UnixNano(), coding: coding}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		key.dev, key.ino = uint64(sys.Dev), sys.Ino
	}
	if key.ino == 0 {
		return nil, errNotCompressed // no identity to share or keep it by
	}
	z.mu.Lock()
	b, ok := z.kept.Get(key)
	z.mu.Unlock()
	if ok {
		return b, nil
	}
	name := fmt.Sprint(key.dev, " ", key.ino, " ", key.size, " ", key.mtime, " ", coding)
	v, err, _ := z.work.Do(name, func() (any, error) {
		// (a flight that ended between the look above and this one
		// kept its answer: 20 requests at once made 2 compressions)
		z.mu.Lock()
		b, ok := z.kept.Get(key)
		z.mu.Unlock()
		if ok {
			return b, nil
		}
		select {
		case z.slots <- struct{}{}:
			defer func() { <-z.slots }()
		default:
			return nil, errNotCompressed
		}
		raw := make([]byte, st.Size())
		if _, err := io.ReadFull(io.NewSectionReader(f, 0, st.Size()), raw); err != nil {
			return nil, err
		}
		b = netio.Encode(nil, raw, coding)
		z.mu.Lock()
		defer z.mu.Unlock()
		z.made++
		if !z.kept.Contains(key) {
			z.kept.Add(key, b)
			z.bytes += len(b)
			for z.bytes > staticZipKept && z.kept.Len() > 1 {
				z.kept.RemoveOldest()
			}
		}
		return b, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]byte), nil
}
