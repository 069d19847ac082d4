package store

import (
	"fmt"

	"tova/vm"
)

// Held is a request's open transaction on SQLite, as a call the request
// makes to another server of the same process carries it: the
// database whose one writer the transaction keeps until it commits,
// and where it began.
type Held struct {
	Database string // the SQLite file, or ":memory:"
	Where    string // the db.transaction call, "app.tova:6:5" ("" unknown)
}

// CallerHolder is the Host of a thread that serves a call from a
// request of the same process: what that request's transaction holds.
type CallerHolder interface {
	CallerHolds() (Held, bool)
}

// codeHeldByCaller is err.value.code of a statement refused because the
// calling request's transaction holds the database (see heldByCaller).
const codeHeldByCaller = "held_by_caller"

// Holding returns what a call thread t makes to a server of the
// process carries: what t holds when it is inside db.transaction on
// SQLite or, when t serves a call that carries a transaction, what that
// transaction holds. A server of the process that t calls, directly or
// through other servers' calls, cannot write to that database: it would
// wait for the writer, which the transaction keeps while it waits for
// the chain of calls. On PostgreSQL (false) a callee waits only on the
// rows both change.
func Holding(t *vm.Thread) (Held, bool) {
	if held, ok := holding(t); ok {
		return held, true
	}
	if h, ok := t.Host.(CallerHolder); ok {
		return h.CallerHolds()
	}
	return Held{}, false
}

// holding returns what thread t holds when it is inside db.transaction
// on SQLite.
func holding(t *vm.Thread) (Held, bool) {
	s, ok := t.In.Service(serviceKey{}).(*instanceDB)
	if !ok {
		return Held{}, false
	}
	db := s.db.Load()
	if db == nil || db.d.pg() || !db.inTx(t) {
		return Held{}, false
	}
	x, ok := db.txs.Load(t)
	if !ok {
		return Held{}, false
	}
	return Held{Database: db.cfg.Path, Where: x.(*txn).where}, true
}

// HeldByCaller reports whether err is a statement refused because the
// calling request's transaction holds the database.
func HeldByCaller(err error) bool {
	ve, ok := err.(*vm.Error)
	if !ok || ve.Kind != KindDatabase || ve.Value.Kind() != vm.KObject {
		return false
	}
	code, _ := ve.Value.AsObject().Get("code")
	return code.Kind() == vm.KString && code.AsString() == codeHeldByCaller
}

// heldByCaller refuses, at once, a statement of thread t that would
// wait for the database until the call times out: t serves a call from a request of
// this process whose transaction holds it. A statement on the writer
// (writer: a write, or a read of the writer's own state) waits for it;
// a read does too when it has no connection of its own (an in-memory
// database has one connection), while WAL readers of a file read
// beside the writer. writes says which the message names.
func (db *DB) heldByCaller(t *vm.Thread, writer, writes bool) error {
	if t == nil || db.d.pg() {
		return nil
	}
	h, ok := t.Host.(CallerHolder)
	if !ok {
		return nil
	}
	held, ok := h.CallerHolds()
	if !ok || held.Database != db.cfg.Path || !writer && db.read != db.write || db.inTx(t) {
		return nil
	}
	where := ""
	if held.Where != "" {
		where = " (db.transaction at " + held.Where + ")"
	}
	what := "write to"
	if !writes {
		what = "read"
	}
	return dbErr(fmt.Sprintf("cannot %s the SQLite database %s: the transaction of the request calling this server%s holds it until the call returns, so this would wait for it until the call times out; make the call before or after that transaction", what, db.cfg.Path, where), codeHeldByCaller, nil)
}

// use returns what a statement of thread t runs on (see on), refusing
// one that would wait for its caller's transaction (see heldByCaller).
func (db *DB) use(t *vm.Thread, write bool) (querier, error) {
	if err := db.heldByCaller(t, write, write); err != nil {
		return nil, err
	}
	return db.on(t, write), nil
}
