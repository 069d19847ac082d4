package parse

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"tova/frontend/ast"
	"tova/frontend/diag"
	"tova/frontend/token"
)

// Binary operator precedence, lowest first. The pipe (level 1) is parsed
// by pipeExpr; `not` (level 5) is a prefix operator between `and` and the
// comparisons, as in the language specification. Bitwise operators, which
// the specification leaves out, sit between ranges and addition.
const (
	precCoalesce = 2 + iota // ??
	precOr                  // or ||
	precAnd                 // and &&
	precNot                 // not ! (prefix)
	precCompare             // == != < <= > >= is (chainable)
	precIn                  // in, not in
	precRange               // .. ..= (non-associative)
	precBitOr               // |
	precBitXor              // ^
	precBitAnd              // &
	precShift               // << >>
	precAdd                 // + - ++
	precMul                 // * / %
	precPow                 // ** (right-associative)
	precUnary               // - + ~ await
)

// binop returns the precedence and operator name of a left-associative
// binary operator token, or 0.
func binop(k token.Kind) (int, string) {
	switch k {
	case token.QQ:
		return precCoalesce, "??"
	case token.OR, token.OROR:
		return precOr, "or"
	case token.AND, token.ANDAND:
		return precAnd, "and"
	case token.IN:
		return precIn, "in"
	case token.BAR:
		return precBitOr, "|"
	case token.CARET:
		return precBitXor, "^"
	case token.AMP:
		return precBitAnd, "&"
	case token.SHL:
		return precShift, "<<"
	case token.SHR:
		return precShift, ">>"
	case token.ADD:
		return precAdd, "+"
	case token.SUB:
		return precAdd, "-"
	case token.CONCAT:
		return precAdd, "+" // string concatenation: `a ++ b` is `a + b`
	case token.MUL:
		return precMul, "*"
	case token.DIV:
		return precMul, "/"
	case token.MOD:
		return precMul, "%"
	}
	return 0, ""
}

// operatorBefore reports whether k is an operator that takes an operand
// after it: binary, comparison, or prefix.
func operatorBefore(k token.Kind) bool {
	if prec, _ := binop(k); prec != 0 || compareOp(k) != "" {
		return true
	}
	switch k {
	case token.POW, token.NOT, token.BANG, token.TILDE:
		return true
	}
	return false
}

func compareOp(k token.Kind) string {
	switch k {
	case token.EQ:
		return "=="
	case token.NE:
		return "!="
	case token.LT:
		return "<"
	case token.LE:
		return "<="
	case token.GT:
		return ">"
	case token.GE:
		return ">="
	}
	return ""
}

// expr parses a full expression.
func (p *parser) expr() ast.Expr {
	p.enter()
	defer p.leave()
	return p.pipeExpr()
}

// pipeExpr parses `x |> target ...`. A line that starts with `|>`
// continues the expression of the previous line.
func (p *parser) pipeExpr() ast.Expr {
	x := p.binary(precCoalesce)
	links := 0
	for p.at(token.PIPE) || p.at(token.NEWLINE) && p.continuesOnNextLine(token.PIPE) {
		p.skipNewlines()
		pos := p.tok.Pos
		p.operatorChain(&links)
		p.next()
		p.skipNewlines()
		if p.at(token.DOT) && isName(p.peek(1)) {
			// x |> .method(args) and x |> .prop are plain member forms.
			p.next()
			name := p.tok
			p.next()
			var m ast.Expr = &ast.Member{PosV: name.Pos, X: x, Name: name.Lit}
			x = p.postfixOps(m)
			continue
		}
		p.pipeTarget = true
		target := p.binary(precCoalesce)
		p.pipeTarget = false
		x = &ast.Pipe{PosV: pos, X: x, Target: target}
	}
	return x
}

// continuesOnNextLine reports whether, at a NEWLINE, the next line starts
// with k (so the expression goes on).
func (p *parser) continuesOnNextLine(k token.Kind) bool {
	i := p.p
	for i < len(p.toks) && p.toks[i].Kind == token.NEWLINE {
		i++
	}
	return i < len(p.toks) && p.toks[i].Kind == k
}

// operatorChain counts one more operator applied in a row to what came
// before it (a - b - c ...: each makes the tree a level deeper), and
// fails past maxChain: a chain of half a million ?? took the compiler's
// stack.
func (p *parser) operatorChain(links *int) {
	if *links++; *links > maxChain {
		p.fail("expression too long: more than %d operators in a row; compute it in several statements, or from a list (sum, join)", maxChain)
	}
}

// isName reports whether t can be used as a member or key name:
// an identifier or any keyword.
func isName(t token.Token) bool { return t.Kind == token.IDENT || t.Kind.IsKeyword() }

func (p *parser) binary(prec int) ast.Expr {
	switch prec {
	case precNot:
		if p.at(token.NOT) || p.at(token.BANG) {
			pos := p.tok.Pos
			p.next()
			p.enter()
			defer p.leave()
			x := p.binary(precNot)
			return &ast.Unary{PosV: pos, Op: "not", X: x}
		}
		return p.binary(precCompare)
	case precCompare:
		return p.comparison()
	case precIn:
		x := p.binary(precRange)
		links := 0
		for {
			pos := p.tok.Pos
			op := ""
			switch {
			case p.at(token.IN):
				op = "in"
				p.next()
			case p.at(token.NOT) && p.peek(1).Kind == token.IN:
				op = "not in"
				p.next()
				p.next()
			default:
				return x
			}
			p.skipNewlines()
			p.operatorChain(&links)
			y := p.binary(precRange)
			x = &ast.Binary{PosV: pos, Op: op, X: x, Y: y}
		}
	case precRange:
		x := p.binary(precBitOr)
		if p.at(token.DOTDOT) || p.at(token.DOTDOTEQ) {
			pos := p.tok.Pos
			incl := p.at(token.DOTDOTEQ)
			p.next()
			y := p.binary(precBitOr)
			x = &ast.Range{PosV: pos, Lo: x, Hi: y, Inclusive: incl}
			if p.at(token.DOTDOT) || p.at(token.DOTDOTEQ) {
				p.fail("range operators do not chain; use parentheses")
			}
		}
		return x
	case precPow:
		x := p.unary()
		if p.at(token.POW) {
			pos := p.tok.Pos
			p.next()
			p.skipNewlines()
			p.enter() // (right-associative: a ** b ** c nests)
			defer p.leave()
			y := p.binary(precPow)
			x = &ast.Binary{PosV: pos, Op: "**", X: x, Y: y}
		}
		return x
	}
	x := p.binary(prec + 1)
	links := 0
	for {
		q, op := binop(p.tok.Kind)
		if q != prec {
			if prec == precOr || prec == precAnd || prec == precCoalesce {
				// A line starting with and/or/?? continues the expression.
				if p.at(token.NEWLINE) {
					k := p.nextLineKind()
					if q2, _ := binop(k); q2 == prec {
						p.skipNewlines()
						continue
					}
				}
			}
			return x
		}
		pos := p.tok.Pos
		// x++ (concatenation) and x-- (minus a negation) ending a
		// statement would take the next line as their operand.
		// (After a name or an element, counts[0]++, not a literal's
		// closing bracket: [1]++ goes on to a list on the next line.)
		// So do they inside an expression (y = x++ + 2, f(n++, 1), if
		// x++ > 0), which took x ++ (+2) and left x as it was.
		glued := p.p > 0 && p.toks[p.p-1].End == p.tok.Pos && (p.toks[p.p-1].Kind == token.IDENT || isIndex(x))
		if p.at(token.CONCAT) && glued && p.postfixEnd(p.tok, p.peek(1)) {
			p.failAt(pos, p.tok.End, "'++' is not a Tova operator: write %s += 1", p.placeOf(x))
		}
		if t := p.peek(1); p.at(token.SUB) && t.Kind == token.SUB && t.Pos == p.tok.End && (lineEnd(p.peek(2).Kind) || glued && p.postfixEnd(t, p.peek(2))) {
			p.failAt(pos, t.End, "'--' is not a Tova operator: write %s -= 1", p.placeOf(x))
		}
		p.operatorChain(&links)
		p.next()
		p.skipNewlines()
		y := p.binary(prec + 1)
		x = &ast.Binary{PosV: pos, Op: op, X: x, Y: y}
	}
}

