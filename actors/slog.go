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

func (h *slogHandler) Handle(_ context.Context, r slog.Record) error {
	e := h.log.WithLevel(h.level(r.Level))
	if e == nil {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		addAttr(e, h.prefix, a)
		return true
	})
	e.Msg(r.Message)
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

func addAttr(e *zerolog.Event, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	key := prefix + a.Key
	switch v.Kind() {
	case slog.KindGroup:
		p := prefix
		if a.Key != "" {
			p = key + "."
		}
		for _, g := range v.Group() {
			addAttr(e, p, g)
		}
	case slog.KindString:
		e.Str(key, v.String())
	case slog.KindInt64:
		e.Int64(key, v.Int64())
	case slog.KindUint64:
		e.Uint64(key, v.Uint64())
	case slog.KindFloat64:
		e.Float64(key, v.Float64())
	case slog.KindBool:
		e.Bool(key, v.Bool())
	case slog.KindDuration:
		e.Dur(key, v.Duration())
	case slog.KindTime:
		e.Time(key, v.Time())
	default:
		if err, ok := v.Any().(error); ok {
			e.AnErr(key, err)
			return
		}
		e.Str(key, fmt.Sprint(v.Any()))
	}
}

func addCtxAttr(c zerolog.Context, prefix string, a slog.Attr) zerolog.Context {
	v := a.Value.Resolve()
	key := prefix + a.Key
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
		if d, ok := v.Any().(time.Duration); ok {
			return c.Dur(key, d)
		}
		return c.Str(key, fmt.Sprint(v.Any()))
	}
}
