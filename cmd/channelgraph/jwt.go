package main

import (
	"os"

	"github.com/channelgraph/channelgraph/internal/auth"
)

// jwtFromEnv is the JWT issuer the deployment trusts (SPEC §8.1), nil when
// none of CHANNELGRAPH_JWT_ISSUER, CHANNELGRAPH_JWT_AUDIENCE and
// CHANNELGRAPH_JWT_JWKS is set. Setting only some of them is refused when
// the server starts (auth.ConfigureJWT), never silently ignored.
func jwtFromEnv() *auth.JWTConfig {
	cfg := auth.JWTConfig{
		Issuer:   os.Getenv("CHANNELGRAPH_JWT_ISSUER"),
		Audience: os.Getenv("CHANNELGRAPH_JWT_AUDIENCE"),
		JWKS:     os.Getenv("CHANNELGRAPH_JWT_JWKS"),
	}
	if cfg.Issuer == "" && cfg.Audience == "" && cfg.JWKS == "" {
		return nil
	}
	return &cfg
}