// postfixEnd reports whether next, the token after op (a '++' or the
// second '-' of '--' glued to a name or an element), ends a postfix
// x++: the end of a line, a comma, or a binary operator written apart
// (x++ + 2, x++ > 0), which no operand of ++ or - begins with.
func (p *parser) postfixEnd(op, next token.Token) bool {
	if lineEnd(next.Kind) || next.Kind == token.COMMA {
		return true
	}
	prec, _ := binop(next.Kind)
	return (prec > 0 || compareOp(next.Kind) != "" || next.Kind == token.PIPE) && next.Pos != op.End
}

// placeOf is x as written, for a message (m.a[i + 1], f()[0]): its
// tokens, which end just before the current one; "x" when that cannot
// be told.
func (p *parser) placeOf(x ast.Expr) string {
	if s := placeText(x, ""); s != "" {
		return s
	}
	start := -1
	for i, at := p.p-1, ast.StartOf(x); i >= 0; i-- {
		if p.toks[i].Pos == at {
			start = i
			break
		}
	}
	if start < 0 {
		return "x"
	}
	var b strings.Builder
	for i := start; i < p.p; i++ {
		t := p.toks[i]
		if i > start && p.toks[i-1].End != t.Pos {
			b.WriteByte(' ')
		}
		switch t.Kind {
		case token.IDENT, token.INT, token.FLOAT:
			b.WriteString(t.Lit)
		case token.STRING:
			if t.Parts != nil {
				return "x"
			}
			b.WriteString(strconv.Quote(t.Lit))
		default:
			if t.Lit != "" {
				b.WriteString(t.Lit) // a keyword
			} else {
				b.WriteString(t.Kind.String())
			}
		}
		if b.Len() > 60 {
			return "x"
		}
	}
	return b.String()
}

// isIndex reports whether x is an element, xs[i].
func isIndex(x ast.Expr) bool {
	_, ok := x.(*ast.Index)
	return ok
}

// placeText is x as written when it is a name or a field of one (n,
// o.n), for a message; else def.
func placeText(x ast.Expr, def string) string {
	switch x := x.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.Member:
		if s := placeText(x.X, ""); s != "" {
			return s + "." + x.Name
		}
	case *ast.Index:
		s := placeText(x.X, "")
		switch i := x.Index.(type) {
		case *ast.IntLit:
			if s != "" {
				return s + "[" + strconv.FormatInt(i.Value, 10) + "]"
			}
		case *ast.StringLit:
			if s != "" {
				return s + "[" + strconv.Quote(i.Value) + "]"
			}
		case *ast.Ident:
			if s != "" {
				return s + "[" + i.Name + "]"
			}
		}
	}
	return def
}

// lineEnd reports whether a token of kind k ends an expression's line.
func lineEnd(k token.Kind) bool {
	switch k {
	case token.NEWLINE, token.EOF, token.SEMI, token.RBRACE, token.RPAREN, token.RBRACK:
		return true
	}
	return false
}

// nextLineKind returns the kind of the first token after the newlines.
func (p *parser) nextLineKind() token.Kind {
	i := p.p
	for i < len(p.toks) && p.toks[i].Kind == token.NEWLINE {
		i++
	}
	if i < len(p.toks) {
		return p.toks[i].Kind
	}
	return token.EOF
}

// comparison parses a chain of comparisons (1 < x < 10 becomes a Chain)
// and `x is [not] Type`.
func (p *parser) comparison() ast.Expr {
	x := p.binary(precIn)
	operands := []ast.Expr{x}
	var ops []string
	pos := p.tok.Pos
	links := 0
	for {
		if p.at(token.IS) {
			isPos := p.tok.Pos
			p.operatorChain(&links)
			p.next()
			not := p.got(token.NOT)
			name := p.typeName()
			operands[len(operands)-1] = &ast.Is{PosV: isPos, X: operands[len(operands)-1], TypeName: name, Not: not}
			continue
		}
		op := compareOp(p.tok.Kind)
		if op == "" {
			break
		}
		if len(ops) == 0 {
			pos = p.tok.Pos
		}
		if t := p.peek(1); t.Kind == token.ASSIGN && t.Pos == p.tok.End && (op == "==" || op == "!=") {
			p.failAt(p.tok.Pos, t.End, "'%s=' is not a Tova operator: %s never coerces, write %s", op, op, op)
		}
		p.next()
		p.skipNewlines()
		ops = append(ops, op)
		operands = append(operands, p.binary(precIn))
	}
	switch len(ops) {
	case 0:
		return operands[0]
	case 1:
		return &ast.Binary{PosV: pos, Op: ops[0], X: operands[0], Y: operands[1]}
	}
	return &ast.Chain{PosV: operands[0].Pos(), Operands: operands, Ops: ops}
}

// typeName parses the type after `is`: Int, Nil, Circle, Shape.Circle.
func (p *parser) typeName() string {
	switch {
	case p.at(token.NIL):
		p.next()
		return "Nil"
	case p.at(token.IDENT):
		name := p.tok.Lit
		p.next()
		for p.at(token.DOT) && p.peek(1).Kind == token.IDENT {
			p.next()
			name = p.tok.Lit
			p.next()
		}
		return name
	}
	p.errorExpected("type name")
	return ""
}

func (p *parser) unary() ast.Expr {
	pos := p.tok.Pos
	switch p.tok.Kind {
	case token.SUB, token.ADD, token.TILDE, token.AWAIT:
		// A run of prefix operators nests like brackets do.
		p.enter()
		defer p.leave()
	}
	switch p.tok.Kind {
	case token.SUB:
		p.next()
		if p.at(token.INT) && isMinIntMagnitude(p.tok.Lit) {
			p.next()
			return p.postfixOps(&ast.IntLit{PosV: pos, Value: math.MinInt64})
		}
		return &ast.Unary{PosV: pos, Op: "-", X: p.unary()}
	case token.ADD:
		p.next()
		return &ast.Unary{PosV: pos, Op: "+", X: p.unary()}
	case token.TILDE:
		p.next()
		return &ast.Unary{PosV: pos, Op: "~", X: p.unary()}
	case token.AWAIT:
		p.next()
		return &ast.Await{PosV: pos, X: p.unary()}
	case token.YIELD:
		p.next()
		if len(p.fns) > 0 {
			p.fns[len(p.fns)-1].HasYield = true
		} else {
			p.errorAt(pos, p.tok.Pos, "yield outside a function")
		}
		if p.got(token.FROM) {
			// yield from inner(): the values of another generator (or
			// of any sequence)
			return &ast.Yield{PosV: pos, X: p.expr(), From: true}
		}
		var x ast.Expr
		if !p.atExprEnd() {
			x = p.expr()
		}
		return &ast.Yield{PosV: pos, X: x}
	case token.ELLIPSIS:
		p.fail("unexpected '...': spread is only allowed in arrays, objects and call arguments")
	}
	return p.postfix()
}

