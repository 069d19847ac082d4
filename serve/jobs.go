package serve

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"tova/bytecode"
	"tova/jobs"
	"tova/store"
	"tova/vm"
)

// startJobs starts the server's durable jobs runtime (package jobs):
// its background fns, schedules and subscriptions, and the queue that
// spawn_job and publish write to. It runs after the server's body, so
// that the hooks and the db and jobs blocks have their values, and
// before the server takes requests or runs on_start hooks. A server
// that declares none of them, in a program that never calls spawn_job
// or publish, gets none.
func (s *Server) startJobs(queue string) error {
	var err error
	if where, _, qerr := jobs.QueueOf(s.inst); qerr == nil && queue == "" && sameFile(where, store.SQLiteFile(s.inst)) {
		// SQLite has one writer a file: a transaction of the app would
		// hold off the queue (spawn_job in db.transaction waited for
		// itself, then failed), and the queue's heartbeat the app.
		err = fmt.Errorf("jobs.database: %s is the program's own database file: the job queue needs a file of its own (leave jobs.database out for .tova/<program>.jobs.db, or name another file)", where)
	} else if jobs.Needed(s.rt.code, s.desc) {
		_, err = jobs.Start(context.Background(), s.inst, s.desc, s.rt.sys, jobs.Options{Logger: s.rt.log, CallerTx: store.TxOf, DatabaseURL: queue, Args: s.jobArgs, RequestID: servedRequestID})
	} else {
		err = jobs.CheckSettings(s.inst) // (no jobs run: the block is still checked)
	}
	return jobsBlockAt(s.rt.code, s.desc, err)
}

// servedRequestID is the id of the request t serves, its res.on_finish
// callbacks included, "" when it serves none: the jobs it spawns, the
// events it publishes and the calls it makes to other servers keep it.
func servedRequestID(t *vm.Thread) string {
	switch h := t.Host.(type) {
	case *exchange:
		return h.requestID()
	case finishedRequest:
		return string(h)
	}
	return ""
}

func init() {
	vm.Register(&vm.Builtin{Name: "request_id", Fn: builtinRequestID})
}

// request_id() is the id of the request being served (req.id), or, in a
// job or a subscriber, of the request that spawned the job or published
// the event: what a fetch sends as its X-Request-ID to be traced (the
// calls to other servers of a program send it themselves). nil where
// there is none (a schedule, on_start, a script).
func builtinRequestID(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if len(args) > 0 {
		return vm.Nil, vm.TypeErrorf("request_id takes no arguments, got %d", len(args))
	}
	id := servedRequestID(t)
	if id == "" {
		id = jobs.RequestOf(t.Context())
	}
	if id == "" {
		return vm.Nil, nil
	}
	return vm.Str(id), nil
}

// finishedRequest is the Host of the thread running a request's
// res.on_finish callbacks: the request's id. (Not its exchange: the
// request no longer runs, and what a caller's transaction held while
// it did is held no longer.)
type finishedRequest string

// jobsBlockAt gives an error about a key of the jobs { } block that
// server d reads where the block is (the server's own, or else the
// program's).
func jobsBlockAt(code *bytecode.Program, d *bytecode.Server, err error) error {
	if err == nil || !strings.HasPrefix(err.Error(), "jobs.") {
		return err
	}
	for _, cs := range [][]bytecode.Config{d.Configs, code.Configs} {
		for _, c := range cs {
			if c.Kind == "jobs" {
				file := code.FileName(code.Funcs[d.Init].File)
				at := posAt(file, c.Pos)
				return keyAt(file, &c, at, fmt.Errorf("%s: %w", at, err))
			}
		}
	}
	return err
}

