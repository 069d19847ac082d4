// Package httpbench is the HTTP load generator behind `tova bench http` and
// the benchmarks comparing netio with a bare fasthttp server.
//
// Measure drives one URL with N keep-alive connections (one goroutine
// each, one request at a time) for a warm-up phase whose requests are not
// counted and then a measured phase; it reports requests per second, p50,
// p99 and max latency. Latencies go into a fixed-bucket log-linear
// histogram per connection (exact below 128 ns, 64 buckets per power of
// two above, so within 1.6 %), merged at the end: the generator does not
// allocate per request. A Load keeps its connections and counts across
// runs, so that `tova bench http` can have its targets (each its own
// process, all started at once) take 1 s turns under the same load, in
// reverse order every other turn: drift of a shared machine then hits
// every target alike, and each ratio is
// total requests over total measured time. It also reads each target
// process's CPU time around its turns (ProcessCPU, Linux): server CPU per
// request is steadier than throughput on such a machine, because the
// load generator's own cost per request changes with the server's
// latency.
//
// Compare measures several targets one after another, in this process,
// with the same options, and gives each its ratio to a baseline; Run is
// the CLI's entry point (one URL, optionally against the in-process Bare
// baseline). Targets given as a Handler are served by this process on
// 127.0.0.1; targets given as a URL run wherever they run (normally their
// own process, e.g. `tova serve`). Either way the load generator shares
// the machine's CPUs with the server, so absolute numbers are lower bounds
// and ratios are what to compare.
//
// The Go benchmarks BenchmarkBareFasthttp and BenchmarkNetioHandoff use
// fasthttp's in-memory listener to measure the per-request cost of netio
// (copy, routing, pool hand-off and reply, response copy, access line)
// against the baseline handler, in ns/op and allocs/op;
// BenchmarkNetioInline runs the same handler on the connection's
// goroutine (netio.Config.Inline), so that its difference with
// BenchmarkNetioHandoff is the hand-off alone, and
// BenchmarkNetioHandoffChannel hands each request to the worker's
// goroutine instead of running it on the worker's coroutine
// (actors.PoolOptions.NoDirect). TestReport prints
// the socket comparison when HTTPBENCH_DURATION is set:
//
//	go test -run xxx -bench . ./bench/httpbench/
//	HTTPBENCH_DURATION=10s go test -run TestReport -v ./bench/httpbench/
package httpbench
