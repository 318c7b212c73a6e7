package temporalconn

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/cventsync/cventsync/internal/config"
)

// pki is a throwaway CA and a client certificate it signed, as PEM files.
type pki struct {
	ca                        *x509.Certificate
	caFile, certFile, keyFile string
	certPEM, keyPEM           string
	otherKeyFile              string // a key that does not match certFile
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	caKey := newKey(t)
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "cventsync test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	clientKey := newKey(t)
	clientTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "cventsync-worker"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	clientDER, err := x509.CreateCertificate(rand.Reader, clientTmpl, ca, &clientKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	p := pki{
		ca:           ca,
		caFile:       filepath.Join(dir, "ca.pem"),
		certFile:     filepath.Join(dir, "client.pem"),
		keyFile:      filepath.Join(dir, "client.key"),
		otherKeyFile: filepath.Join(dir, "other.key"),
		certPEM:      string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: clientDER})),
		keyPEM:       keyPEM(t, clientKey),
	}
	writeFile(t, p.caFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})))
	writeFile(t, p.certFile, p.certPEM)
	writeFile(t, p.keyFile, p.keyPEM)
	writeFile(t, p.otherKeyFile, keyPEM(t, newKey(t)))
	return p
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func keyPEM(t *testing.T, k *ecdsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestOptions(t *testing.T) {
	p := newPKI(t)
	missing := filepath.Join(t.TempDir(), "absent.pem")
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	writeFile(t, notPEM, "hello")

	type want struct {
		hostPort, namespace string
		tls                 bool   // a *tls.Config is set
		certs               int    // client certificates in it
		caTrusted           bool   // RootCAs is set and trusts p.ca
		serverName          string // tls.Config.ServerName
		credentials         bool   // API key credentials are set
	}
	tests := []struct {
		name    string
		s       Settings
		want    want
		wantErr []string // substrings of the error; nil means success
	}{
		{name: "default is plaintext to the local server",
			want: want{hostPort: client.DefaultHostPort}},
		{name: "address and namespace",
			s:    Settings{Address: "temporal.internal:7233", Namespace: "cventsync"},
			want: want{hostPort: "temporal.internal:7233", namespace: "cventsync"}},
		{name: "TLS alone uses the system roots",
			s:    Settings{TLS: true},
			want: want{hostPort: client.DefaultHostPort, tls: true}},
		{name: "server name alone turns TLS on",
			s:    Settings{ServerName: "temporal.example.com"},
			want: want{hostPort: client.DefaultHostPort, tls: true, serverName: "temporal.example.com"}},
		{name: "mTLS from files with CA and server name",
			s:    Settings{Address: "ns.acct.tmprl.cloud:7233", Namespace: "ns.acct", CertFile: p.certFile, KeyFile: p.keyFile, CAFile: p.caFile, ServerName: "ns.acct.tmprl.cloud"},
			want: want{hostPort: "ns.acct.tmprl.cloud:7233", namespace: "ns.acct", tls: true, certs: 1, caTrusted: true, serverName: "ns.acct.tmprl.cloud"}},
		{name: "mTLS from PEM data",
			s:    Settings{CertPEM: p.certPEM, KeyPEM: p.keyPEM},
			want: want{hostPort: client.DefaultHostPort, tls: true, certs: 1}},
		{name: "CA alone",
			s:    Settings{CAFile: p.caFile},
			want: want{hostPort: client.DefaultHostPort, tls: true, caTrusted: true}},
		{name: "API key implies TLS",
			s:    Settings{Address: "ns.acct.tmprl.cloud:7233", Namespace: "ns.acct", APIKey: "secret-key"},
			want: want{hostPort: "ns.acct.tmprl.cloud:7233", namespace: "ns.acct", tls: true, credentials: true}},
		{name: "API key with mTLS",
			s:    Settings{APIKey: "secret-key", CertFile: p.certFile, KeyFile: p.keyFile},
			want: want{hostPort: client.DefaultHostPort, tls: true, certs: 1, credentials: true}},
		{name: "blank API key is no API key",
			s:    Settings{APIKey: "  \n"},
			want: want{hostPort: client.DefaultHostPort}},

		{name: "cert without key", s: Settings{CertFile: p.certFile},
			wantErr: []string{"TEMPORAL_TLS_CERT is set but TEMPORAL_TLS_KEY is not"}},
		{name: "cert data without key", s: Settings{CertPEM: p.certPEM},
			wantErr: []string{"TEMPORAL_TLS_CERT_DATA is set but TEMPORAL_TLS_KEY is not"}},
		{name: "key without cert", s: Settings{KeyFile: p.keyFile},
			wantErr: []string{"TEMPORAL_TLS_KEY is set but TEMPORAL_TLS_CERT is not"}},
		{name: "unreadable cert file", s: Settings{CertFile: missing, KeyFile: p.keyFile},
			wantErr: []string{"TEMPORAL_TLS_CERT: ", "absent.pem"}},
		{name: "unreadable key file", s: Settings{CertFile: p.certFile, KeyFile: missing},
			wantErr: []string{"TEMPORAL_TLS_KEY: ", "absent.pem"}},
		{name: "unreadable CA file", s: Settings{CAFile: missing},
			wantErr: []string{"TEMPORAL_TLS_CA: ", "absent.pem"}},
		{name: "CA file without a certificate", s: Settings{CAFile: notPEM},
			wantErr: []string{"TEMPORAL_TLS_CA: no PEM certificate in", "not.pem"}},
		{name: "key of another certificate", s: Settings{CertFile: p.certFile, KeyFile: p.otherKeyFile},
			wantErr: []string{"TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: "}},
		{name: "cert file and data both", s: Settings{CertFile: p.certFile, CertPEM: p.certPEM, KeyFile: p.keyFile},
			wantErr: []string{"TEMPORAL_TLS_CERT and TEMPORAL_TLS_CERT_DATA are both set"}},
		{name: "key data not PEM", s: Settings{CertFile: p.certFile, KeyPEM: "/etc/client.key"},
			wantErr: []string{"TEMPORAL_TLS_KEY_DATA: not PEM"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := Options(tt.s, nil)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("no error, want one containing %q", tt.wantErr)
				}
				for _, sub := range tt.wantErr {
					if !strings.Contains(err.Error(), sub) {
						t.Errorf("error %q does not contain %q", err, sub)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			w := tt.want
			if opts.HostPort != w.hostPort || opts.Namespace != w.namespace {
				t.Errorf("HostPort, Namespace = %q, %q; want %q, %q", opts.HostPort, opts.Namespace, w.hostPort, w.namespace)
			}
			if got := opts.Credentials != nil; got != w.credentials {
				t.Errorf("Credentials set = %v, want %v", got, w.credentials)
			}
			if opts.ConnectionOptions.TLSDisabled {
				t.Error("TLSDisabled is set")
			}
			tc := opts.ConnectionOptions.TLS
			if got := tc != nil; got != w.tls {
				t.Fatalf("TLS set = %v, want %v", got, w.tls)
			}
			if got := tt.s.TLSEnabled(); got != w.tls {
				t.Errorf("TLSEnabled() = %v, want %v", got, w.tls)
			}
			if tc == nil {
				return
			}
			if tc.MinVersion != tls.VersionTLS12 {
				t.Errorf("MinVersion = %#x, want TLS 1.2", tc.MinVersion)
			}
			if tc.InsecureSkipVerify {
				t.Error("InsecureSkipVerify is set")
			}
			if len(tc.Certificates) != w.certs {
				t.Fatalf("%d client certificates, want %d", len(tc.Certificates), w.certs)
			}
			if w.certs == 1 {
				leaf, err := x509.ParseCertificate(tc.Certificates[0].Certificate[0])
				if err != nil {
					t.Fatal(err)
				}
				if leaf.Subject.CommonName != "cventsync-worker" {
					t.Errorf("client certificate is %q", leaf.Subject.CommonName)
				}
			}
			if w.caTrusted {
				if tc.RootCAs == nil {
					t.Fatal("RootCAs is nil, want the CA")
				}
				want := x509.NewCertPool()
				want.AddCert(p.ca)
				if !tc.RootCAs.Equal(want) {
					t.Error("RootCAs is not exactly the test CA")
				}
			} else if tc.RootCAs != nil {
				t.Error("RootCAs is set; want the system roots")
			}
			if tc.ServerName != w.serverName {
				t.Errorf("ServerName = %q, want %q", tc.ServerName, w.serverName)
			}
		})
	}
}

func TestOptionsLogger(t *testing.T) {
	opts, err := Options(Settings{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if opts.Logger == nil {
		t.Error("Logger is nil with a logger given")
	}
	if opts, _ := Options(Settings{}, nil); opts.Logger != nil {
		t.Error("Logger is set without a logger given")
	}
}

func TestSecurity(t *testing.T) {
	for s, want := range map[Settings]string{
		{}:                                       "plaintext",
		{TLS: true}:                              "tls",
		{CertFile: "c", KeyFile: "k"}:            "mtls",
		{APIKey: "x"}:                            "tls+api-key",
		{CertPEM: "c", KeyPEM: "k", APIKey: "x"}: "mtls+api-key",
	} {
		if got := s.Security(); got != want {
			t.Errorf("%+v: Security() = %q, want %q", s, got, want)
		}
	}
}

// TestAPIKeyHeader dials with the built options and catches the first RPC
// (GetSystemInfo) in an interceptor that runs after the SDK's own, before
// anything goes on the wire: the API key travels as "Authorization: Bearer".
func TestAPIKeyHeader(t *testing.T) {
	opts, err := Options(Settings{Address: "127.0.0.1:1", Namespace: "ns.acct", APIKey: "secret-key"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got metadata.MD
	capture := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
		got, _ = metadata.FromOutgoingContext(ctx)
		return nil // answer with an empty reply; nothing is dialled
	}
	opts.ConnectionOptions.DialOptions = append(opts.ConnectionOptions.DialOptions, grpc.WithChainUnaryInterceptor(capture))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if auth := got.Get("authorization"); !reflect.DeepEqual(auth, []string{"Bearer secret-key"}) {
		t.Errorf("authorization metadata = %q, want [Bearer secret-key]", auth)
	}
}

// TestFromConfig reads every variable through config.Load, so a wrong env
// tag or a field left out of FromConfig shows.
func TestFromConfig(t *testing.T) {
	for k, v := range map[string]string{
		"TEMPORAL_ADDRESS":         "ns.acct.tmprl.cloud:7233",
		"TEMPORAL_NAMESPACE":       "ns.acct",
		"TEMPORAL_TLS":             "true",
		"TEMPORAL_TLS_CERT":        "/etc/temporal/client.pem",
		"TEMPORAL_TLS_KEY":         "/etc/temporal/client.key",
		"TEMPORAL_TLS_CERT_DATA":   "cert-pem",
		"TEMPORAL_TLS_KEY_DATA":    "key-pem",
		"TEMPORAL_TLS_CA":          "/etc/temporal/ca.pem",
		"TEMPORAL_TLS_SERVER_NAME": "ns.acct.tmprl.cloud",
		"TEMPORAL_API_KEY":         "secret-key",
	} {
		t.Setenv(k, v)
	}
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	want := Settings{
		Address: "ns.acct.tmprl.cloud:7233", Namespace: "ns.acct", TLS: true,
		CertFile: "/etc/temporal/client.pem", KeyFile: "/etc/temporal/client.key",
		CertPEM: "cert-pem", KeyPEM: "key-pem", CAFile: "/etc/temporal/ca.pem",
		ServerName: "ns.acct.tmprl.cloud", APIKey: "secret-key",
	}
	if got := FromConfig(cfg); got != want {
		t.Errorf("FromConfig = %+v\nwant %+v", got, want)
	}
}
