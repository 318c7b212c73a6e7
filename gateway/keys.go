package gateway

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/lib/pq"

	"github.com/cventsync/cventsync/internal/secret"
	"github.com/cventsync/cventsync/internal/store"
)

// Named API keys: POST, GET and DELETE /api/v1/keys (admin role, not limited
// to integrations, since such a key could otherwise mint itself a wider one).

type createKeyRequest struct {
	Name         string   `json:"name"`
	Role         string   `json:"role"`
	Integrations []string `json:"integrations"`
}

type keyJSON struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Role         string   `json:"role"`
	Integrations []string `json:"integrations"`
	// Key is the key itself, in the create answer only.
	Key        string     `json:"key,omitempty"`
	Masked     string     `json:"masked"`
	CreatedAt  time.Time  `json:"createdAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
	RevokedAt  *time.Time `json:"revokedAt"`
}

func toKeyJSON(k *store.APIKey) keyJSON {
	ids := []string(k.IntegrationIDs)
	if ids == nil {
		ids = []string{}
	}
	return keyJSON{ID: k.ID, Name: k.Name, Role: k.Role, Integrations: ids, Masked: "…" + k.Hint,
		CreatedAt: k.CreatedAt, LastUsedAt: nullTimePtr(k.LastUsedAt), RevokedAt: nullTimePtr(k.RevokedAt)}
}

// NewAPIKey makes a key for the store and returns it with its secret, shown
// once. The CLI (cventsync keys create) uses it too.
func NewAPIKey(name, role string, integrations []string) (*store.APIKey, string, error) {
	name = strings.TrimSpace(name)
	var problems []string
	if name == "" {
		problems = append(problems, "name is required")
	}
	r, ok := ParseRole(role)
	if !ok {
		problems = append(problems, `role must be "reader", "operator" or "admin"`)
	}
	ids := pq.StringArray{}
	for _, id := range integrations {
		if id = strings.TrimSpace(id); id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(problems) > 0 {
		return nil, "", &keyError{problems}
	}
	id, key := secret.NewAPIKey()
	return &store.APIKey{ID: id, Name: name, Role: r.String(), IntegrationIDs: ids,
		KeyHash: secret.HashToken(key), Hint: key[len(key)-4:]}, key, nil
}

type keyError struct{ problems []string }

func (e *keyError) Error() string { return strings.Join(e.problems, "; ") }

func (s *Server) createKey(c *gin.Context) {
	var req createKeyRequest
	if err := json.NewDecoder(c.Request.Body).Decode(&req); err != nil {
		abort(c, http.StatusBadRequest, `body must be {"name": "...", "role": "reader"|"operator"|"admin", "integrations": ["<id>", ...]}`)
		return
	}
	k, key, err := NewAPIKey(req.Name, req.Role, req.Integrations)
	var ke *keyError
	if errors.As(err, &ke) {
		c.AbortWithStatusJSON(http.StatusBadRequest, errorBody{Error: ke.Error(), Details: ke.problems})
		return
	}
	for _, id := range k.IntegrationIDs {
		if _, err := s.opts.Store.GetIntegration(c, id); errors.Is(err, store.ErrNotFound) {
			abort(c, http.StatusBadRequest, "integrations: no integration with id "+id)
			return
		} else if err != nil {
			s.internalError(c, "load integration", err)
			return
		}
	}
	if err := s.opts.Store.CreateAPIKey(c, k); err != nil {
		s.internalError(c, "create API key", err)
		return
	}
	s.log.Info("API key created", "key", k.ID, "name", k.Name, "role", k.Role, "integrations", []string(k.IntegrationIDs))
	out := toKeyJSON(k)
	out.Key = key // shown once; only its hash is stored
	c.JSON(http.StatusCreated, out)
}

func (s *Server) listKeys(c *gin.Context) {
	list, err := s.opts.Store.ListAPIKeys(c)
	if err != nil {
		s.internalError(c, "list API keys", err)
		return
	}
	out := make([]keyJSON, len(list))
	for i := range list {
		out[i] = toKeyJSON(&list[i])
	}
	c.JSON(http.StatusOK, gin.H{"keys": out})
}

func (s *Server) revokeKey(c *gin.Context) {
	k, err := s.opts.Store.RevokeAPIKey(c, c.Param("keyId"))
	if errors.Is(err, store.ErrNotFound) {
		abort(c, http.StatusNotFound, "no API key with id "+c.Param("keyId"))
		return
	}
	if err != nil {
		s.internalError(c, "revoke API key", err)
		return
	}
	s.log.Info("API key revoked", "key", k.ID, "name", k.Name)
	c.JSON(http.StatusOK, toKeyJSON(k))
}
