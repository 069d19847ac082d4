package stdlib

// Data files (Decision 18): read(path) and write(value, path) pick the
// format from the file's extension, as the reference does; stream(path,
// batch: N) reads a CSV or JSON Lines file in lists of at most N rows
// (stream.go). A table is a list of objects, one per row, which where,
// drop_nil, group_by and the other collection builtins take as it is.
//
// Relative paths are relative to the process's working directory. File
// errors are IOErrors; content that is not what its extension says
// (malformed CSV, a bad JSON line) and values the format cannot hold are
// ValueErrors naming the line.

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"tova/vm"
)

func init() {
	reg("read", ps("path", "delimiter", "header"), bRead)
	reg("write", ps("value", "path", "append", "delimiter"), bWrite)
	reg("stream", ps("path", "batch", "delimiter", "header"), bStream)
}

// fileFormat is what a data file's extension says it holds.
type fileFormat uint8

const (
	formatOther fileFormat = iota // read tries JSON, then CSV
	formatCSV                     // .csv, and .tsv with a tab
	formatJSON                    // one JSON value
	formatJSONL                   // one JSON value a line
)

// formatOf returns the format of path and the CSV delimiter its
// extension implies.
func formatOf(path string) (fileFormat, rune) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return formatCSV, ','
	case ".tsv":
		return formatCSV, '\t'
	case ".json":
		return formatJSON, 0
	case ".jsonl", ".ndjson":
		return formatJSONL, 0
	}
	return formatOther, ','
}

// dataPath checks the path argument of a data builtin.
func dataPath(fname string, v vm.Value) (string, error) {
	switch v.Kind() {
	case vm.KString:
	case vm.KHost:
		if fname == "read" && v.AsHost().TypeName() == "Database" {
			return "", vm.TypeErrorf("read: reading a database is not supported: db.query(sql) gives its rows as a list of objects")
		}
		fallthrough
	default:
		return "", typeErr(fname, "String path", v)
	}
	p := v.AsString()
	if p == "" {
		return "", valueErr("%s: the path is empty", fname)
	}
	if l := strings.ToLower(p); strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://") {
		return "", valueErr("%s: %s is a URL, not a file: fetch(url) makes HTTP requests (its .json() and .text() read the body)", fname, p)
	}
	return p, nil
}

// csvOptions are the delimiter and header arguments of read and stream.
type csvOptions struct {
	comma     rune
	header    bool
	delimited bool // a delimiter was given
}

func csvOptionsArgs(fname string, args []vm.Value, at int, comma rune) (csvOptions, error) {
	o := csvOptions{comma: comma, header: true}
	if has(args, at) {
		c, err := delimiterArg(fname, args[at])
		if err != nil {
			return o, err
		}
		o.comma, o.delimited = c, true
	}
	if has(args, at+1) {
		h := args[at+1]
		if h.Kind() != vm.KBool {
			return o, typeErr(fname, "Bool header", h)
		}
		o.header = h.AsBool()
	}
	return o, nil
}

// delimiterArg checks a delimiter: one character that can separate CSV
// fields.
func delimiterArg(fname string, v vm.Value) (rune, error) {
	if v.Kind() != vm.KString {
		return 0, typeErr(fname, "String delimiter", v)
	}
	s := v.AsString()
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 || size != len(s) || r == utf8.RuneError || r == '"' || r == '\r' || r == '\n' {
		return 0, valueErr("%s: the delimiter must be one character other than a quote or a line break, got %q", fname, s)
	}
	return r, nil
}

// fileErr describes a failed file operation as an IOError.
func fileErr(fname, path string, err error) error {
	var msg string
	switch {
	case errors.Is(err, fs.ErrNotExist):
		msg = fmt.Sprintf("%s: no such file: %s", fname, path)
	case errors.Is(err, fs.ErrPermission):
		msg = fmt.Sprintf("%s: permission denied: %s", fname, path)
	case errors.Is(err, syscall.EISDIR):
		msg = fmt.Sprintf("%s: %s is a directory", fname, path)
	default:
		if pe, ok := errors.AsType[*fs.PathError](err); ok {
			err = pe.Err
		}
		msg = fmt.Sprintf("%s: %s: %v", fname, path, err)
	}
	return &vm.Error{Kind: "IOError", Msg: msg, Cause: err}
}

// openData opens a file to read, refusing a directory.
func openData(fname, path string) (*os.File, os.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fileErr(fname, path, err)
	}
	st, err := f.Stat()
	if err == nil && st.IsDir() {
		err = syscall.EISDIR
	}
	if err != nil {
		f.Close()
		return nil, nil, fileErr(fname, path, err)
	}
	return f, st, nil
}

// errTooLarge ends a read that passed its limit of bytes.
var errTooLarge = errors.New("over the limit")

