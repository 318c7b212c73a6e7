package simulator

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Config describes the simulated account.
type Config struct {
	Seed      uint64
	EventID   string // "" = generated
	Attendees int    // generated attendees
	Sessions  int    // generated sessions; 0 = 5
	// ClientID and ClientSecret the token endpoint accepts; generated when empty.
	ClientID, ClientSecret string
	// Tier is "Free", "Standard" or "Premium" (the default), or Custom when set.
	Tier   string
	Custom *Tier
	// Accounts are further API credentials that see the same event, each
	// with its own tier limits, as separate Cvent accounts would have.
	Accounts []Account
	// TokenTTL is the token lifetime announced and enforced; 3600 s when zero.
	TokenTTL time.Duration
	// OpenAPISpecPath, when set, checks every request and answer against it.
	OpenAPISpecPath string
	// StrictOpenAPI answers 500 to a request or answer that breaks the spec.
	StrictOpenAPI bool
	Now           func() time.Time
}

// Account is one set of API credentials and its usage tier.
type Account struct {
	ClientID, ClientSecret string
	Tier                   string // as Config.Tier
	Custom                 *Tier
}

// Tier is a usage plan.
type Tier struct {
	Name      string
	PerSecond float64
	Burst     int
	PerDay    int
}

var tiers = map[string]Tier{
	"Free":     {Name: "Free", PerSecond: 2, Burst: 1, PerDay: 1000},
	"Standard": {Name: "Standard", PerSecond: 10, Burst: 10, PerDay: 15000},
	"Premium":  {Name: "Premium", PerSecond: 25, Burst: 25, PerDay: 500000},
}

// Attendee is a registrant in the simulated account.
type Attendee struct {
	ID                 string
	ContactID          string
	FirstName          string
	LastName           string
	Email              string
	Company            string
	Title              string
	Status             string
	RegistrationType   string
	Guest              bool
	PrimaryID          string
	ConfirmationNumber string
	RegisteredAt       time.Time
	LastModified       time.Time
	CheckedIn          bool
	CheckInAt          time.Time
	CustomFields       map[string]string // custom field id → value
	Answers            map[string]string // question id → answer
	Sessions           []string          // session ids the attendee registered for
}

// Session is an agenda item.
type Session struct {
	ID, Name, Code, Description string
	Start, End                  time.Time
	LastModified                time.Time
}

// Simulator is the in-memory account and its HTTP API.
type Simulator struct {
	cfg   Config
	tier  Tier
	event struct{ ID, Title, Code string }

	mu           sync.Mutex
	rng          *rand.Rand
	attendees    map[string]*Attendee
	order        []string // attendee ids in creation order
	contacts     map[string]map[string]any
	sessions     []*Session
	regTypes     []string
	customFields []struct{ ID, Name string }
	questions    []struct{ ID, Text string }
	tokens       map[string]issued
	secrets      map[string]string // client id → secret
	stormUntil   time.Time         // 429 "Too Many Requests" to every call until then
	pages        map[string]pageCursor
	effects      map[string]map[string]int // endpoint → attendee, "session/attendee" or contact → changes made
	attendance   map[string]time.Time      // "session/attendee" → session check-in time
	aeCalls      map[string]int            // endpoint → calls that acted since SetFaults (after-effect numbering)
	aeStats      map[string]*AfterEffectStats
	calls        map[string]int // "METHOD /path-pattern" → calls
	counters     counters
	limits       map[string]*limiter // client id → its tier's limits
	faults       Faults
	violations   []string
	validator    *validator
}

// issued is a token the token endpoint handed out.
type issued struct {
	clientID string
	expires  time.Time
}

type counters struct {
	TooManyRequests int
	LimitExceeded   int
	Total           int
}

type pageCursor struct {
	key    string
	offset int
}

