package simulator

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// SupplierConfig describes a simulated Cvent Supplier Network account: the
// RFPs planners send to its suppliers and both pull APIs behind it.
type SupplierConfig struct {
	Seed uint64
	// ClientID and ClientSecret for the REST API's token; generated when empty.
	ClientID, ClientSecret string
	// APIKey the legacy CSN API accepts; generated when empty.
	APIKey string
	// Tier limits the pull APIs ("Free", "Standard", "Premium"); "" = no limit.
	Tier   string
	Custom *Tier
	Now    func() time.Time
}

// SupplierFaults are failures of the pull APIs.
type SupplierFaults struct {
	// DownUntil answers every pull with 503 until then.
	DownUntil time.Time
	// Latency is added to every pull answer.
	Latency time.Duration
}

// SimRFP is an RFP in the simulated Supplier Network.
type SimRFP struct {
	ID, Code, Name, Status, Type  string
	ResponseDueDate, DecisionDate time.Time
	Contact                       map[string]any
	Event                         map[string]any
	DateRequirements              []map[string]any
	CancelReason                  string
	CancelledAt                   time.Time
	Responses                     map[string]*SimResponse
}

// SimResponse is one supplier's response.
type SimResponse struct {
	SupplierID, Status, Reason string
	ChangedAt                  time.Time
}

// SupplierNetwork is the simulated Supplier Network.
type SupplierNetwork struct {
	cfg      SupplierConfig
	mu       sync.Mutex
	rng      *rand.Rand
	rfps     map[string]*SimRFP
	tokens   map[string]time.Time
	faults   SupplierFaults
	limits   *limiter
	calls    map[string]int // per RFP id
	total    int
	tooMany  int
	inflight atomic.Int64
	started  atomic.Int64
}

// NewSupplierNetwork makes an empty Supplier Network.
func NewSupplierNetwork(cfg SupplierConfig) *SupplierNetwork {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5eed))
	if cfg.ClientID == "" {
		cfg.ClientID = "csn-" + fmt.Sprint(rng.Uint32())
	}
	if cfg.ClientSecret == "" {
		cfg.ClientSecret = "secret-" + fmt.Sprint(rng.Uint64())
	}
	if cfg.APIKey == "" {
		cfg.APIKey = "key-" + fmt.Sprint(rng.Uint64())
	}
	n := &SupplierNetwork{cfg: cfg, rng: rng, rfps: map[string]*SimRFP{}, tokens: map[string]time.Time{}, calls: map[string]int{}}
	if cfg.Tier != "" || cfg.Custom != nil {
		n.limits = newLimiter(tierOf(cfg.Tier, cfg.Custom), cfg.Now)
	}
	return n
}

// Credentials are the REST client id and secret, and the legacy API key.
func (n *SupplierNetwork) Credentials() (clientID, clientSecret, apiKey string) {
	return n.cfg.ClientID, n.cfg.ClientSecret, n.cfg.APIKey
}

// SetFaults replaces the pull API's faults.
func (n *SupplierNetwork) SetFaults(f SupplierFaults) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.faults = f
}

// Calls is how many pull API calls were answered about rfpID (token calls
// not counted), and in all.
func (n *SupplierNetwork) Calls(rfpID string) (forRFP, total int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.calls[rfpID], n.total
}

// TooManyRequests counts the 429s answered.
func (n *SupplierNetwork) TooManyRequests() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.tooMany
}

// InFlight is how many pull calls are being answered now, and how many started.
func (n *SupplierNetwork) InFlight() (now, started int64) { return n.inflight.Load(), n.started.Load() }

// RFP returns a copy of an RFP.
func (n *SupplierNetwork) RFP(id string) (SimRFP, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	r, ok := n.rfps[id]
	if !ok {
		return SimRFP{}, false
	}
	c := *r
	c.Responses = map[string]*SimResponse{}
	for k, v := range r.Responses {
		vv := *v
		c.Responses[k] = &vv
	}
	return c, true
}

// Notification is one PNS notification, in the body shape the simulator
// sends. ASSUMPTION: Cvent's field names are not public; these are ours.
type Notification struct {
	EventType      string   `json:"eventType"`
	RFPID          string   `json:"rfpId"`
	SupplierID     string   `json:"supplierId,omitempty"`
	NotificationID string   `json:"notificationId"`
	EventDateTime  string   `json:"eventDateTime"`
	Reason         string   `json:"reason,omitempty"`
	AttachmentIDs  []string `json:"attachmentIds,omitempty"`
}

// Body is the notification's JSON.
func (x Notification) Body() []byte {
	b, _ := json.Marshal(x)
	return b
}

func (n *SupplierNetwork) note(typ, rfpID, supplierID, reason string) Notification {
	return Notification{EventType: typ, RFPID: rfpID, SupplierID: supplierID, Reason: reason,
		NotificationID: uuid.NewString(), EventDateTime: n.cfg.Now().UTC().Format("2006-01-02T15:04:05.000Z")}
}

