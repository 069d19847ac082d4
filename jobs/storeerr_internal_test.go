package jobs

import (
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"tova/vm"
)

// Storing a job or an event when the queue's database cannot be reached
// is DatabaseUnavailable, as a model call's is (503 over HTTP, worth
// retrying); it was a JobError, answered 500. Another failure stays a
// JobError.
func TestStoreErrorKinds(t *testing.T) {
	for _, c := range []struct {
		err  error
		kind string
	}{
		{&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, "DatabaseUnavailable"},
		{&pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}, "DatabaseUnavailable"},
		{&pgconn.PgError{Code: "08006", Message: "connection failure"}, "DatabaseUnavailable"},
		{&pgconn.PgError{Code: "42P01", Message: "relation does not exist"}, "JobError"},
		{errors.New("boom"), "JobError"},
	} {
		err := storeError("spawn_job: storing the job", c.err)
		var ve *vm.Error
		if !errors.As(err, &ve) || ve.Kind != c.kind || !strings.HasPrefix(ve.Msg, "spawn_job: storing the job: ") {
			t.Errorf("%v: %v, want a %s", c.err, err, c.kind)
		}
	}
}
