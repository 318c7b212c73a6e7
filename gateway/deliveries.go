package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cventsync/cventsync/internal/store"
	"github.com/cventsync/cventsync/workflows"
)

type deliveryJSON struct {
	ID          int64           `json:"id"`
	EventType   string          `json:"eventType"`
	MessageStub string          `json:"messageStub,omitempty"`
	MessageTime *time.Time      `json:"messageTime,omitempty"`
	ItemCount   int             `json:"itemCount"`
	ReceivedAt  time.Time       `json:"receivedAt"`
	Status      string          `json:"status"`
	Error       string          `json:"error,omitempty"`
	WorkflowID  string          `json:"workflowId,omitempty"`
	ProcessedAt *time.Time      `json:"processedAt,omitempty"`
	Result      json.RawMessage `json:"result,omitempty"`
	Body        json.RawMessage `json:"body,omitempty"`
	RawBody     string          `json:"rawBody,omitempty"`
	// BodySize is the body's size in bytes; a body larger than inlineBody is
	// not in the answer but downloaded from BodyURL.
	BodySize   int64    `json:"bodySize"`
	BodyURL    string   `json:"bodyUrl,omitempty"`
	RunID      string   `json:"runId,omitempty"`
	InviteeIDs []string `json:"inviteeIds,omitempty"`
	ApplyCount int      `json:"applyCount"`
	Large      bool     `json:"large,omitempty"`
	Flags      []string `json:"flags,omitempty"`
}

// inlineBody is the largest body GET /deliveries/{id} shows inline.
const inlineBody = 1 << 20

func toDeliveryJSON(d *store.Delivery, withBody bool) deliveryJSON {
	out := deliveryJSON{ID: d.ID, EventType: d.EventType, MessageStub: d.MessageStub.String, ItemCount: d.ItemCount,
		ReceivedAt: d.ReceivedAt, Status: d.Status, Error: d.Error, WorkflowID: d.WorkflowID}
	if len(d.Result) > 0 {
		out.Result = d.Result
	}
	if d.MessageTime.Valid {
		out.MessageTime = &d.MessageTime.Time
	}
	if d.ProcessedAt.Valid {
		out.ProcessedAt = &d.ProcessedAt.Time
	}
	out.BodySize = d.BodySize
	if d.BodyChunks == 0 {
		out.BodySize = int64(len(d.Body))
	}
	out.RunID, out.InviteeIDs, out.ApplyCount, out.Large, out.Flags = d.RunID, d.InviteeIDs, d.ApplyCount, d.Large, d.Flags
	if withBody && (d.BodyChunks > 0 || len(d.Body) > inlineBody) {
		out.BodyURL = "/api/v1/deliveries/" + itoa(d.ID) + "/body"
		withBody = false
	}
	if withBody {
		if json.Valid(d.Body) {
			out.Body = d.Body
		} else {
			out.RawBody = string(d.Body)
		}
	}
	return out
}

func (s *Server) listDeliveries(c *gin.Context) {
	in, ok := s.loadIntegration(c)
	if !ok {
		return
	}
	f, err := parseDeliveryQuery(c.Request.URL.Query())
	if err != nil {
		abort(c, http.StatusBadRequest, err.Error())
		return
	}
	if !s.personFilter(c, in.ID, &f) {
		return
	}
	list, err := s.opts.Store.ListDeliveries(c, in.ID, f)
	if err != nil {
		s.internalError(c, "list deliveries", err)
		return
	}
	out := make([]deliveryJSON, len(list))
	for i := range list {
		out[i] = toDeliveryJSON(&list[i], false)
	}
	c.JSON(http.StatusOK, gin.H{"deliveries": out})
}

func (s *Server) loadDelivery(c *gin.Context) (*store.Delivery, bool) {
	id, err := strconv.ParseInt(c.Param("deliveryId"), 10, 64)
	if err != nil {
		abort(c, http.StatusBadRequest, "delivery id must be a number")
		return nil, false
	}
	d, err := s.opts.Store.GetDelivery(c, id)
	if errors.Is(err, store.ErrNotFound) {
		abort(c, http.StatusNotFound, "no delivery with id "+c.Param("deliveryId"))
		return nil, false
	}
	if err != nil {
		s.internalError(c, "load delivery", err)
		return nil, false
	}
	return d, true
}

// getDeliveryBody streams a delivery's body as Cvent sent it, however large.
func (s *Server) getDeliveryBody(c *gin.Context) {
	d, ok := s.loadDelivery(c)
	if !ok {
		return
	}
	size := d.BodySize
	if d.BodyChunks == 0 {
		size = int64(len(d.Body))
	}
	c.DataFromReader(http.StatusOK, size, "application/octet-stream", s.opts.Store.OpenBody(c, d), map[string]string{
		"Content-Disposition": fmt.Sprintf(`attachment; filename="delivery-%d.json"`, d.ID),
	})
}

func (s *Server) getDelivery(c *gin.Context) {
	if d, ok := s.loadDelivery(c); ok {
		// Bodies hold personal data as Cvent sent it: not for readers.
		c.JSON(http.StatusOK, toDeliveryJSON(d, mayReadBodies(c)))
	}
}

// replayDelivery runs a stored delivery through processing again: it waits
// again, and is applied like a new one (small ones by the integration's
// drainer, large ones by their own workflow, run again). Replays are
// idempotent: records only move forward in Cvent time.
func (s *Server) replayDelivery(c *gin.Context) {
	d, ok := s.loadDelivery(c)
	if !ok {
		return
	}
	if d.Status == store.DeliveryRejected || d.Status == store.DeliveryIgnored || d.Status == store.DeliveryDismissed {
		abort(c, http.StatusConflict, "delivery "+itoa(d.ID)+" is "+d.Status+" ("+d.Error+"); there is nothing to replay")
		return
	}
	in, err := s.opts.Store.GetIntegration(c, d.IntegrationID)
	if err != nil {
		s.internalError(c, "load integration", err)
		return
	}
	// Back to received first: whoever applies it marks it processed, and if
	// Temporal is down the maintenance sweep picks the replay up later.
	id := d.ID
	if d, err = s.opts.Store.MarkForReplay(c, id); errors.Is(err, store.ErrNotFound) {
		abort(c, http.StatusConflict, "delivery "+itoa(id)+" has no body any more (retention or erasure removed it); there is nothing to replay")
		return
	} else if err != nil {
		s.internalError(c, "mark delivery for replay", err)
		return
	}
	status := "replaying"
	if !s.hand(c, in, d) {
		status = "queued"
	}
	if !d.Large {
		d.WorkflowID = workflows.IngestWorkflowID(in.ID)
	}
	c.JSON(http.StatusAccepted, gin.H{"status": status, "deliveryId": d.ID, "workflowId": d.WorkflowID})
}

// integrationStats counts attendees, deliveries by status and participation
// write-backs by status: the numbers an operator checks first.
func (s *Server) integrationStats(c *gin.Context) {
	in, ok := s.loadIntegration(c)
	if !ok {
		return
	}
	st, err := s.opts.Store.IntegrationStats(c, in.ID)
	if err != nil {
		s.internalError(c, "integration stats", err)
		return
	}
	c.JSON(http.StatusOK, st)
}
