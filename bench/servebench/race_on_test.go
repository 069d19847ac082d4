//go:build race

package servebench

// raceEnabled: under the race detector, sync.Pool drops objects at
// random, so allocation counts mean nothing.
const raceEnabled = true
