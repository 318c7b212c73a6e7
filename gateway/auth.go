package gateway

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cventsync/cventsync/internal/secret"
	"github.com/cventsync/cventsync/internal/store"
)

// Who may call the admin API: the bootstrap admin token
// (CVENTSYNC_ADMIN_TOKEN), named API keys with a role (gateway/keys.go), and
// on the routes registered with requireReader an integration's platform key.

// callerKey records in the Gin context who the caller is (*principal).
const callerKey = "cventsync.caller"

// principal is an authenticated caller.
type principal struct {
	kind string // "admin-token", "api-key" or "platform"
	role Role
	// keyID names the API key; "" for the admin token and platform keys.
	keyID string
	// integrations limits the caller; empty means every integration.
	integrations []string
}

// mayUse reports whether the caller may touch the integration.
func (p *principal) mayUse(integrationID string) bool {
	return len(p.integrations) == 0 || slices.Contains(p.integrations, integrationID)
}

// caller is the request's principal, nil before authorization.
func caller(c *gin.Context) *principal {
	p, _ := c.Get(callerKey)
	pr, _ := p.(*principal)
	return pr
}

// mayReadBodies reports whether the caller may see delivery bodies (the
// personal data as Cvent sent it): operators and admins.
func mayReadBodies(c *gin.Context) bool {
	p := caller(c)
	return p != nil && p.role >= RoleOperator
}

// requireAdmin guards the /api/v1 group: an admin token or API key whose
// role the route allows (routeRoles), limited to its integrations.
func (s *Server) requireAdmin(c *gin.Context) { s.authorize(c, false) }

// requireReader guards the routes the platform uses too: the same as
// requireAdmin, and the integration's own platform key may read the
// directory and the change feed and edit profiles.
func (s *Server) requireReader(c *gin.Context) { s.authorize(c, true) }

func (s *Server) authorize(c *gin.Context, platformOK bool) {
	// Bad input first: the checks below read the path and the headers.
	if !s.checkInput(c) {
		return
	}
	// The Bearer scheme is required: a bare token in the header is refused,
	// so a key pasted into the wrong header is not accepted by accident.
	token, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	var p *principal
	var err error
	if ok {
		p, err = s.authenticate(c, token, platformOK)
	}
	if err != nil {
		s.internalError(c, "check API key", err)
		return
	}
	if p == nil {
		c.Header("WWW-Authenticate", `Bearer realm="cventsync"`)
		abort(c, http.StatusUnauthorized, "missing, unknown or revoked key: send Authorization: Bearer <API key>, the admin token or (on directory and change feed routes) the integration's platform key")
		return
	}
	if p.kind != "platform" {
		if need := routeRole(c.Request.Method, c.FullPath()); p.role < need {
			abort(c, http.StatusForbidden, "this key's role is "+p.role.String()+"; "+c.Request.Method+" "+c.FullPath()+" needs "+need.String())
			return
		}
	}
	if ok, err := s.inScope(c, p); err != nil {
		s.internalError(c, "check key scope", err)
		return
	} else if !ok {
		abort(c, http.StatusForbidden, "this key is limited to other integrations")
		return
	}
	c.Set(callerKey, p)
	c.Next()
}

// authenticate finds who token belongs to; nil when nobody. Every secret is
// compared in constant time over fixed-length digests.
func (s *Server) authenticate(c *gin.Context, token string, platformOK bool) (*principal, error) {
	if token == "" {
		return nil, nil
	}
	if s.opts.AdminToken != "" && secret.Equal(token, s.opts.AdminToken) {
		return &principal{kind: "admin-token", role: RoleAdmin}, nil
	}
	if id, ok := secret.ParseAPIKey(token); ok {
		k, err := s.opts.Store.GetAPIKey(c, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		// Revocation is read from the database on every request, so a
		// revoked key is refused at once by every gateway.
		if !secret.TokenMatches(k.KeyHash, token) || k.RevokedAt.Valid {
			return nil, nil
		}
		role, ok := ParseRole(k.Role)
		if !ok {
			return nil, nil
		}
		s.keyUse.touch(s, k.ID)
		return &principal{kind: "api-key", role: role, keyID: k.ID, integrations: k.IntegrationIDs}, nil
	}
	if platformOK && c.Param("id") != "" {
		in, err := s.opts.Store.GetIntegration(c, c.Param("id"))
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if len(in.PlatformKeyHash) > 0 && secret.TokenMatches(in.PlatformKeyHash, token) {
			return &principal{kind: "platform", role: RoleReader, integrations: []string{in.ID}}, nil
		}
	}
	return nil, nil
}

// inScope checks a caller limited to some integrations against the
// integration the route names: in its path, or the delivery's. A limited
// caller may not use routes that name no integration (listing or creating
// integrations, managing keys).
func (s *Server) inScope(c *gin.Context, p *principal) (bool, error) {
	if len(p.integrations) == 0 {
		return true, nil
	}
	if id := c.Param("id"); id != "" {
		return p.mayUse(id), nil
	}
	if raw := c.Param("deliveryId"); raw != "" {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return true, nil // the handler answers 400
		}
		integrationID, err := s.opts.Store.DeliveryIntegrationID(c, id)
		if errors.Is(err, store.ErrNotFound) {
			return true, nil // the handler answers 404
		}
		if err != nil {
			return false, err
		}
		return p.mayUse(integrationID), nil
	}
	return false, nil
}

// keyUse records when API keys were last used, at most once a minute per
// key and gateway, off the request path: not a write per request.
type keyUse struct {
	mu   sync.Mutex
	last map[string]time.Time
}

const keyUseEvery = time.Minute

func (u *keyUse) touch(s *Server, id string) {
	now := time.Now()
	u.mu.Lock()
	if u.last == nil {
		u.last = map[string]time.Time{}
	}
	if now.Sub(u.last[id]) < keyUseEvery {
		u.mu.Unlock()
		return
	}
	u.last[id] = now
	u.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.opts.Store.TouchAPIKey(ctx, id, now); err != nil {
			s.log.Warn("record API key use", "key", id, "error", err)
		}
	}()
}
