package auth_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/auth"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

const (
	testIssuer   = "https://idp.example.com/"
	testAudience = "channelgraph-api"
)

// signer is a key the test generated, with the id it has in the JWKS.
type signer struct {
	kid    string
	method jwt.SigningMethod
	key    crypto.Signer
}

var (
	keysOnce sync.Once
	rsaKey   *rsa.PrivateKey
	ecKey    *ecdsa.PrivateKey
)

func testKeys(t testing.TB) (rs, es signer) {
	keysOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if ecKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
	})
	return signer{"rsa-1", jwt.SigningMethodRS256, rsaKey}, signer{"ec-1", jwt.SigningMethodES256, ecKey}
}

func newRSASigner(t testing.TB, kid string) signer {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return signer{kid, jwt.SigningMethodRS256, k}
}

// jwksOf is the key set publishing signers' public keys.
func jwksOf(signers ...signer) []byte {
	b64 := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	var keys []map[string]string
	for _, s := range signers {
		switch pub := s.key.Public().(type) {
		case *rsa.PublicKey:
			keys = append(keys, map[string]string{"kty": "RSA", "kid": s.kid, "use": "sig", "alg": "RS256",
				"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes())})
		case *ecdsa.PublicKey:
			raw, _ := pub.Bytes() // 0x04 || x || y
			keys = append(keys, map[string]string{"kty": "EC", "kid": s.kid, "use": "sig", "alg": "ES256", "crv": "P-256",
				"x": b64(raw[1:33]), "y": b64(raw[33:])})
		}
	}
	out, _ := json.Marshal(map[string]any{"keys": keys})
	return out
}

// claims are a valid token's claims for subject, at now.
func claims(sub string, now time.Time) jwt.MapClaims {
	return jwt.MapClaims{"iss": testIssuer, "aud": testAudience, "sub": sub,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}
}

func (s signer) sign(t testing.TB, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(s.method, c)
	tok.Header["kid"] = s.kid
	out, err := tok.SignedString(s.key)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// memberDB adds to organization 1 a current member signing in as
// "idp|ada" (ADMIN_AGENT, id 1) and a removed one that signed in as
// "idp|gone" (id 2).
func memberDB(t *testing.T, db *bun.DB) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	for _, q := range []string{
		`INSERT INTO organizations (id, kind, name, created_at) VALUES (1, 'RESELLER', 'R', ?)`,
		`INSERT INTO members (id, organization_id, role, email, subject, created_at) VALUES (1, 1, 'ADMIN_AGENT', 'ada@example.com', 'idp|ada', ?)`,
		`INSERT INTO members (id, organization_id, role, email, subject, created_at, removed_at) VALUES (2, 1, 'OWNER', 'gone@example.com', 'idp|gone', ?, ?)`,
	} {
		args := []any{now}
		if strings.Contains(q, "removed_at") {
			args = append(args, now)
		}
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
}

func jwksFile(t *testing.T, set []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, set, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestJWTSignIn: a valid RS256 or ES256 token acts as the member its
// subject names; each thing wrong with a token is UNAUTHENTICATED with its
// own reason, which names no key material.
func TestJWTSignIn(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		memberDB(t, db)
		rs, es := testKeys(t)
		s := auth.New(db, "")
		now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { return now }
		if err := s.ConfigureJWT(ctx, auth.JWTConfig{Issuer: testIssuer, Audience: testAudience, JWKS: jwksFile(t, jwksOf(rs, es))}); err != nil {
			t.Fatal(err)
		}
		for _, sg := range []signer{rs, es} {
			v, err := s.Authenticate(ctx, sg.sign(t, claims("idp|ada", now)))
			if err != nil {
				t.Fatalf("%s: %v", sg.method.Alg(), err)
			}
			if v.OrganizationID != 1 || v.MemberID != 1 || v.Role != domain.RoleAdminAgent || v.Kind != domain.KindReseller ||
				v.TokenID != 0 || v.ExpiresAt == nil || !v.ExpiresAt.Equal(now.Add(time.Hour)) {
				t.Fatalf("%s: viewer %+v", sg.method.Alg(), v)
			}
		}
		// Within the leeway, an expired or not-yet-valid token still passes.
		c := claims("idp|ada", now)
		c["exp"], c["nbf"] = now.Add(-20*time.Second).Unix(), now.Add(20*time.Second).Unix()
		if _, err := s.Authenticate(ctx, rs.sign(t, c)); err != nil {
			t.Fatalf("within the leeway: %v", err)
		}

		with := func(change func(jwt.MapClaims)) jwt.MapClaims {
			c := claims("idp|ada", now)
			change(c)
			return c
		}
		pubPEM := func() []byte {
			der, _ := x509.MarshalPKIXPublicKey(rsaKey.Public())
			return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		}()
		hs := jwt.NewWithClaims(jwt.SigningMethodHS256, claims("idp|ada", now))
		hs.Header["kid"] = rs.kid
		hsToken, _ := hs.SignedString(pubPEM)
		none := jwt.NewWithClaims(jwt.SigningMethodNone, claims("idp|ada", now))
		none.Header["kid"] = rs.kid
		noneToken, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
		other := newRSASigner(t, rs.kid) // the right kid, a key not in the set
		mismatched := signer{es.kid, jwt.SigningMethodRS256, rsaKey}
		valid := rs.sign(t, claims("idp|ada", now))
		tampered := valid[:strings.LastIndexByte(valid, '.')] + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 256))

		cases := []struct{ what, token, reason string }{
			{"wrong issuer", rs.sign(t, with(func(c jwt.MapClaims) { c["iss"] = "https://evil.example.com/" })), "issuer (iss)"},
			{"wrong audience", es.sign(t, with(func(c jwt.MapClaims) { c["aud"] = "another-api" })), "audience (aud)"},
			{"alg none", noneToken, `algorithm "none" is not allowed`},
			{"HS256 signed with the RSA public key", hsToken, `algorithm "HS256" is not allowed`},
			{"expired", rs.sign(t, with(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() })), "it has expired"},
			{"not yet valid", es.sign(t, with(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Minute).Unix() })), "not valid yet"},
			{"no expiry", rs.sign(t, with(func(c jwt.MapClaims) { delete(c, "exp") })), "no expiry"},
			{"unknown kid", signer{"rsa-9", jwt.SigningMethodRS256, rsaKey}.sign(t, claims("idp|ada", now)), "key id (kid)"},
			{"a key not in the set", other.sign(t, claims("idp|ada", now)), "signature is invalid"},
			{"a tampered signature", tampered, "signature is invalid"},
			{"RS256 under an EC key's kid", mismatched.sign(t, claims("idp|ada", now)), "does not match the type of its key"},
			{"unknown subject", rs.sign(t, claims("idp|nobody", now)), "no member signs in with its subject"},
			{"removed member", es.sign(t, claims("idp|gone", now)), "member it signs in as was removed"},
			{"no subject", rs.sign(t, with(func(c jwt.MapClaims) { delete(c, "sub") })), "no subject"},
			{"not base64", "%%%.e30.sig", "not a well-formed JWT"},
		}
		for _, c := range cases {
			_, err := s.Authenticate(ctx, c.token)
			if domain.ErrorCode(err) != domain.CodeUnauthenticated || !strings.Contains(err.Error(), c.reason) {
				t.Errorf("%s: got %v, want UNAUTHENTICATED saying %q", c.what, err, c.reason)
				continue
			}
			for _, secret := range []string{base64.RawURLEncoding.EncodeToString(rsaKey.N.Bytes())[:16], string(pubPEM[30:50]), "idp|"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("%s: the reason %q quotes %q", c.what, err, secret)
				}
			}
		}

		off := auth.New(db, "")
		if _, err := off.Authenticate(ctx, valid); domain.ErrorCode(err) != domain.CodeUnauthenticated || !strings.Contains(err.Error(), "not configured") {
			t.Errorf("JWT not configured: %v", err)
		}
	})
}

