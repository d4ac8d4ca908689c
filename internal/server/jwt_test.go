package server_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/auth"
	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/server"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

const (
	jwtIssuer   = "https://idp.example.com/"
	jwtAudience = "channelgraph-api"
)

// issuer is a JWT issuer the test runs: its keys (generated here) and an
// https JWKS endpoint publishing them.
type issuer struct {
	mu   sync.Mutex
	keys map[string]crypto.Signer
	srv  *httptest.Server
}

func newIssuer(t *testing.T) *issuer {
	t.Helper()
	rs, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	es, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	iss := &issuer{keys: map[string]crypto.Signer{"rsa-1": rs, "ec-1": es}}
	iss.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(iss.jwks())
	}))
	t.Cleanup(iss.srv.Close)
	return iss
}

func (iss *issuer) jwks() []byte {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	b64 := base64.RawURLEncoding.EncodeToString
	keys := []map[string]string{}
	for kid, k := range iss.keys {
		switch pub := k.Public().(type) {
		case *rsa.PublicKey:
			keys = append(keys, map[string]string{"kty": "RSA", "kid": kid, "n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes())})
		case *ecdsa.PublicKey:
			raw, _ := pub.Bytes()
			keys = append(keys, map[string]string{"kty": "EC", "crv": "P-256", "kid": kid, "x": b64(raw[1:33]), "y": b64(raw[33:])})
		}
	}
	out, _ := json.Marshal(map[string]any{"keys": keys})
	return out
}

// config is the server's JWT configuration for this issuer.
func (iss *issuer) config() *auth.JWTConfig {
	return &auth.JWTConfig{Issuer: jwtIssuer, Audience: jwtAudience, JWKS: iss.srv.URL + "/.well-known/jwks.json",
		HTTPClient: iss.srv.Client(), RefreshGap: -1}
}

// sign signs claims for sub with the key kid (RS256 for RSA keys, ES256 for
// EC keys), valid from now for ttl; change, when set, edits the claims.
func (iss *issuer) sign(t *testing.T, kid, sub string, now time.Time, ttl time.Duration, change func(jwt.MapClaims)) string {
	t.Helper()
	iss.mu.Lock()
	key := iss.keys[kid]
	iss.mu.Unlock()
	method := jwt.SigningMethod(jwt.SigningMethodES256)
	if _, ok := key.(*rsa.PrivateKey); ok {
		method = jwt.SigningMethodRS256
	}
	c := jwt.MapClaims{"iss": jwtIssuer, "aud": []string{jwtAudience}, "sub": sub, "nbf": now.Unix(), "exp": now.Add(ttl).Unix()}
	if change != nil {
		change(c)
	}
	tok := jwt.NewWithClaims(method, c)
	tok.Header["kid"] = kid
	out, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestJWTSignIn (SPEC §1.3, §8.1): a JWT of the configured issuer acts as
// the member its subject names, over HTTP and on connection_init; every
// refusal is UNAUTHENTICATED (401) with its reason; a rotated key works
// once the JWKS is read again; a socket opened with a JWT closes (4403)
// when the JWT expires and when its member is removed.
func TestJWTSignIn(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		iss := newIssuer(t)
		clk := &clock.Adjustable{}
		cfg := server.Config{JWT: iss.config(), Clock: clk}
		cfg.Websocket.AuthCheckInterval = 50 * time.Millisecond
		a, app := newServer(t, db, cfg)
		reseller, resellerID := a.MustOrg("Reseller", domain.KindReseller)
		owner := a.MustToken(resellerID, domain.RoleOwner)
		ada := a.mustInvite(owner, reseller, "ada@example.com", domain.RoleAdminAgent, "idp|ada")
		gone := a.mustInvite(owner, reseller, "gone@example.com", domain.RoleViewer, "idp|gone")
		if p, _ := a.removeMember(owner, gone); p.Member == nil {
			t.Fatalf("removeMember: %+v", p)
		}
		now := clk.Now()

		type viewerOut struct {
			Viewer struct {
				Role         string
				Organization struct{ ID string }
				Member       *memberOut
			}
		}
		for _, kid := range []string{"rsa-1", "ec-1"} {
			var out viewerOut
			a.Must(iss.sign(t, kid, "idp|ada", now, time.Hour, nil), `{ viewer { role organization { id } member { id email } } }`, nil, &out)
			if out.Viewer.Role != "ADMIN_AGENT" || out.Viewer.Organization.ID != reseller || out.Viewer.Member == nil || out.Viewer.Member.ID != ada {
				t.Fatalf("%s: viewer %+v", kid, out.Viewer)
			}
		}

		t.Run("refusals", func(t *testing.T) {
			none := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iss": jwtIssuer, "aud": jwtAudience, "sub": "idp|ada", "exp": now.Add(time.Hour).Unix()})
			noneToken, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
			for _, c := range []struct{ what, token, reason string }{
				{"wrong issuer", iss.sign(t, "rsa-1", "idp|ada", now, time.Hour, func(c jwt.MapClaims) { c["iss"] = "https://other.example.com/" }), "issuer"},
				{"wrong audience", iss.sign(t, "ec-1", "idp|ada", now, time.Hour, func(c jwt.MapClaims) { c["aud"] = "other" }), "audience"},
				{"alg none", noneToken, "not allowed"},
				{"expired", iss.sign(t, "rsa-1", "idp|ada", now.Add(-2*time.Hour), time.Hour, nil), "expired"},
				{"not yet valid", iss.sign(t, "rsa-1", "idp|ada", now.Add(time.Hour), time.Hour, nil), "not valid yet"},
				{"unknown subject", iss.sign(t, "rsa-1", "idp|nobody", now, time.Hour, nil), "no member signs in with its subject"},
				{"removed member", iss.sign(t, "ec-1", "idp|gone", now, time.Hour, nil), "was removed"},
			} {
				res := a.Do(c.token, `{ viewer { role } }`, nil)
				if res.Status != http.StatusUnauthorized || res.Code() != "UNAUTHENTICATED" || !strings.Contains(res.Errors[0].Message, c.reason) {
					t.Errorf("%s: %d %+v, want 401 UNAUTHENTICATED saying %q", c.what, res.Status, res.Errors, c.reason)
				}
			}
		})

		t.Run("key rotation", func(t *testing.T) {
			newKey, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				t.Fatal(err)
			}
			iss.mu.Lock()
			iss.keys["rsa-2"] = newKey
			iss.mu.Unlock()
			var out viewerOut
			a.Must(iss.sign(t, "rsa-2", "idp|ada", now, time.Hour, nil), `{ viewer { role } }`, nil, &out)
			if out.Viewer.Role != "ADMIN_AGENT" {
				t.Fatalf("a token of the new key: %+v", out)
			}
			iss.mu.Lock()
			unpublished := iss.keys["rsa-1"]
			iss.keys["rsa-9"] = unpublished
			iss.mu.Unlock()
			token := iss.sign(t, "rsa-9", "idp|ada", now, time.Hour, nil)
			iss.mu.Lock()
			delete(iss.keys, "rsa-9")
			iss.mu.Unlock()
			if res := a.Do(token, `{ viewer { role } }`, nil); res.Code() != "UNAUTHENTICATED" || !strings.Contains(res.Errors[0].Message, "kid") {
				t.Errorf("a kid the issuer never published: %+v", res.Errors)
			}
		})

		t.Run("connection_init", func(t *testing.T) {
			bad := a.dialWSRaw(false)
			bad.send(wsMessage{Type: "connection_init", Payload: mustJSON(map[string]any{"Authorization": "Bearer " + iss.sign(t, "rsa-1", "idp|nobody", now, time.Hour, nil)})})
			if code := bad.closeCode(); code != 4403 {
				t.Errorf("a JWT of an unknown subject on connection_init: close %d, want 4403", code)
			}
			// A member signing in on a socket; removing the member closes it.
			bo := a.mustInvite(owner, reseller, "bo@example.com", domain.RoleViewer, "idp|bo")
			removed := a.dialWS(iss.sign(t, "ec-1", "idp|bo", now, 24*time.Hour, nil), false)
			removed.subscribe("1", poSubscription, nil)
			// A short-lived JWT: the socket closes when it expires.
			expiring := a.dialWS(iss.sign(t, "rsa-1", "idp|ada", now, 30*time.Minute, nil), false)
			expiring.subscribe("1", poSubscription, nil)
			waitUntil(t, func() bool { n, _ := app.Hub().Subscribers(); return n >= 2 })
			if p, _ := a.removeMember(owner, bo); p.Member == nil {
				t.Fatalf("removeMember: %+v", p)
			}
			if code := removed.closeCode(); code != 4403 {
				t.Errorf("a removed member's JWT socket closed with %d, want 4403", code)
			}
			time.Sleep(200 * time.Millisecond) // several authorization checks
			if n, _ := app.Hub().Subscribers(); n != 1 {
				t.Fatalf("%d subscriptions live before the JWT expires, want 1", n)
			}
			var moved advanced
			a.Must(testapi.AdminToken, advance, map[string]any{"h": 1}, &moved)
			if code := expiring.closeCode(); code != 4403 {
				t.Errorf("an expired JWT's socket closed with %d, want 4403", code)
			}
		})
	})
}
