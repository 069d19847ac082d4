package actors

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"tova/internal/testutil"
)

// Records logged through slog (the actor library's logger) come out as
// one zerolog JSON line each, attributes and groups included.
func TestSlogRecordsBecomeZerologLines(t *testing.T) {
	var buf testutil.Buffer
	log := slog.New(newSlogHandler(zerolog.New(&buf).Level(zerolog.InfoLevel), false)).With("actor", "a1").WithGroup("g")
	log.Warn("stopping", "n", 3, "took", 1500*time.Millisecond, "err", errors.New("boom"), slog.Group("sub", "ok", true))
	log.Debug("hidden")
	got := strings.TrimSpace(buf.String())
	want := `{"level":"warn","actor":"a1","g.n":3,"g.took":1500,"g.err":"boom","g.sub.ok":true,"message":"stopping"}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
