package pns

import (
	"encoding/json"
	"testing"
	"time"
)

func TestDecodeIsLenient(t *testing.T) {
	at := time.Date(2026, 11, 3, 14, 5, 6, 0, time.UTC)
	tests := []struct {
		name, body             string
		typ, rfp, supplier, id string
		time                   time.Time
	}{
		{"camelCase", `{"eventType":"RFP_SEND","rfpId":"R1","supplierId":"S1","notificationId":"N1","eventDateTime":"2026-11-03T14:05:06.000Z"}`,
			"RFP_SEND", "R1", "S1", "N1", at},
		{"snake_case and lower type", `{"event_type":"rfp_send","rfp_id":"R1","supplier_id":"S1","timestamp":"2026-11-03T14:05:06Z"}`,
			"RFP_SEND", "R1", "S1", "", at},
		{"nested objects", `{"type":"PLANNER_AWARD_SUPPLIER","rfp":{"id":"R2"},"supplier":{"id":"S2"},"dateTime":"2026-11-03T14:05:06"}`,
			"PLANNER_AWARD_SUPPLIER", "R2", "S2", "", at},
		{"envelope", `{"id":"N9","data":{"eventType":"RESPONSE_SUBMIT_PROPOSAL","rfpStub":"R3","supplierId":7}}`,
			"RESPONSE_SUBMIT_PROPOSAL", "R3", "7", "N9", time.Time{}},
		{"epoch millis", `{"eventType":"RFP_VIEWED","rfpId":"R4","eventTime":1793714706000}`,
			"RFP_VIEWED", "R4", "", "", time.UnixMilli(1793714706000).UTC()},
		{"nothing known", `{"hello":"world"}`, "", "", "", "", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Decode([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if n.Type != tt.typ || n.RFPID != tt.rfp || n.SupplierID != tt.supplier || n.ID != tt.id || !n.Time.Equal(tt.time) {
				t.Errorf("got %+v", n)
			}
		})
	}
	for _, bad := range []string{``, `[]`, `"x"`, `{`, `null`} {
		if _, err := Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%q): no error", bad)
		}
	}
}

func TestDecodeExtraFields(t *testing.T) {
	n, _ := Decode([]byte(`{"eventType":"RESPONSE_ADD_ATTACHMENT","rfpId":"R","supplierId":"S","attachmentIds":["a",2],
		"reason":"too small","forwarderInfo":{"supplierId":"F"},"messageDetails":{"text":"hi"}}`))
	if len(n.AttachmentIDs) != 2 || n.AttachmentIDs[1] != "2" || n.Reason != "too small" ||
		string(n.ForwarderInfo) != `{"supplierId":"F"}` || string(n.MessageDetails) != `{"text":"hi"}` {
		t.Errorf("got %+v", n)
	}
	n, _ = Decode([]byte("{\"eventType\":\"RFP_SEND\",\"rfpId\":\"R\\u0000x\"}"))
	if n.RFPID != "Rx" {
		t.Errorf("NUL kept: %q", n.RFPID)
	}
}

func TestIdempotencyKey(t *testing.T) {
	a := []byte(`{"eventType":"RFP_SEND","rfpId":"R1","supplierId":"S1","eventDateTime":"2026-11-03T14:05:06Z"}`)
	b := []byte(`{ "supplierId": "S1", "rfpId": "R1", "eventType": "RFP_SEND", "eventDateTime": "2026-11-03T14:05:06.000Z" }`)
	c := []byte(`{"eventType":"RFP_SEND","rfpId":"R1","supplierId":"S1","eventDateTime":"2026-11-03T14:05:07Z"}`)
	key := func(body []byte) string { n, _ := Decode(body); return IdempotencyKey(n, body) }
	if key(a) != key(b) {
		t.Error("a re-serialized retry is not a duplicate")
	}
	if key(a) == key(c) {
		t.Error("a later notification of the same type is a duplicate")
	}
	// Without a time, the body decides.
	d := []byte(`{"eventType":"RFP_VIEWED","rfpId":"R1"}`)
	e := []byte(`{"eventType":"RFP_VIEWED","rfpId":"R1","x":1}`)
	if key(d) == key(e) || key(d) != key(append([]byte(" "), d...)) {
		t.Error("body hash key wrong")
	}
}

