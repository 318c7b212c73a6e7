package pns

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Event types of Cvent's supplier guide (verified names).
const (
	RFPSend                     = "RFP_SEND"
	RFPForward                  = "RFP_FORWARD"
	PlannerCancel               = "PLANNER_CANCEL"
	PlannerCancelSupplier       = "PLANNER_CANCEL_SUPPLIER"
	PlannerRetractAwardSupplier = "PLANNER_RETRACT_AWARD_SUPPLIER"
	PlannerAwardSupplier        = "PLANNER_AWARD_SUPPLIER"
	PlannerDeclineSupplier      = "PLANNER_DECLINE_SUPPLIER"
	PlannerRetractDecline       = "PLANNER_RETRACT_DECLINE_SUPPLIER"
	ResponseConfirmReceipt      = "RESPONSE_CONFIRM_RECEIPT"
	ResponseSubmitProposal      = "RESPONSE_SUBMIT_PROPOSAL"
	ResponseTurnDown            = "RESPONSE_TURN_DOWN"
	ResponseUndoTurnDown        = "RESPONSE_UNDO_TURN_DOWN"
	ResponseWithdraw            = "RESPONSE_WITHDRAW"
	ResponseRetractWithdraw     = "RESPONSE_RETRACT_WITHDRAW"
	VenueVisibilityChanged      = "VENUE_VISIBILITY_CHANGED"
)

var rfpTypes = []string{RFPSend, RFPForward, PlannerCancel, PlannerCancelSupplier, PlannerRetractAwardSupplier,
	PlannerAwardSupplier, PlannerDeclineSupplier, PlannerRetractDecline, ResponseConfirmReceipt,
	ResponseSubmitProposal, ResponseTurnDown, ResponseUndoTurnDown, ResponseWithdraw, ResponseRetractWithdraw,
	"RESPONSE_ADD_ATTACHMENT", "RESPONSE_DELETE_ATTACHMENT", "RESPONSE_MARK_IN_PROGRESS", "RESPONSE_ASSIGN",
	"RESPONSE_CREATE_PROPOSAL", "RFP_VIEWED", "MESSAGE_PLANNER_TO_SUPPLIER", "MESSAGE_SUPPLIER_TO_PLANNER",
	"MESSAGE_SUPPLIER_TO_SUPPLIER", "RESPONSE_SUBMIT_PROPOSAL_OUTSIDE_CVENT"}

// TriggersPull says whether a notification is about an RFP and makes
// cventsync pull it: every RFP and response type of the guide, including
// the UPDATE_PROPOSAL_* family. Others (a venue's visibility, a type Cvent
// adds later) are stored and acknowledged only.
func TriggersPull(eventType string) bool {
	return slices.Contains(rfpTypes, eventType) || strings.HasPrefix(eventType, "UPDATE_PROPOSAL_")
}

// RFP statuses (REST API, seen in a copy of Cvent's hospitality spec).
const (
	StatusPending   = "PENDING"
	StatusActive    = "ACTIVE"
	StatusAwarded   = "AWARDED"
	StatusDraft     = "DRAFT"
	StatusHistoric  = "HISTORIC"
	StatusCancelled = "CANCELLED"
	StatusDeleted   = "DELETED"
)

// Supplier (response) statuses.
const (
	SupplierAwaitingProposal  = "AWAITING_PROPOSAL"
	SupplierAwarded           = "AWARDED"
	SupplierCancelled         = "CANCELLED"
	SupplierDeclined          = "DECLINED"
	SupplierForwarded         = "FORWARDED"
	SupplierNoResponse        = "NO_RESPONSE"
	SupplierReceiptConfirmed  = "RECEIPT_CONFIRMED"
	SupplierSubmittedProposal = "SUBMITTED_PROPOSAL"
	SupplierTurnedDown        = "TURNED_DOWN"
	SupplierWithdrawn         = "WITHDRAWN"
)

// Snapshot is one pull: the RFP and this integration's suppliers' responses,
// in the shape both pull APIs are reduced to.
type Snapshot struct {
	RFP       RemoteRFP
	Responses []Response
}

// RemoteRFP is the planner's RFP.
type RemoteRFP struct {
	ID               string          `json:"id"`
	Code             string          `json:"code,omitempty"`
	Name             string          `json:"name,omitempty"`
	Status           string          `json:"status"`
	Type             string          `json:"type,omitempty"`
	ResponseDueDate  *time.Time      `json:"responseDueDate,omitempty"`
	DecisionDate     *time.Time      `json:"decisionDate,omitempty"`
	Contact          json.RawMessage `json:"contact,omitempty"`
	Event            json.RawMessage `json:"event,omitempty"`
	DateRequirements json.RawMessage `json:"dateRequirements,omitempty"`
	Cancellation     *Cancellation   `json:"cancellation,omitempty"`
	AwardedExternal  bool            `json:"awardedExternally,omitempty"`
}

// Cancellation is why and when the planner cancelled.
type Cancellation struct {
	DateTime *time.Time `json:"dateTime,omitempty"`
	Reason   string     `json:"reason,omitempty"`
	Comments string     `json:"comments,omitempty"`
}

// Response is one supplier's response to the RFP.
type Response struct {
	SupplierID      string     `json:"supplierId"`
	Status          string     `json:"status"`
	StatusChangedAt *time.Time `json:"statusChangedAt,omitempty"`
	Reason          string     `json:"reason,omitempty"`
	Comment         string     `json:"comment,omitempty"`
}

