package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"tova/bytecode"
	"tova/frontend/ast"
	"tova/frontend/parse"
	"tova/frontend/token"
	"tova/jobs"
	"tova/serve"
	"tova/store"
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
		Args:  atMostOneFile,
		RunE: func(cmd *cobra.Command, args []string) error {
			stderr := cmd.ErrOrStderr()
			src, err := buildSource(args)
			if err != nil {
				fmt.Fprintf(stderr, "tova build: %v\n", err)
				return &exitError{exitUsage}
			}
			if out == "=" {
				out = "" // (-o= is an empty name, which pflag's shorthand reads as "=")
			}
			if out == "" {
				fmt.Fprintln(stderr, "tova build: -o needs a directory")
				return &exitError{exitUsage}
			}
			p, srcText, err := load(cmd, src)
			if err != nil {
				return err
			}
			if srcText == nil {
				// An artifact does not say which static directories its
				// servers serve (they are values computed at start-up),
				// so neither those to copy nor an -o inside one.
				fmt.Fprintf(stderr, "tova build: %s is an artifact: build compiles a program from its source (name the .tova file), which says which static directories to copy and keeps -o out of them\n", src)
				return &exitError{exitUsage}
			}
			named := cmp.Or(jobs.SourceOf(p), src) // (a piped program's: by its content, not /dev/fd/63)
			name := strings.TrimSuffix(filepath.Base(named), filepath.Ext(named)) + ".tbc"
			verb := "run"
			if len(p.Servers) > 0 {
				name, verb = "server.tbc", "serve"
			}
			dst := filepath.Join(out, name)
			// An output directory that holds an artifact is an earlier
			// build's: its copies of the static directories are the
			// build's to replace. Elsewhere a directory of that name is
			// the user's.
			if fi, err := os.Stat(out); err == nil && !fi.IsDir() {
				// (said first: the static directories' check blamed the
				// static declaration, "lstat out.txt/public: not a
				// directory")
				fmt.Fprintf(stderr, "tova build: -o %s is a file: the output is a directory (choose another -o)\n", out)
				return &exitError{exitUsage}
			}
			fi, err := os.Lstat(dst)
			// (an earlier build's artifact of this program under the
			// other name, app.tbc when it had no server, counts: its
			// copies are the build's own to replace)
			earlier := err == nil && fi.Mode().IsRegular() && isArtifactFile(dst) || otherArtifact(out, name, named) != ""
			// (when the earlier build was made: a file of its copies
			// newer than it was written there since, by the server)
			var builtAt time.Time
			if earlier {
				for _, a := range []string{dst, otherArtifact(out, name, named)} {
					if ai, err := os.Stat(a); a != "" && err == nil && ai.ModTime().After(builtAt) {
						builtAt = ai.ModTime()
					}
				}
			}
			// (the program compiled: it parses)
			file, _ := parse.ParseFile(src, srcText)
			if _, _, failed := copyStatic(src, file, out, true, earlier, builtAt); len(failed) > 0 {
				for _, err := range failed {
					fmt.Fprintf(stderr, "tova build: %v\n", err)
				}
				return &exitError{exitUsage}
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				fmt.Fprintf(stderr, "tova build: making the output directory %s: %v\n", out, err)
				return &exitError{exitUsage}
			}
			if fi, err := os.Stat(dst); err == nil && (!fi.Mode().IsRegular() || fi.Size() > 0 && !isArtifactFile(dst)) {
				fmt.Fprintf(stderr, "tova build: %s exists and is not a .tbc artifact: not overwriting it\n", dst)
				return &exitError{exitUsage}
			}
			if prev, err := bytecode.ReadFile(dst); err == nil && !sameSource(jobs.SourceOf(prev), named, out) {
				// Another program's artifact of that name (dist/server.tbc
				// of a.tova, built over by b.tova): it was replaced
				// without a word, its database and queue left beside
				// the other program's.
				fmt.Fprintf(stderr, "tova build: %s is the artifact of %s, another program: build this one into another directory (-o), or remove that one first\n", dst, jobs.SourceOf(prev))
				return &exitError{exitUsage}
			}
			// The static directories the servers serve go with the
			// artifact (the guide's client/): served from dist/, it
			// finds them beside it. Copied first: a copy that fails
			// (an unreadable file) leaves the earlier artifact, not a
			// new one beside the old copies.
			copied, skipped, failed := copyStatic(src, file, out, false, earlier, builtAt)
			for _, why := range skipped {
				fmt.Fprintf(stderr, "tova build: warning: %s\n", why)
			}
			if len(failed) > 0 {
				// A deployment without its static files is not built.
				for _, err := range failed {
					fmt.Fprintf(stderr, "tova build: %v\n", err)
				}
				fmt.Fprintf(stderr, "tova build: %s not written\n", dst)
				return &exitError{exitUsage}
			}
			if err := bytecode.WriteFile(dst, p); err != nil {
				fmt.Fprintf(stderr, "tova build: %v\n", err)
				return &exitError{exitUsage}
			}
			fmt.Fprintf(stderr, "built %s from %s%s\n", dst, src, serverNote(p))
			if old := otherArtifact(out, name, named); old != "" {
				// The program gained or lost its servers since that
				// build: its artifact of then would serve (or run) the
				// old code under the name a deploy script uses.
				if err := os.Remove(old); err == nil {
					fmt.Fprintf(stderr, "removed %s, the earlier build's of this program (it now %s)\n", old, map[bool]string{true: "declares servers", false: "declares no server"}[len(p.Servers) > 0])
				}
			}
			for _, d := range copied {
				fmt.Fprintf(stderr, "copied the static directory %s into %s\n", d, filepath.Join(out, d))
			}
			for _, d := range dbFiles(src, file, out) {
				// (served from there, the artifact opened a new, empty
				// database beside itself, without a word)
				if d.outside {
					abs, _ := filepath.Abs(d.from)
					fmt.Fprintf(stderr, "tova build: warning: %s: %s is relative to the program's directory, and leaves it: the artifact, in %s, opens %s, another file: give the db block an absolute path (%s)\n",
						d.at, d.what, out, out+string(filepath.Separator)+d.path, abs)
					continue
				}
				fmt.Fprintf(stderr, "tova build: warning: %s: %s is opened beside the program, where it is, with the rows written so far; the artifact opens it beside itself, in %s, where it is not (a new, empty database): with the program stopped, copy it there (%s), or give the db block an absolute path\n",
					d.at, d.what, out, copyCommand(d.from, filepath.Join(out, d.path)))
			}
			if q, ok := jobQueue(src, named, file, out); ok {
				// (the queued and retrying jobs stayed behind, and the
				// artifact started an empty queue)
				fmt.Fprintf(stderr, "tova build: warning: the job queue %s is beside the program, with the jobs queued so far; the artifact keeps its own in %s, where it is not (an empty queue): with the program stopped, copy it there (%s)\n",
					q.from, out, copyCommand(q.from, q.to))
			}
			if len(copied) > 0 {
				// A static directory's relative path is the working
				// directory's: served from elsewhere, the copies would
				// not be found (or the sources served in their place).
				fmt.Fprintf(stderr, "%s it from its directory, where it finds the static files: cd %s && tova %s %s\n", strings.ToUpper(verb[:1])+verb[1:], shellWord(out), verb, shellWord(name))
				// Files the program reads by a relative path are looked
				// for there too, and the build copies none: that
				// command failed to start a program with a data block.
				for _, d := range dataFiles(src, file) {
					// (relative to the working directory, as the program
					// reads it: not to the program's directory, src/)
					if fi, err := os.Stat(filepath.Join(out, d.path)); err == nil && fi.Mode().IsRegular() {
						continue // (copied there already)
					}
					// The copy's source: the file as the working directory
					// names it, else the program's directory's; none if
					// neither has it (one the program writes itself).
					how := ""
					for _, from := range []string{filepath.Clean(d.path), filepath.Join(programDir(src), d.path)} {
						if fi, err := os.Stat(from); err == nil && fi.Mode().IsRegular() {
							how = " (" + copyCommand(from, filepath.Join(out, d.path)) + ")"
							break
						}
					}
					fmt.Fprintf(stderr, "tova build: warning: %s: %s(%q) is read from the directory the program runs in, and the build copies no data file: copy it into %s%s\n", d.at, d.fn, d.path, out, how)
				}
			} else {
				fmt.Fprintf(stderr, "%s it with: tova %s %s\n", strings.ToUpper(verb[:1])+verb[1:], verb, shellWord(dst))
			}
			return nil
		},
	}
	c.Flags().StringVarP(&out, "output", "o", "dist", "the directory to write the artifact into")
	return c
}

