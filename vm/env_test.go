package vm

import "testing"

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
