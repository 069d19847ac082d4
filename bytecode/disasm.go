package bytecode

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Disasm writes a listing of p to w: the tables of the program, then
// every function with its header and one line per instruction giving
// its pc, source line:col, opcode name and operands. Operands are
// rendered from their kinds in Ops: registers as r3, constants as
// K[5] "hello", jump targets as -> 12, globals as G[2] counter,
// functions as F[1] fib, types as T[0] Shape, builtins by name and free
// variables as free[0].
//
// The listing depends only on p, so it is stable enough for golden
// files. Disasm does not validate p: an index out of range prints as
// "?" and an unknown opcode as OP<n> with raw operands, so a broken
// program can still be inspected.
func Disasm(w io.Writer, p *Program) error {
	if p == nil {
		return errors.New("disasm: nil program")
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "; .tbc format %d\n", Version)
	if len(p.Files) > 0 {
		b.WriteString("sources\n")
		for _, f := range p.Files {
			fmt.Fprintf(&b, "  %s sha256:%s\n", f.Name, hex.EncodeToString(f.Hash[:]))
		}
	}
	fmt.Fprintf(&b, "source hash %s\n", hex.EncodeToString(p.SourceHash[:]))
	if len(p.Constants) > 0 {
		b.WriteString("constants\n")
		for i := range p.Constants {
			fmt.Fprintf(&b, "  K[%d] %s\n", i, constText(&p.Constants[i]))
		}
	}
	if len(p.Types) > 0 {
		b.WriteString("types\n")
		for i, t := range p.Types {
			fmt.Fprintf(&b, "  T[%d] %s\n", i, typeText(t))
		}
	}
	if len(p.Builtins) > 0 {
		b.WriteString("builtins\n")
		for i, name := range p.Builtins {
			fmt.Fprintf(&b, "  B[%d] %s\n", i, name)
		}
	}
	if len(p.Globals) > 0 {
		b.WriteString("globals\n")
		for i, name := range p.Globals {
			fmt.Fprintf(&b, "  G[%d] %s\n", i, name)
		}
	}
	if len(p.Configs) > 0 {
		b.WriteString("configs\n")
		for i := range p.Configs {
			b.WriteString(configText(p, &p.Configs[i]))
		}
	}
	for i, s := range p.Servers {
		if s != nil {
			disasmServer(&b, p, i, s)
		}
	}
	for i, f := range p.Funcs {
		if f != nil {
			b.WriteByte('\n')
			disasmFunc(&b, p, i, f)
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

func disasmFunc(b *bytes.Buffer, p *Program, fi int, f *Func) {
	fmt.Fprintf(b, "func F[%d] %s(%s) %s:%d:%d\n", fi, funcName(f), paramList(f), p.FileName(f.File), f.Pos.Line, f.Pos.Col)
	fmt.Fprintf(b, "  params %d", f.NumParams)
	if f.HasRest {
		b.WriteString(" + rest")
	}
	fmt.Fprintf(b, ", regs %d", f.NumRegs)
	if f.Async {
		b.WriteString(", async")
	}
	b.WriteByte('\n')
	if len(f.Captures) > 0 {
		b.WriteString("  captures")
		for i, c := range f.Captures {
			if i > 0 {
				b.WriteByte(',')
			}
			if c.FromParentFree {
				fmt.Fprintf(b, " free[%d]", c.Index)
			} else {
				fmt.Fprintf(b, " r%d", c.Index)
			}
		}
		b.WriteByte('\n')
	}
	for pc, in := range f.Code {
		pos := f.PosAt(pc)
		fmt.Fprintf(b, "  %5d  %-9s %s\n", pc, posText(pos), instrText(p, in))
	}
}

// disasmServer lists a server's metadata: its init function, port
// slot, routes, hooks and configs, each with the module slot it reads,
// one per line after its source line:col.
func disasmServer(b *bytes.Buffer, p *Program, si int, s *Server) {
	name := s.Name
	if name == "" {
		name = "<unnamed>"
	}
	port := "none"
	if s.Port >= 0 {
		port = operandText(p, OGlobal, s.Port)
	}
	fmt.Fprintf(b, "server S[%d] %s %d:%d init %s, port %s\n", si, name, s.Pos.Line, s.Pos.Col,
		operandText(p, OFunc, s.Init), port)
	for _, r := range s.Routes {
		fmt.Fprintf(b, "  %-9s %s %s %s -> %s", posText(r.Pos), r.Kind, r.Method, r.Path, operandText(p, OGlobal, r.Slot))
		for i, g := range r.Guards {
			if i == 0 {
				b.WriteString(" with ")
			} else {
				b.WriteString(", ")
			}
			b.WriteString(operandText(p, OGlobal, g))
		}
		if r.BodyType != "" {
			b.WriteString(" body: " + r.BodyType)
		}
		if r.Scope != "" {
			b.WriteString(" group " + r.Scope)
		}
		b.WriteByte('\n')
	}
	for _, h := range s.Hooks {
		fmt.Fprintf(b, "  %-9s %s", posText(h.Pos), h.Kind)
		if h.Name != "" {
			fmt.Fprintf(b, " %q", h.Name) // (an on_error's or a middleware's has none)
		}
		if h.Arg != "" {
			fmt.Fprintf(b, " %q", h.Arg)
		}
		if h.Scope != "" {
			b.WriteString(" group " + h.Scope)
		}
		fmt.Fprintf(b, " -> %s\n", operandText(p, OGlobal, h.Slot))
	}
	for i := range s.Configs {
		b.WriteString(configText(p, &s.Configs[i]))
	}
}

// configText renders a config block's line.
func configText(p *Program, c *Config) string {
	name := ""
	if c.Name != "" {
		name = " " + strconv.Quote(c.Name)
	}
	return fmt.Sprintf("  %-9s config %s%s -> %s\n", posText(c.Pos), c.Kind, name, operandText(p, OGlobal, c.Slot))
}

func posText(p Pos) string { return strconv.Itoa(int(p.Line)) + ":" + strconv.Itoa(int(p.Col)) }

func funcName(f *Func) string {
	if f.Name == "" {
		return "<lambda>"
	}
	return f.Name
}

// paramList renders the declared parameters: "a, b: Int, ...". The
// rest parameter, which has no entry in ParamNames, shows as "...".
func paramList(f *Func) string {
	var s strings.Builder
	for i, name := range f.ParamNames {
		if i > 0 {
			s.WriteString(", ")
		}
		s.WriteString(name)
		if i < len(f.ParamTypes) && f.ParamTypes[i] != "" {
			s.WriteString(": ")
			s.WriteString(f.ParamTypes[i])
		}
	}
	if f.HasRest {
		if len(f.ParamNames) > 0 {
			s.WriteString(", ")
		}
		s.WriteString("...")
	}
	return s.String()
}

// instrText renders one instruction: the opcode name padded to the
// longest name, then its operands by kind.
func instrText(p *Program, in Instr) string {
	op := in.Op()
	if !op.Valid() {
		return fmt.Sprintf("%-11s %d, %d, %d", op, in.A(), in.B(), in.C())
	}
	info := &Ops[op]
	var s strings.Builder
	s.WriteString(info.Name)
	n := 0
	for slot, kind := range [3]OperandKind{info.A, info.B, info.C} {
		if kind == ONone || op == TRYBEGIN && slot == 2 && in.C() == 0 {
			continue // (a try block without a cancellation path)
		}
		if n == 0 {
			s.WriteString(strings.Repeat(" ", max(12-len(info.Name), 1)))
		} else {
			s.WriteString(", ")
		}
		n++
		s.WriteString(operandText(p, kind, operand(in, slot)))
	}
	return s.String()
}

// operandText renders one operand of the given kind.
func operandText(p *Program, kind OperandKind, v int) string {
	switch kind {
	case OReg:
		return "r" + strconv.Itoa(v)
	case OConst:
		if v >= 0 && v < len(p.Constants) {
			return fmt.Sprintf("K[%d] %s", v, constText(&p.Constants[v]))
		}
		return fmt.Sprintf("K[%d] ?", v)
	case OJump:
		return "-> " + strconv.Itoa(v)
	case OImm:
		return strconv.Itoa(v - SBias)
	case OFunc:
		if v >= 0 && v < len(p.Funcs) && p.Funcs[v] != nil {
			return fmt.Sprintf("F[%d] %s", v, funcName(p.Funcs[v]))
		}
		return fmt.Sprintf("F[%d] ?", v)
	case OGlobal:
		if v >= 0 && v < len(p.Globals) {
			return fmt.Sprintf("G[%d] %s", v, p.Globals[v])
		}
		return fmt.Sprintf("G[%d] ?", v)
	case OBuiltin:
		if v >= 0 && v < len(p.Builtins) {
			return p.Builtins[v]
		}
		return fmt.Sprintf("B[%d] ?", v)
	case OType:
		if v >= 0 && v < len(p.Types) && p.Types[v] != nil {
			return fmt.Sprintf("T[%d] %s", v, p.Types[v].Name)
		}
		return fmt.Sprintf("T[%d] ?", v)
	case OFree:
		return "free[" + strconv.Itoa(v) + "]"
	}
	return strconv.Itoa(v) // OCount and unknown kinds
}

// constText renders a constant's value as it would read in source.
func constText(k *Constant) string {
	switch k.Kind {
	case KNil:
		return "nil"
	case KInt:
		return strconv.FormatInt(k.Int, 10)
	case KFloat:
		s := strconv.FormatFloat(k.Float, 'g', -1, 64)
		if !math.IsInf(k.Float, 0) && !math.IsNaN(k.Float) && !strings.ContainsAny(s, ".e") {
			s += ".0"
		}
		return s
	case KString:
		return strconv.Quote(k.Str)
	case KBool:
		return strconv.FormatBool(k.Int != 0)
	case KNames:
		return "names(" + strings.Join(k.Names, ", ") + ")"
	}
	return fmt.Sprintf("<kind %d>", k.Kind)
}

// typeText renders a type descriptor: "Point {x: Int, y}" for a record,
// "Shape = Circle(r: Float) | Rect(w, h) | Empty" for an ADT, then any
// derives.
func typeText(t *TypeDesc) string {
	if t == nil {
		return "?"
	}
	var s strings.Builder
	s.WriteString(t.Name)
	if len(t.Variants) == 0 {
		fields := slices.Clone(t.Fields)
		for i, ft := range t.FieldTypes {
			if ft != "" && i < len(fields) {
				fields[i] += ": " + ft
			}
		}
		s.WriteString(" {" + strings.Join(fields, ", ") + "}")
	} else {
		if len(t.Fields) > 0 {
			s.WriteString(" {" + strings.Join(t.Fields, ", ") + "}")
		}
		for i, v := range t.Variants {
			if i == 0 {
				s.WriteString(" = ")
			} else {
				s.WriteString(" | ")
			}
			s.WriteString(v.Name)
			if len(v.Fields) > 0 {
				fields := slices.Clone(v.Fields)
				for i, ft := range v.FieldTypes {
					if ft != "" && i < len(fields) {
						fields[i] += ": " + ft
					}
				}
				s.WriteString("(" + strings.Join(fields, ", ") + ")")
			}
		}
	}
	if len(t.Derive) > 0 {
		s.WriteString(" derive(" + strings.Join(t.Derive, ", ") + ")")
	}
	return s.String()
}
