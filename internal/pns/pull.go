package pns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/cventsync/cventsync/internal/cvent"
)

// Pull API flavours.
const (
	// FlavourREST is the newer REST API: OAuth2 client credentials, GET
	// /rfps/{id} and GET /rfps/{id}/suppliers (seen in a third-party copy of
	// Cvent's hospitality spec, not in openapi.yaml).
	FlavourREST = "rest"
	// FlavourLegacy is the CSN API: Authorization: api_key <key>, GET
	// /rfp-response/v1/rfp/{rfpId}/supplier/{supplierId} (verified path; the
	// answer's exact shape is an assumption, see legacyResponse).
	FlavourLegacy = "legacy"
)

// Default hosts of the pull APIs.
const (
	DefaultRESTBase   = cvent.BaseNA
	DefaultLegacyBase = "https://api.cvent.com"
)

// PullConfig says how to pull RFPs for one integration.
type PullConfig struct {
	Flavour      string
	BaseURL      string // "" = Cvent's host for the flavour
	ClientID     string // REST
	ClientSecret string // REST
	APIKey       string // legacy
	// Limiter paces every call (share one per account); nil = unpaced.
	Limiter    *rate.Limiter
	HTTPClient *http.Client
	// Calls counts the REST flavour's calls against the account's daily
	// quota (the legacy CSN API's key is not a REST account); nil = not counted.
	Calls cvent.CallCounter
}

// Puller fetches an RFP and the given suppliers' responses to it.
type Puller interface {
	Pull(ctx context.Context, rfpID string, supplierIDs []string) (Snapshot, error)
}

// NewPuller makes the puller of cfg's flavour. Failures are *cvent.Error
// (or network errors), so cvent.ToTemporal decides the retry.
func NewPuller(cfg PullConfig) (Puller, error) {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = cvent.NewHTTPClient(30 * time.Second)
	}
	switch cfg.Flavour {
	case FlavourLegacy:
		if cfg.APIKey == "" {
			return nil, errors.New("pns: the legacy API needs an API key")
		}
		base := cfg.BaseURL
		if base == "" {
			base = DefaultLegacyBase
		}
		return &legacyPuller{cfg: cfg, base: strings.TrimRight(base, "/")}, nil
	case FlavourREST, "":
		c, err := cvent.New(cvent.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Scope: "",
			BaseURL: cfg.BaseURL, HTTPClient: cfg.HTTPClient, Limiter: cfg.Limiter, Calls: cfg.Calls})
		if err != nil {
			return nil, fmt.Errorf("pns: %w", err)
		}
		return &restPuller{c: c}, nil
	}
	return nil, fmt.Errorf("pns: unknown pull flavour %q", cfg.Flavour)
}

// FlexTime reads a date or a date-time in the formats Cvent uses.
type FlexTime struct{ time.Time }

// UnmarshalJSON implements json.Unmarshaler.
func (f *FlexTime) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) != nil || s == "" {
		return nil
	}
	for _, l := range append([]string{"2006-01-02"}, timeLayouts...) {
		if t, err := time.Parse(l, s); err == nil {
			f.Time = t.UTC()
			return nil
		}
	}
	return nil
}

func (f FlexTime) ptr() *time.Time {
	if f.IsZero() {
		return nil
	}
	t := f.Time
	return &t
}

type restRFP struct {
	ID               string          `json:"id"`
	Code             string          `json:"code"`
	Status           string          `json:"status"`
	Type             string          `json:"type"`
	RFPEvent         json.RawMessage `json:"rfpEvent"`
	Contact          json.RawMessage `json:"contact"`
	DateRequirements json.RawMessage `json:"dateRequirements"`
	ResponseDueDate  FlexTime        `json:"responseDueDate"`
	DecisionDate     FlexTime        `json:"decisionDate"`
	Cancellation     *struct {
		DateTime FlexTime `json:"dateTime"`
		Reason   string   `json:"reason"`
		Comments string   `json:"comments"`
	} `json:"cancellationDetails"`
	AwardedExternally bool `json:"awardedExternally"`
}

type restSupplier struct {
	Supplier struct {
		ID string `json:"id"`
	} `json:"supplier"`
	Status                string   `json:"status"`
	StatusChangedDateTime FlexTime `json:"statusChangedDateTime"`
	Response              struct {
		Reason  string `json:"reason"`
		Comment string `json:"comment"`
	} `json:"response"`
}

type restPuller struct{ c *cvent.Client }

