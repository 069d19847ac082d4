package store

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"tova/bytecode"
	"tova/frontend/diag"
	"tova/vm"
)

// Adapter names accepted in a db block.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Config says which database an instance uses.
type Config struct {
	// Adapter is SQLite or Postgres.
	Adapter string
	// Path is the SQLite file (":memory:" for an in-memory database,
	// which the instances given one Shared share). Relative paths are taken from the program's directory.
	Path string
	// URL is the PostgreSQL connection URL.
	URL string
	// Pool is the maximum number of open connections: the PostgreSQL
	// pool, or the number of SQLite reader connections (SQLite always has
	// exactly one writer). Zero picks a default.
	Pool int
	// Source says where the configuration came from, for messages:
	// "db block at app.tova:3:1" or "no db block".
	Source string
	// errKey is the key a ConfigError of parseBlock is about, whose
	// value's position the error then gives ("" for the block's).
	errKey string
}

// noBlock is the Source of the default configuration.
const noBlock = "no db block"

const (
	defaultPGPool      = 10
	defaultSQLiteReads = 4
	defaultSQLiteFile  = DefaultSQLiteFile
)

// DefaultSQLiteFile is the database of a program with models and no db
// block, beside the program.
const DefaultSQLiteFile = "app.db"

// describe names the database for log lines and errors (never with a
// password).
func (c Config) describe() string {
	if c.Adapter == Postgres {
		return "PostgreSQL at " + redactURL(c.URL)
	}
	return "SQLite database " + c.Path
}

// RedactURL is a connection URL without its password and query, for
// messages; a file name stays as it is.
func RedactURL(s string) string { return redactURL(s) }

// redactURL drops the password and query of a connection URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		if !strings.ContainsAny(s, "@:=") && len(s) <= 200 {
			// not a URL, and holds no userinfo or key=value setting
			// (password=...) that could carry a password
			return s
		}
		if err == nil && u.Scheme != "" && u.Opaque != "" {
			// another scheme's (sqlite:app.db): what follows the
			// scheme may be a password (user:secret)
			return u.Scheme + ":…"
		}
		return "(unparsable URL)"
	}
	host := u.Host
	db := strings.TrimPrefix(u.Path, "/")
	if u.User != nil {
		return u.User.Username() + "@" + host + "/" + db
	}
	return host + "/" + db
}

// SQLiteFile is the SQLite file of the instance's database ("" when it
// is PostgreSQL's, in memory, or not configured yet).
func SQLiteFile(in *vm.Instance) string {
	cfg, ready, err := configFor(in)
	if err != nil || !ready || cfg.Adapter != SQLite || cfg.Path == ":memory:" {
		return ""
	}
	return cfg.Path
}

// configFor reads the instance's database configuration: the last db
// block visible to it, or the default SQLite file next to the program.
// ready is false when a db block exists but its code has not run yet
// (a model declared above the server's db block).
func configFor(in *vm.Instance) (cfg Config, ready bool, err error) {
	blocks := in.ConfigBlocks("db")
	if len(blocks) == 0 {
		return Config{Adapter: SQLite, Path: resolvePath(in.Dir, defaultSQLiteFile), Source: noBlock}, true, nil
	}
	for _, b := range blocks {
		if b.IsNil() {
			return Config{}, false, nil
		}
	}
	cfg, err = parseBlock(blocks[len(blocks)-1], in.Dir, in.Cfg.Getenv)
	cfg.Source = "db block" + blockPos(in)
	if ve, ok := err.(*vm.Error); ok && ve.Kind == "ConfigError" {
		if cfg.errKey == "" {
			// "db.pool must be ...": at the key's value
			if rest, ok := strings.CutPrefix(ve.Msg, "db."); ok {
				if i := strings.IndexFunc(rest, func(r rune) bool { return !(r == '_' || 'a' <= r && r <= 'z') }); i > 0 {
					cfg.errKey = rest[:i]
				}
			}
		}
		if f, ok := blockFrame(in, cfg.errKey); ok {
			// Where to fix it: the block, not the model whose first use
			// opened the database (its position was the error's).
			ve.Stack = []vm.StackFrame{f}
		}
	}
	return cfg, true, err
}

// blockPos locates the db block configFor used (the last one), for
// messages: " at app.tova:3:1".
func blockPos(in *vm.Instance) string {
	f, ok := blockFrame(in, "")
	if !ok {
		return ""
	}
	return fmt.Sprintf(" at %s:%d:%d", f.File, f.Line, f.Col)
}

