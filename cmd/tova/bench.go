package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	neturl "net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/valyala/fasthttp"

	"tova/bench/httpbench"
	"tova/bench/vmbench"
	"tova/bytecode"
	"tova/internal/logbuf"
)

func init() { extraCommands = append(extraCommands, benchCmd) }

func benchCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "bench",
		Short: "Run the benchmark harnesses (vm, http)",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown benchmark %q (vm or http)", args[0])
			}
			return cmd.Help()
		},
	}
	var runs int
	vmc := &cobra.Command{
		Use:   "vm [program...]",
		Short: "Time the VM benchmark programs as whole processes beside native Go",
		Long: "Time the VM benchmark programs as whole processes beside native Go.\n\n" +
			"Programs (all when none is named): " + strings.Join(vmbench.Names, ", ") + ".",
		RunE: func(cmd *cobra.Command, args []string) error {
			if runs < 1 || runs > 1000 {
				// (a million ran for hours, as -c is bounded)
				return fmt.Errorf("--runs must be from 1 to 1000, got %d", runs)
			}
			for _, name := range args {
				if _, err := vmbench.Source(name); err != nil {
					return fmt.Errorf("no benchmark program %q (programs: %s)", name, strings.Join(vmbench.Names, ", "))
				}
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "whole-process wall time, median of %s after 1 warm-up; peak RSS\n", plural(runs, "run"))
			// Ctrl-C or SIGTERM stops the run in progress; the programs'
			// temporary directory is removed.
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			err = vmbench.Run(cmd.OutOrStdout(), vmbench.Options{Tova: self, Runs: runs, Only: args, Context: ctx})
			if sig := stoppedBy(ctx); sig != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "tova bench: stopped by %s\n", sig)
				code := 143
				if sig == "SIGINT" {
					code = 130
				}
				return &exitError{code}
			}
			return err
		},
	}
	vmc.Flags().IntVar(&runs, "runs", 5, "counted runs per cell, from 1 to 1000")
	native := &cobra.Command{
		Use:    "native program",
		Short:  "Run the native Go version of a benchmark program",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := vmbench.Native(args[0])
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), out)
			return nil
		},
	}
	c.AddCommand(vmc, native, httpBenchCmd(), bareCmd(), netioCmd())
	return c
}

// helloJSON is the program `tova bench http` serves by default.
const helloJSON = `server {
  route GET "/json" => fn() { { message: "Hello, World!" } }
}
`

// benchTarget is one server bench http starts and measures: argv run
// with env added to the environment (and PORT), and the variables unset
// taken out of it.
type benchTarget struct {
	name  string
	argv  []string
	env   []string
	unset []string
}

// benchServer is the server of p that bench http loads: the one named
// (server for the unnamed one, as tova serve --server takes it), else
// the first declared.
func benchServer(p *bytecode.Program, name string) (string, error) {
	if name == "" {
		return p.Servers[0].Name, nil
	}
	has := func(name string) bool {
		return slices.ContainsFunc(p.Servers, func(s *bytecode.Server) bool { return s.Name == name })
	}
	if name == "server" && !has("server") && has("") {
		return "", nil
	}
	if !has(name) {
		return "", fmt.Errorf("--server %q: the program has no such server", name)
	}
	return name, nil
}

// servedCopy is the file the tova serve targets serve for the program
// at path: path itself, or, for a pipe (bench http <(gen)), which the
// benchmark has read and the targets could not read again, a copy in
// dir: the source, or the artifact p encoded again.
func servedCopy(path, dir string, p *bytecode.Program, src []byte) (string, error) {
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		return path, nil
	}
	name, data := filepath.Join(dir, "app.tova"), src
	if src == nil {
		var err error
		if data, err = bytecode.Encode(p); err != nil {
			return "", err
		}
		name = filepath.Join(dir, "app.tbc")
	}
	return name, os.WriteFile(name, data, 0o644)
}

// openFilesNeeded tells whether this process may open the connections
// the built-in load generator holds, conns per target for every target
// at once (wrk's are its own processes', one target's at a time), and a
// few files more: need, and the limit.
func openFilesNeeded(load string, conns, targets int) (need, limit int, ok bool) {
	if load != "builtin" {
		return 0, 0, true
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, 0, true
	}
	need = conns * targets
	return need, int(rl.Cur), uint64(need+64) <= rl.Cur
}

