//go:build !unix

package stdlib

import "io/fs"

// processUmask is the file mode creation mask (none where there is no
// umask).
var processUmask fs.FileMode
