package netio

import (
	"crypto/rand"
	"encoding/binary"
	"strconv"
	"sync/atomic"

	"github.com/google/uuid"
)

// IDGenerator makes request ids. AppendID appends a new id to dst (and
// must not modify dst's existing bytes). Ids must be unique within the
// process and across its restarts, and use only [A-Za-z0-9\-_.].
type IDGenerator interface {
	AppendID(dst []byte) []byte
}

// CounterIDs generates "<prefix>-<counter>": a random 60-bit prefix
// (12 base-32 characters) drawn when the generator is made, so ids from
// different processes and restarts do not collide, and a per-generator
// counter in base 36. About 40 ns per id, no allocation (see
// BenchmarkRequestID).
type CounterIDs struct {
	prefix [12]byte
	n      atomic.Uint64
}

const base32Alphabet = "0123456789abcdefghijklmnopqrstuv"

// NewCounterIDs returns a generator with a fresh random prefix.
func NewCounterIDs() *CounterIDs {
	var seed [8]byte
	_, _ = rand.Read(seed[:]) // crypto/rand.Read does not fail
	v := binary.LittleEndian.Uint64(seed[:])
	g := &CounterIDs{}
	for i := range g.prefix {
		g.prefix[i] = base32Alphabet[v&31]
		v >>= 5
	}
	return g
}

// AppendID implements IDGenerator.
func (g *CounterIDs) AppendID(dst []byte) []byte {
	dst = append(dst, g.prefix[:]...)
	dst = append(dst, '-')
	return strconv.AppendUint(dst, g.n.Add(1), 36)
}

// UUIDv7IDs generates RFC 9562 version 7 UUIDs (time-ordered, 74 random
// bits): about 250 ns and one allocation per id, six times the cost of
// CounterIDs.
type UUIDv7IDs struct{}

// AppendID implements IDGenerator.
func (UUIDv7IDs) AppendID(dst []byte) []byte {
	u, err := uuid.NewV7()
	if err != nil {
		u = uuid.New()
	}
	var buf [36]byte
	hexEncode(buf[:], u)
	return append(dst, buf[:]...)
}

func hexEncode(dst []byte, u uuid.UUID) {
	const hexdigits = "0123456789abcdef"
	j := 0
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst[j] = '-'
			j++
		}
		dst[j] = hexdigits[b>>4]
		dst[j+1] = hexdigits[b&15]
		j += 2
	}
}
