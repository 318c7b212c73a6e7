package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// newIntegrationForm is the new integration form, kept across its steps.
type newIntegrationForm struct {
	Name, Environment, Region, ClientID, ClientSecret, BaseURL, Q, EventID, EventText string
	Events                                                                            []cventEvent
	Listed                                                                            bool
}

func readNewIntegration(f url.Values) newIntegrationForm {
	get := func(k string) string { return strings.TrimSpace(f.Get(k)) }
	return newIntegrationForm{Name: get("name"), Environment: get("environment"), Region: get("region"), ClientID: get("clientId"),
		ClientSecret: f.Get("clientSecret"), BaseURL: get("baseUrl"), Q: get("q"), EventID: get("cventEventId"), EventText: get("cventEventIdText")}
}

// newIntegrationPage is the form: the account's events are listed from the
// credentials typed in, and picking one fills in the event id.
func (c *Console) newIntegrationPage(v *view) {
	c.render(v, "new_integration", http.StatusOK, page{Title: "New integration",
		Data: newIntegrationForm{Environment: "production", Region: "na"}})
}

func (c *Console) newIntegration(v *view) {
	f := readNewIntegration(v.r.PostForm)
	if v.r.PostForm.Get("action") == "list" {
		var out struct{ Events []cventEvent }
		err := c.api.call(v.r.Context(), http.MethodPost, "/api/v1/cvent/events", map[string]string{"clientId": f.ClientID,
			"clientSecret": f.ClientSecret, "baseUrl": f.BaseURL, "environment": f.Environment, "region": f.Region, "q": f.Q}, &out)
		f.Events, f.Listed = out.Events, true
		errText := ""
		if err != nil {
			errText = "Could not list the account's events: " + err.Error()
		}
		c.render(v, "new_integration", http.StatusOK, page{Title: "New integration", Error: errText, Data: f})
		return
	}
	event := f.EventID
	if event == "" {
		event = f.EventText // an id or an event code, which the API resolves
	}
	body := map[string]any{"name": f.Name, "cventEventId": event, "environment": f.Environment, "region": f.Region}
	if f.ClientID != "" {
		cv := map[string]string{"clientId": f.ClientID, "clientSecret": f.ClientSecret}
		if f.BaseURL != "" {
			cv["baseUrl"] = f.BaseURL
		}
		body["cvent"] = cv
	}
	var created struct {
		ID           string          `json:"id"`
		Name         string          `json:"name"`
		CventEventID string          `json:"cventEventId"`
		WebhookURL   string          `json:"webhookUrl"`
		WebhookToken string          `json:"webhookToken"`
		PlatformKey  string          `json:"platformKey"`
		Settings     json.RawMessage `json:"settings"`
	}
	if err := c.api.call(v.r.Context(), http.MethodPost, "/api/v1/integrations", body, &created); err != nil {
		c.render(v, "new_integration", http.StatusOK, page{Title: "New integration", Error: "Not created: " + err.Error(), Data: f})
		return
	}
	c.log.InfoContext(v.r.Context(), "console: integration created", "integrationId", created.ID)
	c.render(v, "created", http.StatusCreated, page{Title: "Integration created", Data: created})
}
