// Command tova compiles and runs Tova programs.
//
// Exit codes (documented in docs/cli.md):
//
//	0  success
//	1  the program failed at run time (an uncaught Tova error)
//	2  usage error: unknown command or flag, missing or unreadable file
//	3  compile error in the source
//	4  the .tbc file is invalid (corrupt, truncated, wrong version)
//	5  a server or job runtime failed to start (bad config, port in use)
//	129, 130, 143  tova run stopped by SIGHUP, SIGINT or SIGTERM
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
	exitCompile = 3
	exitBadTBC  = 4
	exitStartup = 5
	exitBug     = 70 // (sysexits' EX_SOFTWARE) a fault of tova's own
)

// Version is the toolchain version, set at build time with -ldflags.
var Version = "0.1.0-dev"

// exitError carries an exit code out of a command; its message has
// already been printed.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func main() {
	os.Exit(guarded(os.Args[1:], os.Stdout, os.Stderr))
}

// guarded is run, a Go panic in the command's own goroutine (a fault
// of tova, not of the program) said as one, with its stack for a
// report, and exit 70 rather than Go's 2, which is a usage error's.
func guarded(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "tova: internal error (a fault of tova %s, not of the program): %v\nplease report it with this trace:\n%s", Version, r, debug.Stack())
			code = exitBug
		}
	}()
	return run(args, stdout, stderr)
}

// isScript tells whether name, the first argument, is a program's file
// rather than a command: no command or flag of root's, and an existing
// regular file.
func isScript(root *cobra.Command, name string) bool {
	if strings.HasPrefix(name, "-") || name == "help" {
		return false
	}
	for _, c := range root.Commands() {
		if c.Name() == name || c.HasAlias(name) {
			return false
		}
	}
	fi, err := os.Stat(name)
	return err == nil && fi.Mode().IsRegular()
}

// run executes the CLI with args and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRoot()
	out := &checkedWriter{w: stdout}
	root.SetOut(out)
	root.SetErr(stderr)
	completionCmd(root) // (after SetOut: its commands keep the writer)
	if len(args) > 0 {
		switch a := args[0]; {
		case a == "":
			// (it printed the help and exited 0)
			fmt.Fprintln(stderr, `tova: "" is no command or file (see tova help)`)
			return exitUsage
		case a == "--version" || a == "-v":
			args = append([]string{"version"}, args[1:]...)
		case strings.HasSuffix(a, ".tova") || strings.HasSuffix(a, ".tbc") || isScript(root, a) ||
			strings.ContainsRune(a, '/') && !strings.HasPrefix(a, "-"):
			// (a path, which no command's name is: run says what is
			// wrong with it, not "unknown command")
			// tova app.tova, as the reference's CLI takes it, and a
			// script's #!/usr/bin/env tova line: tova run app.tova, or
			// tova /usr/local/bin/deploy for a script without the
			// extension.
			args = append([]string{"run"}, args...)
		}
	}
	root.SetArgs(args)
	c, err := root.ExecuteC()
	if out.err != nil && (c == nil || c.Name() != "serve") {
		// What the command printed is lost (a full disk, a closed
		// pipe): not a success, also after a program's exit(0), which
		// hid it. (A server's printed lines are not its answer: lost,
		// they are counted in its log.)
		var ee *exitError
		switch {
		case err == nil || errors.As(err, &ee) && ee.code == exitOK:
			err = fmt.Errorf("writing the output: %w", out.err)
		case errors.As(err, &ee):
			fmt.Fprintln(stderr, "tova: writing the output:", out.err) // (its own code stays)
		}
	}
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintln(stderr, "tova:", err)
	return exitUsage
}

// flagDurationRE reads pflag's error of a duration flag's value.
var flagDurationRE = regexp.MustCompile(`^invalid argument ("[^"]*") for "([^"]+)" flag: time: (?:invalid duration|unknown unit|missing unit)`)

// flagNumberRE reads pflag's error of a number flag's value.
var flagNumberRE = regexp.MustCompile(`^invalid argument ("[^"]*") for "([^"]+)" flag: strconv\.Parse\w+: parsing "[^"]*": (invalid syntax|value out of range)$`)

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "tova",
		Short:         "Compile, run and serve Tova programs",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		// A number flag's bad value in the runtime's words, not
		// strconv's ("strconv.ParseInt: parsing \"abc\": invalid
		// syntax").
		if m := flagDurationRE.FindStringSubmatch(err.Error()); m != nil {
			return fmt.Errorf("invalid argument %s for %s: not a duration such as 30s, 500ms or 1m30s", m[1], m[2])
		}
		if m := flagNumberRE.FindStringSubmatch(err.Error()); m != nil {
			why := "not a whole number"
			if m[3] == "value out of range" {
				why = "out of range"
			}
			return fmt.Errorf("invalid argument %s for %s: %s", m[1], m[2], why)
		}
		return err
	})
	root.SetHelpCommand(&cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err != nil || cmd == nil || len(rest) > 0 || (len(args) > 0 && cmd == c.Root()) {
				return fmt.Errorf("no help for %q: see tova help", strings.Join(args, " "))
			}
			return cmd.Help()
		},
	})
	root.AddCommand(runCmd(), compileCmd(), disasmCmd(), versionCmd())
	for _, extra := range extraCommands {
		root.AddCommand(extra())
	}
	return root
}

// completionCmd makes root's completion command, once its output is
// set (the command writes where root's output was when it was made).
func completionCmd(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			// An unknown shell printed the help on stdout and exited 0: a
			// completion file redirected from it held the help.
			c.Args = cobra.ArbitraryArgs
			c.RunE = func(c *cobra.Command, args []string) error {
				if len(args) == 0 {
					return fmt.Errorf("completion expects a shell: bash, zsh, fish or powershell (usage: tova completion bash)")
				}
				return fmt.Errorf("no completion for the shell %q: bash, zsh, fish or powershell", args[0])
			}
		}
	}
}

// extraCommands lets other files of this package add commands.
var extraCommands []func() *cobra.Command

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the tova version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "tova %s\n", Version)
		},
	}
}

// oneFile and fileThenArgs check a command's arguments: a message names
// the command and how it is used ("compile expects one file (usage: tova
// compile file.tova [-o out.tbc] [-S] [flags])"), where cobra's would
// only count.
func oneFile(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%s expects one file (usage: %s)", cmd.Name(), cmd.UseLine())
	}
	if args[0] == "" {
		return errors.New("the file name is empty")
	}
	return nil
}

// atMostOneFile is oneFile for a command whose file may be left out.
func atMostOneFile(cmd *cobra.Command, args []string) error {
	if len(args) > 1 {
		return fmt.Errorf("%s takes at most one file, got %d (usage: %s)", cmd.Name(), len(args), cmd.UseLine())
	}
	if len(args) == 1 && args[0] == "" {
		return errors.New("the file name is empty")
	}
	return nil
}

func fileThenArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%s expects a file (usage: %s)", cmd.Name(), cmd.UseLine())
	}
	return nil
}

// checkedWriter remembers the first error of a write to w.
type checkedWriter struct {
	w   io.Writer
	err error
}

func (c *checkedWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

// fileOf is the file w writes to, if it is one (also through a
// checkedWriter).
func fileOf(w io.Writer) (*os.File, bool) {
	if c, ok := w.(*checkedWriter); ok {
		w = c.w
	}
	f, ok := w.(*os.File)
	return f, ok
}
