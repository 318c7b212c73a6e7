package gateway

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"io"
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
	if !s.sourceAllowed(c, in) {
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
	release, err := s.bodies.acquire(c.Request, s.opts.MaxBodyBytes)
	defer release()
	if err != nil {
		answerBodyError(c, err)
		return
	}
	if streamed(c.Request) {
		s.receiveStreamed(c, in)
		return
	}
	body, err := s.bodies.read(c.Writer, c.Request, s.opts.MaxBodyBytes)
	if err != nil {
		answerBodyError(c, err)
		return
	}
	d := &store.Delivery{IntegrationID: in.ID, Body: body}
	env, decodeErr := cventpush.DecodeEnvelope(body)
	if decodeErr == nil {
		decodeErr = checkEnvelope(env)
	}
	if decodeErr != nil {
		s.reject(c, d, decodeErr)
		return
	}
	summary, itemsErr := env.SummarizeItems(searchattr.MaxInviteeIDs)
	describe(d, in, env, env.Stub(body), summary, itemsErr)
	duplicate, err := s.opts.Store.InsertDelivery(c, d)
	if err != nil {
		s.internalError(c, "store delivery", err)
		return
	}
	s.answerStored(c, in, d, duplicate)
}

// receiveStreamed stores a large body (a manual sync of thousands) in
// chunks as it arrives while a streaming reader learns its envelope, so it is
// never held whole; the answer comes once the last byte is stored.
func (s *Server) receiveStreamed(c *gin.Context, in *store.Integration) {
	w, err := s.opts.Store.BeginStreamedDelivery(c, in.ID)
	if err != nil {
		s.internalError(c, "store delivery", err)
		return
	}
	hash := sha256.New()
	tee := io.TeeReader(s.bodies.reader(c.Writer, c.Request, s.opts.MaxBodyBytes), io.MultiWriter(w, hash))
	env, summary, scanErr := cventpush.ScanEnvelope(tee, searchattr.MaxInviteeIDs)
	// Read the rest: what follows the JSON value, or all of a malformed body.
	_, readErr := io.Copy(io.Discard, tee)
	var be *bodyError
	if errors.As(scanErr, &be) || errors.As(readErr, &be) || readErr != nil {
		w.Abort(c) // not acknowledged: Cvent sends it again
		if be == nil {
			be = &bodyError{http.StatusBadRequest, "could not read body: " + readErr.Error()}
		}
		answerBodyError(c, be)
		return
	}
	d := &store.Delivery{IntegrationID: in.ID}
	if scanErr == nil {
		scanErr = checkEnvelope(env)
	}
	if scanErr != nil {
		d.Status, d.Error = store.DeliveryRejected, scanErr.Error()
	} else {
		describe(d, in, env, env.StubFromHash(hash.Sum(nil)), summary, nil)
		if d.Status == store.DeliveryReceived {
			d.Large, d.WorkflowID, d.InviteeIDs = true, deliveryWorkflowID(d), nil
		}
	}
	duplicate, err := w.Finish(c, d)
	if err != nil {
		w.Abort(c)
		s.internalError(c, "store delivery", err)
		return
	}
	s.answerStored(c, in, d, duplicate)
}

// checkEnvelope refuses envelope fields PostgreSQL cannot store as text.
func checkEnvelope(env *cventpush.Envelope) error {
	return errors.Join(cventpush.CheckText("eventType", string(env.EventType)), cventpush.CheckText("messageStub", string(env.MessageStub)))
}

// describe fills in what the gateway learned of a delivery: its status,
// kind, size, people and times.
func describe(d *store.Delivery, in *store.Integration, env *cventpush.Envelope, stub string, summary *cventpush.ItemSummary, itemsErr error) {
	d.EventType = string(env.EventType)
	d.MessageStub = sql.NullString{String: stub, Valid: true}
	if t, clamped := mapping.SourceTime(env.MessageTime.Time, time.Now(), ingest.MaxClockSkew); clamped {
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
}

// answerStored answers Cvent once the delivery is stored, and hands a new
// one on.
func (s *Server) answerStored(c *gin.Context, in *store.Integration, d *store.Delivery, duplicate bool) {
	c.Set(webhookEventTypeKey, d.EventType) // for the webhook counter (observability.go)
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

// answerBodyError answers a body that could not be read.
func answerBodyError(c *gin.Context, err error) {
	var be *bodyError
	if !errors.As(err, &be) {
		abort(c, http.StatusBadRequest, "could not read body: "+err.Error())
		return
	}
	if be.status == http.StatusRequestTimeout || be.status == http.StatusRequestEntityTooLarge {
		c.Header("Connection", "close")
	}
	if be.status == http.StatusServiceUnavailable {
		c.Header("Retry-After", "5")
	}
	abort(c, be.status, be.msg)
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
