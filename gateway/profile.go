package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/cventsync/cventsync/internal/participation"
	"github.com/cventsync/cventsync/internal/searchattr"
	"github.com/cventsync/cventsync/internal/settings"
	"github.com/cventsync/cventsync/internal/store"
	"github.com/cventsync/cventsync/workflows"
)

// editAttendee applies a platform profile edit. With two-way sync on, the
// mapped fields that changed are pushed to the Cvent contact; a change that
// came from Cvent never passes here, so nothing echoes back.
func (s *Server) editAttendee(c *gin.Context) {
	in, ok := s.loadIntegration(c)
	if !ok {
		return
	}
	var body map[string]*string
	if err := json.NewDecoder(c.Request.Body).Decode(&body); err != nil || len(body) == 0 {
		abort(c, http.StatusBadRequest, "body must be a JSON object of profile fields, e.g. {\"title\":\"CTO\"}")
		return
	}
	var problems []string
	for field, v := range body {
		if !store.IsPlatformField(field) {
			problems = append(problems, "field "+quote(field)+" cannot be edited")
		} else if v == nil {
			problems = append(problems, "field "+quote(field)+" must be a string")
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		c.AbortWithStatusJSON(http.StatusBadRequest, errorBody{Error: strings.Join(problems, "; "), Details: problems})
		return
	}
	att, ok := s.loadAttendee(c, in)
	if !ok {
		return
	}
	current := map[string]string{"firstName": att.FirstName, "lastName": att.LastName, "email": att.Email,
		"company": att.Company, "title": att.Title, "profileImageUrl": att.ProfileImageURL}
	changed := map[string]string{}
	for field, v := range body {
		if current[field] != *v {
			changed[field] = *v
		}
	}
	var twoWay participation.TwoWay
	_ = settings.Decode(in.Settings, participation.TwoWaySection, &twoWay)
	var push map[string]string
	// Only attendees that came in through the integration (they have a Cvent
	// contact) are written back.
	if twoWay.Enabled && att.ContactID != "" {
		push = participation.ContactPatch(changed)
	}
	updateID, err := s.opts.Store.ApplyPlatformEdit(c, in.ID, att.InviteeID, changed, push, att.ContactID)
	if err != nil {
		s.internalError(c, "edit attendee", err)
		return
	}
	answer := gin.H{"changed": keys(changed), "pushedToCvent": keys(push)}
	if updateID != 0 {
		wid := workflows.ContactUpdateWorkflowID(in.ID, att.InviteeID, updateID)
		answer["workflowId"] = wid
		if err := s.startContactUpdate(c, wid, updateID, in.ID, att.InviteeID); err != nil {
			answer["status"] = "queued" // the sweeper starts it once Temporal answers
		}
	}
	c.JSON(http.StatusOK, answer)
}

func (s *Server) startContactUpdate(ctx context.Context, workflowID string, updateID int64, integrationID, inviteeID string) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	_, err := s.opts.Temporal.ExecuteWorkflow(sctx, client.StartWorkflowOptions{ID: workflowID, TaskQueue: s.opts.TaskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(searchattr.IntegrationID.ValueSet(integrationID),
			searchattr.InviteeIDs.ValueSet([]string{strings.ToLower(inviteeID)}))},
		workflows.ContactUpdate, &workflows.ContactUpdateInput{UpdateID: updateID})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil // it is running (waiting out a rate limit) or has run
	}
	if err != nil {
		s.log.Warn("could not start contact update; it stays queued", "updateId", updateID, "error", err)
	}
	return err
}

// deleteAttendee erases an attendee: their personal data leaves the
// directory, the stored bodies and the change log, and a tombstone keeps
// replays and polls from bringing them back (gateway/erasure.go). It never
// cancels the registration in Cvent: the platform is not where people cancel.
func (s *Server) deleteAttendee(c *gin.Context) {
	in, ok := s.loadIntegration(c)
	if !ok {
		return
	}
	s.erasePerson(c, in.ID, c.Param("inviteeId"))
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
