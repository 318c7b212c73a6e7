package gateway

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cventsync/cventsync/internal/cventpush"
	"github.com/cventsync/cventsync/internal/ingest"
	"github.com/cventsync/cventsync/internal/mapping"
	"github.com/cventsync/cventsync/internal/searchattr"
	"github.com/cventsync/cventsync/internal/secret"
	"github.com/cventsync/cventsync/internal/store"
	"github.com/cventsync/cventsync/workflows"
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

// webhookReceive stores a Cvent delivery and hands it on. The delivery is
// in PostgreSQL before anything is acknowledged; whatever the store or the
// rules cannot take is refused here with a 400 that says why, or stored and
// failed alone later, never holding back other deliveries.
func (s *Server) webhookReceive(c *gin.Context) {
	in, ok := s.authorizeWebhook(c)
	if !ok {
		return
	}
	body, release, err := s.bodies.read(c.Writer, c.Request, s.opts.MaxBodyBytes)
	defer release()
	if err != nil {
		var be *bodyError
		if errors.As(err, &be) {
			if be.status == http.StatusRequestTimeout || be.status == http.StatusRequestEntityTooLarge {
				c.Header("Connection", "close")
			}
			if be.status == http.StatusServiceUnavailable {
				c.Header("Retry-After", "5")
			}
			abort(c, be.status, be.msg)
			return
		}
		abort(c, http.StatusBadRequest, "could not read body: "+err.Error())
		return
	}
	d := &store.Delivery{IntegrationID: in.ID, Body: body}
	env, decodeErr := cventpush.DecodeEnvelope(body)
	if decodeErr == nil {
		decodeErr = errors.Join(cventpush.CheckText("eventType", string(env.EventType)), cventpush.CheckText("messageStub", string(env.MessageStub)))
	}
	if decodeErr != nil {
		s.reject(c, d, decodeErr)
		return
	}
	summary, itemsErr := env.SummarizeItems(searchattr.MaxInviteeIDs)
	d.EventType = string(env.EventType)
	d.MessageStub = sql.NullString{String: env.Stub(body), Valid: true}
	now := time.Now()
	if t, clamped := mapping.SourceTime(env.MessageTime.Time, now, ingest.MaxClockSkew); clamped {
		d.Flags = append(d.Flags, store.FlagMessageTimeClamped)
		d.MessageTime = sql.NullTime{Time: t, Valid: true}
	} else {
		d.MessageTime = sql.NullTime{Time: env.MessageTime.Time, Valid: !env.MessageTime.IsZero()}
	}
	switch {
	case itemsErr != nil:
		d.Status, d.Error = store.DeliveryRejected, itemsErr.Error()
	case cventpush.KindOf(d.EventType) == cventpush.KindIgnored:
		d.Status, d.Error = store.DeliveryIgnored, "cventsync does not act on event type "+quote(d.EventType)
	default:
		d.Status = store.DeliveryReceived
		d.ItemCount, d.InviteeIDs = summary.Count, summary.InviteeIDs
		d.Large = summary.Count > LargeItems
		if d.Large {
			d.WorkflowID = deliveryWorkflowID(d)
			d.InviteeIDs = nil // a manual sync names too many to list
		} else {
			d.WorkflowID = workflows.IngestWorkflowID(in.ID)
		}
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
		if !s.hand(c, in, d) {
			status = "queued" // stored; applied once Temporal answers
		}
		c.JSON(http.StatusOK, webhookAnswer{Status: status, DeliveryID: d.ID, WorkflowID: d.WorkflowID})
	}
}

// reject stores a body that is not a Cvent delivery we can take, as
// rejected, and answers 400 with the reason.
func (s *Server) reject(c *gin.Context, d *store.Delivery, reason error) {
	d.Status, d.Error = store.DeliveryRejected, reason.Error()
	if _, err := s.opts.Store.InsertDelivery(c, d); err != nil {
		s.internalError(c, "store rejected delivery", err)
		return
	}
	c.AbortWithStatusJSON(http.StatusBadRequest, webhookAnswer{Status: store.DeliveryRejected, DeliveryID: d.ID, Error: d.Error})
}

// hand passes a stored delivery on: a small one to its integration's
// drainer, a large one to a workflow of its own. It reports false when
// Temporal could not take it now; the delivery is stored and waits.
func (s *Server) hand(ctx context.Context, in *store.Integration, d *store.Delivery) bool {
	if d.Large {
		return s.startLarge(ctx, in, d) == nil
	}
	return s.ingest.kick(ctx, in)
}

func quote(s string) string { return `"` + s + `"` }

func byteSize(n int64) string {
	const mib = 1 << 20
	if n%mib == 0 {
		return itoa(n/mib) + " MiB"
	}
	return itoa(n) + " bytes"
}
