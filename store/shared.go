package store

import (
	"context"
	"sync"

	"tova/vm"
)

// Shared holds the in-memory SQLite databases of one running program,
// so that its servers, each a VM instance of its own, use one database
// for `database: ":memory:"` as they use one file: every connection to
// :memory: is a database of its own, and an instance alone would open
// its own. A runtime makes one (NewShared) and hands it to each of its
// instances (Share); the database closes when the last of them lets go.
type Shared struct {
	mu     sync.Mutex
	memory *DB
	users  int
}

// NewShared returns an empty Shared.
func NewShared() *Shared { return &Shared{} }

// Share makes the instance take its in-memory database from sh, with
// the other instances given sh.
func Share(in *vm.Instance, sh *Shared) { stateOf(in).shared = sh }

// open returns the shared in-memory database, opening it first.
func (sh *Shared) open(ctx context.Context, cfg Config) (*DB, error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.memory == nil {
		db, err := Open(ctx, cfg)
		if err != nil {
			return nil, err
		}
		sh.memory = db
	}
	sh.users++
	return sh.memory, nil
}

// release lets go of the shared database, closing it with its last user.
func (sh *Shared) release(db *DB) error {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if db != sh.memory {
		return nil
	}
	if sh.users--; sh.users > 0 {
		return nil
	}
	sh.memory = nil
	return db.Close()
}
