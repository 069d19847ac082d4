package parse

import (
	"math"
	"strconv"
	"unicode"
	"unicode/utf8"

	"tova/frontend/ast"
	"tova/frontend/token"
)

// pattern parses a match pattern, with `|` alternatives.
func (p *parser) pattern() ast.Pattern {
	first := p.matchPattern()
	if !p.at(token.BAR) {
		return first
	}
	or := &ast.POr{PosV: first.Pos(), Alts: []ast.Pattern{first}}
	for p.got(token.BAR) {
		p.skipNewlines()
		or.Alts = append(or.Alts, p.matchPattern())
	}
	return or
}

func isUpperName(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsUpper(r)
}

// matchPattern parses one pattern of a match arm: literals (including
// negative numbers), ranges, "prefix" ++ rest, _, bindings (lower case),
// variants (capitalised, with optional payload patterns), and array,
// tuple and object patterns.
func (p *parser) matchPattern() ast.Pattern {
	p.enter()
	defer p.leave()
	t := p.tok
	switch t.Kind {
	case token.SUB, token.INT, token.FLOAT, token.STRING:
		lo := p.patternLiteral()
		if s, ok := lo.(*ast.StringLit); ok && p.at(token.CONCAT) {
			p.next()
			pp := &ast.PStrPrefix{PosV: t.Pos, Prefix: s.Value}
			switch {
			case p.at(token.IDENT) && p.tok.Lit == "_":
				pp.Rest = &ast.PWild{PosV: p.tok.Pos}
				p.next()
			case p.at(token.IDENT):
				pp.Rest = &ast.PBind{Name: p.ident()}
			default:
				p.errorExpected("name after '++'")
			}
			return pp
		}
		if p.at(token.DOTDOT) || p.at(token.DOTDOTEQ) {
			incl := p.at(token.DOTDOTEQ)
			p.next()
			hi := p.patternLiteral()
			return &ast.PRange{PosV: t.Pos, Lo: lo, Hi: hi, Inclusive: incl}
		}
		return &ast.PLit{Value: lo}
	case token.TRUE, token.FALSE:
		p.next()
		return &ast.PLit{Value: &ast.BoolLit{PosV: t.Pos, Value: t.Kind == token.TRUE}}
	case token.NIL:
		p.next()
		return &ast.PLit{Value: &ast.NilLit{PosV: t.Pos}}
	case token.IDENT:
		if t.Lit == "_" {
			p.next()
			return &ast.PWild{PosV: t.Pos}
		}
		if !isUpperName(t.Lit) {
			return &ast.PBind{Name: p.ident()}
		}
		p.next()
		name := t.Lit
		for p.at(token.DOT) && p.peek(1).Kind == token.IDENT { // Shape.Circle
			p.next()
			name = p.tok.Lit
			p.next()
		}
		v := &ast.PVariant{PosV: t.Pos, Name: name}
		if p.at(token.LPAREN) {
			open := p.tok
			p.next()
			for !p.at(token.RPAREN) {
				var field *ast.Ident
				if isName(p.tok) && p.peek(1).Kind == token.COLON {
					field = &ast.Ident{PosV: p.tok.Pos, Name: p.tok.Lit} // Node(value: v): by name
					p.next()
					p.next()
				}
				if (field != nil) != (len(v.Fields) > 0) && len(v.Args) > 0 {
					p.failAt(p.tok.Pos, p.tok.End, "a variant pattern's fields are all named (Node(value: v), any of them) or all by position (Node(v, l, r)), not some of each")
				}
				if field != nil {
					v.Fields = append(v.Fields, field)
				}
				v.Args = append(v.Args, p.pattern())
				if !p.got(token.COMMA) {
					break
				}
			}
			p.closeList(open, "variant pattern")
		}
		return v
	case token.LBRACK, token.LPAREN:
		return p.seqPattern(true)
	case token.LBRACE:
		return p.objectPattern(true)
	}
	if p.tok.Kind == token.DEFAULT || p.tok.Kind == token.ELSE || p.tok.Kind == token.IDENT && p.tok.Lit == "default" {
		// (a switch's default, a match's else elsewhere)
		p.fail("expected pattern, found %s: the arm that takes any other value is written _ => ...", p.tok)
	}
	p.errorExpected("pattern")
	return nil
}