// blockFrame is the position of the db block configFor used (the last
// one), as a stack frame: of its key's value, if key is given and the
// block writes it.
func blockFrame(in *vm.Instance, key string) (vm.StackFrame, bool) {
	code := in.Prog.Code
	var last *bytecode.Config
	for i := range code.Configs {
		if code.Configs[i].Kind == "db" {
			last = &code.Configs[i]
		}
	}
	if in.Server != nil {
		for i := range in.Server.Configs {
			if in.Server.Configs[i].Kind == "db" {
				last = &in.Server.Configs[i]
			}
		}
	}
	if last == nil || len(code.Files) != 1 {
		return vm.StackFrame{}, false
	}
	at := last.Pos
	if key != "" {
		at, _ = last.KeyPos(key)
	}
	return vm.StackFrame{Func: "db", File: code.Files[0].Name, Line: int(at.Line), Col: int(at.Col)}, true
}

// BlockKeys are the keys a db block may set (see parseBlock); serve
// warns of any other, and so does a script (unknownKeys).
var BlockKeys = []string{"adapter", "driver", "database", "path", "url", "pool"}

// unknownKeys words a warning for each key of a script's db block that
// is none of BlockKeys (a typo such as poool, which has no effect),
// printed when the database opens. A server runtime warns of them in
// its own log (in.Server is set).
func unknownKeys(in *vm.Instance) []string {
	blocks := in.ConfigBlocks("db")
	if in.Server != nil || len(blocks) == 0 || blocks[len(blocks)-1].Kind() != vm.KObject {
		return nil
	}
	var out []string
	for _, k := range blocks[len(blocks)-1].AsObject().Keys() {
		if !slices.Contains(BlockKeys, k) {
			hint := "" // (as serve's log line has it)
			if near := diag.Closest(k, BlockKeys); near != "" {
				hint = " (did you mean " + near + "?)"
			}
			out = append(out, fmt.Sprintf("unknown key %s in the db block%s%s: it has no effect (keys: %s)", k, blockPos(in), hint, strings.Join(BlockKeys, ", ")))
		}
	}
	return out
}

