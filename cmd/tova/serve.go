package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"net/netip"
	"os"
	"os/signal"
	"regexp"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"tova/bytecode"
	"tova/driver"
	"tova/frontend/diag"
	"tova/frontend/token"
	"tova/internal/logbuf"
	"tova/serve"
	"tova/vm"
)

func init() { extraCommands = append(extraCommands, serveCmd) }

func serveCmd() *cobra.Command {
	var servers []string
	var host string
	var drain time.Duration
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "serve app.tova|app.tbc",
		Short: "Run the program's servers",
		Long: `Runs every server block of the program (or those named with --server),
each on its own port: the block's "port", overridden by the environment
variable PORT_<NAME>, defaulting to 3000, 3001, ... in order. PORT, when
set, is the port of the first server run (so that several servers in one
process do not collide on it).
SIGINT/SIGTERM/SIGHUP drains in-flight requests, runs on_stop hooks and exits 0.

Logs are JSON lines on stderr; print writes to stdout. Environment:
  TOVA_LOG_LEVEL   trace, debug, info (the default), warn, error or disabled
  GOMEMLIMIT       the memory the process keeps under (default: 3/4 of
                   what it may use), e.g. 2GiB
  GOGC             the garbage collector's target, a number or off
  TOVA_CPUPROFILE  a file to write a CPU profile to, until the process stops
docs/server.md ("Deadlines, shutdown, logs") says more.`,
		Args: oneFile,
		RunE: func(cmd *cobra.Command, args []string) error {
			// A zero deadline would read as "none", and the runtime would
			// quietly put its default in its place.
			if timeout <= 0 || drain < 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "tova serve: --timeout must be positive and --drain not negative (got --timeout %v, --drain %v)\n", timeout, drain)
				return &exitError{exitUsage}
			}
			level, err := logLevel(os.Getenv("TOVA_LOG_LEVEL"))
			if err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "tova serve: %v\n", err)
				return &exitError{exitUsage}
			}
			if host, err = listenHost(host); err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "tova serve: --host: %v\n", err)
				return &exitError{exitUsage}
			}
			// The compiler's warnings are said as the log's JSON lines
			// (a log reader took their source lines and carets for
			// broken records, and TOVA_LOG_LEVEL did not hold them
			// back), with their source line and caret to a terminal.
			textWarnings := isTerminal(cmd.ErrOrStderr())
			p, src, err := loadWarned(cmd, args[0], textWarnings)
			if err != nil {
				return err
			}
			if len(p.Servers) == 0 {
				// A script, not a server: a usage error, not a failed start.
				fmt.Fprintf(cmd.ErrOrStderr(), "tova serve: %s declares no server block: run it with `tova run %s`\n", args[0], shellWord(args[0]))
				return &exitError{exitUsage}
			}
			has := func(name string) bool {
				return slices.ContainsFunc(p.Servers, func(s *bytecode.Server) bool { return s.Name == name })
			}
			for i, name := range servers {
				if name == "server" && !has("server") && has("") {
					// The unnamed server, as its log lines name it.
					servers[i], name = "", ""
				}
				if !has(name) {
					var names, plain []string
					for _, s := range p.Servers {
						if s.Name == "" {
							names = append(names, `"server" (the unnamed one)`)
							continue
						}
						names = append(names, strconv.Quote(s.Name))
						plain = append(plain, s.Name)
					}
					hint := ""
					bare := strings.Trim(name, `"'`) // ("worker" copied with its quotes)
					for _, n := range plain {
						if strings.EqualFold(n, bare) {
							hint = "; did you mean " + n + "?"
						}
					}
					if near := diag.Closest(bare, plain); hint == "" && near != "" {
						hint = "; did you mean " + near + "?"
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "tova serve: --server %q: the program has no such server (it has %s%s)\n", name, strings.Join(names, ", "), hint)
					return &exitError{exitUsage}
				}
			}
			defer startProfile(cmd.ErrOrStderr())()
			stdout, stderr, same := oneStream(cmd.OutOrStdout(), cmd.ErrOrStderr())
			// Millisecond timestamps: lines of different connections
			// written in one flush interval can be put back in order.
			zerolog.TimeFieldFormat = "2006-01-02T15:04:05.000Z07:00"
			lw := logbuf.New(stderr, 50*time.Millisecond)
			defer lw.Close()
			log := zerolog.New(lw).Level(level).With().Timestamp().Logger()
			if !textWarnings {
				for _, w := range p.Warnings {
					log.Warn().Str("in", "compile").Str("at", fmt.Sprintf("%s:%d:%d", w.File, w.Pos.Line, w.Pos.Col)).
						Msg(strings.TrimPrefix(w.Msg, "warning: "))
				}
			}
			// print's lines are batched the same way: a reader of stdout
			// that stalls or goes away (a stuck or crashed log shipper)
			// must neither hold up a request that prints past its
			// deadline nor fail it; the lines are dropped and counted.
			pw := lw
			if !same {
				pw = logbuf.NewReporting(stdout, 50*time.Millisecond, func(n int64) {
					log.Warn().Int64("dropped", n).Msg("printed lines dropped: standard output stopped taking them (its reader does not read)")
				})
				defer pw.Close()
			}
			// (One file for both, 2>&1: one batch of lines, in the order
			// they were written, a printed line before the access line of
			// its request; two flushed them each in its own turn.)
			// Go's own packages (net/http, for fetch) write through the
			// standard logger: their lines become JSON lines too.
			stdlog.SetFlags(0)
			stdlog.SetOutput(goLogWriter{log})
			defer stdlog.SetOutput(os.Stderr)
			if v := os.Getenv("GOGC"); v != "" && !validGOGC(v) {
				// Go takes it as 100 without a word.
				log.Warn().Str("GOGC", v).Msg("GOGC is neither a number nor \"off\": the garbage collector runs at its default, 100")
			}
			// Signals are caught from here on: one that comes while the
			// on_start hooks run cuts them, and the drain follows.
			// A reader of stdout or stderr that goes away (a log shipper
			// that crashed, `2>&1 | head`) must not end the server: its
			// writes fail instead, and the lines are lost.
			signal.Ignore(syscall.SIGPIPE)
			stopping, stopSignals := signal.NotifyContext(context.Background(), stopSignalList...)
			defer stopSignals()
			memLimit, memFrom := serve.ProcessMemoryLimit()
			rt, err := serve.Start(p, serve.Options{
				Servers: servers, Host: host, Logger: log, AccessLog: lw,
				Stdout: pw, Stderr: lw,
				RequestTimeout: timeout, Dir: programDir(args[0]),
				StartContext: stopping, MemoryLimit: memLimit, MemoryLimitFrom: memFrom,
			})
			if err != nil {
				pw.Flush()
				lw.Flush()
				var se *serve.StartupError
				var ve *vm.Error
				var ce *serve.ConfigError
				if sig := stoppedBy(stopping); sig != "" {
					// The signal stopped the start: not the program's error.
					where := ""
					if errors.As(err, &ve) && len(ve.Stack) > 0 {
						f := ve.Stack[0]
						where = fmt.Sprintf(" (its code was at %s:%d:%d)", f.File, f.Line, f.Col)
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "tova serve: stopped by %s while the server started%s\n", sig, where)
					// (128 + the signal's number, as tova run's: a user's
					// Ctrl-C is no failure to start, exit 5)
					for _, s := range stopSignalList {
						if n, ok := s.(syscall.Signal); ok && signalName(n) == sig {
							return &exitError{128 + int(n)}
						}
					}
				} else if errors.As(err, &se) && errors.As(err, &ve) && len(ve.Stack) > 0 {
					// A runtime error of the server's own code: shown as
					// tova run shows one, with its source line and stack.
					who := "the server"
					switch {
					case ve.Kind == "EnvError":
						// The env declarations of every server the
						// process runs are checked together, first.
						who = "the program"
					case se.Server != "":
						who = "server " + se.Server
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "tova serve: %s did not start:\n%s", who, driver.FormatError(ve, src))
				} else if errors.As(err, &ce) && diag.SourceLine(src, int(ce.Pos.Line)) != "" {
					// A config block's value: shown at its key, with
					// the source line.
					at := token.Pos{Line: ce.Pos.Line, Col: ce.Pos.Col}
					fmt.Fprintf(cmd.ErrOrStderr(), "tova serve: %v\n%s\n", err, diag.Snippet(src, at, token.Pos{}))
				} else if at, ok := placeIn(err.Error(), p); ok && diag.SourceLine(src, int(at.Line)) != "" {
					// Another error at a place of the program (tls { },
					// a guard that is no function): its line and caret
					// too, as docs/server.md promises.
					fmt.Fprintf(cmd.ErrOrStderr(), "tova serve: %v\n%s\n", err, diag.Snippet(src, at, token.Pos{}))
				} else {
					fmt.Fprintf(cmd.ErrOrStderr(), "tova serve: %v\n", err)
				}
				return &exitError{exitStartup}
			}
			pw.Flush()
			lw.Flush()
			<-stopping.Done()
			// Said at once: the drain may take up to its length in
			// silence before the servers' "server stopped" lines.
			log.Info().Str("signal", stoppedBy(stopping)).Dur("drain", drain).
				Msg("stopping: in-flight requests get the drain to finish; a second signal cuts it short")
			// A second signal cuts the drain short: in-flight requests
			// are stopped (503), on_stop still runs, the logs are
			// written, and the process exits as after a drain.
			again := make(chan os.Signal, 1)
			signal.Notify(again, stopSignalList...)
			defer signal.Stop(again)
			stopSignals()
			ctx, cancel := context.WithTimeout(context.Background(), drain)
			defer cancel()
			drained := make(chan struct{})
			defer close(drained)
			go func() {
				select {
				case sig := <-again:
					name := sig.String()
					if s, ok := sig.(syscall.Signal); ok {
						name = signalName(s) // (SIGTERM, as the first's line says, not "terminated")
					}
					log.Warn().Str("signal", name).Msg("second signal: the drain is cut short")
					cancel()
				case <-drained:
				}
			}()
			if err := rt.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				fmt.Fprintf(cmd.ErrOrStderr(), "tova serve: shutdown: %v\n", err)
			}
			return nil
		},
	}
	c.Flags().StringArrayVar(&servers, "server", nil, "run only this server (repeatable)")
	c.Flags().StringVar(&host, "host", "0.0.0.0", "interface to listen on")
	c.Flags().DurationVar(&drain, "drain", 10*time.Second, "how long in-flight requests get to finish on shutdown (0: none)")
	c.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "default per-request deadline")
	return c
}

