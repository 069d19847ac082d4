package stdlib

import (
	"fmt"
	"os"
	"syscall"

	"tova/vm"
)

// dataStream is the value of stream(path, batch: N) (Decision 18): a
// lazy sequence of lists of at most N rows of a CSV, TSV or JSON Lines
// file, for `for chunk in ...`, each and the other builtins that walk a
// sequence. Memory stays bounded by one batch: each batch is read from
// where the last one ended, with the file opened for that batch only, so
// a loop that stops early, or fails, leaves no file open. Each loop over
// the value reads the file from its start. The file should not change
// while it is streamed.
type dataStream struct {
	path   string
	format fileFormat
	csv    csvOptions
	batch  int
}

func bStream(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	if arg(args, 0).IsCallable() {
		// The reference's streaming response, stream(fn(send, close)).
		return vm.Nil, vm.TypeErrorf("stream: a streamed response, stream(fn(send, close)) in the reference, is not applied by this runtime (return the whole body, or a generator's values as a list); stream(path, batch: n) reads a data file in batches")
	}
	path, err := dataPath("stream", arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	if args, err = spreadOptions("stream", args, 1, "batch", "delimiter", "header"); err != nil {
		return vm.Nil, err
	}
	format, comma := formatOf(path)
	switch format {
	case formatJSON:
		return vm.Nil, valueErr("stream: reads .csv, .tsv, .jsonl and .ndjson files, one batch of rows at a time: read(path) reads a .json file whole")
	case formatOther:
		format = formatCSV
	}
	opts, err := csvOptionsArgs("stream", args, 2, comma)
	if err != nil {
		return vm.Nil, err
	}
	batch := int64(1000)
	if has(args, 1) {
		b := args[1]
		if b.Kind() != vm.KInt {
			return vm.Nil, typeErr("stream", "Int batch", b)
		}
		if batch = b.AsInt(); batch < 1 || batch > vm.MaxListLen {
			return vm.Nil, valueErr("stream: batch must be from 1 to %d rows, got %d", vm.MaxListLen, batch)
		}
	}
	// A missing file is reported here, where the stream is made, rather
	// than where it is first read.
	var st os.FileInfo
	t.Blocking(func() { st, err = os.Stat(path) })
	if err == nil && st.IsDir() {
		err = syscall.EISDIR // an IOError, as read's
	}
	if err != nil {
		return vm.Nil, fileErr("stream", path, err)
	}
	return vm.HostValue(&dataStream{path: path, format: format, csv: opts, batch: int(batch)}), nil
}

func (s *dataStream) TypeName() string { return "Stream" }

func (s *dataStream) String() string {
	return fmt.Sprintf("stream(%q, batch: %d)", s.path, s.batch)
}

func (s *dataStream) GetAttr(t *vm.Thread, name string) (vm.Value, bool, error) {
	return vm.Nil, false, nil
}

func (s *dataStream) SetAttr(t *vm.Thread, name string, v vm.Value) error {
	return vm.TypeErrorf("cannot set %s of a stream", name)
}

func (s *dataStream) Iterator(t *vm.Thread) (vm.Iterator, error) {
	return &streamIter{batch: s.batch, rows: &rowReader{fname: "stream", path: s.path, format: s.format, csv: s.csv, line: 1}}, nil
}

// streamIter reads the batches of one loop over a stream.
type streamIter struct {
	rows  *rowReader
	batch int
	done  bool
}

func (it *streamIter) Next(t *vm.Thread) (vm.Value, bool, error) {
	if it.done {
		return vm.Nil, false, nil
	}
	// A batch is as much work as a loop of that many passes: the
	// thread's deadline (a job's timeout) stops the reading here, as it
	// would stop the loop. A loop over a hundred batches, with a jump
	// and a call each, did not reach the VM's next poll, and a job ran
	// on to its end past its timeout (and was retried after it).
	if err := t.Poll(it.batch); err != nil {
		it.done = true
		return vm.Nil, false, err
	}
	rows, eof, err := it.rows.next(t, it.batch, vm.MaxStringBytes, false)
	if err != nil || eof {
		it.done = true
	}
	if err != nil || len(rows) == 0 {
		return vm.Nil, false, err
	}
	return vm.NewArray(rows), true, nil
}
