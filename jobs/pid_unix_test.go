//go:build linux

package jobs

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// A process killed and not yet reaped by its parent (a zombie: `kill -9`
// and a restart at once) is gone: its leadership was kept, and a
// restarted server's schedules waited for the next heartbeat.
func TestZombieIsNotAlive(t *testing.T) {
	if !processAlive(os.Getpid()) {
		t.Fatal("this process is not alive")
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	pid := cmd.Process.Pid
	if !processAlive(pid) {
		t.Fatal("a running child is not alive")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for processAlive(pid) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if processAlive(pid) {
		t.Error("a killed child not yet reaped is alive")
	}
	_ = cmd.Wait()
	if processAlive(pid) {
		t.Error("a reaped child is alive")
	}
}