func TestTriggersPull(t *testing.T) {
	for typ, want := range map[string]bool{RFPSend: true, PlannerCancel: true, "UPDATE_PROPOSAL_PACKAGES": true,
		"MESSAGE_PLANNER_TO_SUPPLIER": true, VenueVisibilityChanged: false, "SOMETHING_NEW": false, "": false} {
		if TriggersPull(typ) != want {
			t.Errorf("TriggersPull(%q) = %v", typ, !want)
		}
	}
}

func snap(rfpStatus string, responses ...string) Snapshot {
	s := Snapshot{RFP: RemoteRFP{ID: "R", Status: rfpStatus, Event: json.RawMessage(`{"name":"Summit"}`)}}
	for i := 0; i+1 < len(responses); i += 2 {
		s.Responses = append(s.Responses, Response{SupplierID: responses[i], Status: responses[i+1]})
	}
	return s
}

func TestStateOfAndClosed(t *testing.T) {
	tests := []struct {
		name                                  string
		snap                                  Snapshot
		status                                string
		awarded, elsewhere, cancelled, closed bool
	}{
		{"new", snap("ACTIVE", "S1", "AWAITING_PROPOSAL"), "AWAITING_PROPOSAL", false, false, false, false},
		{"proposal", snap("ACTIVE", "S1", "SUBMITTED_PROPOSAL"), "SUBMITTED_PROPOSAL", false, false, false, false},
		{"awarded to us", snap("AWARDED", "S1", "AWARDED"), "AWARDED", true, false, false, false},
		{"awarded elsewhere", snap("AWARDED", "S1", "SUBMITTED_PROPOSAL"), "SUBMITTED_PROPOSAL", false, true, false, true},
		{"cancelled", snap("CANCELLED", "S1", "SUBMITTED_PROPOSAL"), "SUBMITTED_PROPOSAL", false, false, true, true},
		{"cancelled for us", snap("ACTIVE", "S1", "CANCELLED"), "CANCELLED", false, false, true, true},
		{"turned down", snap("ACTIVE", "S1", "TURNED_DOWN"), "TURNED_DOWN", false, false, false, true},
		{"one of two turned down", snap("ACTIVE", "S1", "TURNED_DOWN", "S2", "AWAITING_PROPOSAL"), "TURNED_DOWN", false, false, false, false},
		{"second supplier awarded", snap("AWARDED", "S1", "DECLINED", "S2", "AWARDED"), "AWARDED", true, false, false, false},
		{"lower case", snap("active", "S1", "submitted_proposal"), "SUBMITTED_PROPOSAL", false, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := StateOf(tt.snap)
			if st.SupplierStatus != tt.status || st.Awarded != tt.awarded || st.AwardedElsewhere != tt.elsewhere ||
				st.Cancelled != tt.cancelled || st.Closed != tt.closed {
				t.Errorf("got %+v", st)
			}
		})
	}
}

func TestChangeOf(t *testing.T) {
	st := func(s Snapshot) State { return StateOf(s) }
	p := func(s State) *State { return &s }
	open := st(snap("ACTIVE", "S1", "AWAITING_PROPOSAL"))
	proposed := st(snap("ACTIVE", "S1", "SUBMITTED_PROPOSAL"))
	awarded := st(snap("AWARDED", "S1", "AWARDED"))
	tests := []struct {
		name    string
		old     *State
		new     State
		want    string
		changed []string
	}{
		{"first pull", nil, open, ChangeReceived, nil},
		{"nothing changed", p(open), open, "", nil},
		{"proposal", p(open), proposed, ChangeUpdated, []string{"supplierStatus", "responses"}},
		{"award", p(proposed), awarded, ChangeAwarded, nil},
		{"award retracted", p(awarded), proposed, ChangeAwardRetracted, nil},
		{"cancel", p(proposed), st(snap("CANCELLED", "S1", "SUBMITTED_PROPOSAL")), ChangeCancelled, []string{"status", "cancelled", "closed"}},
		{"declined", p(proposed), st(snap("ACTIVE", "S1", "DECLINED")), ChangeDeclined, nil},
		{"awarded elsewhere", p(proposed), st(snap("AWARDED", "S1", "SUBMITTED_PROPOSAL")), ChangeClosed, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, diff := ChangeOf(tt.old, tt.new)
			if got != tt.want {
				t.Errorf("change %q, want %q (diff %v)", got, tt.want, diff)
			}
			for _, f := range tt.changed {
				if _, ok := diff[f]; !ok {
					t.Errorf("field %s not in diff %v", f, diff)
				}
			}
		})
	}
}