// patternLiteral parses a number (optionally negative) or string literal.
func (p *parser) patternLiteral() ast.Expr {
	t := p.tok
	switch t.Kind {
	case token.SUB:
		p.next()
		if !p.at(token.INT) && !p.at(token.FLOAT) {
			p.errorExpected("number after '-' in pattern")
		}
		if p.at(token.INT) && isMinIntMagnitude(p.tok.Lit) {
			p.next()
			return &ast.IntLit{PosV: t.Pos, Value: math.MinInt64}
		}
		return &ast.Unary{PosV: t.Pos, Op: "-", X: p.patternLiteral()}
	case token.INT:
		p.next()
		return p.intLit(t)
	case token.FLOAT:
		p.next()
		return p.floatLit(t)
	case token.STRING:
		if t.Parts != nil {
			p.fail("an interpolated string cannot be a pattern")
		}
		p.next()
		return &ast.StringLit{PosV: t.Pos, Value: t.Lit}
	}
	p.errorExpected("literal")
	return nil
}

// bindPattern parses a destructuring pattern (assignment and var targets,
// parameters, loop variables): a name, _, [a, ...rest], (a, b) or
// { a, b: c, d = 1, ...rest }.
func (p *parser) bindPattern() ast.Pattern {
	p.enter()
	defer p.leave()
	switch p.tok.Kind {
	case token.LBRACE:
		return p.objectPattern(false)
	case token.LBRACK, token.LPAREN:
		return p.seqPattern(false)
	case token.IDENT:
		if p.tok.Lit == "_" {
			pos := p.tok.Pos
			p.next()
			return &ast.PWild{PosV: pos}
		}
		return &ast.PBind{Name: p.ident()}
	}
	if p.tok.Kind.IsKeyword() {
		p.fail("expected name, found keyword '%s'", p.tok.Kind)
	}
	p.errorExpected("name or destructuring pattern")
	return nil
}

// seqPattern parses [p, ...rest] or a tuple (p, q); `(p)` is just p.
func (p *parser) seqPattern(match bool) ast.Pattern {
	open := p.tok
	p.next()
	arr := &ast.PArray{PosV: open.Pos, RestIndex: -1}
	closer := closeOf(open.Kind)
	trailingComma := false
	for !p.at(closer) {
		trailingComma = false
		if p.at(token.ELLIPSIS) {
			pos := p.tok.Pos
			p.next()
			if arr.RestIndex >= 0 {
				p.failAt(pos, pos, "only one rest element is allowed")
			}
			arr.RestIndex = len(arr.Elems)
			if p.at(token.IDENT) {
				if p.tok.Lit != "_" {
					arr.Rest = &ast.Ident{PosV: p.tok.Pos, Name: p.tok.Lit}
				}
				p.next()
			}
		} else if match {
			arr.Elems = append(arr.Elems, p.pattern())
		} else {
			arr.Elems = append(arr.Elems, p.bindPattern())
		}
		if !p.got(token.COMMA) {
			break
		}
		trailingComma = true
	}
	p.closeList(open, "pattern")
	if open.Kind == token.LPAREN && len(arr.Elems) == 1 && arr.RestIndex < 0 && !trailingComma {
		return arr.Elems[0]
	}
	return arr
}