// otherArtifact is the artifact in out that an earlier build of the
// program named (its main source file) wrote under the other name than
// name (server.tbc for a program with servers, app.tbc for one without),
// or "" if there is none: another program's artifact, one built from
// another source file, is left alone.
func otherArtifact(out, name, named string) string {
	other := "server.tbc"
	if name == "server.tbc" {
		other = strings.TrimSuffix(filepath.Base(named), filepath.Ext(named)) + ".tbc"
	}
	if other == name {
		return ""
	}
	path := filepath.Join(out, other)
	if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() || !isArtifactFile(path) {
		return ""
	}
	p, err := bytecode.ReadFile(path)
	if err != nil || !sameSource(jobs.SourceOf(p), named, out) {
		// (svc1/app.tova's server.tbc is not tools/app.tova's)
		return ""
	}
	return path
}

// sameSource reports whether an artifact in out whose source was named
// was (the path as its build named it) is the program now named is: the
// same path, or the same file, that build's relative path taken from
// the working directory or from out's parent (built in the program's
// directory, into its dist/, where it is now built from above).
func sameSource(was, is, out string) bool {
	now, err := os.Stat(is)
	if err != nil {
		return filepath.Clean(was) == filepath.Clean(is) // (a piped program's name is its content's)
	}
	if !filepath.IsAbs(was) {
		// A program of that name beside the output directory that is
		// not this one: the artifact is its (A/app.tova's dist/, built
		// into from B/ with B's own app.tova, was taken for B's).
		if fi, err := os.Stat(filepath.Join(filepath.Dir(out), was)); err == nil && fi.Mode().IsRegular() && !os.SameFile(fi, now) {
			return false
		}
	}
	if filepath.Clean(was) == filepath.Clean(is) {
		return true
	}
	candidates := []string{was}
	if !filepath.IsAbs(was) {
		candidates = append(candidates, filepath.Join(filepath.Dir(out), was))
	}
	for _, c := range candidates {
		if fi, err := os.Stat(c); err == nil && os.SameFile(fi, now) {
			return true
		}
	}
	// Built from above it then (proj/app.tova), in its directory now:
	// the path of then, with its directory, ends the program's own. (A
	// bare file name of then is another directory's as likely.)
	abs, err := filepath.Abs(is)
	was = filepath.Clean(was)
	return err == nil && !filepath.IsAbs(was) && filepath.Dir(was) != "." && !strings.HasPrefix(was, "..") &&
		strings.HasSuffix(abs, string(filepath.Separator)+was)
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
		files := programFiles(dir)
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

// programFiles lists the .tova files of dir: files, not directories (the
// .tova/ the job queue keeps next to a program), and not hidden ones.
func programFiles(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var files []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || filepath.Ext(name) != ".tova" {
			continue
		}
		path := filepath.Join(dir, name)
		if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
			files = append(files, path)
		}
	}
	return files
}

