package jobs

import (
	"time"

	"tova/vm"
)

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
