package bytecode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math"
	"os"
	"path/filepath"
)

// Version is the .tbc format version this package writes and reads.
// The version log is in the package documentation.
const Version = 16

// magic starts every .tbc file. The non-ASCII first byte catches
// transfers that strip the high bit, the \r\n and \n catch line-ending
// conversion, and \x1a stops a DOS-style type command, as in PNG.
const magic = "\x89TBC\r\n\x1a\n"

// headerSize is the length of magic, version and flags.
const headerSize = len(magic) + 2 + 4

// knownFlags are the header flag bits this version defines: none.
const knownFlags uint32 = 0

// Section tags, in the order the sections appear in a file.
const (
	tagEnd byte = iota
	tagSources
	tagConstants
	tagTypes
	tagBuiltins
	tagGlobals
	tagFunctions
	tagServers
	tagConfigs
	numTags
)

// sectionNames names each section in error messages.
var sectionNames = [numTags]string{
	tagEnd:       "end",
	tagSources:   "sources",
	tagConstants: "constants",
	tagTypes:     "types",
	tagBuiltins:  "builtins",
	tagGlobals:   "globals",
	tagFunctions: "functions",
	tagServers:   "servers",
	tagConfigs:   "configs",
}

// Function flag bits (the fnFlags byte).
const (
	fnHasRest = 1 << iota
	fnAsync
	fnKnownFlags = fnHasRest | fnAsync
)

// castagnoli is the CRC-32C table for the trailing checksum.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Encode returns the .tbc encoding of p. The encoding is deterministic:
// the same Program always yields the same bytes. Encode refuses a
// Program that fails Validate, so Decode accepts whatever Encode writes.
func Encode(p *Program) ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("encode .tbc: %w", err)
	}
	return encode(p), nil
}

// encode writes p without validating it; p must hold no nil pointers.
func encode(p *Program) []byte {
	size := estimateSize(p)
	e := encoder{out: make([]byte, 0, size), buf: make([]byte, 0, size)}
	e.out = append(e.out, magic...)
	e.out = binary.LittleEndian.AppendUint16(e.out, Version)
	e.out = binary.LittleEndian.AppendUint32(e.out, 0)

	e.section(tagSources, func() {
		e.uvarint(uint64(len(p.Files)))
		for _, f := range p.Files {
			e.string(f.Name)
			e.buf = append(e.buf, f.Hash[:]...)
		}
		e.buf = append(e.buf, p.SourceHash[:]...)
	})
	e.section(tagConstants, func() {
		e.uvarint(uint64(len(p.Constants)))
		for i := range p.Constants {
			e.constant(&p.Constants[i])
		}
	})
	e.section(tagTypes, func() {
		e.uvarint(uint64(len(p.Types)))
		for _, t := range p.Types {
			e.string(t.Name)
			e.strings(t.Fields)
			e.uvarint(uint64(len(t.Variants)))
			for _, v := range t.Variants {
				e.string(v.Name)
				e.strings(v.Fields)
			}
			e.strings(t.Derive)
			e.strings(t.FieldTypes)
			e.defaults(t.Defaults)
			for _, v := range t.Variants {
				e.defaults(v.Defaults)
			}
			for _, v := range t.Variants {
				e.strings(v.FieldTypes)
			}
		}
	})
	e.section(tagBuiltins, func() { e.strings(p.Builtins) })
	e.section(tagGlobals, func() { e.strings(p.Globals) })
	e.section(tagFunctions, func() {
		e.uvarint(uint64(len(p.Funcs)))
		for _, f := range p.Funcs {
			e.function(f)
		}
	})
	e.section(tagServers, func() {
		e.uvarint(uint64(len(p.Servers)))
		for _, s := range p.Servers {
			e.server(s)
		}
	})
	e.section(tagConfigs, func() { e.configs(p.Configs) })
	e.out = append(e.out, tagEnd)
	e.out = binary.LittleEndian.AppendUint32(e.out, crc32.Checksum(e.out, castagnoli))
	return e.out
}

