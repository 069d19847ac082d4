// Package token defines source positions and the lexical tokens of Tova.
package token

import "fmt"

// Pos is a compact source position: 1-based line and column (in characters).
// The zero Pos means "no position".
type Pos struct {
	Line int32
	Col  int32
}

// IsValid reports whether p names a real position.
func (p Pos) IsValid() bool { return p.Line > 0 }

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Before reports whether p comes strictly before q.
func (p Pos) Before(q Pos) bool {
	return p.Line < q.Line || (p.Line == q.Line && p.Col < q.Col)
}
