package simulator

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Handler serves the REST API under /ea.
func (s *Simulator) Handler() http.Handler {
	mux := http.NewServeMux()
	route := func(pattern string, h func(w http.ResponseWriter, r *http.Request)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			s.calls[strings.Replace(pattern, " /ea/", " /", 1)]++
			s.mu.Unlock()
			h(w, r)
		})
	}
	route("POST /ea/oauth2/token", s.token)
	api := func(pattern string, h func(w http.ResponseWriter, r *http.Request)) {
		route(pattern, s.guard(h))
	}
	api("GET /ea/attendees", s.listAttendees)
	api("POST /ea/attendees/filter", s.listAttendees)
	api("GET /ea/attendees/{id}", s.getAttendee)
	api("GET /ea/events", s.listEvents)
	api("GET /ea/events/{id}", s.getEvent)
	api("GET /ea/contacts/{id}", s.getContact)
	api("PATCH /ea/contacts/{id}", s.patchContact)
	api("POST /ea/events/{id}/check-in", s.checkIn)
	api("DELETE /ea/events/{id}/check-in/{attendeeId}", s.deleteCheckIn)
	api("POST /ea/sessions/{id}/check-in", s.sessionCheckIn)
	api("GET /ea/sessions/attendance", s.attendanceList)
	api("GET /ea/events/{id}/registration-types", s.registrationTypes)
	api("GET /ea/custom-fields", s.customFieldList)
	api("GET /ea/event-questions", s.questionList)
	api("GET /ea/sessions", s.sessionList)
	api("GET /ea/sessions/enrollment", s.enrollmentList)
	api("GET /ea/usage/tier", s.usageTier)
	var h http.Handler = mux
	if s.cfg.OpenAPISpecPath != "" {
		v, err := loadValidator(s.cfg.OpenAPISpecPath)
		if err != nil {
			// Recorded, not fatal: the simulator still serves, and a test
			// that checks Violations sees why nothing was validated.
			s.mu.Lock()
			s.violations = append(s.violations, "openapi: "+err.Error())
			s.mu.Unlock()
		} else {
			s.validator = v
			h = s.validate(mux)
		}
	}
	// After-effect faults act on the answer the endpoint (and the spec
	// check) gave, so they wrap everything else.
	root := http.NewServeMux()
	root.Handle("/", s.afterEffects(mux, h))
	root.Handle("/_sim/", s.control())
	return root
}

// cventError writes Cvent's error body.
func cventError(w http.ResponseWriter, status int, message, target string) {
	body := map[string]any{"code": status, "message": message}
	if target != "" {
		body["target"] = target
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// guard applies authentication, faults and the tier's limits, as Cvent does
// before any endpoint runs.
func (s *Simulator) guard(h func(w http.ResponseWriter, r *http.Request)) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		f := s.faults
		token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		tok, ok := s.tokens[token]
		valid := ok && s.cfg.Now().Before(tok.expires)
		s.counters.Total++
		limited := ""
		switch {
		case !valid:
		case f.LimitExceeded:
			limited = "Limit Exceeded"
		case f.TooManyRequests > 0:
			s.faults.TooManyRequests--
			limited = "Too Many Requests"
		case s.cfg.Now().Before(s.stormUntil):
			limited = "Too Many Requests"
		default:
			limited = s.limits[tok.clientID].take()
		}
		switch limited {
		case "Too Many Requests":
			s.counters.TooManyRequests++
		case "Limit Exceeded":
			s.counters.LimitExceeded++
		}
		fail := valid && limited == "" && f.ErrorRate > 0 && s.rng.Float64() < f.ErrorRate
		failStatus := []int{500, 502, 503}[s.rng.IntN(3)]
		s.mu.Unlock()
		if f.Latency > 0 {
			time.Sleep(f.Latency)
		}
		switch {
		case !valid:
			cventError(w, http.StatusUnauthorized, "Unauthorized", "")
		case limited != "":
			cventError(w, http.StatusTooManyRequests, limited, "")
		case fail:
			cventError(w, failStatus, http.StatusText(failStatus), "")
		default:
			h(w, r.WithContext(context.WithValue(r.Context(), accountKey{}, tok.clientID)))
		}
	}
}

// accountKey carries the calling account's client id to the endpoints.
type accountKey struct{}

