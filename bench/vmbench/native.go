// Package vmbench measures the Tova VM on the programs of
// docs/benchmarks.md beside native Go versions of the same programs,
// measured in the same run. `go test -bench . ./bench/vmbench` runs them
// in process; `tova bench vm` runs each as a whole process (start-up
// included), five times, and prints the medians and peak memory.
package vmbench

import (
	"embed"
	"fmt"
	"strconv"
	"strings"
)

//go:embed programs/*.tova
var programFS embed.FS

// Names lists the benchmark programs in report order.
var Names = []string{"empty", "fib", "loop", "sumloop", "objects", "strings", "spread"}

// Source returns the Tova text of a benchmark program.
func Source(name string) ([]byte, error) {
	return programFS.ReadFile("programs/" + name + ".tova")
}

// Goals are the whole-process targets (seconds, MiB; 0 = none).
var Goals = map[string]struct {
	Seconds float64
	MiB     float64
}{
	"empty":   {0.005, 10},
	"fib":     {0.12, 0},
	"loop":    {0.35, 0},
	"sumloop": {0.15, 0},
	"objects": {0.12, 60},
	"strings": {0.12, 0},
	"spread":  {0, 0}, // no goal: a measure of the collector
}

// Expected is what each program prints.
var Expected = map[string]string{
	"empty":   "",
	"fib":     "832040\n",
	"loop":    "2033000\n",
	"sumloop": "49999995000000\n",
	"objects": "100000 9999900000\n",
	"strings": "1488889 200000 1288890\n",
	"spread":  "5000 12497500\n",
}

// Native runs the native Go version of a program and returns its output.
func Native(name string) (string, error) {
	switch name {
	case "empty":
		return "", nil
	case "fib":
		return fmt.Sprintln(fib(30)), nil
	case "loop":
		s := 0
		for i := 0; i < 10000000; i++ {
			s = (s + i*i) % 1000000007
		}
		return fmt.Sprintln(s), nil
	case "sumloop":
		s := 0
		for i := 0; i < 10000000; i++ {
			s = s + i
		}
		return fmt.Sprintln(s), nil
	case "objects":
		type item struct {
			id     int
			active bool
		}
		items := []*item{}
		for i := 0; i < 200000; i++ {
			items = append(items, &item{id: i, active: i%2 == 0})
		}
		active := []*item{}
		for _, x := range items {
			if x.active {
				active = append(active, x)
			}
		}
		total := 0
		for _, it := range active {
			total += it.id
		}
		return fmt.Sprintf("%d %d\n", len(active), total), nil
	case "strings":
		parts := []string{}
		for i := 0; i < 200000; i++ {
			parts = append(parts, "k"+strconv.Itoa(i))
		}
		s := strings.Join(parts, ",")
		back := strings.Split(s, ",")
		total := 0
		for _, p := range back {
			total += len(p)
		}
		return fmt.Sprintf("%d %d %d\n", len(s), len(back), total), nil
	case "spread":
		type todo struct{ id int }
		todos := []*todo{}
		for i := 0; i < 5000; i++ {
			next := make([]*todo, len(todos), len(todos)+1)
			copy(next, todos)
			todos = append(next, &todo{id: i})
		}
		total := 0
		for _, t := range todos {
			total += t.id
		}
		return fmt.Sprintf("%d %d\n", len(todos), total), nil
	}
	return "", fmt.Errorf("no benchmark program %q", name)
}

func fib(n int) int {
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}
