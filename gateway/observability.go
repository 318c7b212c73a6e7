package gateway

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cventsync/cventsync/internal/health"
	"github.com/cventsync/cventsync/internal/metrics"
	"github.com/cventsync/cventsync/internal/metrics/dbmetrics"
	"github.com/cventsync/cventsync/internal/reqid"
)

// webhookEventTypeKey is where a webhook handler leaves the delivery's event
// type for the webhook counter.
const webhookEventTypeKey = "cventsync.eventType"

// observabilityRoutes adds /metrics, /livez and /readyz. /healthz stays as
// it was: always ok while the process serves.
func (s *Server) observabilityRoutes(r *gin.Engine) {
	checks := &health.Checks{Temporal: s.opts.Temporal}
	var extra = metrics.Handler()
	if s.opts.Store != nil {
		checks.Database = s.opts.Store
		extra = metrics.Handler(dbmetrics.NewCollector(s.opts.Store))
	}
	r.GET("/metrics", gin.WrapH(metrics.RequireToken(s.opts.MetricsToken, extra)))
	r.GET("/livez", gin.WrapF(health.Livez))
	r.GET("/readyz", gin.WrapF(checks.Readyz))
}

// requestID gives every request an id: the caller's X-Request-Id when it is
// usable, otherwise a new one. It is echoed in the answer, set where
// handlers' contexts find it (the store keeps it with a delivery, Temporal
// starts carry it into workflows), and logged with the request.
func (s *Server) requestID(c *gin.Context) {
	id := c.GetHeader(reqid.Header)
	if !reqid.Valid(id) {
		id = reqid.New()
	}
	c.Header(reqid.Header, id)
	c.Set(reqid.ContextKey, id)
	c.Request = c.Request.WithContext(reqid.With(c.Request.Context(), id))
	start := time.Now()
	c.Next()
	path := c.Request.URL.Path
	level := slog.LevelInfo
	switch {
	case path == "/metrics" || path == "/livez" || path == "/readyz" || path == "/healthz":
		level = slog.LevelDebug
	case c.Writer.Status() >= 500:
		level = slog.LevelWarn
	}
	if strings.HasPrefix(path, "/webhooks/") && c.Request.Method == http.MethodPost {
		metrics.Webhook(c.GetString(webhookEventTypeKey), c.Writer.Status())
	}
	s.log.LogAttrs(c.Request.Context(), level, "request", slog.String("method", c.Request.Method),
		slog.String("path", path), slog.Int("status", c.Writer.Status()),
		slog.Duration("took", time.Since(start)), slog.String(reqid.LogKey, id))
}
