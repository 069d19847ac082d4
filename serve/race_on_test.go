//go:build race

package serve

// raceEnabled: the race detector slows Tova code many times over, so
// tests that need a request to hold the GIL for a while make it hold
// for fewer steps.
const raceEnabled = true
