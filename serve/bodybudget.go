package serve

import (
	"math"
	"runtime/debug"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"tova/vm"
)

// Decoding a JSON body makes a value that takes many times its text:
// `[{},{},...]` about 60 times (an object for each two bytes), a form
// body `a=&a=&...` about 40. A few dozen clients sending such bodies,
// each within max_body, made the heap grow by gigabytes, in work that is
// not Tova code, which the memory guard cannot stop. bodyBudget bounds
// what the bodies being decoded at once may take, process-wide: a
// quarter of the memory limit (at least 64 MiB), each body reckoned at
// jsonCostRatio times its size. A body larger than the budget is decoded alone; the others wait
// for their turn, up to their request's deadline. Bodies under
// freeBodyBytes take no part: the common case costs nothing.
const (
	jsonCostRatio = 64
	freeBodyBytes = 64 << 10
)

var bodyBudget = sync.OnceValue(func() *budget { // (a variable for the tests)
	limit := debug.SetMemoryLimit(-1) // (the current limit, unchanged)
	if limit == math.MaxInt64 || limit <= 0 {
		limit = int64(DefaultMemoryLimit())
	}
	if limit <= 0 {
		limit = 4 << 30
	}
	n := max(limit/4, 64<<20)
	return &budget{sem: semaphore.NewWeighted(n), size: n}
})

type budget struct {
	sem  *semaphore.Weighted
	size int64
}

// decodeBody runs decode, which decodes a JSON or form body of n bytes for
// the request running on th, in its turn: at once for a small body, or
// when the budget has room, else once it has, waiting (the server's other
// requests running meanwhile) until the request's deadline. A body read
// when its request no longer runs (th nil: on_finish, a req kept in
// state) is decoded at once.
func decodeBody(th *vm.Thread, n int, decode func() (vm.Value, error)) (vm.Value, error) {
	if n < freeBodyBytes || th == nil {
		return decode()
	}
	v, err := decodeBudgeted(th, n, decode)
	if err == nil && th.Context().Err() != nil {
		// Stopped while it decoded (the memory guard, the deadline): the
		// decoded body is dropped, and the code goes no further (the next
		// statement ran, a print or a write, after the 503 went out).
		return vm.Nil, &vm.Error{Kind: vm.ErrCancelled, Msg: "the request was stopped while its body was decoded", Cause: th.Context().Err()}
	}
	return v, err
}

// decodeBudgeted decodes a large body once the budget has room for it.
func decodeBudgeted(th *vm.Thread, n int, decode func() (vm.Value, error)) (vm.Value, error) {
	b := bodyBudget()
	cost := min(int64(n)*jsonCostRatio, b.size)
	if !b.sem.TryAcquire(cost) {
		var err error
		th.Blocking(func() { err = b.sem.Acquire(th.Context(), cost) })
		if err != nil {
			return vm.Nil, vm.Errorf(vm.ErrCancelled, "the request's body waited for memory to decode it until its deadline: %v", err)
		}
	}
	defer b.sem.Release(cost)
	defer releaseLater()
	return decode()
}

// releaseAfter is how long after the last large body decoded the
// garbage of a burst of them is collected and its memory given back to
// the system: the heap they made stayed at its peak, gigabytes, until
// the runtime's next collection, two minutes later when nothing else
// allocated.
var releaseAfter = 5 * time.Second

var release struct {
	sync.Mutex
	timer *time.Timer
}

// releaseLater collects the garbage of large bodies once none has been
// decoded for releaseAfter (one timer for the process, pushed back by
// each body).
func releaseLater() {
	release.Lock()
	defer release.Unlock()
	if release.timer == nil {
		release.timer = time.AfterFunc(releaseAfter, debug.FreeOSMemory)
		return
	}
	release.timer.Reset(releaseAfter)
}
