package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/cventsync/cventsync/internal/simulator"
	"github.com/cventsync/cventsync/internal/store"
)

// PNSTarget is the cventsync a PNS burst is sent to.
type PNSTarget struct {
	BaseURL    string
	AdminToken string
	HTTP       *http.Client
	Store      *store.Store
}

// PNSBurstOptions shape one PNS burst.
type PNSBurstOptions struct {
	RFPs          int    // default 200
	Notifications int    // per RFP, at least 2; default 5
	Tier          string // the simulator's limit: "" (none), "Free", "Standard", "Premium"
	Seed          uint64
	Timeout       time.Duration // default 2 min
}

// PNSBurstReport is what one burst measured.
type PNSBurstReport struct {
	RFPs, Notifications int
	Elapsed             time.Duration // first post to every RFP right and every notification answered by a pull
	SendTime            time.Duration
	Calls               int         // pull API calls answered (token calls not counted)
	TooManyRequests     int         // 429s the simulator answered
	MaxPulls            int         // most pulls of one RFP
	MeanPulls           float64     //
	Wrong               int         // RFPs not in the expected state at the end
	PerSecond           float64     // the tier's calls per second; 0 without a limit
	Attempts            int         // posts the sender made (retries included)
	Answers             map[int]int // posts by answer status (0: no answer)
	Floor               time.Duration
}

type pnsExpect struct{ status, supplier string }

