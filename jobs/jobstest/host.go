// Package jobstest runs a program's servers with their jobs runtime and
// no HTTP front end: each server's top-level code and Init run on its
// own VM instance under a GIL, as `tova serve` runs them, then
// jobs.Start. The jobs tests and benchmarks use it, in process and as a
// child process (see Main).
package jobstest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"tova/actors"
	"tova/bytecode"
	"tova/driver"
	"tova/jobs"
	"tova/vm"
)

// Options configure an App.
type Options struct {
	// Servers selects server blocks by name; empty runs them all.
	Servers []string
	Dir     string
	Stdout  io.Writer
	Stderr  io.Writer
	Logger  zerolog.Logger
	Getenv  func(string) (string, bool)
	Environ func() []string
	Jobs    jobs.Options
}

// App is a running program.
type App struct {
	sys     *actors.System
	servers []*Server
}

// Server is one running server block.
type Server struct {
	Name   string
	Inst   *vm.Instance
	Runner *jobs.Runner
}

// Start runs the selected servers of p and starts their jobs runtimes.
func Start(ctx context.Context, p *bytecode.Program, opts Options) (*App, error) {
	prog, err := vm.Load(p)
	if err != nil {
		return nil, err
	}
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	if opts.Stderr == nil {
		opts.Stderr = io.Discard
	}
	if opts.Getenv == nil {
		opts.Getenv = func(string) (string, bool) { return "", false }
	}
	want := map[string]bool{}
	for _, n := range opts.Servers {
		want[n] = true
	}
	a := &App{sys: actors.NewSystem(actors.Options{Name: "tova", Logger: opts.Logger})}
	for _, d := range p.Servers {
		if len(want) > 0 && !want[d.Name] {
			continue
		}
		inst := prog.NewInstance(vm.Config{Stdout: opts.Stdout, Stderr: opts.Stderr, Getenv: opts.Getenv, Environ: opts.Environ, Dir: opts.Dir})
		inst.Sched = vm.NewGIL(0)
		inst.Server = d
		if err := inst.RunServerInit(context.Background(), d.Init); err != nil {
			a.Stop(context.Background())
			return nil, fmt.Errorf("server %q: %w", d.Name, err)
		}
		jo := opts.Jobs
		jo.Logger = opts.Logger
		r, err := jobs.Start(ctx, inst, d, a.sys, jo)
		if err != nil {
			a.Stop(context.Background())
			return nil, fmt.Errorf("server %q: %w", d.Name, err)
		}
		a.servers = append(a.servers, &Server{Name: d.Name, Inst: inst, Runner: r})
	}
	return a, nil
}

// Server returns the running server of that name, or nil.
func (a *App) Server(name string) *Server {
	for _, s := range a.servers {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Call calls the function bound to the module-level name fn in the
// server's instance, under its GIL, as a request handler would.
func (s *Server) Call(ctx context.Context, fn string, args ...vm.Value) (vm.Value, error) {
	var f vm.Value
	for i, n := range s.Inst.Prog.Code.Globals {
		if n == fn && s.Inst.Globals[i].Kind() == vm.KFunc {
			f = s.Inst.Globals[i]
		}
	}
	if f.IsNil() {
		return vm.Nil, fmt.Errorf("no function %q in server %q", fn, s.Name)
	}
	th := s.Inst.NewThread(ctx)
	defer th.Release()
	th.Enter()
	defer th.Leave()
	return th.Call(f, args...)
}

// Stop stops the servers' jobs runtimes (running jobs get until ctx
// ends), closes them, and stops the actor system.
func (a *App) Stop(ctx context.Context) error {
	var errs []error
	for _, s := range a.servers {
		errs = append(errs, s.Runner.Stop(ctx))
	}
	for _, s := range a.servers {
		errs = append(errs, s.Runner.Close(ctx))
	}
	errs = append(errs, a.sys.Stop(ctx))
	return errors.Join(errs...)
}

// Child environment variables: a test binary whose TestMain calls Main
// becomes a jobs host when TOVA_JOBSTEST_PROGRAM is set.
const (
	EnvProgram  = "TOVA_JOBSTEST_PROGRAM"  // the .tova file
	EnvServers  = "TOVA_JOBSTEST_SERVERS"  // comma-separated server names (default all)
	EnvDatabase = "TOVA_JOBSTEST_DATABASE" // jobs.Options.DatabaseURL
	EnvTick     = "TOVA_JOBSTEST_TICK"     // jobs.Options.TickEvery
	EnvDrain    = "TOVA_JOBSTEST_DRAIN"    // how long running jobs get on SIGTERM (default 10s)
)

// Main runs a jobs host when the environment asks for one and exits;
// otherwise it returns false. The host prints "ready" on stderr once its
// servers run, writes Tova's print output to stdout, and stops on
// SIGTERM or SIGINT.
func Main() bool {
	path := os.Getenv(EnvProgram)
	if path == "" {
		return false
	}
	os.Exit(runChild(path))
	return true
}

func runChild(path string) int {
	p, _, err := driver.CompilePath(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	opts := Options{
		Dir:     filepath.Dir(path),
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
		Logger:  zerolog.New(os.Stderr).With().Timestamp().Logger(),
		Getenv:  os.LookupEnv,
		Environ: os.Environ,
	}
	if s := os.Getenv(EnvServers); s != "" {
		opts.Servers = strings.Split(s, ",")
	}
	opts.Jobs.DatabaseURL = os.Getenv(EnvDatabase)
	if s := os.Getenv(EnvTick); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		opts.Jobs.TickEvery = d
	}
	app, err := Start(context.Background(), p, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		return 5
	}
	fmt.Fprintln(os.Stderr, "ready")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	drain := 10 * time.Second
	if d, err := time.ParseDuration(os.Getenv(EnvDrain)); err == nil {
		drain = d
	}
	ctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := app.Stop(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "stop:", err)
	}
	return 0
}
