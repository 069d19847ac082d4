package actors

import (
	"context"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/router"
)

// The benchmarks compare ways of handing a request to an actor and waiting
// for its answer; doc.go records the numbers. Each op is one hand-off of a
// trivial job and one reply. "Serial" has one caller; "Parallel" has 8
// callers per CPU, like fasthttp's handler goroutines under load.

var benchResult any

type constRunner struct{}

func (constRunner) Run(context.Context) (any, error) { return 42, nil }

func runBoth(b *testing.B, op func()) {
	b.Run("Serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			op()
		}
	})
	b.Run("Parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				op()
			}
		})
	})
}

// BenchmarkHandoffPool: the elastic Pool (idle stacks, pooled reply
// slots), the caller running the job on the worker's coroutine.
func BenchmarkHandoffPool(b *testing.B) { benchPool(b, false) }

// BenchmarkHandoffPoolChannel: the same pool handing every job to the
// worker's goroutine through its channel (PoolOptions.NoDirect).
func BenchmarkHandoffPoolChannel(b *testing.B) { benchPool(b, true) }

func benchPool(b *testing.B, noDirect bool) {
	sys := NewSystem(Options{})
	defer func() { _ = sys.Stop(context.Background()) }()
	p, err := sys.StartPool(PoolOptions{Name: "bench", NoDirect: noDirect})
	if err != nil {
		b.Fatal(err)
	}
	runBoth(b, func() {
		var j Job
		v, err := p.Do(&j, time.Now().Add(time.Second), constRunner{})
		if err != nil {
			b.Fatalf("%v; pool %+v", err, p.Stats())
		}
		benchResult = v
	})
}

type chanRequest struct {
	reply chan any
}

func replier(c actor.Context) {
	if m, ok := c.Message().(*chanRequest); ok {
		m.reply <- 42
	}
}

// BenchmarkHandoffRoundRobin: protoactor RoundRobinPool of GOMAXPROCS*2
// actors, Send plus a buffered reply channel.
func BenchmarkHandoffRoundRobin(b *testing.B) {
	sys := NewSystem(Options{})
	defer func() { _ = sys.Stop(context.Background()) }()
	pid := sys.as.Root.Spawn(router.NewRoundRobinPool(4, actor.WithFunc(replier)))
	runBoth(b, func() {
		req := &chanRequest{reply: make(chan any, 1)}
		sys.as.Root.Send(pid, req)
		select {
		case v := <-req.reply:
			benchResult = v
		case <-time.After(time.Second):
			b.Fatal("timeout")
		}
	})
}

// BenchmarkHandoffActorPerRequest: spawn an actor per request, Send,
// reply on a channel, stop it.
func BenchmarkHandoffActorPerRequest(b *testing.B) {
	sys := NewSystem(Options{})
	defer func() { _ = sys.Stop(context.Background()) }()
	props := actor.PropsFromFunc(replier)
	runBoth(b, func() {
		pid := sys.as.Root.Spawn(props)
		req := &chanRequest{reply: make(chan any, 1)}
		sys.as.Root.Send(pid, req)
		benchResult = <-req.reply
		sys.as.Root.Stop(pid)
	})
}

// BenchmarkHandoffGoroutinePerRequest: a goroutine per request with
// recover, reply on a channel (no actor at all); "Deadline" adds the
// per-request timer a caller needs to stop waiting at its deadline.
func BenchmarkHandoffGoroutinePerRequest(b *testing.B) {
	run := func(reply chan any) {
		go func() {
			defer func() {
				if r := recover(); r != nil {
					reply <- r
				}
			}()
			reply <- 42
		}()
	}
	b.Run("NoDeadline", func(b *testing.B) {
		runBoth(b, func() {
			reply := make(chan any, 1)
			run(reply)
			benchResult = <-reply
		})
	})
	b.Run("Deadline", func(b *testing.B) {
		runBoth(b, func() {
			reply := make(chan any, 1)
			t := time.NewTimer(time.Second)
			run(reply)
			select {
			case benchResult = <-reply:
			case <-t.C:
				// A caller would answer 503 now; here the reply is
				// still awaited (a stalled machine is not a failure of
				// what is measured: the timer's cost).
				benchResult = <-reply
			}
			t.Stop()
		})
	})
}
