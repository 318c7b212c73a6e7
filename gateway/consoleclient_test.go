package gateway_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// consoleClient is a browser without JavaScript: it keeps no cookies of
// its own and does not follow redirects, so a test sees every answer.
type consoleClient struct {
	t    *testing.T
	http *http.Client
}

func newConsoleClient(t *testing.T) *consoleClient {
	return &consoleClient{t: t, http: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request with cookies and answers the status, the body and the
// answer's cookies.
func (c *consoleClient) do(method, u string, form url.Values, cookies ...*http.Cookie) (*http.Response, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// signIn signs in to the console at base with the admin token and answers
// the session cookie.
func (c *consoleClient) signIn(base string) *http.Cookie {
	c.t.Helper()
	resp, page := c.do(http.MethodGet, base+"/console/signin", nil)
	pre := resp.Cookies()
	resp, _ = c.do(http.MethodPost, base+"/console/signin", url.Values{"csrf": {hiddenValue(c.t, page, "csrf")}, "token": {adminToken}}, pre...)
	if resp.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("sign-in on %s: %d", base, resp.StatusCode)
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == "cventsync_console" && ck.Value != "" {
			return ck
		}
	}
	c.t.Fatalf("sign-in on %s set no session cookie", base)
	return nil
}
