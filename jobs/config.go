package jobs

import (
	"database/sql"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"tova/bytecode"
	"tova/frontend/diag"
	"tova/vm"
)

// Options configure a Runner. The zero value is the production setting:
// everything else comes from the program's `jobs { }` and `db { }`
// blocks. Fields set here win over the program's blocks (tests,
// benchmarks, the CLI).
type Options struct {
	// Logger receives job failures and the queue library's warnings.
	Logger zerolog.Logger
	// DatabaseURL overrides where jobs are stored: a postgres:// URL, or
	// a SQLite file path (optionally prefixed with "sqlite:").
	DatabaseURL string
	// MaxAttempts, Workers, Timeout, Backoff and MaxBackoff override the
	// `jobs { }` block's keys of the same names.
	MaxAttempts int
	Workers     int
	Timeout     time.Duration
	Backoff     time.Duration
	MaxBackoff  time.Duration
	// FetchCooldown and FetchPollInterval tune how often the queue is
	// polled (defaults: SQLiteFetchCooldown and so on).
	FetchCooldown     time.Duration
	FetchPollInterval time.Duration
	// ListenPollInterval is how often a queue on SQLite looks for
	// notifications written by other processes (default
	// SQLiteListenPoll); those of this process are seen at once.
	ListenPollInterval time.Duration
	// TickEvery, when set, makes every schedule fire at this interval
	// instead of its cron expression or pattern (tests).
	TickEvery time.Duration
	// CallerTx, when set, returns the database transaction the calling
	// Tova thread holds (the store's db.transaction) and the PostgreSQL
	// URL of its database. When that is the queue's own database,
	// spawn_job and publish store their jobs in that transaction: they
	// commit with it and vanish if it rolls back.
	CallerTx func(t *vm.Thread) (tx *sql.Tx, url string, ok bool)
	// RequestID, when set, returns the id of the request the calling
	// Tova thread serves ("" for none): a job spawn_job stores from it,
	// and each delivery publish stores, keep that id, which their log
	// lines carry (request_id) and RequestOf gives their code's calls
	// to other servers. Without it (or outside a request), a job
	// stored by a job keeps that job's id.
	RequestID func(t *vm.Thread) string
	// Args, when set, takes the arguments a job or an event brings (as
	// JSON, in the form package wire describes) for fn: the serving
	// runtime makes those of fn's typed parameters what they were sent
	// as (Some and None, records, variants), as a call between servers
	// does. An error fails the job for good.
	Args func(fn vm.Value, args []vm.Value) ([]vm.Value, error)
	// Heartbeat is how often a runner records that it is alive and
	// looks for jobs left running by dead processes (default 2 s). A
	// process is presumed dead when its last heartbeat is older than
	// five periods, or at once when it ran on this host and its process
	// id no longer exists.
	Heartbeat time.Duration
	// ForeignRetry is how soon a job of a background fn this server
	// does not have goes back to the queue for a process that has it
	// (default ForeignJobRetry).
	ForeignRetry time.Duration
}

// A job of a background fn the running server does not have (a process
// of the program's next version spawned it, during a rolling deploy) is
// handed back to the queue ForeignJobRetry later, its attempt not spent,
// for a process that has the fn; for ForeignJobPatience after it was
// stored. Past that, no process having taken it, each such run spends an
// attempt, so that a job of a fn no version has any more ends discarded.
const (
	ForeignJobRetry    = 15 * time.Second
	ForeignJobPatience = 15 * time.Minute
)

// settings is the effective configuration of one runner.
type settings struct {
	maxAttempts int
	workers     int
	timeout     time.Duration
	backoff     time.Duration
	maxBackoff  time.Duration

	pgURL      string // PostgreSQL: the jobs live in the app's database
	pgProgram  string // the program's schema there (ProgramSchema)
	sqlitePath string // otherwise: the jobs file
	// fileFromBlock: the jobs block's database key named sqlitePath
	fileFromBlock bool

	fetchCooldown     time.Duration
	fetchPollInterval time.Duration
	listenPoll        time.Duration // SQLite only
	tickEvery         time.Duration
	heartbeat         time.Duration
	foreignRetry      time.Duration
}