// logLevel reads TOVA_LOG_LEVEL: the least level logged, "info" when
// unset.
func logLevel(v string) (zerolog.Level, error) {
	if v == "" {
		return zerolog.InfoLevel, nil
	}
	l, err := zerolog.ParseLevel(strings.ToLower(v))
	if _, num := strconv.Atoi(v); num == nil || err != nil || l == zerolog.NoLevel {
		// zerolog also takes level numbers (99 turned every line off).
		return 0, fmt.Errorf("TOVA_LOG_LEVEL=%q is not a log level (trace, debug, info, warn, error, fatal, panic or disabled)", v)
	}
	return l, nil
}

// startProfile writes a CPU profile to $TOVA_CPUPROFILE, if set, until the
// returned function is called: TOVA_CPUPROFILE=cpu.out tova serve ...
// A file there that holds something else than a profile (gzip) is kept:
// stderr says so, and no profile is taken.
func startProfile(stderr io.Writer) (stop func()) {
	path := os.Getenv("TOVA_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	if b, err := os.ReadFile(path); err == nil && len(b) > 0 && !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		fmt.Fprintf(stderr, "tova: TOVA_CPUPROFILE: %s holds something else than a CPU profile: it is kept, and no profile is taken\n", path)
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(stderr, "tova: TOVA_CPUPROFILE: %v: no profile is taken\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		fmt.Fprintf(stderr, "tova: TOVA_CPUPROFILE: %v\n", err)
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// stoppedBy names the signal that ended ctx, one of signal.NotifyContext's
// for stopSignalList, or is "" if none did.
func stoppedBy(ctx context.Context) string {
	if ctx.Err() == nil {
		return ""
	}
	cause := context.Cause(ctx).Error()
	for _, s := range stopSignalList {
		if sig, ok := s.(syscall.Signal); ok && strings.HasPrefix(cause, sig.String()+" ") {
			return signalName(sig)
		}
	}
	return "a signal"
}

// stopSignalList are the signals that stop a server gracefully: SIGINT,
// SIGTERM, and SIGHUP (the terminal or SSH session that started it
// closed, or a `kill -HUP` meant as a reload), whose default action would
// end the process at once, cutting in-flight requests and losing the
// buffered log lines.
var stopSignalList = func() []os.Signal {
	// (SIGQUIT, Ctrl-\, too: its default action dumped every goroutine's
	// Go stack and cut the requests in flight)
	l := []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT}
	if !signal.Ignored(syscall.SIGHUP) {
		l = append(l, syscall.SIGHUP) // (started with nohup, it stays ignored)
	}
	return l
}()

// waitForStop blocks until SIGINT, SIGTERM or SIGHUP arrives; a second one then
// takes its default action (ends the process).
func waitForStop() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, stopSignalList...)
	<-sig
	signal.Stop(sig)
}

