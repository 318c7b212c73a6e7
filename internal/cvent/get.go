package cvent

import (
	"context"
	"net/http"
	"net/url"
)

// GetJSON calls GET path (below the base URL) with the client's token,
// limiter and error handling, and decodes the answer into out. It serves
// APIs this package has no typed call for, such as the RFP API of the
// Supplier Network (internal/pns).
func (c *Client) GetJSON(ctx context.Context, path string, query url.Values, out any) error {
	_, err := c.do(ctx, http.MethodGet, path, query, nil, out)
	return err
}
