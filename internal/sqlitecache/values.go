package sqlitecache

import (
	"database/sql/driver"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite3 "modernc.org/sqlite/lib"
)

// Arguments are bound and columns read as the driver does (its conn.bind
// and rows.Next): the same matching of arguments to parameters, the same
// SQLite types for each Go type, the same Go values for each column.

// bind binds args to s's parameters; allocs is the C memory holding
// texts and blobs, to free once s is reset (also on error).
func (c *conn) bind(s *stmt, args []driver.NamedValue) (allocs []uintptr, err error) {
	for i := 1; i <= len(s.params); i++ {
		name := s.params[i-1]
		var found bool
		var v driver.NamedValue
		for _, v = range args {
			if name != "" {
				// ?NNN and $NNN match argument NNN; other names, an
				// argument of that name.
				if (name[0] == '?' || name[0] == '$') && name[1:] == strconv.Itoa(v.Ordinal) {
					found = true
					break
				}
				if name[1:] == v.Name {
					found = true
					break
				}
			} else if v.Ordinal == i {
				found = true
				break
			}
		}
		if !found {
			if name != "" {
				return allocs, fmt.Errorf("missing named argument %q", name[1:])
			}
			return allocs, fmt.Errorf("missing argument with index %d", i)
		}
		p, rc, err := c.bindValue(s.pstmt, int32(i), v.Value)
		if p != 0 {
			allocs = append(allocs, p)
		}
		if err != nil {
			return allocs, err
		}
		if rc != sqlite3.SQLITE_OK {
			return allocs, c.errstr(rc)
		}
	}
	return allocs, nil
}

// timeFormat is how the driver writes a time (the format of its
// _time_format=sqlite, and its default).
const timeFormat = "2006-01-02 15:04:05.999999999-07:00"

// bindValue binds x to parameter i; p is C memory it allocated for it.
func (c *conn) bindValue(pstmt uintptr, i int32, x driver.Value) (p uintptr, rc int32, err error) {
	switch x := x.(type) {
	case int64:
		return 0, sqlite3.Xsqlite3_bind_int64(c.tls, pstmt, i, x), nil
	case float64:
		return 0, sqlite3.Xsqlite3_bind_double(c.tls, pstmt, i, x), nil
	case bool:
		return 0, sqlite3.Xsqlite3_bind_int(c.tls, pstmt, i, libc.Bool32(x)), nil
	case []byte:
		if x == nil {
			return 0, sqlite3.Xsqlite3_bind_null(c.tls, pstmt, i), nil
		}
		if len(x) == 0 {
			return 0, sqlite3.Xsqlite3_bind_zeroblob(c.tls, pstmt, i, 0), nil
		}
		if p = libc.Xmalloc(c.tls, types.Size_t(len(x))); p == 0 {
			return 0, 0, fmt.Errorf("sqlite: cannot allocate %d bytes of memory", len(x))
		}
		copy(unsafe.Slice((*byte)(cmem(p)), len(x)), x)
		return p, sqlite3.Xsqlite3_bind_blob(c.tls, pstmt, i, p, int32(len(x)), 0), nil
	case string:
		return c.bindText(pstmt, i, x)
	case time.Time:
		return c.bindText(pstmt, i, x.Format(timeFormat))
	case nil:
		return 0, sqlite3.Xsqlite3_bind_null(c.tls, pstmt, i), nil
	}
	return 0, 0, fmt.Errorf("sqlite: invalid driver.Value type %T", x)
}

func (c *conn) bindText(pstmt uintptr, i int32, x string) (uintptr, int32, error) {
	p, err := libc.CString(x)
	if err != nil {
		return 0, 0, err
	}
	return p, sqlite3.Xsqlite3_bind_text(c.tls, pstmt, i, p, int32(len(x)), 0), nil
}

// rows reads a kept statement; closed, it resets it for its next use.
//
// Its first step is taken when its columns are first asked for (which
// database/sql does as the first row is read): a statement kept from
// before a schema change is compiled again at that step, and only then
// has the columns of the table as it is now.
type rows struct {
	c       *conn
	s       *stmt
	allocs  []uintptr
	columns []string
	started bool  // the first step was taken
	pending bool  // and its row is still to be read
	rc      int32 // its result
	err     error // its error
	closed  bool
	stop    func() // ends the interruption of a step when the query's context ends
}

func (r *rows) start() {
	if r.started {
		return
	}
	r.started, r.pending = true, true
	c, pstmt := r.c, r.s.pstmt
	r.rc = sqlite3.Xsqlite3_step(c.tls, pstmt)
	if r.rc != sqlite3.SQLITE_ROW && r.rc != sqlite3.SQLITE_DONE {
		r.err = c.errstr(r.rc)
	}
	r.columns = make([]string, sqlite3.Xsqlite3_column_count(c.tls, pstmt))
	for i := range r.columns {
		r.columns[i] = libc.GoString(sqlite3.Xsqlite3_column_name(c.tls, pstmt, int32(i)))
	}
}

func (r *rows) Columns() []string {
	r.start()
	return r.columns
}

func (r *rows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.stop()
	allocs := r.allocs
	r.allocs = nil
	return r.c.release(r.s, allocs)
}