// listenHost checks a --host value: an IP address (an IPv6 one with or
// without brackets) or a host name, without a port. Empty is refused:
// it comes from an unset variable (--host "$HOST") more often than from
// a wish to listen on every interface, which is the default anyway.
func listenHost(h string) (string, error) {
	if h == "" {
		return "", errors.New(`empty: give an address (0.0.0.0 or :: for every interface, 127.0.0.1 for this machine only)`)
	}
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return h, nil
	}
	if strings.Contains(h, ":") {
		return "", fmt.Errorf("%q is not an address: give the address alone (the port comes from the program, PORT or PORT_<NAME>)", h)
	}
	looksIP := h != ""
	for _, r := range h {
		if r != '.' && (r < '0' || r > '9') {
			looksIP = false
		}
	}
	if looksIP {
		return "", fmt.Errorf("%q is not an IP address", h)
	}
	if len(h) > 253 || strings.ContainsFunc(h, func(r rune) bool {
		return !(r == '.' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) {
		return "", fmt.Errorf("%q is not an IP address or a host name", h)
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		// (-1, a..b: no host's name, looked up all the same)
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("%q is not an IP address or a host name", h)
		}
	}
	return h, nil
}

// validGOGC reports whether v is a GOGC value Go reads: "off" or an
// integer percentage.
func validGOGC(v string) bool {
	if v == "off" {
		return true
	}
	_, err := strconv.Atoi(v)
	return err == nil
}

