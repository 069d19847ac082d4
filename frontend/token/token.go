package token

import "strconv"

// Kind is the lexical class of a token.
type Kind uint8

const (
	ILLEGAL Kind = iota
	EOF
	NEWLINE // a statement-ending line break (only emitted outside () and [])

	IDENT  // name
	INT    // 123, 0xFF, 1_000
	FLOAT  // 3.5, 1e9
	STRING // "a", 'a', """a""", r"a"; Parts is set when it interpolates
	REGEX  // /pattern/flags: Lit is the source text, slashes included

	// Delimiters and operators.
	LPAREN    // (
	RPAREN    // )
	LBRACK    // [
	RBRACK    // ]
	LBRACE    // {
	RBRACE    // }
	COMMA     // ,
	SEMI      // ;
	COLON     // :
	DCOLON    // ::
	DOT       // .
	DOTDOT    // ..
	DOTDOTEQ  // ..=
	ELLIPSIS  // ...
	QDOT      // ?.
	QQ        // ??
	QUESTION  // ?
	FATARROW  // =>
	ARROW     // ->
	PIPE      // |>
	ASSIGN    // =
	EQ        // ==
	NE        // !=
	LT        // <
	LE        // <=
	GT        // >
	GE        // >=
	ADD       // +
	SUB       // -
	MUL       // *
	DIV       // /
	MOD       // %
	POW       // **
	CONCAT    // ++
	AMP       // &
	BAR       // |
	CARET     // ^
	TILDE     // ~
	SHL       // <<
	SHR       // >>
	ANDAND    // &&
	OROR      // ||
	BANG      // !
	AT        // @
	ADDASSIGN // +=
	SUBASSIGN // -=
	MULASSIGN // *=
	DIVASSIGN // /=
	MODASSIGN // %=
	POWASSIGN // **=
	ANDASSIGN // &=
	ORASSIGN  // |=
	XORASSIGN // ^=
	SHLASSIGN // <<=
	SHRASSIGN // >>=

	keywordBeg
	AND
	AS
	ASYNC
	AWAIT
	BREAK
	BROWSER
	CATCH
	CLIENT
	CONTINUE
	DEFAULT
	DEFER
	DERIVE
	ELIF
	ELSE
	EXPORT
	EXTERN
	FALSE
	FINALLY
	FN
	FOR
	FROM
	GUARD
	IF
	IMPL
	IMPORT
	IN
	INTERFACE
	IS
	LET
	LOOP
	MATCH
	MUT
	NIL
	NOT
	OR
	PUB
	RETURN
	SERVER
	SHARED
	THROW
	TRAIT
	TRUE
	TRY
	TYPE
	VAR
	WHEN
	WHILE
	WITH
	YIELD
	keywordEnd
)

var kindText = [...]string{
	ILLEGAL: "illegal token",
	EOF:     "end of file",
	NEWLINE: "newline",
	IDENT:   "identifier",
	INT:     "integer",
	FLOAT:   "number",
	STRING:  "string",
	REGEX:   "regex",

	LPAREN:    "(",
	RPAREN:    ")",
	LBRACK:    "[",
	RBRACK:    "]",
	LBRACE:    "{",
	RBRACE:    "}",
	COMMA:     ",",
	SEMI:      ";",
	COLON:     ":",
	DCOLON:    "::",
	DOT:       ".",
	DOTDOT:    "..",
	DOTDOTEQ:  "..=",
	ELLIPSIS:  "...",
	QDOT:      "?.",
	QQ:        "??",
	QUESTION:  "?",
	FATARROW:  "=>",
	ARROW:     "->",
	PIPE:      "|>",
	ASSIGN:    "=",
	EQ:        "==",
	NE:        "!=",
	LT:        "<",
	LE:        "<=",
	GT:        ">",
	GE:        ">=",
	ADD:       "+",
	SUB:       "-",
	MUL:       "*",
	DIV:       "/",
	MOD:       "%",
	POW:       "**",
	CONCAT:    "++",
	AMP:       "&",
	BAR:       "|",
	CARET:     "^",
	TILDE:     "~",
	SHL:       "<<",
	SHR:       ">>",
	ANDAND:    "&&",
	OROR:      "||",
	BANG:      "!",
	AT:        "@",
	ADDASSIGN: "+=",
	SUBASSIGN: "-=",
	MULASSIGN: "*=",
	DIVASSIGN: "/=",
	MODASSIGN: "%=",
	POWASSIGN: "**=",
	ANDASSIGN: "&=",
	ORASSIGN:  "|=",
	XORASSIGN: "^=",
	SHLASSIGN: "<<=",
	SHRASSIGN: ">>=",

	AND:       "and",
	AS:        "as",
	ASYNC:     "async",
	AWAIT:     "await",
	BREAK:     "break",
	BROWSER:   "browser",
	CATCH:     "catch",
	CLIENT:    "client",
	CONTINUE:  "continue",
	DEFAULT:   "default",
	DEFER:     "defer",
	DERIVE:    "derive",
	ELIF:      "elif",
	ELSE:      "else",
	EXPORT:    "export",
	EXTERN:    "extern",
	FALSE:     "false",
	FINALLY:   "finally",
	FN:        "fn",
	FOR:       "for",
	FROM:      "from",
	GUARD:     "guard",
	IF:        "if",
	IMPL:      "impl",
	IMPORT:    "import",
	IN:        "in",
	INTERFACE: "interface",
	IS:        "is",
	LET:       "let",
	LOOP:      "loop",
	MATCH:     "match",
	MUT:       "mut",
	NIL:       "nil",
	NOT:       "not",
	OR:        "or",
	PUB:       "pub",
	RETURN:    "return",
	SERVER:    "server",
	SHARED:    "shared",
	THROW:     "throw",
	TRAIT:     "trait",
	TRUE:      "true",
	TRY:       "try",
	TYPE:      "type",
	VAR:       "var",
	WHEN:      "when",
	WHILE:     "while",
	WITH:      "with",
	YIELD:     "yield",
}

