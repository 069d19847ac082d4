//go:build race

package jobs_test

// raceEnabled: tests that wait on the clock for behaviour the plain run
// covers (a minute boundary) leave the race detector's run.
const raceEnabled = true