// goLogWriter writes the standard logger's lines (a Go package's own
// words, such as net/http's "Unsolicited response received on idle HTTP
// channel") as warnings of the server's log.
type goLogWriter struct{ log zerolog.Logger }

func (w goLogWriter) Write(p []byte) (int, error) {
	w.log.Warn().Str("from", "go").Msg(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// oneStream returns stdout and stderr as print and the logs write to
// them. When both are the same file (`2>&1` into a pipe, as under a
// supervisor or `| tee`), each write takes one lock first: a pipe keeps
// only writes of up to 4 KiB (PIPE_BUF) whole, so a long printed line
// and a flush of log lines could otherwise interleave mid-line.
// same reports that they are one file.
func oneStream(stdout, stderr io.Writer) (io.Writer, io.Writer, bool) {
	o, ok1 := fileOf(stdout)
	e, ok2 := fileOf(stderr)
	if !ok1 || !ok2 {
		return stdout, stderr, false
	}
	oi, err1 := o.Stat()
	ei, err2 := e.Stat()
	if err1 != nil || err2 != nil || !os.SameFile(oi, ei) {
		return stdout, stderr, false
	}
	mu := new(sync.Mutex)
	return &lockedWriter{mu: mu, w: stdout}, &lockedWriter{mu: mu, w: stderr}, true
}

// lockedWriter writes through w under mu, shared with other writers of
// the same file.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// placeIn finds, in an error's message, the first place of the program
// p's (one-file) source it names, "app.tova:3:15: ...".
func placeIn(msg string, p *bytecode.Program) (token.Pos, bool) {
	if len(p.Files) != 1 || p.Files[0].Name == "" {
		return token.Pos{}, false
	}
	re := regexp.MustCompile(`(?:^|[\s(])` + regexp.QuoteMeta(p.Files[0].Name) + `:(\d+):(\d+):`)
	m := re.FindStringSubmatch(msg)
	if m == nil {
		return token.Pos{}, false
	}
	line, err1 := strconv.Atoi(m[1])
	col, err2 := strconv.Atoi(m[2])
	if err1 != nil || err2 != nil || line > 1<<30 || col > 1<<30 {
		return token.Pos{}, false
	}
	return token.Pos{Line: int32(line), Col: int32(col)}, true
}
