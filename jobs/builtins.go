package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"tova/internal/wire"
	"tova/vm"
	"tova/vm/stdlib"
)

func init() {
	vm.Register(
		&vm.Builtin{Name: "spawn_job", Fn: bSpawnJob, Named: spawnJobNamed},
		&vm.Builtin{Name: "publish", Params: []string{"topic", "payload"}, Fn: bPublish},
		&vm.Builtin{Name: "job_id", Fn: bJobID},
		&vm.Builtin{Name: "job_attempt", Fn: bJobAttempt},
	)
}

// storeTimeout bounds one enqueue: spawn_job and publish wait for the
// commit, and no longer than this when the database is unreachable.
const storeTimeout = 30 * time.Second

// spawnJobNamed is spawn_job(job, args..., name: value...): the named
// arguments bound to the background fn's parameters of those names, as
// a call of it binds them (they were one object, its first argument).
// The parameters are those of the fn given, or, named by a String, of
// this server's background fn of that name.
func spawnJobNamed(t *vm.Thread, pos []vm.Value, names []string, kw []vm.Value) (vm.Value, error) {
	if len(pos) == 0 {
		return vm.Nil, vm.TypeErrorf("spawn_job: missing the background fn to run")
	}
	fn := pos[0]
	if fn.Kind() == vm.KString {
		if r := RunnerOf(t.In); r != nil {
			fn = r.background[fn.AsString()]
		}
	}
	if fn.Kind() != vm.KFunc {
		return vm.Nil, vm.TypeErrorf("spawn_job: named arguments are bound by a background fn of this server (its parameters are known here): %s is not one; pass its arguments in order", vm.Repr(pos[0]))
	}
	params := fn.AsClosure().ParamNames()
	args := append([]vm.Value(nil), pos[1:]...)
	given := make([]bool, len(args))
	for i := range given {
		given[i] = true // (in order)
	}
	for i, n := range names {
		at := slices.Index(params, n)
		if at < 0 {
			return vm.Nil, vm.TypeErrorf("spawn_job: %s has no parameter named %s", fn.AsClosure().Name(), n)
		}
		for len(args) <= at {
			args, given = append(args, vm.Nil), append(given, false)
		}
		if given[at] {
			return vm.Nil, vm.TypeErrorf("spawn_job: %s got parameter %s twice", fn.AsClosure().Name(), n)
		}
		args[at], given[at] = kw[i], true
	}
	for i, g := range given {
		if !g {
			// (a job's arguments are stored in order: one left out
			// would run as nil, not as its default)
			return vm.Nil, vm.TypeErrorf("spawn_job: %s's parameter %s comes before one given by name: give it too", fn.AsClosure().Name(), params[i])
		}
	}
	return bSpawnJob(t, append([]vm.Value{pos[0]}, args...))
}

// spawn_job(job, args...) stores a job that runs background fn job (the
// function itself or its name) with args, and returns its id at once.
func bSpawnJob(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if len(args) == 0 {
		return vm.Nil, vm.TypeErrorf("spawn_job: missing the background fn to run")
	}
	name, err := jobName(args[0])
	if err != nil {
		return vm.Nil, err
	}
	rest := args[1:]
	r := RunnerOf(t.In)
	if r == nil {
		if t.In.Server != nil {
			return vm.Nil, notYet("spawn_job")
		}
		return runInline(t, args[0], name, rest)
	}
	if f := args[0]; f.Kind() == vm.KFunc {
		// Named, but perhaps no background fn: a lambda bound to a name
		// (helper = fn(x) ...) takes that name, which may even be one's.
		if bg, ok := r.background[name]; !ok || bg.Kind() != vm.KFunc || bg.AsClosure().Fn != f.AsClosure().Fn {
			return vm.Nil, vm.TypeErrorf("spawn_job: expected a background fn or its name, got the function %s, which is not one", name)
		}
	}
	server, err := r.backgroundServer(name)
	if err != nil {
		return vm.Nil, err
	}
	payload, err := jobPayload(t, rest)
	if err != nil {
		return vm.Nil, err
	}
	var id int64
	t.Blocking(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), storeTimeout)
		defer cancel()
		id, err = r.spawn(ctx, t, server, name, payload)
	})
	if err != nil {
		return vm.Nil, err
	}
	return vm.Int(id), nil
}

// wireDepth bounds the depth wire.ValueWithin walks a job's arguments or
// an event's payload to: far past their limit (MaxArgsDepth), which is
// checked, and named, on their JSON.
const wireDepth = 10_000

