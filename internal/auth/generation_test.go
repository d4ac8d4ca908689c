package auth_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/channelgraph/channelgraph/internal/auth"
	"github.com/channelgraph/channelgraph/internal/domain"
)

// A replica watching the credential generation keeps trusting a token it
// read past CacheFor — so a thousand rotating tokens cost no lookup each —
// until a revocation elsewhere moves the generation; then it refuses the
// revoked token within CacheFor. When it stops watching, it reads tokens
// again after CacheFor.
func TestWatchedTokensStayTrustedUntilACredentialChanges(t *testing.T) {
	ctx := context.Background()
	db := mustVendorDB(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	here, there := auth.New(db, ""), auth.New(db, "")
	watchCtx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	done := make(chan struct{})
	go func() { there.WatchCredentials(watchCtx, quiet); close(done) }()

	kept, err := auth.IssueForSetup(ctx, db, 1, domain.RoleOwner, "kept")
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := auth.IssueForSetup(ctx, db, 1, domain.RoleOwner, "revoked")
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{kept, revoked} {
		if _, err := there.Authenticate(ctx, tok); err != nil {
			t.Fatalf("a fresh token: %v", err)
		}
	}
	// The row goes without a recorded change, as no API would do it: only
	// a remembered answer can still accept the token.
	if _, err := db.ExecContext(ctx, "UPDATE api_tokens SET secret_hash = 'gone' WHERE name = 'kept'"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(auth.CacheFor + 500*time.Millisecond)
	if _, err := there.Authenticate(ctx, kept); err != nil {
		t.Fatalf("a watching replica read the token again after %v with no credential changed: %v", auth.CacheFor, err)
	}

	v, err := here.Authenticate(ctx, revoked)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := here.RevokeToken(domain.WithViewer(ctx, v), v.TokenID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(auth.CacheFor)
	for {
		_, err := there.Authenticate(ctx, revoked)
		if domain.ErrorCode(err) == domain.CodeUnauthenticated {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("revoked on another replica, still accepted by a watching replica after %v: %v", auth.CacheFor, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The revocation moved the generation: every answer remembered before
	// it is read again, and the kept token's row is gone.
	if _, err := there.Authenticate(ctx, kept); domain.ErrorCode(err) != domain.CodeUnauthenticated {
		t.Fatalf("after a credential changed, a token remembered before it was not read again: %v", err)
	}

	// Stopped watching: remembered answers fall back to CacheFor.
	again, err := auth.IssueForSetup(ctx, db, 1, domain.RoleOwner, "again")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := there.Authenticate(ctx, again); err != nil {
		t.Fatal(err)
	}
	stopWatching()
	<-done
	if _, err := db.ExecContext(ctx, "UPDATE api_tokens SET secret_hash = 'gone again' WHERE name = 'again'"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(auth.CacheFor + 100*time.Millisecond)
	if _, err := there.Authenticate(ctx, again); domain.ErrorCode(err) != domain.CodeUnauthenticated {
		t.Fatalf("a replica no longer watching trusted a remembered token past %v: %v", auth.CacheFor, err)
	}
}
