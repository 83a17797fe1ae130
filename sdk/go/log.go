package wasmserver

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/wasm-server/wasm-server/sdk/go/internal/host"
)

// LogHandler is a log/slog Handler writing each record as one line to the
// server log (the host's `log` import), which tags it with the component
// name and the time. The line is the message followed by key=value attributes.
type LogHandler struct {
	level  slog.Leveler
	attrs  string // pre-formatted attributes of WithAttrs
	prefix string // the open groups, "a.b."
}

// NewLogHandler returns a handler logging records at level and above (nil: Info).
// Under wasm-server, the SDK installs slog.New(NewLogHandler(nil)) as the
// default logger at start, so slog.Info and the log package reach the server log.
func NewLogHandler(level slog.Leveler) *LogHandler {
	if level == nil {
		level = slog.LevelInfo
	}
	return &LogHandler{level: level}
}

// Enabled reports whether a record at level is logged.
func (h *LogHandler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.level.Level()
}

// Handle writes the record to the server log.
func (h *LogHandler) Handle(_ context.Context, r slog.Record) error {
	b := make([]byte, 0, 64+len(r.Message))
	b = append(b, r.Message...)
	b = append(b, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		b = appendAttr(b, h.prefix, a)
		return true
	})
	logSink(hostLevel(r.Level), b)
	return nil
}

// WithAttrs returns a handler that adds attrs to every record.
func (h *LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	b := []byte(h.attrs)
	for _, a := range attrs {
		b = appendAttr(b, h.prefix, a)
	}
	return &LogHandler{level: h.level, attrs: string(b), prefix: h.prefix}
}

// WithGroup returns a handler that qualifies later attributes with name.
func (h *LogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &LogHandler{level: h.level, attrs: h.attrs, prefix: h.prefix + name + "."}
}

func hostLevel(l slog.Level) int32 {
	switch {
	case l < slog.LevelDebug:
		return host.LevelTrace
	case l < slog.LevelInfo:
		return host.LevelDebug
	case l < slog.LevelWarn:
		return host.LevelInfo
	case l < slog.LevelError:
		return host.LevelWarn
	}
	return host.LevelError
}

func appendAttr(b []byte, prefix string, a slog.Attr) []byte {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return b
	}
	if a.Value.Kind() == slog.KindGroup {
		if a.Key != "" {
			prefix += a.Key + "."
		}
		for _, g := range a.Value.Group() {
			b = appendAttr(b, prefix, g)
		}
		return b
	}
	var v string
	if a.Value.Kind() == slog.KindTime {
		v = a.Value.Time().Format(time.RFC3339Nano)
	} else {
		v = a.Value.String()
	}
	if v == "" || strings.ContainsAny(v, " =\"\n\t") {
		v = strconv.Quote(v)
	}
	b = append(b, ' ')
	b = append(b, prefix...)
	b = append(b, a.Key...)
	b = append(b, '=')
	return append(b, v...)
}

// logSink is where log lines go (a variable so tests can watch it).
var logSink = host.Log

// Log writes one line to the server log at a host level: 0 trace, 1 debug,
// 2 info, 3 warn, 4 error.
func Log(level int, msg string) { logSink(int32(level), []byte(msg)) }
