package console

import (
	"encoding/json"
	"net/http"
)

// overview lists every integration with its health.
func (c *Console) overview(v *view) {
	list, err := c.integrations(v.r.Context())
	if err != nil {
		c.fail(v, "integrations", err)
		return
	}
	rows := make([]health, len(list))
	for i := range list {
		rows[i] = c.health(v.r.Context(), list[i])
	}
	c.render(v, "overview", http.StatusOK, page{Title: "Integrations", Data: rows})
}

// integrationPage is one integration: its health, actions and sections.
func (c *Console) integrationPage(v *view) {
	in, err := c.integration(v.r.Context(), v.r.PathValue("id"))
	if err != nil {
		c.fail(v, "integration", err)
		return
	}
	h := c.health(v.r.Context(), *in)
	var sections map[string]json.RawMessage
	_ = json.Unmarshal(in.Settings, &sections)
	_, hasCvent := sections["cvent"]
	c.render(v, "integration", http.StatusOK, page{Title: in.Name, Integration: in, Flash: v.r.URL.Query().Get("flash"),
		Data: struct {
			Health   health
			HasCvent bool
		}{h, hasCvent}})
}
