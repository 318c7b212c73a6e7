package console

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// safeNext keeps a post-sign-in redirect inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/console") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/console"
	}
	return next
}

func (c *Console) signinPage(w http.ResponseWriter, r *http.Request) {
	if _, err := c.sessions.read(r); err == nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	c.showSignin(w, r, http.StatusOK, "")
}

func (c *Console) showSignin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	v := &view{w: w, r: r, csrf: c.sessions.signinToken(w, r)}
	c.render(v, "signin", status, page{Title: "Sign in", Error: msg, Data: safeNext(r.FormValue("next"))})
}

func (c *Console) signin(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || !c.sessions.checkSignin(r, r.PostForm.Get("csrf")) {
		c.showSignin(w, r, http.StatusForbidden, "The form expired; please sign in again.")
		return
	}
	a, b := sha256.Sum256([]byte(r.PostForm.Get("token"))), sha256.Sum256([]byte(c.opts.AdminToken))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		c.log.Warn("console: sign-in with a wrong token", "remote", r.RemoteAddr)
		c.showSignin(w, r, http.StatusUnauthorized, "That is not the admin token.")
		return
	}
	if err := c.sessions.issue(r.Context(), w); err != nil {
		c.log.Error("console: sign-in", "error", err)
		c.showSignin(w, r, http.StatusServiceUnavailable, "Signed-in sessions cannot be stored right now (see the gateway log); try again shortly.")
		return
	}
	http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
}

// signout ends the session on every gateway (the session store is shared).
func (c *Console) signout(v *view) {
	if err := c.sessions.revoke(v.r.Context(), v.w, v.session); err != nil {
		c.fail(v, "sign-out", err)
		return
	}
	redirect(v, "/console/signin")
}