// objectPattern parses { a, b: pat, c = default, "k": pat, ...rest }.
func (p *parser) objectPattern(match bool) ast.Pattern {
	open := p.tok
	p.next()
	obj := &ast.PObject{PosV: open.Pos}
	for {
		p.skipNewlines()
		if p.at(token.RBRACE) || p.at(token.EOF) {
			break
		}
		if p.at(token.ELLIPSIS) {
			p.next()
			obj.Rest = p.ident()
		} else {
			t := p.tok
			if !isName(t) && !(t.Kind == token.STRING && t.Parts == nil) {
				p.errorExpected("field name in object pattern")
			}
			p.next()
			f := &ast.PField{PosV: t.Pos, Key: t.Lit}
			switch {
			case p.got(token.COLON):
				if match {
					f.Pattern = p.pattern()
				} else {
					f.Pattern = p.bindPattern()
				}
			case t.Kind == token.IDENT:
				f.Pattern = &ast.PBind{Name: &ast.Ident{PosV: t.Pos, Name: t.Lit}}
			default:
				p.failAt(t.Pos, t.End, "expected ':' after %s in object pattern", t)
			}
			if p.got(token.ASSIGN) {
				f.Default = p.expr()
			}
			obj.Fields = append(obj.Fields, f)
		}
		if p.got(token.COMMA) || p.at(token.NEWLINE) {
			continue
		}
		if !p.at(token.RBRACE) {
			p.errorExpected("',' or '}' in object pattern")
		}
	}
	p.expectClose(open)
	return obj
}

// ---------------------------------------------------------------- types

// typeExpr parses a type annotation: Int, [Int], Option<String>, String?,
// A | B, (A, B) -> R, fn(A) -> R, (A, B).
//
// Encoding in TypeExpr.Name: "[]" array of Args[0]; "?" optional Args[0];
// "|" union of Args; "fn" function type with parameter types then the
// result type as Args; "()" tuple of Args.
func (p *parser) typeExpr() *ast.TypeExpr {
	p.enter()
	defer p.leave()
	t := p.typePostfix()
	if !p.at(token.BAR) {
		return t
	}
	u := &ast.TypeExpr{PosV: t.PosV, Name: "|", Args: []*ast.TypeExpr{t}}
	for p.got(token.BAR) {
		u.Args = append(u.Args, p.typePostfix())
	}
	return u
}

func (p *parser) typePostfix() *ast.TypeExpr {
	t := p.typePrimary()
	if p.at(token.LBRACK) && p.peek(1).Kind == token.RBRACK && !p.tok.NLBefore {
		// String[] (TypeScript's, Java's)
		p.failAt(p.tok.Pos, p.peek(1).End, "a list type is written [%s], not %s[]", t.Name, t.Name)
	}
	for p.at(token.QUESTION) {
		p.next()
		t = &ast.TypeExpr{PosV: t.PosV, Name: "?", Args: []*ast.TypeExpr{t}}
	}
	return t
}

func (p *parser) typePrimary() *ast.TypeExpr {
	t := p.tok
	switch t.Kind {
	case token.IDENT, token.NIL:
		p.next()
		name := t.Lit
		if t.Kind == token.NIL {
			name = "Nil"
		}
		for p.at(token.DOT) && p.peek(1).Kind == token.IDENT {
			p.next()
			name += "." + p.tok.Lit
			p.next()
		}
		te := &ast.TypeExpr{PosV: t.Pos, Name: name}
		if p.at(token.LT) {
			p.next()
			for {
				te.Args = append(te.Args, p.typeExpr())
				if !p.got(token.COMMA) {
					break
				}
			}
			p.closeAngle()
		}
		return te
	case token.LBRACK:
		p.next()
		te := &ast.TypeExpr{PosV: t.Pos, Name: "[]", Args: []*ast.TypeExpr{p.typeExpr()}}
		p.expectClose(t)
		return te
	case token.LPAREN, token.FN:
		if t.Kind == token.FN {
			p.next()
		}
		open := p.tok
		p.expect(token.LPAREN)
		var args []*ast.TypeExpr
		for !p.at(token.RPAREN) {
			args = append(args, p.typeExpr())
			if !p.got(token.COMMA) {
				break
			}
		}
		p.expectClose(open)
		if p.got(token.ARROW) {
			return &ast.TypeExpr{PosV: t.Pos, Name: "fn", Args: append(args, p.typeExpr())}
		}
		if t.Kind == token.FN {
			return &ast.TypeExpr{PosV: t.Pos, Name: "fn", Args: append(args, &ast.TypeExpr{PosV: t.Pos, Name: "Nil"})}
		}
		if len(args) == 1 {
			return args[0]
		}
		return &ast.TypeExpr{PosV: t.Pos, Name: "()", Args: args}
	}
	p.errorExpected("type")
	return nil
}

