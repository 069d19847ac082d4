package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"tova/bytecode"
	"tova/driver"
	"tova/frontend/diag"
	"tova/internal/gcfloor"
	"tova/vm"
)

// load compiles a .tova file or decodes a .tbc file, printing errors.
func load(cmd *cobra.Command, path string) (*bytecode.Program, []byte, error) {
	return loadWarned(cmd, path, true)
}

// loadWarned is load, printing the program's warnings only if warn
// (tova jobs prints the list alone).
func loadWarned(cmd *cobra.Command, path string, warn bool) (*bytecode.Program, []byte, error) {
	p, src, err := driver.CompilePath(path)
	if err == nil {
		if len(p.Warnings) > 0 && warn {
			fmt.Fprint(cmd.ErrOrStderr(), driver.FormatError(p.Warnings, src))
		}
		return p, src, nil
	}
	stderr := cmd.ErrOrStderr()
	var list diag.List
	var fe *bytecode.FormatError
	switch {
	case errors.As(err, &list):
		fmt.Fprint(stderr, driver.FormatError(err, src))
		fmt.Fprintf(stderr, "%d error(s)\n", len(list))
		return nil, nil, &exitError{exitCompile}
	case errors.As(err, &fe):
		fmt.Fprintf(stderr, "%s: %v\n", path, err)
		switch {
		case fe.Newer:
			// (an artifact built with a newer tova, served on a host that
			// has an older one)
			fmt.Fprintf(stderr, "tova: it was made by a newer tova: install that tova here, or compile the program with this one (tova compile, or tova build)\n")
		case fe.Section == "version":
			fmt.Fprintf(stderr, "tova: compile the program again with this tova (tova compile, or tova build)\n")
		}
		return nil, nil, &exitError{exitBadTBC}
	case errors.Is(err, os.ErrNotExist) && path == "":
		fmt.Fprintf(stderr, "tova: the file name is empty\n") // (it said ": no such file")
		return nil, nil, &exitError{exitUsage}
	case errors.Is(err, os.ErrNotExist):
		hint := ""
		if ext := filepath.Ext(path); ext == ".js" || ext == ".mjs" {
			// (the reference's bun run dist/server.js)
			if tbc := strings.TrimSuffix(path, ext) + ".tbc"; fileExists(tbc) {
				hint = fmt.Sprintf(" (tova build makes %s: serve that)", tbc)
			} else {
				hint = " (tova build makes dist/server.tbc, which tova serve runs)"
			}
		}
		fmt.Fprintf(stderr, "tova: %s: no such file%s\n", path, hint)
		return nil, nil, &exitError{exitUsage}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err // "open PATH: permission denied" would name the path twice
	}
	fmt.Fprintf(stderr, "tova: %s: %v\n", path, err)
	return nil, nil, &exitError{exitUsage}
}

func runCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "run file.tova|file.tbc [args...]",
		Short: "Run a program's top-level code",
		Long: "Run a program's top-level code.\n\n" +
			"Everything after the file is the program's own (Process.args), flags and -- too:\n" +
			"`tova run app.tova --help` gives --help to the program. A program that declares\n" +
			"servers is served with `tova serve`.",
		DisableFlagsInUseLine: true,
		Args:                  fileThenArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, src, err := load(cmd, args[0])
			if err != nil {
				return err
			}
			// A script drops most of what it builds: below a 32 MiB
			// heap, the collector would run every few megabytes (see
			// gcfloor; tova serve keeps Go's pacing, docs/server.md).
			defer gcfloor.Start(gcfloor.DefaultFloor)()
			// SIGINT, SIGTERM or SIGHUP (the terminal or session closed)
			// stops the program (at its next loop iteration or call), its
			// printed lines written out; the exit code is then 128 + the
			// signal's number, as a shell reports a process the signal
			// ended.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			sigc := make(chan os.Signal, 1)
			signal.Notify(sigc, os.Interrupt, syscall.SIGTERM, syscall.SIGQUIT) // (SIGQUIT's default dumped Go's stacks)
			if !signal.Ignored(syscall.SIGHUP) {
				// (nohup tova run …: SIGHUP stays ignored)
				signal.Notify(sigc, syscall.SIGHUP)
			}
			defer signal.Stop(sigc)
			var got atomic.Value
			go func() {
				select {
				case sig := <-sigc:
					got.Store(sig)
					cancel()
				case <-ctx.Done():
				}
			}()
			// Output to a pipe or file is buffered (see runOutput); a
			// terminal sees each line as it is printed.
			stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
			var out *runOutput
			if !isTerminal(stdout) {
				out = newRunOutput(stdout)
				stdout, stderr = out, beforeStderr{out, stderr}
			}
			cfg := vm.Config{Stdout: stdout, Stderr: stderr, Stdin: cmd.InOrStdin(), Args: args[1:], Dir: programDir(args[0]), Path: args[0], Terminal: out == nil}
			err = driver.Run(ctx, p, cfg)
			if out != nil {
				out.Close()
			}
			if sig, ok := got.Load().(syscall.Signal); ok && err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "tova run: stopped by %s\n", signalName(sig))
				return &exitError{128 + int(sig)}
			}
			var ve *vm.Error
			if errors.As(err, &ve) && ve.Kind == vm.ErrExit {
				return &exitError{int(ve.Value.AsInt())} // exit(code)
			}
			if cw, ok := cmd.OutOrStdout().(*checkedWriter); ok && cw.err != nil && ve != nil && ve.Kind == "IOError" {
				// print failed as the output could not be written (a
				// full disk, once the buffer was flushed): said as that,
				// exit 2, as when it is found at the end (see run)
				return nil
			}
			if err != nil {
				fmt.Fprint(cmd.ErrOrStderr(), driver.FormatError(err, src))
				return &exitError{exitRuntime}
			}
			if len(p.Servers) > 0 {
				how := "with `tova serve " + shellWord(args[0]) + "`"
				if strings.HasPrefix(args[0], "/dev/fd/") || strings.HasPrefix(args[0], "/proc/self/fd/") || args[0] == "/dev/stdin" {
					// (a pipe, gone once this command ends)
					how = "from a file: save the program to one, and tova serve it"
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "tova run: ran the top-level code only; %s declares %s: serve %s %s\n",
					args[0], serverList(p.Servers), pronoun(len(p.Servers)), how)
			}
			return nil
		},
	}
	// Everything after the file is the program's, flags and "--" too.
	c.Flags().SetInterspersed(false)
	return c
}