// serverNote names the servers of p, for the build's report.
func serverNote(p *bytecode.Program) string {
	var names []string
	for _, s := range p.Servers {
		names = append(names, cmp.Or(s.Name, "unnamed"))
	}
	switch {
	case len(names) == 0:
		return ""
	case len(names) == 1 && p.Servers[0].Name == "":
		return " (one unnamed server)"
	case len(names) == 1:
		return " (server " + names[0] + ")"
	}
	return " (servers " + strings.Join(names, ", ") + "; each can be deployed alone with --server NAME)"
}

// copyStatic copies into out the static directories the program at src
// (file, its syntax tree) serves, as written in its static declarations
// (`static "/" => "public"`, `static { dir: "assets" }`;
// serve.StaticDefaultDir when a static block names none): a server started from out resolves them
// there. It returns the directories copied, and why others were not (a
// directory computed at run time, one outside the program's directory,
// one that does not exist). With check, it copies nothing and returns
// only the failures it can tell before copying (an output directory
// that would replace the static directory or the program's own, or
// that lies inside a static directory), so that the build stops before
// it writes anything.
// dataFile is a file the program reads by a literal relative path.
type dataFile struct{ at, fn, path string }

// dataFiles lists the files the program src reads with read, stream or
// fs.read_text by a literal path relative to the working directory.
func dataFiles(src string, file *ast.File) []dataFile {
	if file == nil {
		return nil
	}
	var out []dataFile
	seen := map[string]bool{}
	ast.Inspect(file, func(n any) bool {
		c, ok := n.(*ast.Call)
		if !ok || len(c.Args) == 0 {
			return true
		}
		fn := ""
		switch f := c.Fn.(type) {
		case *ast.Ident:
			if f.Name == "read" || f.Name == "stream" {
				fn = f.Name
			}
		case *ast.Member:
			if x, ok := f.X.(*ast.Ident); ok && x.Name == "fs" && f.Name == "read_text" {
				fn = "fs.read_text"
			}
		}
		lit, ok := c.Args[0].Value.(*ast.StringLit)
		if fn == "" || !ok || lit.Value == "" || strings.Contains(lit.Value, "://") || !filepath.IsLocal(filepath.Clean(lit.Value)) || seen[filepath.Clean(lit.Value)] {
			return true
		}
		seen[filepath.Clean(lit.Value)] = true // (data.csv and ./data.csv: one file)
		out = append(out, dataFile{at: fmt.Sprintf("%s:%d:%d", src, lit.PosV.Line, lit.PosV.Col), fn: fn, path: lit.Value})
		return true
	})
	return out
}