// New builds an account from cfg.
func New(cfg Config) *Simulator {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TokenTTL == 0 {
		cfg.TokenTTL = time.Hour
	}
	if cfg.Sessions == 0 {
		cfg.Sessions = 5
	}
	s := &Simulator{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		attendees: map[string]*Attendee{}, contacts: map[string]map[string]any{}, tokens: map[string]issued{},
		secrets: map[string]string{}, limits: map[string]*limiter{},
		pages: map[string]pageCursor{}, effects: map[string]map[string]int{}, attendance: map[string]time.Time{},
		aeCalls: map[string]int{}, aeStats: map[string]*AfterEffectStats{}, calls: map[string]int{}}
	if s.cfg.ClientID == "" {
		s.cfg.ClientID, s.cfg.ClientSecret = s.uuid(), s.uuid()
	}
	s.tier = tierOf(cfg.Tier, cfg.Custom)
	s.secrets[s.cfg.ClientID] = s.cfg.ClientSecret
	s.limits[s.cfg.ClientID] = newLimiter(s.tier, cfg.Now)
	for _, a := range cfg.Accounts {
		s.secrets[a.ClientID] = a.ClientSecret
		s.limits[a.ClientID] = newLimiter(tierOf(a.Tier, a.Custom), cfg.Now)
	}
	s.event.ID = strings.ToLower(cfg.EventID)
	if s.event.ID == "" {
		s.event.ID = s.uuid()
	}
	s.event.Title, s.event.Code = "Northwind Summit 2026", "R5NP4NJYB3D"
	s.regTypes = []string{"Atlantic Track", "EMEA Track", "Pacific Track", "Guest"}
	s.customFields = []struct{ ID, Name string }{{s.uuid(), "Dietary Requirements"}, {s.uuid(), "T-Shirt Size"}}
	s.questions = []struct{ ID, Text string }{{s.uuid(), "Which workshop will you attend?"}, {s.uuid(), "Job level"}}
	base := time.Date(2026, 5, 25, 9, 0, 0, 0, time.UTC)
	for i := 0; i < cfg.Sessions; i++ {
		s.sessions = append(s.sessions, &Session{ID: s.uuid(), Name: fmt.Sprintf("Session %d", i+1), Code: fmt.Sprintf("S-%02d", i+1),
			Start: base.Add(time.Duration(i) * time.Hour), End: base.Add(time.Duration(i)*time.Hour + 45*time.Minute),
			LastModified: cfg.Now().Add(-48 * time.Hour)})
	}
	for i := 0; i < cfg.Attendees; i++ {
		s.addGenerated(cfg.Now().Add(-24 * time.Hour))
	}
	return s
}

func tierOf(name string, custom *Tier) Tier {
	if custom != nil {
		return *custom
	}
	if t, ok := tiers[name]; ok {
		return t
	}
	return tiers["Premium"]
}

func (s *Simulator) uuid() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(s.rng.UintN(256))
	}
	u, _ := uuid.FromBytes(b[:])
	u[6] = (u[6] & 0x0f) | 0x40
	u[8] = (u[8] & 0x3f) | 0x80
	return u.String()
}

var (
	firstNames = []string{"Amara", "Lin", "Sofia", "Theo", "Priya", "Jonas", "Aiko", "Mateo", "Zanele", "Elif", "Noah", "Ines"}
	lastNames  = []string{"Okafor", "Zhao", "Marquez", "Raman", "Berg", "Tanaka", "Silva", "Dlamini", "Yilmaz", "Keller"}
	companies  = []string{"Northwind Labs", "Contoso", "Fabrikam", "Tailspin", "Litware", "Adventure Works"}
	titles     = []string{"Engineer", "Director of Research", "Product Manager", "CTO", "Analyst", ""}
)

// addGenerated adds one registrant; callers hold no lock during New.
func (s *Simulator) addGenerated(at time.Time) *Attendee {
	n := len(s.order)
	a := &Attendee{ID: s.uuid(), ContactID: s.uuid(),
		FirstName: firstNames[s.rng.IntN(len(firstNames))], LastName: lastNames[s.rng.IntN(len(lastNames))],
		Company: companies[s.rng.IntN(len(companies))], Title: titles[s.rng.IntN(len(titles))],
		RegistrationType: s.regTypes[s.rng.IntN(3)], Status: "Accepted", RegisteredAt: at, LastModified: at,
		ConfirmationNumber: fmt.Sprintf("C%010d", n+1), CustomFields: map[string]string{}, Answers: map[string]string{}}
	a.Email = strings.ToLower(fmt.Sprintf("%s.%s.%d@%s.example", a.FirstName, a.LastName, n+1, strings.ReplaceAll(strings.ToLower(a.Company), " ", "")))
	switch r := s.rng.IntN(100); {
	case r < 5:
		a.Status = "Cancelled"
	case r < 10:
		a.Status = "Waitlisted"
	case r < 13 && n > 0:
		a.Guest, a.PrimaryID, a.RegistrationType = true, s.order[s.rng.IntN(n)], "Guest"
	}
	a.CustomFields[s.customFields[0].ID] = []string{"None", "Vegetarian", "Vegan"}[s.rng.IntN(3)]
	a.Answers[s.questions[0].ID] = []string{"Workshop A", "Workshop B"}[s.rng.IntN(2)]
	if len(s.sessions) > 0 {
		a.Sessions = []string{s.sessions[s.rng.IntN(len(s.sessions))].ID}
	}
	s.attendees[a.ID] = a
	s.order = append(s.order, a.ID)
	s.contacts[a.ContactID] = map[string]any{"id": a.ContactID, "firstName": a.FirstName, "lastName": a.LastName,
		"email": a.Email, "company": a.Company, "title": a.Title}
	return a
}

// Questions returns the event's registration questions (id, text).
func (s *Simulator) Questions() [][2]string {
	out := make([][2]string, len(s.questions))
	for i, q := range s.questions {
		out[i] = [2]string{q.ID, q.Text}
	}
	return out
}

