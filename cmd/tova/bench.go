package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"github.com/valyala/fasthttp"

	"tova/actors"
	"tova/bench/httpbench"
	"tova/bench/vmbench"
	"tova/netio"
)

func init() { extraCommands = append(extraCommands, benchCmd) }

func benchCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "bench",
		Short: "Run the benchmark harnesses (vm, http)",
	}
	var runs int
	vmc := &cobra.Command{
		Use:   "vm [program...]",
		Short: "Time the VM benchmark programs as whole processes beside native Go",
		RunE: func(cmd *cobra.Command, args []string) error {
			self, err := os.Executable()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "whole-process wall time, median of %d runs after 1 warm-up; peak RSS\n", runs)
			return vmbench.Run(cmd.OutOrStdout(), vmbench.Options{Tova: self, Runs: runs, Only: args})
		},
	}
	vmc.Flags().IntVar(&runs, "runs", 5, "counted runs per cell")
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

func httpBenchCmd() *cobra.Command {
	var conns, rounds int
	var dur, warm time.Duration
	var path, url string
	c := &cobra.Command{
		Use:   "http [app.tova]",
		Short: "Load-test tova serve beside a bare fasthttp handler, in one run",
		Long: `Starts a bare fasthttp server returning {"message":"Hello, World!"} and then
` + "`tova serve`" + ` of the hello-JSON program (or of app.tova), each as its own
process on 127.0.0.1, and measures both with the same load (N keep-alive
connections for the duration, after a warm-up). Prints req/s, p50, p99 and
the ratio to the bare handler.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if rounds < 1 {
				return errors.New("--rounds must be at least 1")
			}
			if url != "" {
				// measure a server that is already running
				return httpbench.Run(cmd.OutOrStdout(), httpbench.Options{URL: url, Connections: conns, Duration: dur, Warmup: warm})
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			app := ""
			if len(args) == 1 {
				app = args[0]
			} else {
				dir, err := os.MkdirTemp("", "tova-bench-http")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				app = filepath.Join(dir, "hello.tova")
				if err := os.WriteFile(app, []byte(helloJSON), 0o644); err != nil {
					return err
				}
			}
			opts := httpbench.Options{Connections: conns, Duration: dur, Warmup: warm}
			targets := []struct {
				name string
				argv []string
			}{
				{"fasthttp (bare handler)", []string{self, "bench", "bare"}},
				{"netio + actor pool, Go handler", []string{self, "bench", "netio"}},
				{"tova serve", []string{self, "serve", "--host", "127.0.0.1", app}},
			}
			// Rounds interleave the targets, so that drift of a shared
			// machine hits them alike; each ratio is taken within a round.
			runs := make([][]httpbench.Result, len(targets))
			for round := range rounds {
				for i, tg := range targets {
					r, err := benchProcess(tg.argv, path, opts)
					if err != nil {
						return fmt.Errorf("%s: %w", tg.name, err)
					}
					r.Name = tg.name
					if runs[0] != nil && len(runs[0]) > round && runs[0][round].RPS > 0 {
						r.Ratio = r.RPS / runs[0][round].RPS
					}
					if i == 0 {
						r.Ratio = 1
					}
					runs[i] = append(runs[i], r)
				}
			}
			t := httpbench.Table{Connections: conns, Duration: dur}
			for _, rs := range runs {
				t.Rows = append(t.Rows, httpbench.Median(rs))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d connections, %v measured after %v warm-up, GOMAXPROCS=%d, %d round(s)", conns, dur, warm, runtime.GOMAXPROCS(0), rounds)
			if rounds > 1 {
				fmt.Fprint(cmd.OutOrStdout(), "; medians (the ratio is the median of the per-round ratios)")
			}
			fmt.Fprintln(cmd.OutOrStdout())
			if err := t.Fprint(cmd.OutOrStdout()); err != nil {
				return err
			}
			if rounds > 1 {
				for _, rs := range runs[1:] {
					fmt.Fprintf(cmd.OutOrStdout(), "%s per round:", rs[0].Name)
					for _, r := range rs {
						fmt.Fprintf(cmd.OutOrStdout(), " %.2fx", r.Ratio)
					}
					fmt.Fprintln(cmd.OutOrStdout())
				}
			}
			return nil
		},
	}
	c.Flags().IntVarP(&conns, "connections", "c", 64, "concurrent keep-alive connections")
	c.Flags().DurationVarP(&dur, "duration", "d", 10*time.Second, "measured duration per target")
	c.Flags().DurationVar(&warm, "warmup", 2*time.Second, "warm-up before measuring")
	c.Flags().StringVar(&path, "path", "/json", "request path")
	c.Flags().IntVar(&rounds, "rounds", 1, "measure every target this many times, interleaved, and report medians")
	c.Flags().StringVar(&url, "url", "", "measure this running server instead (no baseline)")
	return c
}

// benchProcess starts argv with PORT set to a free port, waits until it
// accepts connections, measures it, and stops it.
func benchProcess(argv []string, path string, opts httpbench.Options) (httpbench.Result, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return httpbench.Result{}, err
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "PORT="+port)
	// The target's output (tova serve's access log) goes straight to the
	// null device: through a pipe, the load generator would pay for
	// reading it.
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return httpbench.Result{}, err
	}
	defer null.Close()
	cmd.Stdout, cmd.Stderr = null, null
	if err := cmd.Start(); err != nil {
		return httpbench.Result{}, err
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			return httpbench.Result{}, fmt.Errorf("did not start listening on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	opts.URL = "http://" + addr + path
	return httpbench.Measure(context.Background(), opts)
}

func bareCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "bare",
		Short:  "Serve the bare fasthttp hello-JSON handler on $PORT",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			defer startProfile()()
			srv := &fasthttp.Server{Handler: httpbench.Bare, NoDefaultServerHeader: true}
			ln, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
			if err != nil {
				return err
			}
			go func() {
				sig := make(chan os.Signal, 1)
				signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
				<-sig
				srv.Shutdown()
			}()
			return srv.Serve(ln)
		},
	}
}

// netioCmd serves the hello-JSON reply through netio and the actor pool
// with a Go handler: the front end's own cost, without the VM.
func netioCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "netio",
		Short:  "Serve hello-JSON through netio with a Go handler on $PORT",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			defer startProfile()()
			sys := actors.NewSystem(actors.Options{Name: "bench"})
			pool, err := sys.StartPool(actors.PoolOptions{Name: "handlers"})
			if err != nil {
				return err
			}
			hello := httpbench.HelloResponse()
			r := netio.NewRouter()
			if err := r.Handle("GET", "/json", func(context.Context, *netio.Request) *netio.Response { return hello }); err != nil {
				return err
			}
			lw := newLogWriter(io.Discard, 50*time.Millisecond)
			defer lw.Close()
			srv, err := netio.NewServer(netio.Config{Name: "hello", Addr: "127.0.0.1:" + os.Getenv("PORT"), Router: r, Pool: pool, Logger: zerolog.New(lw), AccessLog: lw})
			if err != nil {
				return err
			}
			if err := srv.Start(); err != nil {
				return err
			}
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
			<-sig
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return srv.Shutdown(ctx)
		},
	}
}