// jobPayload is the stored form of a job's arguments: their JSON array,
// within the limits.
func jobPayload(t *vm.Thread, args []vm.Value) ([]byte, error) {
	for i, a := range args {
		if at, what, ok := functionIn(a, map[any]bool{}); ok {
			return nil, vm.TypeErrorf("spawn_job: argument %d%s is %s: a job's arguments are stored as JSON, and a function cannot be", i+1, at, what)
		}
	}
	sent := make([]vm.Value, len(args))
	for i, a := range args {
		// (in the form a call to another server sends them: the typed
		// parameters of the background fn take them back)
		v, bad := wire.ValueWithin(a, wireDepth)
		if bad != nil {
			return nil, wire.SendError(fmt.Sprintf("spawn_job: argument %d", i+1), "to a job", bad)
		}
		sent[i] = v
	}
	payload, err := stdlib.AppendJSONExact(t, nil, vm.NewArray(sent), true)
	if err != nil {
		return nil, vm.Errorf("JobError", "spawn_job: arguments must be serialisable to JSON: %s", errText(err))
	}
	if err := checkSize("spawn_job: the arguments are", payload); err != nil {
		return nil, err
	}
	// the list of the arguments is no level of theirs
	if err := checkDepth("spawn_job: an argument is", jsonDepth(payload)-1); err != nil {
		return nil, err
	}
	return payload, nil
}

// MaxArgsBytes bounds the JSON of a job's arguments and of an event's
// payload. On its way through the queue (encoded, stored, fetched,
// decoded into Tova values) a job costs 10 to 30 times its arguments in
// memory, held by each of up to `workers` jobs at once, and storing it
// takes about 70 ms per MiB (SQLite and PostgreSQL alike), during which
// a SQLite queue's one writer connection is busy: a 32 MiB argument took
// 3.5 s to store and the process past 450 MB, and at 200 MB heartbeats
// went unwritten until the leader stepped down. At 1 MiB a job costs at
// most some 30 MB and 70 ms; larger data belongs in the database, the
// job receiving its id.
const MaxArgsBytes = 1 << 20

// checkSize refuses stored JSON past MaxArgsBytes; what names it and
// ends in its verb ("the payload is").
func checkSize(what string, data []byte) error {
	if len(data) > MaxArgsBytes {
		return vm.Errorf("JobError", "%s %d bytes as JSON, over the limit of %d (1 MiB): store large data in the database and pass its id", what, len(data), MaxArgsBytes)
	}
	return nil
}

// MaxArgsDepth bounds how deeply lists and objects nest in an argument
// of a job or in an event's payload. SQLite's JSON functions, through
// which River stores and reads a job, refuse JSON nested past 1000
// levels, and the stored job wraps its arguments in levels of its own;
// 512 leaves room for those, on both databases, and is far past what
// data nests to.
const MaxArgsDepth = 512

// checkDepth refuses JSON nested past MaxArgsDepth; what names it and
// ends in its verb.
func checkDepth(what string, depth int) error {
	if depth > MaxArgsDepth {
		return vm.Errorf("JobError", "%s nested %d levels deep, over the limit of %d levels of lists and objects", what, depth, MaxArgsDepth)
	}
	return nil
}

// jsonDepth is how deeply arrays and objects nest in data, valid JSON:
// 0 for a scalar, 1 for [1, 2], 2 for [[1], {"a": 2}].
func jsonDepth(data []byte) int {
	depth, deepest, inString := 0, 0, false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case inString:
			if c == '\\' {
				i++ // the escaped character, maybe a quote
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			depth++
			deepest = max(deepest, depth)
		case c == ']' || c == '}':
			depth--
		}
	}
	return deepest
}

// notYet is the error of spawn_job or publish called in a server before
// its jobs runtime started: from the program's top-level code or the
// server block's body, which run first (any server of a program that
// calls them gets a runtime, see Needed). The jobs do run, later.
func notYet(fn string) error {
	return vm.Errorf("JobError", "%s cannot be called while the server block is being set up (its jobs start after it): call it from on_start or a handler", fn)
}

// jobName reads spawn_job's first argument: a background fn or its name.
func jobName(v vm.Value) (string, error) {
	switch v.Kind() {
	case vm.KString:
		return v.AsString(), nil
	case vm.KFunc:
		if n := v.AsClosure().Name(); n != "<lambda>" {
			return n, nil
		}
		return "", vm.TypeErrorf("spawn_job: expected a background fn or its name, got an anonymous function")
	}
	return "", vm.TypeErrorf("spawn_job: expected a background fn or its name, got %s", vm.TypeName(v))
}

// runInline runs a job at once on the calling thread: a script (tova
// run) has no queue. Arguments make the same JSON round trip as a
// stored job's; a failure is reported on stderr, not raised, as a
// server would log it.
func runInline(t *vm.Thread, fn vm.Value, name string, args []vm.Value) (vm.Value, error) {
	if fn.Kind() != vm.KFunc {
		return vm.Nil, vm.Errorf("JobError", "spawn_job: background job %q named by a String in a script: tova run has no queue and runs a job at once given the background fn itself (spawn_job(%s, ...))", name, name)
	}
	payload, err := jobPayload(t, args)
	if err != nil {
		return vm.Nil, err
	}
	decoded, err := decodeArgs(payload)
	if err != nil {
		return vm.Nil, err
	}
	v, err := t.Call(fn, decoded...)
	if err == nil {
		at, _ := t.ReturnedAt()
		err = returnedErr(fn, v, at)
	}
	if err != nil {
		if vm.IsCancelled(err) {
			return vm.Nil, err
		}
		fmt.Fprintf(t.In.Cfg.Stderr, "job %s failed: %s", name, errReport(err))
	}
	return vm.Nil, nil
}