// benchTargets lists the targets of bench http, in the table's order:
// the bare handler (the baseline), its control copy, its busy-work
// calibration rows, netio inline and with the pool, tova serve of app,
// and tova serve's variants. self is the tova executable.
func benchTargets(self, app, server string, control bool, busy []time.Duration, variants [][]string) []benchTarget {
	bare := []string{self, "bench", "bare"}
	targets := []benchTarget{{name: "fasthttp (bare handler)", argv: bare}}
	if control {
		targets = append(targets, benchTarget{name: "fasthttp (bare handler, again)", argv: bare})
	}
	for _, d := range busy {
		targets = append(targets, benchTarget{name: fmt.Sprintf("fasthttp + %v busy work", d), argv: []string{self, "bench", "bare", "--busy", d.String()}})
	}
	// One server of the program: a program's other servers would listen
	// on their own ports in each tova serve target, and collide.
	serve := []string{self, "serve", "--host", "127.0.0.1", "--server=" + server, app}
	// PORT reaches it: its PORT_<NAME> would outrank the benchmark's.
	unset := []string{bytecode.PortEnv(server)}
	if server == "" {
		unset = nil
	}
	targets = append(targets,
		benchTarget{name: "netio, Go handler inline (no hand-off)", argv: []string{self, "bench", "netio", "--inline"}},
		benchTarget{name: "netio + actor pool, Go handler", argv: []string{self, "bench", "netio"}},
		benchTarget{name: "tova serve", argv: serve, unset: unset},
	)
	for _, v := range variants {
		targets = append(targets, benchTarget{name: "tova serve, " + strings.Join(v, " "), argv: serve, env: v, unset: unset})
	}
	return targets
}

// maxBenchConns bounds `bench http -c`: the load generator keeps a
// connection and its buffers per count.
const maxBenchConns = 10000

