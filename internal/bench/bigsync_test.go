package bench

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/cventsync/cventsync/internal/cventpush"
	"github.com/cventsync/cventsync/internal/directory"
)

func TestBigSyncBodyItems(t *testing.T) {
	const n = 2000
	g := NewBigSyncBody(n, 42)
	var total int
	lo, hi := 1<<30, 0
	var buf []byte
	for i := 0; i < n; i++ {
		buf = g.AppendItem(buf[:0], i)
		if !json.Valid(buf) {
			t.Fatalf("item %d is not valid JSON: %s", i, buf)
		}
		total += len(buf)
		lo, hi = min(lo, len(buf)), max(hi, len(buf))
	}
	if lo < 1600 || hi > 2000 {
		t.Errorf("item sizes %d–%d bytes, want within 1,600–2,000", lo, hi)
	}
	mean := total / n
	if mean < 1700 || mean > 1900 {
		t.Errorf("mean item size %d bytes, want about 1,800", mean)
	}
	t.Logf("item sizes %d–%d bytes, mean %d", lo, hi, mean)
	// The same item whenever it is generated.
	if a, b := g.AppendItem(nil, 7), g.AppendItem(nil, 7); !bytes.Equal(a, b) {
		t.Error("item 7 differs between two generations")
	}
}

func TestBigSyncBodyEnvelope(t *testing.T) {
	const n = 3000
	g := NewBigSyncBody(n, 7)
	body, err := io.ReadAll(g.Body())
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(body)) != g.Len() {
		t.Fatalf("declared length %d, produced %d bytes", g.Len(), len(body))
	}
	var c countingWriter
	if m, err := g.WriteTo(&c); err != nil || m != g.Len() || c.n != g.Len() {
		t.Fatalf("WriteTo wrote %d (counted %d), err %v; want %d", m, c.n, err, g.Len())
	}

	// The envelope as the gateway's streaming reader sees it: stub after the message.
	env, sum, err := cventpush.ScanEnvelope(bytes.NewReader(body), n)
	if err != nil {
		t.Fatal(err)
	}
	if string(env.EventType) != cventpush.AttendeeManualSynced || string(env.MessageStub) != g.MessageStub() || env.MessageTime.IsZero() {
		t.Errorf("envelope %+v, want AttendeeManualSynced with stub %s and a time", env, g.MessageStub())
	}
	if sum.Count != n || len(sum.InviteeIDs) != n {
		t.Errorf("%d items, %d distinct invitee ids; want %d of each", sum.Count, len(sum.InviteeIDs), n)
	}

	// Every item decodes as cventsync decodes it, with its id and status.
	var envelope struct{ Message []json.RawMessage }
	if err := json.Unmarshal(body, &envelope); err != nil {
		t.Fatal(err)
	}
	items, err := cventpush.Attendees(envelope.Message)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	statuses := map[string]int{}
	for i, a := range items {
		if string(a.InviteeStub) != g.InviteeID(i) || string(a.InviteeStatus) != g.Status(i) {
			t.Fatalf("item %d: id %s status %s, want %s %s", i, a.InviteeStub, a.InviteeStatus, g.InviteeID(i), g.Status(i))
		}
		if seen[a.InviteeID()] {
			t.Fatalf("item %d repeats invitee id %s", i, a.InviteeStub)
		}
		seen[a.InviteeID()] = true
		statuses[string(a.InviteeStatus)]++
		if a.Email == "" || a.FirstName == "" || a.RegistrationDate.IsZero() || a.UpdatedDate.IsZero() ||
			len(a.CustomFields) < 2 || a.EventForInvitee.EventTitle == "" || len(a.SessionStubList) == 0 {
			t.Fatalf("item %d lacks attendee fields: %s", i, envelope.Message[i])
		}
		if a.UpdatedDate.Before(a.RegistrationDate.Time) || a.UpdatedDate.After(env.MessageTime.Time) {
			t.Fatalf("item %d: updated %v, registered %v, message time %v", i, a.UpdatedDate, a.RegistrationDate, env.MessageTime)
		}
	}
	if got, want := statuses[directory.StatusAccepted], n*80/100; got != want {
		t.Errorf("%d Accepted of %d, want %d", got, n, want)
	}

	// Another seed, other ids.
	if h := NewBigSyncBody(1, 8); strings.EqualFold(h.InviteeID(0), g.InviteeID(0)) {
		t.Errorf("seeds 7 and 8 share invitee id %s", g.InviteeID(0))
	}
}

func TestBigSyncSizes(t *testing.T) {
	if s := sizeLabel(100000); s != "100,000 attendees" {
		t.Errorf("label %q", s)
	}
	small, large := bigSyncTargetsFor(10000), bigSyncTargetsFor(100000)
	if small.allAccess != 2 || small.rssMB != 150 || large.allAccess != 20 || large.rssMB != 300 || large.answer != 5 {
		t.Errorf("targets %+v %+v", small, large)
	}
}

func TestJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " and \ backslash`, "tab\tnew\nline\x01", "Nguyễn O'Brien & Zoë"} {
		var got string
		if err := json.Unmarshal(jsonString(nil, s), &got); err != nil || got != s {
			t.Errorf("jsonString(%q) decodes to %q, %v", s, got, err)
		}
	}
}