// String returns the source text of operators and keywords, and a
// description ("identifier", "newline") for the other kinds.
func (k Kind) String() string {
	if int(k) < len(kindText) && kindText[k] != "" {
		return kindText[k]
	}
	return "token(" + strconv.Itoa(int(k)) + ")"
}

// IsKeyword reports whether k is a reserved word.
func (k Kind) IsKeyword() bool { return k > keywordBeg && k < keywordEnd }

// IsOperator reports whether k is a delimiter or operator.
func (k Kind) IsOperator() bool { return k >= LPAREN && k < keywordBeg }

// keywords maps reserved words to their kinds. Words the reference accepts
// as identifiers in expressions (route, state, computed, effect, component,
// store, form, field, group, steps) are deliberately absent: they are
// ordinary identifiers, recognised by context where they matter.
var keywords = func() map[string]Kind {
	m := make(map[string]Kind, int(keywordEnd-keywordBeg))
	for k := keywordBeg + 1; k < keywordEnd; k++ {
		m[kindText[k]] = k
	}
	return m
}()

// Lookup returns the keyword kind of name, or IDENT.
func Lookup(name string) Kind {
	if k, ok := keywords[name]; ok {
		return k
	}
	return IDENT
}

// Token is one lexical token.
type Token struct {
	Kind Kind
	Pos  Pos // first character
	End  Pos // just past the last character
	// Lit is the identifier or keyword name, the literal text of a number
	// (underscores kept), or the decoded value of a string without
	// interpolation. The EOF ending the tokens of a string interpolation
	// has Lit "}": it stands on the closing brace.
	Lit string
	// Parts is set for a string with interpolation: literal text and
	// embedded expressions in source order.
	Parts []StrPart
	// NLBefore reports that a line break separates this token from the
	// previous one, even where no NEWLINE token was emitted (inside () or []).
	NLBefore bool
	// Cut marks an EOF that ends the tokens early: the source ended inside
	// a string or comment, or the scanner stopped reading. The scanner has
	// reported why; what the parser finds missing there follows from it.
	Cut bool
}

// StrPart is one piece of an interpolated string: literal text, or the
// tokens of an embedded {expression} (terminated by an EOF token).
type StrPart struct {
	Pos    Pos
	Text   string
	Tokens []Token // nil for a text part
}

// IsExpr reports whether the part is an embedded expression.
func (p StrPart) IsExpr() bool { return p.Tokens != nil }

// String describes the token for messages: `'foo'`, `newline`,
// `string "abc"`, `'}'`.
func (t Token) String() string {
	switch t.Kind {
	case IDENT:
		return "'" + t.Lit + "'"
	case INT, FLOAT:
		return "number " + t.Lit
	case STRING:
		if t.Parts != nil {
			return "string"
		}
		s := t.Lit
		if len(s) > 20 {
			s = s[:17] + "..."
		}
		return "string " + strconv.Quote(s)
	case EOF:
		if t.Lit == "}" {
			return "'}'" // the end of a string interpolation
		}
		return t.Kind.String()
	case NEWLINE, ILLEGAL:
		return t.Kind.String()
	}
	return "'" + t.Kind.String() + "'"
}
