package gateway

import "strings"

// Role is what an API key may do. Each role includes the ones below it.
type Role int

// The roles, weakest first.
const (
	RoleNone Role = iota
	// RoleReader reads the directory, the change feed and the delivery log
	// (without bodies, which hold personal data as Cvent sent it).
	RoleReader
	// RoleOperator also replays, re-syncs, polls now, reads delivery bodies
	// and edits profiles.
	RoleOperator
	// RoleAdmin also manages integrations, credentials, destinations and keys.
	RoleAdmin
)

func (r Role) String() string {
	switch r {
	case RoleReader:
		return "reader"
	case RoleOperator:
		return "operator"
	case RoleAdmin:
		return "admin"
	}
	return "none"
}

// ParseRole reads a role name.
func ParseRole(s string) (Role, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "reader":
		return RoleReader, true
	case "operator":
		return RoleOperator, true
	case "admin":
		return RoleAdmin, true
	}
	return RoleNone, false
}

// routeRoles is the least role each admin API route needs, by method and
// Gin route pattern. A route missing here needs admin: a new route is
// closed until someone decides who may use it.
var routeRoles = map[string]Role{
	// The directory and the change feed.
	"GET /api/v1/integrations/:id/changes":                     RoleReader,
	"GET /api/v1/integrations/:id/attendees":                   RoleReader,
	"GET /api/v1/integrations/:id/attendees/:inviteeId":        RoleReader,
	"GET /api/v1/integrations/:id/attendees/:inviteeId/agenda": RoleReader,
	"GET /api/v1/integrations/:id/sessions":                    RoleReader,
	"GET /api/v1/integrations/:id/speakers":                    RoleReader,
	"GET /api/v1/integrations/:id/rfps":                        RoleReader,
	"GET /api/v1/integrations/:id/rfps/:rfpId":                 RoleReader,
	// The delivery log, without bodies (see mayReadBodies).
	"GET /api/v1/integrations/:id/deliveries":        RoleReader,
	"GET /api/v1/deliveries/:deliveryId":             RoleReader,
	"GET /api/v1/integrations/:id/stats":             RoleReader,
	"GET /api/v1/integrations/:id/resyncs/:resyncId": RoleReader,

	// Running things again, now.
	"GET /api/v1/deliveries/:deliveryId/body":                           RoleOperator,
	"POST /api/v1/deliveries/:deliveryId/replay":                        RoleOperator,
	"POST /api/v1/integrations/:id/deliveries/replay":                   RoleOperator,
	"GET /api/v1/integrations/:id/deliveries/replays/:replayId":         RoleOperator,
	"POST /api/v1/deliveries/:deliveryId/dismiss":                       RoleOperator,
	"POST /api/v1/integrations/:id/poll":                                RoleOperator,
	"POST /api/v1/integrations/:id/resync":                              RoleOperator,
	"POST /api/v1/integrations/:id/rfps/:rfpId/refresh":                 RoleOperator,
	"POST /api/v1/integrations/:id/destinations/:destinationId/replay":  RoleOperator,
	"GET /api/v1/integrations/:id/destinations/:destinationId/attempts": RoleOperator,
	"PATCH /api/v1/integrations/:id/attendees/:inviteeId":               RoleOperator,
}

// routeRole is the role a request's route needs.
func routeRole(method, fullPath string) Role {
	if r, ok := routeRoles[method+" "+fullPath]; ok {
		return r
	}
	return RoleAdmin
}

// ownAuthRoutes check their caller themselves (the platform key only).
var ownAuthRoutes = map[string]bool{
	"POST /api/v1/integrations/:id/activity": true,
}

// RouteRole is one admin API route and the least role it needs.
type RouteRole struct {
	Method, Path string
	Role         Role
}

// RouteRoles lists the admin API routes guarded by roles, as registered:
// the table the README documents and the role tests walk.
func (s *Server) RouteRoles() []RouteRole {
	var out []RouteRole
	for _, r := range s.engine.Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1/") || ownAuthRoutes[r.Method+" "+r.Path] {
			continue
		}
		out = append(out, RouteRole{Method: r.Method, Path: r.Path, Role: routeRole(r.Method, r.Path)})
	}
	return out
}