// PNSBurst creates a pns integration against a fresh simulated Supplier
// Network, plays RFPs to their end state there, then posts all their
// notifications at once, shuffled, and waits until cventsync holds every
// RFP in Cvent's state and every notification was answered by a pull.
func PNSBurst(ctx context.Context, t PNSTarget, o PNSBurstOptions) (*PNSBurstReport, error) {
	if o.RFPs <= 0 {
		o.RFPs = 200
	}
	if o.Notifications < 2 {
		o.Notifications = 5
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	net := simulator.NewSupplierNetwork(simulator.SupplierConfig{Seed: o.Seed, Tier: o.Tier})
	srv := httptest.NewServer(net.Handler())
	defer srv.Close()
	id, secret, _ := net.Credentials()
	rep := &PNSBurstReport{RFPs: o.RFPs}
	pull := map[string]any{"flavour": "rest", "baseUrl": srv.URL + "/ea", "clientId": id, "clientSecret": secret,
		"callsPerSecond": 1000, "burst": 1000}
	if o.Tier != "" {
		tier := map[string]struct {
			rate  float64
			burst int
		}{"Free": {2, 1}, "Standard": {10, 10}, "Premium": {25, 25}}[o.Tier]
		rep.PerSecond = tier.rate
		pull["callsPerSecond"], pull["burst"] = tier.rate, tier.burst
	}
	const key = "bench-pns-key"
	body, _ := json.Marshal(map[string]any{"kind": "pns", "name": "bench hotel", "supplierIds": []string{"S1"}, "apiKey": key, "pull": pull})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, t.BaseURL+"/api/v1/integrations", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+t.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	var in struct {
		ID         string `json:"id"`
		WebhookURL string `json:"webhookUrl"`
		Error      string `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&in)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("create pns integration: %d %s", resp.StatusCode, in.Error)
	}
	// The URL as the gateway names it may carry its public host; post to t.BaseURL.
	hook := t.BaseURL + "/webhooks/pns/" + in.ID

	want := map[string]pnsExpect{}
	var notes []simulator.Notification
	middle := []string{"RESPONSE_CONFIRM_RECEIPT", "RESPONSE_SUBMIT_PROPOSAL", "UPDATE_PROPOSAL_DETAILS", "MESSAGE_PLANNER_TO_SUPPLIER", "RFP_VIEWED"}
	for i := range o.RFPs {
		rfp, sent := net.SendRFP(fmt.Sprintf("Bench RFP %d", i), "S1")
		notes = append(notes, sent...)
		for j := 0; j < o.Notifications-2; j++ {
			n, err := net.Act(middle[j%len(middle)], rfp.ID, "S1", "")
			if err != nil {
				return nil, err
			}
			notes = append(notes, n)
		}
		final, exp := "PLANNER_AWARD_SUPPLIER", pnsExpect{"AWARDED", "AWARDED"}
		switch i % 4 {
		case 1:
			final, exp = "PLANNER_CANCEL", pnsExpect{"CANCELLED", "SUBMITTED_PROPOSAL"}
		case 2:
			final, exp = "PLANNER_DECLINE_SUPPLIER", pnsExpect{"ACTIVE", "DECLINED"}
		case 3:
			final, exp = "RESPONSE_TURN_DOWN", pnsExpect{"ACTIVE", "TURNED_DOWN"}
		}
		if o.Notifications-2 < 2 && exp.supplier == "SUBMITTED_PROPOSAL" {
			exp.supplier = "AWAITING_PROPOSAL" // no proposal among the middle ones
		}
		n, err := net.Act(final, rfp.ID, "S1", "bench")
		if err != nil {
			return nil, err
		}
		notes = append(notes, n)
		want[rfp.ID] = exp
	}
	rep.Notifications = len(notes)
	sender := &simulator.PNSSender{URL: hook, APIKey: key, Client: t.HTTP, Shuffle: true, Seed: o.Seed,
		FirstRetry: 200 * time.Millisecond, MaxRetry: 2 * time.Second}

	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	start := time.Now()
	sender.Send(notes...)
	if err := sender.Wait(ctx); err != nil {
		return nil, fmt.Errorf("notifications not all acknowledged: %w", err)
	}
	rep.SendTime = time.Since(start)
	rep.Attempts, _, rep.Answers = sender.Stats()
	var rows []store.RFPRow
	for {
		rows, err = t.Store.ListRFPs(ctx, in.ID, store.RFPFilter{Limit: 1000})
		if err != nil {
			return nil, err
		}
		counts, err := t.Store.CountPNSNotifications(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		rep.Wrong = o.RFPs - len(rows)
		for _, r := range rows {
			if w := want[r.RFPID]; r.Status != w.status || r.SuppStatus != w.supplier {
				rep.Wrong++
			}
		}
		if rep.Wrong == 0 && counts[store.PNSProcessed] == len(notes) {
			break
		}
		if ctx.Err() != nil {
			rep.Elapsed = time.Since(start)
			return rep, fmt.Errorf("after %v: %d RFPs not in Cvent's state, notifications %v", rep.Elapsed.Round(time.Millisecond), rep.Wrong, counts)
		}
		time.Sleep(20 * time.Millisecond)
	}
	rep.Elapsed = time.Since(start)
	total := 0
	for _, r := range rows {
		rep.MaxPulls = max(rep.MaxPulls, r.Pulls)
		total += r.Pulls
	}
	rep.MeanPulls = float64(total) / float64(len(rows))
	_, rep.Calls = net.Calls("")
	rep.TooManyRequests = net.TooManyRequests()
	if rep.PerSecond > 0 {
		rep.Floor = time.Duration(float64(rep.Calls) / rep.PerSecond * float64(time.Second))
	}
	return rep, nil
}

// String is the report in one line.
func (r *PNSBurstReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d notifications about %d RFPs: all right in %v (acknowledged in %v, %d posts, answers %v); pulls per RFP max %d mean %.2f; %d pull API calls, %d × 429",
		r.Notifications, r.RFPs, r.Elapsed.Round(time.Millisecond), r.SendTime.Round(time.Millisecond), r.Attempts, r.Answers, r.MaxPulls, r.MeanPulls, r.Calls, r.TooManyRequests)
	if r.PerSecond > 0 {
		fmt.Fprintf(&b, "; floor at %g calls/s %v, over the floor by %v", r.PerSecond, r.Floor.Round(time.Millisecond), (r.Elapsed - r.Floor).Round(time.Millisecond))
	}
	return b.String()
}

// PNS is the bench scenario of issue 16: 1,000 notifications about 200 RFPs
// in a burst, once with the simulator's rate limits off and once at the
// Premium tier (25 calls/s).
func (e *Env) PNS(ctx context.Context) (*Result, error) {
	res := &Result{Key: "pns", Scenario: "PNS: 1,000 notifications about 200 RFPs in a burst"}
	t := PNSTarget{BaseURL: e.BaseURL, AdminToken: e.AdminToken, HTTP: e.HTTP, Store: e.Store}
	for _, step := range []struct{ name, tier string }{{"no limit", ""}, {"Premium 25/s", "Premium"}} {
		rep, err := PNSBurst(ctx, t, PNSBurstOptions{Tier: step.tier, Seed: uint64(time.Now().UnixNano())})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", step.name, err)
		}
		add := func(name, unit string, v float64, limit float64) {
			m := Metric{Step: step.name, Name: name, Unit: unit, Value: v}
			if limit > 0 {
				ok := v <= limit
				m.Target, m.Ok = fmt.Sprintf("≤ %g", limit), &ok
			}
			res.Metrics = append(res.Metrics, m)
		}
		add("RFPs in the wrong state", "", float64(rep.Wrong), 0)
		add("pulls per RFP (max)", "", float64(rep.MaxPulls), 2)
		add("pull API calls", "", float64(rep.Calls), 0)
		if step.tier == "" {
			add("all done", "s", rep.Elapsed.Seconds(), 10)
		} else {
			add("all done", "s", rep.Elapsed.Seconds(), 0)
			add("over the floor (calls ÷ 25/s)", "s", (rep.Elapsed - rep.Floor).Seconds(), 5)
		}
		res.Notes = append(res.Notes, step.name+": "+rep.String())
	}
	return res, nil
}
