package bytecode

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"strconv"
	"strings"

	"tova/frontend/parse"
	"tova/internal/routepath"
)

// msgChecksumMismatch is the message of a file whose checksum does not
// match: its text names no offset (the damage may be anywhere).
const msgChecksumMismatch = "checksum mismatch: file is corrupted"

// FormatError reports why Decode rejected its input.
//
// Section says which part of the file is at fault: "magic" (not a .tbc
// file), "version" (a file of another format version), "header",
// "file" (section framing and order), "checksum", or the name of a
// section ("sources", "constants", "types", "builtins", "globals",
// "functions", "servers", "configs"). Offset is the byte offset in the input where
// the problem was found.
type FormatError struct {
	Section string
	Offset  int
	Msg     string
	// Newer is set for a file of a later format version than this tova
	// reads (Section "version"): made by a newer tova.
	Newer bool
}

// Error reads "corrupt .tbc: <Msg> at byte <Offset>", except for a
// checksum mismatch (no offset: the damage may be anywhere) and the two
// errors that do not mean the file is damaged, input that is not a .tbc
// file at all and a file of another format version, which read as Msg
// alone: "not a .tbc file", "built for .tbc format 2, this tova reads 1".
func (e *FormatError) Error() string {
	switch {
	case e.Section == "magic" || e.Section == "version":
		return e.Msg
	case e.Msg == msgChecksumMismatch:
		return "corrupt .tbc: " + e.Msg
	}
	return "corrupt .tbc: " + e.Msg + " at byte " + strconv.Itoa(e.Offset)
}

