package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"tova/bytecode"
	"tova/driver"
	"tova/jobs"
	"tova/serve"
	"tova/vm"
)

func init() { extraCommands = append(extraCommands, jobsCmd) }

func jobsCmd() *cobra.Command {
	var states []string
	var verbose bool
	var limit int
	var database string
	c := &cobra.Command{
		Use:   "jobs [app.tova|app.tbc] [--state queued|running|retrying|discarded|completed|cancelled] [-v] [--limit N] [--database URL|FILE]",
		Short: "List the program's stored jobs with their errors",
		Long: `Lists the background jobs, event deliveries and schedule runs stored for
the program: queued, running, retrying and discarded ones (or those of the
--state given, repeatable; also completed and cancelled), newest first,
each failed one followed by its last error (-v: every attempt's error with
its Tova stack trace).

The jobs live where the program's servers keep them: in the place a
jobs { database } or jobs { url } names, else in the PostgreSQL
database of a db { adapter: "postgres" } block, else in
.tova/<program>.jobs.db next to the program (.tova/app.jobs.db for
app.tova). To find out, tova jobs runs the program's top-level code
and server bodies as tova serve does at startup, without serving;
--database names the place directly instead (the program may then be
left out for a SQLite jobs file, which holds one program's queue).`,
		Args: atMostOneFile,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && (database == "" || isPostgresURL(database)) {
				// (a SQLite jobs file is the queue of one program; a
				// PostgreSQL database holds each program's in a schema
				// named after it)
				what := "the program whose jobs to list"
				if database != "" {
					what = "the program: a PostgreSQL database keeps its queue in a schema named after it"
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "tova jobs: name %s (usage: %s)\n", what, cmd.UseLine())
				return &exitError{exitUsage}
			}
			if limit < 1 || limit > jobs.MaxListLimit {
				fmt.Fprintf(cmd.ErrOrStderr(), "tova jobs: --limit must be from 1 to %d, got %d\n", jobs.MaxListLimit, limit)
				return &exitError{exitUsage}
			}
			if database == "" && cmd.Flags().Changed("database") {
				// (an unset variable: --database "$JOBS_DB") It ran the
				// program to find its queue, which --database is not to.
				fmt.Fprintln(cmd.ErrOrStderr(), "tova jobs: --database is empty: give a postgres:// URL or a SQLite jobs file, or leave the flag out")
				return &exitError{exitUsage}
			}
			if database != "" {
				if msg := checkJobsDatabase(database); msg != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "tova jobs: --database %s: %s\n", redact(database), msg)
					return &exitError{exitUsage}
				}
			}
			for _, s := range states {
				if !slices.Contains(jobs.ListStates, s) {
					fmt.Fprintf(cmd.ErrOrStderr(), "tova jobs: unknown state %q (states: %s)\n", s, strings.Join(jobs.ListStates, ", "))
					return &exitError{exitUsage}
				}
			}
			places := []string{database}
			// A program's queue in a PostgreSQL database is in a schema
			// named after its main source file.
			var schema string
			if database != "" {
				if len(args) == 1 {
					schema = queueSchema(args[0])
				}
			} else {
				p, src, err := loadWarned(cmd, args[0], false)
				if err != nil {
					return err
				}
				schema = jobs.ProgramSchema(jobs.SourceOf(p))
				if len(p.Servers) == 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "tova jobs: %s declares no server block, so it has no jobs\n", args[0])
					return &exitError{exitUsage}
				}
				if places, err = jobPlaces(p, programDir(args[0])); err != nil {
					var ve *vm.Error
					var ce *configError
					if errors.As(err, &ce) && errors.As(err, &ve) && len(ve.Stack) > 0 {
						// The program's own code failed: shown as tova
						// run and tova serve show it, source line and stack.
						fmt.Fprintf(cmd.ErrOrStderr(), "tova jobs: %s:\n%s", ce.head(), driver.FormatError(ve, src))
					} else {
						fmt.Fprintf(cmd.ErrOrStderr(), "tova jobs: %v\n", err)
					}
					return &exitError{exitStartup}
				}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			out := cmd.OutOrStdout()
			for i, where := range places {
				if len(places) > 1 {
					if i > 0 {
						fmt.Fprintln(out)
					}
					fmt.Fprintf(out, "jobs in %s:\n", redact(where))
				}
				// One more than shown tells whether the list was cut.
				list, err := jobs.List(ctx, where, jobs.ListOptions{States: states, Limit: limit + 1, Schema: schema})
				if errors.Is(err, jobs.ErrNoJobs) {
					if database != "" && !isPostgresURL(database) {
						// A SQLite jobs file has its table from the start:
						// this is another database (the app's own, likely).
						fmt.Fprintf(cmd.ErrOrStderr(), "tova jobs: --database %s: a SQLite database that holds no job queue (an app's queue is in .tova/<app>.jobs.db beside it)\n", redact(database))
						return &exitError{exitUsage}
					}
					if database != "" {
						// Named, it is mistyped (another database, a
						// search_path schema that is not there) or no
						// server of the program has run on it.
						fmt.Fprintf(cmd.ErrOrStderr(), "tova jobs: --database %s: a PostgreSQL database that holds no job queue of this program (in its schema %q, or the schema the URL's search_path names): no server of it has run there\n", redact(database), schema)
						return &exitError{exitUsage}
					}
					fmt.Fprintln(out, "no jobs (nothing stored yet)")
					continue
				}
				if err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "tova jobs: %s: %v\n", redact(where), err)
					return &exitError{exitStartup}
				}
				if len(list) == 0 {
					fmt.Fprintln(out, "no jobs")
					continue
				}
				more := len(list) > limit
				if more {
					list = list[:limit]
				}
				if err := jobs.Format(out, list, verbose); err != nil {
					return err
				}
				if more {
					if limit < jobs.MaxListLimit {
						fmt.Fprintf(out, "(the newest %d shown; there are more: --limit shows up to %d)\n", limit, jobs.MaxListLimit)
					} else {
						fmt.Fprintf(out, "(the newest %d shown, the most a list shows; there are more: --state lists fewer)\n", limit)
					}
				}
			}
			return nil
		},
	}
	c.Flags().StringArrayVar(&states, "state", nil, "list only jobs in this state: "+strings.Join(jobs.ListStates, ", ")+" (repeatable)")
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "show every failed attempt's error with its stack trace, and the id of the request that stored the job")
	c.Flags().IntVar(&limit, "limit", 200, "list at most this many jobs, newest first")
	c.Flags().StringVar(&database, "database", "", "read the jobs from this postgres:// URL or SQLite jobs file")
	return c
}

