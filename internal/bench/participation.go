package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/lib/pq"

	"github.com/cventsync/cventsync/internal/simulator"
)

// Participation reports `logins` logins within about ten seconds and
// measures the check-in calls cventsync makes to the simulated Cvent
// (Standard tier: 10 calls/s) and the time until every check-in is written.
func (e *Env) Participation(ctx context.Context, logins int) (*Result, error) {
	sim := simulator.New(simulator.Config{Seed: uint64(time.Now().UnixNano()), Attendees: logins, Tier: "Standard"})
	for _, a := range sim.Attendees() {
		if a.Status != "Accepted" {
			sim.Update(a.ID, func(a *simulator.Attendee) { a.Status = "Accepted" })
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: sim.Handler()}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	id, secret := sim.Credentials()
	in, err := e.CreateIntegration(ctx, map[string]any{
		"cventEventId":  sim.EventID(),
		"cvent":         map[string]any{"clientId": id, "clientSecret": secret, "baseUrl": "http://" + ln.Addr().String() + "/ea"},
		"participation": map[string]any{"criterion": "login"},
	})
	if err != nil {
		return nil, err
	}
	if sent := sim.SendManualSync(ctx, e.target(in)); sent.Err != nil || sent.Status != http.StatusOK {
		return nil, fmt.Errorf("load attendees: %d %v", sent.Status, sent.Err)
	}
	if _, err := WaitFor(ctx, 2*time.Minute, 50*time.Millisecond, func() (bool, error) {
		st, err := e.Stats(ctx, in.ID)
		return err == nil && st.WithAccess >= logins, err
	}); err != nil {
		return nil, fmt.Errorf("load attendees: %w", err)
	}
	attendees := sim.Attendees()
	const perRequest = 50
	tick := time.NewTicker(time.Second / 10) // 10 requests a second: 5,000 logins in 10 s
	defer tick.Stop()
	start := time.Now()
	for i := 0; i < len(attendees); i += perRequest {
		<-tick.C
		items := make([]map[string]any, 0, perRequest)
		for _, a := range attendees[i:min(i+perRequest, len(attendees))] {
			items = append(items, map[string]any{"type": "login", "inviteeId": a.ID, "at": time.Now().UTC().Format(time.RFC3339Nano)})
		}
		if err := e.postActivity(ctx, in, items); err != nil {
			return nil, err
		}
	}
	lastLogin := time.Now()
	_, waitErr := WaitFor(ctx, 5*time.Minute, 50*time.Millisecond, func() (bool, error) {
		st, err := e.Stats(ctx, in.ID)
		return err == nil && st.Participation["written"] >= logins, err
	})
	afterLast := time.Since(lastLogin)
	dup := 0
	for _, n := range sim.CheckIns() {
		if n > 1 {
			dup++
		}
	}
	tooMany, limit := sim.RateLimited()
	res := &Result{Key: "participation", Scenario: "4. participation write-back"}
	res.add("logins", "", float64(logins))
	res.add("logins sent over", "s", lastLogin.Sub(start).Seconds())
	res.addTarget("Cvent check-in calls", "", float64(sim.Calls()["POST /events/{id}/check-in"]), 60)
	res.add("checked in", "", float64(len(sim.CheckIns())))
	res.addTarget("checked in twice", "", float64(dup), 0)
	res.addTarget("429s from Cvent", "", float64(tooMany+limit), 0)
	res.addTarget("all checked in, after the last login", "s", afterLast.Seconds(), 30)
	if waitErr != nil {
		res.Notes = append(res.Notes, "not all written: "+waitErr.Error())
	}
	base, err := e.baselineLogins(ctx, attendees, perRequest)
	if err != nil {
		return nil, err
	}
	res.add("baseline: INSERT the logins in the same batches", "s", base.Seconds())
	return res, nil
}

func (e *Env) postActivity(ctx context.Context, in *Integration, items []map[string]any) error {
	b, _ := json.Marshal(items)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.BaseURL+"/api/v1/integrations/"+in.ID+"/activity", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+in.PlatformKey)
	resp, err := e.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer drain(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("activity answered %d", resp.StatusCode)
	}
	return nil
}

func (e *Env) baselineLogins(ctx context.Context, attendees []simulator.Attendee, batch int) (time.Duration, error) {
	table, err := e.baselineTable(ctx)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	for i := 0; i < len(attendees); i += batch {
		var ids []string
		for _, a := range attendees[i:min(i+batch, len(attendees))] {
			ids = append(ids, a.ID)
		}
		if _, err := e.Store.DB().ExecContext(ctx, `INSERT INTO `+table+` (invitee_id, access) SELECT unnest($1::text[]), true`, pq.StringArray(ids)); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}