// Defaults of the `jobs { }` keys.
const (
	DefaultMaxAttempts = 4
	DefaultWorkers     = 10
	DefaultTimeout     = time.Minute
	DefaultBackoff     = time.Second
	DefaultMaxBackoff  = 5 * time.Minute
)

// How often a queue is polled. River's default cooldown (100 ms) caps a
// queue near 500 jobs/s with 100 ms latency; these were measured to
// reach River's best figures (runtime-choices §2.3). Both databases also
// wake a queue when a job is inserted (PostgreSQL by LISTEN/NOTIFY,
// SQLite as notify.go describes), so the poll interval bounds only how
// late a job no notification announces is seen: a retry whose backoff
// has passed, or a job inserted right after another one into the same
// queue (River sends one notification per queue per cooldown, and the
// fetch it wakes may come before the second job). Each poll of a SQLite
// queue costs about 2 ms of CPU: at 20 ms an idle program kept a core
// 11% busy per queue.
const (
	SQLiteFetchCooldown       = 2 * time.Millisecond
	SQLiteFetchPollInterval   = 250 * time.Millisecond
	PostgresFetchCooldown     = time.Millisecond
	PostgresFetchPollInterval = 50 * time.Millisecond
)

// JobsFile is where the jobs of a program that has no PostgreSQL
// database lived, relative to the program's directory, before each
// program had a file of its own (JobsFileOf); a program whose own file
// does not exist yet goes on using it if it exists.
const JobsFile = ".tova/jobs.db"

// JobsFileOf is where the jobs of the program whose main source file is
// source live when it has no PostgreSQL database, relative to its
// directory: .tova/<name>.jobs.db for app.tova (and for the app.tbc
// built from it). Two programs in one directory thus never share a
// queue: one program's schedule leader would not know the other's
// schedules, and its workers would take jobs of background fns it does
// not have. Replicas of a program, and its named servers run apart
// (--server), share the file.
func JobsFileOf(source string) string {
	name := strings.TrimSuffix(filepath.Base(source), filepath.Ext(source))
	if name == "" || name == "." || strings.HasPrefix(name, ".") {
		return JobsFile
	}
	return filepath.Join(".tova", name+".jobs.db")
}

// ProgramSchema is the PostgreSQL schema that holds the job queue of
// the program whose main source file is source, as the jobs file
// (JobsFileOf) does on SQLite: tova_<name> (tova_app for app.tova and
// the app.tbc built from it), in lower case, other characters than
// letters, digits and _ made _, with a hash of the name when it had to
// change (or be cut: River takes schema names of at most 46 bytes).
// Two programs of different names using one database thus never share a
// queue, a leader or a subscription list: one program's leader would not
// store the other's schedule ticks, and its workers would take (and
// drop) events and ticks of the other. A URL that sets a search_path (options
// -csearch_path=… or a search_path parameter) chooses the schema
// itself, and the queue lives there.
func ProgramSchema(source string) string {
	name := strings.TrimSuffix(filepath.Base(source), filepath.Ext(source))
	if name == "" || name == "." || name == "/" {
		name = "program"
	}
	var b strings.Builder
	for _, c := range strings.ToLower(name) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	s := "tova_" + b.String()
	if b.String() != name || len(s) > maxSchemaName {
		s = withHash(name, s, maxSchemaName)
	}
	return s
}

// maxSchemaName is River's limit on a schema name: 63 bytes for a
// notification channel <schema>.river_leadership.
const maxSchemaName = 63 - 1 - len("river_leadership")