// atExprEnd reports whether the current token cannot start an expression
// operand (used after `yield` and `return`).
func (p *parser) atExprEnd() bool {
	switch p.tok.Kind {
	case token.NEWLINE, token.SEMI, token.RBRACE, token.RPAREN, token.RBRACK, token.COMMA, token.EOF:
		return true
	}
	return false
}

func (p *parser) postfix() ast.Expr {
	return p.postfixOps(p.primary())
}

// units maps unit names of duration and size literals to their singular.
var units = map[string]string{
	"millisecond": "millisecond", "milliseconds": "millisecond",
	"second": "second", "seconds": "second",
	"minute": "minute", "minutes": "minute",
	"hour": "hour", "hours": "hour",
	"day": "day", "days": "day",
	"week": "week", "weeks": "week",
	"byte": "byte", "bytes": "byte",
	"kilobyte": "kilobyte", "kilobytes": "kilobyte",
	"megabyte": "megabyte", "megabytes": "megabyte",
	"gigabyte": "gigabyte", "gigabytes": "gigabyte",
}

// isNumberLit reports whether x is a number literal, or one negated in
// parentheses ((-5)).
func isNumberLit(x ast.Expr) bool {
	if u, ok := x.(*ast.Unary); ok && u.Op == "-" {
		x = u.X
	}
	switch x.(type) {
	case *ast.IntLit, *ast.FloatLit:
		return true
	}
	return false
}

// closestUnit returns the unit that s abbreviates or begins (secs,
// minut, mb), or "".
func closestUnit(s string) string {
	switch s {
	case "M", "K", "G", "Mb", "Kb", "Gb", "MiB", "KiB", "GiB", "mib", "kib", "gib":
		// (10M, nginx's and Java's size, not minutes)
		return map[byte]string{'M': "megabytes", 'K': "kilobytes", 'G': "gigabytes", 'm': "megabytes", 'k': "kilobytes", 'g': "gigabytes"}[s[0]]
	}
	s = strings.ToLower(s)
	abbrev := map[string]string{"ms": "milliseconds", "s": "seconds", "sec": "seconds", "secs": "seconds", "m": "minutes", "min": "minutes",
		"mins": "minutes", "h": "hours", "hr": "hours", "hrs": "hours", "d": "days", "w": "weeks", "b": "bytes", "kb": "kilobytes",
		"mb": "megabytes", "gb": "gigabytes"}
	if u, ok := abbrev[s]; ok {
		return u
	}
	units := []string{"milliseconds", "seconds", "minutes", "hours", "days", "weeks", "bytes", "kilobytes", "megabytes", "gigabytes"}
	for _, u := range units {
		if len(s) >= 3 && (strings.HasPrefix(u, s) || strings.HasPrefix(s, u[:len(u)-1])) {
			return u
		}
	}
	// A letter missing, doubled or swapped (minuts, hors, seconsd), the
	// singular's too (minut).
	for _, u := range units {
		if len(s) >= 3 && (diag.Distance(s, u, 2) < 2 || diag.Distance(s, u[:len(u)-1], 2) < 2) {
			return u
		}
	}
	return ""
}

// postfixOps applies member access, calls, indexing, slicing, `?.` and
// `expr?` to x. Where line breaks end statements, a `(` or `[` on the next
// line does not continue x (the NEWLINE token stops it); a line starting
// with `.name` or `?.name` does.
func (p *parser) postfixOps(x ast.Expr) ast.Expr {
	for links := 0; ; links++ {
		if links > maxChain {
			p.fail("expression too long: more than %d calls, members and indexes in a row; name a part of it", maxChain)
		}
		switch p.tok.Kind {
		case token.NEWLINE:
			k := p.nextLineKind()
			if (k == token.DOT || k == token.QDOT) && p.continuesWithMember() {
				p.skipNewlines()
				continue
			}
			return x
		case token.DOT:
			switch x.(type) {
			case *ast.StringLit, *ast.InterpString:
				if prev := p.toks[p.p-1]; prev.End != p.tok.Pos && p.peek(1).Pos != p.tok.End && !p.tok.NLBefore {
					// "hello " . name (PHP's joining): read as a member
					// of the text ("String has no field name")
					p.fail("' . ' after a string joins nothing here (PHP's concatenation): join with + (\"a\" + b), or interpolate, \"hello {name}\"")
				}
			}
			if t := p.peek(1); tupleIndex(t) {
				if _, num := x.(*ast.FloatLit); num && t.Pos == p.tok.End {
					// 1.2.3 scans as 1.2, '.', 3
					p.failAt(x.Pos(), t.End, "malformed number: a number has one decimal point (a version number is a string: \"1.2.3\")")
				}
				// t.0: an element of a tuple (a list), as t[0]; t.1.0
				// scans as t, '.', 1.0: two elements deep.
				p.next()
				p.next()
				first, second, deep := strings.Cut(t.Lit, ".")
				x = &ast.Index{PosV: t.Pos, X: x, Index: p.intLit(token.Token{Kind: token.INT, Pos: t.Pos, End: t.End, Lit: first})}
				if deep {
					x = &ast.Index{PosV: t.Pos, X: x, Index: p.intLit(token.Token{Kind: token.INT, Pos: t.Pos, End: t.End, Lit: second})}
				}
				continue
			}
			if !isName(p.peek(1)) {
				p.fail("expected name after '.', found %s", p.peek(1))
			}
			p.next()
			name := p.tok
			p.next()
			if isNumberLit(x) {
				if u, ok := units[name.Lit]; ok {
					x = &ast.UnitLit{PosV: x.Pos(), Number: x, Unit: u} // (-5).minutes too
					continue
				} else if !p.at(token.LPAREN) {
					// A number has no fields: `30.secs` is a unit misspelt
					// (a method call, 3.7.round(), is not).
					msg := name.Lit + " is no duration or size unit: write milliseconds, seconds, minutes, hours, days or weeks, " +
						"or bytes, kilobytes, megabytes or gigabytes"
					if c := closestUnit(name.Lit); c != "" {
						msg += " (did you mean " + c + "?)"
					}
					p.failAt(name.Pos, name.End, "%s", msg)
				}
			}
			x = &ast.Member{PosV: name.Pos, X: x, Name: name.Lit}
		case token.QDOT:
			pos := p.tok.Pos
			p.next()
			if p.at(token.LBRACK) {
				x = p.index(x, true)
				continue
			}
			if !isName(p.tok) {
				p.errorExpected("name after '?.'")
			}
			x = &ast.Member{PosV: pos, X: x, Name: p.tok.Lit, Optional: true}
			p.next()
		case token.LPAREN:
			x = p.call(x)
		case token.LBRACK:
			x = p.index(x, false)
		case token.QUESTION:
			if nx := p.peek(1); nx.Kind == token.LBRACK && nx.Pos == p.tok.End {
				p.next()
				x = p.index(x, true)
				continue
			}
			x = &ast.Propagate{PosV: p.tok.Pos, X: x}
			p.next()
		default:
			return x
		}
	}
}

