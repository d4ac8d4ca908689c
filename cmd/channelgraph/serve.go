package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/demo"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/graphiql"
	"github.com/channelgraph/channelgraph/internal/server"
	"github.com/channelgraph/channelgraph/internal/tracing"
)

// servingGCPercent is the server's GOGC unless the environment sets one.
const servingGCPercent = 400

func serve(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if os.Getenv("GOGC") == "" {
		// A GraphQL response allocates a small object per field; with the
		// live heap small, collecting at 5× it rather than 2× spends a
		// fraction of the CPU on the collector (docs/performance.md).
		debug.SetGCPercent(servingGCPercent)
	}
	tp, exporter, err := tracing.New(ctx, stdout, version)
	if err != nil {
		return fmt.Errorf("tracing: %w", err)
	}
	if tp != nil {
		// Runs last: flushes the last spans once the server has finished.
		defer shutdownTracing(tp, logger)
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { logger.Warn("tracing", "error", err) }))
		logger.Info("tracing on", "exporter", string(exporter))
	}
	db, err := openMigrated(ctx)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer db.Close()
	var personas []demo.Persona
	if os.Getenv("CHANNELGRAPH_DEMO") == "1" {
		if personas, err = loadDemo(ctx, db, stdout); err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
	}
	adminToken := os.Getenv("CHANNELGRAPH_ADMIN_TOKEN")
	if adminToken != "" && len(adminToken) < 16 {
		logger.Warn("CHANNELGRAPH_ADMIN_TOKEN is shorter than 16 characters; anyone who guesses it is a platform administrator")
	}
	cfg := server.Config{DatabaseURL: env("CHANNELGRAPH_DATABASE_URL", database.DefaultURL), AdminToken: adminToken, Logger: logger}
	if err := configureFromEnv(&cfg); err != nil {
		return err
	}
	if len(personas) > 0 && cfg.JWT == nil {
		if cfg.JWT, err = demoJWTConfig(); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "JWT sign-in trusts the demo issuer: ./bin/channelgraph demo-jwt -subject alice@cobalt.example prints a token for a demo member.\n")
	}
	if len(personas) > 0 {
		// Only with demo data this process loaded or found with its saved
		// tokens: the page then embeds the tokens.
		cfg.Demo = graphiqlDemo(personas)
	}
	if tp != nil { // a nil *TracerProvider in the interface would not be nil
		cfg.TracerProvider = tp
	}
	app, err := server.New(ctx, db, cfg)
	if err != nil {
		return fmt.Errorf("starting the server: %w", err)
	}
	app.Start()
	defer app.Close()
	stopPprof, err := servePprof(logger)
	if err != nil {
		return err
	}
	defer stopPprof()
	addr := env("CHANNELGRAPH_ADDR", "127.0.0.1:8080")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("CHANNELGRAPH_ADDR: %w", err)
	}
	srv := &http.Server{
		Handler:           app.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	fmt.Fprintf(stdout, "Channelgraph %s listening on http://%s/ (GraphiQL) — GraphQL at http://%s/graphql\n", version, ln.Addr(), ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down: closing websockets with a resume hint, finishing in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := app.CloseWebsockets(shutdownCtx); err != nil {
		logger.Warn("websockets did not all close in time", "error", err)
	}
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}

// shutdownTracing exports the spans still buffered and stops the exporter.
func shutdownTracing(tp *sdktrace.TracerProvider, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tp.Shutdown(ctx); err != nil {
		logger.Warn("tracing: the last spans were not all exported", "error", err)
	}
}

// configureFromEnv reads the optional settings: CHANNELGRAPH_INTROSPECTION
// (off hides the schema and field suggestions), CHANNELGRAPH_ALLOWED_ORIGINS
// (comma-separated origins that may open websockets besides same-origin
// pages), CHANNELGRAPH_PROVISION_STEP (the built-in provisioner's delay per
// step, default 2s) and CHANNELGRAPH_PROVISIONER=external (no built-in
// provisioning: a fulfilment system reports the steps).
func configureFromEnv(cfg *server.Config) error {
	for _, o := range strings.Split(os.Getenv("CHANNELGRAPH_ALLOWED_ORIGINS"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			cfg.AllowedOrigins = append(cfg.AllowedOrigins, o)
		}
	}
	cfg.Websocket.AllowedOrigins = cfg.AllowedOrigins
	cfg.JWT = jwtFromEnv()
	cfg.PublicURL = os.Getenv("CHANNELGRAPH_PUBLIC_URL")
	if err := webhooksFromEnv(&cfg.Webhooks); err != nil {
		return err
	}
	switch v := env("CHANNELGRAPH_INTROSPECTION", "on"); v {
	case "on":
	case "off":
		cfg.NoIntrospection = true
	default:
		return fmt.Errorf("CHANNELGRAPH_INTROSPECTION must be on or off, not %q", v)
	}
	if dir := os.Getenv("CHANNELGRAPH_PERSISTED_QUERIES"); dir != "" {
		list, err := server.LoadAllowList(dir)
		if err != nil {
			return fmt.Errorf("CHANNELGRAPH_PERSISTED_QUERIES: %w", err)
		}
		cfg.AllowList = list
	}
	perSecond, err := strconv.ParseFloat(env("CHANNELGRAPH_RATE_LIMIT", "50"), 64)
	if err != nil || perSecond < 0 {
		return fmt.Errorf("CHANNELGRAPH_RATE_LIMIT must be requests a second per token, or 0 for none")
	}
	cfg.RateLimit = server.RateLimit{PerSecond: perSecond, Burst: int(math.Ceil(2 * perSecond))}
	step, err := time.ParseDuration(env("CHANNELGRAPH_PROVISION_STEP", "2s"))
	if err != nil || step <= 0 {
		return fmt.Errorf("CHANNELGRAPH_PROVISION_STEP must be a positive duration such as 2s")
	}
	switch v := env("CHANNELGRAPH_TEST_CLOCK", "0"); v {
	case "0":
	case "1":
		// Never in production: the platform administrator may then move
		// every rule's time forward with advanceTestClock (SPEC §8.5).
		cfg.Clock = &clock.Adjustable{}
		cfg.Logger.Warn("CHANNELGRAPH_TEST_CLOCK=1: the platform administrator may move this server's clock forward; never use it in production")
	default:
		return fmt.Errorf("CHANNELGRAPH_TEST_CLOCK must be 1 (on, for tests) or 0 (off), not %q", v)
	}
	switch p := env("CHANNELGRAPH_PROVISIONER", "builtin"); p {
	case "builtin":
		cfg.ProvisionStep = step
	case "external":
	default:
		return fmt.Errorf("CHANNELGRAPH_PROVISIONER must be builtin or external, not %q", p)
	}
	return nil
}

func openMigrated(ctx context.Context) (*bun.DB, error) {
	db, err := database.Open(env("CHANNELGRAPH_DATABASE_URL", database.DefaultURL))
	if err != nil {
		return nil, err
	}
	if err := database.Migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func migrateCmd(ctx context.Context, stdout io.Writer) error {
	db, err := openMigrated(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}

// demoTokensFile keeps the demo personas' tokens next to the embedded
// database, so a restart of `make run` can show them again.
const demoTokensFile = "data/demo-tokens.txt"

// loadDemo loads the demo channel into an empty database and prints the
// personas' tokens, or prints those saved by an earlier run when the demo is
// already loaded. It returns the personas whose tokens it printed (none when
// the database holds other data).
func loadDemo(ctx context.Context, db *bun.DB, stdout io.Writer) ([]demo.Persona, error) {
	empty, err := demo.IsEmpty(ctx, db)
	if err != nil {
		return nil, err
	}
	if !empty {
		if saved, err := os.ReadFile(demoTokensFile); err == nil {
			fmt.Fprintf(stdout, "Demo data is already loaded. Persona tokens (from %s):\n%s\n", demoTokensFile, saved)
			return parseDemoTokens(string(saved)), nil
		}
		fmt.Fprintln(stdout, "The database is not empty, so no demo data was loaded.")
		return nil, nil
	}
	personas, err := demo.Load(ctx, db)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	for _, p := range personas {
		fmt.Fprintf(&b, "  %-24s %-22s %-11s %s\n      %s\n", p.Name, p.Organization, p.Kind, p.Token, p.Note)
	}
	fmt.Fprintf(stdout, "Loaded the demo channel. Persona tokens (send as Authorization: Bearer <token>):\n%s\n", b.String())
	if err := os.MkdirAll(filepath.Dir(demoTokensFile), 0o755); err == nil {
		_ = os.WriteFile(demoTokensFile, []byte(b.String()), 0o600)
	}
	return personas, nil
}

// parseDemoTokens reads back what loadDemo saved in demoTokensFile: per
// persona a line "name organization kind token" and a line with its note.
func parseDemoTokens(saved string) []demo.Persona {
	var out []demo.Persona
	for _, line := range strings.Split(saved, "\n") {
		f := strings.Fields(line)
		if strings.HasPrefix(line, "      ") {
			if len(out) > 0 && out[len(out)-1].Note == "" {
				out[len(out)-1].Note = strings.TrimSpace(line)
			}
			continue
		}
		if len(f) < 4 || !strings.HasPrefix(f[len(f)-1], "cgt_") {
			continue
		}
		out = append(out, demo.Persona{
			Name:         f[0],
			Organization: strings.Join(f[1:len(f)-2], " "),
			Kind:         domain.OrganizationKind(f[len(f)-2]),
			Token:        f[len(f)-1],
		})
	}
	return out
}

// graphiqlDemo is what GraphiQL offers with the demo data: the starter
// document and a picker of the personas.
func graphiqlDemo(personas []demo.Persona) *graphiql.Demo {
	d := &graphiql.Demo{Document: demo.StarterDocument}
	for _, p := range personas {
		d.Personas = append(d.Personas, graphiql.Persona{
			Name:         p.Name,
			Organization: fmt.Sprintf("%s (%s)", p.Organization, p.Kind),
			Note:         p.Note,
			Token:        p.Token,
		})
	}
	return d
}
