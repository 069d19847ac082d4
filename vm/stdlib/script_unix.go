//go:build unix

package stdlib

import (
	"os/exec"
	"syscall"
)

// ownGroup runs cmd in a process group of its own, which cancelling
// kills whole: `sh -c "sleep 30"` leaves no sleep behind.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