// TestJWTStillValid: a JWT's live subscriptions end when it expires, when
// its member's role changes, and when its member is removed.
func TestJWTStillValid(t *testing.T) {
	db := mustVendorDB(t)
	exec := func(q string, args ...any) {
		if _, err := db.ExecContext(context.Background(), q, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`INSERT INTO members (id, organization_id, role, email, subject, created_at) VALUES (1, 1, 'VIEWER', 'v@example.com', 'idp|v', ?)`, time.Now())
	rs, _ := testKeys(t)
	s := auth.New(db, "")
	now := time.Now()
	s.Now = func() time.Time { return now }
	ctx := context.Background()
	if err := s.ConfigureJWT(ctx, auth.JWTConfig{Issuer: testIssuer, Audience: testAudience, JWKS: jwksFile(t, jwksOf(rs))}); err != nil {
		t.Fatal(err)
	}
	v, err := s.Authenticate(ctx, rs.sign(t, claims("idp|v", now)))
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := s.StillValid(ctx, v); !ok || err != nil {
		t.Fatalf("a fresh JWT: %v, %v", ok, err)
	}
	now = now.Add(time.Hour)
	if ok, _ := s.StillValid(ctx, v); ok {
		t.Fatal("still valid at its expiry")
	}
	now = now.Add(-time.Minute)
	exec(`UPDATE members SET role = 'OWNER' WHERE id = 1`)
	if ok, _ := s.StillValid(ctx, v); ok {
		t.Fatal("still valid after its member's role changed")
	}
	exec(`UPDATE members SET role = 'VIEWER' WHERE id = 1`)
	if ok, _ := s.StillValid(ctx, v); !ok {
		t.Fatal("not valid with its member's role restored")
	}
	exec(`UPDATE members SET removed_at = ? WHERE id = 1`, now)
	if ok, _ := s.StillValid(ctx, v); ok {
		t.Fatal("still valid after its member was removed")
	}
}

// TestJWKSRotation: keys come from an https JWKS; a token with a new kid
// works once the set is read again, which an unknown kid triggers at most
// once per RefreshGap; the set is also read again when older than
// RefreshEvery, so a key withdrawn from it stops working.
func TestJWKSRotation(t *testing.T) {
	db := mustVendorDB(t)
	if _, err := db.ExecContext(context.Background(),
		`INSERT INTO members (id, organization_id, role, email, subject, created_at) VALUES (1, 1, 'OWNER', 'o@example.com', 'idp|o', ?)`, time.Now()); err != nil {
		t.Fatal(err)
	}
	rs, _ := testKeys(t)
	next := newRSASigner(t, "rsa-2")
	var mu sync.Mutex
	current := jwksOf(rs)
	var reads atomic.Int32
	idp := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reads.Add(1)
		mu.Lock()
		defer mu.Unlock()
		_, _ = w.Write(current)
	}))
	defer idp.Close()
	publish := func(set []byte) {
		mu.Lock()
		current = set
		mu.Unlock()
	}
	const gap, every = 300 * time.Millisecond, 1200 * time.Millisecond
	s := auth.New(db, "")
	ctx := context.Background()
	if err := s.ConfigureJWT(ctx, auth.JWTConfig{Issuer: testIssuer, Audience: testAudience, JWKS: idp.URL + "/jwks.json",
		HTTPClient: idp.Client(), RefreshGap: gap, RefreshEvery: every}); err != nil {
		t.Fatal(err)
	}
	loaded := time.Now()
	if _, err := s.Authenticate(ctx, rs.sign(t, claims("idp|o", time.Now()))); err != nil {
		t.Fatalf("a key of the https JWKS: %v", err)
	}
	publish(jwksOf(rs, next))
	rotated := next.sign(t, claims("idp|o", time.Now()))
	for range 5 {
		if _, err := s.Authenticate(ctx, rotated); err == nil || !strings.Contains(err.Error(), "kid") {
			t.Fatalf("a new kid within the refresh gap: %v", err)
		}
	}
	if n := reads.Load(); n != 1 {
		t.Fatalf("unknown kids within the gap read the JWKS %d times, want once (at start)", n)
	}
	time.Sleep(time.Until(loaded.Add(gap + 50*time.Millisecond)))
	if _, err := s.Authenticate(ctx, rotated); err != nil {
		t.Fatalf("the new kid after the gap: %v", err)
	}
	if n := reads.Load(); n != 2 {
		t.Fatalf("JWKS read %d times, want 2", n)
	}
	// The issuer withdraws the old key; once the set is older than
	// RefreshEvery it is read again and the old key stops working.
	publish(jwksOf(next))
	old := rs.sign(t, claims("idp|o", time.Now()))
	if _, err := s.Authenticate(ctx, old); err != nil {
		t.Fatalf("the old key before the periodic refresh: %v", err)
	}
	time.Sleep(every + 50*time.Millisecond)
	if _, err := s.Authenticate(ctx, old); err == nil || !strings.Contains(err.Error(), "kid") {
		t.Fatalf("a withdrawn key after the periodic refresh: %v", err)
	}
	if _, err := s.Authenticate(ctx, rotated); err != nil {
		t.Fatalf("the new key after the periodic refresh: %v", err)
	}
}

// TestJWTConfiguration: a deployment refuses to start with a partial
// configuration, a plain-http JWKS, or one it cannot read.
func TestJWTConfiguration(t *testing.T) {
	db := mustVendorDB(t)
	ctx := context.Background()
	bad := filepath.Join(t.TempDir(), "bad.json")
	_ = os.WriteFile(bad, []byte(`{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}`), 0o600)
	for _, cfg := range []auth.JWTConfig{
		{Issuer: testIssuer, JWKS: "/nonexistent"},
		{Issuer: testIssuer, Audience: testAudience, JWKS: "http://idp.example.com/jwks"},
		{Issuer: testIssuer, Audience: testAudience, JWKS: "/nonexistent/jwks.json"},
		{Issuer: testIssuer, Audience: testAudience, JWKS: bad},
	} {
		if err := auth.New(db, "").ConfigureJWT(ctx, cfg); err == nil {
			t.Errorf("configured with %+v", cfg)
		}
	}
}
