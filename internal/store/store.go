// Package store owns cventsync's PostgreSQL schema and every SQL statement run
// against it: integrations, the delivery log and the synced attendee directory.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // PostgreSQL driver
	"github.com/pressly/goose/v3"
	"golang.org/x/sync/errgroup"
)

//go:embed migrations/*.sql
var migrations embed.FS

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// Store is the PostgreSQL-backed repository.
type Store struct {
	db    *sqlx.DB
	bulk  *sqlx.DB // reads of large bytea values (body chunks): binary results
	url   string   // for LISTEN connections (Notifier)
	waker drainerWaker
}

// PoolSize is the most connections a Store opens (the bulk pool aside).
const PoolSize = 20

// Open connects to PostgreSQL and checks the connection.
func Open(ctx context.Context, url string) (*Store, error) {
	db, err := sqlx.Open("postgres", withOneRoundTrip(url))
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	db.SetMaxOpenConns(PoolSize)
	db.SetMaxIdleConns(PoolSize)
	// Idle connections stay a while: Cvent's bursts come after quiet
	// spells, and a burst that must first open its connections waits for
	// PostgreSQL to start a backend for each (hundreds of ms on a busy host).
	db.SetConnMaxIdleTime(30 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	// Large bytea values come back hex-encoded as text from a one-round-trip
	// query (twice their size, and encoded and decoded on the way); the
	// bulk pool reads them in binary, at the cost of a second round trip.
	bulk, err := sqlx.Open("postgres", url)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	bulk.SetMaxOpenConns(4)
	bulk.SetMaxIdleConns(1)
	bulk.SetConnMaxIdleTime(time.Minute)
	st := &Store{db: db, bulk: bulk, url: url}
	st.waker.s = st
	return st, nil
}

// Warm opens n connections of the pool at once and leaves them idle, so
// that the first burst of requests does not wait while PostgreSQL starts a
// backend for each.
func (s *Store) Warm(ctx context.Context, n int) error {
	conns := make([]*sql.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	var mu sync.Mutex
	var g errgroup.Group
	for range n {
		g.Go(func() error {
			c, err := s.db.Conn(ctx)
			if err != nil {
				return err
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			return c.PingContext(ctx)
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("warm the connection pool: %w", err)
	}
	return nil
}

// Close closes the connection pool.
func (s *Store) Close() error { return errors.Join(s.db.Close(), s.bulk.Close()) }

// DB exposes the pool for tests and benchmarks that need raw SQL.
func (s *Store) DB() *sqlx.DB { return s.db }

// Migrate applies every pending migration; it is safe to run concurrently from
// several processes because goose takes a session lock.
func (s *Store) Migrate(ctx context.Context) error {
	provider, err := goose.NewProvider(goose.DialectPostgres, s.db.DB, mustSub(migrations, "migrations"),
		goose.WithSessionLocker(mustLocker()))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}

func (s *Store) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// withOneRoundTrip asks lib/pq to send a query with parameters in one round
// trip (binary_parameters): otherwise it parses and describes the statement
// first and waits, then binds and executes it, two round trips for every
// statement. In this mode []byte parameters travel in binary, so they may
// only go to bytea columns; JSON goes as a string.
func withOneRoundTrip(url string) string {
	if strings.Contains(url, "binary_parameters") {
		return url
	}
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		if strings.Contains(url, "?") {
			return url + "&binary_parameters=yes"
		}
		return url + "?binary_parameters=yes"
	}
	return url + " binary_parameters=yes"
}