// serverList names a program's servers for a message: "a server" or
// "2 servers (api, worker)".
func serverList(servers []*bytecode.Server) string {
	if len(servers) == 1 && servers[0].Name == "" {
		return "a server"
	}
	names := make([]string, len(servers))
	for i, s := range servers {
		names[i] = s.Name
		if s.Name == "" {
			names[i] = "the unnamed one"
		}
	}
	if len(servers) == 1 {
		return "server " + names[0]
	}
	return fmt.Sprintf("%d servers (%s)", len(servers), strings.Join(names, ", "))
}

func pronoun(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

func compileCmd() *cobra.Command {
	var out string
	var asm bool
	c := &cobra.Command{
		Use:   "compile file.tova [-o out.tbc] [-S]",
		Short: "Compile a program to a .tbc artifact",
		Args:  oneFile,
		RunE: func(cmd *cobra.Command, args []string) error {
			// The artifact is named after the source, unless -o names it
			// (as for a pipe: tova compile <(gen) -o app.tbc).
			if fi, err := os.Stat(args[0]); err == nil && fi.IsDir() {
				// (it said to name the artifact with -o, which then
				// said it is a directory)
				fmt.Fprintf(cmd.ErrOrStderr(), "tova compile: %s is a directory, not a program file: name the .tova file\n", args[0])
				return &exitError{exitUsage}
			}
			if !strings.HasSuffix(args[0], ".tova") && !asm && !cmd.Flags().Changed("output") {
				fmt.Fprintf(cmd.ErrOrStderr(), "tova compile: %s is not a .tova file (to compile it, name the artifact with -o)\n", args[0])
				return &exitError{exitUsage}
			}
			if out == "=" {
				out = "" // (-o= is an empty name, which pflag's shorthand reads as "=")
			}
			if cmd.Flags().Changed("output") && (asm || out == "") {
				msg := "-S prints the disassembly and writes no file: drop -o (or redirect the output)"
				if !asm {
					msg = "-o needs a file name"
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "tova compile: %s\n", msg)
				return &exitError{exitUsage}
			}
			p, _, err := load(cmd, args[0])
			if err != nil {
				return err
			}
			if asm {
				return bytecode.Disasm(cmd.OutOrStdout(), p)
			}
			if out == "" {
				out = strings.TrimSuffix(args[0], filepath.Ext(args[0])) + ".tbc"
			}
			// Never overwrite what is not an artifact (the source itself,
			// with -o x.tova, or any other file).
			if fi, err := os.Stat(out); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 && !isArtifactFile(out) {
				fmt.Fprintf(cmd.ErrOrStderr(), "tova compile: %s exists and is not a .tbc artifact: not overwriting it\n", out)
				return &exitError{exitUsage}
			}
			if err := bytecode.WriteFile(out, p); err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "tova compile: %v\n", err)
				return &exitError{exitUsage}
			}
			return nil
		},
	}
	c.Flags().StringVarP(&out, "output", "o", "", "write the artifact here (default: next to the source, .tbc)")
	c.Flags().BoolVarP(&asm, "asm", "S", false, "print the disassembly instead of writing a .tbc")
	return c
}

func disasmCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "disasm file.tbc|file.tova",
		Short: "Print the bytecode of a program",
		Args:  oneFile,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, _, err := load(cmd, args[0])
			if err != nil {
				return err
			}
			return bytecode.Disasm(cmd.OutOrStdout(), p)
		},
	}
}

// isTerminal reports whether w is an interactive terminal (not another
// character device, /dev/null or /dev/full, which are written as files
// are).
func isTerminal(w io.Writer) bool {
	f, ok := fileOf(w)
	return ok && term.IsTerminal(int(f.Fd()))
}

// isArtifactFile reports whether the file at path begins as a .tbc
// artifact does.
func isArtifactFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 16)
	n, _ := io.ReadFull(f, head)
	return bytecode.IsArtifact(head[:n])
}

// signalName is how a shell user knows sig: SIGINT, SIGTERM, SIGHUP.
func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	}
	return sig.String()
}

// programDir is the directory of the program at path, where its default
// files (app.db, the job queue) go and its relative paths start; for a
// program read from a pipe (tova run <(gen), /dev/fd/63), which has
// none, the working directory ("").
func programDir(path string) string {
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() && !st.IsDir() {
		return ""
	}
	return filepath.Dir(path)
}

// fileExists reports whether path names a file (or anything) there is.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
