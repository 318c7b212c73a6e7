package gateway

import (
	"database/sql"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cventsync/cventsync/internal/cventpush"
	"github.com/cventsync/cventsync/internal/secret"
	"github.com/cventsync/cventsync/internal/store"
)

// authorizeWebhook finds the integration and checks Cvent's token. Cvent
// sends the raw token as the whole Authorization header; "Bearer <token>" is
// accepted too for people testing with curl.
func (s *Server) authorizeWebhook(c *gin.Context) (*store.Integration, bool) {
	in, err := s.integrations.get(c, s.opts.Store, c.Param("integrationId"))
	if errors.Is(err, store.ErrNotFound) {
		abort(c, http.StatusNotFound, "no integration with id "+c.Param("integrationId"))
		return nil, false
	}
	if err != nil {
		s.internalError(c, "load integration", err)
		return nil, false
	}
	h := c.GetHeader("Authorization")
	token := h
	if t, ok := strings.CutPrefix(h, "Bearer "); ok {
		token = t
	}
	if h == "" || !secret.TokenMatches(in.WebhookTokenHash, token) {
		abort(c, http.StatusUnauthorized, "missing or wrong token: the Authorization header must be the integration's webhook token")
		return nil, false
	}
	return in, true
}

// webhookValidate answers Cvent's activation GET.
func (s *Server) webhookValidate(c *gin.Context) {
	if _, ok := s.authorizeWebhook(c); ok {
		c.JSON(http.StatusOK, gin.H{"status": "ok"})
	}
}

type webhookAnswer struct {
	Status     string `json:"status"`
	DeliveryID int64  `json:"deliveryId,omitempty"`
	WorkflowID string `json:"workflowId,omitempty"`
	Error      string `json:"error,omitempty"`
}

// webhookReceive stores a Cvent delivery and hands it to Temporal. The
// delivery is in PostgreSQL before anything is acknowledged; if Temporal
// cannot take it right now the dispatcher starts it later.
func (s *Server) webhookReceive(c *gin.Context) {
	in, ok := s.authorizeWebhook(c)
	if !ok {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, s.opts.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			abort(c, http.StatusRequestEntityTooLarge, "body larger than the limit of "+byteSize(s.opts.MaxBodyBytes)+" (CVENTSYNC_MAX_BODY_BYTES)")
			return
		}
		abort(c, http.StatusBadRequest, "could not read body: "+err.Error())
		return
	}
	d := &store.Delivery{IntegrationID: in.ID, Body: body}
	env, decodeErr := cventpush.DecodeEnvelope(body)
	if decodeErr != nil {
		d.Status, d.Error = store.DeliveryRejected, decodeErr.Error()
		if _, err := s.opts.Store.InsertDelivery(c, d); err != nil {
			s.internalError(c, "store rejected delivery", err)
			return
		}
		c.AbortWithStatusJSON(http.StatusBadRequest, webhookAnswer{Status: store.DeliveryRejected, DeliveryID: d.ID, Error: decodeErr.Error()})
		return
	}
	items, itemsErr := env.Items()
	d.EventType = string(env.EventType)
	d.MessageStub = sql.NullString{String: env.Stub(body), Valid: true}
	d.MessageTime = sql.NullTime{Time: env.MessageTime.Time, Valid: !env.MessageTime.IsZero()}
	d.ItemCount = len(items)
	switch {
	case itemsErr != nil:
		d.Status, d.Error = store.DeliveryRejected, itemsErr.Error()
	case cventpush.KindOf(d.EventType) == cventpush.KindIgnored:
		d.Status, d.Error = store.DeliveryIgnored, "cventsync does not act on event type "+quote(d.EventType)
	default:
		d.Status = store.DeliveryReceived
		d.WorkflowID = deliveryWorkflowID(d)
	}
	duplicate, err := s.opts.Store.InsertDelivery(c, d)
	if err != nil {
		s.internalError(c, "store delivery", err)
		return
	}
	switch {
	case duplicate:
		c.JSON(http.StatusOK, webhookAnswer{Status: "duplicate", DeliveryID: d.ID, WorkflowID: d.WorkflowID})
	case d.Status == store.DeliveryRejected:
		c.AbortWithStatusJSON(http.StatusBadRequest, webhookAnswer{Status: d.Status, DeliveryID: d.ID, Error: d.Error})
	case d.Status == store.DeliveryIgnored:
		c.JSON(http.StatusOK, webhookAnswer{Status: d.Status, DeliveryID: d.ID})
	default:
		status := "accepted"
		if s.temporalLikelyDown() {
			status = "queued" // stored; the dispatcher starts it once Temporal answers
		} else {
			s.enqueue(in, d)
		}
		c.JSON(http.StatusOK, webhookAnswer{Status: status, DeliveryID: d.ID, WorkflowID: d.WorkflowID})
	}
}

func quote(s string) string { return `"` + s + `"` }

func byteSize(n int64) string {
	const mib = 1 << 20
	if n%mib == 0 {
		return itoa(n/mib) + " MiB"
	}
	return itoa(n) + " bytes"
}
