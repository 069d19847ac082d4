package testutil

import (
	"encoding/json"
	"strings"
)

// ErrorLines returns the error lines of a JSON log, by their "in" field
// (the job, subscriber or hook that failed).
func ErrorLines(logs string) map[string][]map[string]any {
	out := map[string][]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["level"] == "error" {
			in, _ := rec["in"].(string)
			out[in] = append(out[in], rec)
		}
	}
	return out
}
