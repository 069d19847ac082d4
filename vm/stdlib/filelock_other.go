//go:build !unix

package stdlib

import (
	"os"
	"sync"
)

// appendMu makes appends of one process take turns where flock is not
// available.
var appendMu sync.Mutex

// lockFile holds the process's append lock until unlock is called.
func lockFile(*os.File) (unlock func(), err error) {
	appendMu.Lock()
	return appendMu.Unlock, nil
}
