// Package reqid carries a request id from the HTTP request that started some
// work to every log line of that work: in the Go context and in the slog
// records logged with it. The store keeps it with each delivery (the
// worker's log line for the delivery names it), and
// temporalconn.RequestIDPropagator carries it into the workflows a request
// starts and on to their activities.
package reqid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
)

// Header is the HTTP header that carries the id, in and out.
const Header = "X-Request-Id"

// LogKey is the log attribute that carries the id.
const LogKey = "requestId"

// ContextKey is the context key of the id. It is a string so that a
// *gin.Context, which looks string keys up in its own keys, answers it too
// once the gateway's middleware has set it there.
const ContextKey = "cventsync.requestId"

// New makes a request id: 16 random bytes, hex.
func New() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Valid reports whether a caller's id may be taken as ours: 1 to 128
// printable ASCII characters without spaces, so logs stay parseable.
func Valid(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// With returns ctx carrying id.
func With(ctx context.Context, id string) context.Context {
	if id == "" {
		return ctx
	}
	return context.WithValue(ctx, ContextKey, id) //nolint:staticcheck // see ContextKey
}

// From returns the id ctx carries, or "".
func From(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	id, _ := ctx.Value(ContextKey).(string)
	return id
}

// Handler adds the context's request id to every record logged with a
// context (InfoContext, ...), unless the record names one already.
func Handler(h slog.Handler) slog.Handler { return handler{h} }

type handler struct{ slog.Handler }

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	if id := From(ctx); id != "" {
		has := false
		r.Attrs(func(a slog.Attr) bool {
			has = a.Key == LogKey
			return !has
		})
		if !has {
			r.AddAttrs(slog.String(LogKey, id))
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return handler{h.Handler.WithAttrs(attrs)}
}
func (h handler) WithGroup(name string) slog.Handler { return handler{h.Handler.WithGroup(name)} }

// Without returns ctx without a request id: for work that serves many
// requests (an integration's drainer), whose log lines name each one's.
func Without(ctx context.Context) context.Context {
	if From(ctx) == "" {
		return ctx
	}
	return context.WithValue(ctx, ContextKey, "") //nolint:staticcheck // see ContextKey
}
