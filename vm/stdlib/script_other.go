//go:build !unix

package stdlib

import "os/exec"

// ownGroup: cancelling kills the command alone.
func ownGroup(cmd *exec.Cmd) {}
