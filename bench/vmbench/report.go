package vmbench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"syscall"
	"text/tabwriter"
	"time"
)

// Options configures a whole-process run.
type Options struct {
	Tova  string   // path of the tova binary to measure
	Runs  int      // counted runs per cell (median reported); default 5
	Only  []string // program names; default all
	Stdio io.Writer
	// Context, when it ends (Ctrl-C), stops the run in progress and the
	// measurement, which removes its temporary directory.
	Context context.Context
}

type cell struct {
	median time.Duration
	rssMiB float64
}

// measure runs argv Runs times after one warm-up and returns the median
// wall time and the largest peak RSS.
func measure(ctx context.Context, argv []string, runs int, want string) (cell, error) {
	var times []time.Duration
	var rss int64
	for i := 0; i <= runs; i++ {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		var out bytes.Buffer
		cmd.Stdout = &out
		cmd.Stderr = os.Stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			if ctx.Err() != nil {
				return cell{}, ctx.Err()
			}
			return cell{}, fmt.Errorf("%v: %w", argv, err)
		}
		d := time.Since(start)
		if out.String() != want {
			return cell{}, fmt.Errorf("%v printed %q, want %q", argv, out.String(), want)
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru.Maxrss > rss {
			rss = ru.Maxrss
		}
		if i > 0 {
			times = append(times, d)
		}
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	return cell{median: times[len(times)/2], rssMiB: float64(rss) / 1024}, nil
}

// Run measures each program as `tova run` and as the native Go version
// (`tova bench native NAME`, the same binary), and prints a table.
func Run(w io.Writer, opts Options) error {
	if opts.Runs <= 0 {
		opts.Runs = 5
	}
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	names := opts.Only
	if len(names) == 0 {
		names = Names
	}
	dir, err := os.MkdirTemp("", "tova-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "program\ttova s\tnative s\tratio\ttova MiB\tgoal s\tgoal MiB\tmet\t\n")
	for _, name := range names {
		src, err := Source(name)
		if err != nil {
			return err
		}
		path := dir + "/" + name + ".tova"
		if err := os.WriteFile(path, src, 0o644); err != nil {
			return err
		}
		t, err := measure(ctx, []string{opts.Tova, "run", path}, opts.Runs, Expected[name])
		if err != nil {
			return err
		}
		n, err := measure(ctx, []string{opts.Tova, "bench", "native", name}, opts.Runs, Expected[name])
		if err != nil {
			return err
		}
		g := Goals[name]
		goalS, goalMiB, met := "-", "-", "-"
		if g.Seconds > 0 || g.MiB > 0 {
			met = fmt.Sprint((g.Seconds == 0 || t.median.Seconds() <= g.Seconds) && (g.MiB == 0 || t.rssMiB <= g.MiB))
		}
		if g.Seconds > 0 {
			goalS = fmt.Sprintf("%.3f", g.Seconds)
		}
		if g.MiB > 0 {
			goalMiB = fmt.Sprintf("%.0f", g.MiB)
		}
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.1fx\t%.1f\t%s\t%s\t%s\t\n", name, t.median.Seconds(), n.median.Seconds(),
			t.median.Seconds()/n.median.Seconds(), t.rssMiB, goalS, goalMiB, met)
	}
	fmt.Fprintf(tw, "\n")
	return tw.Flush()
}
