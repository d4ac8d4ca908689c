// Package auth turns bearer tokens into viewers (SPEC §1.3) and manages the
// opaque API tokens organizations create for their members and integrations.
// JWTs from a configured issuer sign members in too (jwt.go, jwks.go).
//
// An API token is "cgt_" followed by 32 random bytes in base32; it is shown
// once, and only its SHA-256 is stored (the token has 256 bits of entropy,
// so a fast hash is enough and keeps lookups to one indexed read).
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/policy"
)

// TokenPrefix starts every API token, so secret scanners can recognise one.
const TokenPrefix = "cgt_"

// Service authenticates requests and manages API tokens.
type Service struct {
	db         *bun.DB
	adminToken string
	// jwt verifies JWTs from the configured issuer; nil until ConfigureJWT.
	jwt *jwtVerifier
	// Now is the clock tokens expire by.
	Now func() time.Time
	// recent remembers tokens that authenticated, so a client's stream of
	// requests costs one token lookup, not one each: for CacheFor, or for
	// up to RememberFor while watch finds no credential changed.
	recent *lru.Cache[string, cachedViewer]
	watch  generationWatch
}

type cachedViewer struct {
	viewer domain.Viewer
	// generation is the credential generation known before the token was
	// read, cachedAt when it was; expires the token's own expiry, if any.
	generation int64
	cachedAt   time.Time
	expires    *time.Time
}

// CacheFor bounds how long a revocation, or a member's removal or new role,
// takes to reach every replica: at once on the replica that made it, and on
// the others within this long (by WatchCredentials, or else because a
// remembered token is read again after this long).
const CacheFor = 2 * time.Second

// New returns a Service; adminToken, when not empty, is accepted as the
// platform administrator's token (CHANNELGRAPH_ADMIN_TOKEN).
func New(db *bun.DB, adminToken string) *Service {
	recent, _ := lru.New[string, cachedViewer](100_000) // fails only for a size below 1
	return &Service{db: db, adminToken: adminToken, recent: recent, Now: clock.System{}.Now}
}

var errBadToken = domain.Errorf(domain.CodeUnauthenticated, "the bearer token is invalid, expired or revoked")

// Authenticate returns the viewer a bearer token stands for.
func (s *Service) Authenticate(ctx context.Context, token string) (*domain.Viewer, error) {
	if token == "" || len(token) > maxJWTBytes {
		return nil, errBadToken
	}
	if s.adminToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.adminToken)) == 1 {
		return &domain.Viewer{IsPlatformAdmin: true}, nil
	}
	if looksLikeJWT(token) {
		return s.authenticateJWT(ctx, token)
	}
	if !strings.HasPrefix(token, TokenPrefix) || len(token) > 200 {
		return nil, errBadToken
	}
	hash := hashSecret(token)
	now := s.Now()
	if c, ok := s.recent.Get(hash); ok && (c.expires == nil || now.Before(*c.expires)) && s.watch.trusted(c.generation, c.cachedAt, now) {
		v := c.viewer
		return &v, nil
	}
	generation := s.watch.generation.Load() // before the read: see generationWatch
	t, err := readToken(ctx, s.db, "t.secret_hash = ?", hash)
	if err != nil {
		if isNoRows(err) {
			return nil, errBadToken
		}
		return nil, err
	}
	if !t.usable(now) {
		return nil, errBadToken
	}
	v := t.viewer()
	s.recent.Add(hash, cachedViewer{viewer: v, generation: generation, cachedAt: now, expires: t.ExpiresAt})
	return &v, nil
}

// StillValid reports whether the token behind viewer is still usable; live
// subscriptions call it to end when their token expires or is revoked, and
// when the member they act as is removed or changes role (the client then
// reconnects and acts with the new role).
func (s *Service) StillValid(ctx context.Context, viewer *domain.Viewer) (bool, error) {
	if viewer.IsPlatformAdmin {
		return true, nil
	}
	now := s.Now()
	if viewer.ExpiresAt != nil && !now.Before(*viewer.ExpiresAt) {
		return false, nil
	}
	if viewer.TokenID == 0 {
		// Signed in with a JWT: valid while unexpired and the member is
		// current, with the role it signed in with.
		return s.memberUnchanged(ctx, viewer)
	}
	t, err := readToken(ctx, s.db, "t.id = ?", viewer.TokenID)
	if isNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return t.usable(now) && t.viewer().Role == viewer.Role, nil
}