// dbDatabase is a SQLite database a db block names by a relative path.
type dbDatabase struct {
	at, what, path, from string
	outside              bool // a relative path out of the program's directory
}

// dbFiles lists the SQLite databases the program's db blocks name by a
// literal relative path (database: "short.db") that are in the
// program's directory and not in out: relative to the program's
// directory, which for the artifact is out.
func dbFiles(src string, file *ast.File, out string) []dbDatabase {
	if file == nil {
		return nil
	}
	base := cmp.Or(programDir(src), ".")
	var found []dbDatabase
	blocks := 0
	var model *ast.ModelDecl
	defaulted, defaultAt := false, token.Pos{}
	ast.Inspect(file, func(n any) bool {
		if m, ok := n.(*ast.ModelDecl); ok && model == nil {
			model = m
		}
		b, ok := n.(*ast.ConfigBlock)
		if !ok || b.Kind != "db" {
			return true
		}
		blocks++
		named := false // the block names its database (or a server's)
		for _, e := range b.Entries {
			switch lit, _ := e.Value.(*ast.StringLit); {
			case e.Key == "url", (e.Key == "adapter" || e.Key == "driver") && (lit == nil || !strings.EqualFold(lit.Value, "sqlite")):
				named = true // (PostgreSQL)
			case e.Key == "database" || e.Key == "path":
				named = true
			}
		}
		if !named && !defaulted {
			// A db block naming no file opens the default one, as no
			// block does.
			defaulted = true
			defaultAt = b.PosV
		}
		for _, e := range b.Entries {
			lit, ok := e.Value.(*ast.StringLit)
			if ok && (e.Key == "database" || e.Key == "path") && lit.Value != "" && !strings.Contains(lit.Value, "://") && !filepath.IsAbs(lit.Value) && !filepath.IsLocal(filepath.Clean(lit.Value)) {
				// ../shared.db: beside the artifact, in out, it names
				// another file.
				a1, _ := filepath.Abs(filepath.Join(base, lit.Value))
				a2, _ := filepath.Abs(filepath.Join(out, lit.Value))
				if fi, err := os.Stat(filepath.Join(base, lit.Value)); err == nil && fi.Mode().IsRegular() && a1 != a2 {
					found = append(found, dbDatabase{at: fmt.Sprintf("%s:%d:%d", src, lit.PosV.Line, lit.PosV.Col), what: fmt.Sprintf("db.%s %q", e.Key, lit.Value), path: lit.Value, from: filepath.Join(base, lit.Value), outside: true})
				}
				continue
			}
			if (e.Key != "database" && e.Key != "path") || !ok || lit.Value == "" || lit.Value == ":memory:" || strings.Contains(lit.Value, "://") || !filepath.IsLocal(filepath.Clean(lit.Value)) {
				continue
			}
			from := filepath.Join(base, lit.Value)
			if fi, err := os.Stat(from); err != nil || !fi.Mode().IsRegular() {
				continue
			}
			if _, err := os.Stat(filepath.Join(out, lit.Value)); err == nil {
				continue // (copied there already)
			}
			found = append(found, dbDatabase{at: fmt.Sprintf("%s:%d:%d", src, lit.PosV.Line, lit.PosV.Col), what: fmt.Sprintf("db.%s %q", e.Key, lit.Value), path: lit.Value, from: from})
		}
		return true
	})
	if blocks == 0 && model != nil || defaulted {
		// The default database of a program with models and no db block
		// (or one naming no file): app.db beside the program, and beside
		// the artifact.
		from := filepath.Join(base, store.DefaultSQLiteFile)
		_, inOut := os.Stat(filepath.Join(out, store.DefaultSQLiteFile))
		if fi, err := os.Stat(from); err == nil && fi.Mode().IsRegular() && inOut != nil {
			what, at := "the default SQLite database "+store.DefaultSQLiteFile+" (the db block names no file)", defaultAt
			if !defaulted {
				what, at = "the default SQLite database "+store.DefaultSQLiteFile+" (no db block)", model.PosV
			}
			found = append(found, dbDatabase{at: fmt.Sprintf("%s:%d:%d", src, at.Line, at.Col),
				what: what, path: store.DefaultSQLiteFile, from: from})
		}
	}
	return found
}