// State is what cventsync keeps about an RFP for the supplier: the record
// of rfp.* changes and of GET …/rfps/{rfpId}.
type State struct {
	RFPID            string          `json:"rfpId"`
	Code             string          `json:"code,omitempty"`
	Name             string          `json:"name,omitempty"`
	Type             string          `json:"type,omitempty"`
	Status           string          `json:"status"`
	SupplierID       string          `json:"supplierId"`
	SupplierStatus   string          `json:"supplierStatus"`
	Awarded          bool            `json:"awarded"`
	AwardedElsewhere bool            `json:"awardedElsewhere"`
	Cancelled        bool            `json:"cancelled"`
	Cancellation     *Cancellation   `json:"cancellation,omitempty"`
	Closed           bool            `json:"closed"`
	ResponseDueDate  *time.Time      `json:"responseDueDate,omitempty"`
	DecisionDate     *time.Time      `json:"decisionDate,omitempty"`
	Contact          json.RawMessage `json:"contact,omitempty"`
	Event            json.RawMessage `json:"event,omitempty"`
	DateRequirements json.RawMessage `json:"dateRequirements,omitempty"`
	Responses        []Response      `json:"responses,omitempty"`
}

// StateOf turns a pull into the RFP's state for this integration. The
// supplier whose status is shown is the first of ours that has a response.
func StateOf(s Snapshot) State {
	r := s.RFP
	st := State{RFPID: r.ID, Code: r.Code, Name: r.Name, Type: r.Type, Status: strings.ToUpper(r.Status),
		ResponseDueDate: utc(r.ResponseDueDate), DecisionDate: utc(r.DecisionDate),
		Contact: compact(r.Contact), Event: compact(r.Event), DateRequirements: compact(r.DateRequirements),
		Cancellation: r.Cancellation, Responses: s.Responses}
	for i := range st.Responses {
		st.Responses[i].Status = strings.ToUpper(st.Responses[i].Status)
		st.Responses[i].StatusChangedAt = utc(st.Responses[i].StatusChangedAt)
	}
	if len(s.Responses) > 0 {
		st.SupplierID, st.SupplierStatus = s.Responses[0].SupplierID, s.Responses[0].Status
	}
	for _, resp := range st.Responses {
		if resp.Status == SupplierAwarded {
			st.Awarded, st.SupplierID, st.SupplierStatus = true, resp.SupplierID, resp.Status
		}
	}
	st.AwardedElsewhere = !st.Awarded && (st.Status == StatusAwarded || r.AwardedExternal)
	st.Cancelled = st.Status == StatusCancelled || st.Status == StatusDeleted ||
		(st.SupplierStatus == SupplierCancelled && !st.Awarded)
	st.Closed = Closed(st)
	return st
}

// Closed says the RFP needs nothing more from this supplier: cancelled,
// deleted or archived, awarded elsewhere, or every response of ours turned
// down, declined, withdrawn or cancelled. An award to us is open: the
// planner may still retract it.
func Closed(s State) bool {
	if s.Awarded {
		return false
	}
	switch s.Status {
	case StatusCancelled, StatusDeleted, StatusHistoric:
		return true
	}
	if s.AwardedElsewhere {
		return true
	}
	if len(s.Responses) == 0 {
		return false
	}
	for _, r := range s.Responses {
		switch r.Status {
		case SupplierTurnedDown, SupplierDeclined, SupplierWithdrawn, SupplierCancelled:
		default:
			return false
		}
	}
	return true
}

// Change types in the change log.
const (
	ChangeReceived       = "rfp.received"
	ChangeUpdated        = "rfp.updated"
	ChangeAwarded        = "rfp.awarded"
	ChangeAwardRetracted = "rfp.award_retracted"
	ChangeCancelled      = "rfp.cancelled"
	ChangeDeclined       = "rfp.declined"
	ChangeClosed         = "rfp.closed"
)

// ChangeTypes lists the rfp.* change types.
var ChangeTypes = []string{ChangeReceived, ChangeUpdated, ChangeAwarded, ChangeAwardRetracted, ChangeCancelled, ChangeDeclined, ChangeClosed}

// ChangeOf names the change from old (nil: never seen) to new, and the
// fields that changed; "" when nothing did.
func ChangeOf(old *State, new State) (string, map[string][2]any) {
	if old == nil {
		return ChangeReceived, nil
	}
	diff := Diff(*old, new)
	if len(diff) == 0 {
		return "", nil
	}
	switch {
	case new.Awarded && !old.Awarded:
		return ChangeAwarded, diff
	case old.Awarded && !new.Awarded:
		return ChangeAwardRetracted, diff
	case new.Cancelled && !old.Cancelled:
		return ChangeCancelled, diff
	case new.SupplierStatus == SupplierDeclined && old.SupplierStatus != SupplierDeclined:
		return ChangeDeclined, diff
	case new.Closed && !old.Closed:
		return ChangeClosed, diff
	}
	return ChangeUpdated, diff
}

// Diff lists the top-level fields (by JSON name) whose values differ.
func Diff(old, new State) map[string][2]any {
	var o, n map[string]any
	ob, _ := json.Marshal(old)
	nb, _ := json.Marshal(new)
	_ = json.Unmarshal(ob, &o)
	_ = json.Unmarshal(nb, &n)
	out := map[string][2]any{}
	for k, nv := range n {
		if ov := o[k]; !reflect.DeepEqual(ov, nv) {
			out[k] = [2]any{ov, nv}
		}
	}
	for k, ov := range o {
		if _, ok := n[k]; !ok {
			out[k] = [2]any{ov, nil}
		}
	}
	return out
}

func utc(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func compact(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	b, _ := json.Marshal(v)
	return b
}
