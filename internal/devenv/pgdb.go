package devenv

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"

	"github.com/lib/pq"
)

// ErrDatabaseExists is returned by CreateDatabase when the database is there already.
var ErrDatabaseExists = errors.New("database already exists")

// CreateDatabase creates database name on the server serverURL points at
// (any database of that server will do as the connection target).
func CreateDatabase(ctx context.Context, serverURL, name string) error {
	db, err := sql.Open("postgres", serverURL)
	if err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name))
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "42P04" { // duplicate_database
		return ErrDatabaseExists
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// DropDatabase drops database name, disconnecting its sessions first
// (PostgreSQL 13+), and does nothing if it does not exist.
func DropDatabase(ctx context.Context, serverURL, name string) error {
	db, err := sql.Open("postgres", serverURL)
	if err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// WithDatabase returns rawURL (a postgres:// URL) pointing at database name instead.
func WithDatabase(rawURL, name string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("parse database url: %w", err)
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return "", fmt.Errorf("database url %q: want a postgres:// URL", u.Redacted())
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String(), nil
}