// storedFiles are the files the program's blocks of the kinds given
// (db, jobs) name by a relative path inside its directory (cleaned), in
// the order written.
func storedFiles(file *ast.File, kinds ...string) (out []string) {
	if file == nil {
		return nil
	}
	ast.Inspect(file, func(n any) bool {
		b, ok := n.(*ast.ConfigBlock)
		if !ok || !slices.Contains(kinds, b.Kind) {
			return true
		}
		for _, e := range b.Entries {
			lit, ok := e.Value.(*ast.StringLit)
			if ok && (e.Key == "database" || e.Key == "path" || e.Key == "file") && lit.Value != "" && lit.Value != ":memory:" &&
				!strings.Contains(lit.Value, "://") && filepath.IsLocal(filepath.Clean(lit.Value)) {
				out = append(out, filepath.Clean(lit.Value))
			}
		}
		return true
	})
	return out
}

// jobQueue is the SQLite job queue of the program src beside it
// (.tova/<name>.jobs.db, named after named, a piped program's by its
// content; or the file a jobs block's database names by a relative
// path), if there is one and out has none: the artifact keeps its
// queue beside itself.
func jobQueue(src, named string, file *ast.File, out string) (q struct{ from, to string }, ok bool) {
	rel := jobs.JobsFileOf(named)
	if named := storedFiles(file, "jobs"); len(named) > 0 {
		rel = named[len(named)-1]
	}
	q.from = filepath.Join(cmp.Or(programDir(src), "."), rel)
	q.to = filepath.Join(out, rel)
	if fi, err := os.Stat(q.from); err != nil || !fi.Mode().IsRegular() {
		return q, false
	}
	if _, err := os.Stat(q.to); err == nil {
		return q, false
	}
	return q, true
}

// copyCommand is the shell command that copies from to to, making to's
// directory first when it is not there. A SQLite file's write-ahead log
// beside it (from-wal, left by a program that did not stop cleanly)
// holds rows the file does not yet: it is copied with it.
func copyCommand(from, to string) string {
	c := "cp " + shellWord(from) + " " + shellWord(to)
	if fi, err := os.Stat(from + "-wal"); err == nil && fi.Size() > 0 {
		c += " && cp " + shellWord(from+"-wal") + " " + shellWord(to+"-wal")
	}
	if d := filepath.Dir(to); d != "." {
		if _, err := os.Stat(d); err != nil {
			c = "mkdir -p " + shellWord(d) + " && " + c
		}
	}
	return c
}