// errReport is a failed job's error as a script reports it: where, what,
// and the stack, as the CLI prints a runtime error (without the source
// line), one line each.
func errReport(err error) string {
	var ve *vm.Error
	var re *errReturned
	switch {
	case errors.As(err, &ve):
		text := ve.Kind + ": " + ve.Msg + "\n"
		if f, ok := ve.Pos(); ok {
			text = fmt.Sprintf("%s:%d:%d: %s", f.File, f.Line, f.Col, text)
		}
		return text + ve.Trace()
	case errors.As(err, &re) && re.at.File != "":
		return fmt.Sprintf("%s:%d:%d: %s\n  at %s\n", re.at.File, re.at.Line, re.at.Col, re.Error(), re.at)
	}
	return err.Error() + "\n"
}

// publish(topic, payload) stores one delivery of payload for every
// server subscribing to topic and returns how many it stored.
func bPublish(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if len(args) > 2 {
		// (a second payload was dropped without a word)
		return vm.Nil, vm.TypeErrorf("publish takes 1 or 2 arguments (topic, payload), got %d", len(args))
	}
	if len(args) == 0 || args[0].Kind() != vm.KString {
		got := "nothing"
		if len(args) > 0 {
			got = vm.TypeName(args[0])
		}
		return vm.Nil, vm.TypeErrorf("publish: expected a topic String, got %s", got)
	}
	topic := args[0].AsString()
	var payload vm.Value
	if len(args) > 1 {
		payload = args[1]
	}
	if at, what, ok := functionIn(payload, map[any]bool{}); ok {
		return vm.Nil, vm.TypeErrorf("publish: the payload%s is %s: an event is stored as JSON, and a function cannot be", at, what)
	}
	payload, bad := wire.ValueWithin(payload, wireDepth)
	if bad != nil {
		return vm.Nil, wire.SendError("publish: the payload", "in an event", bad)
	}
	data, err := stdlib.AppendJSONExact(t, nil, payload, true)
	if err != nil {
		return vm.Nil, vm.Errorf("JobError", "publish: the payload must be serialisable to JSON: %s", errText(err))
	}
	if err := checkSize("publish: the payload is", data); err != nil {
		return vm.Nil, err
	}
	if err := checkDepth("publish: the payload is", jsonDepth(data)); err != nil {
		return vm.Nil, err
	}
	r := RunnerOf(t.In)
	if r == nil {
		if t.In.Server != nil {
			return vm.Nil, notYet("publish")
		}
		return vm.Int(0), nil // a script has no subscribers
	}
	var n int
	t.Blocking(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), storeTimeout)
		defer cancel()
		n, err = r.publish(ctx, t, topic, data)
	})
	if err != nil {
		return vm.Nil, err
	}
	return vm.Int(int64(n)), nil
}

// job_id() is the id of the job the calling code runs in (stable across
// its retries), or nil outside a job.
func bJobID(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if len(args) > 0 {
		return vm.Nil, vm.TypeErrorf("job_id takes no arguments, got %d", len(args))
	}
	if info, ok := t.Context().Value(jobInfoKey{}).(*jobInfo); ok {
		return vm.Int(info.id), nil
	}
	return vm.Nil, nil
}

// job_attempt() is the attempt number (1 for the first run), or nil
// outside a job.
func bJobAttempt(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if len(args) > 0 {
		return vm.Nil, vm.TypeErrorf("job_attempt takes no arguments, got %d", len(args))
	}
	if info, ok := t.Context().Value(jobInfoKey{}).(*jobInfo); ok {
		return vm.Int(int64(info.attempt)), nil
	}
	return vm.Nil, nil
}

func errText(err error) string {
	if ve, ok := err.(*vm.Error); ok {
		return ve.Kind + ": " + ve.Msg
	}
	return err.Error()
}

// functionIn finds a function inside v, which JSON would drop (from an
// object) or make null (in a list): at is where (" at [0].f"), what its
// type. Each list and object is looked into once (a value may hold
// itself; the JSON encoder refuses that afterwards).
func functionIn(v vm.Value, seen map[any]bool) (at, what string, ok bool) {
	switch v.Kind() {
	case vm.KFunc, vm.KBuiltin, vm.KType:
		return "", "a " + vm.TypeName(v), true
	case vm.KArray:
		a := v.AsArray()
		if seen[a] {
			return "", "", false
		}
		seen[a] = true
		for i, e := range a.Elems {
			if at, what, ok := functionIn(e, seen); ok {
				return " at [" + strconv.Itoa(i) + "]" + strings.TrimPrefix(at, " at "), what, true
			}
		}
	case vm.KObject:
		o := v.AsObject()
		if seen[o] {
			return "", "", false
		}
		seen[o] = true
		for i, k := range o.Keys() {
			if at, what, ok := functionIn(o.Values()[i], seen); ok {
				return " at ." + k + strings.TrimPrefix(at, " at "), what, true
			}
		}
	}
	return "", "", false
}
