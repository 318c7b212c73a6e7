package gateway

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/mail"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cventsync/cventsync/internal/erasure"
	"github.com/cventsync/cventsync/internal/store"
)

// erasureRequest is the body of POST /api/v1/erasure.
type erasureRequest struct {
	Email string `json:"email"`
}

// eraseByEmail answers a data subject's erasure request: the person with
// this e-mail is erased from every integration (store.ErasePerson) and
// tombstoned, so no replay or poll brings them back. Repeating it is
// harmless; a person not found answers 200 with no integrations.
func (s *Server) eraseByEmail(c *gin.Context) {
	var req erasureRequest
	if err := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, 4<<10)).Decode(&req); err != nil {
		abort(c, http.StatusBadRequest, "body must be {\"email\": \"...\"}")
		return
	}
	req.Email = strings.TrimSpace(req.Email)
	if addr, err := mail.ParseAddress(req.Email); err != nil || addr.Address != req.Email || len(req.Email) > 320 {
		abort(c, http.StatusBadRequest, "email must be one e-mail address")
		return
	}
	people, err := s.opts.Store.PeopleByEmail(c, req.Email)
	if err != nil {
		s.internalError(c, "find people to erase", err)
		return
	}
	erased := make([]*store.Erasure, 0, len(people))
	for _, p := range people {
		p.Email = req.Email
		res, err := s.opts.Store.ErasePerson(c, p, erasure.Scrubber)
		if err != nil {
			s.internalError(c, "erase person", err)
			return
		}
		erased = append(erased, res)
	}
	// The log names the integrations and invitee ids, never the address.
	s.log.InfoContext(c.Request.Context(), "erasure by e-mail", "emailHash", store.EmailHash(req.Email)[:12], "people", len(erased))
	c.JSON(http.StatusOK, gin.H{"erased": erased})
}

// erasePerson erases one attendee of one integration (DELETE
// /api/v1/integrations/{id}/attendees/{inviteeId}); 404 when nothing of
// them is stored.
func (s *Server) erasePerson(c *gin.Context, integrationID, inviteeID string) {
	res, err := s.opts.Store.ErasePerson(c, store.Person{IntegrationID: integrationID, InviteeID: inviteeID, OnlyIfFound: true},
		erasure.Scrubber)
	if errors.Is(err, store.ErrNotFound) {
		abort(c, http.StatusNotFound, "no attendee with invitee id "+inviteeID)
		return
	}
	if err != nil {
		s.internalError(c, "erase attendee", err)
		return
	}
	s.log.InfoContext(c.Request.Context(), "attendee erased", "integrationId", integrationID, "inviteeId", res.InviteeID,
		"bodiesRewritten", res.BodiesRewritten, "bodiesBlanked", res.BodiesBlanked, "changes", res.Changes)
	c.Status(http.StatusNoContent)
}

// dismissDelivery gives up on a failed or rejected delivery: it is no
// longer replayable and its body expires with the retention time.
func (s *Server) dismissDelivery(c *gin.Context) {
	d, ok := s.loadDelivery(c)
	if !ok {
		return
	}
	d, err := s.opts.Store.DismissDelivery(c, d.ID)
	if errors.Is(err, store.ErrNotDismissable) {
		abort(c, http.StatusConflict, err.Error())
		return
	}
	if err != nil {
		s.internalError(c, "dismiss delivery", err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"deliveryId": d.ID, "status": d.Status})
}
