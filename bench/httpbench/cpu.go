package httpbench

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of /proc/<pid>/stat's CPU times (USER_HZ, 100 on
// every Linux build that matters).
const clockTick = 10 * time.Millisecond

// CPUTime is the CPU time a process has used, in user space and in the
// kernel (system calls, and the network stack's work done on their behalf).
type CPUTime struct {
	User, System time.Duration
}

// Total is user and system time together.
func (c CPUTime) Total() time.Duration { return c.User + c.System }

// Add is c and d together.
func (c CPUTime) Add(d CPUTime) CPUTime {
	return CPUTime{User: c.User + d.User, System: c.System + d.System}
}

// Sub is the CPU time used between an earlier reading and c.
func (c CPUTime) Sub(earlier CPUTime) CPUTime {
	return CPUTime{User: c.User - earlier.User, System: c.System - earlier.System}
}

// ProcessCPU returns the CPU time (all threads) that process pid has used
// so far. It reads /proc/<pid>/stat, so it works on Linux only; elsewhere
// it returns an error.
func ProcessCPU(pid int) (CPUTime, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return CPUTime{}, err
	}
	return parseStatCPU(string(b))
}

// parseStatCPU takes utime and stime, fields 14 and 15 of a stat line.
// The command name (field 2) is in parentheses and may hold spaces, so
// fields are counted after its closing parenthesis.
func parseStatCPU(stat string) (CPUTime, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return CPUTime{}, errors.New("httpbench: malformed /proc stat line")
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return CPUTime{}, errors.New("httpbench: short /proc stat line")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return CPUTime{}, errors.New("httpbench: malformed /proc stat times")
	}
	return CPUTime{User: time.Duration(utime) * clockTick, System: time.Duration(stime) * clockTick}, nil
}
