package cvent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Lookup is Cvent's {id, name} reference.
type Lookup struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// AttendeeContact is the contact embedded in an attendee.
type AttendeeContact struct {
	ID              string          `json:"id"`
	FirstName       string          `json:"firstName,omitempty"`
	LastName        string          `json:"lastName,omitempty"`
	MiddleName      string          `json:"middleName,omitempty"`
	Email           string          `json:"email,omitempty"`
	Company         string          `json:"company,omitempty"`
	Title           string          `json:"title,omitempty"`
	ProfileImageURL string          `json:"profileImageUrl,omitempty"`
	Extra           json.RawMessage `json:"-"`
}

// Answer is a registration question answer.
type Answer struct {
	Question Lookup          `json:"question"`
	Value    json.RawMessage `json:"value,omitempty"`
	Choices  json.RawMessage `json:"choices,omitempty"`
}

// Attendee is a REST attendee (ids in lower case).
type Attendee struct {
	ID                 string          `json:"id"`
	Event              Lookup          `json:"event"`
	Contact            AttendeeContact `json:"contact"`
	ConfirmationNumber string          `json:"confirmationNumber,omitempty"`
	Status             string          `json:"status"`
	RegistrationType   Lookup          `json:"registrationType"`
	Guest              bool            `json:"guest,omitempty"`
	PrimaryID          string          `json:"primaryId,omitempty"`
	CheckedIn          bool            `json:"checkedIn,omitempty"`
	CheckIn            string          `json:"checkIn,omitempty"`
	RegisteredAt       string          `json:"registeredAt,omitempty"`
	LastModified       time.Time       `json:"lastModified,omitempty"`
	Answers            []Answer        `json:"answers,omitempty"`
	// Raw is the whole record, for additional-field mapping.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON keeps the raw record beside the typed fields.
func (a *Attendee) UnmarshalJSON(b []byte) error {
	type plain Attendee
	if err := json.Unmarshal(b, (*plain)(a)); err != nil {
		return err
	}
	a.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// ListOptions narrow a list call.
type ListOptions struct {
	Filter string    // Cvent filter, e.g. "event.id eq '...'"
	After  time.Time // only records modified after this time
	Expand string    // e.g. "answers.question,registrationType"
	Limit  int       // page size, 1–200
	Token  string    // resume from this page token
}

func (o ListOptions) query() url.Values {
	q := url.Values{}
	if o.Filter != "" {
		q.Set("filter", o.Filter)
	}
	if !o.After.IsZero() {
		q.Set("after", o.After.UTC().Format(time.RFC3339))
	}
	setExpand(q, o.Expand)
	if o.Limit > 0 {
		q.Set("limit", itoa(min(o.Limit, 200)))
	}
	return q
}

// setExpand sends "a,b" as expand=a&expand=b: the attendee endpoints declare
// expand as an exploded array, so a comma-joined value is one unknown name.
func setExpand(q url.Values, expand string) {
	for _, e := range strings.Split(expand, ",") {
		if e = strings.TrimSpace(e); e != "" {
			q.Add("expand", e)
		}
	}
}

// EventFilter is the filter for one event's records.
func EventFilter(eventID string) string {
	return fmt.Sprintf("event.id eq '%s'", strings.ToLower(eventID))
}

// IDsFilter matches any of the given ids.
func IDsFilter(ids []string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprintf("id eq '%s'", strings.ToLower(id))
	}
	return strings.Join(parts, " or ")
}

// Attendees lists attendees.
func (c *Client) Attendees(o ListOptions) *Pager[Attendee] {
	return newPager[Attendee](c, "/attendees", o.query(), o.Token)
}

// GetAttendee gets one attendee.
func (c *Client) GetAttendee(ctx context.Context, id, expand string) (*Attendee, error) {
	var a Attendee
	q := url.Values{}
	setExpand(q, expand)
	_, err := c.do(ctx, "GET", "/attendees/"+url.PathEscape(id), q, nil, &a)
	return &a, err
}

// Event is the part of an event cventsync reads.
type Event struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Code     string `json:"code,omitempty"`
	Start    string `json:"start,omitempty"`
	End      string `json:"end,omitempty"`
	Timezone string `json:"timezone,omitempty"`
}

// GetEvent gets an event.
func (c *Client) GetEvent(ctx context.Context, id string) (*Event, error) {
	var e Event
	_, err := c.do(ctx, "GET", "/events/"+url.PathEscape(id), nil, nil, &e)
	return &e, err
}

// Contact is a Cvent contact, kept as a field map (Cvent has many).
type Contact map[string]any

// GetContact gets a contact.
func (c *Client) GetContact(ctx context.Context, id string) (Contact, error) {
	var out Contact
	_, err := c.do(ctx, "GET", "/contacts/"+url.PathEscape(id), nil, nil, &out)
	return out, err
}

// PatchContact changes only the given fields of a contact. Cvent wants the
// contact's id in the body too.
func (c *Client) PatchContact(ctx context.Context, id string, fields map[string]any) error {
	body := make(map[string]any, len(fields)+1)
	for k, v := range fields {
		body[k] = v
	}
	body["id"] = id
	_, err := c.do(ctx, "PATCH", "/contacts/"+url.PathEscape(id), nil, body, nil)
	return err
}

// CheckIn is one attendee to check in.
type CheckIn struct {
	ID       string     `json:"id"`
	CheckIn  time.Time  `json:"checkIn"`
	Device   string     `json:"device,omitempty"`
	CheckOut *time.Time `json:"checkOut,omitempty"`
	Duration *int       `json:"duration,omitempty"`
}

// MaxCheckIns is Cvent's limit of attendees per check-in call.
const MaxCheckIns = 100