// cappedReader fails once more than its limit is read, so that a file
// that is not what its size said (a device, a file still growing)
// cannot exhaust the memory.
type cappedReader struct {
	r    io.Reader
	left int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errTooLarge
	}
	p = p[:min(int64(len(p)), c.left)]
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// maxCSVRow is the most bytes one CSV row may take: past it the row is
// refused (a quoted cell whose quote never ends read the rest of the
// file into one row, holding several times the file in memory).
var maxCSVRow int64 = 64 << 20 // (a variable for the tests)

// errRowTooLarge is a CSV row past maxCSVRow.
var errRowTooLarge = errors.New("row over the limit")

// rowCap counts the bytes a CSV reader takes, and fails a read once the
// row being read (begun at mark) has taken more than maxCSVRow.
type rowCap struct {
	r       io.Reader
	n, mark int64
	// ended: the reader asked for bytes past the end of the input. Of a
	// file whose last line ends in a line break (one that does not is
	// the torn row of rr.tail), it does only while a row is unfinished
	// at the end: a quoted cell left open on the file's last line. (Of a
	// file whose line breaks are CRs, whose tail is not known, a stray
	// quote in its last line reads to the end too: ended is not read.)
	ended bool
}

func (c *rowCap) Read(p []byte) (int, error) {
	if c.n-c.mark > maxCSVRow {
		return 0, errRowTooLarge
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err == io.EOF {
		c.ended = true
	}
	return n, err
}

func tooLargeErr(fname, path string) error {
	return valueErr("%s: %s is over the 1 GiB limit of a value read at once: stream(path, batch: N) reads a .csv or .jsonl file in parts", fname, path)
}

// bom starts some UTF-8 files (Excel's CSV); it is not part of the data.
var bom = []byte("\ufeff")

// ---------------------------------------------------------------- read

func bRead(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	path, err := dataPath("read", arg(args, 0))
	if err != nil {
		return vm.Nil, err
	}
	if args, err = spreadOptions("read", args, 1, "delimiter", "header"); err != nil {
		return vm.Nil, err
	}
	format, comma := formatOf(path)
	opts, err := csvOptionsArgs("read", args, 1, comma)
	if err != nil {
		return vm.Nil, err
	}
	if format == formatOther && opts.delimited {
		format = formatCSV
	}
	if format == formatCSV || format == formatJSONL {
		rr := &rowReader{fname: "read", path: path, format: format, csv: opts, line: 1}
		rows, _, err := rr.next(t, vm.MaxListLen+1, vm.MaxStringBytes, true)
		if err != nil {
			return vm.Nil, err
		}
		if len(rows) > vm.MaxListLen {
			return vm.Nil, vm.ListTooLong("read: "+path, int64(len(rows)))
		}
		return vm.NewArray(rows), nil
	}
	var data []byte
	t.Working(func() { data, err = readWhole(path) })
	if err != nil {
		return vm.Nil, err
	}
	v, jerr := ParseJSON(bytes.TrimPrefix(data, bom))
	if jerr == nil {
		return v, nil
	}
	if format == formatJSON {
		return vm.Nil, valueErr("read: %s: %s", path, strings.TrimPrefix(errMessage(jerr), "JSON.parse: "))
	}
	// Not JSON: CSV, as the reference falls back to.
	rr := &rowReader{fname: "read", path: path, format: formatCSV, csv: opts, line: 1}
	recs, _, err := rr.readCSV(t, bytes.NewReader(data), vm.MaxListLen+1)
	if err != nil {
		return vm.Nil, err
	}
	if len(recs) > vm.MaxListLen {
		return vm.Nil, vm.ListTooLong("read: "+path, int64(len(recs)))
	}
	return vm.NewArray(rr.rows(recs)), nil
}

// readWhole reads a file of at most 1 GiB.
func readWhole(path string) ([]byte, error) {
	f, st, err := openData("read", path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st.Size() > vm.MaxStringBytes {
		return nil, tooLargeErr("read", path)
	}
	data, err := io.ReadAll(&cappedReader{r: f, left: vm.MaxStringBytes + 1})
	switch {
	case errors.Is(err, errTooLarge):
		return nil, tooLargeErr("read", path)
	case err != nil:
		return nil, fileErr("read", path, err)
	}
	return data, nil
}

// rowReader reads the rows of a CSV or JSON Lines file from a position
// in it: read takes them all, stream a batch at a time, opening the file
// for each batch and closing it before the batch is handed on, so that
// a loop left early leaves no file open.
type rowReader struct {
	fname, path string
	format      fileFormat
	csv         csvOptions
	cols        []string // CSV: the column names, once read
	shape       *vm.Shape
	off         int64 // byte offset of the next row
	line        int   // line number at off
	// crLines: the CSV file's lines end in CR alone (classic Mac OS),
	// told by its first line end, which the first read looks at
	crLines bool
	// tail is where the file's last line begins when no line break
	// ends it, else -1: a row there that is not whole was cut short by
	// an append's writer being killed (or is being written): it is not
	// read, as the next append cuts it off (appendFile). Found once
	// for each size the file has (tailOf), not for every batch.
	tail    int64
	tailOf  int64     // the file's size tail was found for, +1 (0: none yet)
	tailMod time.Time // and its modification time
}

// crToLF reads a file whose lines end in CR alone with its CRs as LFs,
// which encoding/csv takes for line ends (it reads a lone CR as data,
// and such a file as one line); the bytes keep their offsets.
type crToLF struct{ r io.Reader }

func (c crToLF) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i, b := range p[:n] {
		if b == '\r' {
			p[i] = '\n'
		}
	}
	return n, err
}

// endsLinesWithCR reports whether the first line end in b (outside
// quotes) is a CR not followed by an LF.
func endsLinesWithCR(b []byte) bool {
	quoted := false
	for i, c := range b {
		switch {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '\n':
			return false
		case c == '\r':
			return i+1 < len(b) && b[i+1] != '\n'
		}
	}
	return false
}

// next reads up to max rows, reading at most limit bytes of the file
// (whole: the file must be no larger). eof reports that the file has no
// rows after these.
func (rr *rowReader) next(t *vm.Thread, max int, limit int64, whole bool) (rows []vm.Value, eof bool, err error) {
	var recs [][]string
	var lines []string
	var nums []int
	t.Working(func() {
		f, st, e := openData(rr.fname, rr.path)
		if e != nil {
			err = e
			return
		}
		defer f.Close()
		if whole && st.Size() > limit {
			err = tooLargeErr(rr.fname, rr.path)
			return
		}
		if rr.tailOf != st.Size()+1 || !rr.tailMod.Equal(st.ModTime()) {
			rr.tail, rr.tailOf, rr.tailMod = -1, st.Size()+1, st.ModTime()
			if last, ok := lastLine(f, st.Size()); ok && len(last) > 0 {
				rr.tail = st.Size() - int64(len(last))
			}
		}
		if rr.off > 0 {
			if _, e := f.Seek(rr.off, io.SeekStart); e != nil {
				err = fileErr(rr.fname, rr.path, e)
				return
			}
		}
		r := &cappedReader{r: f, left: limit + 1}
		if rr.format == formatJSONL {
			lines, nums, eof, err = rr.readLines(t, r, max)
		} else {
			recs, eof, err = rr.readCSV(t, r, max)
		}
	})
	if errors.Is(err, errTooLarge) {
		if whole {
			return nil, false, tooLargeErr(rr.fname, rr.path)
		}
		return nil, false, valueErr("%s: %s: a batch of rows passes 1 GiB: use a smaller batch", rr.fname, rr.path)
	}
	if err != nil {
		return nil, false, err
	}
	if rr.format == formatJSONL {
		rows, err = rr.jsonRows(lines, nums)
		return rows, eof, err
	}
	return rr.rows(recs), eof, nil
}

// readCSV reads up to max records after the header (which the first
// call reads), advancing off and line past them.
func (rr *rowReader) readCSV(t *vm.Thread, r io.Reader, max int) (recs [][]string, eof bool, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	start := rr.off
	if start == 0 {
		if b, _ := br.Peek(len(bom)); bytes.Equal(b, bom) {
			br.Discard(len(bom))
			start += int64(len(bom))
		}
	}
	if rr.off == 0 {
		head, _ := br.Peek(64 << 10)
		rr.crLines = endsLinesWithCR(head)
	}
	var src io.Reader = br
	if rr.crLines {
		src = crToLF{br}
	}
	tail := rr.tail
	if rr.crLines {
		tail = -1 // (its line breaks are CRs, which lastLine does not see)
	}
	capped := &rowCap{r: src}
	cr := csv.NewReader(capped)
	cr.Comma = rr.csv.comma
	cr.FieldsPerRecord = -1
	next := rr.line // line after the last record read
	for rr.cols == nil || len(recs) < max {
		if len(recs)&0xFFFF == 0xFFFF {
			if err := cancelled(t); err != nil {
				return nil, false, err
			}
		}
		capped.mark = capped.n
		at := start + cr.InputOffset() // where the record begins
		rec, err := cr.Read()
		if err == io.EOF {
			eof = true
			break
		}
		if err != nil {
			if pe, ok := errors.AsType[*csv.ParseError](err); ok {
				if errors.Is(pe.Err, csv.ErrQuote) && tail >= 0 && at >= tail {
					eof = true // a last row cut short in a quoted cell
					break
				}
				if errors.Is(pe.Err, csv.ErrQuote) && (pe.StartLine != pe.Line || capped.ended && !rr.crLines) {
					// (said where the quoted cell began, not where the
					// reader gave up on it: on the last line, a column
					// past its end)
					by := fmt.Sprintf("by line %d", rr.line+pe.Line-1)
					if pe.StartLine == pe.Line {
						by = "by the end of the file"
					}
					return nil, false, valueErr("%s: %s: line %d: a quoted cell that begins in this row is not closed (%s): is its closing quote missing, or was the file cut short?", rr.fname, rr.path, rr.line+pe.StartLine-1, by)
				}
				why := pe.Err.Error()
				switch {
				case errors.Is(pe.Err, csv.ErrBareQuote):
					// (Go's words: bare " in non-quoted-field)
					why = `a " in a cell that is not quoted (a cell holding one is quoted, its quotes doubled: "27"" monitor")`
				case errors.Is(pe.Err, csv.ErrQuote):
					why = `a quoted cell's text goes on after its closing quote (a " inside one is doubled: "a ""b"" c")`
				}
				return nil, false, valueErr("%s: %s: line %d, column %d: %s", rr.fname, rr.path, rr.line+pe.Line-1, pe.Column, why)
			}
			if errors.Is(err, errTooLarge) {
				return nil, false, err
			}
			if errors.Is(err, errRowTooLarge) {
				return nil, false, valueErr("%s: %s: line %d: the row passes %d MiB: does a quoted cell begin there whose closing quote is missing?", rr.fname, rr.path, next, maxCSVRow>>20)
			}
			return nil, false, fileErr(rr.fname, rr.path, err)
		}
		first, _ := cr.FieldPos(0)
		last, _ := cr.FieldPos(len(rec) - 1)
		line := rr.line + first - 1
		next = rr.line + last + strings.Count(rec[len(rec)-1], "\n")
		if rr.cols == nil {
			if err := rr.setColumns(rec, line); err != nil {
				return nil, false, err
			}
			if rr.csv.header {
				continue
			}
		}
		if len(rec) < len(rr.cols) && tail >= 0 && at >= tail {
			eof = true // a last row cut short
			break
		}
		if len(rec) != len(rr.cols) {
			first := "the header"
			if !rr.csv.header {
				first = "the first row"
			}
			return nil, false, valueErr("%s: %s: line %d: the row has %d fields, %s %d", rr.fname, rr.path, line, len(rec), first, len(rr.cols))
		}
		recs = append(recs, rec)
	}
	rr.off = start + cr.InputOffset()
	rr.line = next
	return recs, eof, nil
}

// setColumns names the columns from the first record: the header's
// names, or col_0, col_1... without a header.
func (rr *rowReader) setColumns(rec []string, line int) error {
	cols := make([]string, len(rec))
	seen := make(map[string]bool, len(rec))
	for i, name := range rec {
		if !rr.csv.header {
			name = "col_" + strconv.Itoa(i)
		} else if seen[name] {
			return valueErr("%s: %s: line %d: the header names column %q twice", rr.fname, rr.path, line, name)
		}
		seen[name] = true
		// Names may end up in the shared shape tree: do not let them
		// pin the record's text.
		cols[i] = strings.Clone(name)
	}
	rr.cols = cols
	if len(cols) <= 32 {
		rr.shape = vm.ShapeOf(cols)
	}
	return nil
}

// rows makes the row objects of CSV records.
func (rr *rowReader) rows(recs [][]string) []vm.Value {
	out := make([]vm.Value, len(recs))
	for i, rec := range recs {
		vals := make([]vm.Value, len(rec))
		for j, cell := range rec {
			vals[j] = cellValue(cell)
		}
		if rr.shape != nil {
			out[i] = vm.ObjectValue(vm.NewObjectShaped(rr.shape, vals))
			continue
		}
		o := vm.NewObject()
		for j, v := range vals {
			o.Set(rr.cols[j], v)
		}
		out[i] = vm.ObjectValue(o)
	}
	return out
}

// cellValue types a CSV cell as the reference does: `42` and `-7` are
// Ints, `3.14` and `.5` Floats, true and false Bools, null, nil and the
// empty cell nil, and anything else the String it is. A number written
// with a leading zero (`007`, a postcode), an integer past the Int
// range (an account number) and a decimal with more digits than a Float
// holds stay Strings, so that no digit is lost.
func cellValue(s string) vm.Value {
	switch s {
	case "", "null", "nil":
		return vm.Nil
	case "true":
		return vm.True
	case "false":
		return vm.False
	}
	digits := strings.TrimPrefix(s, "-")
	whole, frac, dot := strings.Cut(digits, ".")
	if !allDigits(whole) || len(whole) > 1 && whole[0] == '0' {
		return vm.Str(s)
	}
	if !dot {
		if whole == "" {
			return vm.Str(s)
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return vm.Int(n)
		}
		return vm.Str(s)
	}
	if frac == "" || !allDigits(frac) {
		return vm.Str(s)
	}
	f, _ := strconv.ParseFloat(s, 64)
	if len(strings.TrimLeft(whole+frac, "0")) > 15 {
		// (12345678901234567.5 read as 12345678901234568): a decimal a
		// Float does not hold, whose shortest text is another, stays the
		// String it is, as a long integer does
		exact := cmp.Or(strings.TrimLeft(whole, "0"), "0")
		if frac = strings.TrimRight(frac, "0"); frac != "" {
			exact += "." + frac
		}
		if strconv.FormatFloat(math.Abs(f), 'f', -1, 64) != exact {
			return vm.Str(s)
		}
	}
	return vm.Float(f)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// readLines reads up to max non-blank lines of a JSON Lines file,
// with their line numbers, advancing off and line past them.
func (rr *rowReader) readLines(t *vm.Thread, r io.Reader, max int) (lines []string, nums []int, eof bool, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	for len(lines) < max {
		if len(lines)&0xFFFF == 0xFFFF {
			if err := cancelled(t); err != nil {
				return nil, nil, false, err
			}
		}
		at := rr.off
		b, err := br.ReadBytes('\n')
		if err == io.EOF && rr.tail >= 0 && at == rr.tail {
			if torn, _ := tornJSONLine(nil, 0, b); torn {
				// A last line cut short: not read, and the next
				// batch starts at it again.
				return lines, nums, true, nil
			}
		}
		if len(b) > 0 {
			first := rr.off == 0
			rr.off += int64(len(b)) // the mark's bytes too: the next batch starts after them
			if first {
				b = bytes.TrimPrefix(b, bom)
			}
			if s := bytes.TrimSpace(b); len(s) > 0 {
				lines = append(lines, string(s))
				nums = append(nums, rr.line)
			}
			rr.line++
		}
		if err == io.EOF {
			return lines, nums, true, nil
		}
		if errors.Is(err, errTooLarge) {
			return nil, nil, false, err
		}
		if err != nil {
			return nil, nil, false, fileErr(rr.fname, rr.path, err)
		}
	}
	return lines, nums, false, nil
}

// jsonRows parses the lines of a JSON Lines file.
func (rr *rowReader) jsonRows(lines []string, nums []int) ([]vm.Value, error) {
	out := make([]vm.Value, len(lines))
	for i, l := range lines {
		v, err := ParseJSONString(l)
		if err != nil {
			return nil, valueErr("%s: %s: line %d: %s", rr.fname, rr.path, nums[i], lineJSONError(errMessage(err)))
		}
		out[i] = v
	}
	return out, nil
}

// lineJSONError rewrites JSON.parse's message for one line of a file:
// the position in the line is its column.
func lineJSONError(msg string) string {
	msg = strings.TrimPrefix(msg, "JSON.parse: ")
	if i := strings.LastIndex(msg, " (line 1, column "); i >= 0 {
		var col, off int
		if _, err := fmt.Sscanf(msg[i:], " (line 1, column %d, offset %d)", &col, &off); err == nil {
			return fmt.Sprintf("column %d: %s", col, msg[:i])
		}
	}
	return msg
}

// ---------------------------------------------------------------- write

func bWrite(t *vm.Thread, args []vm.Value) (vm.Value, error) {
	v := arg(args, 0)
	path, err := dataPath("write", arg(args, 1))
	if err != nil {
		return vm.Nil, err
	}
	if args, err = spreadOptions("write", args, 2, "append", "delimiter"); err != nil {
		return vm.Nil, err
	}
	appending := false
	if has(args, 2) {
		if args[2].Kind() != vm.KBool {
			return vm.Nil, typeErr("write", "Bool append", args[2])
		}
		appending = args[2].AsBool()
	}
	format, comma := formatOf(path)
	if has(args, 3) {
		if comma, err = delimiterArg("write", args[3]); err != nil {
			return vm.Nil, err
		}
		if format == formatOther {
			format = formatCSV
		}
	}
	switch format {
	case formatCSV:
		return vm.Nil, writeCSV(t, v, path, comma, appending)
	case formatJSONL:
		if v.Kind() != vm.KArray {
			return vm.Nil, vm.TypeErrorf("write: a .jsonl file takes a list (one JSON value a line), got %s", vm.TypeName(v))
		}
		var data []byte
		for _, x := range v.AsArray().Elems {
			if data, err = AppendJSON(t, data, x); err != nil {
				return vm.Nil, jsonWriteErr(path, err)
			}
			data = append(data, '\n')
		}
		if len(data) > vm.MaxStringBytes {
			return vm.Nil, vm.StringTooLarge("write: "+path, len(data))
		}
		if appending {
			return vm.Nil, appendFile(t, path, tornJSONLine, func(*os.File, int64) ([]byte, error) { return data, nil })
		}
		return vm.Nil, replaceFile(t, path, data)
	}
	// .json, and any other extension: the value, indented as the
	// reference writes it.
	if appending {
		return vm.Nil, valueErr("write: append: true is for .csv, .tsv, .jsonl and .ndjson files (a JSON file holds one value): %s", path)
	}
	data, err := AppendJSONIndent(t, nil, v, "  ")
	if err != nil {
		return vm.Nil, jsonWriteErr(path, err)
	}
	return vm.Nil, replaceFile(t, path, append(data, '\n'))
}

func jsonWriteErr(path string, err error) error {
	if e, ok := err.(*vm.Error); ok {
		return vm.Errorf(e.Kind, "write: %s: %s", path, strings.TrimPrefix(e.Msg, "JSON.stringify: "))
	}
	return err
}

// writeCSV writes a list of objects as CSV: one column for each key
// (the union of the rows' keys, in the order first seen), nil as an
// empty cell, lists and objects as their JSON text. Appended rows go
// under the file's own header; a row with a key that header lacks is
// refused before anything is written.
func writeCSV(t *vm.Thread, v vm.Value, path string, comma rune, appending bool) error {
	if v.Kind() != vm.KArray {
		return vm.TypeErrorf("write: a .csv file takes a list of objects, got %s", vm.TypeName(v))
	}
	rows := v.AsArray().Elems
	for i, r := range rows {
		if r.Kind() != vm.KObject {
			return vm.TypeErrorf("write: a .csv file takes a list of objects: row %d is %s", i+1, vm.TypeName(r))
		}
	}
	if !appending {
		data, err := csvText(t, path, rows, columnsOf(rows), true, comma)
		if err != nil {
			return err
		}
		return replaceFile(t, path, data)
	}
	return appendFile(t, path, tornCSVRow(path, comma), func(f *os.File, size int64) ([]byte, error) {
		var cols []string
		if size > 0 {
			var err error
			if cols, err = csvHeader(t, f, path, comma); err != nil {
				return nil, err
			}
		}
		if cols == nil {
			return csvText(t, path, rows, columnsOf(rows), true, comma)
		}
		known := make(map[string]bool, len(cols))
		for _, c := range cols {
			known[c] = true
		}
		for i, r := range rows {
			for _, k := range r.AsObject().Keys() {
				if !known[k] {
					return nil, valueErr("write: %s: row %d has a column %q that the file's header (%s) has not: nothing was written", path, i+1, k, strings.Join(cols, ", "))
				}
			}
		}
		return csvText(t, path, rows, cols, false, comma)
	})
}

// columnsOf returns the keys of the rows, in the order first seen.
func columnsOf(rows []vm.Value) []string {
	var cols []string
	seen := map[string]bool{}
	for _, r := range rows {
		for _, k := range r.AsObject().Keys() {
			if !seen[k] {
				seen[k] = true
				cols = append(cols, k)
			}
		}
	}
	return cols
}

// csvText formats rows under cols, with a header line when header is
// set.
func csvText(t *vm.Thread, path string, rows []vm.Value, cols []string, header bool, comma rune) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Comma = comma
	if header && len(cols) > 0 {
		w.Write(cols)
	}
	rec := make([]string, len(cols))
	for _, r := range rows {
		o := r.AsObject()
		for j, c := range cols {
			x, _ := o.Get(c)
			s, err := cellText(t, x)
			if err != nil {
				return nil, jsonWriteErr(path, err)
			}
			rec[j] = s
		}
		if len(rec) == 1 && rec[0] == "" {
			// One empty cell would be a blank line, which readers skip:
			// quoted, it is a row (as Python's csv writes it).
			w.Flush()
			buf.WriteString("\"\"\n")
			continue
		}
		w.Write(rec)
		if buf.Len() > vm.MaxStringBytes {
			return nil, vm.StringTooLarge("write: "+path, buf.Len())
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// cellText is the CSV text of a value: an Option's is what it holds
// (Some(3) is 3, None an empty cell, as nil is).
func cellText(t *vm.Thread, v vm.Value) (string, error) {
	for {
		x, ok := vm.OptionValue(v)
		if !ok {
			break
		}
		v = x // (Some(Some(2)) is 2)
	}
	switch v.Kind() {
	case vm.KNil:
		return "", nil
	case vm.KString:
		return v.AsString(), nil
	case vm.KArray, vm.KObject, vm.KRange:
		b, err := AppendJSON(t, nil, v)
		if err != nil {
			return "", err
		}
		return string(b), nil
	case vm.KFloat:
		// (1.0 was written 1, and read back an Int: the column's kind
		// changed by a read and a write)
		s := vm.ToString(v)
		if f := v.AsFloat(); !math.IsInf(f, 0) && !math.IsNaN(f) && !strings.ContainsAny(s, ".eEn") {
			s += ".0"
		}
		return s, nil
	case vm.KDuration, vm.KSize:
		// as JSON writes them: milliseconds, bytes (10m was read back
		// as the String "10m")
		b, err := AppendJSON(t, nil, v)
		if err != nil {
			return "", err
		}
		return string(b), nil
	}
	if v.IsCallable() {
		return "", vm.TypeErrorf("a function cannot be a CSV cell (it was written as its display text)")
	}
	return vm.ToString(v), nil
}

// csvHeader reads the header of the CSV file f: nil when it has only
// blank lines.
func csvHeader(t *vm.Thread, f *os.File, path string, comma rune) (cols []string, err error) {
	t.Blocking(func() {
		rr := &rowReader{fname: "write", path: path, format: formatCSV, csv: csvOptions{comma: comma, header: true}, line: 1}
		_, _, err = rr.readCSV(t, io.NewSectionReader(f, 0, 1<<62), 0)
		cols = rr.cols
	})
	return cols, err
}

// appendFile appends what content gives to path, creating the file;
// content sees it open for reading, and its size. A file that does not
// end in a line break ends in a row an append cut short (the process
// killed while it wrote: its writes always end in one) when torn says so
// of that last line (tail, the bytes after the last line break; f is the
// file, of size bytes): the part row is cut off as the rows go in, since
// it cannot be read and made every row of the file unreadable.
// Otherwise (a file written elsewhere, without a last line break) it
// gets one first, so that no row is glued to its last line. An error of
// torn refuses the append. An append that fails leaves the file's rows
// as they were.
func appendFile(t *vm.Thread, path string, torn tornRow, content func(f *os.File, size int64) ([]byte, error)) error {
	var f *os.File
	var st os.FileInfo
	var err error
	var size, cut int64 // cut: the part row's bytes, cut off before the rows go in
	glue := false       // a line break goes before the rows
	unlock := func() {}
	t.Blocking(func() {
		if f, err = os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o644); err != nil {
			err = writeFileErr(path, err)
			return
		}
		// One append at a time, from the size and header it reads to
		// the rows it writes: two at once both took an empty file for
		// new, and wrote its header twice.
		if unlock, err = lockFile(f); err != nil {
			err = fileErr("write", path, err)
			return
		}
		if st, err = f.Stat(); err != nil {
			err = fileErr("write", path, err)
			return
		}
		size = st.Size()
		tail, whole := lastLine(f, size)
		if len(tail) > 0 && whole {
			var isTorn bool
			if isTorn, err = torn(f, size, tail); err != nil {
				return
			}
			if isTorn {
				cut = int64(len(tail))
			}
		}
		glue = len(tail) > 0 && cut == 0
	})
	if f == nil {
		return err
	}
	defer f.Close()
	defer unlock()
	if err != nil {
		return err
	}
	data, err := content(f, size)
	if err != nil || len(data) == 0 {
		return err // (the file as it was, a part row included)
	}
	t.Blocking(func() {
		if glue {
			data = append([]byte{'\n'}, data...)
		}
		if cut > 0 {
			if err = f.Truncate(size - cut); err != nil {
				return
			}
			size -= cut
		}
		if _, err = f.Write(data); err != nil {
			f.Truncate(size) // (no part row left behind)
			return
		}
		err = f.Close()
	})
	if err != nil {
		return fileErr("write", path, err)
	}
	return nil
}

// maxTornLine is the longest last line appendFile looks at to tell a row
// an append cut short.
const maxTornLine = 16 << 20

// lastLine returns the bytes of f (of size bytes) after its last line
// break: none when it ends in one. whole is false when there are more
// than maxTornLine of them (only their end is returned).
func lastLine(f *os.File, size int64) (tail []byte, whole bool) {
	if size == 0 {
		return nil, true
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, size-1); err != nil || last[0] == '\n' {
		return nil, err == nil // (the common case: one byte read)
	}
	var buf []byte
	for end := size; end > 0; {
		n := min(end, 64<<10)
		chunk := make([]byte, n)
		if _, err := f.ReadAt(chunk, end-n); err != nil {
			return buf, false
		}
		if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
			return append(chunk[i+1:], buf...), true
		}
		buf = append(chunk, buf...)
		end -= n
		if len(buf) > maxTornLine {
			return buf, false
		}
	}
	return buf, true // the whole file is one line
}

// A tornRow says whether tail, the last line of the file f (of size
// bytes), with no line break after it, is a row an append cut short.
type tornRow func(f *os.File, size int64, tail []byte) (bool, error)

// tornJSONLine says whether the last line of a JSON Lines file is a
// value an append cut short: JSON that ends before it is whole. (A line
// that is not JSON in another way, such as the NaN another tool may
// write, is not this runtime's to cut.)
func tornJSONLine(_ *os.File, _ int64, tail []byte) (bool, error) {
	var v json.RawMessage
	return json.NewDecoder(bytes.NewReader(tail)).Decode(&v) == io.ErrUnexpectedEOF, nil
}

// tornCSVRow says whether the last line of a CSV file is a row an append
// cut short, which the whole file is read to tell (only a file that does
// not end in a line break is): a row with fewer cells than the header,
// or one whose quoted cell is still open at the end of the file. Either
// made the whole file unreadable. A cell left open that began on an
// earlier line (in a cell written over several lines, or in a quote
// another tool left unclosed) is not cut: the append is refused, naming
// the line, as nothing tells which rows are whole.
func tornCSVRow(path string, comma rune) tornRow {
	return func(f *os.File, size int64, tail []byte) (bool, error) {
		r := csv.NewReader(bufio.NewReaderSize(io.NewSectionReader(f, 0, size), 64<<10))
		r.Comma, r.FieldsPerRecord, r.ReuseRecord = comma, -1, true
		last := size - int64(len(tail)) // where the last line begins
		header := -1
		for {
			start := r.InputOffset()
			rec, err := r.Read()
			var pe *csv.ParseError
			switch {
			case err == io.EOF:
				return false, nil
			case errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrQuote) && r.InputOffset() == size:
				if start >= last {
					return true, nil
				}
				return false, valueErr("write: %s: its last row, from line %d, has a quoted cell left open at the end of the file (an append cut short?): nothing was written; mend or remove that row", path, pe.StartLine)
			case err != nil:
				return false, nil // broken elsewhere: not a part row
			case header < 0:
				header = len(rec)
			case start >= last && len(rec) < header:
				return true, nil
			}
		}
	}
}

// replaceFile writes data to a temporary file beside path and renames
// it over path, so that a failed write leaves the old file whole.
// A path naming a stream (the process's own stdout or stderr, a pipe,
// a device) is written to, not replaced: renaming over /dev/stdout of
// a `> out.txt` replaced that file, losing what print had written to
// it, and over a FIFO left its reader with nothing.
func replaceFile(t *vm.Thread, path string, data []byte) (err error) {
	if w := stdStream(t, path); w != nil {
		if _, err := w.Write(data); err != nil {
			return fileErr("write", path, err)
		}
		return nil
	}
	if st, serr := os.Stat(path); serr == nil && !st.Mode().IsRegular() && !st.IsDir() {
		t.Blocking(func() { err = writeInPlace(path, data) }) // (a FIFO waits for its reader)
		return err
	}
	t.Working(func() { err = replaceFileBlocking(path, data) })
	return err
}

// stdStream is the writer of the process's own stream path names
// (/dev/stdout, /dev/fd/2, /proc/self/fd/1): print's, so that what both
// write keeps its order; nil for another path.
func stdStream(t *vm.Thread, path string) io.Writer {
	var w io.Writer
	switch filepath.Clean(path) {
	case "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1":
		w = t.Stdout()
	case "/dev/stderr", "/dev/fd/2", "/proc/self/fd/2":
		w = t.In.Cfg.Stderr
	}
	return w
}

// writeInPlace writes data to the stream (a pipe, a device) path names.
func writeInPlace(path string, data []byte) error {
	return writeOpen(path, path, os.O_WRONLY, data)
}

// writeOpen writes data to target opened with flag (path as the program
// named it, for errors).
func writeOpen(path, target string, flag int, data []byte) error {
	f, err := os.OpenFile(target, flag, 0)
	if err != nil {
		return fileErr("write", path, err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fileErr("write", path, err)
	}
	return nil
}

// linkTarget is the file a write to path writes: path, or the file the
// symbolic link path leads to, also one that does not exist yet (the
// link was replaced by a file), following up to 40 links.
func linkTarget(path string) string {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		return real
	}
	target := path
	for range 40 {
		st, err := os.Lstat(target)
		if err != nil || st.Mode()&fs.ModeSymlink == 0 {
			return target
		}
		dest, err := os.Readlink(target)
		if err != nil {
			return target
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(target), dest)
		}
		target = dest
	}
	return target
}

