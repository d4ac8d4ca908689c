package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/auth"
	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

// Two replicas share one database: a token revoked on one is refused there
// at once, and on the other once its cached answer is older than CacheFor.
func TestRevocationReachesOtherReplicas(t *testing.T) {
	ctx := context.Background()
	db := mustVendorDB(t)
	token, err := auth.IssueForSetup(ctx, db, 1, domain.RoleOwner, "t")
	if err != nil {
		t.Fatal(err)
	}
	here, there := auth.New(db, ""), auth.New(db, "")
	for _, s := range []*auth.Service{here, there} {
		if _, err := s.Authenticate(ctx, token); err != nil {
			t.Fatalf("a fresh token: %v", err)
		}
	}
	v, _ := here.Authenticate(ctx, token)
	if _, err := here.RevokeToken(domain.WithViewer(ctx, v), v.TokenID); err != nil {
		t.Fatal(err)
	}
	if _, err := here.Authenticate(ctx, token); domain.ErrorCode(err) != domain.CodeUnauthenticated {
		t.Fatalf("revoked on this replica, still accepted here: %v", err)
	}
	deadline := time.Now().Add(auth.CacheFor + 50*time.Millisecond)
	for {
		_, err := there.Authenticate(ctx, token)
		if domain.ErrorCode(err) == domain.CodeUnauthenticated {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("revoked on another replica, still accepted after %v: %v", auth.CacheFor, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMain(m *testing.M) { testdb.Main(m) }

// mustVendorDB is a migrated SQLite database with one organization, id 1.
func mustVendorDB(tb testing.TB) *bun.DB {
	tb.Helper()
	ctx := context.Background()
	db, err := database.Open("sqlite:" + testdb.NewSQLite(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := database.Migrate(ctx, db); err != nil {
		tb.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO organizations (id, kind, name, created_at) VALUES (1, 'VENDOR', 'V', ?)`, clock.System{}.Now()); err != nil {
		tb.Fatal(err)
	}
	return db
}

// A remembered token is never accepted past its expiry.
func TestRememberedTokenExpires(t *testing.T) {
	ctx := context.Background()
	db := mustVendorDB(t)
	s := auth.New(db, "")
	owner := domain.WithViewer(ctx, &domain.Viewer{OrganizationID: 1, Role: domain.RoleOwner})
	expiry := time.Now().Add(300 * time.Millisecond)
	token, _, err := s.CreateToken(owner, auth.CreateTokenInput{OrganizationID: 1, Role: domain.RoleViewer, Name: "short", ExpiresAt: &expiry})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, token); err != nil {
		t.Fatalf("before its expiry: %v", err)
	}
	time.Sleep(time.Until(expiry) + 50*time.Millisecond)
	if _, err := s.Authenticate(ctx, token); domain.ErrorCode(err) != domain.CodeUnauthenticated {
		t.Fatalf("after its expiry, within %v of its last use: %v", auth.CacheFor, err)
	}
}
