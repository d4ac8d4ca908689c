package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/channelgraph/channelgraph/internal/domain"
)

// JWT sign-in (SPEC §1.3, §8.1): a JWT signed (RS256 or ES256) by a key of
// the configured issuer's JWKS, whose iss and aud match the configuration,
// that has not expired, acts as the current member whose subject is its
// sub. Every refusal is UNAUTHENTICATED with a reason that names no key
// material.

// JWTConfig is the JWT issuer a deployment trusts.
type JWTConfig struct {
	// Issuer is the exact "iss" accepted (CHANNELGRAPH_JWT_ISSUER).
	Issuer string
	// Audience must be one of a token's "aud" (CHANNELGRAPH_JWT_AUDIENCE).
	Audience string
	// JWKS is a JWKS file path or an https URL (CHANNELGRAPH_JWT_JWKS).
	JWKS string
	// HTTPClient fetches an https JWKS (nil: a client with a 10 s timeout).
	HTTPClient *http.Client
	// RefreshEvery is how old the keys may grow before they are read again
	// (0: DefaultJWKSRefresh).
	RefreshEvery time.Duration
	// RefreshGap is the least time between two reads of the JWKS, so
	// tokens with unknown key ids cannot make the server hammer the issuer
	// (0: DefaultJWKSRefreshGap; negative: no gap, for tests).
	RefreshGap time.Duration
}

const (
	// DefaultJWKSRefresh is how often the keys are read again.
	DefaultJWKSRefresh = 5 * time.Minute
	// DefaultJWKSRefreshGap bounds reads of the JWKS caused by unknown key ids.
	DefaultJWKSRefreshGap = 30 * time.Second
	// JWTLeeway is the clock skew allowed on exp and nbf.
	JWTLeeway = 30 * time.Second
	// maxJWTBytes bounds a bearer JWT.
	maxJWTBytes = 8 << 10
)

// jwtMethods are the only algorithms accepted: never "none", never HMAC
// (whose secret an attacker could take to be the public key).
var jwtMethods = []string{"RS256", "ES256"}

type jwtVerifier struct {
	issuer, audience string
	keys             *keySet
}

// ConfigureJWT turns JWT sign-in on. It reads the JWKS once, and fails
// when it cannot: a deployment does not start with an issuer it cannot
// verify.
func (s *Service) ConfigureJWT(ctx context.Context, cfg JWTConfig) error {
	if cfg.Issuer == "" || cfg.Audience == "" || cfg.JWKS == "" {
		return errors.New("auth: JWT sign-in needs CHANNELGRAPH_JWT_ISSUER, CHANNELGRAPH_JWT_AUDIENCE and CHANNELGRAPH_JWT_JWKS together")
	}
	keys, err := newKeySet(cfg)
	if err != nil {
		return err
	}
	if err := keys.load(ctx); err != nil {
		return err
	}
	s.jwt = &jwtVerifier{issuer: cfg.Issuer, audience: cfg.Audience, keys: keys}
	return nil
}

// looksLikeJWT tells a JWT from an opaque token by its shape: three
// dot-separated parts.
func looksLikeJWT(token string) bool {
	return !strings.HasPrefix(token, TokenPrefix) && strings.Count(token, ".") == 2
}

func refused(reason string) error {
	return domain.Errorf(domain.CodeUnauthenticated, "JWT refused: %s", reason)
}

var (
	errUnknownKid   = errors.New("unknown kid")
	errKeyMismatch  = errors.New("key type does not match alg")
	errNoJWT        = refused("JWT sign-in is not configured on this server")
	errJWTMalformed = refused("the token is not a well-formed JWT")
)

// jwtHeader is what is read of a JWT's header before verifying it, to name
// the reason of a refusal.
type jwtHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

func (s *Service) authenticateJWT(ctx context.Context, token string) (*domain.Viewer, error) {
	if s.jwt == nil {
		return nil, errNoJWT
	}
	raw, err := base64.RawURLEncoding.DecodeString(token[:strings.IndexByte(token, '.')])
	var h jwtHeader
	if err != nil || json.Unmarshal(raw, &h) != nil {
		return nil, errJWTMalformed
	}
	if !slices.Contains(jwtMethods, h.Alg) {
		return nil, refused(fmt.Sprintf("algorithm %q is not allowed (RS256 and ES256 are)", truncate(h.Alg, 20)))
	}
	var claims jwt.RegisteredClaims
	parser := jwt.NewParser(jwt.WithValidMethods(jwtMethods), jwt.WithIssuer(s.jwt.issuer),
		jwt.WithAudience(s.jwt.audience), jwt.WithExpirationRequired(), jwt.WithLeeway(JWTLeeway),
		jwt.WithTimeFunc(s.Now))
	_, err = parser.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		key, err := s.jwt.keys.lookup(ctx, h.Kid)
		if err != nil {
			return nil, err
		}
		if !keyFits(h.Alg, key) {
			return nil, errKeyMismatch
		}
		return key, nil
	})
	if err != nil {
		return nil, jwtRefusal(err)
	}
	if claims.Subject == "" {
		return nil, refused("the JWT has no subject (sub)")
	}
	return s.memberViewer(ctx, claims.Subject, claims.ExpiresAt.Time)
}

// jwtRefusal names why the parser refused a token, most specific first.
func jwtRefusal(err error) error {
	for _, r := range []struct {
		err    error
		reason string
	}{
		{errUnknownKid, "its key id (kid) is not in the issuer's key set"},
		{errKeyMismatch, "its algorithm does not match the type of its key"},
		{jwt.ErrTokenMalformed, "the token is not a well-formed JWT"},
		{jwt.ErrTokenSignatureInvalid, "its signature is invalid"},
		{jwt.ErrTokenInvalidIssuer, "its issuer (iss) is not the configured issuer"},
		{jwt.ErrTokenInvalidAudience, "its audience (aud) does not name this API"},
		{jwt.ErrTokenRequiredClaimMissing, "it has no expiry (exp)"},
		{jwt.ErrTokenExpired, "it has expired"},
		{jwt.ErrTokenNotValidYet, "it is not valid yet (nbf)"},
	} {
		if errors.Is(err, r.err) {
			return refused(r.reason)
		}
	}
	var de *domain.Error
	if errors.As(err, &de) {
		return de
	}
	return refused("it could not be verified")
}

// memberViewer is the viewer of the current member whose subject is sub.
func (s *Service) memberViewer(ctx context.Context, sub string, expiresAt time.Time) (*domain.Viewer, error) {
	var m struct {
		domain.Member
		Kind domain.OrganizationKind `bun:"kind"`
	}
	err := s.db.NewSelect().Model(&m.Member).ColumnExpr("m.*, o.kind").
		Join("JOIN organizations AS o ON o.id = m.organization_id").
		Where("m.subject = ?", sub).OrderExpr("m.removed_at IS NULL DESC, m.id DESC").Limit(1).Scan(ctx, &m)
	if isNoRows(err) {
		return nil, refused("no member signs in with its subject (sub)")
	}
	if err != nil {
		return nil, fmt.Errorf("auth: reading member: %w", err)
	}
	if m.RemovedAt != nil {
		return nil, refused("the member it signs in as was removed")
	}
	at := expiresAt.UTC()
	return &domain.Viewer{OrganizationID: m.OrganizationID, Role: m.Role, Kind: m.Kind, MemberID: m.ID, ExpiresAt: &at}, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