func replaceFileBlocking(path string, data []byte) error {
	target := linkTarget(path)                 // write through a link, not over it
	mode := fs.FileMode(0o644) &^ processUmask // (a new file's, as os.WriteFile's would be)
	if st, err := os.Stat(target); err == nil {
		if st.IsDir() {
			return fileErr("write", path, syscall.EISDIR)
		}
		// Renaming over a file needs no permission on the file itself:
		// ask for it, as writing in place would.
		f, err := os.OpenFile(target, os.O_WRONLY, 0)
		if err != nil {
			return fileErr("write", path, err)
		}
		f.Close()
		mode = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".*.tmp")
	if errors.Is(err, fs.ErrPermission) {
		if _, serr := os.Stat(target); serr == nil {
			// A writable file in a directory this process may not
			// create files in (/etc/app/config.json): written in
			// place, as it can be, not refused
			return writeOpen(path, target, os.O_WRONLY|os.O_TRUNC, data)
		}
	}
	if err != nil {
		return writeFileErr(path, err)
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), target)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fileErr("write", path, err)
	}
	return nil
}

// writeFileErr is fileErr for creating path, where a missing file
// means a missing directory.
func writeFileErr(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return &vm.Error{Kind: "IOError", Msg: fmt.Sprintf("write: no such directory: %s", filepath.Dir(path)), Cause: err}
	}
	return fileErr("write", path, err)
}