// SendRFP is a planner sending a new RFP to the suppliers; it answers the
// RFP and one RFP_SEND notification per supplier.
func (n *SupplierNetwork) SendRFP(name string, supplierIDs ...string) (SimRFP, []Notification) {
	n.mu.Lock()
	now := n.cfg.Now().UTC()
	id := uuid.NewString()
	start := now.AddDate(0, 3, n.rng.IntN(60)).Truncate(24 * time.Hour)
	rooms := 20 + n.rng.IntN(200)
	r := &SimRFP{ID: id, Code: strings.ToUpper(id[:8]), Name: name, Status: "ACTIVE", Type: "MEETING_SPACE_AND_GUEST_ROOMS",
		ResponseDueDate: now.AddDate(0, 0, 14).Truncate(time.Second), DecisionDate: now.AddDate(0, 0, 30).Truncate(time.Second),
		Contact: map[string]any{"firstName": "Pat", "lastName": "Planner", "organization": "Northwind", "email": "pat@northwind.example", "phone": "+1 555 0100"},
		Event: map[string]any{"name": name, "startDate": start.Format("2006-01-02"), "endDate": start.AddDate(0, 0, 2).Format("2006-01-02"),
			"attendeesPerDay": 50 + n.rng.IntN(500), "totalBudget": 10000 + n.rng.IntN(90000)},
		DateRequirements: []map[string]any{{"dateType": "PREFERRED", "peakRoomNights": rooms, "totalRoomNights": rooms * 2,
			"checkInDate": start.Format("2006-01-02"), "roomBlocks": []map[string]any{{"date": start.Format("2006-01-02"), "totalRooms": rooms}}}},
		Responses: map[string]*SimResponse{}}
	var out []Notification
	for _, s := range supplierIDs {
		r.Responses[s] = &SimResponse{SupplierID: s, Status: "AWAITING_PROPOSAL", ChangedAt: now}
		out = append(out, n.note("RFP_SEND", id, s, ""))
	}
	n.rfps[id] = r
	c := *r
	n.mu.Unlock()
	return c, out
}

// Act changes an RFP as the notification type says (a planner's or a
// supplier's action) and answers the notification Cvent would send.
// Supported: RESPONSE_CONFIRM_RECEIPT, RESPONSE_SUBMIT_PROPOSAL,
// PLANNER_AWARD_SUPPLIER, PLANNER_RETRACT_AWARD_SUPPLIER,
// PLANNER_DECLINE_SUPPLIER, PLANNER_CANCEL, RESPONSE_TURN_DOWN,
// RESPONSE_WITHDRAW; other types change nothing (a message, a view).
func (n *SupplierNetwork) Act(typ, rfpID, supplierID, reason string) (Notification, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	r, ok := n.rfps[rfpID]
	if !ok {
		return Notification{}, fmt.Errorf("no RFP %s", rfpID)
	}
	now := n.cfg.Now().UTC()
	set := func(status string) {
		if resp, ok := r.Responses[supplierID]; ok {
			resp.Status, resp.ChangedAt, resp.Reason = status, now, reason
		}
	}
	switch typ {
	case "RESPONSE_CONFIRM_RECEIPT":
		set("RECEIPT_CONFIRMED")
	case "RESPONSE_SUBMIT_PROPOSAL", "PLANNER_RETRACT_DECLINE_SUPPLIER", "RESPONSE_RETRACT_WITHDRAW":
		set("SUBMITTED_PROPOSAL")
	case "PLANNER_AWARD_SUPPLIER":
		set("AWARDED")
		r.Status = "AWARDED"
	case "PLANNER_RETRACT_AWARD_SUPPLIER":
		set("SUBMITTED_PROPOSAL")
		r.Status = "ACTIVE"
	case "PLANNER_DECLINE_SUPPLIER":
		set("DECLINED")
	case "RESPONSE_TURN_DOWN":
		set("TURNED_DOWN")
	case "RESPONSE_UNDO_TURN_DOWN":
		set("AWAITING_PROPOSAL")
	case "RESPONSE_WITHDRAW":
		set("WITHDRAWN")
	case "PLANNER_CANCEL_SUPPLIER":
		set("CANCELLED")
	case "PLANNER_CANCEL":
		r.Status, r.CancelReason, r.CancelledAt = "CANCELLED", reason, now
		supplierID = ""
	}
	return n.note(typ, rfpID, supplierID, reason), nil
}

