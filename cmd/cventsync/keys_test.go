package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/cventsync/cventsync/internal/config"
	"github.com/cventsync/cventsync/internal/secret"
	"github.com/cventsync/cventsync/internal/store"
	"github.com/cventsync/cventsync/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// `cventsync keys create` prints the key once (only its hash is stored),
// `keys list` shows it masked, `keys revoke` revokes it.
func TestKeysCommand(t *testing.T) {
	cfg := &config.Config{DatabaseURL: testenv.DatabaseURL(t), DataDir: t.TempDir()}
	run := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		root := newRoot(cfg)
		root.SetOut(&out)
		root.SetErr(&errOut)
		root.SetArgs(args)
		err := root.ExecuteContext(context.Background())
		return out.String(), errOut.String(), err
	}
	if _, _, err := run("keys", "create", "--role", "root"); err == nil {
		t.Fatal("keys create --role root: no error")
	}
	if _, _, err := run("keys", "create", "--role", "reader", "--integration", "no-such"); err == nil || !strings.Contains(err.Error(), "no-such") {
		t.Fatalf("keys create for an unknown integration: %v", err)
	}
	out, note, err := run("keys", "create", "--role", "operator", "--name", "ops")
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(out)
	id, ok := secret.ParseAPIKey(key)
	if !ok || !strings.Contains(note, "shown once") {
		t.Fatalf("keys create printed %q (and %q): want the key alone on stdout", out, note)
	}
	st, err := store.Open(context.Background(), cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	k, err := st.GetAPIKey(context.Background(), id)
	if err != nil || !secret.TokenMatches(k.KeyHash, key) || k.Role != "operator" {
		t.Fatalf("stored key %+v, %v", k, err)
	}
	list, _, err := run("keys", "list")
	if err != nil || strings.Contains(list, key) || !strings.Contains(list, "…"+key[len(key)-4:]) || !strings.Contains(list, "ops") {
		t.Fatalf("keys list: %v\n%s", err, list)
	}
	if _, _, err := run("keys", "revoke", id); err != nil {
		t.Fatal(err)
	}
	if k, _ = st.GetAPIKey(context.Background(), id); !k.RevokedAt.Valid {
		t.Fatal("keys revoke: the key is not revoked")
	}
	if _, _, err := run("keys", "revoke", "0000000000000000"); err == nil {
		t.Fatal("revoking an unknown key: no error")
	}
}