func (p *restPuller) Pull(ctx context.Context, rfpID string, supplierIDs []string) (Snapshot, error) {
	var r restRFP
	path := "/rfps/" + url.PathEscape(rfpID)
	if err := p.c.GetJSON(ctx, path, nil, &r); err != nil {
		return Snapshot{}, err
	}
	snap := Snapshot{RFP: RemoteRFP{ID: r.ID, Code: r.Code, Status: r.Status, Type: r.Type,
		ResponseDueDate: r.ResponseDueDate.ptr(), DecisionDate: r.DecisionDate.ptr(), Contact: r.Contact,
		Event: r.RFPEvent, DateRequirements: r.DateRequirements, AwardedExternal: r.AwardedExternally}}
	if snap.RFP.ID == "" {
		snap.RFP.ID = rfpID
	}
	var ev struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal(r.RFPEvent, &ev)
	snap.RFP.Name = ev.Name
	if c := r.Cancellation; c != nil {
		snap.RFP.Cancellation = &Cancellation{DateTime: c.DateTime.ptr(), Reason: c.Reason, Comments: c.Comments}
	}
	want := map[string]bool{}
	for _, id := range supplierIDs {
		want[strings.ToLower(id)] = true
	}
	q := url.Values{"limit": {"200"}}
	seen := map[string]bool{}
	for {
		var page struct {
			Paging struct {
				NextToken string `json:"nextToken"`
			} `json:"paging"`
			Data []restSupplier `json:"data"`
		}
		if err := p.c.GetJSON(ctx, path+"/suppliers", q, &page); err != nil {
			return Snapshot{}, err
		}
		for _, s := range page.Data {
			if want[strings.ToLower(s.Supplier.ID)] {
				snap.Responses = append(snap.Responses, Response{SupplierID: s.Supplier.ID, Status: s.Status,
					StatusChangedAt: s.StatusChangedDateTime.ptr(), Reason: s.Response.Reason, Comment: s.Response.Comment})
			}
		}
		next := page.Paging.NextToken
		if next == "" || seen[next] {
			break
		}
		seen[next] = true
		q.Set("token", next)
	}
	orderResponses(snap.Responses, supplierIDs)
	return snap, nil
}

// legacyResponse is the answer of GET /rfp-response/v1/rfp/{rfpId}/supplier/{supplierId}.
// ASSUMPTION: the path is verified; the field names below are those of
// the legacy RFP object parts FACTS.md lists, arranged as we guess.
type legacyResponse struct {
	RFP struct {
		ID               string          `json:"id"`
		Code             string          `json:"code"`
		Name             string          `json:"name"`
		Status           string          `json:"status"`
		Type             string          `json:"type"`
		ResponseDueDate  FlexTime        `json:"responseDueDate"`
		DecisionDate     FlexTime        `json:"decisionDate"`
		Contact          json.RawMessage `json:"contact"`
		Event            json.RawMessage `json:"event"`
		DateRequirements json.RawMessage `json:"dateRequirements"`
		CancelReason     string          `json:"cancellationReason"`
	} `json:"rfp"`
	SupplierID        string   `json:"supplierId"`
	Status            string   `json:"status"`
	StatusChangedDate FlexTime `json:"statusChangedDate"`
	Reason            string   `json:"responseReason"`
	Comment           string   `json:"comment"`
}

type legacyPuller struct {
	cfg  PullConfig
	base string
}

func (p *legacyPuller) get(ctx context.Context, path string, out any) error {
	if p.cfg.Limiter != nil {
		if err := p.cfg.Limiter.Wait(ctx); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "api_key "+p.cfg.APIKey)
	req.Header.Set("Accept", "application/json")
	resp, err := p.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("pns: GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &cvent.Error{Status: resp.StatusCode}
		if json.Unmarshal(body, e) != nil || e.Message == "" {
			e.Message = strings.TrimSpace(string(body))
			if e.Message == "" {
				e.Message = http.StatusText(resp.StatusCode)
			}
		}
		return e
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("pns: GET %s: decode answer: %w", path, err)
	}
	return nil
}

func (p *legacyPuller) Pull(ctx context.Context, rfpID string, supplierIDs []string) (Snapshot, error) {
	var snap Snapshot
	for i, sid := range supplierIDs {
		var r legacyResponse
		if err := p.get(ctx, "/rfp-response/v1/rfp/"+url.PathEscape(rfpID)+"/supplier/"+url.PathEscape(sid), &r); err != nil {
			return Snapshot{}, err
		}
		if i == 0 {
			x := r.RFP
			snap.RFP = RemoteRFP{ID: x.ID, Code: x.Code, Name: x.Name, Status: x.Status, Type: x.Type,
				ResponseDueDate: x.ResponseDueDate.ptr(), DecisionDate: x.DecisionDate.ptr(), Contact: x.Contact,
				Event: x.Event, DateRequirements: x.DateRequirements}
			if snap.RFP.ID == "" {
				snap.RFP.ID = rfpID
			}
			if x.CancelReason != "" {
				snap.RFP.Cancellation = &Cancellation{Reason: x.CancelReason}
			}
		}
		if r.SupplierID == "" {
			r.SupplierID = sid
		}
		snap.Responses = append(snap.Responses, Response{SupplierID: r.SupplierID, Status: r.Status,
			StatusChangedAt: r.StatusChangedDate.ptr(), Reason: r.Reason, Comment: r.Comment})
	}
	return snap, nil
}

// orderResponses puts responses in the order of supplierIDs.
func orderResponses(rs []Response, supplierIDs []string) {
	pos := map[string]int{}
	for i, id := range supplierIDs {
		pos[strings.ToLower(id)] = i
	}
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && pos[strings.ToLower(rs[j].SupplierID)] < pos[strings.ToLower(rs[j-1].SupplierID)]; j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}