// continuesWithMember reports whether the line after the current newlines
// starts with `.name` or `?.name`.
func (p *parser) continuesWithMember() bool {
	i := p.p
	for i < len(p.toks) && p.toks[i].Kind == token.NEWLINE {
		i++
	}
	return i+1 < len(p.toks) && isName(p.toks[i+1])
}

// call parses the argument list of a call of fn.
func (p *parser) call(fn ast.Expr) *ast.Call {
	open := p.expect(token.LPAREN)
	c := &ast.Call{PosV: open.Pos, Fn: fn}
	piped, positional := p.pipeTarget, 0
	p.pipeTarget = false
	// (agg only as a plain call: a method named agg is the receiver's
	// own; derive, a keyword, names no other)
	_, plain := fn.(*ast.Ident)
	table := calleeName(fn) == "derive" || plain && tableVerbs[calleeName(fn)]
	var cols *ast.ObjectLit // derive's `.x = expr`, agg's `name: fn`
	for !p.at(token.RPAREN) {
		a := &ast.Arg{PosV: p.tok.Pos}
		switch {
		case table && (calleeName(fn) == "derive" && p.at(token.DOT) && isName(p.peek(1)) && p.peek(2).Kind == token.ASSIGN ||
			calleeName(fn) == "agg" && isName(p.tok) && p.peek(1).Kind == token.COLON):
			// derive(.x = .a * 2): the column x, a function of the row
			// (or a value); agg(total: sum(.amount), n: count()): each
			// a function of a group's rows (sum, count, mean, median,
			// min and max become their agg_ forms)
			p.got(token.DOT)
			name := p.tok
			p.next()
			p.next()
			if cols == nil {
				cols = &ast.ObjectLit{PosV: a.PosV}
				c.Args = append(c.Args, &ast.Arg{PosV: a.PosV, Value: cols})
			}
			if slices.ContainsFunc(cols.Entries, func(e *ast.ObjEntry) bool { return e.Key == name.Lit }) {
				// (the last one was taken without a word)
				p.errorAt(name.Pos, name.End, fmt.Sprintf("%s: the column %s is named twice in this call", calleeName(fn), name.Lit))
			}
			cols.Entries = append(cols.Entries, &ast.ObjEntry{PosV: name.Pos, Key: name.Lit, Value: aggregator(fn, p.argExpr(fn))})
			if !p.got(token.COMMA) {
				p.closeList(open, "argument list")
				return c
			}
			continue
		case p.got(token.ELLIPSIS):
			a.Spread = true
			a.Value = p.argExpr(fn)
		case isName(p.tok) && p.peek(1).Kind == token.COLON:
			a.Name = p.tok.Lit
			p.next()
			p.next()
			a.Value = p.argExprNamed(fn, true)
		default:
			p.argPos, p.argPiped = positional, piped
			a.Value = p.argExpr(fn)
			positional++
		}
		c.Args = append(c.Args, a)
		if !p.got(token.COMMA) {
			break
		}
	}
	p.closeList(open, "argument list")
	return c
}

// tableVerbs are the calls whose arguments name columns: derive's
// `.x = expr` and agg's `name: aggregation`, each gathered into one
// object argument, as the reference compiles them.
var tableVerbs = map[string]bool{"derive": true, "agg": true}

// aggregators are the functions that, written in an agg argument, are
// their agg_ forms: sum(.amount) is agg_sum(fn(row) row.amount), a
// function of a group's rows.
var aggregators = map[string]string{
	"sum": "agg_sum", "count": "agg_count", "mean": "agg_mean", "avg": "agg_mean",
	"median": "agg_median", "min": "agg_min", "max": "agg_max",
}

// aggregator rewrites an agg argument's call of an aggregation (the
// argument x of a call of fn).
func aggregator(fn, x ast.Expr) ast.Expr {
	if calleeName(fn) != "agg" {
		return x
	}
	if c, ok := x.(*ast.Call); ok {
		if id, ok := c.Fn.(*ast.Ident); ok && aggregators[id.Name] != "" {
			c.Fn = &ast.Ident{PosV: id.PosV, Name: aggregators[id.Name]}
		}
	}
	return x
}

func isCloser(k token.Kind) bool {
	return k == token.RPAREN || k == token.RBRACK || k == token.RBRACE
}

// Column shorthand: calls whose arguments own the .name references inside
// them (the whole argument becomes fn(__row) ...), and calls where a bare
// .name argument is a column name.
var columnCalls = map[string]bool{
	"where": true, "filter": true, "find": true, "find_index": true, "findIndex": true,
	"sort_by": true, "sortBy": true, "order_by": true, "group_by": true, "groupBy": true,
	"map": true, "flat_map": true, "flatMap": true, "each": true, "reject": true,
	"any": true, "all": true, "every": true, "some": true, "none": true,
	"count": true, "count_by": true, "countBy": true, "partition": true,
	"sum": true, "sum_by": true, "mean": true, "avg": true, "median": true,
	"min": true, "max": true, "min_by": true, "max_by": true, "minBy": true, "maxBy": true,
	"unique_by": true, "uniqueBy": true, "distinct_by": true, "key_by": true, "index_by": true,
	"take_while": true, "drop_while": true, "derive": true, "agg": true, "first": true, "last": true,
}

// keyCalls are the calls that take a list and then a key function: an
// argument of theirs owns the .name references inside it when it is
// the key, past the list (sorted(xs, .price), xs.sort(.price), xs |>
// sorted(.price)), while the list itself, given first, may hold
// references of an enclosing call's (map(sorted(.items))).
var keyCalls = map[string]bool{
	"sorted": true, "sort": true, "is_sorted": true, "binary_search": true, "drop_duplicates": true,
	// (print(rows |> unique(.r)) printed a function: the .r took the
	// print's whole argument)
	"unique": true, "distinct": true, "pluck": true, "frequencies": true,
}

// namedColumnCalls are the table verbs whose named arguments own the
// .name references in them (pivot(index: .region) inside print(...)
// made the whole print argument a function); their other arguments do
// not (join([.a, .b], " ") inside map is the string join of the row's
// fields, and a program's own fn cast(v) gets values).
var namedColumnCalls = map[string]bool{
	"pivot": true, "unpivot": true, "drop_duplicates": true, "window": true,
	"stratified_sample": true, "join": true,
}

// bareColumnCalls are the table verbs an argument of which that is a
// bare .name alone (explode(.tags)) names a column of theirs, inside
// another call too (print(rows |> explode(.tags)) printed a function).
var bareColumnCalls = map[string]bool{"explode": true, "cast": true, "rename": true, "stratified_sample": true}

var columnNameCalls = map[string]bool{
	"drop_nil": true, "fill_nil": true, "dropNil": true, "fillNil": true, "select": true,
}

const rowParam = "__row"

func calleeName(fn ast.Expr) string {
	switch f := fn.(type) {
	case *ast.Ident:
		return f.Name
	case *ast.Member:
		return f.Name
	}
	return ""
}

// argExpr parses one call argument of callee, applying the column
// shorthand rewrite: references to .name inside the argument belong to the
// nearest enclosing argument of a column call (where, sort_by, map, ...),
// or to the outermost argument when there is none; that argument becomes
// fn(__row) <argument>.
func (p *parser) argExpr(callee ast.Expr) ast.Expr { return p.argExprNamed(callee, false) }

