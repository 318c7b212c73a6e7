package bench

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"time"

	"github.com/lib/pq"

	"github.com/cventsync/cventsync/internal/store"
)

// BigSyncSizes are the attendee counts of the bigsync scenario's steps by
// default (issue 15): 10,000 rich attendees (≈19 MB) and 100,000 in one
// POST (≈190 MB).
var BigSyncSizes = []int{10000, 100000}

// CheckBigSyncSizes validates --bigsync-sizes.
func CheckBigSyncSizes(sizes []int) error {
	if len(sizes) == 0 {
		return errors.New("--bigsync-sizes: give at least one size")
	}
	for _, n := range sizes {
		if n <= 0 {
			return fmt.Errorf("--bigsync-sizes: %d is not a positive count", n)
		}
	}
	return nil
}

// bigSyncTargets are issue 15's targets for one size; 0 means none.
type bigSyncTargets struct {
	answer    float64 // s from the last byte sent to the answer
	allAccess float64 // s from the start of the POST until all have the right access
	firstBar  float64 // the acceptable first bar of allAccess
	rssMB     float64 // peak RSS of the gateway and of the worker, each
}

// bigSyncTargetsFor: up to 10,000 attendees the 19 MB targets (all with
// access within 2 s, 150 MB), above it the 100,000-attendee ones (answer
// within 5 s of the last byte, all with access within 20 s, a first bar of
// 60 s, 300 MB).
func bigSyncTargetsFor(n int) bigSyncTargets {
	if n <= 10000 {
		return bigSyncTargets{allAccess: 2, rssMB: 150}
	}
	return bigSyncTargets{answer: 5, allAccess: 20, firstBar: 60, rssMB: 300}
}

// sizeLabel is a step's name: "100,000 attendees".
func sizeLabel(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s + " attendees"
}

// BigSync posts, for each size, one AttendeeManualSynced of that many rich
// attendee items (BigSyncBody, ≈1.8 KB each) to a fresh integration, the
// body generated while it is sent with its Content-Length known, and
// measures the answer after the last byte, the time from the start of the
// POST until every attendee has the right access, the gateway's and the
// worker's peak RSS, and the plain-PostgreSQL floor of the same rows.
func (e *Env) BigSync(ctx context.Context, sizes []int) (*Result, error) {
	if len(sizes) == 0 {
		sizes = BigSyncSizes
	}
	res := &Result{Key: "bigsync", Scenario: "6. big manual sync in one POST"}
	for _, n := range sizes {
		if err := e.bigSyncStep(ctx, res, n); err != nil {
			return nil, fmt.Errorf("%s: %w", sizeLabel(n), err)
		}
	}
	return res, nil
}