func (s *Simulator) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	if want, known := s.secrets[id]; !ok || !known || secret != want || r.PostForm.Get("client_id") != id {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	s.mu.Lock()
	tok := s.uuid()
	life := s.cfg.TokenTTL
	if l := s.faults.TokenLifetime; l > 0 && l < life {
		life = l
	}
	s.tokens[tok] = issued{clientID: id, expires: s.cfg.Now().Add(life)}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(s.cfg.TokenTTL / time.Second)})
}

// filter is the subset of Cvent's filter language cventsync uses:
// clauses "field eq 'value'" joined by "and" / "or".
type filter struct {
	any     [][]clause // OR of ANDs
	invalid string
}

type clause struct{ field, value string }

var clauseRE = regexp.MustCompile(`^\s*([A-Za-z.]+)\s+eq\s+['"]([^'"]*)['"]\s*$`)

func parseFilter(f string) filter {
	var out filter
	if strings.TrimSpace(f) == "" {
		return out
	}
	for _, alt := range strings.Split(f, " or ") {
		var and []clause
		for _, part := range strings.Split(alt, " and ") {
			m := clauseRE.FindStringSubmatch(part)
			if m == nil {
				out.invalid = part
				return out
			}
			and = append(and, clause{m[1], m[2]})
		}
		out.any = append(out.any, and)
	}
	return out
}

