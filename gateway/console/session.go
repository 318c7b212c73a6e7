package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Sessions live where every gateway sees them (Options.Sessions: the
// console_sessions table), so that signing out on one gateway ends the
// session on every one. The cookie holds a random token and a MAC of it;
// the store holds only the token's SHA-256 and the expiry. The MAC's key is
// derived from the admin token (never the token itself): a cookie that was
// not issued by a gateway sharing the admin token is refused without a
// look-up, and changing the admin token signs everybody out.

const (
	sessionCookie = "cventsync_console"
	// preCookie carries the sign-in form's CSRF secret before a session exists.
	preCookie  = "cventsync_console_pre"
	sessionTTL = 12 * time.Hour
)

// SessionStore keeps console sessions by the SHA-256 of their tokens
// (*store.Store). ok is false for a session that is not there: never made,
// signed out or expired.
type SessionStore interface {
	CreateConsoleSession(ctx context.Context, tokenHash []byte, expires time.Time) error
	ConsoleSessionExpiry(ctx context.Context, tokenHash []byte) (expires time.Time, ok bool, err error)
	DeleteConsoleSession(ctx context.Context, tokenHash []byte) error
}

// sessions issues, checks and ends session cookies, and makes and checks
// CSRF tokens.
type sessions struct {
	key    []byte
	secure bool
	store  SessionStore
}

func newSessions(adminToken string, secure bool, store SessionStore) *sessions {
	m := hmac.New(sha256.New, []byte(adminToken))
	m.Write([]byte("cventsync console session v2"))
	if store == nil {
		store = &memorySessions{expires: map[string]time.Time{}}
	}
	return &sessions{key: m.Sum(nil), secure: secure, store: store}
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

// session is a signed-in browser. ID names it in CSRF tokens: the hex of
// its token's hash, never the token.
type session struct {
	ID      string
	Expires time.Time
	hash    []byte
}

// issue stores a new session and sets its cookie.
func (s *sessions) issue(ctx context.Context, w http.ResponseWriter) error {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("session token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	hash := sha256.Sum256([]byte(token))
	exp := time.Now().Add(sessionTTL)
	if err := s.store.CreateConsoleSession(ctx, hash[:], exp); err != nil {
		return err
	}
	value := token + "." + base64.RawURLEncoding.EncodeToString(s.mac("session", token))
	http.SetCookie(w, s.cookie(sessionCookie, value, exp))
	return nil
}

func (s *sessions) cookie(name, value string, exp time.Time) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/console", Expires: exp, MaxAge: int(time.Until(exp).Seconds()),
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode}
}

var errNoSession = errors.New("no valid session")

// read checks the request's session cookie: errNoSession when there is no
// valid session, another error when the store could not say.
func (s *sessions) read(r *http.Request) (*session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, errNoSession
	}
	token, sig, ok := strings.Cut(c.Value, ".")
	if !ok {
		return nil, errNoSession
	}
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, s.mac("session", token)) {
		return nil, errNoSession
	}
	hash := sha256.Sum256([]byte(token))
	exp, ok, err := s.store.ConsoleSessionExpiry(r.Context(), hash[:])
	if err != nil {
		return nil, fmt.Errorf("check the console session: %w", err)
	}
	if !ok {
		return nil, errNoSession
	}
	return &session{ID: hex.EncodeToString(hash[:]), Expires: exp, hash: hash[:]}, nil
}

// revoke signs a session out on every gateway and clears the cookie.
func (s *sessions) revoke(ctx context.Context, w http.ResponseWriter, se *session) error {
	if err := s.store.DeleteConsoleSession(ctx, se.hash); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/console", MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode})
	return nil
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

// memorySessions keeps sessions in this process only: for a console without
// a database (tests of pages). A sign-out there is not seen by any other
// gateway.
type memorySessions struct {
	mu      sync.Mutex
	expires map[string]time.Time // hex of the token hash → expiry
}

func (m *memorySessions) CreateConsoleSession(_ context.Context, hash []byte, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	for k, exp := range m.expires {
		if !exp.After(now) {
			delete(m.expires, k)
		}
	}
	m.expires[hex.EncodeToString(hash)] = expires
	return nil
}

func (m *memorySessions) ConsoleSessionExpiry(_ context.Context, hash []byte) (time.Time, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	exp, ok := m.expires[hex.EncodeToString(hash)]
	if !ok || !exp.After(time.Now()) {
		return time.Time{}, false, nil
	}
	return exp, true, nil
}

func (m *memorySessions) DeleteConsoleSession(_ context.Context, hash []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.expires, hex.EncodeToString(hash))
	return nil
}