// closeAngle consumes the `>` closing type arguments, splitting `>>`
// (List<List<Int>>) and `>=` (Option<Int>= None) tokens.
func (p *parser) closeAngle() {
	t := &p.toks[p.p]
	switch t.Kind {
	case token.GT:
		p.next()
		return
	case token.SHR, token.GE:
		if t.Kind == token.SHR {
			t.Kind = token.GT
		} else {
			t.Kind = token.ASSIGN
		}
		t.Pos.Col++
		p.tok = *t
		return
	}
	p.errorExpected("'>' to close the type arguments")
}

// typeParams parses optional generic parameters <T, U>.
func (p *parser) typeParams() []string {
	if !p.at(token.LT) {
		return nil
	}
	p.next()
	var names []string
	for {
		names = append(names, p.ident().Name)
		if !p.got(token.COMMA) {
			break
		}
	}
	p.closeAngle()
	return names
}

// typeDecl parses records, ADTs, generics, aliases with `where`
// refinements, and a trailing `derive [..]`.
func (p *parser) typeDecl() ast.Stmt {
	d := &ast.TypeDecl{PosV: p.tok.Pos}
	p.next()
	d.Name = p.ident()
	d.Params = p.typeParams()
	if p.got(token.ASSIGN) {
		p.skipNewlines()
		d.Alias = p.typeExpr()
		if p.at(token.IDENT) && p.tok.Lit == "where" {
			d.Alias.Check = p.refinement()
		}
	} else {
		open := p.tok
		if !p.at(token.LBRACE) {
			p.errorExpected("'{' or '=' after type name")
		}
		p.next()
		for {
			for p.at(token.NEWLINE) || p.at(token.COMMA) || p.at(token.SEMI) {
				p.next()
			}
			if p.at(token.RBRACE) || p.at(token.EOF) {
				break
			}
			name := p.tok
			if !isName(name) {
				p.errorExpected("field or variant name")
			}
			p.next()
			switch {
			case p.at(token.COLON):
				p.next()
				f := &ast.FieldDecl{PosV: name.Pos, Name: name.Lit, Type: p.typeExpr()}
				if p.got(token.ASSIGN) {
					f.Default = defaultThunk(p.expr()) // (a model of the type computes it per create)
				}
				d.Fields = append(d.Fields, f)
			case name.Kind == token.IDENT && isUpperName(name.Lit):
				v := &ast.VariantDecl{PosV: name.Pos, Name: name.Lit}
				if p.at(token.LPAREN) {
					v.Fields = p.variantFields()
				}
				d.Variants = append(d.Variants, v)
			default:
				p.failAt(name.Pos, name.End, "expected ':' after field name %s", name)
			}
			switch p.tok.Kind {
			case token.NEWLINE, token.COMMA, token.SEMI, token.RBRACE, token.IDENT:
			default:
				p.errorExpected("newline or ',' after field or variant")
			}
		}
		p.expectClose(open)
	}
	if p.peekPastNewlines(token.DERIVE) {
		p.next()
		bracket := p.got(token.LBRACK)
		for {
			d.Derive = append(d.Derive, p.ident().Name)
			if !p.got(token.COMMA) {
				break
			}
		}
		if bracket {
			p.expect(token.RBRACK)
		}
	}
	if restatesBuiltin(d) {
		return nil
	}
	return d
}

// builtinADTs are the builtin Result and Option as a program may declare
// them (the reference's guides show these declarations): variant names
// and their one field's name.
var builtinADTs = map[string]map[string]string{
	"Result": {"Ok": "value", "Err": "error"},
	"Option": {"Some": "value", "None": ""},
}

