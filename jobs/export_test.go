package jobs

import (
	"context"
	"fmt"
	"time"

	"tova/vm"
)

// SetStoreWait makes spawn_job and publish wait d at most to store, for
// a test.
func SetStoreWait(d time.Duration) (undo func()) {
	old := storeWait
	storeWait = d
	return func() { storeWait = old }
}

// SetListPage makes the queue list n jobs at once, for a test.
func SetListPage(n int) (undo func()) {
	old := listPage
	listPage = n
	return func() { listPage = old }
}

// SettingsView shows the external tests a runner's effective settings.
type SettingsView struct {
	PGURL, SQLitePath                string
	MaxAttempts, Workers             int
	Timeout, Backoff, MaxBackoff     time.Duration
	FetchCooldown, FetchPollInterval time.Duration
}

func ReadSettings(inst *vm.Instance, opts Options) (SettingsView, error) {
	s, err := readSettings(inst, opts)
	return SettingsView{
		PGURL: s.pgURL, SQLitePath: s.sqlitePath,
		MaxAttempts: s.maxAttempts, Workers: s.workers,
		Timeout: s.timeout, Backoff: s.backoff, MaxBackoff: s.maxBackoff,
		FetchCooldown: s.fetchCooldown, FetchPollInterval: s.fetchPollInterval,
	}, err
}

// StoreLateTick stores, as a replica that found no leader does, the tick
// of the schedule named that was due at due.
func (r *Runner) StoreLateTick(ctx context.Context, schedule string, due time.Time) (bool, error) {
	for _, tk := range r.ticks {
		if tk.args.Schedule == schedule {
			return r.storeLateTick(ctx, tk, due)
		}
	}
	return false, fmt.Errorf("no schedule %q", schedule)
}

// SetLateTickListed sets the hook storeLateTick calls between its look
// for a stored tick and its insert.
func SetLateTickListed(f func()) { lateTickListed = f }
