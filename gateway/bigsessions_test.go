package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"

	"github.com/cventsync/cventsync/internal/store"
	"github.com/cventsync/cventsync/internal/testenv"
)

// agendaSpeaker and agendaSession are what a generated sync says, as
// cventsync should store it (lower-case ids, UTC times).
type agendaSpeaker struct {
	id, first, last, title, company, bio string
}

type agendaSession struct {
	id, name, code, description, timezone string
	startsAt, endsAt                      time.Time
	speakers                              []string // in the item's order
}

// writeObject writes an object with its keys in the given order: Cvent's
// key order varies from item to item.
func writeObject(b *bytes.Buffer, keys []string, vals map[string]any) {
	b.WriteByte('{')
	first := true
	for _, k := range keys {
		v, ok := vals[k]
		if !ok {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(v)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
}

// rotated is keys starting at the i-th.
func rotated(keys []string, i int) []string {
	i %= len(keys)
	return append(slices.Clone(keys[i:]), keys[:i]...)
}

// speakerSync builds a manual speaker sync of n speakers shaped like Cvent's
// speaker items (FACTS.md: URLs without a scheme, presenterAt left empty:
// the sessions name their speakers).
func speakerSync(stub string, at time.Time, n int) ([]byte, []agendaSpeaker) {
	keys := []string{"speakerStub", "speakerFirstName", "speakerLastName", "speakerDisplayName", "speakerTitle", "speakerCompany",
		"speakerEmail", "speakerBiography", "linkedInUrl", "twitterUrl", "facebookUrl", "updatedDate", "presenterAt"}
	speakers := make([]agendaSpeaker, n)
	var b bytes.Buffer
	b.WriteString(`{"eventType":"SpeakerManualSynced","messageStub":"` + stub + `","messageTime":"` + at.Format("2006-01-02T15:04:05.000Z") + `","message":[`)
	for i := range speakers {
		sp := agendaSpeaker{id: uuid.NewString(), first: fmt.Sprintf("Ada%d", i), last: fmt.Sprintf("Lovelace-%d", i),
			title: "Principal Engineer", company: fmt.Sprintf("Analytical Engines %d Ltd", i%40),
			bio: fmt.Sprintf("Speaker %d has spent twenty years building distributed systems for events of every size. ", i) +
				"She talks about registration at scale, badge printing and the occasional network outage on the show floor."}
		speakers[i] = sp
		if i > 0 {
			b.WriteByte(',')
		}
		writeObject(&b, rotated(keys, i), map[string]any{
			"speakerStub": strings.ToUpper(sp.id), "speakerFirstName": sp.first, "speakerLastName": sp.last,
			"speakerDisplayName": sp.first + " " + sp.last, "speakerTitle": sp.title, "speakerCompany": sp.company,
			"speakerEmail": fmt.Sprintf("speaker%d@example.com", i), "speakerBiography": sp.bio,
			"linkedInUrl": fmt.Sprintf("www.linkedin.com/in/speaker-%d", i), "twitterUrl": "", "facebookUrl": "",
			"updatedDate": "2026-02-27", "presenterAt": []string{},
		})
	}
	b.WriteString(`]}`)
	return b.Bytes(), speakers
}

// sessionSync builds a SessionManualSynced of n sessions shaped like Cvent's
// (FACTS.md, samples/session_created.json): upper-case stubs, the three time
// formats, statusName, included as a bool, a string or 1, descriptions that
// are sometimes "", zero to three speakers with speakerCategory parallel,
// shorter or missing, and the keys in a different order from item to item.
// The stub comes after the message.
func sessionSync(stub string, at time.Time, n int, speakers []agendaSpeaker) ([]byte, []agendaSession) {
	keys := []string{"sessionStub", "sessionName", "sessionCode", "sessionDescription", "sessionStartDateTime", "sessionEndDateTime",
		"timezoneName", "updatedDate", "statusName", "included", "speakers", "speakerCategory"}
	timeFormats := []string{"2006-01-02T15:04:05", "2006-01-02T15:04:05Z", "2006-01-02 15:04:05.0"}
	tracks := []string{"Platform", "Data", "Security", "Design", "Leadership"}
	categories := []string{"Presenter", "Moderator", "Panelist"}
	day := time.Date(2026, 5, 25, 8, 0, 0, 0, time.UTC)
	sessions := make([]agendaSession, n)
	var b bytes.Buffer
	b.WriteString(`{"messageTime":"` + at.Format("2006-01-02T15:04:05.000Z") + `","eventType":"SessionManualSynced","message":[`)
	for i := range sessions {
		track := tracks[i%len(tracks)]
		ses := agendaSession{id: uuid.NewString(), name: fmt.Sprintf("%s track, session %d: lessons from the show floor", track, i),
			code: fmt.Sprintf("%s-%04d", strings.ToUpper(track[:3]), i), timezone: []string{"Central Time", "Eastern Time", "GMT"}[i%3],
			startsAt: day.Add(time.Duration(i%3)*24*time.Hour + time.Duration(i%20)*30*time.Minute)}
		ses.endsAt = ses.startsAt.Add(45 * time.Minute)
		if i%10 != 0 { // empty values arrive as ""
			ses.description = fmt.Sprintf("<p>Session %d of the %s track.</p><p>How organisers of large conferences keep "+
				"registration, badges and the session catalogue in step with their event platform while thousands of "+
				"attendees change their plans at once. Bring your questions; the slides are shared afterwards.</p>", i, track)
		}
		var cats []string
		for k := range i % 4 {
			ses.speakers = append(ses.speakers, speakers[(i*7+k*131)%len(speakers)].id)
			cats = append(cats, categories[k])
		}
		sessions[i] = ses
		format := timeFormats[i%len(timeFormats)]
		stubs := make([]string, len(ses.speakers))
		for k, id := range ses.speakers {
			stubs[k] = strings.ToUpper(id)
		}
		vals := map[string]any{
			"sessionStub": strings.ToUpper(ses.id), "sessionName": ses.name, "sessionCode": ses.code,
			"sessionDescription": ses.description, "sessionStartDateTime": ses.startsAt.Format(format),
			"sessionEndDateTime": ses.endsAt.Format(format), "timezoneName": ses.timezone,
			"updatedDate": "2026-03-01T09:30:00.000Z", "statusName": "Active",
			"included": []any{true, "true", 1}[i%3], "speakers": stubs, "speakerCategory": cats,
		}
		switch i % 5 {
		case 0:
			delete(vals, "speakerCategory")
		case 1:
			if len(cats) > 1 {
				vals["speakerCategory"] = cats[:1]
			}
		}
		if i > 0 {
			b.WriteByte(',')
		}
		writeObject(&b, rotated(keys, i), vals)
	}
	b.WriteString(`],"messageStub":"` + stub + `"}`)
	return b.Bytes(), sessions
}

// failSessionOnce makes the first write of one session fail with a
// transient error (a serialization failure), as a database failover in the
// middle of a chunk would: the apply activity fails and is retried.
func failSessionOnce(t *testing.T, st *store.Store, sessionID string) {
	t.Helper()
	for _, q := range []string{
		`CREATE SEQUENCE test_session_faults`,
		`CREATE FUNCTION test_fail_session_once() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.session_id = '` + sessionID + `' THEN
				IF nextval('test_session_faults') = 1 THEN
					RAISE EXCEPTION 'test: session write failed once' USING ERRCODE = '40001';
				END IF;
			END IF;
			RETURN NEW;
		END $$`,
		`CREATE TRIGGER test_fail_session_once BEFORE INSERT OR UPDATE ON sessions
			FOR EACH ROW EXECUTE FUNCTION test_fail_session_once()`,
	} {
		if _, err := st.DB().Exec(q); err != nil {
			t.Fatalf("install the fault: %v", err)
		}
	}
}

type storedSession struct {
	ID          string         `db:"session_id"`
	Name        string         `db:"name"`
	Code        string         `db:"code"`
	Description string         `db:"description"`
	StartsAt    *time.Time     `db:"starts_at"`
	EndsAt      *time.Time     `db:"ends_at"`
	Timezone    string         `db:"timezone"`
	Deleted     bool           `db:"deleted"`
	SpeakerIDs  pq.StringArray `db:"speaker_ids"`
	UpdatedAt   time.Time      `db:"updated_at"`
}

func (s *stack) storedSessions(in integration) map[string]storedSession {
	s.t.Helper()
	var rows []storedSession
	if err := s.store.DB().Select(&rows, `SELECT session_id, name, code, description, starts_at, ends_at, timezone, deleted,
		speaker_ids, updated_at FROM sessions WHERE integration_id = $1`, in.ID); err != nil {
		s.t.Fatal(err)
	}
	out := make(map[string]storedSession, len(rows))
	for _, r := range rows {
		out[r.ID] = r
	}
	return out
}

type sessionChange struct {
	Seq    int64  `db:"seq"`
	Type   string `db:"type"`
	Key    string `db:"key"`
	Record []byte `db:"record"`
}

func (s *stack) sessionChanges(in integration) []sessionChange {
	s.t.Helper()
	var out []sessionChange
	if err := s.store.DB().Select(&out, `SELECT seq, type, key, record FROM changes
		WHERE integration_id = $1 AND key LIKE 'session:%' ORDER BY seq`, in.ID); err != nil {
		s.t.Fatal(err)
	}
	return out
}

// A SessionManualSynced of 2,000 sessions and their speakers in one POST
// (1.5 MB) is streamed to PostgreSQL and applied by its own workflow in
// chunks: every session is stored with its speakers, each reaches the
// change log once, a chunk that fails half-way is retried without writing
// anything twice, nothing of the body enters workflow history, and a replay
// of the whole sync changes nothing.
func TestSessionManualSyncOfTwoThousandSessions(t *testing.T) {
	s := newStack(t, stackOptions{})
	in := s.createIntegration(newIntegration)
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)

	spBody, speakers := speakerSync("speakers-"+uuid.NewString(), at, 1200)
	began := time.Now()
	s.deliver(in, spBody)
	t.Logf("%d speakers, %d bytes: applied in %v", len(speakers), len(spBody), time.Since(began).Round(time.Millisecond))

	const total = 2000
	stub := "sessions-" + uuid.NewString()
	body, sessions := sessionSync(stub, at, total, speakers)
	if len(body) <= 1<<20 {
		t.Fatalf("body of %d bytes would not be streamed", len(body))
	}
	// The first write of a session in the second chunk fails once.
	failSessionOnce(t, s.store, sessions[1500].id)

	began = time.Now()
	ans := s.post(in, in.WebhookToken, body, http.StatusOK)
	answered := time.Since(began)
	wantWorkflow := "delivery/" + in.ID + "/" + stub
	if ans.Status != "accepted" || ans.WorkflowID != wantWorkflow {
		t.Fatalf("answer: %+v, want accepted by %s", ans, wantWorkflow)
	}
	d := s.waitDelivery(ans.DeliveryID, 60*time.Second)
	t.Logf("%d sessions, %d bytes: answered in %v, applied in %v", total, len(body), answered.Round(time.Millisecond),
		time.Since(began).Round(time.Millisecond))
	if d.Status != store.DeliveryProcessed || d.BodyChunks < 1 || d.BodySize != int64(len(body)) || len(d.Body) != 0 ||
		d.ItemCount != total || d.AppliedItems != total || !d.Large {
		t.Fatalf("streamed delivery: status %s (%q), %d chunks, size %d (want %d), inline %d, items %d, applied %d, large %v",
			d.Status, d.Error, d.BodyChunks, d.BodySize, len(body), len(d.Body), d.ItemCount, d.AppliedItems, d.Large)
	}
	var faults int64
	_ = s.store.DB().Get(&faults, `SELECT last_value FROM test_session_faults`)
	if faults < 2 {
		t.Fatalf("the fault fired %d times: the retry was not tested", faults)
	}

	// Every session as sent, with its speakers in the item's order.
	stored := s.storedSessions(in)
	if len(stored) != total {
		t.Errorf("%d sessions stored, want %d", len(stored), total)
	}
	bad := 0
	for _, want := range sessions {
		got, ok := stored[want.id]
		wantSpeakers := want.speakers
		if wantSpeakers == nil {
			wantSpeakers = []string{}
		}
		if !ok || got.Name != want.name || got.Code != want.code || got.Description != want.description ||
			got.Timezone != want.timezone || got.Deleted || got.StartsAt == nil || !got.StartsAt.Equal(want.startsAt) ||
			got.EndsAt == nil || !got.EndsAt.Equal(want.endsAt) || !slices.Equal([]string(got.SpeakerIDs), wantSpeakers) {
			if bad++; bad <= 3 {
				t.Errorf("session %s: stored %+v, want %+v", want.id, got, want)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d sessions stored wrong", bad, total)
	}

	// Every speaker, with the sessions that list it.
	wantSessions := map[string][]string{}
	for _, ses := range sessions {
		for _, sp := range ses.speakers {
			wantSessions[sp] = append(wantSessions[sp], ses.id)
		}
	}
	var listed struct {
		Speakers []struct {
			SpeakerID   string   `json:"speakerId"`
			FirstName   string   `json:"firstName"`
			LastName    string   `json:"lastName"`
			Company     string   `json:"company"`
			Biography   string   `json:"biography"`
			SessionIDs  []string `json:"sessionIds"`
			DisplayName string   `json:"displayName"`
		}
	}
	s.admin(http.MethodGet, "/api/v1/integrations/"+in.ID+"/speakers", "", http.StatusOK, &listed)
	bySpeaker := map[string]int{}
	for i, sp := range listed.Speakers {
		bySpeaker[sp.SpeakerID] = i
	}
	bad = 0
	for _, want := range speakers {
		i, ok := bySpeaker[want.id]
		ids := wantSessions[want.id]
		sort.Strings(ids)
		if ids == nil {
			ids = []string{}
		}
		if !ok || listed.Speakers[i].FirstName != want.first || listed.Speakers[i].LastName != want.last ||
			listed.Speakers[i].Company != want.company || listed.Speakers[i].Biography != want.bio ||
			!slices.Equal(listed.Speakers[i].SessionIDs, ids) {
			if bad++; bad <= 3 {
				t.Errorf("speaker %s: listed %v, want %+v presenting %v", want.id, ok, want, ids)
				if ok {
					t.Logf("listed: %+v", listed.Speakers[i])
				}
			}
		}
	}
	if bad > 0 || len(listed.Speakers) != len(speakers) {
		t.Errorf("%d of %d speakers listed wrong; %d listed", bad, len(speakers), len(listed.Speakers))
	}

	// Each session reaches the change log once, created with its speakers.
	changes := s.sessionChanges(in)
	perKey := map[string]int{}
	for _, c := range changes {
		perKey[c.Key]++
	}
	if len(changes) != total || len(perKey) != total {
		types := map[string]int{}
		for _, c := range changes {
			types[c.Type]++
		}
		t.Errorf("%d session changes for %d sessions (%v), want one session.created each for %d", len(changes), len(perKey), types, total)
	}
	bad = 0
	first := map[string]sessionChange{}
	for _, c := range changes {
		if _, ok := first[c.Key]; !ok {
			first[c.Key] = c
		}
	}
	for _, want := range sessions {
		c, ok := first["session:"+want.id]
		var rec struct {
			Name       string   `json:"name"`
			SpeakerIDs []string `json:"speakerIds"`
		}
		if ok {
			_ = json.Unmarshal(c.Record, &rec)
		}
		wantSpeakers := want.speakers
		if wantSpeakers == nil {
			wantSpeakers = []string{}
		}
		if !ok || c.Type != store.ChangeSessionCreated || rec.Name != want.name || !slices.Equal(rec.SpeakerIDs, wantSpeakers) {
			if bad++; bad <= 3 {
				t.Errorf("session %s: first change %s %s, want session.created with speakers %v", want.id, c.Type, c.Record, wantSpeakers)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d sessions' first change is wrong", bad, total)
	}

	// Nothing about the body in the workflow's history: ids and counts only.
	c, err := client.Dial(client.Options{HostPort: testenv.TemporalAddress(t), Logger: quietSDKLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	history := rawHistory(t, c, d.WorkflowID, "")
	attempts := int32(0)
	for _, ev := range history.Events {
		if ev.GetEventType() == enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED {
			attempts = max(attempts, ev.GetActivityTaskStartedEventAttributes().GetAttempt())
		}
	}
	if attempts < 2 {
		t.Errorf("the apply ran %d time(s): the failed chunk was not retried by Temporal", attempts)
	}
	hb, _ := proto.Marshal(history)
	if len(hb) > 16<<10 {
		t.Errorf("the workflow history is %d bytes for a %d-byte body", len(hb), len(body))
	}
	for _, needle := range []string{strings.ToUpper(sessions[0].id), sessions[0].id, sessions[1999].name, speakers[0].id} {
		if bytes.Contains(hb, []byte(needle)) {
			t.Errorf("the workflow history holds %q from the body", needle)
		}
	}

	// Applying every chunk again (a replay) changes nothing: no session's
	// updated time moves, no change is logged again.
	var lastSeq int64
	_ = s.store.DB().Get(&lastSeq, `SELECT COALESCE(max(seq), 0) FROM changes WHERE integration_id = $1`, in.ID)
	replayed := time.Now()
	s.admin(http.MethodPost, "/api/v1/deliveries/"+itoa(d.ID)+"/replay", "", http.StatusAccepted, nil)
	again := s.waitDelivery(d.ID, 60*time.Second)
	t.Logf("replayed in %v", time.Since(replayed).Round(time.Millisecond))
	if again.Status != store.DeliveryProcessed || again.ApplyCount != d.ApplyCount+1 {
		t.Fatalf("replay: status %s (%q), applied %d times (was %d)", again.Status, again.Error, again.ApplyCount, d.ApplyCount)
	}
	moved := 0
	for id, ses := range s.storedSessions(in) {
		if before := stored[id]; !ses.UpdatedAt.Equal(before.UpdatedAt) || !slices.Equal(ses.SpeakerIDs, before.SpeakerIDs) {
			moved++
		}
	}
	var logged int
	_ = s.store.DB().Get(&logged, `SELECT count(*) FROM changes WHERE integration_id = $1 AND seq > $2`, in.ID, lastSeq)
	if moved != 0 || logged != 0 {
		t.Errorf("the replay moved %d sessions and logged %d changes; want none", moved, logged)
	}
}