// ItemResult is one item of a 207 multi-status answer.
type ItemResult struct {
	Status  int             `json:"status"`
	Message string          `json:"message,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// ID is the record id the item is about, when Cvent says.
func (r ItemResult) ID() string {
	var d struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(r.Data, &d)
	return strings.ToLower(d.ID)
}

// OK reports a 2xx item.
func (r ItemResult) OK() bool { return r.Status >= 200 && r.Status < 300 }

// ErrorMessage is the item's error, if any.
func (r ItemResult) ErrorMessage() string {
	var d struct{ Message string }
	_ = json.Unmarshal(r.Data, &d)
	if d.Message != "" {
		return d.Message
	}
	return r.Message
}

// CheckInAttendees checks up to 100 attendees in to an event. The answer
// has one result per item, in order.
func (c *Client) CheckInAttendees(ctx context.Context, eventID string, items []CheckIn) ([]ItemResult, error) {
	if len(items) > MaxCheckIns {
		return nil, fmt.Errorf("cvent: %d check-ins in one call; Cvent takes at most %d", len(items), MaxCheckIns)
	}
	var out []ItemResult
	_, err := c.do(ctx, "POST", "/events/"+url.PathEscape(eventID)+"/check-in", nil, items, &out)
	return out, err
}

// DeleteCheckIn undoes an attendee's event check-in.
func (c *Client) DeleteCheckIn(ctx context.Context, eventID, attendeeID string) error {
	_, err := c.do(ctx, "DELETE", "/events/"+url.PathEscape(eventID)+"/check-in/"+url.PathEscape(attendeeID), nil, nil, nil)
	return err
}

// SessionCheckIn checks up to 100 attendees in to a session.
func (c *Client) SessionCheckIn(ctx context.Context, sessionID string, items []CheckIn) ([]ItemResult, error) {
	if len(items) > MaxCheckIns {
		return nil, fmt.Errorf("cvent: %d session check-ins in one call; Cvent takes at most %d", len(items), MaxCheckIns)
	}
	var out []ItemResult
	_, err := c.do(ctx, "POST", "/sessions/"+url.PathEscape(sessionID)+"/check-in", nil, items, &out)
	return out, err
}

// Attendance is an attendee's check-in to a session.
type Attendance struct {
	Session  Lookup `json:"session"`
	Attendee Lookup `json:"attendee"`
	CheckIn  string `json:"checkIn,omitempty"`
	Deleted  bool   `json:"deleted,omitempty"`
}

// SessionAttendance lists the check-ins of one session (GET
// /sessions/attendance filtered by session.id): what Cvent has, to settle a
// session check-in whose answer was lost.
func (c *Client) SessionAttendance(sessionID string) *Pager[Attendance] {
	q := url.Values{"filter": {fmt.Sprintf("session.id eq '%s'", strings.ToLower(sessionID))}, "limit": {"200"}}
	return newPager[Attendance](c, "/sessions/attendance", q, "")
}

// RegistrationTypes lists an event's registration types.
func (c *Client) RegistrationTypes(eventID string) *Pager[Lookup] {
	return newPager[Lookup](c, "/events/"+url.PathEscape(eventID)+"/registration-types", nil, "")
}

// CustomField is a custom field definition.
type CustomField struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Category string `json:"category,omitempty"`
	Type     string `json:"type,omitempty"`
}

// ContactCustomFields lists contact custom fields (Cvent requires the category filter).
func (c *Client) ContactCustomFields() *Pager[CustomField] {
	return newPager[CustomField](c, "/custom-fields", url.Values{"filter": {"category eq 'Contact'"}}, "")
}

// Question is an event registration question.
type Question struct {
	ID   string `json:"id"`
	Text string `json:"text,omitempty"`
	Code string `json:"code,omitempty"`
}

// EventQuestions lists an event's registration questions.
func (c *Client) EventQuestions(eventID string) *Pager[Question] {
	return newPager[Question](c, "/event-questions", url.Values{"filter": {EventFilter(eventID)}}, "")
}

// Session is an agenda session (Cvent calls its name "title").
type Session struct {
	ID           string    `json:"id"`
	Name         string    `json:"title"`
	Code         string    `json:"code,omitempty"`
	Description  string    `json:"description,omitempty"`
	Start        string    `json:"start,omitempty"`
	End          string    `json:"end,omitempty"`
	Timezone     string    `json:"timezone,omitempty"`
	Status       string    `json:"status,omitempty"`
	LastModified time.Time `json:"lastModified,omitempty"`
}

// Sessions lists an event's sessions.
func (c *Client) Sessions(eventID string) *Pager[Session] {
	return newPager[Session](c, "/sessions", url.Values{"filter": {EventFilter(eventID)}}, "")
}

// Enrollment is an attendee's registration for a session.
type Enrollment struct {
	Attendee Lookup `json:"attendee"`
	Session  Lookup `json:"session"`
}

// SessionEnrollment lists session registrations of an event.
func (c *Client) SessionEnrollment(eventID string) *Pager[Enrollment] {
	return newPager[Enrollment](c, "/sessions/enrollment", url.Values{"filter": {EventFilter(eventID)}}, "")
}

// UsageTier is the account's API plan: calls per day (Quota), per second
// (RateLimit) and at once (BurstLimit).
type UsageTier struct {
	Name       string  `json:"name"`
	Quota      float64 `json:"quota"`
	BurstLimit float64 `json:"burstLimit"`
	RateLimit  float64 `json:"rateLimit"`
}

// GetUsageTier reads the account's usage tier.
func (c *Client) GetUsageTier(ctx context.Context) (*UsageTier, error) {
	var t UsageTier
	_, err := c.do(ctx, "GET", "/usage/tier", nil, nil, &t)
	return &t, err
}
