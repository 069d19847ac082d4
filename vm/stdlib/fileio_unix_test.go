//go:build unix

package stdlib

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A FIFO is written to, and its reader reads the rows (a file was
// renamed over it, and the reader read nothing).
func TestWriteToFIFO(t *testing.T) {
	e := newEnv(t)
	fifo := filepath.Join(t.TempDir(), "f.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip(err)
	}
	got := make(chan string, 1)
	go func() {
		b, _ := os.ReadFile(fifo)
		got <- string(b)
	}()
	e.call(t, "write", L(O("a", I(1))), S(fifo))
	if s := <-got; s != "a\n1\n" {
		t.Errorf("the FIFO's reader read %q", s)
	}
	if st, err := os.Lstat(fifo); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was replaced: %v %v", st, err)
	}
}
