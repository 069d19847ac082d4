package vm

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// notifier is a context that counts WillBlock calls.
type notifier struct {
	context.Context
	n atomic.Int32
}

func (c *notifier) WillBlock() { c.n.Add(1) }

// A thread tells a BlockNotifier context before it waits: around a
// blocking builtin's wait, and before it waits for a scheduler another
// thread holds; not when it takes a free one.
func TestThreadTellsItsContextBeforeItWaits(t *testing.T) {
	prog, err := Load(fibProgram(1))
	if err != nil {
		t.Fatal(err)
	}
	in := prog.NewInstance(Config{})
	in.Sched = NewGIL(time.Millisecond)
	ctx := &notifier{Context: context.Background()}
	th := in.NewThread(ctx)
	defer th.Release()

	th.Enter()
	if n := ctx.n.Load(); n != 0 {
		t.Fatalf("taking a free scheduler told the context %d times", n)
	}
	ran := false
	th.Blocking(func() { ran = true })
	if n := ctx.n.Load(); !ran || n != 1 {
		t.Fatalf("Blocking: ran %v, told %d times", ran, n)
	}
	th.Leave()

	other := in.NewThread(context.Background())
	defer other.Release()
	other.Enter()
	entered := make(chan struct{})
	go func() {
		th.Enter() // waits for other
		close(entered)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for ctx.n.Load() != 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := ctx.n.Load(); n != 2 {
		t.Fatalf("waiting for a held scheduler told the context %d times", n)
	}
	other.Leave()
	<-entered
	th.Leave()
}
