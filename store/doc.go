// Package store is Tova's database layer: the `db` block, `model`
// declarations and their query API, and raw SQL through the `db`
// builtin, on SQLite (the default, embedded, github.com/glebarez/go-sqlite)
// and PostgreSQL (github.com/jackc/pgx/v5 through database/sql). The
// same program runs on both and gets the same results: SQL is generated
// once, with $N placeholders, RETURNING, "quoted" names and explicit
// NULL ordering, which both engines accept; a small dialect layer
// covers column types, schema introspection and LIMIT/OFFSET, and rows
// are converted by the model's field types, not by what the engine
// happens to return.
//
// Importing the package registers the builtins `db` and `__model` (the
// compiler turns `model X` into `X = __model(spec)`).
//
// # The db block
//
//	db { adapter: "sqlite", database: "app.db" }
//	db { adapter: "postgres", url: env("DATABASE_URL"), pool: 20 }
//	db { driver: "sqlite", path: "data/app.db" }      // the reference's keys
//
// adapter (or driver) is "sqlite" or "postgres" (a url alone means
// postgres); database (or path) is the SQLite file, relative to the
// program's directory, ":memory:" for an in-memory database that the
// servers of the process share (one connection); url
// is the PostgreSQL URL (postgres://user:pass@host:port/db?sslmode=...;
// connect_timeout defaults to 5 s; a search_path naming a schema that
// does not exist yet gets it made, for the models' tables, when the role
// may make one); pool is the maximum number of open
// connections (PostgreSQL, default 10; SQLite: reader connections,
// default 4). A url, database or path written but nil (an unset
// environment variable) is a ConfigError, not the default: data would
// go to a local file nobody looks for; so is a url in a sqlite block,
// or a database (path) in a postgres one, which would be ignored. A key
// none of these is warned about (by serve in its log, by tova run on
// stderr when the database opens). A server's own db block wins over
// the top-level one (two in one place are a compile error). With no db
// block, models use app.db next to the program; the path is printed on
// stderr when it is opened.
//
// Each server (each VM instance) has its own connections, opened when
// a model is declared (if its db block has run by then) or on first use.
// A String is stored as it is, except that PostgreSQL text holds only
// UTF-8: there, bytes that are not UTF-8 (which a request's query, path
// or headers may bring) are stored as U+FFFD; SQLite keeps them.
// PostgreSQL text cannot hold a NUL character (U+0000) at all, so a
// String holding one is refused on both engines: a ValueError in
// create and update (in a String field; inside a JSON field it is
// stored escaped) and as a raw SQL parameter, while as a filter value,
// which may come from a client, it matches no row (a lookup answers
// nil, not an error).
//
// SQLite runs in WAL mode with a 10 s busy timeout, foreign keys on, a
// page cache of up to 32 MiB per connection (filled as pages are read),
// one writer connection through which every write and every transaction
// goes (writers queue instead of failing with "database is locked"),
// and reader connections beside it, on which reads run (a raw statement
// reads when it is a SELECT, VALUES or EXPLAIN, or a WITH that names no
// write). Database calls run with the
// server's scheduler released, so a slow query blocks only the request
// that runs it.
//
// # Models
//
//	type User { id: Int, name: String, email: String, admin: Bool }
//	model User                      // fields from the type of that name
//
//	model Task {
//	  title: String
//	  done: Bool = false            // default for create
//	  tags: [String]                // lists, objects, records: stored as JSON text
//	  due: Option<Date>
//	  table: "todo_items"           // default: lower-case name + "s" ("tasks")
//	  timestamps: true              // created_at, updated_at
//	}
//
// As in the reference, a model's value is also named with Model after
// it (UserModel for model User), unless the program declares that name
// itself.
//
// Every model has an `id` primary key the database assigns (never
// reused). Column types: Int → INTEGER / BIGINT, Float → REAL / DOUBLE
// PRECISION, Bool → BOOLEAN, String → VARCHAR, Date and the timestamps →
// TIMESTAMP / TIMESTAMPTZ, anything else → TEXT holding JSON. Columns
// are nullable; Option<T>, T? and T are stored alike (an Int? field is
// an Int column). A type a field names is the one visible where the
// model is declared: in a server block, the server's own type (or
// alias) of that name before a top-level one; a record type's fields
// name the types visible where it is declared.
//
// The table is created if missing when the model is declared (when the
// database is known by then) or on first use. A declared field missing
// from an existing table is added (ALTER TABLE ADD COLUMN), its old rows
// set to the field's default when it has a literal one (priority: Int =
// 0), else nil (a computed default is each create's own). A column whose type no longer fits its field is a
// SchemaError naming every such field, and the table is then left as it
// was; columns are never converted or dropped. On SQLite a Bool field
// also takes an INTEGER column of 0/1 (how SQLite tools and the
// reference store booleans). An Option field takes Some(x) and None,
// stored as x and NULL. Columns of the table that the model does not declare are
// left alone and not read.
//
// Older tovas stored a field whose type is written as an alias (type Id
// = Int) or as T? (Int?, Id?) as JSON text, in a TEXT column. Such a
// column keeps working, with no migration: where its type cannot hold
// the field (TEXT for an Id field), or, for a String or Date field,
// where its first value (by id) is a JSON string, the field is
// read and written there as JSON text, its values still checked by its
// type; a String or Date filter matches both that JSON and the plain
// text a tova in between may have written, and the column sorts as
// text ("10" before "9"). A new table, or a column added, gets the
// field's own type, and a String's VARCHAR column is never taken for
// such JSON text.
//
// # Query API
//
// Rows are objects with the model's fields in declaration order, typed
// by the model: Int, Float, Bool, String, nil for NULL; the fields
// stored as JSON come back as their type says, at every depth: a list
// of Floats as Floats, a record type's field as that record, a field of
// a type with variants as the variant, a Result as Ok or Err, a
// Duration or Size as one (Option<T> and T? read as T or nil,
// anywhere).
// Date fields and the timestamps are ISO 8601 strings in UTC with
// milliseconds ("2026-01-02T03:04:05.000Z"), which compare and sort
// correctly as strings. On SQLite a Date column may also hold the text
// SQLite's own functions write ("2026-01-02 03:04:05", from
// datetime('now'), CURRENT_TIMESTAMP, the reference's timestamps): it
// reads as that same ISO text, a filter on that text finds it, and
// order sorts it by time among the rest (by replace(col, ' ', 'T'): an
// index made by hand to serve such an order is on that expression,
// CREATE INDEX posts_at ON posts (replace(created_at, ' ', 'T'))).
//
//	M.all()                             // every row, ordered by id
//	M.find(id)                          // the row, or nil
//	M.where({ status: "pending" })      // list of rows
//	M.first({ email: e })               // the first matching row, or nil
//	M.count()  M.count({ done: false }) // Int
//	M.create({ title: "x" })            // the inserted row, as stored
//	M.update(id, { done: true })        // the updated row, or nil if no such id
//	M.delete(id)                        // true if a row was deleted, else false
//	M.delete_where({ done: true })      // number of rows deleted
//	M.paginate(page, per_page)          // { data, page, per_page, total, total_pages }
//
// Filters: every key must be a field; a value matches by equality, nil
// (and None, for an Option field) matches NULL, and a list matches any
// of its values ({ status: ["a", "b", nil] }, nil among them matching
// NULL; except for JSON fields). A JSON field's value (an Object, a
// List, a record) matches whatever the order of its objects' keys, as
// == finds { a: 1, b: 2 } and { b: 2, a: 1 } equal: PostgreSQL compares
// the two as jsonb, SQLite as tova_json_canon gives them (keys sorted).
// A filter's lists hold at most 60 000 values in all (PostgreSQL takes
// 65 535 parameters; past that it is a ValueError on both engines);
// SQLite gets a long list as one JSON parameter. Values in create and
// update, and filter values, must fit their field's type, at every depth, or the
// call is a TypeError naming where (`field addr.city is String, got
// 5`, `field ids[0] is Int, got "a"`): an Int is accepted for a Float,
// a whole Float for an Int; a Date takes a Date, an ISO string or epoch
// milliseconds, in the years 1 to 9999 (other years, whose ISO text
// SQLite would sort differently from PostgreSQL's timestamps, are a
// ValueError, in filters too); a record type takes its records or an object of its
// fields (a missing one is nil); a type with variants takes its
// variants (their fields are not checked); Result<T, E> takes Ok(T) and
// Err(E); Object takes an object of no declared type, or a value that
// is one as JSON (a request's headers, stored as that object). nil
// fits every type. NaN fits no Float (SQLite would store NULL,
// PostgreSQL NaN), and inside a JSON field neither does Infinity (JSON
// would hold null), at any depth, in what its type does not check too
// (an Object, Any, a variant's fields): both are a ValueError, in
// filters too. id is the Int primary key the store gives each row (a
// field id declared of another type, or with a computed default, is a compile
// error); it is ignored in create and update, and so are
// created_at and updated_at when the model has timestamps: update sets
// updated_at, create sets both (a request body or a copied row cannot),
// and applies the fields' defaults to the fields it is not given: a
// literal one as it is, any other (token: String = uuid(), tags:
// [String] = []) computed again by each create, as a function
// parameter's default is by each call.
//
// Options: table and timestamps. The reference's belongs_to, has_many,
// has_one and indexes are warned of when the program compiles, as not
// applied; soft_delete and primary_key, which would change what the
// model's calls do, and any other option (`views: 0` for a field
// `views: Int = 0`) are compile errors.
//
// Ordering and limits are options, given as named arguments or as a
// trailing object:
//
//	M.where({ status: "paid" }, order: "-created_at", limit: 10)
//	M.all(order: "name, -id", limit: 20, offset: 40)
//	M.all({ order: ["kind", "-price"] })
//	M.first({ kind: "nut" }, order: "-id")
//	M.paginate(2, 25, order: "-created_at", where: { done: false })
//	M.paginate(page: 2, per_page: 25)
//
// order names fields, "-" for descending ("name desc" works too).
// Results always end ordered by id, so ties come out the same on every
// engine; nil sorts first ascending and last descending, and text
// compares by bytes ("Z" before "a") on both engines. paginate clamps
// per_page to 1..100 (default 20) and page to >= 1; each is an Int or
// its decimal text (M.paginate(req.query.page ?? 1), as the reference's
// docs write it).
//
// A model also has the attributes name, table and fields.
//
// # Raw SQL
//
// Placeholders are $1, $2, ... on both engines (a number may repeat);
// values are always sent as parameters, never spliced into the SQL. A
// call gives exactly as many parameters as the highest placeholder
// number, and SQLite refuses a ? placeholder: both would fail on
// PostgreSQL (a TypeError on both, before the SQL is sent).
//
//	db.query(sql, ...params)  // list of row objects
//	db.get(sql, ...params)    // the first row, or nil
//	db.run(sql, ...params)    // { changes, last_id }
//	db.exec(sql)              // one or more statements (all or none), no parameters; nil
//	db.transaction(fn() { ... })
//	db.adapter                // "sqlite" or "postgres"
//
// query, get and run take one statement (a second one, which SQLite
// would run and PostgreSQL refuse, is a DatabaseError on both). No call
// runs BEGIN, COMMIT, ROLLBACK, SAVEPOINT or RELEASE by hand: every
// write goes through one writer connection, which a raw BEGIN would
// keep in a transaction that no later write commits; db.transaction is
// the way. On SQLite, a read that names what only the writer
// connection has (a TEMP table or view a raw statement made,
// last_insert_rowid(), changes()) runs on the writer too. (A CREATE
// statement's BEGIN ... END body, a SQLite trigger's
// or a PostgreSQL BEGIN ATOMIC function's, is part of that statement,
// semicolons and all.)
//
// Raw rows are typed by what the engine reports for each column: a
// column declared BOOLEAN reads as Bool on SQLite too, times read as
// ISO strings, PostgreSQL's NUMERIC as numbers, json/jsonb as values.
// Computed expressions follow the engine (SQLite has no Bool: SELECT
// 1 = 1 gives 1 there; PostgreSQL gives an untyped SELECT $1 back as
// text). Parameters: Int, Float, String, Bool, nil, a Date, a Duration
// (as milliseconds), a Size (as bytes), or a list/object (as JSON text);
// NaN is a ValueError, as SQLite would bind NULL, and so are NaN and
// Infinity in a list or object (JSON would hold null) and a Date
// outside the years 1 to 9999. Each works in any position, as the type the engine infers for it:
// where PostgreSQL infers text (SELECT $1, COALESCE($1, 'none'), 'n='
// || $1) it is sent as its text, so SELECT $1 with 1 gives "1" there
// and 1 on SQLite (with true, "true" and 1). A date parameter is a Date
// (Date.new(s) of an ISO string; Date.parse(s) gives epoch milliseconds,
// as JavaScript's does, which is a number): SQLite keeps times as their ISO
// text in UTC to the millisecond (2024-06-15T10:30:00.000Z) and compares
// a string parameter with it as text, so a string in another form
// ("2024-06-15T10:30:00Z", "+02:00") matches nothing there, where
// PostgreSQL would match it. Epoch milliseconds are a number, which SQLite
// compares with its ISO text (matching nothing) and PostgreSQL refuses
// where it expects a timestamp (a TypeError). Where PostgreSQL expects
// an integer, a Float with a fraction is a TypeError (rather than cut);
// where it expects a Bool, 0 and 1 are false and true, as SQLite
// stores them.
//
// db.run's last_id is the id of the row an INSERT added: SQLite's last
// rowid, PostgreSQL's lastval() on the inserting connection (nil there
// when the session has taken no value from a sequence; an INSERT that
// takes none, giving its own key, reports the last one the session
// took, which may be another table's); with a RETURNING clause it is
// the first column of the last row returned, and changes counts those
// rows. For portable ids, use RETURNING id.
//
// db.transaction(fn) runs fn in a transaction and returns its result:
// committed when fn returns, rolled back when it raises (the error is
// raised again, unchanged). Every model and db call of the same request
// inside fn joins the transaction; a nested db.transaction is a
// savepoint, rolled back alone when its fn raises. As in SQL, a failed
// statement that fn catches leaves a PostgreSQL transaction aborted:
// its next statement raises (DatabaseError: current transaction is
// aborted, commands ignored until end of transaction block), and so
// would the commit; SQLite carries on. Wrap the statement in a nested
// db.transaction to recover from it on both.
//
// A process's transactions run one at a time on both engines: SQLite's
// one writer makes them, and on PostgreSQL they take turns too, so that
// a read-then-write transaction (find, then update with what it read)
// loses no update and two that lock rows in opposite orders do not
// deadlock, as on SQLite. PostgreSQL runs them SERIALIZABLE: one that
// conflicts with another process's transaction (or deadlocks with it)
// is rolled back and fn runs again, after a few milliseconds, up to 50
// times. What fn does outside the database (print, fetch, server
// state) may so happen more than once; keep it after the transaction.
//
// # Errors
//
// Errors raised to Tova code (err.kind):
//
//   - "DatabaseError": the engine refused the statement (a constraint,
//     bad SQL, a missing table); err.message is the engine's message.
//     Constraint violations have err.value.code "unique_violation",
//     "not_null_violation", "foreign_key_violation" or
//     "check_violation" on both engines (other errors: the engine's
//     code).
//   - "DatabaseUnavailable": the database cannot be reached, the
//     connection was lost, or SQLite stayed locked past the busy
//     timeout. The message names the database, never its password. The
//     HTTP layer answers 503; the next call reconnects.
//   - "ColumnError": a filter, order or field value names a field the
//     model does not have; the message names the field, the model and
//     its fields.
//   - "SchemaError": the model does not match its existing table.
//   - "ConfigError": a db block that cannot work (unknown adapter, a
//     postgres block without url, a bad pool), or the database used
//     before the db block that configures it has run.
//   - "TypeError": a value of the wrong type for its field, bad
//     arguments or options.
//
// # Go API
//
// Open opens a database from a Config; Use gives a VM instance an open
// database instead of its db blocks; Ready opens an instance's database
// and checks its models' tables (a server runtime calls it at startup so
// that an unreachable database is a startup error); Close closes what an
// instance opened.
package store