// jobPlaces runs each server's setup code (top-level code, then the
// server body) on a scratch instance to read its db and jobs blocks, and
// returns where the servers keep their jobs, as tova serve plans them
// (a server whose blocks choose no queue uses the one the others
// chose), without duplicates.
func jobPlaces(p *bytecode.Program, dir string) ([]string, error) {
	prog, err := vm.Load(p)
	if err != nil {
		return nil, err
	}
	if len(p.Servers) == 0 {
		return nil, errors.New("the program declares no server block, so it has no jobs")
	}
	var first error
	plan := serve.PlanQueues(p, func(d *bytecode.Server) (string, bool, error) {
		where, explicit, err := serve.ScratchQueue(prog, d, vm.Config{Stdout: io.Discard, Stderr: io.Discard, Dir: dir})
		if err != nil && first == nil {
			first = &configError{d.Name, err}
		}
		return where, explicit, err
	})
	if first != nil {
		return nil, first
	}
	var places []string
	for _, d := range p.Servers {
		if where := plan.Where[d.Name]; !slices.Contains(places, where) {
			places = append(places, where)
		}
	}
	return places, nil
}

// configError is the failure of a server's setup code, run to find
// where it keeps its jobs.
type configError struct {
	server string
	err    error
}

func (e *configError) head() string {
	return serve.ServerLabel(e.server) + ": reading its configuration failed (--database reads a queue without running the program)"
}

func (e *configError) Error() string { return e.head() + ": " + e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

// redact hides the password of a connection URL: the one after the
// user name, and a password query parameter (libpq and pgx take both).
// A URL that does not parse is not shown at all: where its
// password begins cannot be told.
func redact(where string) string {
	if !strings.Contains(where, "://") {
		return where // a SQLite file
	}
	u, err := url.Parse(where)
	if err != nil {
		return where[:strings.Index(where, "://")] + "://(a URL that does not parse)"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// queueSchema is the PostgreSQL schema of the queue of the program at
// path, named after its main source file: an artifact keeps the name of
// the program it was built from (dist/server.tbc of app.tova: tova_app,
// not tova_server), read without running it.
func queueSchema(path string) string {
	if p, _, err := driver.CompilePath(path); err == nil {
		return jobs.ProgramSchema(jobs.SourceOf(p))
	}
	return jobs.ProgramSchema(path)
}

// checkJobsDatabase says what is wrong with a --database value, or "":
// it must be a postgres:// URL or a SQLite file that exists (a path,
// maybe after sqlite: or sqlite://). A mistyped one would otherwise
// look like an empty queue.
func checkJobsDatabase(database string) string {
	if isPostgresURL(database) {
		return ""
	}
	path := jobs.SQLitePath(database)
	if path == database {
		if i := strings.Index(database, "://"); i > 0 {
			return fmt.Sprintf("unsupported scheme %q (postgres://, or a SQLite file)", database[:i])
		}
	}
	st, err := os.Stat(path)
	switch {
	case err != nil:
		return "no such file"
	case st.IsDir():
		return "a directory, not a SQLite file"
	}
	// Not read as a database unless it is one: SQLite would make any
	// empty file one, writing to it.
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	head := make([]byte, 16)
	if n, _ := io.ReadFull(f, head); n < 16 || string(head) != "SQLite format 3\x00" {
		return "not a SQLite database"
	}
	return ""
}

func isPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}
