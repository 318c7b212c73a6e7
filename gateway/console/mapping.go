package console

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// maxPreviewPayload bounds a pasted payload.
const maxPreviewPayload = 1 << 20

func (c *Console) mappingPage(v *view) {
	c.showMapping(v, "", "", "", http.StatusOK)
}

func (c *Console) showMapping(v *view, payload, result, errText string, status int) {
	in, err := c.integration(v.r.Context(), v.r.PathValue("id"))
	if err != nil {
		c.fail(v, "integration", err)
		return
	}
	var sections map[string]json.RawMessage
	_ = json.Unmarshal(in.Settings, &sections)
	current := ""
	if m := sections["mapping"]; len(m) > 0 {
		var buf bytes.Buffer
		if json.Indent(&buf, m, "", "  ") == nil {
			current = buf.String()
		}
	}
	c.render(v, "mapping", status, page{Title: "Mapping", Integration: in, Error: errText, Data: struct {
		Current, Payload, Result string
	}{current, payload, result}})
}

// mappingPreview shows what a pasted payload would produce under the
// integration's mapping (POST …/mapping/preview; nothing is written).
func (c *Console) mappingPreview(v *view) {
	payload := v.r.PostForm.Get("payload")
	if len(payload) > maxPreviewPayload {
		c.showMapping(v, "", "", "The payload is larger than 1 MiB.", http.StatusRequestEntityTooLarge)
		return
	}
	status, body, err := c.api.raw(v.r.Context(), http.MethodPost, "/api/v1/integrations/"+esc(v.r.PathValue("id"))+"/mapping/preview", []byte(payload))
	if err != nil {
		c.showMapping(v, payload, "", err.Error(), http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if json.Indent(&buf, body, "", "  ") != nil {
		buf.Reset()
		buf.Write(body)
	}
	if status != http.StatusOK {
		c.showMapping(v, payload, "", buf.String(), http.StatusOK)
		return
	}
	c.showMapping(v, payload, buf.String(), "", http.StatusOK)
}
