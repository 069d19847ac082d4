// Package procid tells which P (the runtime's stand-in for a CPU) the
// calling goroutine runs on, for data kept per CPU: a buffer or a stack
// that the goroutines of one CPU share, whose memory then stays in that
// CPU's cache.
package procid

import _ "unsafe" // linkname

// Current returns the index of the P the caller runs on, in
// [0, GOMAXPROCS). It is a hint: the goroutine may move to another P
// right after.
func Current() int {
	i := procPin()
	procUnpin()
	return i
}

// procPin and procUnpin are what sync.Pool uses to find its per-P cache;
// the runtime keeps them for linkname (go.dev/issue/67401).
//
//go:linkname procPin runtime.procPin
func procPin() int

//go:linkname procUnpin runtime.procUnpin
func procUnpin()
