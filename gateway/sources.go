package gateway

import (
	"bytes"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/cventsync/cventsync/internal/settings"
	"github.com/cventsync/cventsync/internal/sources"
	"github.com/cventsync/cventsync/internal/store"
)

// sourceAllowed answers 403 and returns false when the integration lists
// the networks its webhooks may come from and this request's client is not
// in them. X-Forwarded-For counts only from Options.TrustedProxies.
func (s *Server) sourceAllowed(c *gin.Context, in *store.Integration) bool {
	if !bytes.Contains(in.Settings, []byte(`"`+sources.SettingsSection+`"`)) {
		return true // the common case, without decoding the settings on every webhook
	}
	var cfg sources.Config
	if err := settings.Decode(in.Settings, sources.SettingsSection, &cfg); err != nil || len(cfg.AllowFrom) == 0 {
		return true // validated when stored; nothing listed allows every source
	}
	allow, err := sources.ParsePrefixes(cfg.AllowFrom)
	if err != nil {
		s.log.Error("stored webhooks.allowFrom does not parse", "integration", in.ID, "error", err)
		abort(c, http.StatusForbidden, "source address not allowed")
		return false
	}
	addr, ok := sources.ClientAddr(c.Request.RemoteAddr, c.Request.Header.Values("X-Forwarded-For"), s.opts.TrustedProxies)
	if !ok || !sources.Contains(allow, addr) {
		s.log.Warn("webhook from a source not allowed", "integration", in.ID, "source", addr.String())
		abort(c, http.StatusForbidden, "source address "+addr.String()+" is not in this integration's webhooks.allowFrom")
		return false
	}
	return true
}
