package cvent

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestErrorBodyCut: a long Cvent error answer is kept as 1 KiB at most, in
// JSON or not, cut on a character boundary.
func TestErrorBodyCut(t *testing.T) {
	for _, body := range []string{
		strings.Repeat("é", 10<<10),
		`{"code":"X","message":"` + strings.Repeat("m", 10<<10) + `","target":"` + strings.Repeat("t", 5000) + `"}`,
	} {
		rec := httptest.NewRecorder()
		rec.WriteHeader(http.StatusBadRequest)
		rec.WriteString(body)
		err := decodeError(rec.Result())
		if msg := err.Error(); len(msg) > maxErrorText+300 || !strings.HasSuffix(strings.SplitN(msg, " (", 2)[0], "…") {
			t.Fatalf("error text of %d bytes: %.80q…", len(msg), msg)
		}
	}
}