func (e *Env) bigSyncStep(ctx context.Context, res *Result, n int) error {
	if n <= 0 {
		return fmt.Errorf("size %d is not a positive count", n)
	}
	step, tg := sizeLabel(n), bigSyncTargetsFor(n)
	in, err := e.CreateIntegration(ctx, nil)
	if err != nil {
		return err
	}
	g := NewBigSyncBody(n, uint64(time.Now().UnixNano()))
	genStart := time.Now()
	length := g.Len() // the dry run, before any clock starts
	genTime := time.Since(genStart)
	admitted := 0
	for i := 0; i < n; i++ {
		if wantsAccess(g.Status(i)) {
			admitted++
		}
	}
	gw0, _ := RSS(e.Gateway.Process.Pid)
	wk0, _ := RSS(e.Worker.Process.Pid)
	peak := e.sampleRSS()
	cpu, err := e.startCPU()
	if err != nil {
		peak.stop()
		return err
	}
	post, err := e.postBig(ctx, in, g, length)
	if err != nil {
		peak.stop()
		_, _ = cpu.stop()
		return err
	}
	e.log.Info("bigsync: answered", "attendees", n, "bytes", length, "answer", post.Answer.Status,
		"afterLastByte", post.AnsweredAt.Sub(post.LastByte), "deliveryId", post.Answer.DeliveryID)

	// All applied: the last chunk commits together with status processed,
	// so polling that one row costs nothing beside what it measures.
	limit := 2*time.Minute + time.Duration(n)*2*time.Millisecond
	var status string
	var applied int
	var failure sql.NullString
	_, waitErr := WaitFor(ctx, limit, 20*time.Millisecond, func() (bool, error) {
		err := e.Store.DB().QueryRowContext(ctx, `SELECT status, applied_items, error FROM deliveries WHERE id = $1`,
			post.Answer.DeliveryID).Scan(&status, &applied, &failure)
		return err == nil && status != store.DeliveryReceived && status != store.StatusReceiving, err
	})
	all := time.Since(post.Start)
	if waitErr == nil && status == store.DeliveryProcessed {
		// The directory must agree; if it does not, wait for it and say so.
		if st, err := e.Stats(ctx, in.ID); err != nil || st.Attendees < n || st.WithAccess < admitted {
			res.Notes = append(res.Notes, fmt.Sprintf("%sdelivery processed before the directory showed every attendee (stats %+v, err %v)", stepPrefix(step), st, err))
			waitErr = e.waitApplied(ctx, in.ID, n, admitted, 20*time.Millisecond)
			all = time.Since(post.Start)
		}
	}
	usage, cpuErr := cpu.stop()
	gw, wk := peak.stop()
	if cpuErr != nil {
		return cpuErr
	}
	switch {
	case waitErr != nil:
		res.Notes = append(res.Notes, fmt.Sprintf("%snot all applied after %v (delivery %s, %d items applied): %v",
			stepPrefix(step), all.Round(time.Second), status, applied, waitErr))
	case status != store.DeliveryProcessed:
		res.Notes = append(res.Notes, fmt.Sprintf("%sdelivery ended %s after %d items: %s", stepPrefix(step), status, applied, failure.String))
	}
	if post.Answer.Status != "accepted" {
		res.Notes = append(res.Notes, fmt.Sprintf("%sthe gateway answered %q (not \"accepted\")", stepPrefix(step), post.Answer.Status))
	}
	check, err := e.checkBigSync(ctx, in.ID, g)
	if err != nil {
		return err
	}
	if check.Missing+check.WrongAccess+check.WrongStatus > 0 {
		res.Notes = append(res.Notes, stepPrefix(step)+"by status (sent, in the directory, with access, wrong access, wrong status): "+check.ByStatus)
	}

	// addT adds a row of this step, with a target when limit is not noTarget.
	const noTarget = -1
	addT := func(name, unit string, v, limit float64) {
		if limit >= 0 {
			res.addTarget(name, unit, v, limit)
		} else {
			res.add(name, unit, v)
		}
		res.Metrics[len(res.Metrics)-1].Step = step
	}
	opt := func(limit float64) float64 { // issue 15 names no target for this size
		if limit == 0 {
			return noTarget
		}
		return limit
	}
	addT("body", "MB", float64(length)/1e6, noTarget)
	addT("mean item", "bytes", float64(length)/float64(n), noTarget)
	addT("of which Accepted (get access)", "", float64(admitted), noTarget)
	addT("send time, first to last byte", "s", post.LastByte.Sub(post.Start).Seconds(), noTarget)
	addT("answer after the last byte", "s", post.AnsweredAt.Sub(post.LastByte).Seconds(), opt(tg.answer))
	addT("all with access, from the start of the POST", "s", all.Seconds(), opt(tg.allAccess))
	if tg.firstBar > 0 {
		addT("all with access, first bar", "s", all.Seconds(), opt(tg.firstBar))
	}
	addT("applied after the answer", "s", all.Seconds()-post.AnsweredAt.Sub(post.Start).Seconds(), noTarget)
	// Each chunk's rows carry its transaction's start time (now()): when
	// the apply's first and last chunks began, against the answer.
	var firstChunk, lastChunk time.Time
	if err := e.Store.DB().QueryRowContext(ctx, `SELECT min(created_at), max(created_at) FROM attendees WHERE integration_id = $1`,
		in.ID).Scan(&firstChunk, &lastChunk); err == nil {
		addT("first chunk began, after the answer", "s", firstChunk.Sub(post.AnsweredAt).Seconds(), noTarget)
		addT("first to last chunk began", "s", lastChunk.Sub(firstChunk).Seconds(), noTarget)
	}
	addT("attendees per second", "/s", float64(n)/all.Seconds(), noTarget)
	addT("attendees missing", "", float64(check.Missing), 0)
	addT("wrong access", "", float64(check.WrongAccess), 0)
	addT("wrong status", "", float64(check.WrongStatus), 0)
	addT("peak RSS gateway", "MB", float64(gw)/1e6, opt(tg.rssMB))
	addT("peak RSS worker", "MB", float64(wk)/1e6, opt(tg.rssMB))
	addT("RSS gateway before", "MB", float64(gw0)/1e6, noTarget)
	addT("RSS worker before", "MB", float64(wk0)/1e6, noTarget)
	res.addCPU(step, usage)
	addT("bench: generating the body (dry run, not timed above)", "s", genTime.Seconds(), noTarget)
	base, err := e.baselineCopy(ctx, g)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	addT("baseline: decode + COPY of the same rows", "s", base.Seconds(), noTarget)
	addT("ratio all-with-access / baseline", "x", all.Seconds()/base.Seconds(), noTarget)
	return nil
}

// bigPost is one streamed POST and its clocks.
type bigPost struct {
	Start, LastByte, AnsweredAt time.Time
	Answer                      struct {
		Status     string `json:"status"`
		DeliveryID int64  `json:"deliveryId"`
		Error      string `json:"error"`
	}
}

