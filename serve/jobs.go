package serve

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"tova/bytecode"
	"tova/jobs"
	"tova/store"
)

// startJobs starts the server's durable jobs runtime (package jobs):
// its background fns, schedules and subscriptions, and the queue that
// spawn_job and publish write to. It runs after the server's body, so
// that the hooks and the db and jobs blocks have their values, and
// before the server takes requests or runs on_start hooks. A server
// that declares none of them, in a program that never calls spawn_job
// or publish, gets none.
func (s *Server) startJobs() error {
	var err error
	if jobs.Needed(s.rt.code, s.desc) {
		_, err = jobs.Start(context.Background(), s.inst, s.desc, s.rt.sys, jobs.Options{Logger: s.rt.log, CallerTx: store.TxOf})
	} else {
		err = jobs.CheckSettings(s.inst) // (no jobs run: the block is still checked)
	}
	if err != nil && strings.HasPrefix(err.Error(), "jobs.") {
		// A jobs { } key: say where the block is (the server's own, or
		// else the program's).
		for _, cs := range [][]bytecode.Config{s.desc.Configs, s.rt.code.Configs} {
			for _, c := range cs {
				if c.Kind == "jobs" {
					return fmt.Errorf("%s: %w", posAt(s.fileName(), c.Pos), err)
				}
			}
		}
	}
	return err
}

// stopJobs stops the server's jobs runtime: running jobs get until ctx
// ends, then they are cancelled and retried by the next process working
// the queue; queued jobs stay stored.
func (s *Server) stopJobs(ctx context.Context) {
	if r := jobs.RunnerOf(s.inst); r != nil {
		if err := r.Stop(ctx); err != nil {
			s.log.Warn().Err(err).Msg("stopping jobs")
		}
	}
}

// stopJobs stops the jobs runtimes of all servers, in parallel.
func (rt *Runtime) stopJobs(ctx context.Context) {
	var wg sync.WaitGroup
	for _, s := range rt.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.stopJobs(ctx)
		}()
	}
	wg.Wait()
}