func httpBenchCmd() *cobra.Command {
	var conns int
	var dur, warm, turn time.Duration
	var path, url, loadName string
	var busy []time.Duration
	var variantFlags []string
	var control bool
	var serverFlag string
	c := &cobra.Command{
		Use:   "http [app.tova]",
		Short: "Load-test tova serve beside a bare fasthttp handler, in one run",
		Long: `Starts, each as its own process on 127.0.0.1, a bare fasthttp server
returning {"message":"Hello, World!"}, the same answer through netio with
the Go handler run on the connection's goroutine (what the front end
costs without the actor hand-off; tova serve never runs so), through
netio and the actor pool with a Go handler, and ` + "`tova serve`" + ` of the
hello-JSON program (or of app.tova). After a warm-up of each, the targets take turns
under the same load (N keep-alive connections) for --turn at a time until
each has been measured for --duration, in reverse order every other turn,
so that drift of a shared machine hits them alike. Prints req/s, p50, p99
and the ratio to the bare handler (total requests over total time), and
the spread of the per-turn ratios.
With --load wrk, wrk (-t2, installed separately) generates the load
instead of the built-in generator; it costs less CPU per request, which
leaves the servers' own costs a larger share of the two. wrk runs for
whole seconds, so --turn and --warmup must be whole seconds then.
--busy D (repeatable) adds a row after the bare handler's: the same
handler after D of busy work per request, a calibration point for what
D more CPU per request costs in throughput on this machine.
--control adds a row after the bare handler's: the bare handler again, in
a process of its own, measured as every other target is. Its ratio is
how far two identical servers differ in this run: the run's own noise.
Of a program with several servers, tova serve runs one, the first
declared (--server NAME for another): PORT reaches it, not its
PORT_<NAME>. A program read from a pipe is served from a temporary
copy, whose directory its relative paths are then read from.
--variant KEY=VALUE[,KEY=VALUE...] (repeatable) adds a row after tova
serve's: tova serve again, with these environment variables set, e.g.
--variant GOGC=400 to measure a runtime setting beside the default.
On Linux it also shows the CPU time each server process used per request,
and its user and system parts (from /proc): on a machine whose speed
drifts, the most stable measure of a server's own cost. System time is
mostly the network stack's (every target makes the same system calls per
request); user time is the server's own code.`,
		Args: atMostOneFile,
		RunE: func(cmd *cobra.Command, args []string) error {
			if conns < 1 || conns > maxBenchConns {
				return fmt.Errorf("--connections must be from 1 to %d, got %d", maxBenchConns, conns)
			}
			if dur <= 0 {
				return fmt.Errorf("--duration must be positive, got %s", dur)
			}
			if warm < 0 {
				return fmt.Errorf("--warmup must not be negative, got %s", warm)
			}
			if loadName != "builtin" && loadName != "wrk" {
				return fmt.Errorf("--load must be builtin or wrk, got %q", loadName)
			}
			for _, d := range busy {
				if d <= 0 || d > time.Second {
					return fmt.Errorf("--busy must be positive and at most 1s, got %s", d)
				}
			}
			var variants [][]string
			for _, v := range variantFlags {
				env, err := variantEnv(v)
				if err != nil {
					return err
				}
				variants = append(variants, env)
			}
			if url == "" && cmd.Flags().Changed("url") {
				// (an unset $TARGET: it ran the four built-in targets)
				return fmt.Errorf("--url is empty: give the URL of the running server to measure, or leave --url out to measure the built-in targets")
			}
			if url != "" {
				// One target, already running: its URL names the path.
				for _, f := range []string{"turn", "path", "load", "busy", "control", "variant", "server"} {
					if cmd.Flags().Changed(f) {
						return fmt.Errorf("--%s applies to the targets the benchmark runs, not to --url", f)
					}
				}
				if len(args) == 1 {
					return fmt.Errorf("a program (%s) and --url: give one of them", args[0])
				}
				if u, err := neturl.Parse(url); err != nil || u.Scheme != "http" || u.Host == "" {
					// (Else every request fails, and the table comes
					// before the refusal.) The load generator speaks
					// plain HTTP only.
					return fmt.Errorf("--url %q is not an http:// URL (the benchmark measures plain HTTP)", url)
				}
				if need, limit, ok := openFilesNeeded(loadName, conns, 1); !ok {
					return fmt.Errorf("--connections %d: the load generator would hold %d connections open, over this process's limit of %d open files (ulimit -n)", conns, need, limit)
				}
				// measure a server that is already running
				err := httpbench.Run(cmd.OutOrStdout(), httpbench.Options{URL: url, Connections: conns, Duration: dur, Warmup: warm})
				if rep := (*httpbench.Reported)(nil); errors.As(err, &rep) {
					return &exitError{exitRuntime} // (said in the table's notes)
				}
				return err
			}
			if !strings.HasPrefix(path, "/") {
				return fmt.Errorf("--path must start with /, got %q", path)
			}
			turnFrom := "--turn"
			if !cmd.Flags().Changed("turn") && turn > dur {
				turn = dur // (a short run is one turn a target)
				turnFrom = "--duration"
			}
			if turn <= 0 || turn > dur {
				return fmt.Errorf("--turn must be positive and at most --duration, got --turn %s and --duration %s", turn, dur)
			}
			if loadName == "wrk" && (turn%time.Second != 0 || warm%time.Second != 0) {
				var bad []string
				for _, f := range []struct {
					name string
					d    time.Duration
				}{{turnFrom, turn}, {"--warmup", warm}} {
					if f.d%time.Second != 0 {
						bad = append(bad, fmt.Sprintf("%s %s", f.name, f.d))
					}
				}
				return fmt.Errorf("--load wrk runs for whole seconds: %s must be whole seconds", strings.Join(bad, " and "))
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			// Ctrl-C or SIGTERM stops the run: the targets are stopped and
			// the temporary files removed.
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			ctx, stopSignals := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
			defer stopSignals()
			stopped := func(err error) error {
				sig := stoppedBy(ctx)
				if sig == "" {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "tova bench: stopped by %s\n", sig)
				if sig == "SIGINT" {
					return &exitError{130}
				}
				return &exitError{143}
			}
			dir, err := os.MkdirTemp("", "tova-bench-http")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			app, server := filepath.Join(dir, "hello.tova"), ""
			if len(args) == 1 {
				// Refused here, not after the other targets ran: a
				// program that does not compile would only fail to
				// listen, its error lost with its output.
				p, src, err := load(cmd, args[0])
				if err != nil {
					return err // printed; exit 3 for a compile error, as for run
				}
				if len(p.Servers) == 0 {
					return fmt.Errorf("%s declares no server: there is nothing to load", args[0])
				}
				if server, err = benchServer(p, serverFlag); err != nil {
					return err
				}
				if app, err = servedCopy(args[0], dir, p, src); err != nil {
					return err
				}
			} else if serverFlag != "" {
				return errors.New("--server names a server of the program given: give its file")
			} else if err := os.WriteFile(app, []byte(helloJSON), 0o644); err != nil {
				return err
			}
			if need, limit, ok := openFilesNeeded(loadName, conns, len(benchTargets(self, app, server, control, busy, variants))); !ok {
				return fmt.Errorf("--connections %d: the load generator would hold %d connections open at once (%d per target), over this process's limit of %d open files (ulimit -n)", conns, need, conns, limit)
			}
			targets := benchTargets(self, app, server, control, busy, variants)
			loads := make([]loader, len(targets))
			pids := make([]int, len(targets))
			for i, tg := range targets {
				addr, pid, stop, err := startTarget(tg.argv, tg.env, tg.unset)
				if te := (*targetEnded)(nil); errors.As(err, &te) && stopped(nil) == nil {
					// (the program's own start-up error: exit 5, as serve's)
					fmt.Fprintf(cmd.ErrOrStderr(), "tova bench: %s: %v\n", tg.name, err)
					return &exitError{exitStartup}
				}
				if err != nil {
					return stopped(fmt.Errorf("%s: %w", tg.name, err))
				}
				defer stop()
				if err := stopped(nil); err != nil {
					return err
				}
				l, err := newLoader(loadName, httpbench.Options{URL: "http://" + addr + path, Connections: conns})
				if err != nil {
					return err
				}
				defer l.Close()
				loads[i], pids[i] = l, pid
			}
			for _, l := range loads {
				if _, err := l.Run(ctx, warm, 0); err != nil || ctx.Err() != nil {
					return stopped(err)
				}
			}
			turns := int((dur + turn - 1) / turn)
			ratios := make([][]float64, len(targets)) // per turn, to the bare handler's
			cpu := make([]httpbench.CPUTime, len(targets))
			cpuKnown := true
			for k := range turns {
				rps := make([]float64, len(loads))
				for _, i := range turnOrder(k, len(loads)) {
					l := loads[i]
					before, err1 := httpbench.ProcessCPU(pids[i])
					if rps[i], err = l.Run(ctx, 0, turn); err != nil || ctx.Err() != nil {
						return stopped(err)
					}
					after, err2 := httpbench.ProcessCPU(pids[i])
					cpuKnown = cpuKnown && err1 == nil && err2 == nil
					cpu[i] = cpu[i].Add(after.Sub(before))
				}
				for i := range loads {
					if rps[0] > 0 {
						ratios[i] = append(ratios[i], rps[i]/rps[0])
					}
				}
			}
			t := httpbench.Table{Connections: conns, Duration: time.Duration(turns) * turn}
			for i, l := range loads {
				r, err := l.Result()
				r.Name, r.Err = targets[i].name, err
				if cpuKnown {
					r.ServerCPU = cpu[i]
				}
				t.Rows = append(t.Rows, r)
			}
			for i := range t.Rows {
				if t.Rows[0].RPS > 0 {
					t.Rows[i].Ratio = t.Rows[i].RPS / t.Rows[0].RPS
				}
			}
			out := cmd.OutOrStdout()
			generator := "built-in load generator"
			if loadName == "wrk" {
				generator = "wrk -t2"
			}
			fmt.Fprintf(out, "%s, %d connections, GOMAXPROCS=%d, %v warm-up each, then %s of %v per target\n", generator, conns, runtime.GOMAXPROCS(0), warm, plural(turns, "turn"), turn)
			if err := t.Fprint(out); err != nil {
				return err
			}
			for i, rs := range ratios[1:] {
				slices.Sort(rs)
				if len(rs) > 0 {
					fmt.Fprintf(out, "%s: per-turn ratio min %.3fx, median %.3fx, max %.3fx\n", targets[i+1].name, rs[0], rs[len(rs)/2], rs[len(rs)-1])
				}
			}
			if base := t.Rows[0]; cpuKnown && base.ServerCPU.Total() > 0 && base.Requests > 0 {
				// µs per request
				perReq := func(r httpbench.Result, d time.Duration) float64 {
					return float64(d) / float64(r.Requests) / float64(time.Microsecond)
				}
				b := base.ServerCPU
				for _, r := range t.Rows[1:] {
					if c := r.ServerCPU; r.Requests > 0 {
						fmt.Fprintf(out, "%s: server CPU per request %.2fx the bare handler's (user %+.1fµs, sys %+.1fµs)\n", r.Name,
							perReq(r, c.Total())/perReq(base, b.Total()), perReq(r, c.User)-perReq(base, b.User), perReq(r, c.System)-perReq(base, b.System))
					}
				}
			}
			// A target whose every answer was an error status measured
			// its error page (a --path its program has no route for):
			// its ratio compares nothing.
			var bad []string
			for _, r := range t.Rows {
				if r.Requests > 0 && r.Non2xx == r.Requests {
					bad = append(bad, r.Name)
				}
			}
			if len(bad) > 0 {
				err := fmt.Errorf("every answer of %s was an error status (non-2xx): does the program have a GET route for %s?", strings.Join(bad, ", "), path)
				fmt.Fprintf(cmd.ErrOrStderr(), "tova bench: %v\n", err)
				return &exitError{exitRuntime}
			}
			return nil
		},
	}
	c.Flags().IntVarP(&conns, "connections", "c", 64, "concurrent keep-alive connections")
	c.Flags().DurationVarP(&dur, "duration", "d", 10*time.Second, "measured duration per target")
	c.Flags().DurationVar(&warm, "warmup", 2*time.Second, "warm-up of each target before measuring")
	c.Flags().DurationVar(&turn, "turn", time.Second, "how long each target is measured at a time")
	c.Flags().StringVar(&path, "path", "/json", "request path")
	c.Flags().StringVar(&url, "url", "", "measure this running server instead (no baseline)")
	c.Flags().StringVar(&loadName, "load", "builtin", "load generator: builtin or wrk")
	c.Flags().DurationSliceVar(&busy, "busy", nil, "add a row: the bare handler after this much busy work per request (repeatable)")
	c.Flags().StringVar(&serverFlag, "server", "", "the server of app.tova to load (default: its first)")
	c.Flags().BoolVar(&control, "control", false, "add a row: the bare handler again, to show how far two identical servers differ in this run")
	c.Flags().StringArrayVar(&variantFlags, "variant", nil, "add a row: tova serve with these environment variables, e.g. GOGC=400,GOMAXPROCS=1 (repeatable)")
	return c
}

// variantEnv reads a --variant: environment variables for a tova serve
// row, KEY=VALUE separated by commas.
func variantEnv(v string) ([]string, error) {
	var env []string
	for kv := range strings.SplitSeq(v, ",") {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t") || k == "PORT" || strings.HasPrefix(k, "PORT_") {
			return nil, fmt.Errorf("--variant %q: want KEY=VALUE settings separated by commas (PORT and PORT_<NAME> are the benchmark's)", v)
		}
		env = append(env, kv)
	}
	return env, nil
}