// sameFile reports whether paths a and b name one existing file, or
// are one path.
func sameFile(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// startJobs starts the jobs runtimes of the servers, with one queue: a
// server whose db and jobs blocks do not choose where its queue is (the
// guide's worker, beside an api whose db block is PostgreSQL's) uses
// the one the program's other servers chose, so that a job or an event
// one server sends another reaches it (a job spawn_job stored for the
// worker in the api's PostgreSQL queue was never run: the worker worked
// the default file). The servers this process does not run are read as
// `tova jobs` reads them (their setup code on a scratch instance).
// Servers that choose different queues keep them, with a warning.
func (rt *Runtime) startJobs() error {
	running := map[string]*Server{}
	for _, s := range rt.servers {
		running[s.desc.Name] = s
	}
	plan := PlanQueues(rt.code, func(d *bytecode.Server) (string, bool, error) {
		if s := running[d.Name]; s != nil {
			return jobs.QueueOf(s.inst)
		}
		return "", false, errNotRunHere
	})
	if plan.Apart != "" {
		rt.log.Warn().Msg(plan.Apart)
	}
	rt.warnApartQueues()
	for _, s := range rt.servers {
		if err := s.startJobs(plan.Adopt[s.desc.Name]); err != nil {
			return &StartupError{Server: s.Name, Err: err}
		}
	}
	return nil
}

// errNotRunHere: a server this process does not run, whose blocks it
// does not read (their setup code is the other process's, with its side
// effects).
var errNotRunHere = errors.New("not run by this process")

// warnApartQueues warns, in a process running some servers of the
// program, of servers it does not run that have a db or jobs block of
// their own, beside servers it runs whose blocks choose no queue: their
// queues may be apart, and what they send each other lost.
func (rt *Runtime) warnApartQueues() {
	own := func(d *bytecode.Server) bool {
		for _, c := range d.Configs {
			if c.Kind == "db" || c.Kind == "jobs" {
				return true
			}
		}
		return false
	}
	for _, c := range rt.code.Configs {
		if c.Kind == "db" || c.Kind == "jobs" {
			return // the program's block: every server's
		}
	}
	running := map[string]bool{}
	var bare []string
	for _, s := range rt.servers {
		running[s.desc.Name] = true
		// A server run here whose blocks choose no queue: none, or a
		// SQLite db block or a jobs block without a database, which
		// leave it in the program's default file (a worker with `jobs
		// { max_attempts: 3 }` never got the events an api storing
		// them in PostgreSQL published).
		if _, explicit, err := jobs.QueueOf(s.inst); err == nil && !explicit && jobs.Needed(rt.code, s.desc) {
			bare = append(bare, ServerLabel(s.desc.Name))
		}
	}
	if len(bare) == 0 {
		return
	}
	for _, d := range rt.code.Servers {
		if !running[d.Name] && own(d) {
			rt.log.Warn().Str("servers", strings.Join(bare, ", ")).Str("other", d.Name).
				Msg("this process runs servers whose blocks choose no job queue (they use the program's default file), beside server " + d.Name +
					" (run elsewhere), which has a db or jobs block of its own: if it keeps its job queue in another database, jobs and events between them are never delivered; put the block at the top level, for every server, or give each a jobs { url } of the same database")
			return
		}
	}
}

// QueuePlan says where a program's servers keep their job queues.
type QueuePlan struct {
	// Where each server's queue is (servers whose blocks could not be
	// read are missing).
	Where map[string]string
	// Adopt maps a server whose blocks choose no queue to the one the
	// others chose.
	Adopt map[string]string
	// Apart, if not "", warns that the servers chose several queues.
	Apart string
}

// PlanQueues reads where each server of p keeps its job queue (with
// queueOf: where, and whether its db or jobs block chose it) and plans
// one queue for the servers that choose none: the one the others
// chose, if they all chose one.
func PlanQueues(p *bytecode.Program, queueOf func(d *bytecode.Server) (string, bool, error)) QueuePlan {
	plan := QueuePlan{Where: map[string]string{}, Adopt: map[string]string{}}
	explicit := map[string]bool{}
	chosen := map[string][]string{} // queue → the servers that chose it
	var order []string
	for _, d := range p.Servers {
		q, ex, err := queueOf(d)
		if err != nil {
			continue // (a server run here says where, at its start)
		}
		plan.Where[d.Name], explicit[d.Name] = q, ex
		if ex {
			if chosen[q] == nil {
				order = append(order, q)
			}
			chosen[q] = append(chosen[q], ServerLabel(d.Name))
		}
	}
	switch {
	case len(order) == 1:
		for name := range plan.Where {
			if !explicit[name] {
				plan.Adopt[name], plan.Where[name] = order[0], order[0]
			}
		}
	case len(order) > 1:
		var parts []string
		for _, q := range order {
			parts = append(parts, fmt.Sprintf("%s in %s", strings.Join(chosen[q], ", "), store.RedactURL(q)))
		}
		plan.Apart = "the servers keep their job queues apart (" + strings.Join(parts, "; ") +
			"): a job or an event one sends another is stored where the other never looks; give them one db or jobs block, at the top level"
	}
	return plan
}

// ScratchQueue reads where server d of prog keeps its job queue: its
// setup code (the top level, then its body) runs on a scratch
// instance, whose database is closed again.
func ScratchQueue(prog *vm.Program, d *bytecode.Server, cfg vm.Config) (where string, explicit bool, err error) {
	inst := prog.NewInstance(cfg)
	inst.Server = d
	defer store.Close(inst)
	if err := inst.RunServerInit(context.Background(), d.Init); err != nil {
		return "", false, err
	}
	// The db block's own errors, as the server's start reports them.
	if err := store.CheckConfig(inst); err != nil {
		return "", false, err
	}
	where, explicit, err = jobs.QueueOf(inst)
	return where, explicit, jobsBlockAt(prog.Code, d, err)
}

// ServerLabel is how messages name server name: "server" for the
// unnamed one.
func ServerLabel(name string) string {
	if name == "" {
		return "server"
	}
	return name
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

// stopJobs stops the jobs runtimes of all servers, in parallel, then
// closes their queues' databases: every server's on_stop has run by
// then, and what it spawned or published is stored, for the next
// process to run.
func (rt *Runtime) stopJobs(ctx context.Context) {
	var wg sync.WaitGroup
	for _, s := range rt.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.stopJobs(ctx)
			if r := jobs.RunnerOf(s.inst); r != nil {
				if err := r.Close(ctx); err != nil {
					s.log.Warn().Err(err).Msg("closing the job queue")
				}
			}
		}()
	}
	wg.Wait()
}