func (r *rows) Next(dest []driver.Value) error {
	r.start()
	c, pstmt := r.c, r.s.pstmt
	rc, err := r.rc, r.err
	if r.pending {
		r.pending = false
	} else if rc = sqlite3.Xsqlite3_step(c.tls, pstmt); rc != sqlite3.SQLITE_ROW && rc != sqlite3.SQLITE_DONE {
		err = c.errstr(rc)
	}
	switch {
	case err != nil:
		return err
	case rc == sqlite3.SQLITE_DONE:
		return io.EOF
	}
	if len(dest) != len(r.columns) {
		return fmt.Errorf("sqlite: Next: have %v destination values, expected %v", len(dest), len(r.columns))
	}
	for i := range dest {
		col := int32(i)
		switch ct := sqlite3.Xsqlite3_column_type(c.tls, pstmt, col); ct {
		case sqlite3.SQLITE_INTEGER:
			dest[i] = sqlite3.Xsqlite3_column_int64(c.tls, pstmt, col)
		case sqlite3.SQLITE_FLOAT:
			dest[i] = sqlite3.Xsqlite3_column_double(c.tls, pstmt, col)
		case sqlite3.SQLITE_TEXT:
			v := string(r.bytes(col, sqlite3.Xsqlite3_column_text(c.tls, pstmt, col)))
			switch r.ColumnTypeDatabaseTypeName(i) {
			case "DATE", "DATETIME", "TIMESTAMP":
				dest[i] = parseTime(v)
			default:
				dest[i] = v
			}
		case sqlite3.SQLITE_BLOB:
			p := sqlite3.Xsqlite3_column_blob(c.tls, pstmt, col)
			if b := r.bytes(col, p); b != nil {
				dest[i] = append([]byte(nil), b...)
			} else {
				dest[i] = []byte(nil)
			}
		case sqlite3.SQLITE_NULL:
			dest[i] = nil
		default:
			return fmt.Errorf("internal error: rc %d", rc)
		}
	}
	return nil
}

// bytes is the column's value at p (nil when empty), valid until the
// next step.
func (r *rows) bytes(col int32, p uintptr) []byte {
	n := sqlite3.Xsqlite3_column_bytes(r.c.tls, r.s.pstmt, col)
	if p == 0 || n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(cmem(p)), n)
}

// DriverTimeLayouts are the layouts the driver reads a DATE, DATETIME
// or TIMESTAMP column's text in (after a trailing Z is cut), in its
// order.
var DriverTimeLayouts = []string{
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02T15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04",
	"2006-01-02T15:04",
	"2006-01-02",
}

// parseTime is s as a time.Time, or s itself when it is none, as the
// driver reads a DATE, DATETIME or TIMESTAMP column.
func parseTime(s string) any {
	// First as time.Time.String writes it (without its monotonic reading).
	t := s
	if x := strings.Index(s, "m="); x > 0 {
		t = s[:x]
	}
	if v, err := time.Parse("2006-01-02 15:04:05.999999999 -0700 MST", strings.TrimSpace(t)); err == nil {
		return v
	}
	ts := strings.TrimSuffix(s, "Z")
	for _, f := range DriverTimeLayouts {
		if v, err := time.ParseInLocation(f, ts, time.UTC); err == nil {
			return v
		}
	}
	return s
}

func (r *rows) declType(i int) string {
	return libc.GoString(sqlite3.Xsqlite3_column_decltype(r.c.tls, r.s.pstmt, int32(i)))
}

func (r *rows) ColumnTypeDatabaseTypeName(i int) string {
	return strings.ToUpper(r.declType(i))
}

func (r *rows) ColumnTypeLength(i int) (length int64, ok bool) {
	switch sqlite3.Xsqlite3_column_type(r.c.tls, r.s.pstmt, int32(i)) {
	case sqlite3.SQLITE_TEXT, sqlite3.SQLITE_BLOB:
		return math.MaxInt64, true
	}
	return 0, false
}

func (r *rows) ColumnTypeNullable(int) (nullable, ok bool) { return true, true }

func (r *rows) ColumnTypePrecisionScale(int) (precision, scale int64, ok bool) {
	return 0, 0, false
}

func (r *rows) ColumnTypeScanType(i int) reflect.Type {
	declType := strings.ToLower(r.declType(i))
	switch sqlite3.Xsqlite3_column_type(r.c.tls, r.s.pstmt, int32(i)) {
	case sqlite3.SQLITE_INTEGER:
		if declType == "boolean" {
			return reflect.TypeOf(false)
		}
		return reflect.TypeOf(int64(0))
	case sqlite3.SQLITE_FLOAT:
		return reflect.TypeOf(float64(0))
	case sqlite3.SQLITE_TEXT:
		switch declType {
		case "date", "datetime", "time", "timestamp":
			return reflect.TypeOf(time.Time{})
		}
		return reflect.TypeOf("")
	case sqlite3.SQLITE_BLOB:
		return reflect.SliceOf(reflect.TypeOf([]byte{}))
	case sqlite3.SQLITE_NULL:
		return reflect.TypeOf(nil)
	}
	return reflect.TypeOf("")
}