// WriteFile encodes p and writes it to path atomically: the bytes go to
// a temporary file in the same directory, which then replaces path, so
// a reader never sees a half-written program. A path that is a device or
// a pipe (/dev/null, /dev/stdout) is written to, never replaced; a
// symbolic link's target is replaced, not the link.
func WriteFile(path string, p *Program) (err error) {
	origPath := path
	data, err := Encode(p)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		if fi.IsDir() {
			return fmt.Errorf("%s is a directory", path)
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	} else {
		// A link to nothing yet (maybe through other links): the
		// artifact is made where the last one points, and the links
		// stay (as cp and shell redirection do).
		followed := 0
		for ; followed < 40; followed++ {
			link, lerr := os.Readlink(path)
			if lerr != nil {
				break
			}
			if !filepath.IsAbs(link) {
				link = filepath.Join(filepath.Dir(path), link)
			}
			path = link
		}
		if followed == 40 {
			// A loop of links points nowhere: replacing one of them
			// would lose it (shell redirection and cp refuse too).
			return fmt.Errorf("%s: too many levels of symbolic links", origPath)
		}
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		// The temporary file is ours, not the user's: name the target.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		if _, serr := os.Stat(dir); errors.Is(err, fs.ErrNotExist) && errors.Is(serr, fs.ErrNotExist) {
			return fmt.Errorf("cannot write %s: directory %s does not exist", path, filepath.Dir(path))
		}
		if errors.Is(err, fs.ErrNotExist) {
			// (/proc and /sys say so of files they cannot hold)
			return fmt.Errorf("cannot write %s: directory %s does not take new files", path, filepath.Dir(path))
		}
		return fmt.Errorf("cannot write %s: %v", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// encoder appends sections to out; buf collects the payload of the
// section being written, whose length is only known at its end.
type encoder struct {
	out []byte
	buf []byte
}

func (e *encoder) section(tag byte, payload func()) {
	e.buf = e.buf[:0]
	payload()
	e.out = append(e.out, tag)
	e.out = binary.AppendUvarint(e.out, uint64(len(e.buf)))
	e.out = append(e.out, e.buf...)
}

func (e *encoder) uvarint(x uint64) { e.buf = binary.AppendUvarint(e.buf, x) }
func (e *encoder) varint(x int64)   { e.buf = binary.AppendVarint(e.buf, x) }

func (e *encoder) string(s string) {
	e.uvarint(uint64(len(s)))
	e.buf = append(e.buf, s...)
}

func (e *encoder) strings(list []string) {
	e.uvarint(uint64(len(list)))
	for _, s := range list {
		e.string(s)
	}
}

// defaults writes a type's or variant's field defaults (see TypeDesc).
func (e *encoder) defaults(list []int) {
	e.uvarint(uint64(len(list)))
	for _, k := range list {
		e.uvarint(uint64(k))
	}
}

func (e *encoder) constant(k *Constant) {
	e.buf = append(e.buf, byte(k.Kind))
	switch k.Kind {
	case KInt:
		e.varint(k.Int)
	case KFloat:
		e.buf = binary.LittleEndian.AppendUint64(e.buf, math.Float64bits(k.Float))
	case KString:
		e.string(k.Str)
	case KBool:
		e.buf = append(e.buf, byte(k.Int))
	case KNames:
		e.strings(k.Names)
	}
}

func (e *encoder) function(f *Func) {
	e.string(f.Name)
	e.uvarint(uint64(f.File))
	e.pos(f.Pos)
	var flags byte
	if f.HasRest {
		flags |= fnHasRest
	}
	if f.Async {
		flags |= fnAsync
	}
	e.buf = append(e.buf, flags)
	e.uvarint(uint64(f.NumParams))
	e.uvarint(uint64(f.NumRegs))
	e.strings(f.ParamNames)
	e.strings(f.ParamTypes)
	e.uvarint(uint64(len(f.Code)))
	for _, in := range f.Code {
		e.buf = binary.LittleEndian.AppendUint64(e.buf, uint64(in))
	}
	e.uvarint(uint64(len(f.Lines)))
	pc, line := uint32(0), int64(f.Pos.Line)
	for _, l := range f.Lines {
		e.uvarint(uint64(l.PC - pc))
		e.varint(int64(l.Pos.Line) - line)
		e.varint(int64(l.Pos.Col))
		pc, line = l.PC, int64(l.Pos.Line)
	}
	e.uvarint(uint64(len(f.Captures)))
	for _, c := range f.Captures {
		x := uint64(c.Index) << 1
		if c.FromParentFree {
			x |= 1
		}
		e.uvarint(x)
	}
}

func (e *encoder) pos(p Pos) {
	e.varint(int64(p.Line))
	e.varint(int64(p.Col))
}

func (e *encoder) server(s *Server) {
	e.string(s.Name)
	e.pos(s.Pos)
	e.uvarint(uint64(s.Init))
	e.varint(int64(s.Port))
	e.pos(s.PortPos)
	e.uvarint(uint64(len(s.Routes)))
	for i := range s.Routes {
		r := &s.Routes[i]
		e.string(r.Kind)
		e.string(r.Method)
		e.string(r.Path)
		e.uvarint(uint64(r.Slot))
		e.uvarint(uint64(len(r.Guards)))
		for _, g := range r.Guards {
			e.uvarint(uint64(g))
		}
		e.string(r.BodyType)
		e.string(r.Scope)
		e.pos(r.Pos)
	}
	e.uvarint(uint64(len(s.Hooks)))
	for i := range s.Hooks {
		h := &s.Hooks[i]
		e.string(h.Kind)
		e.string(h.Name)
		e.string(h.Arg)
		e.string(h.Scope)
		e.uvarint(uint64(h.Slot))
		e.pos(h.Pos)
	}
	e.configs(s.Configs)
}

func (e *encoder) configs(list []Config) {
	e.uvarint(uint64(len(list)))
	for i := range list {
		c := &list[i]
		e.string(c.Kind)
		e.string(c.Name)
		e.uvarint(uint64(c.Slot))
		e.pos(c.Pos)
		e.uvarint(uint64(len(c.Keys)))
		for _, k := range c.Keys {
			e.string(k.Name)
			e.pos(k.Pos)
		}
	}
}

// estimateSize guesses the encoded size so that Encode allocates once
// for typical programs.
func estimateSize(p *Program) int {
	n := headerSize + 64 + 40*len(p.Files) + 16*len(p.Constants) + 32*len(p.Types)
	for _, f := range p.Funcs {
		n += 32 + 8*len(f.Code) + 4*len(f.Lines)
	}
	return n
}
