package gateway

import (
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cventsync/cventsync/gateway/console"
)

// consoleRoutes serves the operator console at /console. It calls this
// gateway's admin API in process; the only thing it keeps in the database is
// its sessions, so that a sign-out on one gateway holds on every one.
func (s *Server) consoleRoutes(r *gin.Engine) {
	opts := console.Options{API: s.engine, AdminToken: s.opts.AdminToken,
		TemporalUIURL: s.opts.TemporalUIURL, Namespace: s.opts.TemporalNamespace,
		SecureCookies: strings.HasPrefix(s.opts.PublicURL, "https://"), Logger: s.log}
	if s.opts.Store != nil {
		opts.Sessions = s.opts.Store
	}
	con := console.New(opts)
	h := gin.WrapH(con)
	r.GET("/console", h)
	r.Any("/console/*path", h)
}
