package store

import (
	"context"
	"math"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"tova/vm"
)

// Raw SQL parameters for PostgreSQL. pgx encodes a parameter as the type
// the server infers for its placeholder, and a bare int64, float64, bool
// or time.Time has no encoding as text, which the server infers for an
// untyped placeholder (SELECT $1, COALESCE($1, 'none'), 'n=' || $1).
// Raw parameters are therefore sent as the types below: each has its
// own encodings (through pgx's Valuer interfaces; their underlying types
// still reach pgx's other conversions) and, through textCodec, which
// replaces the text types' codec on every connection, its text. A
// parameter then works in any position, as on SQLite.

// texter is a raw parameter's text, for a text position.
type texter interface{ text() string }

type pgInt int64

func (n pgInt) text() string { return strconv.FormatInt(int64(n), 10) }

func (n pgInt) Int64Value() (pgtype.Int8, error) {
	return pgtype.Int8{Int64: int64(n), Valid: true}, nil
}

// 0 and 1 are false and true where PostgreSQL expects a Bool, as SQLite
// (where a Bool is stored as 0 or 1) takes them.
func (n pgInt) BoolValue() (pgtype.Bool, error) {
	if n != 0 && n != 1 {
		return pgtype.Bool{}, vm.TypeErrorf("a query parameter is the Int %d where PostgreSQL expects a Bool", int64(n))
	}
	return pgtype.Bool{Bool: n == 1, Valid: true}, nil
}

// An Int where a timestamp or a date is expected is refused, saying
// why: SQLite, where dates are ISO text, would compare it as a number
// and match nothing, so epoch milliseconds are no date parameter on
// either engine.
func (n pgInt) TimestamptzValue() (pgtype.Timestamptz, error) {
	return pgtype.Timestamptz{}, n.notDate("timestamp")
}

func (n pgInt) TimestampValue() (pgtype.Timestamp, error) {
	return pgtype.Timestamp{}, n.notDate("timestamp")
}

func (n pgInt) DateValue() (pgtype.Date, error) { return pgtype.Date{}, n.notDate("date") }

func (n pgInt) notDate(what string) error {
	return vm.TypeErrorf("a query parameter is the Int %d where PostgreSQL expects a %s: a date parameter is a Date or an ISO 8601 string: Date.new(%d)", int64(n), what, int64(n))
}

type pgFloat float64

func (f pgFloat) text() string { return vm.FormatFloat(float64(f)) }

func (f pgFloat) Float64Value() (pgtype.Float8, error) {
	return pgtype.Float8{Float64: float64(f), Valid: true}, nil
}

// A Float with a fraction is refused where PostgreSQL expects an
// integer (pgx would cut 2.5 to 2, which SQLite compares as 2.5).
func (f pgFloat) Int64Value() (pgtype.Int8, error) {
	if float64(f) != math.Trunc(float64(f)) || math.Abs(float64(f)) >= 1<<63 {
		return pgtype.Int8{}, vm.TypeErrorf("a query parameter is the Float %s where PostgreSQL expects an integer", vm.FormatFloat(float64(f)))
	}
	return pgtype.Int8{Int64: int64(f), Valid: true}, nil
}

type pgBool bool

func (b pgBool) text() string { return strconv.FormatBool(bool(b)) }

func (b pgBool) BoolValue() (pgtype.Bool, error) { return pgtype.Bool{Bool: bool(b), Valid: true}, nil }

// pgTime is a Date: a time for timestamp and date positions, its ISO
// text (as rows show it) for text and JSON ones.
type pgTime struct{ t time.Time }

func (p pgTime) text() string { return formatTime(p.t) }

func (p pgTime) TimestamptzValue() (pgtype.Timestamptz, error) {
	return pgtype.Timestamptz{Time: p.t, Valid: true}, nil
}

func (p pgTime) TimestampValue() (pgtype.Timestamp, error) {
	return pgtype.Timestamp{Time: p.t, Valid: true}, nil
}

func (p pgTime) DateValue() (pgtype.Date, error) { return pgtype.Date{Time: p.t, Valid: true}, nil }

func (p pgTime) MarshalJSON() ([]byte, error) { return []byte(`"` + formatTime(p.t) + `"`), nil }

// textCodec is pgx's codec of the text types, which also encodes a
// texter as its text.
type textCodec struct{ pgtype.TextCodec }

func (c textCodec) PlanEncode(m *pgtype.Map, oid uint32, format int16, value any) pgtype.EncodePlan {
	if _, ok := value.(texter); ok {
		return textPlan{}
	}
	return c.TextCodec.PlanEncode(m, oid, format, value)
}

type textPlan struct{}

func (textPlan) Encode(value any, buf []byte) ([]byte, error) {
	return append(buf, value.(texter).text()...), nil
}

// registerTextCodec gives a new connection textCodec for its text types.
func registerTextCodec(_ context.Context, c *pgx.Conn) error {
	m := c.TypeMap()
	for _, t := range []struct {
		name string
		oid  uint32
	}{{"text", pgtype.TextOID}, {"varchar", pgtype.VarcharOID}, {"bpchar", pgtype.BPCharOID}, {"name", pgtype.NameOID}, {"unknown", pgtype.UnknownOID}} {
		m.RegisterType(&pgtype.Type{Name: t.name, OID: t.oid, Codec: textCodec{}})
	}
	return nil
}
