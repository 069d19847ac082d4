//go:build unix

package stdlib

import (
	"os"
	"syscall"
)

// lockFile holds an exclusive lock on f until unlock is called: appends
// to one file, from requests of one process or from several processes,
// take turns (flock locks an open file, so two opens of the same file
// in one process exclude each other too).
func lockFile(f *os.File) (unlock func(), err error) {
	fd := int(f.Fd())
	for {
		err = syscall.Flock(fd, syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return func() {}, err
	}
	// Closing f lets go of the lock too. Its descriptor's number may be
	// another file's by the time unlock runs (another append's, which
	// it would unlock): unlock goes through f, which knows it is closed.
	return func() {
		if fd := f.Fd(); fd != ^uintptr(0) {
			_ = syscall.Flock(int(fd), syscall.LOCK_UN)
		}
	}, nil
}