// argExprNamed is argExpr of an argument given by name when named.
func (p *parser) argExprNamed(callee ast.Expr, named bool) ast.Expr {
	argPos, argPiped := p.argPos, p.argPiped
	p.argPos, p.argPiped = 0, false
	outer, refs, noArrow := p.colArg, p.colRefs, p.noArrow
	p.colArg, p.colRefs, p.noArrow = true, 0, 0
	x := p.expr()
	n := p.colRefs
	p.colArg, p.colRefs, p.noArrow = outer, refs, noArrow
	if n == 0 {
		return x
	}
	name := calleeName(callee)
	if m, ok := x.(*ast.Member); ok && p.colMember[m] && columnNameCalls[name] {
		return &ast.StringLit{PosV: m.PosV, Value: m.Name}
	}
	if u, ok := x.(*ast.Unary); ok && u.Op == "-" && name == "select" {
		if m, ok := u.X.(*ast.Member); ok && p.colMember[m] {
			// select(-.col): every column but col
			return &ast.ObjectLit{PosV: u.PosV, Entries: []*ast.ObjEntry{{PosV: m.PosV, Key: "exclude", Value: &ast.StringLit{PosV: m.PosV, Value: m.Name}}}}
		}
	}
	_, method := callee.(*ast.Member)
	key := keyCalls[name] && (named || argPos > 0 || argPiped || method)
	if columnCalls[name] || columnNameCalls[name] || named && namedColumnCalls[name] || key || !outer {
		return rowLambda(x)
	}
	if m, ok := x.(*ast.Member); ok && p.colMember[m] && bareColumnCalls[name] {
		return rowLambda(x)
	}
	p.colRefs += n // let the enclosing argument own them
	return x
}

// rowLambda wraps x into fn(__row) x.
func rowLambda(x ast.Expr) *ast.Lambda {
	pos := x.Pos()
	return &ast.Lambda{PosV: pos, Fn: &ast.Function{
		Params: []*ast.Param{{PosV: pos, Name: &ast.Ident{PosV: pos, Name: rowParam}}},
		Body:   &ast.Block{PosV: pos, Stmts: []ast.Stmt{&ast.ExprStmt{X: x}}},
	}}
}

// index parses [i], [lo:hi], [lo:hi:step], [::step] after x.
func (p *parser) index(x ast.Expr, optional bool) ast.Expr {
	open := p.expect(token.LBRACK)
	defer p.saveArrow()()
	var lo, hi, step ast.Expr
	if !p.at(token.COLON) && !p.at(token.DCOLON) {
		lo = p.expr()
	}
	switch {
	case p.at(token.RBRACK) || !p.at(token.COLON) && !p.at(token.DCOLON):
		if lo == nil {
			p.errorExpected("index expression")
		}
		p.expectClose(open)
		return &ast.Index{PosV: open.Pos, X: x, Index: lo, Optional: optional}
	case p.got(token.DCOLON):
		if !p.at(token.RBRACK) {
			step = p.expr()
		}
	default:
		p.next() // :
		if !p.at(token.COLON) && !p.at(token.RBRACK) {
			hi = p.expr()
		}
		if p.got(token.COLON) && !p.at(token.RBRACK) {
			step = p.expr()
		}
	}
	p.expectClose(open)
	if optional {
		p.errorAt(open.Pos, open.End, "a slice cannot be optional")
	}
	return &ast.Slice{PosV: open.Pos, X: x, Lo: lo, Hi: hi, Step: step}
}

// saveArrow re-enables arrow lambdas inside brackets; call the result to restore.
func (p *parser) saveArrow() func() {
	n := p.noArrow
	p.noArrow = 0
	return func() { p.noArrow = n }
}

func (p *parser) primary() ast.Expr {
	p.enter()
	defer p.leave()
	t := p.tok
	switch t.Kind {
	case token.INT:
		p.next()
		return p.intLit(t)
	case token.FLOAT:
		p.next()
		return p.floatLit(t)
	case token.STRING:
		p.next()
		return p.stringLit(t)
	case token.REGEX:
		p.next()
		return p.regexLit(t)
	case token.TRUE, token.FALSE:
		p.next()
		return &ast.BoolLit{PosV: t.Pos, Value: t.Kind == token.TRUE}
	case token.NIL:
		p.next()
		return &ast.NilLit{PosV: t.Pos}
	case token.DERIVE:
		if p.peek(1).Kind == token.LPAREN {
			// derive(...), the table verb: `derive` declares a type's
			// derived traits only after a type
			p.next()
			return &ast.Ident{PosV: t.Pos, Name: "derive"}
		}
	case token.IDENT:
		if p.noArrow == 0 {
			if k := p.peek(1).Kind; k == token.FATARROW || k == token.ARROW {
				return p.arrowLambda()
			}
		}
		if k := p.peek(1).Kind; t.Lit == "spawn" && (k == token.IDENT || k == token.FN || k == token.ASYNC) {
			// `spawn f()`: a name followed by a call is no expression.
			p.failAt(t.Pos, t.End, "spawn is not available: %s", noConcurrency)
		}
		p.next()
		return &ast.Ident{PosV: t.Pos, Name: t.Lit}
	case token.LPAREN:
		if p.noArrow == 0 && p.isArrowParams() {
			return p.arrowLambda()
		}
		return p.paren()
	case token.LBRACK:
		return p.arrayLit()
	case token.LBRACE:
		if p.cond != "" && p.endsStmt(p.p) {
			// `if count > {`: the operand is missing, and this is the body.
			// (Only right after an operator: `{` after a match arm's =>,
			// a paren or a comma in a condition is an object.)
			before := p.p - 1
			for before > 0 && p.toks[before].Kind == token.NEWLINE {
				before--
			}
			if k := p.toks[before].Kind; operatorBefore(k) {
				p.fail("expected an expression after %s, found '{' (the %s's body)", p.toks[before], p.cond)
			}
		}
		return p.objectLit()
	case token.FN:
		return p.fnLit(false)
	case token.ASYNC:
		if p.peek(1).Kind == token.FN {
			p.next()
			return p.fnLit(true)
		}
		if k := p.peek(1).Kind; k == token.LPAREN || k == token.IDENT {
			// async (x) => ..., async x => ... (JavaScript's): accepted
			// as async fn is (Decision 6), and the same as without it
			p.next()
			at := p.tok
			x := p.expr()
			if lam, ok := x.(*ast.Lambda); ok {
				lam.Fn.Async = true
				return lam
			}
			p.failAt(at.Pos, at.End, "async comes before a function: async fn(x) { ... }, or async (x) => ...")
		}
	case token.IF:
		return p.ifExpr()
	case token.MATCH:
		return p.matchExpr()
	case token.TRY:
		return p.tryExpr()
	case token.DOT:
		if isName(p.peek(1)) {
			p.next()
			name := p.tok
			p.next()
			return p.column(t.Pos, name.Lit)
		}
	}
	p.errorExpected("expression")
	return nil
}

// column handles a `.name` column reference (see argExpr).
func (p *parser) column(pos token.Pos, name string) ast.Expr {
	m := &ast.Member{PosV: pos, X: &ast.Ident{PosV: pos, Name: rowParam}, Name: name}
	if !p.colArg {
		return rowLambda(m)
	}
	if p.colMember == nil {
		p.colMember = make(map[*ast.Member]bool)
	}
	p.colMember[m] = true
	p.colRefs++
	return m
}

// intDigits splits an integer literal into its digits (no _ or 0x, 0b,
// 0o prefix) and their base.
func intDigits(lit string) (string, int) {
	s := strings.ReplaceAll(lit, "_", "")
	base := 10
	if len(s) > 1 && s[0] == '0' {
		switch s[1] | 0x20 {
		case 'x':
			base = 16
		case 'b':
			base = 2
		case 'o':
			base = 8
		}
		if base != 10 {
			s = s[2:]
		}
	}
	return s, base
}

