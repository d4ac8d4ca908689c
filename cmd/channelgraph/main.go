// Command channelgraph is the Channelgraph server and its operator tools.
//
//	channelgraph serve     run the API (migrates first)
//	channelgraph migrate   apply database migrations and exit
//	channelgraph token     issue an API token for a member of an organization
//	channelgraph demo-jwt  sign a JWT for a demo member with the demo issuer's key
//	channelgraph version   print the version
//
// Configuration comes from the environment (SPEC §7.2): CHANNELGRAPH_ADDR,
// CHANNELGRAPH_DATABASE_URL, CHANNELGRAPH_ADMIN_TOKEN, CHANNELGRAPH_DEMO.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// version is stamped at build time: -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "channelgraph:", err)
		os.Exit(1)
	}
}

const usage = `usage: channelgraph <command> [flags]

commands:
  serve     run the API server (applies migrations first)
  migrate   apply database migrations and exit
  token     issue an API token: channelgraph token -org ID -role OWNER -name NAME
  demo-jwt  sign a JWT for a demo member: channelgraph demo-jwt -subject alice@cobalt.example [-ttl 1h]
            (the demo server trusts its key when no CHANNELGRAPH_JWT_* is set)
  version   print the version

environment:
  CHANNELGRAPH_ADDR           listen address (default 127.0.0.1:8080)
  CHANNELGRAPH_DATABASE_URL   postgres://… or sqlite:PATH (default sqlite:data/channelgraph.db)
  CHANNELGRAPH_ADMIN_TOKEN    a token accepted as the platform administrator's
  CHANNELGRAPH_DEMO           1 to load demo data into an empty database
  CHANNELGRAPH_JWT_ISSUER, CHANNELGRAPH_JWT_AUDIENCE, CHANNELGRAPH_JWT_JWKS
                              the JWT issuer trusted for sign-in: its iss, the aud required, and its
                              JWKS (a file or an https URL); set all three or none (docs/sign-in.md)
  CHANNELGRAPH_ALLOWED_ORIGINS  comma-separated origins allowed to open websockets (besides same-origin)
  CHANNELGRAPH_PROVISIONER    builtin (default) or external
  CHANNELGRAPH_PROVISION_STEP the built-in provisioner's delay per step (default 2s)
  CHANNELGRAPH_RATE_LIMIT     requests a second per token over HTTP, bursts of twice that (default 50; 0: none)
  CHANNELGRAPH_PERSISTED_QUERIES  a directory of *.graphql files: run only those operations (by text or hash)
  CHANNELGRAPH_INTROSPECTION  off hides the schema and "did you mean" suggestions (default on)
  CHANNELGRAPH_PUBLIC_URL     the address invitation links point at (default http://127.0.0.1:8080)
  CHANNELGRAPH_WEBHOOK_ALLOW_PRIVATE  1 lets webhook endpoints be loopback or private addresses, over http too (default 0)
  CHANNELGRAPH_WEBHOOK_TIMEOUT, CHANNELGRAPH_WEBHOOK_FIRST_RETRY, CHANNELGRAPH_WEBHOOK_MAX_RETRY
                              one delivery attempt's limit (default 10s), the first retry's wait (1s,
                              doubling) and the longest wait (10m)
  CHANNELGRAPH_WEBHOOK_DISABLE_AFTER  failed attempts in a row that disable an endpoint (default 20)
  CHANNELGRAPH_WEBHOOK_LEASE  how long a replica holds an endpoint it stopped renewing (default 30s)
  CHANNELGRAPH_TRACING        off (default), otlp (to OTEL_EXPORTER_OTLP_ENDPOINT, default http://localhost:4318) or stdout
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, logger)
	case "migrate":
		return migrateCmd(ctx, stdout)
	case "token":
		return tokenCmd(ctx, args[1:], stdout, stderr)
	case "demo-jwt":
		return demoJWTCmd(ctx, args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "channelgraph", version)
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
	return flag.ErrHelp
}

func env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