func copyStatic(src string, file *ast.File, out string, check, earlier bool, builtAt time.Time) (copied, skipped []string, failed []error) {
	if file == nil {
		return nil, nil, nil
	}
	base := cmp.Or(programDir(src), ".") // (a piped program's: the working directory)
	seen := map[string]bool{}
	add := func(at token.Pos, dir ast.Expr, literal string) {
		if dir != nil {
			lit, ok := dir.(*ast.StringLit)
			if !ok {
				skipped = append(skipped, fmt.Sprintf("%s:%d:%d: the static directory is computed when the server starts: copy it beside the artifact yourself", src, at.Line, at.Col))
				return
			}
			literal = lit.Value
		}
		rel := filepath.Clean(literal)
		if rel == "." {
			// The program's own directory: the output directory is in
			// it, and, served from there, the artifact, its database and
			// job queue would be downloadable.
			failed = append(failed, fmt.Errorf("%s:%d:%d: the static directory %q is the program's own directory, which would hold the output directory %s: its artifact, database and job queue would be downloadable (serve a directory of its own, such as \"public\")", src, at.Line, at.Col, literal, out))
			return
		}
		if !filepath.IsLocal(rel) {
			// Not copied; but an output directory inside it is refused
			// all the same (an absolute path, or ../proj/public, served
			// the artifact and the database built there).
			from := rel
			if !filepath.IsAbs(rel) {
				from = filepath.Join(base, rel)
			}
			if err := servedOut(out, from); err != nil {
				failed = append(failed, fmt.Errorf("%s:%d:%d: %w", src, at.Line, at.Col, err))
				return
			}
			skipped = append(skipped, fmt.Sprintf("%s:%d:%d: the static directory %s is not inside the program's directory: not copied", src, at.Line, at.Col, literal))
			return
		}
		if seen[rel] {
			return
		}
		seen[rel] = true
		for _, db := range storedFiles(file, "db", "jobs") {
			// (tova serve refuses to start with it: the rows, copied as
			// static files, would be downloadable)
			if db == rel || strings.HasPrefix(db, rel+string(filepath.Separator)) {
				failed = append(failed, fmt.Errorf("%s:%d:%d: the static directory %s holds %s, a database of the program: its rows would be downloadable (keep the database out of the directory the server serves)", src, at.Line, at.Col, literal, db))
				return
			}
		}
		from, to := filepath.Join(base, rel), filepath.Join(out, rel)
		if isDir(rel) {
			// In the working directory, where tova serve run from here
			// (tova serve src/app.tova) finds it: what the build copies
			// is what that served.
			if isDir(from) && !check && !sameFile(from, rel) {
				skipped = append(skipped, fmt.Sprintf("%s:%d:%d: the static directory %s is both in the working directory and beside the program (%s): copied the working directory's, which tova serve run from here serves (run from %s, it serves the other)", src, at.Line, at.Col, rel, from, base))
			}
			from = rel
		}
		// Told before the existence of either: a static directory made
		// by the build itself (-o public) is served all the same.
		if err := servedOut(out, from); err != nil {
			failed = append(failed, fmt.Errorf("%s:%d:%d: %w", src, at.Line, at.Col, err))
			return
		}
		if fi, err := os.Stat(from); err == nil && !fi.IsDir() {
			// tova serve refuses to start with it.
			failed = append(failed, fmt.Errorf("%s:%d:%d: the static directory %s is not a directory", src, at.Line, at.Col, from))
			return
		}
		if !isDir(from) {
			msg := fmt.Sprintf("%s:%d:%d: the static directory %s does not exist: not copied", src, at.Line, at.Col, from)
			if _, err := os.Lstat(to); err == nil && !check {
				// An earlier build's copy, maybe, which the server started
				// from out would go on serving; or what the deployed
				// server saved there (uploads): not the build's to remove.
				msg += "; " + to + " is there, left as it is, and served: remove it if it is an earlier build's copy whose files should no longer be served"
			}
			skipped = append(skipped, msg)
			return
		}
		named := from
		if real, err := filepath.EvalSymlinks(from); err == nil {
			from = real // (a linked directory is copied, not the link)
		}
		a, err1 := filepath.Abs(from)
		b, err2 := filepath.Abs(to)
		if err1 != nil || err2 != nil {
			failed = append(failed, fmt.Errorf("copying %s: %w", named, cmp.Or(err1, err2)))
			return
		}
		b = parentResolved(b)
		// The static directory as the program names it (a link, maybe),
		// and the program's own directory, links resolved up to them.
		own, prog := named, base
		if abs, err := filepath.Abs(named); err == nil {
			own = parentResolved(abs)
		}
		if abs, err := filepath.Abs(base); err == nil {
			prog = abs
			if real, err := filepath.EvalSymlinks(abs); err == nil {
				prog = real
			}
		}
		sep := string(filepath.Separator)
		switch {
		case a == b || own == b:
			return // built into the program's own directory
		case b == prog || strings.HasPrefix(prog, b+sep):
			// Replacing to would remove the program itself.
			failed = append(failed, fmt.Errorf("%s:%d:%d: %s holds the program's own directory: not replacing it with the static directory %s (choose another -o)", src, at.Line, at.Col, to, named))
			return
		case strings.HasPrefix(b, a+sep):
			// The artifact, and the database and job queue kept next
			// to it, would be served to anyone who asks.
			where := "inside "
			if filepath.Dir(b) == a {
				where = "" // (out is the static directory)
			}
			failed = append(failed, fmt.Errorf("%s:%d:%d: the output directory %s is %sthe static directory %s, which the server serves: its artifact, database and job queue would be downloadable (choose another -o)", src, at.Line, at.Col, out, where, named))
			return
		case strings.HasPrefix(a, b+sep):
			// Replacing to would remove the program's own files. (A link
			// at to, wherever it leads, is replaced, not followed.)
			failed = append(failed, fmt.Errorf("%s:%d:%d: %s holds the static directory %s itself: not replacing it (choose another -o)", src, at.Line, at.Col, to, named))
			return
		}
		if check {
			if err := replaceable(to, earlier); err != nil {
				failed = append(failed, fmt.Errorf("%s:%d:%d: copying the static directory %s: %w", src, at.Line, at.Col, named, err))
			}
			return
		}
		kept, err := replaceTree(from, to, builtAt)
		if err != nil {
			failed = append(failed, fmt.Errorf("copying the static directory %s: %w", named, err))
			return
		}
		if kept > 0 {
			skipped = append(skipped, fmt.Sprintf("%s:%d:%d: kept %d file(s) of %s that %s does not have (written there since the last build, by the deployed server: save_file's uploads?); remove any that are stale", src, at.Line, at.Col, kept, to, named))
		}
		copied = append(copied, rel)
	}
	// Wherever they are declared: at the top level, in servers, in
	// route groups.
	ast.Inspect(file, func(n any) bool {
		switch st := n.(type) {
		case *ast.StaticDecl:
			add(st.PosV, st.Dir, "")
		case *ast.ConfigBlock:
			if st.Kind == "static" {
				var dir ast.Expr
				for _, e := range st.Entries {
					if e.Key == "dir" {
						dir = e.Value
					}
				}
				add(st.PosV, dir, serve.StaticDefaultDir)
			}
		}
		return true
	})
	return copied, skipped, failed
}

