// Package gateway is cventsync's HTTP front door: Cvent's webhooks come in
// here, are stored in PostgreSQL before they are acknowledged, and are handed
// to Temporal; operators use the admin API under /api/v1.
package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"

	"github.com/cventsync/cventsync/internal/connection"
	"github.com/cventsync/cventsync/internal/safehttp"
	"github.com/cventsync/cventsync/internal/secret"
	"github.com/cventsync/cventsync/internal/store"
	"github.com/cventsync/cventsync/workflows"
)

// Options configure the gateway.
type Options struct {
	Store     *store.Store
	Temporal  client.Client
	TaskQueue string
	// AdminToken guards /api/v1.
	AdminToken string
	// PublicURL is the base of the webhook URLs handed to users.
	PublicURL string
	// MaxBodyBytes bounds a webhook body; larger ones get 413.
	MaxBodyBytes int64
	// BodyMemoryBytes bounds the memory that large webhook bodies being
	// received at once may take; more wait their turn.
	BodyMemoryBytes int64
	// SecretBox seals Cvent client secrets before they are stored.
	SecretBox *secret.Box
	// Cvent, when set, lets the admin API read from an integration's Cvent
	// account (the custom fields and questions in GET /fields).
	Cvent  *connection.Clients
	Logger *slog.Logger
	// Outbound is what platform destination URLs may be (the zero Policy:
	// https to public addresses only).
	Outbound safehttp.Policy
	// Notifier, when set, wakes change feed long-polls; without it the
	// gateway opens its own at the first long-poll.
	Notifier *store.Notifier
	// MetricsToken, when set, is the bearer token /metrics wants.
	MetricsToken string
	// AdminMaxBodyBytes caps an admin API body (413 above); 0 = 1 MiB.
	AdminMaxBodyBytes int64
	// TrustedProxies may set X-Forwarded-For for webhooks' source checks.
	TrustedProxies []netip.Prefix
	// TemporalUIURL and TemporalNamespace build the console's links to the
	// Temporal Web UI (gateway/console.go).
	TemporalUIURL     string
	TemporalNamespace string
}

// Server is the HTTP gateway.
type Server struct {
	opts   Options
	log    *slog.Logger
	engine *gin.Engine
	// temporalDownUntil short-circuits the synchronous workflow start while
	// Temporal is known to be unreachable, so webhooks are acknowledged at
	// once and left to the dispatcher.
	temporalDownUntil atomic.Int64
	kicker            *kicker
	ingest            *ingestStarter
	bodies            *bodyReader
	integrations      *integrationCache
	stop              context.CancelFunc
	keyUse            keyUse
}

// New builds the gateway and its routes.
func New(opts Options) *Server {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 512 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	gin.SetMode(gin.ReleaseMode)
	s := &Server{opts: opts, log: opts.Logger, engine: gin.New()}
	s.kicker = &kicker{temporal: opts.Temporal, taskQueue: opts.TaskQueue, interval: 250 * time.Millisecond, log: opts.Logger,
		pending: map[string]*workflows.ParticipationKick{}, last: map[string]time.Time{}}
	s.engine.Use(gin.CustomRecovery(func(c *gin.Context, err any) {
		s.log.Error("panic in handler", "path", c.Request.URL.Path, "panic", err)
		abort(c, http.StatusInternalServerError, "internal error")
	}))
	s.engine.Use(s.requestID)
	s.engine.HandleMethodNotAllowed = true
	s.engine.NoRoute(func(c *gin.Context) { abort(c, http.StatusNotFound, "no such endpoint") })
	s.engine.NoMethod(func(c *gin.Context) { abort(c, http.StatusMethodNotAllowed, "method not allowed") })
	s.integrations = &integrationCache{ttl: 2 * time.Second, entries: map[string]cachedIntegration{}}
	s.bodies = newBodyReader(opts.BodyMemoryBytes)
	s.ingest = newIngestStarter(s)
	ctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	go s.ingest.retry(ctx)
	s.routes()
	return s
}

// Close stops retrying failed workflow starts.
func (s *Server) Close() { s.stop() }

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return s.engine }

