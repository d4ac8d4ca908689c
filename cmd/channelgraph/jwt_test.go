package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

// TestServeRefusesBadJWTSettings: serve does not start with only part of
// the JWT configuration, a plain-http JWKS, or a JWKS it cannot read.
func TestServeRefusesBadJWTSettings(t *testing.T) {
	tracingEnv(t)
	for _, c := range []struct {
		issuer, audience, jwks, want string
	}{
		{"https://idp.example.com/", "", "", "together"},
		{"https://idp.example.com/", "api", "http://idp.example.com/jwks.json", "https URL or a file path"},
		{"https://idp.example.com/", "api", "/nonexistent/jwks.json", "reading the JWKS"},
	} {
		t.Setenv("CHANNELGRAPH_JWT_ISSUER", c.issuer)
		t.Setenv("CHANNELGRAPH_JWT_AUDIENCE", c.audience)
		t.Setenv("CHANNELGRAPH_JWT_JWKS", c.jwks)
		err := run(context.Background(), []string{"serve"}, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("serve with %+v: %v", c, err)
		}
	}
}
