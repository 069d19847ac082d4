package main

import (
	"slices"
	"testing"
)

// Targets are measured forwards, then backwards, turn after turn: each
// target's mean position in the order is the same, so a steady drift of
// the machine's speed favours none.
func TestTurnOrderAlternates(t *testing.T) {
	for turn, want := range [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {0, 1, 2, 3}, {3, 2, 1, 0}} {
		if got := turnOrder(turn, 4); !slices.Equal(got, want) {
			t.Fatalf("turn %d: order %v, want %v", turn, got, want)
		}
	}
}
