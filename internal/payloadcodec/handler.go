package payloadcodec

import (
	"crypto/sha256"
	"crypto/subtle"
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

// NewHandler serves POST /decode and /encode (the Temporal Web UI's and
// CLI's remote codec protocol) for authenticated callers, with CORS for the
// configured origins. Preflight requests carry no credentials and are
// answered without them.
func NewHandler(c *Codec, o HandlerOptions) http.Handler {
	inner := converter.NewPayloadCodecHTTPHandler(c)
	want := sha256.Sum256([]byte(o.Token))
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
		got := strings.TrimSpace(r.Header.Get("Authorization"))
		if len(got) > 7 && strings.EqualFold(got[:7], "bearer ") {
			got = strings.TrimSpace(got[7:])
		}
		// Fixed-length digests: the comparison reveals neither the token
		// nor its length.
		digest := sha256.Sum256([]byte(got))
		if o.Token == "" || got == "" || subtle.ConstantTimeCompare(digest[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="cventsync codec"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBytes)
		inner.ServeHTTP(w, r)
	})
}
