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
	c.sessions.issue(w)
	http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
}

func (c *Console) signout(v *view) {
	c.sessions.revoke(v.w, v.session)
	redirect(v, "/console/signin")
}