// jobArgs takes the arguments a job or an event brings for fn: those of
// its typed parameters become what they were sent as (Some and None,
// records, variants), as a call's from another server do; one that does
// not convert fails the job for good (a TypeError naming it). A nil
// stays nil (None for an Option<T>), as a direct call would pass it.
// Option values a job stored before they crossed in the wire's form
// ({"value": x}, {"__tag": "None"}) are taken too.
func (s *Server) jobArgs(fn vm.Value, args []vm.Value) ([]vm.Value, error) {
	if fn.Kind() != vm.KFunc {
		return args, nil
	}
	cl := fn.AsClosure()
	params, types := cl.ParamNames(), cl.ParamTypes()
	var bad []string
	for i := range min(len(args), len(params), len(types)) {
		typ := types[i]
		if typ == "" {
			continue
		}
		_, optional := strings.CutPrefix(typ, "Option<")
		v := args[i]
		if optional {
			v = s.storedOption(params[i], v, typ)
		}
		if v.IsNil() {
			if optional {
				args[i] = vm.None
			}
			continue
		}
		c, msg := s.convertArg(params[i], v, typ)
		if msg != "" {
			bad = append(bad, msg)
			continue
		}
		args[i] = c
	}
	if len(bad) > 0 {
		err := vm.TypeErrorf("the arguments do not fit the parameters' types: %s", strings.Join(bad, "; "))
		err.Stack = []vm.StackFrame{cl.Decl()} // (the fn whose parameters they are)
		return nil, err
	}
	return args, nil
}

// storedOption is v, an argument of an Option<T> parameter, as the job
// queue stored Options before they crossed in the wire's form: None as
// {"__tag": "None"} (nil now), Some(x) as {"value": x} (x now, unless
// that object is itself a T).
func (s *Server) storedOption(name string, v vm.Value, typ string) vm.Value {
	if v.Kind() != vm.KObject || v.AsObject().Type != nil || v.AsObject().Len() != 1 {
		return v
	}
	o := v.AsObject()
	if tag, ok := o.Get("__tag"); ok && tag.Kind() == vm.KString && tag.AsString() == "None" {
		return vm.Nil
	}
	if x, ok := o.Get("value"); ok {
		if _, msg := s.convertParam(name, v, typ); msg != "" {
			return x
		}
	}
	return v
}
