package vmbench

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
)

// A measurement stopped (Ctrl-C: its context ends) returns at once and
// leaves no temporary directory behind.
func TestStoppedRunRemovesItsDirectory(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Run(io.Discard, Options{Tova: "/bin/sleep", Runs: 1, Only: []string{Names[0]}, Context: ctx})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}