// servedOut is the error of an output directory out that is, or is
// inside, the static directory from: the server would serve the
// artifact, and the database and job queue kept beside it.
func servedOut(out, from string) error {
	sa, ob := resolvedAbs(from), resolvedAbs(out)
	if sa == "" || ob == "" || ob != sa && !strings.HasPrefix(ob, sa+string(filepath.Separator)) {
		return nil
	}
	where := "inside "
	if ob == sa {
		where = ""
	}
	return fmt.Errorf("the output directory %s is %sthe static directory %s, which the server serves: its artifact, database and job queue would be downloadable (choose another -o)", out, where, from)
}

// isDir reports whether path is a directory (or a link to one).
func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// resolvedAbs is path made absolute, its links resolved as far as it
// exists ("" if it cannot be made absolute).
func resolvedAbs(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real
	}
	return parentResolved(abs)
}

// parentResolved is the absolute path p with the links up to its last
// element resolved: where p is, whether or not p itself is a link, and
// whether or not its parents exist yet (the links of those that do are
// resolved).
func parentResolved(p string) string {
	rest := filepath.Base(p)
	for dir := filepath.Dir(p); ; dir = filepath.Dir(dir) {
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(real, rest)
		}
		if filepath.Dir(dir) == dir {
			return p
		}
		rest = filepath.Join(filepath.Base(dir), rest)
	}
}

// replaceable says whether the build may put a static directory's copy
// at to: where nothing is, over a link (replaced, never followed) or an
// empty directory, and over a directory of an output directory that an
// earlier build wrote an artifact into (its earlier copy). A directory
// with files in an output directory that holds no artifact is not the
// build's: a web root or a deploy directory of the user's.
func replaceable(to string, earlier bool) error {
	fi, err := os.Lstat(to)
	switch {
	case errors.Is(err, fs.ErrNotExist) || err == nil && fi.Mode()&fs.ModeSymlink != 0:
		return nil
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("%s exists and is not a directory: not replacing it", to)
	case earlier:
		return nil
	}
	if entries, err := os.ReadDir(to); err == nil && len(entries) == 0 {
		return nil
	}
	return fmt.Errorf("%s exists, and no earlier build made it (%s holds no artifact): not replacing it (remove it, or choose another -o)", to, filepath.Dir(to))
}