// Credentials the token endpoint accepts.
func (s *Simulator) Credentials() (clientID, clientSecret string) {
	return s.cfg.ClientID, s.cfg.ClientSecret
}

// EventID is the simulated event's id (lower case).
func (s *Simulator) EventID() string { return s.event.ID }

// Register adds n new Accepted registrants, as if they registered now, and
// returns copies of them.
func (s *Simulator) Register(n int) []Attendee {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Attendee, n)
	for i := range out {
		a := s.addGenerated(s.cfg.Now())
		a.Status, a.Guest, a.PrimaryID = "Accepted", false, ""
		if a.RegistrationType == "Guest" {
			a.RegistrationType = "Atlantic Track"
		}
		out[i] = *a
	}
	return out
}

// AddAttendee stores a registrant as given; ids, status (Accepted),
// registration type, confirmation number and dates are filled in when
// empty. It returns the stored copy.
func (s *Simulator) AddAttendee(a Attendee) Attendee {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	a.ID, a.ContactID, a.PrimaryID = strings.ToLower(a.ID), strings.ToLower(a.ContactID), strings.ToLower(a.PrimaryID)
	if a.ID == "" {
		a.ID = s.uuid()
	}
	if a.ContactID == "" {
		a.ContactID = s.uuid()
	}
	if a.Status == "" {
		a.Status = "Accepted"
	}
	if a.RegistrationType == "" {
		a.RegistrationType = s.regTypes[0]
	}
	if a.ConfirmationNumber == "" {
		a.ConfirmationNumber = fmt.Sprintf("C%010d", len(s.order)+1)
	}
	if a.RegisteredAt.IsZero() {
		a.RegisteredAt = now
	}
	a.LastModified = now
	a.CustomFields, a.Answers = maps.Clone(a.CustomFields), maps.Clone(a.Answers)
	if a.CustomFields == nil {
		a.CustomFields = map[string]string{}
	}
	if a.Answers == nil {
		a.Answers = map[string]string{}
	}
	a.Sessions = slices.Clone(a.Sessions)
	stored := a
	if _, exists := s.attendees[a.ID]; !exists {
		s.order = append(s.order, a.ID)
	}
	s.attendees[a.ID] = &stored
	s.contacts[a.ContactID] = map[string]any{"id": a.ContactID, "firstName": a.FirstName, "lastName": a.LastName,
		"email": a.Email, "company": a.Company, "title": a.Title}
	return a
}

// Update changes an attendee with fn and bumps its lastModified.
func (s *Simulator) Update(id string, fn func(*Attendee)) (Attendee, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.attendees[strings.ToLower(id)]
	if !ok {
		return Attendee{}, false
	}
	fn(a)
	a.LastModified = s.cfg.Now()
	c := s.contacts[a.ContactID]
	c["firstName"], c["lastName"], c["email"], c["company"], c["title"] = a.FirstName, a.LastName, a.Email, a.Company, a.Title
	return *a, true
}

// Cancel cancels a registration.
func (s *Simulator) Cancel(id string) (Attendee, bool) {
	return s.Update(id, func(a *Attendee) { a.Status = "Cancelled" })
}

// Attendees returns copies of every attendee in creation order.
func (s *Simulator) Attendees() []Attendee {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Attendee, len(s.order))
	for i, id := range s.order {
		out[i] = *s.attendees[id]
	}
	return out
}

// Attendee returns a copy of one attendee.
func (s *Simulator) Attendee(id string) (Attendee, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.attendees[strings.ToLower(id)]
	if !ok {
		return Attendee{}, false
	}
	return *a, true
}

// Contact returns a copy of a contact's fields.
func (s *Simulator) Contact(id string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]any{}
	for k, v := range s.contacts[strings.ToLower(id)] {
		out[k] = v
	}
	return out
}

// CheckIns returns how many times each attendee was checked in (the
// effects of EndpointEventCheckIn).
func (s *Simulator) CheckIns() map[string]int { return s.Effects(EndpointEventCheckIn) }

// SessionCheckIns returns how many times each "session/attendee" pair was
// checked in (the effects of EndpointSessionCheckIn).
func (s *Simulator) SessionCheckIns() map[string]int { return s.Effects(EndpointSessionCheckIn) }

// ContactPatches returns how many PATCH calls changed each contact (the
// effects of EndpointContactPatch).
func (s *Simulator) ContactPatches() map[string]int { return s.Effects(EndpointContactPatch) }

// Calls returns the count of calls per endpoint ("POST /events/{id}/check-in").
func (s *Simulator) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// RateLimited returns how many 429s were answered, per kind.
func (s *Simulator) RateLimited() (tooManyRequests, limitExceeded int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counters.TooManyRequests, s.counters.LimitExceeded
}

// Violations lists OpenAPI violations seen so far.
func (s *Simulator) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.violations...)
}

// ResetDay starts a new quota day.
func (s *Simulator) ResetDay() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.limits {
		l.resetDay()
	}
}
