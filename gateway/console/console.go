// Package console is the operator console the gateway serves at /console:
// server-rendered pages (html/template, embedded in the binary, no
// JavaScript) over the admin API. It holds no SQL and no business rules; it
// calls the gateway's own admin API in process with the admin token, after
// the operator signed in with that token.
package console

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strings"
)

// Options configure the console.
type Options struct {
	// API is the gateway's handler; the console calls /api/v1 on it.
	API http.Handler
	// AdminToken signs operators in, and the console calls the API with it.
	AdminToken string
	// TemporalUIURL is the Temporal Web UI's base URL (default
	// http://127.0.0.1:8233); Namespace its namespace (default "default").
	TemporalUIURL string
	Namespace     string
	// SecureCookies marks the cookies Secure (serve the console over https).
	SecureCookies bool
	// Sessions keeps signed-in sessions for every gateway (*store.Store);
	// without it they live in this process only, and a sign-out here does
	// not reach the other gateways.
	Sessions SessionStore
	Logger   *slog.Logger
}

// Console serves /console.
type Console struct {
	opts     Options
	api      *api
	sessions *sessions
	log      *slog.Logger
	mux      *http.ServeMux
	pages    *pages
}

// New builds the console. Without an admin token every page answers 503.
func New(opts Options) *Console {
	if opts.TemporalUIURL == "" {
		opts.TemporalUIURL = "http://127.0.0.1:8233"
	}
	opts.TemporalUIURL = strings.TrimRight(opts.TemporalUIURL, "/")
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := &Console{opts: opts, api: &api{handler: opts.API, token: opts.AdminToken},
		sessions: newSessions(opts.AdminToken, opts.SecureCookies, opts.Sessions), log: opts.Logger, mux: http.NewServeMux(), pages: mustParsePages()}
	c.routes()
	return c
}

func (c *Console) routes() {
	m := c.mux
	m.Handle("GET /console/static/", http.StripPrefix("/console/", http.FileServerFS(staticFS)))
	m.HandleFunc("GET /console/signin", c.signinPage)
	m.HandleFunc("POST /console/signin", c.signin)
	m.Handle("POST /console/signout", c.auth(c.signout))

	m.Handle("GET /console", c.auth(c.overview))
	m.Handle("GET /console/{$}", c.auth(c.overview))
	m.Handle("GET /console/integrations/new", c.auth(c.newIntegrationPage))
	m.Handle("POST /console/integrations/new", c.auth(c.newIntegration))
	m.Handle("GET /console/integrations/{id}", c.auth(c.integrationPage))
	m.Handle("POST /console/integrations/{id}/poll", c.auth(c.pollNow))
	m.Handle("POST /console/integrations/{id}/resync", c.auth(c.startResync))
	m.Handle("GET /console/integrations/{id}/resyncs/{rid}", c.auth(c.resyncPage))
	m.Handle("GET /console/integrations/{id}/people", c.auth(c.peoplePage))
	m.Handle("GET /console/integrations/{id}/people/{invitee}", c.auth(c.personPage))
	m.Handle("GET /console/integrations/{id}/deliveries", c.auth(c.deliveriesPage))
	m.Handle("GET /console/integrations/{id}/replay", c.auth(c.bulkReplayConfirm))
	m.Handle("POST /console/integrations/{id}/replay", c.auth(c.bulkReplayStart))
	m.Handle("GET /console/integrations/{id}/replays/{rid}", c.auth(c.bulkReplayPage))
	m.Handle("GET /console/integrations/{id}/events", c.auth(c.eventsPage))
	m.Handle("GET /console/integrations/{id}/mapping", c.auth(c.mappingPage))
	m.Handle("POST /console/integrations/{id}/mapping", c.auth(c.mappingPreview))
	m.Handle("GET /console/deliveries/{did}", c.auth(c.deliveryPage))
	m.Handle("GET /console/deliveries/{did}/body", c.auth(c.deliveryBody))
	m.Handle("POST /console/deliveries/{did}/replay", c.auth(c.replayOne))
}

// ServeHTTP serves /console and everything below it.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	if c.opts.AdminToken == "" {
		http.Error(w, "the console needs CVENTSYNC_ADMIN_TOKEN", http.StatusServiceUnavailable)
		return
	}
	id := r.Header.Get("X-Request-Id")
	if id == "" {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		id = hex.EncodeToString(b)
	}
	c.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
}

// view is what every page handler gets: the request, its session and the
// CSRF token for its forms.
type view struct {
	w       http.ResponseWriter
	r       *http.Request
	session *session
	csrf    string
}

// auth lets signed-in operators through and checks the CSRF token of every
// POST; anyone else goes to the sign-in page.
func (c *Console) auth(next func(*view)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		se, err := c.sessions.read(r)
		if err != nil && !errors.Is(err, errNoSession) {
			c.log.Error("console: session", "error", err)
			http.Error(w, "the console cannot check your session right now (see the gateway log); try again shortly", http.StatusServiceUnavailable)
			return
		}
		if err != nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/console/signin?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil || !c.sessions.checkCSRF(se, r.PostForm.Get("csrf")) {
				http.Error(w, "the form's CSRF token is missing or wrong: reload the page and try again", http.StatusForbidden)
				return
			}
		}
		next(&view{w: w, r: r, session: se, csrf: c.sessions.csrf(se)})
	})
}
