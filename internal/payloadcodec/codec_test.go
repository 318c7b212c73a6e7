package payloadcodec_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/cventsync/cventsync/internal/payloadcodec"
)

const (
	k1 = "k1:" + "1111111111111111111111111111111111111111111111111111111111111111"
	k2 = "k2:" + "2222222222222222222222222222222222222222222222222222222222222222"
)

func codec(t *testing.T, keys string) *payloadcodec.Codec {
	t.Helper()
	parsed, err := payloadcodec.ParseKeys(keys)
	if err != nil {
		t.Fatal(err)
	}
	c, err := payloadcodec.New(parsed)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRoundTripAndRotation(t *testing.T) {
	old := codec(t, k1)
	plain, _ := converter.GetDefaultDataConverter().ToPayload(map[string]string{"email": "ada@example.com"})
	enc, err := old.Encode([]*commonpb.Payload{plain})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(enc[0].Metadata["encoding"]); got != payloadcodec.Encoding {
		t.Fatalf("encoding %q", got)
	}
	if bytes.Contains(enc[0].Data, []byte("ada@example.com")) {
		t.Fatal("plaintext in the encrypted payload")
	}
	// k2 rotated in: new payloads use k2, old ones still decrypt with k1.
	rotated := codec(t, k2+","+k1)
	dec, err := rotated.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dec[0].Data, plain.Data) {
		t.Fatalf("decoded %q", dec[0].Data)
	}
	enc2, _ := rotated.Encode([]*commonpb.Payload{plain})
	if id := string(enc2[0].Metadata[payloadcodec.MetadataKeyID]); id != "k2" {
		t.Fatalf("encrypted with %q, want k2", id)
	}
	if _, err := old.Decode(enc2); err == nil {
		t.Fatal("a codec without k2 decoded a k2 payload")
	}
	// A payload relabelled with another key id fails authentication.
	enc2[0].Metadata[payloadcodec.MetadataKeyID] = []byte("k1")
	if _, err := rotated.Decode(enc2); err == nil {
		t.Fatal("relabelled payload decoded")
	}
	// Plain payloads pass through.
	if dec, err := rotated.Decode([]*commonpb.Payload{plain}); err != nil || dec[0] != plain {
		t.Fatalf("plain payload: %v", err)
	}
}

func TestParseKeysRejects(t *testing.T) {
	for _, bad := range []string{"k1", "k1:abcd", "k1:" + strings.Repeat("z", 64), k1 + "," + k1, "a b:" + strings.Repeat("1", 64)} {
		if _, err := payloadcodec.ParseKeys(bad); err == nil {
			t.Errorf("%q accepted", bad)
		} else if strings.Contains(err.Error(), strings.Repeat("1", 64)) {
			t.Errorf("error quotes the secret: %v", err)
		}
	}
	if keys, err := payloadcodec.ParseKeys(""); err != nil || keys != nil {
		t.Fatalf("empty: %v %v", keys, err)
	}
}

func TestHandlerAuthAndCORS(t *testing.T) {
	c := codec(t, k1)
	h := payloadcodec.NewHandler(c, payloadcodec.HandlerOptions{Origins: []string{"http://127.0.0.1:8233"}, Token: "tok"})
	plain, _ := converter.GetDefaultDataConverter().ToPayload("ada@example.com")
	enc, _ := c.Encode([]*commonpb.Payload{plain})
	body, _ := json.Marshal(commonpb.Payloads{Payloads: enc})

	call := func(method, auth, origin string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "/decode", bytes.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := call(http.MethodPost, "", ""); rec.Code != http.StatusUnauthorized {
		t.Fatalf("no token: %d", rec.Code)
	}
	if rec := call(http.MethodPost, "Bearer wrong", ""); rec.Code != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", rec.Code)
	}
	pre := call(http.MethodOptions, "", "http://127.0.0.1:8233")
	if pre.Code != http.StatusNoContent || pre.Header().Get("Access-Control-Allow-Origin") != "http://127.0.0.1:8233" {
		t.Fatalf("preflight: %d %v", pre.Code, pre.Header())
	}
	if other := call(http.MethodOptions, "", "http://evil.test"); other.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("CORS allowed an unconfigured origin")
	}
	rec := call(http.MethodPost, "Bearer tok", "http://127.0.0.1:8233")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "ImFkYUBleGFtcGxlLmNvbSI") { // base64 of "ada@example.com" in JSON
		t.Fatalf("decode: %d %s", rec.Code, rec.Body)
	}
}

// A browser signs in once with the token and then decodes with the cookie.
func TestHandlerLoginCookie(t *testing.T) {
	c := codec(t, k1)
	h := payloadcodec.NewHandler(c, payloadcodec.HandlerOptions{Origins: []string{"http://127.0.0.1:8233"}, Token: "tok"})
	form := func(token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader("token="+token))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := form("wrong"); rec.Code != http.StatusUnauthorized || len(rec.Result().Cookies()) != 0 {
		t.Fatalf("wrong token: %d %v", rec.Code, rec.Result().Cookies())
	}
	rec := form("tok")
	cookies := rec.Result().Cookies()
	if rec.Code != http.StatusOK || len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].Value == "tok" {
		t.Fatalf("sign-in: %d %+v", rec.Code, cookies)
	}
	plain, _ := converter.GetDefaultDataConverter().ToPayload("x")
	enc, _ := c.Encode([]*commonpb.Payload{plain})
	body, _ := json.Marshal(commonpb.Payloads{Payloads: enc})
	req := httptest.NewRequest(http.MethodPost, "/decode", bytes.NewReader(body))
	req.AddCookie(cookies[0])
	out := httptest.NewRecorder()
	h.ServeHTTP(out, req)
	if out.Code != http.StatusOK {
		t.Fatalf("decode with the session cookie: %d %s", out.Code, out.Body)
	}
	req = httptest.NewRequest(http.MethodPost, "/decode", bytes.NewReader(body))
	req.AddCookie(&http.Cookie{Name: payloadcodec.SessionCookie, Value: "forged"})
	out = httptest.NewRecorder()
	h.ServeHTTP(out, req)
	if out.Code != http.StatusUnauthorized {
		t.Fatalf("forged cookie: %d", out.Code)
	}
}
