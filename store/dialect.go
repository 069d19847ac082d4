package store

import (
	"bytes"
	"database/sql/driver"
	"encoding/json"
	"strconv"
	"strings"

	sqlite "github.com/glebarez/go-sqlite"
)

// The dialect layer: the few places where SQLite and PostgreSQL need
// different SQL. Everything else (placeholders $N, RETURNING, quoting
// with "", NULLS FIRST/LAST, savepoints) is written once for both.

// fieldKind is how a model field is stored and read back.
type fieldKind uint8

const (
	kindJSON   fieldKind = iota // lists, objects, records: JSON text
	kindInt                     // Int
	kindFloat                   // Float
	kindBool                    // Bool
	kindString                  // String
	kindTime                    // Date and the timestamps: ISO 8601 strings
)

var kindNames = [...]string{kindJSON: "JSON", kindInt: "Int", kindFloat: "Float", kindBool: "Bool", kindString: "String", kindTime: "Date"}

func (k fieldKind) String() string { return kindNames[k] }

// kindOf maps a declared Tova type to its storage kind: Option<T>, T?
// (?<T> as the compiler writes it in a type's fields) and T alike.
func kindOf(typ string) fieldKind {
	t := strings.TrimSpace(typ)
	t = strings.TrimSuffix(t, "?")
	for _, opt := range []string{"Option<", "?<"} {
		if strings.HasPrefix(t, opt) && strings.HasSuffix(t, ">") {
			t = strings.TrimSpace(t[len(opt) : len(t)-1])
		}
	}
	return scalarKind(t)
}

// kindBefore is the kind older tovas gave a field whose type is written
// as written: they followed no alias (`type Id = Int` made an Id field
// JSON text) and took `Int?` (which the compiler writes ?<Int>) for
// JSON too.
func kindBefore(written string) fieldKind {
	t := strings.TrimSpace(written)
	t = strings.TrimSuffix(t, "?")
	if strings.HasPrefix(t, "Option<") && strings.HasSuffix(t, ">") {
		t = strings.TrimSpace(t[len("Option<") : len(t)-1])
	}
	return scalarKind(t)
}

func scalarKind(name string) fieldKind {
	switch name {
	case "Int":
		return kindInt
	case "Float", "Number":
		return kindFloat
	case "Bool":
		return kindBool
	case "String":
		return kindString
	case "Date", "DateTime", "Timestamp":
		return kindTime
	}
	return kindJSON
}

// columnClass groups the column types an engine reports, to tell a
// compatible existing column from a changed one.
type columnClass uint8

const (
	classOther columnClass = iota
	classInt
	classFloat
	classNumeric // NUMERIC/DECIMAL: holds Int and Float
	classBool
	classText
	classTime
	classJSON
	classAny // SQLite columns declared without a type
)

type dialect struct {
	name string // SQLite or Postgres
}

var (
	sqliteDialect   = &dialect{name: SQLite}
	postgresDialect = &dialect{name: Postgres}
)

func (d *dialect) pg() bool { return d.name == Postgres }

// jsonEqual is the condition that the JSON text of column col equals
// the JSON text of parameter param as values, whatever the order of
// their objects' keys (a filter's { a: 1, b: 2 } matches a row stored
// as { b: 2, a: 1 }, as == finds them equal): PostgreSQL compares them
// as jsonb, SQLite through tova_json_canon.
func (d *dialect) jsonEqual(col, param string) string {
	if d.pg() {
		// jsonb refuses the escape \u0000, which JSON text holding a
		// NUL has: such text is compared as text. (::text: the column
		// of an existing table may be jsonb or json itself.)
		return "(CASE WHEN strpos(" + col + "::text, '\\u0000') > 0 OR strpos(" + param + ", '\\u0000') > 0 THEN " + col + "::text = " + param +
			" ELSE " + col + "::jsonb = " + param + "::jsonb END)"
	}
	return "tova_json_canon(" + col + ") = tova_json_canon(" + param + ")"
}

func init() {
	sqlite.MustRegisterDeterministicScalarFunction("tova_json_canon", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		switch v := args[0].(type) {
		case string:
			return canonJSON([]byte(v), v), nil
		case []byte:
			return canonJSON(v, string(v)), nil
		}
		return args[0], nil
	})
}

// canonJSON is JSON text b with its objects' keys sorted, or text as it
// is if b is no JSON.
func canonJSON(b []byte, text string) string {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return text
	}
	out, err := json.Marshal(v) // (it writes a map's keys sorted)
	if err != nil {
		return text
	}
	return string(out)
}

// jsonList is, on SQLite, the long list of filter values ps as one JSON
// array for json_each, when every value is a number, string or Bool.
func (d *dialect) jsonList(ps []any) (string, bool) {
	if d.pg() || len(ps) <= 64 {
		return "", false
	}
	for _, p := range ps {
		switch p.(type) {
		case int64, float64, string, bool:
		default:
			return "", false
		}
	}
	b, err := json.Marshal(ps)
	return string(b), err == nil
}

// columnType is the type written in CREATE TABLE and ADD COLUMN. A
// String's column is VARCHAR, JSON's TEXT: older tovas stored some
// String fields as JSON text in a TEXT column (see holdsJSON), and a
// column this tova makes is never taken for one of those.
func (d *dialect) columnType(k fieldKind) string {
	if k == kindString {
		return "VARCHAR"
	}
	if d.pg() {
		switch k {
		case kindInt:
			return "BIGINT"
		case kindFloat:
			return "DOUBLE PRECISION"
		case kindBool:
			return "BOOLEAN"
		case kindTime:
			return "TIMESTAMPTZ"
		}
		return "TEXT"
	}
	switch k {
	case kindInt:
		return "INTEGER"
	case kindFloat:
		return "REAL"
	case kindBool:
		return "BOOLEAN"
	case kindTime:
		return "TIMESTAMP"
	}
	return "TEXT"
}

