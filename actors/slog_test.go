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

// An attribute named as one of the line's own fields (protoactor's dead
// letters carry a "message") is renamed: no line has a key twice.
func TestSlogAttributesNeverRepeatALineKey(t *testing.T) {
	var buf testutil.Buffer
	log := slog.New(newSlogHandler(zerolog.New(&buf).Level(zerolog.DebugLevel).With().Timestamp().Logger(), false))
	log.Debug("[DeadLetter]", "message", "ping", "level", 2, "time", "now")
	got := strings.TrimSpace(buf.String())
	for _, key := range []string{`"message":`, `"level":`, `"time":`} {
		if n := strings.Count(got, key); n != 1 {
			t.Errorf("%s appears %d times in %s", key, n, got)
		}
	}
	if !strings.Contains(got, `"actor_message":"ping"`) || !strings.Contains(got, `"message":"[DeadLetter]"`) {
		t.Errorf("got %s", got)
	}
}