// isMinIntMagnitude says whether an integer literal is 2^63, in any
// base: negated, it is the lowest Int (-9223372036854775808,
// -0x8000000000000000), which the literal alone overflows.
func isMinIntMagnitude(lit string) bool {
	s, base := intDigits(lit)
	u, err := strconv.ParseUint(s, base, 64)
	return err == nil && u == 1<<63
}

func (p *parser) intLit(t token.Token) ast.Expr {
	s, base := intDigits(t.Lit)
	v, err := strconv.ParseInt(s, base, 64)
	if err != nil && s != "" {
		lit := t.Lit
		if len(lit) > 40 {
			// (the message is cut at 1 KB: the reason went with it)
			lit = fmt.Sprintf("%s…%s (%d digits)", lit[:20], lit[len(lit)-10:], len(s))
		}
		p.errorAt(t.Pos, t.End, "integer literal "+lit+" overflows Int")
	}
	return &ast.IntLit{PosV: t.Pos, Value: v}
}

func (p *parser) floatLit(t token.Token) ast.Expr {
	v, err := strconv.ParseFloat(strings.ReplaceAll(t.Lit, "_", ""), 64)
	if err != nil {
		p.errorAt(t.Pos, t.End, "number literal "+t.Lit+" is out of range")
	}
	return &ast.FloatLit{PosV: t.Pos, Value: v}
}

// stringLit turns a STRING token into a StringLit or, with interpolation,
// an InterpString whose expression parts are parsed from their own tokens.
func (p *parser) stringLit(t token.Token) ast.Expr {
	if t.Parts == nil {
		return &ast.StringLit{PosV: t.Pos, Value: t.Lit}
	}
	s := &ast.InterpString{PosV: t.Pos}
	for _, part := range t.Parts {
		if !part.IsExpr() {
			s.Parts = append(s.Parts, &ast.StringLit{PosV: part.Pos, Value: part.Text})
			continue
		}
		s.Parts = append(s.Parts, p.subExpr(part))
	}
	return s
}

// subExpr parses the tokens of one interpolation as an expression.
func (p *parser) subExpr(part token.StrPart) ast.Expr {
	toks, pi, tok, closer := p.toks, p.p, p.tok, p.closer
	colArg, colRefs, noArrow, cond := p.colArg, p.colRefs, p.noArrow, p.cond
	defer func() {
		p.toks, p.p, p.tok, p.closer = toks, pi, tok, closer
		p.colArg, p.colRefs, p.noArrow, p.cond = colArg, colRefs, noArrow, cond
	}()
	p.toks, p.p, p.closer = part.Tokens, -1, nil // (the closer table is of the tokens)
	p.colArg, p.colRefs, p.noArrow, p.cond = false, 0, 0, ""
	p.interp++
	defer func() { p.interp-- }()
	p.next()
	p.skipNewlines()
	if p.at(token.EOF) {
		p.fail("empty interpolation in string")
	}
	if p.at(token.COMMA) {
		// "a{,3}": a regex's count
		p.fail("expected expression, found ','%s", braceHint)
	}
	x := p.expr()
	p.skipNewlines()
	if !p.at(token.EOF) {
		if p.at(token.COMMA) {
			// "\\d{2,4}", "[0-9]{3,}": a regex's count, not an
			// interpolation (nothing else puts a ',' here)
			p.fail("expected '}' to end the interpolation, found ','%s", braceHint)
		}
		p.errorExpected("'}' to end the interpolation")
	}
	return x
}

// paren parses (e) or a tuple (a, b), which is an array.
func (p *parser) paren() ast.Expr {
	open := p.expect(token.LPAREN)
	defer p.saveArrow()()
	if p.at(token.RPAREN) {
		p.fail("expected expression, found '()'")
	}
	x := p.expr()
	if !p.at(token.COMMA) {
		p.expectClose(open)
		return x
	}
	elems := []ast.Expr{x}
	for p.got(token.COMMA) && !p.at(token.RPAREN) {
		elems = append(elems, p.expr())
	}
	p.expectClose(open)
	return &ast.ArrayLit{PosV: open.Pos, Elems: elems, Tuple: true}
}

// isArrowParams reports whether the `(` at the current token starts the
// parameter list of `(a, b) => e`.
func (p *parser) isArrowParams() bool {
	if p.closer == nil {
		// Once for the file: looking ahead from each '(' cost a scan
		// to its closer, 14 s for a file of 4 MiB of '('.
		p.closer = make([]int32, len(p.toks))
		var open []int32
		for i, t := range p.toks {
			p.closer[i] = -1
			switch t.Kind {
			case token.LPAREN, token.LBRACK, token.LBRACE:
				open = append(open, int32(i))
			case token.RPAREN, token.RBRACK, token.RBRACE:
				if n := len(open); n > 0 {
					p.closer[open[n-1]] = int32(i)
					open = open[:n-1]
				}
			}
		}
	}
	if p.p >= len(p.closer) {
		return false
	}
	i := int(p.closer[p.p])
	if i < 0 || i+1 >= len(p.toks) {
		return false
	}
	k := p.toks[i+1].Kind
	return k == token.FATARROW || k == token.ARROW
}

// arrowLambda parses `x => e`, `(a, b) => e` and `(a) => { ... }`.
func (p *parser) arrowLambda() ast.Expr {
	pos := p.tok.Pos
	fn := &ast.Function{}
	if p.at(token.IDENT) {
		fn.Params = []*ast.Param{{PosV: pos, Name: &ast.Ident{PosV: pos, Name: p.tok.Lit}}}
		p.next()
	} else {
		fn.Params = p.params()
	}
	p.next() // => or ->
	p.skipNewlines()
	fn.Body = p.fnBody(fn, true)
	return &ast.Lambda{PosV: pos, Fn: fn}
}

// fnLit parses `fn(params) body` (the current token is `fn`); a name after
// fn is allowed and kept as the function's name.
func (p *parser) fnLit(async bool) ast.Expr {
	pos := p.tok.Pos
	p.expect(token.FN)
	fn := &ast.Function{Async: async}
	if p.at(token.IDENT) {
		fn.Name = p.tok.Lit
		p.next()
	}
	fn.TypeParams = p.typeParams()
	fn.Params = p.params()
	if p.got(token.ARROW) {
		p.typeExpr()
	}
	fn.Body = p.fnBody(fn, true)
	return &ast.Lambda{PosV: pos, Fn: fn}
}

// fnBody parses a function body. For lambdas (exprOK) the body may be an
// expression, and a `{` that starts an object literal is that expression:
// fn(r) { status: "ok" } returns the object.
func (p *parser) fnBody(fn *ast.Function, exprOK bool) (body *ast.Block) {
	p.fns = append(p.fns, fn)
	colArg, colRefs, noArrow, cond := p.colArg, p.colRefs, p.noArrow, p.cond
	p.colArg, p.colRefs, p.noArrow, p.cond = false, 0, 0, ""
	defer func() {
		p.fns = p.fns[:len(p.fns)-1]
		p.colArg, p.colRefs, p.noArrow, p.cond = colArg, colRefs, noArrow, cond
		if fn.HasYield && body != nil {
			body = generatorBody(fn, body)
		}
	}()
	if p.at(token.LBRACE) && !(exprOK && p.looksLikeObject(p.p)) {
		return p.block()
	}
	if !exprOK {
		p.errorExpected("'{'")
	}
	x := p.expr()
	return &ast.Block{PosV: x.Pos(), Stmts: []ast.Stmt{&ast.ExprStmt{X: x}}}
}

