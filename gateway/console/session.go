package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sessions are stateless: the cookie holds an expiry and a random session id,
// signed with a key derived from the admin token (never the token itself), so
// every gateway sharing the token accepts it. Changing the admin token signs
// everybody out. Sign-out also remembers the id in this process until it
// expires.

const (
	sessionCookie = "cventsync_console"
	// preCookie carries the sign-in form's CSRF secret before a session exists.
	preCookie  = "cventsync_console_pre"
	sessionTTL = 12 * time.Hour
)

// sessions signs and checks session cookies and CSRF tokens.
type sessions struct {
	key     []byte
	secure  bool
	mu      sync.Mutex
	revoked map[string]time.Time // session id → expiry
}

func newSessions(adminToken string, secure bool) *sessions {
	m := hmac.New(sha256.New, []byte(adminToken))
	m.Write([]byte("cventsync console session v1"))
	return &sessions{key: m.Sum(nil), secure: secure, revoked: map[string]time.Time{}}
}

func (s *sessions) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return m.Sum(nil)
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// session is a signed-in browser.
type session struct {
	ID      string
	Expires time.Time
}

// issue sets a new session cookie.
func (s *sessions) issue(w http.ResponseWriter) {
	id, exp := randomID(), time.Now().Add(sessionTTL)
	payload := strconv.FormatInt(exp.Unix(), 10) + "." + id
	value := payload + "." + base64.RawURLEncoding.EncodeToString(s.mac("session", payload))
	http.SetCookie(w, s.cookie(sessionCookie, value, exp))
}

func (s *sessions) cookie(name, value string, exp time.Time) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/console", Expires: exp, MaxAge: int(time.Until(exp).Seconds()),
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode}
}

var errNoSession = errors.New("no valid session")

// read checks the request's session cookie.
func (s *sessions) read(r *http.Request) (*session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, errNoSession
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 3 {
		return nil, errNoSession
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, s.mac("session", parts[0]+"."+parts[1])) {
		return nil, errNoSession
	}
	unix, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || time.Now().Unix() >= unix {
		return nil, errNoSession
	}
	s.mu.Lock()
	_, gone := s.revoked[parts[1]]
	s.mu.Unlock()
	if gone {
		return nil, errNoSession
	}
	return &session{ID: parts[1], Expires: time.Unix(unix, 0)}, nil
}

// revoke signs a session out: the cookie is cleared and the id refused here.
func (s *sessions) revoke(w http.ResponseWriter, se *session) {
	s.mu.Lock()
	now := time.Now()
	for id, exp := range s.revoked {
		if now.After(exp) {
			delete(s.revoked, id)
		}
	}
	s.revoked[se.ID] = se.Expires
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/console", MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode})
}

// csrf is the session's form token.
func (s *sessions) csrf(se *session) string {
	return hex.EncodeToString(s.mac("csrf", se.ID))
}

func (s *sessions) checkCSRF(se *session, token string) bool {
	want := s.csrf(se)
	return hmac.Equal([]byte(want), []byte(token))
}

// signinToken sets the sign-in form's pre-session cookie and answers its
// CSRF token (double submit, bound by the MAC).
func (s *sessions) signinToken(w http.ResponseWriter, r *http.Request) string {
	v := ""
	if c, err := r.Cookie(preCookie); err == nil && len(c.Value) == 32 {
		v = c.Value
	} else {
		v = randomID()
		http.SetCookie(w, s.cookie(preCookie, v, time.Now().Add(time.Hour)))
	}
	return hex.EncodeToString(s.mac("signin", v))
}

func (s *sessions) checkSignin(r *http.Request, token string) bool {
	c, err := r.Cookie(preCookie)
	if err != nil {
		return false
	}
	return hmac.Equal([]byte(hex.EncodeToString(s.mac("signin", c.Value))), []byte(token))
}