// defaultJobsFile is the program's file (JobsFileOf), or the shared one
// of earlier releases (JobsFile) if only that one exists in dir: its
// stored jobs are not left behind.
func defaultJobsFile(dir, source string) string {
	own := filepath.Join(dir, JobsFileOf(source))
	if _, err := os.Stat(own); err == nil {
		return own
	}
	if _, err := os.Stat(filepath.Join(dir, JobsFile)); err == nil {
		return filepath.Join(dir, JobsFile)
	}
	return own
}

// MaxWorkers bounds jobs { workers } (the queue library's own limit).
const MaxWorkers = 10000

// readSettings merges the defaults, the program's `db { }` and
// `jobs { }` blocks visible to inst (top level first, then the
// server's own) and opts.
func readSettings(inst *vm.Instance, opts Options) (settings, error) {
	s := settings{
		maxAttempts:  DefaultMaxAttempts,
		workers:      DefaultWorkers,
		timeout:      DefaultTimeout,
		backoff:      DefaultBackoff,
		maxBackoff:   DefaultMaxBackoff,
		heartbeat:    2 * time.Second,
		foreignRetry: ForeignJobRetry,
	}
	dir := inst.Dir
	// The last db block visible to the server is its database (as for
	// the store): PostgreSQL means the jobs live there too.
	if dbs := inst.ConfigBlocks("db"); len(dbs) > 0 && dbs[len(dbs)-1].Kind() == vm.KObject {
		o := dbs[len(dbs)-1].AsObject()
		adapter := strings.ToLower(firstString(o, "adapter", "driver"))
		url := firstString(o, "url")
		switch {
		case adapter == "postgres" || adapter == "postgresql" || adapter == "pg":
			if _, given := o.Get("url"); url == "" && !given && inst.Cfg.Getenv != nil {
				// DATABASE_URL, as the store reads it for such a block
				url, _ = inst.Cfg.Getenv("DATABASE_URL")
			}
			if url == "" {
				return s, fmt.Errorf("db: adapter %q needs a url", adapter)
			}
			s.pgURL = url
		case adapter == "" && isPostgresURL(url) && firstString(o, "database", "path") == "":
			s.pgURL = url
		}
	}
	for _, v := range inst.ConfigBlocks("jobs") {
		if v.Kind() != vm.KObject {
			continue
		}
		if err := s.readJobsBlock(v.AsObject(), dir); err != nil {
			return s, err
		}
	}
	if opts.DatabaseURL != "" {
		s.pgURL, s.sqlitePath, s.fileFromBlock = "", "", false
		if isPostgresURL(opts.DatabaseURL) {
			s.pgURL = opts.DatabaseURL
		} else {
			s.sqlitePath = SQLitePath(opts.DatabaseURL)
		}
	}
	if s.pgURL == "" && s.sqlitePath == "" {
		s.sqlitePath = defaultJobsFile(dir, mainSource(inst))
	}
	s.pgProgram = ProgramSchema(mainSource(inst))
	setInt(&s.maxAttempts, opts.MaxAttempts)
	setInt(&s.workers, opts.Workers)
	setDur(&s.timeout, opts.Timeout)
	setDur(&s.backoff, opts.Backoff)
	setDur(&s.maxBackoff, opts.MaxBackoff)
	setDur(&s.heartbeat, opts.Heartbeat)
	setDur(&s.foreignRetry, opts.ForeignRetry)
	s.tickEvery = opts.TickEvery
	if s.pgURL != "" {
		s.fetchCooldown, s.fetchPollInterval = PostgresFetchCooldown, PostgresFetchPollInterval
	} else {
		s.fetchCooldown, s.fetchPollInterval = SQLiteFetchCooldown, SQLiteFetchPollInterval
	}
	setDur(&s.fetchCooldown, opts.FetchCooldown)
	setDur(&s.fetchPollInterval, opts.FetchPollInterval)
	s.listenPoll = SQLiteListenPoll
	setDur(&s.listenPoll, opts.ListenPollInterval)
	s.maxBackoff = max(s.maxBackoff, s.backoff)
	return s, nil
}