// postBig sends the body as Cvent does, generated while it is sent, with
// its Content-Length. The last byte is sent when the transport has written
// the whole request (httptrace WroteRequest).
func (e *Env) postBig(ctx context.Context, in *Integration, g *BigSyncBody, length int64) (*bigPost, error) {
	// Its own client: a 190 MB body may take longer than the scenarios' 60 s.
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Timeout: 15 * time.Minute, Transport: tr}
	p := &bigPost{}
	var mu sync.Mutex
	trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) {
		mu.Lock()
		p.LastByte = time.Now()
		mu.Unlock()
	}}
	body := g.Body()
	defer body.Close()
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost, in.WebhookURL, body)
	if err != nil {
		return nil, err
	}
	req.ContentLength = length
	req.Header.Set("Authorization", in.WebhookToken)
	req.Header.Set("Content-Type", "application/json")
	p.Start = time.Now()
	resp, err := client.Do(req)
	p.AnsweredAt = time.Now()
	if err != nil {
		return nil, fmt.Errorf("post %d bytes: %w", length, err)
	}
	defer drain(resp.Body)
	text, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	mu.Lock()
	if p.LastByte.IsZero() || p.LastByte.After(p.AnsweredAt) {
		p.LastByte = p.AnsweredAt // answered before the body was sent: an error answer
	}
	mu.Unlock()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("post %d bytes: answered %d: %s", length, resp.StatusCode, strings.TrimSpace(string(text)))
	}
	if err := json.Unmarshal(text, &p.Answer); err != nil || p.Answer.DeliveryID == 0 {
		return nil, fmt.Errorf("post %d bytes: answer %q names no delivery (%v)", length, text, err)
	}
	return p, nil
}

// bigSyncCheck is the directory compared with what the body said.
type bigSyncCheck struct {
	Missing, WrongAccess, WrongStatus int
	ByStatus                          string
}

// checkBigSync compares every attendee of the body with the directory in
// one SQL query: present, access as its status wants, the status itself.
func (e *Env) checkBigSync(ctx context.Context, integrationID string, g *BigSyncBody) (bigSyncCheck, error) {
	ids, statuses, want := make([]string, g.N), make([]string, g.N), make([]bool, g.N)
	for i := range ids {
		ids[i] = strings.ToLower(g.InviteeID(i))
		statuses[i] = g.Status(i)
		want[i] = wantsAccess(statuses[i])
	}
	rows, err := e.Store.DB().QueryContext(ctx, `SELECT u.status, count(*), count(a.invitee_id),
			count(*) FILTER (WHERE a.access),
			count(*) FILTER (WHERE a.invitee_id IS NOT NULL AND a.access <> u.want),
			count(*) FILTER (WHERE a.invitee_id IS NOT NULL AND a.cvent_status <> u.status)
		FROM unnest($2::text[], $3::text[], $4::bool[]) AS u(id, status, want)
		LEFT JOIN attendees a ON a.integration_id = $1 AND a.invitee_id = u.id
		GROUP BY u.status ORDER BY u.status`,
		integrationID, pq.StringArray(ids), pq.StringArray(statuses), pq.BoolArray(want))
	if err != nil {
		return bigSyncCheck{}, fmt.Errorf("check access: %w", err)
	}
	defer rows.Close()
	var c bigSyncCheck
	var parts []string
	for rows.Next() {
		var status string
		var sent, present, access, wrongAccess, wrongStatus int
		if err := rows.Scan(&status, &sent, &present, &access, &wrongAccess, &wrongStatus); err != nil {
			return bigSyncCheck{}, fmt.Errorf("check access: %w", err)
		}
		c.Missing += sent - present
		c.WrongAccess += wrongAccess
		c.WrongStatus += wrongStatus
		parts = append(parts, fmt.Sprintf("%s %d/%d/%d/%d/%d", status, sent, present, access, wrongAccess, wrongStatus))
	}
	c.ByStatus = strings.Join(parts, ", ")
	return c, rows.Err()
}

// baselineCopy is the floor: the same rows, decoded from the same items,
// COPYed into a scratch table in one transaction, with no Temporal and no
// cventsync. The items are generated while they are copied (as the body is
// while it is sent); the table is dropped afterwards.
func (e *Env) baselineCopy(ctx context.Context, g *BigSyncBody) (time.Duration, error) {
	table, err := e.baselineTable(ctx)
	if err != nil {
		return 0, err
	}
	defer func() { _, _ = e.Store.DB().ExecContext(context.WithoutCancel(ctx), `DROP TABLE `+table) }()
	start := time.Now()
	tx, err := e.Store.DB().BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback() }()
	stmt, err := tx.PrepareContext(ctx, pq.CopyIn(table, "invitee_id", "email", "first_name", "last_name", "company", "title", "access", "item"))
	if err != nil {
		return 0, err
	}
	var buf []byte
	for i := 0; i < g.N; i++ {
		buf = g.AppendItem(buf[:0], i)
		var it struct{ InviteeStub, Email, FirstName, LastName, Company, Title, InviteeStatus string }
		if err := json.Unmarshal(buf, &it); err != nil {
			return 0, fmt.Errorf("item %d: %w", i, err)
		}
		if _, err := stmt.ExecContext(ctx, strings.ToLower(it.InviteeStub), it.Email, it.FirstName, it.LastName, it.Company, it.Title,
			wantsAccess(it.InviteeStatus), string(buf)); err != nil {
			return 0, fmt.Errorf("copy item %d: %w", i, err)
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		return 0, fmt.Errorf("copy: %w", err)
	}
	if err := stmt.Close(); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}
