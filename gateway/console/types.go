package console

import (
	"encoding/json"
	"time"
)

// The admin API's answers, as far as the console shows them.

type integration struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	CventEventID string          `json:"cventEventId"`
	Environment  string          `json:"environment"`
	Region       string          `json:"region"`
	WebhookURL   string          `json:"webhookUrl"`
	Settings     json.RawMessage `json:"settings"`
	CreatedAt    time.Time       `json:"createdAt"`
	CventUsage   *cventUsage     `json:"cventUsage"`
}

// cventUsage is the account's Cvent calls today against its tier's quota.
type cventUsage struct {
	Account  string    `json:"account"`
	Calls    int64     `json:"calls"`
	Quota    int64     `json:"quota"`
	Tier     string    `json:"tier"`
	Warn     bool      `json:"warn"`
	ResetsAt time.Time `json:"resetsAt"`
	Summary  string    `json:"summary"`
}

type stats struct {
	Attendees     int            `json:"attendees"`
	WithAccess    int            `json:"withAccess"`
	Deliveries    map[string]int `json:"deliveries"`
	Participation map[string]int `json:"participation"`
}

type delivery struct {
	ID          int64           `json:"id"`
	EventType   string          `json:"eventType"`
	MessageStub string          `json:"messageStub"`
	MessageTime *time.Time      `json:"messageTime"`
	ItemCount   int             `json:"itemCount"`
	ReceivedAt  time.Time       `json:"receivedAt"`
	Status      string          `json:"status"`
	Error       string          `json:"error"`
	WorkflowID  string          `json:"workflowId"`
	RunID       string          `json:"runId"`
	ProcessedAt *time.Time      `json:"processedAt"`
	Result      json.RawMessage `json:"result"`
	Body        json.RawMessage `json:"body"`
	RawBody     string          `json:"rawBody"`
	BodySize    int64           `json:"bodySize"`
	BodyURL     string          `json:"bodyUrl"`
	InviteeIDs  []string        `json:"inviteeIds"`
	ApplyCount  int             `json:"applyCount"`
	Large       bool            `json:"large"`
	Flags       []string        `json:"flags"`
}

type participation struct {
	Status         string     `json:"status"`
	FirstLoginAt   *time.Time `json:"firstLoginAt"`
	WatchedSeconds int        `json:"watchedSeconds"`
	DueAt          *time.Time `json:"dueAt"`
	WrittenAt      *time.Time `json:"writtenAt"`
	LastError      string     `json:"lastError"`
}

type attendee struct {
	InviteeID        string            `json:"inviteeId"`
	ContactID        string            `json:"contactId"`
	Email            string            `json:"email"`
	FirstName        string            `json:"firstName"`
	LastName         string            `json:"lastName"`
	Company          string            `json:"company"`
	Title            string            `json:"title"`
	RegistrationType string            `json:"registrationType"`
	CventStatus      string            `json:"cventStatus"`
	Access           bool              `json:"access"`
	IsGuest          bool              `json:"isGuest"`
	PrimaryInviteeID string            `json:"primaryInviteeId"`
	Groups           []string          `json:"groups"`
	Profile          map[string]string `json:"profile"`
	CustomFields     map[string]string `json:"customFields"`
	SourceTime       time.Time         `json:"sourceTime"`
	UpdatedAt        time.Time         `json:"updatedAt"`
	Participation    *participation    `json:"participation"`
}

type agendaSession struct {
	SessionID string     `json:"sessionId"`
	Name      string     `json:"name"`
	Code      string     `json:"code"`
	StartsAt  *time.Time `json:"startsAt"`
	EndsAt    *time.Time `json:"endsAt"`
	Timezone  string     `json:"timezone"`
}

type agenda struct {
	ImportMethod string          `json:"importMethod"`
	Sessions     []agendaSession `json:"sessions"`
}

type destination struct {
	ID     string `json:"id"`
	URL    string `json:"url"`
	Status string `json:"status"`
	Lag    struct {
		Changes int64   `json:"changes"`
		Seconds float64 `json:"seconds"`
	} `json:"lag"`
}

type resync struct {
	ID         int64     `json:"id"`
	Status     string    `json:"status"`
	Total      int       `json:"total"`
	Done       int       `json:"done"`
	Written    int       `json:"written"`
	Error      string    `json:"error"`
	WorkflowID string    `json:"workflowId"`
	StartedAt  time.Time `json:"startedAt"`
}

type bulkReplay struct {
	Status      string  `json:"status"`
	ReplayID    string  `json:"replayId"`
	WorkflowID  string  `json:"workflowId"`
	Matched     int     `json:"matched"`
	Replayed    int     `json:"replayed"`
	Skipped     int     `json:"skipped"`
	DeliveryIDs []int64 `json:"deliveryIds"`
	Error       string  `json:"error"`
}
