package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// keySet is the issuer's JSON Web Key Set, read from a file or an https
// URL, and read again when older than RefreshEvery or when a token names a
// key id it lacks (key rotation), never more often than RefreshGap.
// Refresh pacing is infrastructure, so it runs on the system clock, not
// the deployment's (test) clock.
type keySet struct {
	source string
	client *http.Client
	every  time.Duration
	gap    time.Duration

	fetch sync.Mutex // one read of the source at a time

	mu       sync.Mutex
	keys     map[string]crypto.PublicKey
	loadedAt time.Time // of the keys held
	tried    time.Time // the last read, successful or not
}

func newKeySet(cfg JWTConfig) (*keySet, error) {
	k := &keySet{source: cfg.JWKS, client: cfg.HTTPClient, every: cfg.RefreshEvery, gap: cfg.RefreshGap}
	if strings.HasPrefix(k.source, "http://") {
		return nil, errors.New("auth: CHANNELGRAPH_JWT_JWKS must be an https URL or a file path")
	}
	if k.client == nil {
		k.client = &http.Client{Timeout: 10 * time.Second}
	}
	if k.every <= 0 {
		k.every = DefaultJWKSRefresh
	}
	if k.gap == 0 {
		k.gap = DefaultJWKSRefreshGap
	}
	return k, nil
}

// lookup returns the key with id kid (the only key when kid is empty and
// the set has one), reading the set again when it is stale or lacks kid
// and the last read is at least gap ago.
func (k *keySet) lookup(ctx context.Context, kid string) (crypto.PublicKey, error) {
	key, ok, due := k.get(kid)
	if ok && !due {
		return key, nil
	}
	if due {
		// A failed read keeps the keys held; the next try waits for gap.
		_ = k.load(ctx)
		key, ok, _ = k.get(kid)
	}
	if !ok {
		return nil, errUnknownKid
	}
	return key, nil
}

// get returns the key and whether a read of the source is due now.
func (k *keySet) get(kid string) (key crypto.PublicKey, ok, due bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if kid == "" && len(k.keys) == 1 {
		for _, only := range k.keys {
			key, ok = only, true
		}
	} else {
		key, ok = k.keys[kid]
	}
	now := time.Now()
	due = (!ok || now.Sub(k.loadedAt) >= k.every) && now.Sub(k.tried) >= k.gap
	return key, ok, due
}

// load reads the set from its source and, when it parses, replaces the
// keys held.
func (k *keySet) load(ctx context.Context) error {
	k.fetch.Lock()
	defer k.fetch.Unlock()
	k.mu.Lock()
	if time.Since(k.tried) < k.gap && !k.tried.IsZero() {
		k.mu.Unlock()
		return nil // another request just read it
	}
	k.tried = time.Now()
	k.mu.Unlock()
	raw, err := k.read(ctx)
	if err != nil {
		return fmt.Errorf("auth: reading the JWKS: %w", err)
	}
	keys, err := parseJWKS(raw)
	if err != nil {
		return fmt.Errorf("auth: the JWKS: %w", err)
	}
	k.mu.Lock()
	k.keys, k.loadedAt = keys, time.Now()
	k.mu.Unlock()
	return nil
}

func (k *keySet) read(ctx context.Context) ([]byte, error) {
	if !strings.HasPrefix(k.source, "https://") {
		return os.ReadFile(k.source)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.source, nil)
	if err != nil {
		return nil, err
	}
	res, err := k.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", res.StatusCode)
	}
	return io.ReadAll(io.LimitReader(res.Body, 1<<20))
}

// jwk is one key of a set (RFC 7517, 7518): RSA by n and e, EC P-256 by x
// and y.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// parseJWKS reads the signing keys of a set; keys of other types or uses
// are skipped, and a set without any usable key is an error.
func parseJWKS(raw []byte) (map[string]crypto.PublicKey, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, fmt.Errorf("not a JSON Web Key Set: %w", err)
	}
	keys := map[string]crypto.PublicKey{}
	for _, j := range set.Keys {
		if j.Use != "" && j.Use != "sig" {
			continue
		}
		var key crypto.PublicKey
		var err error
		switch {
		case j.Kty == "RSA":
			key, err = rsaKey(j)
		case j.Kty == "EC" && j.Crv == "P-256":
			key, err = ecKey(j)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", j.Kid, err)
		}
		keys[j.Kid] = key
	}
	if len(keys) == 0 {
		return nil, errors.New("no RSA or EC P-256 signing key")
	}
	return keys, nil
}

func rsaKey(j jwk) (*rsa.PublicKey, error) {
	n, err1 := base64.RawURLEncoding.DecodeString(j.N)
	e, err2 := base64.RawURLEncoding.DecodeString(j.E)
	if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
		return nil, errors.New("bad RSA n or e")
	}
	key := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	if key.N.BitLen() < 2048 || key.E < 3 {
		return nil, errors.New("RSA keys must have at least 2048 bits")
	}
	return key, nil
}

func ecKey(j jwk) (*ecdsa.PublicKey, error) {
	x, err1 := base64.RawURLEncoding.DecodeString(j.X)
	y, err2 := base64.RawURLEncoding.DecodeString(j.Y)
	if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
		return nil, errors.New("bad P-256 x or y")
	}
	point := append(append([]byte{4}, x...), y...)
	key, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		return nil, errors.New("not a point on P-256")
	}
	return key, nil
}

// keyFits reports whether key is of the type alg signs with.
func keyFits(alg string, key crypto.PublicKey) bool {
	switch alg {
	case "RS256":
		_, ok := key.(*rsa.PublicKey)
		return ok
	case "ES256":
		_, ok := key.(*ecdsa.PublicKey)
		return ok
	}
	return false
}
