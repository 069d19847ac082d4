package bytecode_test

import (
	"fmt"
	"strings"
	"testing"

	"tova/bytecode"
	"tova/driver"
)

// A function that needs more registers than an instruction can name is
// a compile error with a position and a way out, also for top-level code.
func TestTooManyRegistersHasAPosition(t *testing.T) {
	var b strings.Builder
	for i := range bytecode.MaxA + 10 {
		fmt.Fprintf(&b, "x%d = %d\n", i, i)
	}
	_, err := driver.CompileFile("app.tova", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "1:1: function main needs too many registers") || !strings.Contains(err.Error(), "split it into smaller functions") {
		t.Fatalf("err = %v", err)
	}
}
