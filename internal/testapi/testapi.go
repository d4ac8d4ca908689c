// Package testapi is a test client of the real Channelgraph HTTP handler,
// shared by the packages whose tests drive the API end to end
// (internal/server, internal/visibility). It is imported only by tests.
package testapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/auth"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/relay"
	"github.com/channelgraph/channelgraph/internal/server"
)

// AdminToken is the platform administrator's token of every server Start
// starts.
const AdminToken = "test-platform-admin-token-0123456789"

// Client is a client of a real Channelgraph HTTP server.
type Client struct {
	TB  testing.TB
	URL string // the /graphql endpoint
	DB  *bun.DB
}

// New starts a server on db with the default configuration and returns a
// client for it.
func New(tb testing.TB, db *bun.DB) *Client {
	c, _ := Start(tb, db, server.Config{})
	return c
}

// Start starts a server on db (cfg gets AdminToken and, when it has none, a
// quiet logger), stopped when tb ends, and returns a client for it.
func Start(tb testing.TB, db *bun.DB, cfg server.Config) (*Client, *server.Server) {
	cfg.AdminToken = AdminToken
	if cfg.Logger == nil {
		cfg.Logger = QuietLogger()
	}
	app, err := server.New(context.Background(), db, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	app.Start()
	srv := httptest.NewServer(app.Handler())
	tb.Cleanup(func() {
		srv.Close()
		app.Close()
	})
	return &Client{TB: tb, URL: srv.URL + "/graphql", DB: db}, app
}

// QuietLogger discards what a server logs.
func QuietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// GQLError is one entry of a response's errors.
type GQLError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// Response is a GraphQL response with its HTTP status.
type Response struct {
	Status int
	Data   json.RawMessage `json:"data"`
	Errors []GQLError      `json:"errors"`
}

// Code is the first error's extensions.code, "" without errors.
func (r *Response) Code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// Do posts a GraphQL request as token ("" for none).
func (c *Client) Do(token, query string, vars map[string]any) *Response {
	c.TB.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return c.Raw(token, "application/json", body)
}

// Raw posts body as it is, with its content type.
func (c *Client) Raw(token, contentType string, body []byte) *Response {
	c.TB.Helper()
	return c.Post(nil, token, contentType, body)
}

// Post sends body with header (nil for none) besides the content type and
// the bearer token ("" for none).
func (c *Client) Post(header http.Header, token, contentType string, body []byte) *Response {
	c.TB.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.URL, bytes.NewReader(body))
	if header != nil {
		req.Header = header.Clone()
	}
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.TB.Fatal(err)
	}
	defer res.Body.Close()
	out := &Response{Status: res.StatusCode}
	raw, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(raw, out); err != nil {
		c.TB.Fatalf("response is not JSON (%d): %s", res.StatusCode, raw)
	}
	return out
}

// Must posts a request that must succeed, and decodes its data into dst
// (nil to ignore it).
func (c *Client) Must(token, query string, vars map[string]any, dst any) {
	c.TB.Helper()
	res := c.Do(token, query, vars)
	if len(res.Errors) > 0 || res.Status != http.StatusOK {
		c.TB.Fatalf("request failed (%d): %+v\nquery: %s\nvars: %v", res.Status, res.Errors, query, vars)
	}
	if dst != nil {
		if err := json.Unmarshal(res.Data, dst); err != nil {
			c.TB.Fatal(err)
		}
	}
}

// MustToken issues an API token for a member of an organization (by row id).
func (c *Client) MustToken(orgID int64, role domain.Role) string {
	c.TB.Helper()
	token, err := auth.IssueForSetup(context.Background(), c.DB, orgID, role, "test")
	if err != nil {
		c.TB.Fatal(err)
	}
	return token
}

// RowID is the row id inside a global ID, failing the test on a bad one.
func RowID(tb testing.TB, gid string) int64 {
	tb.Helper()
	_, id, err := relay.ParseGlobalID(gid)
	if err != nil {
		tb.Fatalf("bad global id %q: %v", gid, err)
	}
	return id
}

// Describe renders v as indented JSON, for failure messages.
func Describe(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return strings.TrimSpace(string(b))
}