// QueueOf says where the server of inst keeps its job queue: a
// postgres:// URL or a SQLite file, and whether its db or jobs block
// chose it (explicit) rather than it being the file every server of the
// program shares by default.
func QueueOf(inst *vm.Instance) (where string, explicit bool, err error) {
	s, err := readSettings(inst, Options{})
	if err != nil {
		return "", false, err
	}
	if s.pgURL != "" {
		return s.pgURL, true, nil
	}
	return s.sqlitePath, s.sqlitePath != defaultJobsFile(inst.Dir, mainSource(inst)), nil
}

// BlockKeys are the keys a jobs block may set (path and file are
// database's other names).
var BlockKeys = []string{"max_attempts", "workers", "timeout", "backoff", "max_backoff", "database", "url"}

// BlockAliases are the other names readJobsBlock takes for BlockKeys
// (attempts, max_retries: max_attempts less one; max_workers,
// concurrency; path and file: database).
var BlockAliases = []string{"attempts", "max_retries", "max_workers", "concurrency", "path", "file"}

// readJobsBlock reads `jobs { max_attempts, workers, timeout, backoff,
// max_backoff, database, url }`. Plain numbers for durations are seconds.
func (s *settings) readJobsBlock(o *vm.Object, dir string) error {
	for i, k := range o.Keys() {
		v := o.Values()[i]
		var err error
		switch k {
		case "max_attempts", "attempts", "max_retries":
			var n int64
			n, err = positiveInt(v)
			if k == "max_retries" {
				n++ // retries after the first attempt
			}
			s.maxAttempts = int(n)
		case "workers", "max_workers", "concurrency":
			var n int64
			n, err = positiveInt(v)
			if err == nil && n > MaxWorkers {
				err = fmt.Errorf("expected at most %d workers, got %d", MaxWorkers, n)
			}
			s.workers = int(n)
		case "timeout":
			s.timeout, err = seconds(v)
		case "backoff":
			s.backoff, err = seconds(v)
		case "max_backoff":
			s.maxBackoff, err = seconds(v)
		case "database", "path", "file":
			if v.Kind() != vm.KString || strings.TrimSpace(v.AsString()) == "" || strings.ContainsRune(v.AsString(), 0) {
				err = fmt.Errorf("expected a file name, got %s", vm.Repr(v))
				break
			}
			s.pgURL, s.sqlitePath, s.fileFromBlock = "", v.AsString(), true
			if !filepath.IsAbs(s.sqlitePath) {
				s.sqlitePath = filepath.Join(dir, s.sqlitePath)
			}
		case "url":
			if v.Kind() != vm.KString || !isPostgresURL(v.AsString()) {
				err = fmt.Errorf("expected a postgres:// URL, got %s", vm.Repr(v))
				break
			}
			s.pgURL, s.sqlitePath, s.fileFromBlock = v.AsString(), "", false
		default:
			meant := ""
			if near := diag.Closest(k, BlockKeys); near != "" {
				meant = "did you mean " + near + "? "
			}
			err = fmt.Errorf("unknown key (%sknown: %s)", meant, strings.Join(BlockKeys, ", "))
		}
		if err != nil {
			return fmt.Errorf("jobs.%s: %v", k, err)
		}
	}
	_, b := o.Get("backoff")
	if _, m := o.Get("max_backoff"); m && s.maxBackoff < s.backoff {
		if b {
			// (the larger was taken without a word)
			return fmt.Errorf("jobs.max_backoff: %v is less than backoff (%v): the longest wait between attempts is at least the first", s.maxBackoff, s.backoff)
		}
		// A cap under the default first wait: every wait is the cap
		// (the default backoff raised it without a word).
		s.backoff = s.maxBackoff
	}
	return nil
}

// SQLitePath is the file a jobs database URL that is not a postgres://
// one names: a path, maybe written sqlite:PATH or sqlite://PATH.
func SQLitePath(u string) string {
	return strings.TrimPrefix(strings.TrimPrefix(u, "sqlite://"), "sqlite:")
}

func isPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

func firstString(o *vm.Object, keys ...string) string {
	for _, k := range keys {
		if v, ok := o.Get(k); ok && v.Kind() == vm.KString {
			return v.AsString()
		}
	}
	return ""
}

func positiveInt(v vm.Value) (int64, error) {
	if v.Kind() != vm.KInt || v.AsInt() < 1 {
		return 0, fmt.Errorf("expected a positive Int, got %s", vm.NumberRepr(v))
	}
	return v.AsInt(), nil
}

// seconds reads a duration: a Duration value or a number of seconds.
func seconds(v vm.Value) (time.Duration, error) {
	var d time.Duration
	switch v.Kind() {
	case vm.KDuration:
		d = time.Duration(v.AsDuration())
	case vm.KInt:
		if n := v.AsInt(); n > math.MaxInt64/int64(time.Second) {
			return 0, fmt.Errorf("%s is too long a duration (at most about 292 years)", vm.Repr(v))
		}
		d = time.Duration(v.AsInt()) * time.Second
	case vm.KFloat:
		if f := v.AsFloat() * float64(time.Second); f >= math.MaxInt64 {
			return 0, fmt.Errorf("%s is too long a duration (at most about 292 years)", vm.Repr(v))
		}
		d = time.Duration(v.AsFloat() * float64(time.Second))
	default:
		return 0, fmt.Errorf("expected a duration such as 30.seconds, got %s", vm.Repr(v))
	}
	if d <= 0 {
		return 0, fmt.Errorf("expected a positive duration, got %s", vm.Repr(v))
	}
	return d, nil
}

func setInt(dst *int, v int) {
	if v > 0 {
		*dst = v
	}
}

func setDur(dst *time.Duration, v time.Duration) {
	if v > 0 {
		*dst = v
	}
}

// hostname is where a runner's process id means something, recorded
// next to it: this machine's name and, where it can be read, the
// process id namespace ("vm#4026531836"). Containers that share a host
// name (host networking) each have their own namespace, where the other's
// process ids name nothing or another process: a live peer was taken for
// a dead one.
func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "localhost"
	}
	if ns, err := os.Readlink("/proc/self/ns/pid"); err == nil { // pid:[4026531836]
		if i := strings.IndexByte(ns, '['); i >= 0 {
			h += "#" + strings.Trim(ns[i:], "[]")
		}
	}
	return h
}

// CheckSettings reads inst's `jobs { }` settings as Start would, without
// starting anything: the block of a server that runs no jobs is checked
// too, rather than ignored.
func CheckSettings(inst *vm.Instance) error {
	if len(inst.ConfigBlocks("jobs")) == 0 {
		return nil
	}
	_, err := readSettings(inst, Options{})
	return err
}

// mainSource is the name of the program's main source file ("" if the
// program records none).
func mainSource(inst *vm.Instance) string { return SourceOf(inst.Prog.Code) }

// SourceOf is the name of p's main source file ("" if p has no code):
// what JobsFileOf and ProgramSchema are given.
func SourceOf(p *bytecode.Program) string {
	if p == nil || len(p.Funcs) == 0 {
		return ""
	}
	name := p.FileName(p.Funcs[0].File)
	if piped(name) {
		// Every bash <(…) is /dev/fd/63: a program read from a pipe is
		// known by its content, so that two of them in one directory
		// have queues of their own.
		f := p.Funcs[0].File
		return fmt.Sprintf("piped-%x.tova", p.Files[f].Hash[:4])
	}
	return name
}

// piped says whether a source file's name is a pipe's: /dev/stdin,
// /dev/fd/N or /proc/…/fd/N, whose base name names no program.
func piped(name string) bool {
	dir := filepath.Dir(name)
	return name == "/dev/stdin" || dir == "/dev/fd" || strings.HasPrefix(name, "/proc/") && filepath.Base(dir) == "fd"
}
