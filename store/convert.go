package store

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"tova/internal/sqlitecache"
	"tova/vm"
	"tova/vm/stdlib"
)

// Values cross between Tova and SQL only here: Tova values become
// statement parameters (never SQL text), and driver values become typed
// Tova values, the same on both engines.

// isoLayout is how times read and write: JavaScript's toISOString, UTC
// with milliseconds, which sorts as text in SQLite.
const isoLayout = "2006-01-02T15:04:05.000Z"

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// formatTime renders a time as the ISO 8601 string rows carry.
func formatTime(t time.Time) string { return t.UTC().Format(isoLayout) }

// timeParam is a time as a parameter: ISO text for SQLite (where it is
// stored as text), a time for PostgreSQL's timestamptz. Both keep
// milliseconds, so a time reads back identically on both.
func (d *dialect) timeParam(t time.Time) any {
	t = t.UTC().Truncate(time.Millisecond)
	if d.pg() {
		return t
	}
	return t.Format(isoLayout)
}

// parseTime reads an ISO 8601 date or date-time string: what a Date
// parameter takes (stdlib.ParseDate: minutes without seconds, offsets
// without a colon, a lower-case t and z), or the text SQLite's own
// functions write ("2026-12-04 23:00:00").
func parseTime(s string) (time.Time, bool) {
	if t, ok := stdlib.ParseDate(s); ok {
		return t, true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// fieldParam converts a value for a column of kind k: ok is false when
// v is not of that kind; err says why a value of a JSON field has no
// JSON text (nested too deeply).
func (d *dialect) fieldParam(t *vm.Thread, k fieldKind, v vm.Value) (p any, ok bool, err error) {
	if v.IsNil() {
		return nil, true, nil
	}
	switch k {
	case kindInt:
		switch v.Kind() {
		case vm.KInt:
			return v.AsInt(), true, nil
		case vm.KFloat:
			f := v.AsFloat()
			if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
				return int64(f), true, nil
			}
		}
	case kindFloat:
		if v.IsNumber() {
			return v.Number(), true, nil
		}
	case kindBool:
		if v.Kind() == vm.KBool {
			return v.AsBool(), true, nil
		}
	case kindString:
		if v.Kind() == vm.KString {
			return d.textParam(v.AsString()), true, nil
		}
	case kindTime:
		switch v.Kind() {
		case vm.KString:
			if tm, ok := parseTime(v.AsString()); ok {
				return d.timeParam(tm), true, nil
			}
		case vm.KInt:
			return d.timeParam(time.UnixMilli(v.AsInt())), true, nil
		case vm.KHost:
			if dt, ok := v.AsHost().(*stdlib.Date); ok {
				return d.timeParam(dt.T), true, nil
			}
		}
	case kindJSON:
		b, err := stdlib.AppendJSON(t, nil, v)
		if err != nil {
			return nil, true, err
		}
		return string(b), true, nil
	}
	return nil, false, nil
}

// textParam is a String parameter. PostgreSQL text holds only UTF-8: a
// byte that is not (kept in a Tova string as it came, from a request's
// query, path or headers) goes in as U+FFFD rather than failing the
// statement. SQLite keeps the bytes.
func (d *dialect) textParam(s string) string {
	if d.pg() && !utf8.ValidString(s) {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

// rawParam converts argument i (from 1) of db.query/get/run. Refused on
// both engines: a String holding a NUL character, which PostgreSQL text
// cannot store, NaN, which SQLite stores as NULL, NaN or Infinity in a
// list or object, whose JSON would hold null, and a Date outside the
// years 1 to 9999 (see dateRange). PostgreSQL gets numbers, Bools and
// Dates in types it can send in any position (see pgInt).
func (d *dialect) rawParam(t *vm.Thread, method string, i int, v vm.Value) (any, error) {
	switch vm.VariantOf(v) {
	case vm.SomeType:
		// Some(x) is x, None NULL, as a model's Option field stores them
		// (they were their JSON text, {"value":x})
		return d.rawParam(t, method, i, v.AsObject().Values()[0])
	case vm.NoneType:
		return nil, nil
	}
	switch v.Kind() {
	case vm.KNil:
		return nil, nil
	case vm.KBool:
		if d.pg() {
			return pgBool(v.AsBool()), nil
		}
		return v.AsBool(), nil
	case vm.KInt:
		return d.rawInt(v.AsInt()), nil
	case vm.KFloat:
		if math.IsNaN(v.AsFloat()) {
			return nil, vm.Errorf("ValueError", "db.%s: parameter $%d is NaN, which SQLite cannot store (it would be NULL there)", method, i)
		}
		if d.pg() {
			return pgFloat(v.AsFloat()), nil
		}
		return v.AsFloat(), nil
	case vm.KString:
		if strings.IndexByte(v.AsString(), 0) >= 0 {
			return nil, vm.Errorf("ValueError", "db.%s: parameter $%d holds a NUL character, which PostgreSQL text cannot store", method, i)
		}
		return d.textParam(v.AsString()), nil
	case vm.KDuration:
		return d.rawInt(v.AsDuration() / int64(time.Millisecond)), nil
	case vm.KSize:
		return d.rawInt(v.AsSize()), nil
	case vm.KArray, vm.KObject:
		if bad := nonFinite(v, nil); bad != nil {
			return nil, vm.Errorf("ValueError", "db.%s: parameter $%d%s %s", method, i, bad.path, bad.msg)
		}
		b, err := stdlib.AppendJSON(t, nil, v)
		if err != nil {
			return nil, err
		}
		return string(b), nil
	case vm.KHost:
		if dt, ok := v.AsHost().(*stdlib.Date); ok {
			if err := dateRange(dt.T); err != "" {
				return nil, vm.Errorf("ValueError", "db.%s: parameter $%d %s", method, i, err)
			}
			if d.pg() {
				return pgTime{dt.T.UTC().Truncate(time.Millisecond)}, nil
			}
			return d.timeParam(dt.T), nil
		}
	}
	return nil, vm.TypeErrorf("a %s cannot be a query parameter", vm.TypeName(v))
}

func (d *dialect) rawInt(n int64) any {
	if d.pg() {
		return pgInt(n)
	}
	return n
}

// fieldValue converts what the driver read from a column of kind k.
func fieldValue(k fieldKind, x any) vm.Value {
	switch v := x.(type) {
	case nil:
		return vm.Nil
	case int64:
		switch k {
		case kindBool:
			return vm.Bool(v != 0)
		case kindFloat:
			return vm.Float(float64(v))
		case kindTime:
			return vm.Str(formatTime(time.UnixMilli(v)))
		}
		return vm.Int(v)
	case float64:
		if k == kindInt && v == math.Trunc(v) && math.Abs(v) < 1<<63 {
			return vm.Int(int64(v))
		}
		return vm.Float(v)
	case bool:
		return vm.Bool(v)
	case time.Time:
		return vm.Str(formatTime(v))
	case string:
		return textValue(k, v)
	case []byte:
		return textValue(k, string(v))
	}
	return anyValue(x, "")
}

// legacyValue reads a column an older tova made to hold field c as JSON
// text (see holdsJSON): the JSON value, typed by the field, except that
// for a String or a Date only a JSON string is taken for JSON, as a
// tova since may have written the plain text there ("123" is then the
// String "123").
func legacyValue(c column, x any) vm.Value {
	var s string
	switch x := x.(type) {
	case string:
		s = x
	case []byte:
		s = string(x)
	default:
		return fieldValue(c.kind, x)
	}
	if v, err := stdlib.ParseJSONString(s); err == nil && (v.Kind() == vm.KString || c.kind != kindString && c.kind != kindTime) {
		return c.ftype.read(v)
	}
	return fieldValue(c.kind, s)
}

func textValue(k fieldKind, s string) vm.Value {
	switch k {
	case kindInt, kindFloat:
		// A NUMERIC (DECIMAL) column, which PostgreSQL hands over as
		// text: the number (it read as a String, and + joined texts).
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return fieldValue(k, n)
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return fieldValue(k, f)
		}
	case kindJSON:
		if v, err := stdlib.ParseJSONString(s); err == nil {
			return v
		}
	case kindTime:
		if t, ok := readTime(s); ok {
			return vm.Str(t)
		}
	}
	return vm.Str(s)
}

// readTime reads a Date column's stored text as formatTime writes it:
// the ISO text tova stores, as it is; else any text parseTime takes, or
// the SQLite driver would have read as a time when it read the column
// itself (see Model.selects): Go's time.String form, or one of
// sqlitecache.DriverTimeLayouts.
func readTime(s string) (string, bool) {
	if len(s) == len(isoLayout) {
		if _, err := time.Parse(isoLayout, s); err == nil {
			return s, true
		}
	}
	if t, ok := parseTime(s); ok {
		return formatTime(t), true
	}
	g := s
	if i := strings.Index(g, "m="); i > 0 {
		g = g[:i]
	}
	if t, err := time.Parse("2006-01-02 15:04:05.999999999 -0700 MST", strings.TrimSpace(g)); err == nil {
		return formatTime(t), true
	}
	s = strings.TrimSuffix(s, "Z")
	for _, layout := range sqlitecache.DriverTimeLayouts {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return formatTime(t), true
		}
	}
	return "", false
}

// anyValue converts a value of a raw query's column; dbType is the
// column's declared type as the driver reports it (upper case). A
// column declared BOOLEAN reads as Bool on SQLite too; NUMERIC, which
// PostgreSQL sends as text, reads as a number.
func anyValue(x any, dbType string) vm.Value {
	switch v := x.(type) {
	case nil:
		return vm.Nil
	case int64:
		if dbType == "BOOLEAN" || dbType == "BOOL" {
			return vm.Bool(v != 0)
		}
		return vm.Int(v)
	case float64:
		return vm.Float(v)
	case float32:
		return vm.Float(float64(v))
	case bool:
		return vm.Bool(v)
	case time.Time:
		return vm.Str(formatTime(v))
	case string:
		if dbType == "NUMERIC" || dbType == "DECIMAL" {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				return vm.Int(n)
			}
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				return vm.Float(f)
			}
		}
		return vm.Str(v)
	case []byte:
		if dbType == "JSON" || dbType == "JSONB" {
			if j, err := stdlib.ParseJSON(v); err == nil {
				return j
			}
		}
		return vm.Str(string(v))
	case [16]byte:
		return vm.Str(formatUUID(v))
	}
	return vm.Str(strings.TrimSpace(stringOf(x)))
}

func formatUUID(b [16]byte) string {
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[c>>4], hex[c&15])
	}
	return string(out)
}

func stringOf(x any) string {
	if s, ok := x.(interface{ String() string }); ok {
		return s.String()
	}
	return ""
}
