package cvent

import (
	"net/http"
	"time"
)

// NewHTTPClient is the HTTP client for calls to Cvent. Its transport takes
// the proxy from HTTPS_PROXY, HTTP_PROXY and NO_PROXY (http.ProxyFromEnvironment),
// so that calls can leave from a fixed address that a Cvent account's IP
// allow-list names. It is a transport of its own, so that nothing that
// changes http.DefaultTransport changes how Cvent is reached.
func NewHTTPClient(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = http.ProxyFromEnvironment
	return &http.Client{Timeout: timeout, Transport: t}
}