// ReadFile reads and decodes the .tbc file at path. Errors from Decode
// are *FormatError values wrapped with the path.
func ReadFile(path string) (*Program, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// sectionSpan locates one section's payload in the input.
type sectionSpan struct {
	tag        byte
	start, end int // payload bytes
	at         int // offset of the tag byte
}

// Decode parses and validates a .tbc file. It checks, in order: the
// magic bytes, the format version, the flags, the section framing, the
// checksum, the section order, each payload, and finally every
// instruction against the Ops table (see Program.Validate). Any failure
// is a *FormatError; Decode never panics.
func Decode(data []byte) (*Program, error) {
	if err := checkHeader(data); err != nil {
		return nil, err
	}
	spans, err := frame(data)
	if err != nil {
		return nil, err
	}
	d := &decoder{data: data, sectionAt: make(map[string]int, len(spans))}
	p := &Program{}
	parsers := [numTags]func(*Program){
		tagSources:   d.sources,
		tagConstants: d.constants,
		tagTypes:     d.types,
		tagBuiltins:  func(p *Program) { p.Builtins = d.strings() },
		tagGlobals:   func(p *Program) { p.Globals = d.strings() },
		tagFunctions: d.functions,
		tagServers:   d.servers,
		tagConfigs:   func(p *Program) { p.Configs = d.configs() },
	}
	for _, s := range spans {
		d.off, d.end, d.sec = s.start, s.end, sectionNames[s.tag]
		d.sectionAt[d.sec] = s.at
		parsers[s.tag](p)
		if d.err == nil && d.off != d.end {
			d.fail(d.off, "unexpected bytes at end of %s section (%d)", d.sec, d.end-d.off)
		}
		if d.err != nil {
			return nil, d.err
		}
	}
	if bad := p.validate(); bad != nil {
		return nil, &FormatError{Section: bad.section, Offset: d.offsetOf(bad), Msg: bad.msg}
	}
	return p, nil
}

// checkHeader checks magic, version and flags.
func checkHeader(data []byte) *FormatError {
	n := min(len(data), len(magic))
	if string(data[:n]) != magic[:n] {
		msg := "not a .tbc file"
		switch rest := string(data[min(4, len(data)):]); {
		case n < 4 || string(data[:4]) != magic[:4]:
		case strings.HasPrefix(rest, "\n\x1a\n") || strings.HasPrefix(rest, "\r\r\n\x1a\r\n"):
			// \r\n made \n, or \n made \r\n: what a text copy does
			msg += " (its line endings were converted: copy it as binary)"
		default:
			msg += " (its header is damaged)"
		}
		return &FormatError{Section: "magic", Offset: 0, Msg: msg}
	}
	if len(data) < headerSize {
		if len(data) == 0 {
			return &FormatError{Section: "magic", Offset: 0, Msg: "not a .tbc file (empty)"}
		}
		return &FormatError{Section: "header", Offset: len(data), Msg: "truncated header"}
	}
	if v := binary.LittleEndian.Uint16(data[len(magic):]); v != Version {
		if v > Version+64 {
			// (a format far past any this tova's successors will have
			// soon: a damaged header more likely than a newer tova)
			return &FormatError{Section: "version", Offset: len(magic),
				Msg: fmt.Sprintf("not a .tbc file of any tova (its header names format %d, and this tova reads %d: it is damaged)", v, Version)}
		}
		return &FormatError{Section: "version", Offset: len(magic), Newer: v > Version,
			Msg: fmt.Sprintf("built for .tbc format %d, this tova reads %d", v, Version)}
	}
	if f := binary.LittleEndian.Uint32(data[len(magic)+2:]); f&^knownFlags != 0 {
		return &FormatError{Section: "header", Offset: len(magic) + 2,
			Msg: fmt.Sprintf("unknown flags 0x%x", f&^knownFlags)}
	}
	return nil
}

// frame walks the section framing up to the checksum without reading
// any payload, verifies the checksum, and then checks that every section
// is present once and in order.
func frame(data []byte) ([]sectionSpan, *FormatError) {
	var spans []sectionSpan
	off := headerSize
	for {
		if off >= len(data) {
			next := nextSection(spans)
			if next == tagEnd {
				return nil, &FormatError{Section: "checksum", Offset: off, Msg: "truncated checksum"}
			}
			return nil, &FormatError{Section: tagName(next), Offset: off,
				Msg: "truncated " + tagName(next) + " section"}
		}
		tag := data[off]
		if tag == tagEnd {
			break
		}
		name := tagName(tag)
		length, n := binary.Uvarint(data[off+1:])
		if n <= 0 || uint64(len(data)-off-1-n) < length {
			return nil, &FormatError{Section: name, Offset: off, Msg: "truncated " + name + " section"}
		}
		start := off + 1 + n
		spans = append(spans, sectionSpan{tag: tag, start: start, end: start + int(length), at: off})
		off = start + int(length)
	}
	end := off + 1
	if len(data)-end < 4 {
		return nil, &FormatError{Section: "checksum", Offset: end, Msg: "truncated checksum"}
	}
	if binary.LittleEndian.Uint32(data[end:]) != crc32.Checksum(data[:end], castagnoli) {
		return nil, &FormatError{Section: "checksum", Offset: end, Msg: msgChecksumMismatch}
	}
	if len(data) > end+4 {
		return nil, &FormatError{Section: "file", Offset: end + 4,
			Msg: fmt.Sprintf("trailing bytes after checksum (%d)", len(data)-end-4)}
	}
	var seen [numTags]bool
	last := tagEnd
	for _, s := range spans {
		switch {
		case s.tag >= numTags:
			return nil, &FormatError{Section: "file", Offset: s.at, Msg: "unknown " + tagName(s.tag) + " section"}
		case seen[s.tag]:
			return nil, &FormatError{Section: "file", Offset: s.at, Msg: "duplicate " + tagName(s.tag) + " section"}
		case s.tag < last:
			return nil, &FormatError{Section: "file", Offset: s.at,
				Msg: "out-of-order section: " + tagName(s.tag) + " after " + tagName(last)}
		}
		seen[s.tag] = true
		last = s.tag
	}
	for tag := tagSources; tag < numTags; tag++ {
		if !seen[tag] {
			return nil, &FormatError{Section: "file", Offset: off, Msg: "missing " + tagName(tag) + " section"}
		}
	}
	return spans, nil
}

// nextSection returns the tag expected after spans, for a file that
// ends where a tag should be.
func nextSection(spans []sectionSpan) byte {
	if len(spans) == 0 {
		return tagSources
	}
	if t := spans[len(spans)-1].tag; t+1 < numTags {
		return t + 1
	}
	return tagEnd
}

func tagName(tag byte) string {
	if tag < numTags {
		return sectionNames[tag]
	}
	return fmt.Sprintf("tag-%d", tag)
}

// decoder reads one section payload, data[off:end]. The first error
// sticks: after it every read returns a zero value, so parsing code
// needs no error checks of its own and cannot index past the input.
type decoder struct {
	data     []byte
	off, end int
	sec      string
	err      *FormatError

	// Where each section and each function's parts start, for
	// validation errors.
	sectionAt                       map[string]int
	funcAt, codeAt, linesAt, capsAt []int
}

func (d *decoder) fail(off int, format string, args ...any) {
	if d.err == nil {
		d.err = &FormatError{Section: d.sec, Offset: off, Msg: fmt.Sprintf(format, args...)}
	}
}

func (d *decoder) truncated() {
	d.fail(d.off, "truncated %s section", d.sec)
	d.off = d.end
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if d.off >= d.end {
		d.truncated()
		return 0
	}
	b := d.data[d.off]
	d.off++
	return b
}

// uvarint reads a varint in its shortest form.
func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Uvarint(d.data[d.off:d.end])
	switch {
	case n == 0:
		d.truncated()
		return 0
	case n < 0:
		d.fail(d.off, "varint overflows 64 bits in %s section", d.sec)
		return 0
	case n > 1 && d.data[d.off+n-1] == 0:
		d.fail(d.off, "non-canonical varint in %s section", d.sec)
		return 0
	}
	d.off += n
	return x
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

// int reads a uvarint that must not exceed max (at most MaxInt32, so
// that it fits an int everywhere).
func (d *decoder) int(what string, max int) int {
	at := d.off
	x := d.uvarint()
	if x > uint64(max) {
		d.fail(at, "%s %d too large (limit %d)", what, x, max)
		return 0
	}
	return int(x)
}

// int32 reads a signed varint that must fit an int32.
func (d *decoder) int32(what string) int32 {
	at := d.off
	x := d.varint()
	if x != int64(int32(x)) {
		d.fail(at, "%s %d out of range", what, x)
		return 0
	}
	return int32(x)
}

// count reads a list length and checks that the rest of the section can
// hold that many elements of at least minSize bytes, so that no list is
// allocated beyond what the input could fill.
func (d *decoder) count(minSize int) int {
	x := d.uvarint()
	if x > uint64((d.end-d.off)/minSize) {
		d.truncated()
		return 0
	}
	return int(x)
}

func (d *decoder) bool() bool {
	at := d.off
	switch b := d.byte(); b {
	case 0:
		return false
	case 1:
		return true
	default:
		d.fail(at, "bad boolean byte 0x%02x in %s section", b, d.sec)
		return false
	}
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if d.end-d.off < n {
		d.truncated()
		return nil
	}
	b := d.data[d.off : d.off+n]
	d.off += n
	return b
}

func (d *decoder) string() string {
	n := d.count(1)
	return string(d.bytes(n))
}

func (d *decoder) strings() []string {
	n := d.count(1)
	if n == 0 {
		return nil
	}
	list := make([]string, n)
	for i := range list {
		list[i] = d.string()
	}
	return list
}

func (d *decoder) hash() (h [32]byte) {
	copy(h[:], d.bytes(32))
	return h
}

func (d *decoder) sources(p *Program) {
	if n := d.count(33); n > 0 {
		p.Files = make([]SourceFile, n)
		for i := range p.Files {
			p.Files[i].Name = d.string()
			p.Files[i].Hash = d.hash()
		}
	}
	p.SourceHash = d.hash()
}

func (d *decoder) constants(p *Program) {
	n := d.count(1)
	if n == 0 {
		return
	}
	p.Constants = make([]Constant, n)
	for i := range p.Constants {
		k := &p.Constants[i]
		at := d.off
		k.Kind = ConstKind(d.byte())
		switch k.Kind {
		case KNil:
		case KInt:
			k.Int = d.varint()
		case KFloat:
			if b := d.bytes(8); b != nil {
				k.Float = math.Float64frombits(binary.LittleEndian.Uint64(b))
			}
		case KString:
			k.Str = d.string()
		case KBool:
			if d.bool() {
				k.Int = 1
			}
		case KNames:
			k.Names = d.strings()
		default:
			d.fail(at, "constant %d has unknown kind %d", i, k.Kind)
		}
		if d.err != nil {
			return
		}
	}
}

func (d *decoder) types(p *Program) {
	n := d.count(5) // name, fields, variants, derive, field types
	if n == 0 {
		return
	}
	p.Types = make([]*TypeDesc, n)
	for i := range p.Types {
		t := &TypeDesc{Name: d.string(), Fields: d.strings()}
		if nv := d.count(2); nv > 0 {
			t.Variants = make([]VariantDesc, nv)
			for j := range t.Variants {
				t.Variants[j] = VariantDesc{Name: d.string(), Fields: d.strings()}
			}
		}
		t.Derive = d.strings()
		at := d.off
		t.FieldTypes = d.strings()
		if len(t.FieldTypes) != 0 && len(t.FieldTypes) != len(t.Fields) {
			d.fail(at, "type %s has %d field types for %d fields", t.Name, len(t.FieldTypes), len(t.Fields))
		}
		t.Defaults = d.defaults()
		for j := range t.Variants {
			t.Variants[j].Defaults = d.defaults()
		}
		for j := range t.Variants {
			v := &t.Variants[j]
			at := d.off
			v.FieldTypes = d.strings()
			if len(v.FieldTypes) != 0 && len(v.FieldTypes) != len(v.Fields) {
				d.fail(at, "variant %s has %d field types for %d fields", v.Name, len(v.FieldTypes), len(v.Fields))
			}
		}
		p.Types[i] = t
		if d.err != nil {
			return
		}
	}
}

// defaults reads the field defaults of a type or variant (validate
// checks them).
func (d *decoder) defaults() []int {
	m := d.count(1)
	if m == 0 {
		return nil
	}
	list := make([]int, m)
	for i := range list {
		list[i] = d.int("field default", math.MaxInt32)
	}
	return list
}

// checkDefaults checks the field defaults of a type or variant with n
// fields: none, or one per field, each 0 or one more than the index of a
// constant that is no name list.
func (p *Program) checkDefaults(owner string, list []int, n int) string {
	if len(list) != 0 && len(list) != n {
		return fmt.Sprintf("%s has %d field defaults for %d fields", owner, len(list), n)
	}
	for i, k := range list {
		switch {
		case k > len(p.Constants):
			return fmt.Sprintf("%s: the default of field %d is K[%d], out of range (%d constants)", owner, i, k-1, len(p.Constants))
		case k > 0 && p.Constants[k-1].Kind == KNames:
			return fmt.Sprintf("%s: the default of field %d is a names constant", owner, i)
		}
	}
	return ""
}

// minFuncSize is the fewest bytes a function can take: a one-byte field
// each for name, file, line, col, flags, params, regs, param names,
// param types, code, lines and captures.
const minFuncSize = 12

func (d *decoder) functions(p *Program) {
	n := d.count(minFuncSize)
	if n == 0 {
		return
	}
	p.Funcs = make([]*Func, n)
	d.funcAt = make([]int, n)
	d.codeAt = make([]int, n)
	d.linesAt = make([]int, n)
	d.capsAt = make([]int, n)
	for i := range p.Funcs {
		d.funcAt[i] = d.off
		f := &Func{Name: d.string()}
		f.File = d.int("file index", math.MaxInt32)
		f.Pos = d.pos()
		at := d.off
		flags := d.byte()
		if flags&^fnKnownFlags != 0 {
			d.fail(at, "function %d %q: unknown flags 0x%02x", i, f.Name, flags&^fnKnownFlags)
		}
		f.HasRest = flags&fnHasRest != 0
		f.Async = flags&fnAsync != 0
		f.NumParams = d.int("parameter count", MaxA+1)
		f.NumRegs = d.int("register count", MaxA+1)
		f.ParamNames = d.strings()
		f.ParamTypes = d.strings()

		nc := d.count(8)
		d.codeAt[i] = d.off
		if b := d.bytes(8 * nc); len(b) > 0 {
			f.Code = make([]Instr, nc)
			for j := range f.Code {
				f.Code[j] = Instr(binary.LittleEndian.Uint64(b[8*j:]))
			}
		}

		d.linesAt[i] = d.off
		if nl := d.count(3); nl > 0 {
			f.Lines = make([]LineEntry, nl)
			pc, line := uint64(0), int64(f.Pos.Line)
			for j := range f.Lines {
				at := d.off
				dpc := d.uvarint()
				line += d.varint()
				if d.err == nil && dpc >= uint64(len(f.Code))-pc {
					d.fail(at, "function %d %q: line table: pc %d past end of code (%d instructions)", i, f.Name, pc+dpc, len(f.Code))
				}
				pc += dpc
				if d.err == nil && line != int64(int32(line)) {
					d.fail(at, "function %d %q: line table: line %d out of range", i, f.Name, line)
				}
				f.Lines[j] = LineEntry{PC: uint32(pc), Pos: Pos{Line: int32(line), Col: d.int32("column")}}
			}
		}

		d.capsAt[i] = d.off
		if nk := d.count(1); nk > 0 {
			f.Captures = make([]Capture, nk)
			for j := range f.Captures {
				at := d.off
				x := d.uvarint()
				if x>>1 > MaxB {
					d.fail(at, "function %d %q: capture %d: index %d out of range", i, f.Name, j, x>>1)
				}
				f.Captures[j] = Capture{FromParentFree: x&1 != 0, Index: int(x >> 1)}
			}
		}
		p.Funcs[i] = f
		if d.err != nil {
			return
		}
	}
}

func (d *decoder) pos() Pos {
	return Pos{Line: d.int32("line"), Col: d.int32("column")}
}

// Least sizes of server metadata entries, as for minFuncSize.
const (
	minServerSize    = 10 // name, line, col, init, port, line, col, routes, hooks, configs
	minRouteSize     = 9  // kind, method, path, slot, guards, body type, scope, line, col
	minHookSize      = 7  // kind, name, arg, scope, slot, line, col
	minConfigSize    = 6  // kind, name, slot, line, col, keys
	minConfigKeySize = 3  // name, line, col
)

func (d *decoder) servers(p *Program) {
	n := d.count(minServerSize)
	if n == 0 {
		return
	}
	p.Servers = make([]*Server, n)
	for i := range p.Servers {
		s := &Server{Name: d.string(), Pos: d.pos()}
		s.Init = d.int("init function", math.MaxInt32)
		at := d.off
		if port := d.varint(); port < -1 || port > math.MaxInt32 {
			d.fail(at, "server %d %q: port slot %d out of range", i, s.Name, port)
		} else {
			s.Port = int(port)
		}
		s.PortPos = d.pos()
		if nr := d.count(minRouteSize); nr > 0 {
			s.Routes = make([]Route, nr)
			for j := range s.Routes {
				r := &s.Routes[j]
				r.Kind, r.Method, r.Path = d.string(), d.string(), d.string()
				r.Slot = d.int("slot", math.MaxInt32)
				if ng := d.count(1); ng > 0 {
					r.Guards = make([]int, ng)
					for k := range r.Guards {
						r.Guards[k] = d.int("slot", math.MaxInt32)
					}
				}
				r.BodyType = d.string()
				r.Scope = d.string()
				r.Pos = d.pos()
			}
		}
		if nh := d.count(minHookSize); nh > 0 {
			s.Hooks = make([]Hook, nh)
			for j := range s.Hooks {
				s.Hooks[j] = Hook{Kind: d.string(), Name: d.string(), Arg: d.string(), Scope: d.string(),
					Slot: d.int("slot", math.MaxInt32), Pos: d.pos()}
			}
		}
		s.Configs = d.configs()
		p.Servers[i] = s
		if d.err != nil {
			return
		}
	}
}

func (d *decoder) configs() []Config {
	n := d.count(minConfigSize)
	if n == 0 {
		return nil
	}
	list := make([]Config, n)
	for i := range list {
		list[i] = Config{Kind: d.string(), Name: d.string(), Slot: d.int("slot", math.MaxInt32), Pos: d.pos()}
		if k := d.count(minConfigKeySize); k > 0 {
			list[i].Keys = make([]ConfigKey, k)
			for j := range list[i].Keys {
				list[i].Keys[j] = ConfigKey{Name: d.string(), Pos: d.pos()}
			}
		}
	}
	return list
}

// offsetOf maps a validation failure to the bytes it concerns.
func (d *decoder) offsetOf(bad *invalid) int {
	if bad.fn < 0 || bad.fn >= len(d.funcAt) {
		return d.sectionAt[bad.section]
	}
	switch bad.part {
	case partCode:
		return d.codeAt[bad.fn] + 8*bad.index
	case partLines:
		return d.linesAt[bad.fn]
	case partCaptures:
		return d.capsAt[bad.fn]
	}
	return d.funcAt[bad.fn]
}

// Validate checks that p is well formed: every instruction has a defined
// opcode and operands within the tables they index, as declared by the
// operand kinds in Ops; line tables are sorted and within the code;
// constants carry only the fields of their kind. Decode applies the same
// checks to every file, and Encode to every Program it writes.
func (p *Program) Validate() error {
	if bad := p.validate(); bad != nil {
		return fmt.Errorf("invalid program: %s", bad.msg)
	}
	return nil
}

// BuiltinKnown, when set (package vm sets it), tells whether the VM has
// a builtin of the name: a program naming one it lacks is refused when
// it is decoded, as an artifact, not when it is about to run.
var BuiltinKnown func(name string) bool

// invalid describes the first problem validate found.
type invalid struct {
	section string
	fn      int // function index, or -1
	part    int // which part of function fn
	index   int // the pc, for partCode
	msg     string
}

// Parts of a function, for placing a validation error in the file.
const (
	partHeader = iota
	partCode
	partLines
	partCaptures
)

func (p *Program) validate() *invalid {
	if p == nil {
		return &invalid{section: "file", fn: -1, msg: "nil program"}
	}
	for i := range p.Constants {
		if msg := checkConstant(&p.Constants[i]); msg != "" {
			return &invalid{section: "constants", fn: -1, msg: fmt.Sprintf("constant %d: %s", i, msg)}
		}
	}
	for i, t := range p.Types {
		if t == nil {
			return &invalid{section: "types", fn: -1, msg: fmt.Sprintf("type %d is nil", i)}
		}
		msg := p.checkDefaults(t.Name, t.Defaults, len(t.Fields))
		for j := 0; msg == "" && j < len(t.Variants); j++ {
			msg = p.checkDefaults(t.Variants[j].Name, t.Variants[j].Defaults, len(t.Variants[j].Fields))
		}
		if msg != "" {
			return &invalid{section: "types", fn: -1, msg: fmt.Sprintf("type %d: %s", i, msg)}
		}
	}
	for i, s := range p.Servers {
		if s == nil {
			return &invalid{section: "servers", fn: -1, msg: fmt.Sprintf("server %d is nil", i)}
		}
	}
	if BuiltinKnown != nil {
		for i, name := range p.Builtins {
			if !BuiltinKnown(name) {
				return &invalid{section: "builtins", fn: -1, msg: fmt.Sprintf("builtin %d: this tova has no builtin %q (was the program built by another tova? compile it again)", i, name)}
			}
		}
	}
	if len(p.Funcs) == 0 {
		return &invalid{section: "functions", fn: -1, msg: "no main function"}
	}
	for i, f := range p.Funcs {
		if f == nil {
			return &invalid{section: "functions", fn: -1, msg: fmt.Sprintf("function %d is nil", i)}
		}
	}
	for i, s := range p.Servers {
		if msg := p.checkServer(s); msg != "" {
			return &invalid{section: "servers", fn: -1, msg: fmt.Sprintf("server %d %q: %s", i, s.Name, msg)}
		}
	}
	if msg := p.checkConfigs(p.Configs); msg != "" {
		return &invalid{section: "configs", fn: -1, msg: msg}
	}
	for i, f := range p.Funcs {
		if bad := p.checkFunc(i, f); bad != nil {
			return bad
		}
	}
	return nil
}

// checkConstant requires the fields a constant's kind does not use to be
// zero, since the encoding does not store them.
func checkConstant(k *Constant) string {
	if k.Kind > KNames {
		return fmt.Sprintf("unknown kind %d", k.Kind)
	}
	switch {
	case k.Kind == KBool && k.Int != 0 && k.Int != 1:
		return fmt.Sprintf("bool with Int %d (want 0 or 1)", k.Int)
	case k.Int != 0 && k.Kind != KInt && k.Kind != KBool:
		return constKindName(k.Kind) + " with non-zero Int"
	case math.Float64bits(k.Float) != 0 && k.Kind != KFloat:
		return constKindName(k.Kind) + " with non-zero Float"
	case k.Str != "" && k.Kind != KString:
		return constKindName(k.Kind) + " with non-empty Str"
	case len(k.Names) != 0 && k.Kind != KNames:
		return constKindName(k.Kind) + " with Names"
	}
	return ""
}

// The kinds of routes and hooks a compiled server can hold (its routes'
// methods are parse.HTTPMethods).
var (
	routeKinds = map[string]bool{"route": true, "health": true, "sse": true, "websocket": true}
	hookKinds  = map[string]bool{"middleware": true, "on_error": true, "on_start": true, "on_stop": true, "background": true, "schedule": true, "subscribe": true, "rpc": true}
)

// checkServer checks a server's function and module slot references,
// and that its routes are ones the compiler makes (kind, method, path).
func (p *Program) checkServer(s *Server) string {
	if s.Init < 0 || s.Init >= len(p.Funcs) {
		return fmt.Sprintf("init function F[%d] out of range (%d functions)", s.Init, len(p.Funcs))
	}
	if n := len(p.Funcs[s.Init].Captures); n > 0 {
		return fmt.Sprintf("init function F[%d] cannot have captures (it has %d)", s.Init, n)
	}
	if s.Port < -1 || s.Port >= len(p.Globals) {
		return fmt.Sprintf("port slot G[%d] out of range (%d globals)", s.Port, len(p.Globals))
	}
	for j := range s.Routes {
		r := &s.Routes[j]
		if msg := p.checkSlot(r.Slot); msg != "" {
			return fmt.Sprintf("route %d (%s %s): %s", j, r.Method, r.Path, msg)
		}
		// What the compiler refuses in source: an artifact cannot hold it.
		if !routeKinds[r.Kind] {
			return fmt.Sprintf("route %d (%s %s): unknown kind %q", j, r.Method, r.Path, r.Kind)
		}
		if !parse.HTTPMethods[r.Method] {
			return fmt.Sprintf("route %d (%s %s): unknown method %q", j, r.Method, r.Path, r.Method)
		}
		if why := routepath.Check(r.Path); why != "" {
			return fmt.Sprintf("route %d (%s %q): %s", j, r.Method, r.Path, why)
		}
		for _, g := range r.Guards {
			if msg := p.checkSlot(g); msg != "" {
				return fmt.Sprintf("route %d (%s %s): guard %s", j, r.Method, r.Path, msg)
			}
		}
	}
	for j := range s.Hooks {
		if msg := p.checkSlot(s.Hooks[j].Slot); msg != "" {
			return fmt.Sprintf("hook %d (%s): %s", j, s.Hooks[j].Kind, msg)
		}
		if !hookKinds[s.Hooks[j].Kind] {
			return fmt.Sprintf("hook %d: unknown kind %q", j, s.Hooks[j].Kind)
		}
	}
	return p.checkConfigs(s.Configs)
}

func (p *Program) checkConfigs(list []Config) string {
	for j := range list {
		if msg := p.checkSlot(list[j].Slot); msg != "" {
			return fmt.Sprintf("config %d (%s): %s", j, list[j].Kind, msg)
		}
	}
	return ""
}

// checkSlot checks a module slot named by server metadata.
func (p *Program) checkSlot(slot int) string {
	if slot < 0 || slot >= len(p.Globals) {
		return fmt.Sprintf("slot G[%d] out of range (%d globals)", slot, len(p.Globals))
	}
	return ""
}

func constKindName(k ConstKind) string {
	switch k {
	case KNil:
		return "nil"
	case KInt:
		return "int"
	case KFloat:
		return "float"
	case KString:
		return "string"
	case KBool:
		return "bool"
	case KNames:
		return "names"
	}
	return fmt.Sprintf("kind-%d", k)
}

func (p *Program) checkFunc(fi int, f *Func) *invalid {
	fail := func(part, index int, format string, args ...any) *invalid {
		msg := fmt.Sprintf("function %d %q: ", fi, f.Name)
		if part == partCode {
			msg = fmt.Sprintf("function %d %q pc %d (%s): ", fi, f.Name, index, f.Code[index].Op())
		}
		return &invalid{section: "functions", fn: fi, part: part, index: index, msg: msg + fmt.Sprintf(format, args...)}
	}
	if f.File < 0 || f.File >= max(len(p.Files), 1) {
		return fail(partHeader, 0, "file index %d out of range (%d files)", f.File, len(p.Files))
	}
	if f.NumRegs < 0 || f.NumRegs > MaxA+1 {
		return fail(partHeader, 0, "%d registers (limit %d)", f.NumRegs, MaxA+1)
	}
	rest := 0
	if f.HasRest {
		rest = 1
	}
	if f.NumParams < 0 || f.NumParams+rest > f.NumRegs {
		return fail(partHeader, 0, "%d parameters do not fit in %d registers", f.NumParams+rest, f.NumRegs)
	}
	for i, l := range f.Lines {
		if int64(l.PC) >= int64(len(f.Code)) {
			return fail(partLines, i, "line table: pc %d past end of code (%d instructions)", l.PC, len(f.Code))
		}
		if i > 0 && l.PC < f.Lines[i-1].PC {
			return fail(partLines, i, "line table: pc %d after pc %d", l.PC, f.Lines[i-1].PC)
		}
	}
	for i, c := range f.Captures {
		if c.Index < 0 || c.Index > MaxB {
			return fail(partCaptures, i, "capture %d: index %d out of range", i, c.Index)
		}
	}
	if fi == 0 && len(f.Captures) > 0 {
		return fail(partCaptures, 0, "the main function cannot have captures (it has %d)", len(f.Captures))
	}
	// ITERNEXT writes one register, or two when the ITERPREP that made
	// its iterator asked for pairs; that ITERPREP is the one writing the
	// same register.
	var iterWidth map[int]int
	for _, in := range f.Code {
		if in.Op() == ITERPREP {
			if iterWidth == nil {
				iterWidth = map[int]int{}
			}
			iterWidth[in.A()] = max(iterWidth[in.A()], in.C())
		}
	}
	// Execution cannot run past the end: every jump lands on an
	// instruction (checkInstr), and the last one does not fall through.
	n := len(f.Code)
	if n == 0 {
		return fail(partHeader, 0, "no code")
	}
	for pc, in := range f.Code {
		if msg := p.checkInstr(f, in, iterWidth); msg != "" {
			return fail(partCode, pc, "%s", msg)
		}
		if target, ok := conditionalJump(in); ok && target <= pc {
			return fail(partCode, pc, "conditional jump back to pc %d (only JMP and FORLOOP jump back, where the VM checks deadlines and signals)", target)
		}
		if in.Op() == TRYBEGIN && in.C() != 0 && in.C() <= pc {
			return fail(partCode, pc, "a try block's cancellation path at pc %d, before the block (the compiler puts it after)", in.C())
		}
	}
	if f.Code[n-1].Op().FallsThrough() {
		return fail(partCode, n-1, "the last instruction falls through: the function would run past its end")
	}
	if pc, msg := p.checkFlow(f, iterWidth); msg != "" {
		if pc < 0 {
			return fail(partHeader, 0, "%s", msg)
		}
		return fail(partCode, pc, "%s", msg)
	}
	return nil
}

// conditionalJump returns the target of a jump other than JMP and
// FORLOOP. The compiler makes such jumps only forward; the VM checks a
// request's deadline and signals on the jumps that close loops (JMP and
// FORLOOP back), so an artifact jumping back otherwise is refused: it
// could loop with no check.
func conditionalJump(in Instr) (int, bool) {
	if op := in.Op(); op == JMP || op == FORLOOP {
		return 0, false
	}
	return JumpTarget(in)
}

// JumpTarget returns the target of an instruction that may jump (its
// OJump operand: a jump, a loop step, a try block's handler), and
// whether it has one.
func JumpTarget(in Instr) (int, bool) {
	op := in.Op()
	if !op.Valid() {
		return 0, false
	}
	info := &Ops[op]
	for slot, kind := range [3]OperandKind{info.A, info.B, info.C} {
		if kind == OJump {
			return operand(in, slot), true
		}
	}
	return 0, false
}

var slotNames = [3]string{"A", "B", "C"}

func operand(in Instr, slot int) int {
	switch slot {
	case 0:
		return in.A()
	case 1:
		return in.B()
	}
	return in.C()
}

// checkInstr checks one instruction of f and returns what is wrong with
// it, or "".
func (p *Program) checkInstr(f *Func, in Instr, iterWidth map[int]int) string {
	op := in.Op()
	if !op.Valid() {
		return fmt.Sprintf("unknown opcode %d", uint8(op))
	}
	info := &Ops[op]
	span := spanSlot(op)
	for slot, kind := range [3]OperandKind{info.A, info.B, info.C} {
		if slot == span {
			continue // checked as a whole range below
		}
		if msg := p.checkOperand(f, kind, slotNames[slot], operand(in, slot)); msg != "" {
			return msg
		}
	}
	if slot, want, ok := constOperand(op); ok {
		k := operand(in, slot)
		if got := p.Constants[k].Kind; got != want {
			return fmt.Sprintf("K[%d] must be a %s constant, found %s", k, constKindName(want), constKindName(got))
		}
	}
	if span >= 0 {
		first, n := spanRegisters(in, p)
		if n == 0 && first > f.NumRegs {
			return fmt.Sprintf("empty register range at r%d out of range (%d registers)", first, f.NumRegs)
		}
		if first+n > f.NumRegs {
			return fmt.Sprintf("registers r%d..r%d out of range (%d registers)", first, first+n-1, f.NumRegs)
		}
	}
	switch op {
	case CALLKW:
		if n := len(p.Constants[in.C()].Names); n > in.B() {
			return fmt.Sprintf("%d argument names for %d arguments", n, in.B())
		}
	case ITERPREP:
		if c := in.C(); c != 1 && c != 2 {
			return fmt.Sprintf("iterator yields %d values per step, must be 1 or 2", c)
		}
	case ITERNEXT:
		n, ok := iterWidth[in.A()]
		if !ok {
			return fmt.Sprintf("no ITERPREP makes an iterator in r%d", in.A())
		}
		if in.B()+n > f.NumRegs {
			return fmt.Sprintf("registers r%d..r%d out of range (%d registers)", in.B(), in.B()+n-1, f.NumRegs)
		}
	case JARG:
		if in.A() >= f.NumParams {
			return fmt.Sprintf("parameter %d out of range (%d parameters)", in.A(), f.NumParams)
		}
	case DEFTYPE:
		if t := p.Types[in.B()]; in.C() > len(t.Variants) {
			return fmt.Sprintf("constructor %d out of range (type %s has %d variants)", in.C(), t.Name, len(t.Variants))
		}
	case CLOSURE:
		for j, c := range p.Funcs[in.B()].Captures {
			if c.FromParentFree && c.Index >= len(f.Captures) {
				return fmt.Sprintf("F[%d] capture %d: free variable %d out of range (%d captures)", in.B(), j, c.Index, len(f.Captures))
			}
			if !c.FromParentFree && c.Index >= f.NumRegs {
				return fmt.Sprintf("F[%d] capture %d: register r%d out of range (%d registers)", in.B(), j, c.Index, f.NumRegs)
			}
		}
	}
	return ""
}

// checkOperand checks one operand against the table its kind indexes.
func (p *Program) checkOperand(f *Func, kind OperandKind, slot string, v int) string {
	switch kind {
	case ONone:
		if v != 0 {
			return fmt.Sprintf("unused operand %s is %d, must be 0", slot, v)
		}
	case OReg:
		if v >= f.NumRegs {
			return fmt.Sprintf("register r%d out of range (%d registers)", v, f.NumRegs)
		}
	case OConst:
		if v >= len(p.Constants) {
			return fmt.Sprintf("constant K[%d] out of range (%d constants)", v, len(p.Constants))
		}
	case OJump:
		// (a target at the end is past it too: the compiler closes a
		// function whose jumps land there with RETNIL; a try block's
		// handler there ran the memory after the code)
		if v >= len(f.Code) {
			return fmt.Sprintf("jump target %d past end of code (%d instructions)", v, len(f.Code))
		}
	case OFunc:
		if v >= len(p.Funcs) {
			return fmt.Sprintf("function F[%d] out of range (%d functions)", v, len(p.Funcs))
		}
	case OGlobal:
		if v >= len(p.Globals) {
			return fmt.Sprintf("global G[%d] out of range (%d globals)", v, len(p.Globals))
		}
	case OBuiltin:
		if v >= len(p.Builtins) {
			return fmt.Sprintf("builtin %d out of range (%d builtins)", v, len(p.Builtins))
		}
	case OType:
		if v >= len(p.Types) {
			return fmt.Sprintf("type T[%d] out of range (%d types)", v, len(p.Types))
		}
	case OFree:
		if v >= len(f.Captures) {
			return fmt.Sprintf("free variable %d out of range (%d captures)", v, len(f.Captures))
		}
	case OCount, OImm:
		// Any value the field holds is meaningful.
	default:
		return fmt.Sprintf("operand %s has unknown kind %d", slot, kind)
	}
	return ""
}

// spanSlot returns the operand (0 A, 1 B, 2 C) that names the first of
// several consecutive registers the instruction reads or writes, or -1
// when each register operand names one register. spanRegisters says
// which registers; both transcribe the Doc column of Ops:
//
//	LOADNIL   R[A..A+B]            B+1 registers from A
//	FORPREP   R[A..A+3]            4 registers from A (also FORLOOP)
//	CALL      R[A], R[A+1..A+B]    B+1 registers from A (also CALLKW)
//	CALLM     R[A], R[A+1..A+1+B]  B+2 registers from A
//	NEWARRAY  R[B..B+C-1]          C registers from B
//	CONCAT    R[B..B+C-1]          C registers from B
//	SLICE     R[B..B+3]            4 registers from B
//	NEWOBJ    R[C..]               one register from C per name in K[B]
//
// An empty range (no elements) may start at NumRegs.
func spanSlot(op Op) int {
	switch op {
	case LOADNIL, FORPREP, FORLOOP, CALL, CALLKW, CALLM:
		return 0
	case NEWARRAY, CONCAT, SLICE:
		return 1
	case NEWOBJ:
		return 2
	}
	return -1
}

// spanRegisters returns the first register and the number of registers
// of the range named by spanSlot. The other operands must already have
// been checked.
func spanRegisters(in Instr, p *Program) (first, n int) {
	switch in.Op() {
	case LOADNIL, CALL, CALLKW:
		return in.A(), in.B() + 1
	case FORPREP, FORLOOP:
		return in.A(), 4
	case CALLM:
		return in.A(), in.B() + 2
	case NEWARRAY, CONCAT:
		return in.B(), in.C()
	case SLICE:
		return in.B(), 4
	case NEWOBJ:
		return in.C(), len(p.Constants[in.B()].Names)
	}
	return 0, 0
}

// constOperand reports the opcodes whose constant operand must hold one
// kind of constant: a list of names for object shapes and keyword
// arguments, a string for field, method, type, tag and unit names.
func constOperand(op Op) (slot int, kind ConstKind, ok bool) {
	switch op {
	case NEWOBJ:
		return 1, KNames, true
	case CALLKW:
		return 2, KNames, true
	case SETFIELD:
		return 1, KString, true
	case GETFIELD, GETFIELDOPT, CALLM, ISTYPE, MATCHTAG, STRPREFIX, UNIT, DEFMETHOD:
		return 2, KString, true
	}
	return 0, 0, false
}

// IsArtifact reports whether data begins as a .tbc artifact does.
func IsArtifact(data []byte) bool {
	return len(data) >= len(magic) && string(data[:len(magic)]) == magic
}