// idColumn is the primary key definition. Both never reuse an id.
func (d *dialect) idColumn() string {
	if d.pg() {
		return `"id" BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY`
	}
	return `"id" INTEGER PRIMARY KEY AUTOINCREMENT`
}

// columnsQuery lists the columns (name, type) of table $1 in the
// current schema.
func (d *dialect) columnsQuery() string {
	if d.pg() {
		return `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`
	}
	return `SELECT name, type FROM pragma_table_info($1)`
}

// classOf classifies a column type as the engine reports it.
func (d *dialect) classOf(typ string) columnClass {
	t := strings.ToUpper(strings.TrimSpace(typ))
	if d.pg() {
		switch t {
		case "BIGINT", "INTEGER", "SMALLINT":
			return classInt
		case "DOUBLE PRECISION", "REAL":
			return classFloat
		case "NUMERIC":
			return classNumeric
		case "BOOLEAN":
			return classBool
		case "TEXT", "CHARACTER VARYING", "CHARACTER":
			return classText
		case "TIMESTAMP WITH TIME ZONE", "TIMESTAMP WITHOUT TIME ZONE", "DATE":
			return classTime
		case "JSON", "JSONB":
			return classJSON
		}
		return classOther
	}
	// SQLite's own affinity rules, with BOOLEAN and the date types
	// (which the driver reads as times) told apart.
	switch {
	case t == "":
		return classAny
	case strings.Contains(t, "BOOL"):
		return classBool
	case strings.Contains(t, "INT"):
		return classInt
	case strings.Contains(t, "CHAR"), strings.Contains(t, "CLOB"), strings.Contains(t, "TEXT"):
		return classText
	case strings.Contains(t, "REAL"), strings.Contains(t, "FLOA"), strings.Contains(t, "DOUB"):
		return classFloat
	case t == "DATE", t == "DATETIME", t == "TIMESTAMP":
		return classTime
	case t == "JSON":
		return classJSON
	case strings.Contains(t, "BLOB"):
		return classAny
	}
	return classNumeric
}

// compatible reports whether an existing column of class c can hold a
// field of kind k without conversion.
func (d *dialect) compatible(k fieldKind, c columnClass) bool {
	switch k {
	case kindInt:
		return c == classInt || c == classNumeric || c == classAny
	case kindFloat:
		return c == classFloat || c == classNumeric || c == classAny
	case kindBool:
		// SQLite has no Bool type: a table the reference made (or any
		// SQLite tool) holds them as INTEGER 0/1, read as false/true.
		return c == classBool || !d.pg() && c == classInt
	case kindString:
		return c == classText || c == classAny
	case kindTime:
		// SQLite stores times as ISO text either way.
		return c == classTime || !d.pg() && c == classText
	}
	return c == classText || c == classJSON || c == classAny
}

// orderTerm is one ORDER BY term with the same NULL placement and
// (for text) the same bytewise collation on both engines: nil sorts
// first ascending, last descending, as SQLite does by default.
func (d *dialect) orderTerm(col string, k fieldKind, desc, number bool) string {
	s := d.col(col)
	switch {
	case number && k == kindJSON:
		// a Duration's or a Size's JSON number: by its value, not its
		// text ("10000" sorted before "9")
		if d.pg() {
			s = "(" + s + "::text)::numeric"
		} else {
			s = "CAST(" + s + " AS NUMERIC)"
		}
	case k == kindString && d.pg():
		s += ` COLLATE "C"`
	case k == kindTime && !d.pg():
		// by time, whether a row holds tova's ISO text or the text
		// SQLite's datetime() writes ("2026-12-04 23:00:00", which
		// sorted before "2026-12-04T01:00:00.000Z")
		s = "replace(" + s + ", ' ', 'T')"
	case k == kindJSON && d.pg():
		// by the bytes of its JSON text, as SQLite orders it (the
		// database's collation ordered it otherwise; ::text, as the
		// column of an existing table may be json or jsonb)
		s = "(" + s + `::text) COLLATE "C"`
	}
	if desc {
		return s + " DESC NULLS LAST"
	}
	return s + " ASC NULLS FIRST"
}

// limitClause renders LIMIT/OFFSET (validated integers, never text from
// a program); limit < 0 means none.
func (d *dialect) limitClause(limit, offset int64) string {
	var b strings.Builder
	if limit >= 0 {
		b.WriteString(" LIMIT ")
		b.WriteString(strconv.FormatInt(limit, 10))
	} else if offset > 0 && !d.pg() {
		b.WriteString(" LIMIT -1")
	}
	if offset > 0 {
		b.WriteString(" OFFSET ")
		b.WriteString(strconv.FormatInt(offset, 10))
	}
	return b.String()
}

// col quotes a column name where it is read in an expression (a
// select list, a condition, an order): as an identifier alone, which
// SQLite's double quotes are not: a column no longer in the table
// ("sku", dropped by hand) was read as the text 'sku' in every row, and
// delete_where({ sku: "sku" }) deleted them all.
func (d *dialect) col(name string) string {
	if d.pg() {
		return quoteIdent(name)
	}
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// quoteIdent quotes a table or column name for both engines.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