// generatorBody is the body of fn, a function that yields: it returns
// the generator (__generator) of a function of no parameters holding
// fn's body, which runs a step at a time as the generator is looped
// over; fn's parameters reach it as captured variables, and a return in
// it ends the generator.
func generatorBody(fn *ast.Function, body *ast.Block) *ast.Block {
	inner := &ast.Function{Body: body, Name: fn.Name, HasYield: true, Async: fn.Async}
	fn.HasYield = false
	pos := body.PosV
	gen := &ast.Call{PosV: pos, Fn: &ast.Ident{PosV: pos, Name: "__generator"},
		Args: []*ast.Arg{{PosV: pos, Value: &ast.Lambda{PosV: pos, Fn: inner}}}}
	return &ast.Block{PosV: pos, Stmts: []ast.Stmt{&ast.Return{PosV: pos, X: gen}}}
}

// arrayLit parses [a, ...b] and [e for x in xs if c].
func (p *parser) arrayLit() ast.Expr {
	open := p.expect(token.LBRACK)
	defer p.saveArrow()()
	lit := &ast.ArrayLit{PosV: open.Pos}
	if p.at(token.RBRACK) {
		p.next()
		return lit
	}
	first := p.elem()
	if p.at(token.FOR) {
		if _, ok := first.(*ast.Spread); ok {
			p.fail("a comprehension element cannot be a spread")
		}
		c := &ast.ListComp{PosV: open.Pos, Elem: first}
		c.Vars, c.Iter, c.Cond = p.compFor()
		for p.at(token.FOR) {
			m := &ast.CompClause{}
			m.Vars, m.Iter, m.Cond = p.compFor()
			c.More = append(c.More, m)
		}
		p.expectClose(open)
		return c
	}
	lit.Elems = append(lit.Elems, first)
	for p.got(token.COMMA) && !p.at(token.RBRACK) {
		lit.Elems = append(lit.Elems, p.elem())
	}
	p.closeList(open, "array literal")
	return lit
}

func (p *parser) elem() ast.Expr {
	if p.at(token.ELLIPSIS) {
		pos := p.tok.Pos
		p.next()
		return &ast.Spread{PosV: pos, X: p.expr()}
	}
	return p.expr()
}

// compFor parses `for vars in iter [if cond]` of a comprehension.
func (p *parser) compFor() ([]ast.Pattern, ast.Expr, ast.Expr) {
	p.expect(token.FOR)
	vars := p.forVars()
	p.expect(token.IN)
	iter := p.expr()
	var cond ast.Expr
	if p.got(token.IF) {
		cond = p.expr()
	}
	return vars, iter, cond
}

// forVars parses one or two loop variables (names or destructuring patterns).
func (p *parser) forVars() []ast.Pattern {
	vars := []ast.Pattern{p.bindPattern()}
	if p.got(token.COMMA) {
		vars = append(vars, p.bindPattern())
	}
	return vars
}

// objectLit parses an object literal or a dict comprehension. Entries are
// separated by commas or line breaks; keys may be names, keywords,
// strings or [computed] expressions.
func (p *parser) objectLit() ast.Expr {
	open := p.expect(token.LBRACE)
	defer p.saveArrow()()
	lit := &ast.ObjectLit{PosV: open.Pos}
	for {
		p.skipNewlines()
		if p.at(token.RBRACE) || p.at(token.EOF) {
			break
		}
		e, key := p.objEntry()
		if p.at(token.FOR) {
			if len(lit.Entries) > 0 || key == nil {
				p.fail("unexpected 'for' in object literal")
			}
			c := &ast.DictComp{PosV: open.Pos, Key: key, Value: e.Value}
			c.Vars, c.Iter, c.Cond = p.compFor()
			p.skipNewlines()
			p.expectClose(open)
			return c
		}
		lit.Entries = append(lit.Entries, e)
		if p.got(token.COMMA) || p.at(token.NEWLINE) || p.at(token.RBRACE) {
			continue
		}
		if p.startsEntry() {
			continue // entries side by side on one line
		}
		if p.at(token.EOF) {
			break
		}
		p.errorExpected("',' or '}' in object literal")
	}
	p.expectClose(open)
	return lit
}

// startsEntry reports whether the current token begins a `key:` entry.
func (p *parser) startsEntry() bool {
	if p.at(token.ELLIPSIS) {
		return true
	}
	if isName(p.tok) || p.at(token.STRING) && p.tok.Parts == nil {
		return p.peek(1).Kind == token.COLON
	}
	return false
}

// objEntry parses one entry. key is the entry's key as an expression, for
// a dict comprehension (nil for spreads).
func (p *parser) objEntry() (e *ast.ObjEntry, key ast.Expr) {
	t := p.tok
	e = &ast.ObjEntry{PosV: t.Pos}
	switch {
	case t.Kind == token.ELLIPSIS:
		p.next()
		e.Spread = p.expr()
		return e, nil
	case t.Kind == token.LBRACK:
		open := p.tok
		p.next()
		e.KeyExpr = p.expr()
		p.expectClose(open)
		p.expect(token.COLON)
		p.skipNewlines()
		e.Value = p.expr()
		return e, e.KeyExpr
	case (isName(t) || t.Kind == token.STRING && t.Parts == nil) && p.peek(1).Kind == token.COLON:
		p.next()
		colon := p.tok
		p.next()
		if p.at(token.ASSIGN) && p.tok.Pos == colon.End {
			// fn(req) { data, err := f() }: read as an object's entries
			p.failAt(colon.Pos, p.tok.End, ":= is not Tova: write the names and = (a, b = f()), and var before them for bindings that change")
		}
		p.skipNewlines()
		e.Key = t.Lit
		e.Value = p.expr()
		if t.Kind == token.STRING {
			return e, &ast.StringLit{PosV: t.Pos, Value: t.Lit}
		}
		return e, &ast.Ident{PosV: t.Pos, Name: t.Lit}
	case t.Kind == token.IDENT:
		switch p.peek(1).Kind {
		case token.COMMA, token.RBRACE, token.NEWLINE, token.SEMI, token.EOF:
			p.next()
			e.Key = t.Lit
			e.Value = &ast.Ident{PosV: t.Pos, Name: t.Lit}
			return e, nil
		}
	}
	// Only a dict comprehension may have an expression key.
	k := p.expr()
	if !p.at(token.COLON) {
		p.failAt(t.Pos, t.End, "expected object key (name, string or [expression]), found %s", t)
	}
	p.next()
	p.skipNewlines()
	v := p.expr()
	if !p.at(token.FOR) {
		if _, interp := k.(*ast.InterpString); interp {
			p.failAt(t.Pos, t.End, "object key: a string with {...} in it is computed: write it in brackets, [\"...{x}\"]: value")
		}
		p.failAt(t.Pos, t.End, "object key must be a name, a string or [expression]")
	}
	e.Value = v
	return e, k
}

