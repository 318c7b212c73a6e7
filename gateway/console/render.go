package console

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages holds one template set per page, each with the shared layout.
type pages struct{ set map[string]*template.Template }

func mustParsePages() *pages {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	p := &pages{set: map[string]*template.Template{}}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" || base == "partials.html" {
			continue
		}
		t := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", n))
		p.set[strings.TrimSuffix(base, ".html")] = t
	}
	return p
}

// page is what the layout shows around a page's content.
type page struct {
	Title string
	CSRF  string
	// Integration, when set, shows the integration's navigation.
	Integration *integration
	Flash       string
	Error       string
	// Refresh reloads the page after so many seconds (progress pages).
	Refresh int
	Data    any
}

func (c *Console) render(v *view, name string, status int, p page) {
	if v != nil {
		p.CSRF = v.csrf
	}
	t, ok := c.pages.set[name]
	if !ok {
		http.Error(v.w, "no page "+name, http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, p); err != nil {
		c.log.Error("console: render", "page", name, "error", err)
		http.Error(v.w, "could not render the page; see the gateway log", http.StatusInternalServerError)
		return
	}
	v.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	v.w.WriteHeader(status)
	_, _ = v.w.Write(buf.Bytes())
}

// fail shows an admin API error on an error page.
func (c *Console) fail(v *view, what string, err error) {
	status := http.StatusBadGateway
	var ae *apiError
	if errors.As(err, &ae) {
		status = ae.Status
	}
	c.log.Warn("console: "+what, "error", err)
	c.render(v, "error", status, page{Title: "Something went wrong", Error: what + ": " + err.Error()})
}

// maxPretty is the largest body shown inline; larger ones are downloaded.
const maxPretty = 256 << 10

var funcs = template.FuncMap{
	"when": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return "—"
			}
			return v.UTC().Format("2006-01-02 15:04:05 UTC")
		case *time.Time:
			if v == nil || v.IsZero() {
				return "—"
			}
			return v.UTC().Format("2006-01-02 15:04:05 UTC")
		}
		return "—"
	},
	"until": func(t time.Time) string {
		if d := time.Until(t); d > 0 {
			return "in " + age(d)
		}
		return "now"
	},
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return age(time.Since(t)) + " ago"
	},
	"pretty": func(raw json.RawMessage) string {
		if len(raw) == 0 {
			return ""
		}
		var buf bytes.Buffer
		if err := json.Indent(&buf, raw, "", "  "); err != nil {
			return string(raw)
		}
		return buf.String()
	},
	"percent": func(done, total int) int {
		if total <= 0 {
			return 0
		}
		return min(100, done*100/total)
	},
	"join": strings.Join,
	"q":    url.QueryEscape,
	"path": url.PathEscape,
	"size": func(n int64) string {
		switch {
		case n >= 1<<20:
			return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
		case n >= 1<<10:
			return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
		}
		return fmt.Sprintf("%d B", n)
	},
}

// age says a duration the way an operator reads it.
func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// workflowURL links a workflow in the Temporal Web UI.
func (c *Console) workflowURL(workflowID string) string {
	if workflowID == "" {
		return ""
	}
	return c.opts.TemporalUIURL + "/namespaces/" + url.PathEscape(c.opts.Namespace) + "/workflows/" + url.PathEscape(workflowID)
}

// redirect answers 303 to a console path.
func redirect(v *view, to string) { http.Redirect(v.w, v.r, to, http.StatusSeeOther) }