// loader is a load generator driving one target: httpbench.Load or
// httpbench.WrkLoad.
type loader interface {
	Run(ctx context.Context, warmup, dur time.Duration) (float64, error)
	Result() (httpbench.Result, error)
	Close()
}

func newLoader(name string, opts httpbench.Options) (loader, error) {
	if name == "wrk" {
		return httpbench.NewWrkLoad(opts)
	}
	return httpbench.NewLoad(opts)
}

// startTarget starts argv with PORT set to a free port and waits until it
// accepts connections. stop sends SIGTERM and waits for it to exit.
func startTarget(argv, env, unset []string) (addr string, pid int, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", 0, nil, err
	}
	addr = ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(unset, k)
	}), env...), "PORT="+port)
	// The target's output (tova serve's access log) goes straight to the
	// null device: through a pipe, the load generator would pay for
	// reading it.
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return "", 0, nil, err
	}
	defer null.Close()
	// Its stderr (tova serve's own lines: why it did not start) goes to
	// a file, which costs the load nothing, read if it ends too soon.
	errFile, err := os.CreateTemp("", "tova-bench-target-*.log")
	if err != nil {
		return "", 0, nil, err
	}
	defer errFile.Close()
	cmd.Stdout, cmd.Stderr = null, errFile
	// A target outlives no bench that dies (killed, out of memory).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return "", 0, nil, err
	}
	exited := make(chan struct{})
	var exitErr error
	go func() { exitErr = cmd.Wait(); close(exited) }()
	stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		os.Remove(errFile.Name())
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return addr, cmd.Process.Pid, stop, nil
		}
		select {
		case <-exited:
			if exitErr == nil {
				exitErr = errors.New("exit status 0")
			}
			how := ""
			if len(env) > 0 {
				how = " (it ran with " + strings.Join(env, " ") + ")"
			}
			said, _ := os.ReadFile(errFile.Name())
			os.Remove(errFile.Name())
			if len(said) > 8<<10 {
				said = append([]byte("…"), said[len(said)-8<<10:]...)
			}
			return "", 0, nil, &targetEnded{status: exitErr, how: how, said: strings.TrimRight(string(said), "\n")}
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return "", 0, nil, fmt.Errorf("did not start listening on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// plural is "n word" or "n words".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// targetEnded is the error of a target that ended before it listened:
// its exit status, and what it said on stderr.
type targetEnded struct {
	status error
	how    string // the settings it ran with, if any
	said   string
}

func (e *targetEnded) Error() string {
	if e.said == "" {
		return fmt.Sprintf("ended (%v) before it listened%s, saying nothing", e.status, e.how)
	}
	return fmt.Sprintf("ended (%v) before it listened%s:\n%s", e.status, e.how, e.said)
}

func bareCmd() *cobra.Command {
	var busy time.Duration
	c := &cobra.Command{
		Use:    "bare",
		Short:  "Serve the bare fasthttp hello-JSON handler on $PORT",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			defer startProfile(cmd.ErrOrStderr())()
			srv := &fasthttp.Server{Handler: httpbench.BareBusy(busy), NoDefaultServerHeader: true}
			ln, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
			if err != nil {
				return err
			}
			go func() {
				waitForStop()
				srv.Shutdown()
			}()
			return srv.Serve(ln)
		},
	}
	c.Flags().DurationVar(&busy, "busy", 0, "busy work per request before answering")
	return c
}

// netioCmd serves the hello-JSON reply through netio and the actor pool
// with a Go handler: the front end's own cost, without the VM. With
// --inline the handler runs on the connection's goroutine instead, which
// shows what the hand-off to the pool costs.
func netioCmd() *cobra.Command {
	var inline bool
	c := &cobra.Command{
		Use:    "netio",
		Short:  "Serve hello-JSON through netio with a Go handler on $PORT",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			defer startProfile(cmd.ErrOrStderr())()
			lw := logbuf.New(io.Discard, 50*time.Millisecond)
			defer lw.Close()
			srv, stop, err := httpbench.NewNetioHello(httpbench.NetioOptions{Addr: "127.0.0.1:" + os.Getenv("PORT"), Inline: inline, Log: lw})
			if err != nil {
				return err
			}
			if err := srv.Start(); err != nil {
				_ = stop()
				return err
			}
			waitForStop()
			return stop()
		},
	}
	c.Flags().BoolVar(&inline, "inline", false, "run the handler on the connection's goroutine, without the actor pool")
	return c
}

// turnOrder is the order in which n targets are measured in a turn:
// forwards in even turns, backwards in odd ones, so that a machine whose
// speed drifts steadily favours no target over the bare handler.
func turnOrder(turn, n int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
		if turn%2 == 1 {
			order[i] = n - 1 - i
		}
	}
	return order
}
