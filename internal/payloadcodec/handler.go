package payloadcodec

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"

	"go.temporal.io/sdk/converter"
)

// MaxRequestBytes bounds a codec request (the Web UI sends one history
// event's payloads at a time).
const MaxRequestBytes = 8 << 20

// HandlerOptions configure the codec endpoint.
type HandlerOptions struct {
	// Origins are the Web UI origins allowed to call from a browser
	// (e.g. http://127.0.0.1:8233); "*" is refused by NewHandler's caller.
	Origins []string
	// Token is what the Authorization header must carry ("Bearer <token>"
	// or the token alone). Never empty: the endpoint decrypts personal data.
	Token string
}

// SessionCookie carries a browser's sign-in (GET /login), for a Web UI
// that cannot send an Authorization header of its own: with "Include
// cross-origin credentials" on, the browser sends it with each request.
const SessionCookie = "cventsync_codec"

// NewHandler serves POST /decode and /encode (the Temporal Web UI's and
// CLI's remote codec protocol) for authenticated callers, with CORS for the
// configured origins. Callers present the token as "Authorization: Bearer"
// (the CLI's --codec-auth, a proxy in front of the UI, or the UI passing
// its user's token) or as the session cookie /login sets after the token
// was typed into its form. Preflight requests carry no credentials and are
// answered without them.
func NewHandler(c *Codec, o HandlerOptions) http.Handler {
	inner := converter.NewPayloadCodecHTTPHandler(c)
	want := sha256.Sum256([]byte(o.Token))
	// The cookie holds a value derived from the token, never the token.
	mac := hmac.New(sha256.New, []byte(o.Token))
	mac.Write([]byte("cventsync codec session"))
	session := hex.EncodeToString(mac.Sum(nil))
	tokenOK := func(got string) bool {
		digest := sha256.Sum256([]byte(got))
		return o.Token != "" && got != "" && subtle.ConstantTimeCompare(digest[:], want[:]) == 1
	}
	allowed := map[string]bool{}
	for _, origin := range o.Origins {
		if origin = strings.TrimRight(strings.TrimSpace(origin), "/"); origin != "" {
			allowed[origin] = true
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && allowed[origin] {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Namespace")
			h.Set("Access-Control-Max-Age", "600")
			h.Add("Vary", "Origin")
		}
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if r.URL.Path == "/login" {
			login(w, r, tokenOK, session)
			return
		}
		got := strings.TrimSpace(r.Header.Get("Authorization"))
		if len(got) > 7 && strings.EqualFold(got[:7], "bearer ") {
			got = strings.TrimSpace(got[7:])
		}
		// Fixed-length digests: the comparison reveals neither the token
		// nor its length.
		ok := tokenOK(got)
		if ck, err := r.Cookie(SessionCookie); !ok && err == nil {
			ok = subtle.ConstantTimeCompare([]byte(ck.Value), []byte(session)) == 1
		}
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="cventsync codec"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBytes)
		inner.ServeHTTP(w, r)
	})
}

const loginForm = `<!doctype html><title>cventsync codec server</title>
<form method="post" action="/login"><p>Token (CVENTSYNC_CODEC_TOKEN, or the admin token):
<input type="password" name="token" autofocus> <button>Sign in</button></p></form>`

// login shows a form for the token (GET) and, for the right one (POST),
// sets the session cookie: HttpOnly, SameSite=Strict (the Web UI on another
// port of the same host is the same site), Secure over TLS, 12 hours.
func login(w http.ResponseWriter, r *http.Request, tokenOK func(string) bool, session string) {
	w.Header().Set("Cache-Control", "no-store")
	switch r.Method {
	case http.MethodGet:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(loginForm))
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
		if !tokenOK(r.PostFormValue("token")) {
			http.Error(w, "wrong token", http.StatusUnauthorized)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: session, Path: "/", MaxAge: 12 * 3600,
			HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
		_, _ = w.Write([]byte("Signed in: the Temporal Web UI can decode payloads now (with \"Include cross-origin credentials\" on).\n"))
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}