// isShorthandObject reports whether the `{` at token index i is `{ name }`:
// at statement position that is the object { name: name } (a block
// holding only a name would be pointless), so `fn f(id) { { id } }`
// returns an object as in the reference implementation.
func (p *parser) isShorthandObject(i int) bool {
	j := i + 1
	for j < len(p.toks) && p.toks[j].Kind == token.NEWLINE {
		j++
	}
	if j >= len(p.toks) || !isName(p.toks[j]) {
		return false
	}
	j++
	for j < len(p.toks) && p.toks[j].Kind == token.NEWLINE {
		j++
	}
	return j < len(p.toks) && p.toks[j].Kind == token.RBRACE
}

// looksLikeObject reports whether the `{` at token index i starts an
// object literal rather than a block. It decides for `{` at statement
// position and for lambda and match-arm bodies: `{ key: ...`,
// `{ "key": ...`, `{ [k]: ...`, `{ ...x`, and `{ a, b }` are objects;
// `{ }`, `{ x }`, `{ label: for ...`, `{ x: Int = 1` and `{ ... }` are blocks.
func (p *parser) looksLikeObject(i int) bool {
	tok := func(j int) token.Token {
		if j < len(p.toks) {
			return p.toks[j]
		}
		return p.toks[len(p.toks)-1]
	}
	j := i + 1
	for tok(j).Kind == token.NEWLINE {
		j++
	}
	t := tok(j)
	switch {
	case t.Kind == token.ELLIPSIS:
		switch tok(j + 1).Kind {
		case token.NEWLINE, token.RBRACE, token.SEMI, token.EOF:
			return false // the `...` placeholder statement
		}
		return true
	case t.Kind == token.STRING:
		return tok(j+1).Kind == token.COLON
	case t.Kind == token.LBRACK:
		depth := 0
		for k := j; k < len(p.toks); k++ {
			switch p.toks[k].Kind {
			case token.LBRACK, token.LPAREN, token.LBRACE:
				depth++
			case token.RBRACK, token.RPAREN, token.RBRACE:
				depth--
				if depth == 0 {
					return tok(k+1).Kind == token.COLON
				}
			case token.EOF:
				return false
			}
		}
		return false
	case isName(t) && tok(j+1).Kind == token.COLON:
		switch tok(j + 2).Kind {
		case token.FOR, token.WHILE, token.LOOP:
			return false // a loop label
		}
		// `x: Type = value` is a typed binding: look for `=` on the line.
		depth := 0
		for k := j + 2; k < len(p.toks); k++ {
			switch p.toks[k].Kind {
			case token.LBRACK, token.LPAREN, token.LBRACE:
				depth++
			case token.RBRACK, token.RPAREN, token.RBRACE:
				depth--
				if depth < 0 {
					return true
				}
			case token.ASSIGN:
				if depth == 0 {
					return false
				}
			case token.COMMA, token.NEWLINE, token.SEMI:
				if depth == 0 {
					return true
				}
			case token.EOF:
				return true
			}
		}
		return true
	case t.Kind == token.IDENT && tok(j+1).Kind == token.COMMA:
		// { a, b } is an object; { a, b = 1, 2 } a block.
		k := j
		for tok(k).Kind == token.IDENT && tok(k+1).Kind == token.COMMA {
			k += 2
			for tok(k).Kind == token.NEWLINE {
				k++
			}
		}
		switch {
		case tok(k).Kind == token.ELLIPSIS:
			return true
		case isName(tok(k)) && tok(k+1).Kind == token.COLON:
			return true // { a, b: c }
		case tok(k).Kind == token.IDENT:
			k++
		}
		for tok(k).Kind == token.NEWLINE {
			k++
		}
		return tok(k).Kind == token.RBRACE
	}
	return false
}

// tupleIndex reports whether t, after a '.', is a tuple element number:
// decimal digits (t.0), or two numbers joined by a dot (t.1.0, which
// scans as one number).
func tupleIndex(t token.Token) bool {
	if t.Kind != token.INT && t.Kind != token.FLOAT {
		return false
	}
	first, second, deep := strings.Cut(t.Lit, ".")
	if t.Kind == token.FLOAT && (!deep || second == "") || t.Kind == token.INT && deep {
		return false
	}
	for _, part := range []string{first, second} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return false
			}
		}
	}
	return first != ""
}

// jsRegexEscapes rewrites JavaScript's \uXXXX and \u{X...} escapes of
// a regex literal (code from the reference's programs) to RE2's \x{...};
// a UTF-16 surrogate pair becomes its one code point. Every other
// escape is left as written.
func jsRegexEscapes(pattern string) string {
	if !strings.Contains(pattern, `\u`) {
		return pattern
	}
	hex4 := func(s string) (rune, bool) {
		if len(s) < 4 {
			return 0, false
		}
		n, err := strconv.ParseUint(s[:4], 16, 32)
		return rune(n), err == nil
	}
	var b strings.Builder
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c != '\\' || i+1 >= len(pattern) {
			b.WriteByte(c)
			continue
		}
		if pattern[i+1] != 'u' {
			b.WriteString(pattern[i : i+2]) // another escape, \\ included
			i++
			continue
		}
		rest := pattern[i+2:]
		if r, ok := hex4(rest); ok {
			n := 6
			if utf16.IsSurrogate(r) && strings.HasPrefix(rest[4:], `\u`) {
				if r2, ok := hex4(rest[6:]); ok {
					if pair := utf16.DecodeRune(r, r2); pair != utf8.RuneError {
						r, n = pair, 12
					}
				}
			}
			fmt.Fprintf(&b, `\x{%X}`, r)
			i += n - 1
			continue
		}
		if j := strings.IndexByte(rest, '}'); strings.HasPrefix(rest, "{") && j > 1 {
			if _, err := strconv.ParseUint(rest[1:j], 16, 32); err == nil {
				b.WriteString(`\x` + rest[:j+1])
				i += 2 + j
				continue
			}
		}
		b.WriteString(`\u`) // RE2 refuses it, and says so
		i++
	}
	return b.String()
}

// regexFlags are the flags a regex literal may carry (JavaScript's):
// i, m and s change what matches; g makes replace change every match;
// u and y are accepted and change nothing.
const regexFlags = "gimsuy"

// regexLit is /pattern/flags: a call of the builtin that makes a Regex
// value (RE2 syntax), checked here so that a bad pattern is a compile
// error at its place.
func (p *parser) regexLit(t token.Token) ast.Expr {
	end := strings.LastIndexByte(t.Lit, '/')
	pattern, flags := t.Lit[1:end], t.Lit[end+1:]
	for i, f := range flags {
		if !strings.ContainsRune(regexFlags, f) || strings.ContainsRune(flags[:i], f) {
			p.failAt(t.Pos, t.End, "regex flag %q: expected each of g, i, m, s, u, y at most once", f)
		}
	}
	written := pattern
	pattern = jsRegexEscapes(pattern)
	full := pattern
	if inline := strings.Map(func(r rune) rune {
		if strings.ContainsRune("ims", r) {
			return r
		}
		return -1
	}, flags); inline != "" {
		full = "(?" + inline + ")" + pattern
	}
	if _, err := regexp.Compile(full); err != nil {
		msg := strings.TrimPrefix(err.Error(), "error parsing regexp: ")
		p.failAt(t.Pos, t.End, "invalid regex /%s/: %s (patterns are RE2: no lookaround or backreferences)", written, msg)
	}
	str := func(v string) *ast.Arg { return &ast.Arg{PosV: t.Pos, Value: &ast.StringLit{PosV: t.Pos, Value: v}} }
	return &ast.Call{PosV: t.Pos, Fn: &ast.Ident{PosV: t.Pos, Name: "__regex"}, Args: []*ast.Arg{str(pattern), str(flags)}}
}