// CreateTokenInput is what createApiToken takes.
type CreateTokenInput struct {
	OrganizationID int64
	Role           domain.Role
	Name           string
	ExpiresAt      *time.Time
	// MemberID, when set, is the member of the organization the token
	// belongs to; Role must then be the member's role or VIEWER.
	MemberID *int64
}

// CreateToken issues a token for a member of an organization. Only the
// organization's OWNER or a platform administrator may. It returns the
// secret, which is never retrievable again.
func (s *Service) CreateToken(ctx context.Context, in CreateTokenInput) (string, *domain.APIToken, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return "", nil, err
	}
	if !viewer.IsPlatformAdmin && viewer.OrganizationID != in.OrganizationID {
		return "", nil, domain.NotFound("organization")
	}
	if err := policy.MayManageAPITokens(viewer, in.OrganizationID); err != nil {
		return "", nil, err
	}
	name := strings.TrimSpace(in.Name)
	switch {
	case !in.Role.Valid():
		return "", nil, domain.FieldErrorf(domain.CodeInvalid, "role", "role must be one of OWNER, ADMIN_AGENT, SALES_AGENT, BILLING_ADMIN, VIEWER")
	case name == "" || len(name) > 100:
		return "", nil, domain.FieldErrorf(domain.CodeInvalid, "name", "name must be 1 to 100 characters")
	case in.ExpiresAt != nil && !in.ExpiresAt.After(s.Now()):
		return "", nil, domain.FieldErrorf(domain.CodeInvalid, "expiresAt", "expiresAt must be in the future")
	}
	exists, err := s.db.NewSelect().TableExpr("organizations").Where("id = ?", in.OrganizationID).Exists(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("auth: reading organization: %w", err)
	}
	if !exists {
		return "", nil, domain.NotFound("organization")
	}
	if in.MemberID != nil {
		if err := s.checkTokenMember(ctx, in); err != nil {
			return "", nil, err
		}
	}
	// A member removed between the check and the insert leaves a token
	// Authenticate refuses: it reads the member with the token.
	return issue(ctx, s.db, in.OrganizationID, in.Role, name, in.ExpiresAt, s.Now(), in.MemberID)
}

// RevokeToken revokes a token of the viewer's organization (its OWNER) or
// any token (a platform administrator). Revoking twice is not an error.
func (s *Service) RevokeToken(ctx context.Context, id int64) (*domain.APIToken, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	var t domain.APIToken
	err = s.db.NewSelect().Model(&t).Where("t.id = ?", id).Scan(ctx)
	if isNoRows(err) || (err == nil && !viewer.IsPlatformAdmin && t.OrganizationID != viewer.OrganizationID) {
		return nil, domain.NotFound("API token")
	}
	if err != nil {
		return nil, fmt.Errorf("auth: reading token: %w", err)
	}
	if err := policy.MayManageAPITokens(viewer, t.OrganizationID); err != nil {
		return nil, err
	}
	if t.RevokedAt == nil {
		now := s.Now()
		t.RevokedAt = &now
		err := database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
			if _, err := tx.NewUpdate().TableExpr("api_tokens").Set("revoked_at = ?", now).
				Where("id = ? AND revoked_at IS NULL", id).Exec(ctx); err != nil {
				return fmt.Errorf("auth: revoking token: %w", err)
			}
			return CredentialsChanged(ctx, tx)
		})
		if err != nil {
			return nil, err
		}
	}
	s.recent.Remove(t.SecretHash)
	return &t, nil
}

// IssueForSetup creates a token without a viewer, for the demo data and the
// operator's `channelgraph token` command.
func IssueForSetup(ctx context.Context, db bun.IDB, orgID int64, role domain.Role, name string) (string, error) {
	secret, _, err := issue(ctx, db, orgID, role, name, nil, clock.System{}.Now(), nil)
	return secret, err
}

func issue(ctx context.Context, db bun.IDB, orgID int64, role domain.Role, name string, expiresAt *time.Time, now time.Time, memberID *int64) (string, *domain.APIToken, error) {
	secret, err := newSecret()
	if err != nil {
		return "", nil, err
	}
	t := &domain.APIToken{OrganizationID: orgID, Role: role, Name: name,
		Prefix: secret[:len(TokenPrefix)+8], SecretHash: hashSecret(secret), CreatedAt: now, MemberID: memberID}
	if expiresAt != nil {
		at := expiresAt.UTC().Truncate(time.Microsecond)
		t.ExpiresAt = &at
	}
	if _, err := db.NewInsert().Model(t).Returning("id").Exec(ctx); err != nil {
		return "", nil, fmt.Errorf("auth: storing token: %w", err)
	}
	return secret, t, nil
}

func newSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return TokenPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)), nil
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
