package gateway

import (
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cventsync/cventsync/gateway/console"
)

// consoleRoutes serves the operator console at /console. It calls this
// gateway's admin API in process, so it needs no store access of its own.
func (s *Server) consoleRoutes(r *gin.Engine) {
	con := console.New(console.Options{API: s.engine, AdminToken: s.opts.AdminToken,
		TemporalUIURL: s.opts.TemporalUIURL, Namespace: s.opts.TemporalNamespace,
		SecureCookies: strings.HasPrefix(s.opts.PublicURL, "https://"), Logger: s.log})
	h := gin.WrapH(con)
	r.GET("/console", h)
	r.Any("/console/*path", h)
}
