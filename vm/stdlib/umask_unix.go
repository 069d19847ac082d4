//go:build unix

package stdlib

import (
	"io/fs"
	"syscall"
)

// processUmask is the process's file mode creation mask, read once at
// start-up (setting it is the only way to read it, and threads may be
// creating files later): a file write makes new, renamed into place, is
// given 0644 less the mask, as one os.WriteFile creates would be.
var processUmask = func() fs.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return fs.FileMode(m)
}()