func (f filter) match(get func(field string) (string, bool)) bool {
	if len(f.any) == 0 {
		return true
	}
	for _, and := range f.any {
		ok := true
		for _, c := range and {
			v, known := get(c.field)
			if !known || !strings.EqualFold(v, c.value) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (s *Simulator) attendeeField(a *Attendee) func(string) (string, bool) {
	return func(field string) (string, bool) {
		switch field {
		case "id":
			return a.ID, true
		case "event.id":
			return s.event.ID, true
		case "status":
			return a.Status, true
		case "contact.id":
			return a.ContactID, true
		case "checkedIn":
			return strconv.FormatBool(a.CheckedIn), true
		case "primaryId":
			return a.PrimaryID, true
		}
		return "", false
	}
}

// listParams reads limit, token, filter and after, from the query or the
// POST .../filter body.
func listParams(r *http.Request) (limit int, token, filterText string, after time.Time, bad string) {
	q := r.URL.Query()
	limit = 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return 0, "", "", after, "limit must be from 1 to 200"
		}
		limit = n
	}
	token, filterText = q.Get("token"), q.Get("filter")
	if r.Method == http.MethodPost {
		var body struct {
			Filter string `json:"filter"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			return 0, "", "", after, "body must be {\"filter\": \"...\"}"
		}
		filterText = body.Filter
	}
	if v := q.Get("after"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return 0, "", "", after, "after must be an ISO 8601 time"
		}
		after = t
	}
	return limit, token, filterText, after, ""
}

// page answers one page of items for a listing identified by key.
func (s *Simulator) page(w http.ResponseWriter, r *http.Request, key string, limit int, token string, items []any) {
	s.mu.Lock()
	offset := 0
	if token != "" {
		cur, ok := s.pages[token]
		if !ok || cur.key != key {
			s.mu.Unlock()
			cventError(w, http.StatusBadRequest, "Invalid token", "token")
			return
		}
		offset = cur.offset
	}
	current := token
	if current == "" {
		current = s.uuid()
		s.pages[current] = pageCursor{key: key, offset: 0}
	}
	end := min(offset+limit, len(items))
	paging := map[string]any{"currentToken": current, "limit": limit, "totalCount": len(items),
		"_links": map[string]any{"self": map[string]string{"href": r.URL.Path}}}
	// Like Cvent, the last page may be empty: a next token is given whenever
	// the page was full.
	if end-offset == limit {
		next := s.uuid()
		if s.faults.RepeatPage {
			next, s.faults.RepeatPage = current, false
		} else {
			s.pages[next] = pageCursor{key: key, offset: end}
		}
		paging["nextToken"] = next
	}
	broken := s.faults.BreakResponses
	s.mu.Unlock()
	data := items[offset:end]
	if data == nil {
		data = []any{}
	}
	body := map[string]any{"paging": paging, "data": data}
	if broken {
		delete(body, "paging") // required by every paginated answer
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Simulator) attendeeJSON(a *Attendee, expand string) map[string]any {
	out := map[string]any{
		"id": a.ID, "event": map[string]any{"id": s.event.ID}, "confirmationNumber": a.ConfirmationNumber,
		"contact": nonEmpty(map[string]any{"id": a.ContactID, "firstName": a.FirstName, "lastName": a.LastName, "email": a.Email,
			"company": a.Company, "title": a.Title}),
		"status": a.Status, "registrationType": map[string]any{"id": regTypeID(a.RegistrationType), "name": a.RegistrationType},
		"guest": a.Guest, "checkedIn": a.CheckedIn, "registeredAt": a.RegisteredAt.UTC().Format(time.RFC3339),
		"created": a.RegisteredAt.UTC().Format(time.RFC3339), "lastModified": a.LastModified.UTC().Format(time.RFC3339Nano),
	}
	if a.PrimaryID != "" {
		out["primaryId"] = a.PrimaryID
	}
	if a.CheckedIn {
		out["checkIn"] = a.CheckInAt.UTC().Format(time.RFC3339)
	}
	if strings.Contains(expand, "answers") {
		var answers []map[string]any
		for _, q := range s.questions {
			if v, ok := a.Answers[q.ID]; ok {
				answers = append(answers, map[string]any{"question": map[string]any{"id": q.ID, "text": q.Text}, "value": []string{v}})
			}
		}
		out["answers"] = answers
	}
	if s.faults.BreakResponses {
		out["guest"] = "not a boolean"
	}
	return out
}

// nonEmpty drops empty strings: REST leaves unset fields out (several have
// minLength 1 in the spec), unlike webhooks, which send "".
func nonEmpty(m map[string]any) map[string]any {
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	return m
}

// expandOf reads expand both as Cvent declares it (repeated) and
// comma-joined, as some clients send it.
func expandOf(r *http.Request) string {
	return strings.Join(r.URL.Query()["expand"], ",")
}

func regTypeID(name string) string {
	return fmt.Sprintf("00000000-0000-4000-8000-%012x", len(name)*7919+int(name[0]))
}

func (s *Simulator) listAttendees(w http.ResponseWriter, r *http.Request) {
	limit, token, filterText, after, bad := listParams(r)
	if bad != "" {
		cventError(w, http.StatusBadRequest, bad, "")
		return
	}
	f := parseFilter(filterText)
	if f.invalid != "" {
		cventError(w, http.StatusBadRequest, "Unsupported filter: "+f.invalid, "filter")
		return
	}
	expand := expandOf(r)
	s.mu.Lock()
	ids := append([]string(nil), s.order...)
	sort.SliceStable(ids, func(i, j int) bool {
		return s.attendees[ids[i]].LastModified.Before(s.attendees[ids[j]].LastModified)
	})
	var items []any
	for _, id := range ids {
		a := s.attendees[id]
		if !after.IsZero() && !a.LastModified.After(after) {
			continue
		}
		if f.match(s.attendeeField(a)) {
			items = append(items, s.attendeeJSON(a, expand))
		}
	}
	s.mu.Unlock()
	key := r.Method + "attendees?" + filterText + "|" + after.String() + "|" + expand
	s.page(w, r, key, limit, token, items)
}

func (s *Simulator) getAttendee(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	a, ok := s.attendees[strings.ToLower(r.PathValue("id"))]
	var body map[string]any
	if ok {
		body = s.attendeeJSON(a, expandOf(r))
	}
	s.mu.Unlock()
	if !ok {
		cventError(w, http.StatusNotFound, "Attendee not found", "id")
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Simulator) getEvent(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.PathValue("id"), s.event.ID) {
		cventError(w, http.StatusNotFound, "Event not found", "id")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": s.event.ID, "title": s.event.Title, "code": s.event.Code,
		"format": "Virtual", "type": "Conference", "languages": []string{"en-US"},
		"planners": []map[string]any{{"firstName": "Pat", "lastName": "Planner", "email": "planner@contoso.example"}},
		"start":    "2026-05-25T18:00:00Z", "end": "2026-05-27T23:00:00Z", "timezone": "America/Chicago"})
}

func (s *Simulator) getContact(w http.ResponseWriter, r *http.Request) {
	c := s.Contact(r.PathValue("id"))
	if len(c) == 0 {
		cventError(w, http.StatusNotFound, "Contact not found", "id")
		return
	}
	writeJSON(w, http.StatusOK, nonEmpty(c))
}

// patchContact changes only the fields sent.
func (s *Simulator) patchContact(w http.ResponseWriter, r *http.Request) {
	var fields map[string]any
	if err := json.NewDecoder(r.Body).Decode(&fields); err != nil || len(fields) == 0 {
		cventError(w, http.StatusBadRequest, "Request body must be a JSON object of contact fields", "")
		return
	}
	id := strings.ToLower(r.PathValue("id"))
	s.mu.Lock()
	c, ok := s.contacts[id]
	if ok {
		s.effect(EndpointContactPatch, id)
		for k, v := range fields {
			if k != "id" {
				c[k] = v
			}
		}
		for _, a := range s.attendees {
			if a.ContactID == id {
				a.FirstName, _ = c["firstName"].(string)
				a.LastName, _ = c["lastName"].(string)
				a.Email, _ = c["email"].(string)
				a.Company, _ = c["company"].(string)
				a.Title, _ = c["title"].(string)
				a.LastModified = s.cfg.Now()
			}
		}
	}
	out := map[string]any{}
	for k, v := range c {
		out[k] = v
	}
	s.mu.Unlock()
	if !ok {
		cventError(w, http.StatusNotFound, "Contact not found", "id")
		return
	}
	writeJSON(w, http.StatusOK, nonEmpty(out))
}

type checkInItem struct {
	ID      string `json:"id"`
	CheckIn string `json:"checkIn"`
	Device  string `json:"device"`
}

// checkIn answers 207 with one status per item.
func (s *Simulator) checkIn(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.PathValue("id"), s.event.ID) {
		cventError(w, http.StatusNotFound, "Event not found", "id")
		return
	}
	var items []checkInItem
	if err := json.NewDecoder(r.Body).Decode(&items); err != nil || len(items) == 0 || len(items) > 100 {
		cventError(w, http.StatusBadRequest, "Body must be an array of 1 to 100 check-ins", "")
		return
	}
	s.mu.Lock()
	out := make([]map[string]any, len(items))
	for i, it := range items {
		a, ok := s.attendees[strings.ToLower(it.ID)]
		at, err := time.Parse(time.RFC3339Nano, it.CheckIn)
		switch {
		case !ok:
			out[i] = itemError(404, "Attendee not found", it.ID)
		case err != nil:
			out[i] = itemError(400, "checkIn must be a date-time", it.ID)
		default:
			a.CheckedIn, a.CheckInAt, a.LastModified = true, at, s.cfg.Now()
			s.effect(EndpointEventCheckIn, a.ID)
			out[i] = map[string]any{"status": 200, "data": map[string]any{"id": a.ID}}
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusMultiStatus, out)
}

// itemError is a failed item of a 207 answer. Cvent's schema makes data a
// oneOf of {id} and an error object that {id} also matches, so an error in
// data could never validate; the message goes in the item's own field.
func itemError(status int, message, id string) map[string]any {
	return map[string]any{"status": status, "message": message, "data": map[string]any{"id": strings.ToLower(id)}}
}

func (s *Simulator) deleteCheckIn(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	a, ok := s.attendees[strings.ToLower(r.PathValue("attendeeId"))]
	if ok {
		a.CheckedIn, a.LastModified = false, s.cfg.Now()
	}
	s.mu.Unlock()
	if !ok {
		cventError(w, http.StatusNotFound, "Attendee not found", "attendeeId")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Simulator) sessionCheckIn(w http.ResponseWriter, r *http.Request) {
	var items []checkInItem
	if err := json.NewDecoder(r.Body).Decode(&items); err != nil || len(items) == 0 || len(items) > 100 {
		cventError(w, http.StatusBadRequest, "Body must be an array of 1 to 100 check-ins", "")
		return
	}
	session := strings.ToLower(r.PathValue("id"))
	s.mu.Lock()
	out := make([]map[string]any, len(items))
	for i, it := range items {
		if _, ok := s.attendees[strings.ToLower(it.ID)]; !ok {
			out[i] = itemError(404, "Attendee not found", it.ID)
			continue
		}
		key := session + "/" + strings.ToLower(it.ID)
		s.effect(EndpointSessionCheckIn, key)
		if at, err := time.Parse(time.RFC3339Nano, it.CheckIn); err == nil {
			s.attendance[key] = at
		}
		out[i] = map[string]any{"status": 200, "data": map[string]any{"id": strings.ToLower(it.ID)}}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusMultiStatus, out)
}

// attendanceList is GET /sessions/attendance: one record per session
// check-in, filterable by session.id, attendee.id and event.id.
func (s *Simulator) attendanceList(w http.ResponseWriter, r *http.Request) {
	limit, token, filterText, _, bad := listParams(r)
	if bad != "" {
		cventError(w, http.StatusBadRequest, bad, "")
		return
	}
	f := parseFilter(filterText)
	if f.invalid != "" {
		cventError(w, http.StatusBadRequest, "Unsupported filter: "+f.invalid, "filter")
		return
	}
	s.mu.Lock()
	keys := make([]string, 0, len(s.attendance))
	for k := range s.attendance {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var items []any
	for _, k := range keys {
		session, attendee, _ := strings.Cut(k, "/")
		get := func(field string) (string, bool) {
			switch field {
			case "session.id":
				return session, true
			case "attendee.id":
				return attendee, true
			case "event.id":
				return s.event.ID, true
			case "id":
				return session + "::" + attendee, true
			}
			return "", false
		}
		if f.match(get) {
			items = append(items, map[string]any{"id": session + "::" + attendee, "session": map[string]any{"id": session},
				"event": map[string]any{"id": s.event.ID}, "attendee": map[string]any{"id": attendee},
				"deleted": false, "checkIn": s.attendance[k].UTC().Format(time.RFC3339)})
		}
	}
	s.mu.Unlock()
	s.page(w, r, "attendance?"+filterText, limit, token, items)
}

func (s *Simulator) simpleList(w http.ResponseWriter, r *http.Request, key string, items []any) {
	limit, token, _, _, bad := listParams(r)
	if bad != "" {
		cventError(w, http.StatusBadRequest, bad, "")
		return
	}
	s.page(w, r, key, limit, token, items)
}

func (s *Simulator) registrationTypes(w http.ResponseWriter, r *http.Request) {
	var items []any
	for _, name := range s.regTypes {
		items = append(items, map[string]any{"id": regTypeID(name), "name": name, "openForRegistration": true,
			"code": strings.ToUpper(strings.ReplaceAll(name, " ", "")), "virtual": false, "event": map[string]any{"id": s.event.ID}})
	}
	s.simpleList(w, r, "regtypes", items)
}

func (s *Simulator) customFieldList(w http.ResponseWriter, r *http.Request) {
	f := r.URL.Query().Get("filter")
	if !strings.Contains(f, "category eq") {
		cventError(w, http.StatusBadRequest, "The filter must include category", "filter")
		return
	}
	var items []any
	if strings.Contains(strings.ToLower(f), "'contact'") {
		for _, c := range s.customFields {
			items = append(items, map[string]any{"id": c.ID, "name": c.Name, "code": strings.ToUpper(strings.ReplaceAll(c.Name, " ", "_")), "category": "Contact", "type": "Open Ended Text - One Line"})
		}
	}
	s.simpleList(w, r, "customfields"+f, items)
}

func (s *Simulator) questionList(w http.ResponseWriter, r *http.Request) {
	var items []any
	for _, q := range s.questions {
		items = append(items, map[string]any{"id": q.ID, "text": q.Text, "event": map[string]any{"id": s.event.ID}})
	}
	s.simpleList(w, r, "questions", items)
}

func (s *Simulator) sessionList(w http.ResponseWriter, r *http.Request) {
	var items []any
	s.mu.Lock()
	for _, se := range s.sessions {
		items = append(items, map[string]any{"id": se.ID, "title": se.Name, "code": se.Code, "description": se.Description,
			"start": se.Start.Format(time.RFC3339), "end": se.End.Format(time.RFC3339), "event": map[string]any{"id": s.event.ID},
			"status": "Active", "lastModified": se.LastModified.UTC().Format(time.RFC3339)})
	}
	s.mu.Unlock()
	s.simpleList(w, r, "sessions", items)
}

func (s *Simulator) enrollmentList(w http.ResponseWriter, r *http.Request) {
	var items []any
	s.mu.Lock()
	for _, id := range s.order {
		for _, sid := range s.attendees[id].Sessions {
			items = append(items, map[string]any{"attendee": map[string]any{"id": id}, "session": map[string]any{"id": sid}})
		}
	}
	s.mu.Unlock()
	s.simpleList(w, r, "enrollment", items)
}

func (s *Simulator) usageTier(w http.ResponseWriter, r *http.Request) {
	id, _ := r.Context().Value(accountKey{}).(string)
	s.mu.Lock()
	t := s.limits[id].tier
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"name": "API_Platform_" + t.Name + "_Tier", "quota": t.PerDay,
		"burstLimit": t.Burst, "rateLimit": t.PerSecond})
}