func (s *Server) routes() {
	r := s.engine
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	s.observabilityRoutes(r)
	// The operator console (gateway/console).
	s.consoleRoutes(r)

	hooks := r.Group("/webhooks/cvent/:integrationId")
	hooks.GET("", s.webhookValidate)
	hooks.GET("/*rest", s.webhookValidate)
	hooks.POST("", s.webhookReceive)
	hooks.POST("/*rest", s.webhookReceive)
	// Cvent Supplier Network (PNS) notifications (gateway/pns.go).
	pnsHooks := r.Group("/webhooks/pns/:integrationId")
	pnsHooks.POST("", s.pnsReceive)
	pnsHooks.POST("/*rest", s.pnsReceive)

	// The platform reports activity with its own per-integration key.
	r.POST("/api/v1/integrations/:id/activity", s.recordActivity)
	// The platform key may also read the directory and the change feed, and
	// edit profiles (two-way sync).
	feed := newFeed(s)
	r.GET("/api/v1/integrations/:id/changes", s.requireReader, feed.listChanges)
	r.GET("/api/v1/integrations/:id/attendees", s.requireReader, s.withChangesCursor(s.listAttendees))
	r.GET("/api/v1/integrations/:id/attendees/:inviteeId", s.requireReader, s.getAttendee)
	r.GET("/api/v1/integrations/:id/sessions", s.requireReader, s.listSessions)
	r.PATCH("/api/v1/integrations/:id/attendees/:inviteeId", s.requireReader, s.editAttendee)
	r.GET("/api/v1/integrations/:id/rfps", s.requireReader, s.listRFPs)
	r.GET("/api/v1/integrations/:id/rfps/:rfpId", s.requireReader, s.getRFP)

	api := r.Group("/api/v1", s.requireAdmin)
	api.POST("/integrations/:id/platform-key", s.rotatePlatformKey)
	api.POST("/integrations", s.createIntegration)
	api.GET("/integrations", s.listIntegrations)
	api.GET("/integrations/:id", s.getIntegration)
	api.PATCH("/integrations/:id", s.updateIntegration)
	api.DELETE("/integrations/:id/attendees/:inviteeId", s.deleteAttendee)
	api.GET("/integrations/:id/fields", s.listFields)
	api.GET("/integrations/:id/cvent/events", s.listCventEvents) // the account's events (gateway/cventevents.go)
	api.POST("/cvent/events", s.lookupCventEvents)
	api.POST("/integrations/:id/mapping/preview", s.previewMapping)
	api.GET("/integrations/:id/attendees/:inviteeId/agenda", s.attendeeAgenda)
	api.GET("/integrations/:id/speakers", s.listSpeakers)
	api.GET("/integrations/:id/deliveries", s.listDeliveries)
	api.GET("/integrations/:id/stats", s.integrationStats)
	api.POST("/integrations/:id/poll", s.pollNow)
	api.POST("/integrations/:id/resync", s.startResync)
	api.POST("/integrations/:id/participation/resume", s.resumeParticipation)
	api.GET("/integrations/:id/resyncs/:resyncId", s.getResync)
	api.GET("/deliveries/:deliveryId", s.getDelivery)
	api.GET("/deliveries/:deliveryId/body", s.getDeliveryBody)
	api.POST("/deliveries/:deliveryId/replay", s.replayDelivery)
	// Personal data: dismissal, erasure (gateway/erasure.go).
	api.POST("/deliveries/:deliveryId/dismiss", s.dismissDelivery)
	api.POST("/erasure", s.eraseByEmail)
	api.POST("/integrations/:id/deliveries/replay", s.replayDeliveries)
	api.GET("/integrations/:id/deliveries/replays/:replayId", s.getBulkReplay)
	api.POST("/integrations/:id/destinations", s.createDestination)
	api.GET("/integrations/:id/destinations", s.listDestinations)
	api.GET("/integrations/:id/destinations/:destinationId", s.getDestination)
	api.PATCH("/integrations/:id/destinations/:destinationId", s.updateDestination)
	api.DELETE("/integrations/:id/destinations/:destinationId", s.deleteDestination)
	api.POST("/integrations/:id/destinations/:destinationId/rotate-secret", s.rotateDestinationSecret)
	api.POST("/integrations/:id/destinations/:destinationId/replay", s.replayDestination)
	api.GET("/integrations/:id/destinations/:destinationId/attempts", s.listDestinationAttempts)
	api.POST("/integrations/:id/rfps/:rfpId/refresh", s.refreshRFP)
	// Named API keys with roles (gateway/keys.go, gateway/roles.go).
	api.POST("/keys", s.createKey)
	api.GET("/keys", s.listKeys)
	api.DELETE("/keys/:keyId", s.revokeKey)
}

func (s *Server) temporalLikelyDown() bool {
	return time.Now().UnixNano() < s.temporalDownUntil.Load()
}

func (s *Server) noteTemporalDown() {
	s.temporalDownUntil.Store(time.Now().Add(5 * time.Second).UnixNano())
}

// errorBody is every error answer: what is wrong, in words.
type errorBody struct {
	Error   string `json:"error"`
	Details any    `json:"details,omitempty"`
}

func abort(c *gin.Context, status int, msg string) {
	c.AbortWithStatusJSON(status, errorBody{Error: msg})
}
