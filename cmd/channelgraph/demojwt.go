package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/channelgraph/channelgraph/internal/auth"
)

// The demo issuer: with demo data and no issuer configured, the server
// trusts a key of its own under ./data, so a new user can try JWT sign-in
// with `channelgraph demo-jwt` and no identity provider. A deployment with
// CHANNELGRAPH_JWT_* set never uses it.
const (
	demoIssuer    = "https://demo-issuer.channelgraph.invalid"
	demoAudience  = "channelgraph-demo"
	demoKeyFile   = "data/demo-jwt-key.pem"
	demoJWKSFile  = "data/demo-jwks.json"
	demoKeyID     = "demo-1"
	demoJWTMaxTTL = 24 * time.Hour
)

// demoJWTConfig makes the demo issuer's key and JWKS when they are missing,
// and returns the configuration that trusts it.
func demoJWTConfig() (*auth.JWTConfig, error) {
	key, err := readDemoKey()
	if errors.Is(err, fs.ErrNotExist) {
		key, err = writeDemoKey()
	}
	if err != nil {
		return nil, err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	pad := func(b []byte) []byte { return append(make([]byte, 32-len(b)), b...) }
	set := map[string]any{"keys": []map[string]string{{
		"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": demoKeyID,
		"x": b64(pad(key.X.Bytes())), "y": b64(pad(key.Y.Bytes())),
	}}}
	raw, err := json.MarshalIndent(set, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(demoJWKSFile, raw, 0o644); err != nil {
		return nil, fmt.Errorf("demo issuer: %w", err)
	}
	return &auth.JWTConfig{Issuer: demoIssuer, Audience: demoAudience, JWKS: demoJWKSFile}, nil
}

func readDemoKey() (*ecdsa.PrivateKey, error) {
	raw, err := os.ReadFile(demoKeyFile)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, fmt.Errorf("demo issuer: %s holds no PEM key", demoKeyFile)
	}
	key, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("demo issuer: %s: %w", demoKeyFile, err)
	}
	return key, nil
}

func writeDemoKey() (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(demoKeyFile), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(demoKeyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, fmt.Errorf("demo issuer: %w", err)
	}
	return key, nil
}

// demoJWTCmd signs a JWT with the demo issuer's key, for trying sign-in
// against a server that serves the demo (make run).
func demoJWTCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("demo-jwt", flag.ContinueOnError)
	fset.SetOutput(stderr)
	subject := fset.String("subject", "", "the member's subject, e.g. alice@cobalt.example (required)")
	ttl := fset.Duration("ttl", time.Hour, "how long the token is valid, at most 24h")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if *subject == "" {
		return fmt.Errorf("demo-jwt: -subject is required (the demo's members are listed in README.md)")
	}
	if *ttl <= 0 || *ttl > demoJWTMaxTTL {
		return fmt.Errorf("demo-jwt: -ttl must be more than 0 and at most 24h")
	}
	key, err := readDemoKey()
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("demo-jwt: no demo issuer key at %s: start the demo server first (make run)", demoKeyFile)
	}
	if err != nil {
		return err
	}
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.RegisteredClaims{
		Issuer: demoIssuer, Audience: jwt.ClaimStrings{demoAudience}, Subject: *subject,
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(*ttl)),
	})
	tok.Header["kid"] = demoKeyID
	signed, err := tok.SignedString(key)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, signed)
	return nil
}
