package mapping

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/cventsync/cventsync/internal/cventpush"
	"github.com/cventsync/cventsync/internal/directory"
)

// Extra is what the webhook does not carry and the REST API does: the
// attendee record (GET /attendees/{id}) and the registration question answers.
// Both are optional; a field they would fill keeps its stored value when absent.
type Extra struct {
	// REST is the REST attendee record as Cvent returned it.
	REST json.RawMessage
	// Answers are registration question answers by question id (any case).
	Answers map[string][]string
}

// AnswersFromREST reads answers[].question.id and answers[].value from a REST
// attendee fetched with expand=answers.question. Values may be an array of
// strings (the schema) or a single scalar (seen in practice).
func AnswersFromREST(raw json.RawMessage) map[string][]string {
	var rec struct {
		Answers []struct {
			Question struct {
				ID string `json:"id"`
			} `json:"question"`
			Value json.RawMessage `json:"value"`
		} `json:"answers"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil || rec.Answers == nil {
		return nil
	}
	out := make(map[string][]string, len(rec.Answers))
	for _, a := range rec.Answers {
		id := cventpush.NormaliseID(a.Question.ID)
		if id == "" {
			continue
		}
		var list cventpush.StringList
		if err := json.Unmarshal(a.Value, &list); err == nil {
			out[id] = append(out[id], list...)
		}
	}
	return out
}

// FromAttendee builds the platform record for one attendee item. existing is
// the stored record, or nil; sourceTime is when Cvent produced the item.
func FromAttendee(cfg *Config, integrationID, eventType string, item *cventpush.Attendee,
	existing *directory.Attendee, sourceTime time.Time) directory.Attendee {
	return FromAttendeeWith(cfg, integrationID, eventType, item, nil, existing, sourceTime)
}

// FromAttendeeWith is FromAttendee with data from the REST API.
func FromAttendeeWith(cfg *Config, integrationID, eventType string, item *cventpush.Attendee, extra *Extra,
	existing *directory.Attendee, sourceTime time.Time) directory.Attendee {
	if extra == nil {
		extra = &Extra{}
	}
	src := &sources{attendee: item, rest: parseDoc(extra.REST)}
	status := StatusFor(eventType, item, existing)
	a := directory.Attendee{
		IntegrationID:    integrationID,
		InviteeID:        item.InviteeID(),
		ContactID:        cventpush.NormaliseID(string(item.ContactStub)),
		Email:            src.person(cfg, "email"),
		FirstName:        src.person(cfg, "firstName"),
		LastName:         src.person(cfg, "lastName"),
		Company:          src.person(cfg, "company"),
		Title:            src.person(cfg, "title"),
		ProfileImageURL:  src.person(cfg, "profileImageUrl"),
		RegistrationType: string(item.RegistrationType),
		CventStatus:      status,
		IsGuest:          bool(item.IsGuest),
		PrimaryInviteeID: item.PrimaryID(),
		Profile:          map[string]string{},
		CustomFields:     map[string]string{},
		SourceTime:       sourceTime,
	}
	if a.RegistrationType == "" {
		a.RegistrationType = src.rest.get("registrationType.name")
	}
	var old directory.Attendee
	if existing != nil {
		old = *existing
		// A live item that leaves out a field Cvent sent before (e.g. a cancel
		// without the profile image) must not blank it.
		keepIfEmpty(&a.ContactID, existing.ContactID)
		keepIfEmpty(&a.ProfileImageURL, existing.ProfileImageURL)
		keepIfEmpty(&a.RegistrationType, existing.RegistrationType)
		keepIfEmpty(&a.PrimaryInviteeID, existing.PrimaryInviteeID)
	}
	if cfg != nil {
		for name, cventField := range cfg.Profile {
			v := src.field(cventField)
			keepIfEmpty(&v, old.Profile[name])
			if v != "" {
				a.Profile[name] = v
			}
		}
		applyCustomFields(cfg, &a, &old, item.CustomFields, extra.Answers, false)
	}
	a.Access = Admitted(status) && !(a.IsGuest && cfg.SkipsGuests())
	a.AccessGroups = cfg.GroupsFor(a.RegistrationType, a.Access)
	return a
}

// Skip reports whether an attendee item creates nothing: a guest when the
// integration skips guests. A guest already stored (imported before the
// setting changed) is still updated, and loses access by FromAttendee.
func Skip(cfg *Config, item *cventpush.Attendee, existing *directory.Attendee) bool {
	return bool(item.IsGuest) && cfg.SkipsGuests() && existing == nil
}

// applyCustomFields writes the configured custom field mappings into a. A
// value Cvent did not send keeps the stored one, except on substitution
// (substituted=true), where contact custom fields belonged to the previous
// person and are dropped; question answers belong to the registration and stay.
func applyCustomFields(cfg *Config, a, old *directory.Attendee, contact []cventpush.CustomField,
	answers map[string][]string, substituted bool) {
	byID, byName := map[string]string{}, map[string]string{}
	for _, f := range contact {
		if v := strings.TrimSpace(string(f.Value)); v != "" {
			byID[cventpush.NormaliseID(string(f.ID))] = v
			byName[string(f.Name)] = v
		}
	}
	normAnswers := make(map[string]string, len(answers))
	for id, vs := range answers {
		normAnswers[cventpush.NormaliseID(id)] = strings.Join(nonEmpty(vs), ", ")
	}
	for _, m := range cfg.CustomFields {
		var v string
		isQuestion := m.QuestionID != ""
		switch {
		case isQuestion:
			v = normAnswers[cventpush.NormaliseID(m.QuestionID)]
		case m.ID != "":
			v = byID[cventpush.NormaliseID(m.ID)]
		default:
			v = byName[m.Name] // exact name: Cvent field names are the customer's own words
		}
		to := strings.TrimSpace(m.To)
		switch {
		case strings.HasPrefix(to, targetPersonPrefix):
			if v != "" {
				setPerson(a, strings.TrimPrefix(to, targetPersonPrefix), v)
			}
		case strings.HasPrefix(to, targetProfilePrefix):
			name := strings.TrimPrefix(to, targetProfilePrefix)
			if v == "" && (isQuestion || !substituted) {
				v = old.Profile[name]
			}
			if v != "" {
				a.Profile[name] = v
			}
		default:
			if v == "" && (isQuestion || !substituted) {
				v = old.CustomFields[to]
			}
			if v != "" {
				a.CustomFields[to] = v
			}
		}
	}
}

func setPerson(a *directory.Attendee, field, v string) {
	switch field {
	case "firstName":
		a.FirstName = v
	case "lastName":
		a.LastName = v
	case "company":
		a.Company = v
	case "title":
		a.Title = v
	}
}

// FromSubstitution applies a substitution: the same registration passes to a
// new person. The person (name, email, company, title, picture, person-level
// profile fields and contact custom fields) is replaced; status, access,
// groups, registration fields and question answers are kept.
func FromSubstitution(cfg *Config, integrationID string, item *cventpush.Substitution,
	existing *directory.Attendee, sourceTime time.Time) directory.Attendee {
	a := directory.Attendee{IntegrationID: integrationID, InviteeID: item.InviteeID()}
	if existing != nil {
		a = *existing
	}
	old := a
	sub := substitutionDoc(item)
	fromSub := func(platform string) string {
		name := cfg.PersonField(platform)
		if name == "" {
			return ""
		}
		if f, ok := LookupField(name); ok {
			return sub.get(f.Substitution)
		}
		return ""
	}
	a.ContactID = cventpush.NormaliseID(string(item.NewContactStub))
	a.FirstName = fromSub("firstName")
	a.LastName = fromSub("lastName")
	a.Email = fromSub("email")
	a.Company = fromSub("company")
	a.Title = fromSub("title")
	a.ProfileImageURL = "" // the picture was the previous person's
	a.Profile = map[string]string{}
	a.CustomFields = map[string]string{}
	a.SourceTime = sourceTime
	if cfg != nil {
		for name, cventField := range cfg.Profile {
			f, ok := LookupField(cventField)
			if !ok {
				continue
			}
			v := old.Profile[name]
			if f.Person {
				v = sub.get(f.Substitution)
			}
			if v != "" {
				a.Profile[name] = v
			}
		}
		applyCustomFields(cfg, &a, &old, nil, nil, true)
	}
	if existing == nil {
		// A substitution for a registration we never saw: the registration
		// exists in Cvent, but we do not know its status, so no access yet; the
		// next sync or poll fills it in.
		a.AccessGroups = []string{}
	}
	return a
}

// sources reads mapped fields: the webhook item first, then the REST record.
// A top-level field the typed item holds is read from it; the item is
// parsed as a document only for other paths, once.
type sources struct {
	attendee *cventpush.Attendee
	item     doc
	parsed   bool
	rest     doc
}

func (s *sources) field(name string) string {
	f, ok := LookupField(name)
	if !ok {
		return ""
	}
	if v, typed := typedField(s.attendee, f.Webhook); typed {
		if v != "" {
			return v
		}
	} else {
		if !s.parsed {
			s.item, s.parsed = itemDoc(s.attendee), true
		}
		if v := s.item.get(f.Webhook); v != "" {
			return v
		}
	}
	return s.rest.get(f.REST)
}

func (s *sources) person(cfg *Config, platform string) string {
	name := cfg.PersonField(platform)
	if name == "" {
		return ""
	}
	return s.field(name)
}

// itemDoc is the webhook item as Cvent sent it, or, for items built in code
// without Raw, their typed fields.
func itemDoc(item *cventpush.Attendee) doc {
	if len(bytes.TrimSpace(item.Raw)) > 0 {
		if d := parseDoc(item.Raw); d != nil {
			return d
		}
	}
	b, _ := json.Marshal(item)
	return parseDoc(b)
}

func substitutionDoc(item *cventpush.Substitution) doc {
	if len(bytes.TrimSpace(item.Raw)) > 0 {
		if d := parseDoc(item.Raw); d != nil {
			return d
		}
	}
	b, _ := json.Marshal(item)
	return parseDoc(b)
}

// FromSession builds the platform session for a session item, with the
// speakers it lists (a deleted session keeps its stored ones).
func FromSession(integrationID string, item *cventpush.Session, deleted bool, sourceTime time.Time) directory.Session {
	var speakers []string
	if !deleted {
		speakers = SessionSpeakerIDs(item)
	}
	return directory.Session{
		IntegrationID: integrationID,
		SessionID:     item.SessionID(),
		Name:          string(item.SessionName),
		Code:          string(item.SessionCode),
		Description:   string(item.SessionDescription),
		StartsAt:      item.SessionStartDateTime.Time,
		EndsAt:        item.SessionEndDateTime.Time,
		Timezone:      string(item.TimezoneName),
		SpeakerIDs:    speakers,
		Deleted:       deleted,
		SourceTime:    sourceTime,
	}
}

func keepIfEmpty(v *string, old string) {
	if *v == "" {
		*v = old
	}
}

func nonEmpty(vs []string) []string {
	out := vs[:0:0]
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