// Handler serves the REST API under /ea (token, GET /rfps/{id}, GET
// /rfps/{id}/suppliers) and the legacy CSN API at the root.
func (n *SupplierNetwork) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /ea/oauth2/token", n.token)
	mux.HandleFunc("GET /ea/rfps/{id}", n.guard(false, n.getRFP))
	mux.HandleFunc("GET /ea/rfps/{id}/suppliers", n.guard(false, n.getSuppliers))
	mux.HandleFunc("GET /rfp-response/v1/rfp/{id}/supplier/{supplierId}", n.guard(true, n.getLegacy))
	return mux
}

func (n *SupplierNetwork) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	if !ok || id != n.cfg.ClientID || secret != n.cfg.ClientSecret {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	tok := uuid.NewString()
	n.mu.Lock()
	n.tokens[tok] = n.cfg.Now().Add(time.Hour)
	n.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600})
}

func (n *SupplierNetwork) guard(legacy bool, h func(w http.ResponseWriter, r *http.Request, rfp *SimRFP)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n.inflight.Add(1)
		n.started.Add(1)
		defer n.inflight.Add(-1)
		auth := r.Header.Get("Authorization")
		n.mu.Lock()
		var valid bool
		if legacy {
			valid = auth == "api_key "+n.cfg.APIKey
		} else {
			tok, _ := strings.CutPrefix(auth, "Bearer ")
			exp, ok := n.tokens[tok]
			valid = ok && n.cfg.Now().Before(exp)
		}
		f := n.faults
		limited := ""
		if valid && n.limits != nil {
			limited = n.limits.take()
		}
		if limited != "" {
			n.tooMany++
		}
		down := valid && limited == "" && n.cfg.Now().Before(f.DownUntil)
		if valid && limited == "" && !down {
			n.calls[r.PathValue("id")]++
			n.total++
		}
		n.mu.Unlock()
		if f.Latency > 0 {
			time.Sleep(f.Latency)
		}
		switch {
		case !valid:
			cventError(w, http.StatusUnauthorized, "Unauthorized", "")
			return
		case limited != "":
			cventError(w, http.StatusTooManyRequests, limited, "")
			return
		case down:
			cventError(w, http.StatusServiceUnavailable, "Service Unavailable", "")
			return
		}
		n.mu.Lock()
		rfp, ok := n.rfps[r.PathValue("id")]
		var c SimRFP
		if ok {
			c = *rfp
			c.Responses = map[string]*SimResponse{}
			for k, v := range rfp.Responses {
				vv := *v
				c.Responses[k] = &vv
			}
		}
		n.mu.Unlock()
		if !ok {
			cventError(w, http.StatusNotFound, "RFP not found", "rfpId")
			return
		}
		h(w, r, &c)
	}
}

func day(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func (n *SupplierNetwork) getRFP(w http.ResponseWriter, r *http.Request, rfp *SimRFP) {
	out := map[string]any{"id": rfp.ID, "code": rfp.Code, "status": rfp.Status, "type": rfp.Type,
		"rfpEvent": rfp.Event, "contact": rfp.Contact, "dateRequirements": rfp.DateRequirements,
		"responseDueDate": day(rfp.ResponseDueDate), "decisionDate": day(rfp.DecisionDate), "forwardable": false,
		"archived": false, "awardedExternally": false, "finishedAwarding": rfp.Status == "AWARDED"}
	if rfp.Status == "CANCELLED" {
		out["cancellationDetails"] = map[string]any{"dateTime": day(rfp.CancelledAt), "reason": rfp.CancelReason}
	}
	writeJSON(w, http.StatusOK, out)
}

func (n *SupplierNetwork) getSuppliers(w http.ResponseWriter, r *http.Request, rfp *SimRFP) {
	data := []any{}
	for _, s := range rfp.Responses {
		data = append(data, map[string]any{"supplier": map[string]any{"id": s.SupplierID}, "rfp": map[string]any{"id": rfp.ID},
			"status": s.Status, "statusChangedDateTime": day(s.ChangedAt), "response": map[string]any{"reason": s.Reason}})
	}
	writeJSON(w, http.StatusOK, map[string]any{"paging": map[string]any{"limit": 200, "totalCount": len(data)}, "data": data})
}

func (n *SupplierNetwork) getLegacy(w http.ResponseWriter, r *http.Request, rfp *SimRFP) {
	s, ok := rfp.Responses[r.PathValue("supplierId")]
	if !ok {
		cventError(w, http.StatusNotFound, "supplier has no response to this RFP", "supplierId")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"rfp": map[string]any{"id": rfp.ID, "code": rfp.Code, "name": rfp.Name, "status": rfp.Status, "type": rfp.Type,
			"responseDueDate": day(rfp.ResponseDueDate), "decisionDate": day(rfp.DecisionDate), "contact": rfp.Contact,
			"event": rfp.Event, "dateRequirements": rfp.DateRequirements, "cancellationReason": rfp.CancelReason},
		"supplierId": s.SupplierID, "status": s.Status, "statusChangedDate": day(s.ChangedAt), "responseReason": s.Reason})
}
