package vm

import (
	"testing"
	"time"
)

// An env Float is a decimal number: Inf, NaN and hex floats, which
// strconv reads, were taken, though handler parameters refuse them.
func TestEnvFloatIsDecimal(t *testing.T) {
	for _, raw := range []string{"Inf", "-inf", "NaN", "+Infinity", "0x1p3"} {
		if v, err := convertEnv(raw, "Float"); err == nil {
			t.Errorf("%q converted to %s", raw, Repr(v))
		}
	}
	for raw, want := range map[string]float64{"1.5": 1.5, " -2 ": -2, "1e3": 1000} {
		if v, err := convertEnv(raw, "Float"); err != nil || v.AsFloat() != want {
			t.Errorf("%q: %v %v, want %v", raw, Repr(v), err, want)
		}
	}
}

// Int and Float take a number's digits separated by underscores, as
// the language's literals do: Float took "1_000" (strconv reads Go's
// syntax) and Int refused it. An underscore not between two digits is
// no number's.
func TestEnvNumbersTakeDigitSeparators(t *testing.T) {
	for _, typ := range []string{"Int", "Float"} {
		for raw, want := range map[string]float64{"1_000": 1000, " 1_000_000 ": 1e6, "-2_5": -25} {
			v, err := convertEnv(raw, typ)
			if err != nil || (typ == "Int" && float64(v.AsInt()) != want) || (typ == "Float" && v.AsFloat() != want) {
				t.Errorf("%s %q: %v %v, want %v", typ, raw, Repr(v), err, want)
			}
		}
		for _, raw := range []string{"_1", "1_", "1__0", "1_.5", "0x_1", "1 000"} {
			if v, err := convertEnv(raw, typ); err == nil {
				t.Errorf("%s %q converted to %s", typ, raw, Repr(v))
			}
		}
	}
	if v, err := convertEnv("1_000.5", "Float"); err != nil || v.AsFloat() != 1000.5 {
		t.Errorf(`Float "1_000.5": %v %v`, Repr(v), err)
	}
}

// A negative Duration ("-30s") is refused: a setting's duration is a
// length of time, and "-30s" passed the start-up check and reached the
// program as a timeout that had always passed.
func TestEnvDurationNotNegative(t *testing.T) {
	if v, err := convertEnv("-30s", "Duration"); err != errNegativeDuration {
		t.Errorf(`"-30s": %v %v, want errNegativeDuration`, Repr(v), err)
	}
	for raw, want := range map[string]int64{"0s": 0, "1m30s": 90e3} {
		if v, err := convertEnv(raw, "Duration"); err != nil || v.AsDuration()/1e6 != want {
			t.Errorf("%q: %v %v, want %d ms", raw, Repr(v), err, want)
		}
	}
}

// A Duration's text takes whole weeks and days first, as a Duration
// prints (2d, 1d12h): what a program printed was refused as input.
func TestDurationTextDays(t *testing.T) {
	day := int64(24 * time.Hour)
	for raw, want := range map[string]int64{
		"2d": 2 * day, "1d12h": day + 12*int64(time.Hour), "1w3d12h30m": 10*day + 12*int64(time.Hour) + 30*int64(time.Minute),
		"48h": 2 * day, "500ms": 500 * int64(time.Millisecond), " 3d ": 3 * day,
	} {
		if v, err := convertEnv(raw, "Duration"); err != nil || v.AsDuration() != want {
			t.Errorf("%q: %v %v, want %d", raw, Repr(v), err, want)
		}
		// printed, it reads back as itself
		if v, _ := convertEnv(raw, "Duration"); v.AsDuration() == want {
			if back, err := convertEnv(Repr(v), "Duration"); err != nil || back.AsDuration() != want {
				t.Errorf("%q printed %s, read back %v %v", raw, Repr(v), Repr(back), err)
			}
		}
	}
	for _, raw := range []string{"2d-1h", "d", "99999999999d", "1.5d", "2dx"} {
		if v, err := convertEnv(raw, "Duration"); err == nil {
			t.Errorf("%q converted to %s", raw, Repr(v))
		}
	}
}