// A variant's one unnamed field (`Err(E)`, as the reference's docs write
// it) is named value; restating Err so is restating the builtin too.

// restatesBuiltin reports whether d declares Result or Option as the
// builtin is, `type Result<T, E> { Ok(value: T)  Err(error: E) }`: such a
// declaration changes nothing, and the program keeps the builtin, which
// `?`, `unwrap` and the other methods work with.
func restatesBuiltin(d *ast.TypeDecl) bool {
	want, ok := builtinADTs[d.Name.Name]
	if !ok || d.Alias != nil || len(d.Fields) > 0 || len(d.Derive) > 0 || len(d.Variants) != len(want) {
		return false
	}
	for _, v := range d.Variants {
		field, ok := want[v.Name]
		switch {
		case !ok:
			return false
		case field == "":
			if len(v.Fields) != 0 {
				return false
			}
		case len(v.Fields) != 1 || v.Fields[0].Name != field && v.Fields[0].Name != "value" || v.Fields[0].Default != nil:
			return false
		}
	}
	return true
}

// variantFields parses a variant payload: (r: Float, g: Int = 0) or (Int, String).
// An unnamed single field is called "value", others "_0", "_1", ...
func (p *parser) variantFields() []*ast.FieldDecl {
	open := p.tok
	p.next()
	var fs []*ast.FieldDecl
	for !p.at(token.RPAREN) {
		f := &ast.FieldDecl{PosV: p.tok.Pos}
		switch next := p.peek(1).Kind; {
		case isName(p.tok) && next == token.COLON:
			f.Name = p.tok.Lit
			p.next()
			p.next()
			f.Type = p.typeExpr()
		case p.at(token.IDENT) && isLowerName(p.tok.Lit) && (next == token.COMMA || next == token.RPAREN || next == token.ASSIGN):
			// The reference's field without a type, Circle(radius): a
			// name in lower case is no type of the language.
			f.Name = p.tok.Lit
			f.Type = &ast.TypeExpr{PosV: p.tok.Pos, Name: "Any"}
			p.next()
		default:
			f.Type = p.typeExpr()
		}
		if p.got(token.ASSIGN) {
			f.Default = p.expr()
		}
		fs = append(fs, f)
		if !p.got(token.COMMA) {
			break
		}
	}
	p.expectClose(open)
	for i, f := range fs {
		if f.Name == "" {
			if len(fs) == 1 {
				f.Name = "value"
			} else {
				f.Name = "_" + strconv.Itoa(i)
			}
		}
	}
	return fs
}

// refinement parses `where { pred; pred }` into the validator
// fn(it) pred1 and pred2 ...
func (p *parser) refinement() ast.Expr {
	pos := p.tok.Pos
	p.next()
	open := p.tok
	if !p.at(token.LBRACE) {
		p.errorExpected("'{' after where")
	}
	p.next()
	var cond ast.Expr
	for {
		p.skipSeps()
		if p.at(token.RBRACE) || p.at(token.EOF) {
			break
		}
		e := p.expr()
		if cond == nil {
			cond = e
		} else {
			cond = &ast.Binary{PosV: e.Pos(), Op: "and", X: cond, Y: e}
		}
		if !p.atStmtEnd() {
			p.errorExpected("newline after refinement predicate")
		}
	}
	p.expectClose(open)
	if cond == nil {
		cond = &ast.BoolLit{PosV: pos, Value: true}
	}
	it := &ast.Ident{PosV: pos, Name: "it"}
	return &ast.Lambda{PosV: pos, Fn: &ast.Function{
		Params: []*ast.Param{{PosV: pos, Name: it}},
		Body:   &ast.Block{PosV: pos, Stmts: []ast.Stmt{&ast.ExprStmt{X: cond}}},
	}}
}

// isLowerName reports whether name begins with a lower-case letter or
// '_', as a field's name does and a type's does not.
func isLowerName(name string) bool {
	r, _ := utf8.DecodeRuneInString(name)
	return r == '_' || unicode.IsLower(r)
}
