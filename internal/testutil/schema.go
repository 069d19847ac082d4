package testutil

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
)

// FreshSchema creates a schema with a random name starting with prefix in
// the PostgreSQL database at base, and returns a URL whose search_path
// selects it and a function that drops it again.
func FreshSchema(ctx context.Context, base, prefix string) (schemaURL string, drop func() error, err error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, err
	}
	schema := randomName(prefix)
	if err := execOn(ctx, base, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, fmt.Errorf("PostgreSQL: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	drop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return execOn(ctx, base, "DROP SCHEMA "+schema+" CASCADE")
	}
	return u.String(), drop, nil
}

func execOn(ctx context.Context, base, sql string) error {
	c, err := pgx.Connect(ctx, base)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	_, err = c.Exec(ctx, sql)
	return err
}

// FreshDatabase creates a database with a random name starting with
// prefix in the PostgreSQL server of base, and returns a URL of it
// (base's, but for the database) and a function that drops it again:
// for tests of what a database's default schema holds, which a schema
// of FreshSchema cannot show.
func FreshDatabase(ctx context.Context, base, prefix string) (dbURL string, drop func() error, err error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, err
	}
	name := randomName(prefix)
	if err := execOn(ctx, base, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("PostgreSQL: %w", err)
	}
	u.Path = "/" + name
	drop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return execOn(ctx, base, "DROP DATABASE "+name+" WITH (FORCE)")
	}
	return u.String(), drop, nil
}

// randomName is prefix and 12 random hex digits.
func randomName(prefix string) string {
	var b [6]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}
