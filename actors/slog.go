package actors

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/rs/zerolog"
)

// slogHandler forwards log/slog records (the actor library logs through
// slog) into a zerolog.Logger, so that a process writes one JSON log stream.
type slogHandler struct {
	log    zerolog.Logger
	prefix string // group prefix, "a.b."
	// demoteInfo maps slog Info to zerolog Debug.
	demoteInfo bool
}

func newSlogHandler(log zerolog.Logger, demoteInfo bool) *slogHandler {
	return &slogHandler{log: log, demoteInfo: demoteInfo}
}

func (h *slogHandler) level(l slog.Level) zerolog.Level {
	switch {
	case l >= slog.LevelError:
		return zerolog.ErrorLevel
	case l >= slog.LevelWarn:
		return zerolog.WarnLevel
	case l >= slog.LevelInfo:
		if h.demoteInfo {
			return zerolog.DebugLevel
		}
		return zerolog.InfoLevel
	default:
		return zerolog.DebugLevel
	}
}

func (h *slogHandler) Enabled(_ context.Context, l slog.Level) bool {
	zl := h.level(l)
	return zl >= h.log.GetLevel() && zl >= zerolog.GlobalLevel()
}

func (h *slogHandler) Handle(ctx context.Context, r slog.Record) error {
	if !h.Enabled(ctx, r.Level) {
		return nil
	}
	log := h.log
	if r.NumAttrs() > 0 {
		c := h.log.With()
		r.Attrs(func(a slog.Attr) bool {
			c = addCtxAttr(c, h.prefix, a)
			return true
		})
		log = c.Logger()
	}
	log.WithLevel(h.level(r.Level)).Msg(r.Message)
	return nil
}

func (h *slogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := h.log.With()
	for _, a := range attrs {
		c = addCtxAttr(c, h.prefix, a)
	}
	return &slogHandler{log: c.Logger(), prefix: h.prefix, demoteInfo: h.demoteInfo}
}

func (h *slogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &slogHandler{log: h.log, prefix: h.prefix + name + ".", demoteInfo: h.demoteInfo}
}

// addCtxAttr adds a (possibly grouped) slog attribute to c.
func addCtxAttr(c zerolog.Context, prefix string, a slog.Attr) zerolog.Context {
	v := a.Value.Resolve()
	key := prefix + a.Key
	switch key {
	case zerolog.MessageFieldName, zerolog.LevelFieldName, zerolog.TimestampFieldName:
		// The line's own fields: a line with two keys of one name reads
		// differently in each parser. (protoactor's dead letters carry a
		// "message": the undelivered one.)
		key = "actor_" + key
	}
	switch v.Kind() {
	case slog.KindGroup:
		p := prefix
		if a.Key != "" {
			p = key + "."
		}
		for _, g := range v.Group() {
			c = addCtxAttr(c, p, g)
		}
		return c
	case slog.KindString:
		return c.Str(key, v.String())
	case slog.KindInt64:
		return c.Int64(key, v.Int64())
	case slog.KindUint64:
		return c.Uint64(key, v.Uint64())
	case slog.KindFloat64:
		return c.Float64(key, v.Float64())
	case slog.KindBool:
		return c.Bool(key, v.Bool())
	case slog.KindDuration:
		return c.Dur(key, v.Duration())
	case slog.KindTime:
		return c.Time(key, v.Time())
	default:
		switch x := v.Any().(type) {
		case time.Duration:
			return c.Dur(key, x)
		case error:
			return c.AnErr(key, x)
		}
		return c.Str(key, fmt.Sprint(v.Any()))
	}
}
