//go:build !race

package servebench

const raceEnabled = false
