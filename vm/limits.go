package vm

import "fmt"

// Limits on the values a program builds, so that a runaway loop or a
// client-chosen size fails with a catchable ValueError instead of
// exhausting the memory of the whole process (a Go out-of-memory crash
// cannot be recovered).
const (
	// MaxStringBytes bounds a string built by concatenation,
	// interpolation, repetition, padding or join: 1 GiB.
	MaxStringBytes = 1 << 30
	// MaxListLen bounds a list built by push, spread, + or a builtin
	// that collects a sequence: 2^26 elements (1 GiB of values).
	MaxListLen = 1 << 26
)

// StringTooLarge is the error of a string that would pass MaxStringBytes.
func StringTooLarge(what string, n int) error {
	return Errorf("ValueError", "%s: the string would be %s, over the limit of 1 GiB", what, byteCount(n))
}

// ListTooLong is the error of a list that would pass MaxListLen.
func ListTooLong(what string, n int64) error {
	return Errorf("ValueError", "%s: the list would have %d elements, over the limit of %d", what, n, MaxListLen)
}

// MaxGeneratorValues bounds the values taken of a generator to build a
// list of them ([...g], map(g, f), an answer): one that never ends
// reached a list's limit only after gigabytes.
const MaxGeneratorValues = 1 << 22

// GeneratorTooLong is the error of what built a list from a generator
// past MaxGeneratorValues values.
func GeneratorTooLong(what string) error {
	return Errorf("ValueError", "%s: the generator gave more than %d values (one that never ends?): take(gen, n) takes the first n, and iter(gen) chains lazily (iter(gen).filter(f).take(3))", what, MaxGeneratorValues)
}

// NestedTooLarge is the error of a list of lists (sliding_window,
// pairwise) whose elements, counted in every inner list, would pass
// MaxListLen: each inner list within the limit, the whole could still
// take gigabytes.
func NestedTooLarge(what string, n int64) error {
	return Errorf("ValueError", "%s: the lists would hold %d elements in all, over the limit of %d", what, n, MaxListLen)
}

func byteCount(n int) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}
