package main

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"tova/bytecode"
)

func init() { extraCommands = append(extraCommands, buildCmd) }

// buildCmd is the guide's deployment step: `tova build app.tova` writes
// the program's artifact into an output directory (dist/), where the
// guide's bundle would go: dist/server.tbc for a program with servers,
// served with `tova serve dist/server.tbc`.
func buildCmd() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "build [app.tova|dir] [-o dist]",
		Short: "Compile a program into a deployable directory (dist/server.tbc)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			stderr := cmd.ErrOrStderr()
			src, err := buildSource(args)
			if err != nil {
				fmt.Fprintf(stderr, "tova build: %v\n", err)
				return &exitError{exitUsage}
			}
			if out == "" {
				fmt.Fprintln(stderr, "tova build: -o needs a directory")
				return &exitError{exitUsage}
			}
			p, _, err := load(cmd, src)
			if err != nil {
				return err
			}
			name := strings.TrimSuffix(filepath.Base(src), filepath.Ext(src)) + ".tbc"
			verb := "run"
			if len(p.Servers) > 0 {
				name, verb = "server.tbc", "serve"
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				fmt.Fprintf(stderr, "tova build: %v\n", err)
				return &exitError{exitUsage}
			}
			dst := filepath.Join(out, name)
			if fi, err := os.Stat(dst); err == nil && (!fi.Mode().IsRegular() || fi.Size() > 0 && !isArtifactFile(dst)) {
				fmt.Fprintf(stderr, "tova build: %s exists and is not a .tbc artifact: not overwriting it\n", dst)
				return &exitError{exitUsage}
			}
			if err := bytecode.WriteFile(dst, p); err != nil {
				fmt.Fprintf(stderr, "tova build: %v\n", err)
				return &exitError{exitUsage}
			}
			fmt.Fprintf(stderr, "built %s from %s%s\n%s it with: tova %s %s\n", dst, src, serverNote(p), strings.ToUpper(verb[:1])+verb[1:], verb, dst)
			return nil
		},
	}
	c.Flags().StringVarP(&out, "output", "o", "dist", "the directory to write the artifact into")
	return c
}

// buildSource is the program `tova build` compiles: the file named, or
// the one .tova file of the directory named (default: the working
// directory), or else of its src/.
func buildSource(args []string) (string, error) {
	path := "."
	if len(args) == 1 {
		path = args[0]
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%s: no such file or directory", path)
	}
	if !fi.IsDir() {
		return path, nil
	}
	for _, dir := range []string{path, filepath.Join(path, "src")} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.tova"))
		switch {
		case len(files) == 1:
			return files[0], nil
		case len(files) > 1:
			slices.Sort(files)
			return "", fmt.Errorf("%s holds %d programs (%s): name the one to build", dir, len(files), strings.Join(files, ", "))
		}
	}
	return "", fmt.Errorf("no .tova file in %s (nor in its src/): name the program to build", path)
}

// serverNote names the servers of p, for the build's report.
func serverNote(p *bytecode.Program) string {
	var names []string
	for _, s := range p.Servers {
		names = append(names, cmp.Or(s.Name, "(unnamed)"))
	}
	switch len(names) {
	case 0:
		return ""
	case 1:
		return " (server " + names[0] + ")"
	}
	return " (servers " + strings.Join(names, ", ") + "; each can be deployed alone with --server NAME)"
}
