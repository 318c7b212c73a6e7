package temporalconn

import (
	"context"
	"log/slog"
)

// QuietSDKLogger is the logger to give the Temporal SDK: the SDK's own
// logging, which reports every poll retry, is raised to warn, while our
// workflows' and activities' logs (workflow.GetLogger, activity.GetLogger),
// which the SDK scopes with WorkflowType or ActivityType, keep log's level.
func QuietSDKLogger(log *slog.Logger) *slog.Logger {
	return slog.New(levelFloor{Handler: log.Handler(), min: slog.LevelWarn})
}

type levelFloor struct {
	slog.Handler
	min slog.Level
	// scoped: a workflow's or an activity's logger, not the SDK's own.
	scoped bool
}

func (l levelFloor) Enabled(ctx context.Context, lvl slog.Level) bool {
	return (l.scoped || lvl >= l.min) && l.Handler.Enabled(ctx, lvl)
}

func (l levelFloor) WithAttrs(attrs []slog.Attr) slog.Handler {
	scoped := l.scoped
	for _, a := range attrs {
		if a.Key == "WorkflowType" || a.Key == "ActivityType" {
			scoped = true
		}
	}
	return levelFloor{Handler: l.Handler.WithAttrs(attrs), min: l.min, scoped: scoped}
}

func (l levelFloor) WithGroup(name string) slog.Handler {
	return levelFloor{Handler: l.Handler.WithGroup(name), min: l.min, scoped: l.scoped}
}
