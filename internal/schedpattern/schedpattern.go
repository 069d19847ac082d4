// Package schedpattern reads the patterns of `schedule` declarations,
// shared by the compiler (which refuses a bad literal at its
// declaration) and the jobs runtime (which runs them).
package schedpattern

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Parse reads a schedule pattern: a standard 5-field cron expression
// ("*/5 * * * *", also "@hourly", "@every 90s" and a "CRON_TZ=Zone "
// prefix; day of week 0–7, both 0 and 7 being Sunday), or an interval
// ("30s", "5m", "1h", any positive Go duration). It returns the cron
// schedule, or the interval.
func Parse(pattern string) (cron.Schedule, time.Duration, error) {
	p := strings.TrimSpace(pattern)
	if p == "" {
		return nil, 0, fmt.Errorf("empty schedule pattern")
	}
	if strings.ContainsAny(p, " \t") || strings.HasPrefix(p, "@") {
		s, err := cron.ParseStandard(sundaySeven(p))
		if err != nil {
			return nil, 0, fmt.Errorf("bad cron expression %q: %v", pattern, err)
		}
		return s, 0, nil
	}
	d, err := time.ParseDuration(p)
	if err != nil || d <= 0 {
		return nil, 0, fmt.Errorf("bad schedule %q: expected a 5-field cron expression or an interval such as \"30s\", \"5m\", \"1h\"", pattern)
	}
	return nil, d, nil
}

// sundaySeven writes a day-of-week 7 (Sunday, as crontab(5) allows) as
// 0, which the cron library requires: "7" becomes "0", and a range
// ending in 7 ("5-7") the range to 6 plus 0.
func sundaySeven(p string) string {
	fields := strings.Fields(p)
	i := len(fields) - 1
	if len(fields) < 5 || strings.HasPrefix(fields[0], "CRON_TZ=") && len(fields) < 6 {
		return p
	}
	var parts []string
	for _, item := range strings.Split(fields[i], ",") {
		switch {
		case item == "7":
			item = "0"
		case strings.HasSuffix(item, "-7"):
			item = strings.TrimSuffix(item, "-7") + "-6,0"
		}
		parts = append(parts, item)
	}
	fields[i] = strings.Join(parts, ",")
	return strings.Join(fields, " ")
}
