package serve

import (
	"context"
	"fmt"
	"time"

	"tova/bytecode"
	"tova/vm"
)

// A data block's `refresh NAME every D` (Decision 19) runs on each
// server's instance, every D from when the servers listen: the source's
// expression is evaluated again (the file read anew, without holding
// the instance's GIL while it waits for the disk), then, as one step
// (vm.Thread.CallAtomic), its value is assigned and the pipelines that
// read the source are recomputed and assigned. A request sees the old
// set of values or the new one, never the source refreshed and its
// pipelines not. A refresh that fails (the file gone or malformed, a
// runtime error in a pipeline) changes nothing, is logged, and is tried
// again at the next interval. Each refresh runs under a deadline: its
// interval or the server's request timeout, whichever is shorter.

// dataRefresh is one refresh line, as one server runs it.
type dataRefresh struct {
	source string
	at     string // the refresh line
	every  time.Duration
	load   vm.Value // evaluates the source's expression
	apply  vm.Value // apply(value): assigns the source, recomputes its pipelines
}

// readRefreshes reads the program's refresh lines from the values the
// top-level code gave them; an interval computed at run time that is
// not a duration of a second or more stops the start.
func (s *Server) readRefreshes() error {
	for _, c := range s.rt.code.Configs {
		if c.Kind != "data refresh" {
			continue
		}
		at := s.rt.topAt(c.Pos)
		v := s.inst.Globals[c.Slot]
		if v.Kind() != vm.KObject {
			return fmt.Errorf("%s: refresh %s: the program holds no refresh here (compile it again)", at, c.Name)
		}
		o := v.AsObject()
		every, _ := o.Get("every")
		load, _ := o.Get("load")
		apply, _ := o.Get("apply")
		d, err := duration(every, time.Millisecond)
		if err == nil && d < time.Second {
			err = fmt.Errorf(bytecode.RefreshRule, vm.Repr(every))
		}
		if err != nil {
			return fmt.Errorf("%s: refresh %s: %v", at, c.Name, err)
		}
		s.refreshes = append(s.refreshes, dataRefresh{source: c.Name, at: at, every: d, load: load, apply: apply})
	}
	return nil
}

// startRefreshes starts a ticker for each refresh line; stopRefreshes
// stops them, cutting a refresh still running.
func (s *Server) startRefreshes() {
	if len(s.refreshes) == 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stopRefresh = cancel
	for _, r := range s.refreshes {
		s.refreshing.Add(1)
		go func() {
			defer s.refreshing.Done()
			// The next refresh is an interval after this one ended: one
			// that runs as long as its interval (cut at its deadline)
			// leaves the server an interval without one.
			wait := time.NewTimer(r.every)
			defer wait.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-wait.C:
					s.refresh(ctx, r)
					wait.Reset(r.every)
				}
			}
		}()
	}
}

func (s *Server) stopRefreshes() {
	if s.stopRefresh != nil {
		s.stopRefresh()
		s.refreshing.Wait()
	}
}

// refresh runs one refresh of r on the server's instance.
func (s *Server) refresh(stop context.Context, r dataRefresh) {
	limit := min(r.every, s.timeout)
	ctx, cancel := context.WithTimeout(stop, limit)
	defer cancel()
	th := s.inst.NewThread(ctx)
	th.Enter()
	v, err := th.Call(r.load)
	if err == nil {
		_, err = th.CallAtomic(r.apply, v)
	}
	th.Leave()
	th.Release()
	if err != nil && stop.Err() == nil {
		if ctx.Err() == context.DeadlineExceeded {
			// Cut at its deadline: said so (it said "sleep: context
			// deadline exceeded"), where its code was kept.
			if ve, ok := err.(*vm.Error); ok {
				c := *ve
				c.Kind, c.Msg = "Timeout", fmt.Sprintf("the refresh of %s timed out after %v (its interval, or the request timeout if shorter): the old values are kept", r.source, limit)
				err = &c
			}
		}
		logTovaError(s.log.Error().Str("in", "data refresh").Str("source", r.source).Str("refresh", r.at), err)
	}
}