// parseBlock reads one evaluated db block: the guide's keys (adapter,
// database, url, pool) and the reference's (driver, path, url). A
// postgres block without a url takes DATABASE_URL from the environment
// (getenv; nil: none), as the reference's does.
func parseBlock(v vm.Value, dir string, getenv func(string) (string, bool)) (Config, error) {
	if v.Kind() != vm.KObject {
		return Config{}, configErr("a db block must be an object, got %s", vm.TypeName(v))
	}
	o := v.AsObject()
	str := func(keys ...string) (string, bool, error) {
		for _, k := range keys {
			x, ok := o.Get(k)
			if !ok || x.IsNil() {
				continue
			}
			if x.Kind() != vm.KString {
				return "", false, configErr("db.%s must be a String, got %s", k, vm.TypeName(x))
			}
			return x.AsString(), true, nil
		}
		return "", false, nil
	}
	var cfg Config
	adapter, _, err := str("adapter", "driver")
	if err != nil {
		return cfg, err
	}
	adapterKey := "adapter"
	if x, ok := o.Get("adapter"); !ok || x.IsNil() {
		adapterKey = "driver" // the reference's name, if that is the one given
	}
	path, hasPath, err := str("database", "path")
	if err != nil {
		return cfg, err
	}
	u, hasURL, err := str("url")
	if err != nil {
		return cfg, err
	}
	switch strings.ToLower(adapter) {
	case "sqlite", "sqlite3":
		cfg.Adapter = SQLite
	case "postgres", "postgresql", "pg":
		cfg.Adapter = Postgres
	case "":
		cfg.Adapter = SQLite
		if hasURL && !hasPath {
			cfg.Adapter = Postgres
		}
	default:
		return cfg, configErr("db.%s must be \"sqlite\" or \"postgres\", got %q", adapterKey, adapter)
	}
	// A key written but nil is most often an unset environment variable:
	// falling back to the default (a local SQLite file) would put a
	// production's data where nobody looks for it.
	if _, given := o.Get("url"); given && !hasURL && (cfg.Adapter == Postgres || adapter == "") {
		return cfg, configErr("db.url is nil: is the environment variable it reads set?")
	}
	for _, k := range []string{"database", "path"} {
		if x, given := o.Get(k); given && x.IsNil() && !hasPath && cfg.Adapter == SQLite {
			return cfg, configErr("db.%s is nil: is the environment variable it reads set?", k)
		}
	}
	for _, k := range []string{"adapter", "driver", "pool"} {
		// (an adapter left to the url, or a pool to the default, is
		// left out, not written as nil)
		if x, given := o.Get(k); given && x.IsNil() && (k == "pool" || adapter == "") {
			return cfg, configErr("db.%s is nil: is the environment variable it reads set?", k)
		}
	}
	if p, ok := o.Get("pool"); ok && !p.IsNil() {
		if p.Kind() != vm.KInt || p.AsInt() < 1 || p.AsInt() > 10000 {
			return cfg, configErr("db.pool must be an Int between 1 and 10000, got %s", vm.NumberRepr(p))
		}
		cfg.Pool = int(p.AsInt())
	}
	switch cfg.Adapter {
	case Postgres:
		if !hasURL && getenv != nil {
			// (not over a url written but nil: that is refused above)
			u, hasURL = getenv("DATABASE_URL")
			hasURL = hasURL && u != ""
		}
		if !hasURL {
			return cfg, configErr("db { %s: %q } needs a url (url: env(\"DATABASE_URL\")), or DATABASE_URL set in the environment", adapterKey, adapter)
		}
		if !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
			if rest, ok := strings.CutPrefix(u, "sqlite:"); ok {
				// (the reference's docs' DATABASE_URL = "sqlite:./data.db")
				return cfg, configErr("db.url must start with postgres://, got %q: a SQLite database is named by its file, database: %q", redactWithScheme(u), strings.TrimPrefix(rest, "//"))
			}
			return cfg, configErr("db.url must start with postgres://, got %q", redactWithScheme(u))
		}
		if hasPath {
			return cfg, configErr("db.%s names a SQLite file, but db.%s is %q: a postgres block names its database in the url", pathKey(o), adapterKey, adapter)
		}
		cfg.URL = u
	case SQLite:
		// A url beside a SQLite file would be ignored: data would go to
		// a local file while the block seems to say otherwise.
		switch {
		case hasURL && adapter == "":
			return cfg, configErr("db has both a url (PostgreSQL) and a %s (SQLite): keep the one meant, or set adapter", pathKey(o))
		case hasURL:
			return cfg, configErr("db.url is for PostgreSQL, but db.%s is %q: drop the url, or make the block postgres", adapterKey, adapter)
		}
		if !hasPath {
			path = defaultSQLiteFile
		}
		if strings.TrimSpace(path) == "" || strings.ContainsRune(path, 0) {
			// "" would open a temporary database, gone at exit; the
			// driver cuts a name at its NUL.
			return cfg, configErr("db.database must name a file, got %q", path)
		}
		base := filepath.Base(path)
		aDirectory := func() (Config, error) {
			cfg.errKey = pathKey(o)
			return cfg, configErr("db.%s names a directory, not a file: name the file in it, such as %q", pathKey(o), filepath.Join(filepath.Clean(path), "app.db"))
		}
		switch {
		case path != ":memory:" && (strings.HasSuffix(path, "/") || base == "." || base == ".."):
			// ("sub/" and "data/." made a file named sub, data)
			return aDirectory()
		case strings.HasPrefix(path, "~"):
			// (only a shell reads ~ as a home directory: "~/x.db" made
			// a directory named ~ beside the program)
			cfg.errKey = pathKey(o)
			rest := strings.TrimPrefix(path, "~")
			if rest == "" || rest[0] != '/' {
				return cfg, configErr("db.%s begins with ~, which only a shell reads as a home directory: write the whole path", pathKey(o))
			}
			return cfg, configErr("db.%s begins with ~, which only a shell reads as the home directory: write the whole path (or env(\"HOME\") + %q)", pathKey(o), rest)
		}
		cfg.Path = resolvePath(dir, path)
		if fi, err := os.Stat(cfg.Path); err == nil && fi.IsDir() && path != ":memory:" {
			// ("data", a directory already there: SQLite said only that
			// it could not open the file, at the first query)
			return aDirectory()
		}
	}
	return cfg, nil
}

// pathKey is the key that gives a block's SQLite file: database, or the
// reference's path.
func pathKey(o *vm.Object) string {
	if x, ok := o.Get("database"); ok && !x.IsNil() {
		return "database"
	}
	return "path"
}

// redactWithScheme is redactURL with the URL's scheme, which a message
// about the scheme shows.
func redactWithScheme(s string) string {
	r := redactURL(s)
	if u, err := url.Parse(s); err == nil && u.Scheme != "" && u.Host != "" {
		return u.Scheme + "://" + r
	}
	return r
}

func resolvePath(dir, p string) string {
	if p == ":memory:" || filepath.IsAbs(p) {
		return p
	}
	if dir == "" {
		dir = "."
	}
	if abs, err := filepath.Abs(filepath.Join(dir, p)); err == nil {
		return abs
	}
	return filepath.Join(dir, p)
}

func configErr(format string, args ...any) *vm.Error {
	return vm.Errorf("ConfigError", "%s", fmt.Sprintf(format, args...))
}