// replaceTree replaces the directory to (an earlier copy, or a link,
// which is removed rather than followed) with a copy of the files under
// from. The copy is made beside to and renamed into place, so that a
// copy that fails leaves the earlier one whole. Something at to that is
// neither a directory nor a link is not the build's to replace.
//
// The files of the earlier copy that from does not have and that are
// newer than builtAt, the earlier build's time, are kept (kept counts
// them): a deployed server writes into its static directory (the
// uploads save_file put there, served back), and a rebuild removed them
// all. (One the earlier build copied, deleted from from since, goes.)
func replaceTree(from, to string, builtAt time.Time) (kept int, err error) {
	fi, err := os.Lstat(to)
	switch {
	case err == nil && !fi.IsDir() && fi.Mode()&fs.ModeSymlink == 0:
		return 0, fmt.Errorf("%s exists and is not a directory: not replacing it", to)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return 0, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(to), "."+filepath.Base(to)+".build-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp) // (nothing there once renamed into place)
	if err := copyTree(from, tmp); err != nil {
		return 0, err
	}
	if fi != nil && fi.IsDir() && !builtAt.IsZero() {
		if kept, err = keepAdded(to, tmp, builtAt); err != nil {
			return 0, err
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return 0, err
	}
	if err := os.RemoveAll(to); err != nil {
		return 0, err
	}
	return kept, os.Rename(tmp, to)
}

// keepAdded copies into the new copy tmp the regular files under the
// earlier copy old that tmp does not have and that are newer than
// since, and says how many.
func keepAdded(old, tmp string, since time.Time) (kept int, err error) {
	err = filepath.WalkDir(old, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		if fi, err := d.Info(); err != nil || !fi.ModTime().After(since) {
			return err // (a copy the earlier build made)
		}
		rel, err := filepath.Rel(old, path)
		if err != nil {
			return err
		}
		target := filepath.Join(tmp, rel)
		if _, err := os.Lstat(target); err == nil {
			return nil // (the program's own, copied anew)
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := os.Link(path, target); err != nil {
			// (another filesystem: copied)
			in, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if err := os.WriteFile(target, in, 0o644); err != nil {
				return err
			}
			if fi, err := d.Info(); err == nil {
				_ = os.Chtimes(target, fi.ModTime(), fi.ModTime())
			}
		}
		kept++
		return nil
	})
	return kept, err
}

// copyTree copies the files under from into to, a new directory. A
// symbolic link that stays inside from, which the server follows, is
// made again as a relative link to the same file or directory; one that
// leads out of it, which the server does not follow, is left out.
func copyTree(from, to string) error {
	root, err := filepath.EvalSymlinks(from)
	if err != nil {
		return err
	}
	return filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		target := filepath.Join(to, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			return copyLink(root, path, rel, target)
		case !d.Type().IsRegular():
			return nil // (a device or a pipe is not a file to serve)
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		o, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		if _, err := io.Copy(o, in); err != nil {
			o.Close()
			return err
		}
		if err := o.Close(); err != nil {
			return err
		}
		// The copy keeps the file's time: its ETag and Last-Modified
		// are made of it, and a rebuild changed them for every file
		// (clients fetched them all again).
		if fi, err := in.Stat(); err == nil {
			_ = os.Chtimes(target, fi.ModTime(), fi.ModTime())
		}
		return nil
	})
}

// copyLink makes the link at path (rel inside the tree whose real
// directory is root) again at target, if the server follows it: one
// that leads to a file or directory inside root without leaving it on
// the way (os.Root's rule, which the server serves by: not an absolute
// link, nor ../public/a.txt from public/), made as a relative link, so
// that the copy leads to the copy's own file.
func copyLink(root, path, rel, target string) error {
	r, err := os.OpenRoot(root)
	if err != nil {
		return err
	}
	_, err = r.Stat(rel)
	r.Close()
	if err != nil {
		return nil // dangling, or the server does not follow it
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil // a dangling link serves nothing
	}
	in, err := filepath.Rel(root, real)
	if err != nil || !filepath.IsLocal(in) {
		return nil // it leads out of the directory
	}
	dest, err := filepath.Rel(filepath.Dir(rel), in)
	if err != nil {
		return nil
	}
	return os.Symlink(dest, target)
}

// shellWord is path as a shell reads it back: quoted when it holds
// anything but letters, digits and -_./:+,@%= (a space, a quote).
func shellWord(path string) string {
	if strings.HasPrefix(path, "-") {
		// (else read as an option: -weird/server.tbc)
		path = "./" + path
	}
	plain := path != ""
	for _, c := range path {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_./:+,@%=", c)) {
			plain = false
			break
		}
	}
	if plain {
		return path
	}
	return "'" + strings.ReplaceAll(path, "'", `'\''`) + "'"
}

// sameFile reports whether paths a and b name one file (a directory
// reached two ways).
func sameFile(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}
