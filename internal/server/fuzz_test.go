package server_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/channelgraph/channelgraph/internal/server"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

// FuzzHTTPBody posts arbitrary bodies to the real handler (on SQLite, as the
// platform administrator and anonymously): it never panics and never
// answers 5xx.
func FuzzHTTPBody(f *testing.F) {
	for _, s := range []string{
		`{"query":"{ viewer { role } }"}`, `{"query":"{ purchaseOrders(first: 5) { totalCount } }"}`,
		`{"query":"mutation { createOrganization(input: {name: \"x\", kind: VENDOR}) { organization { id } } }"}`,
		`[{"query":"{ viewer { role } }"}]`, `{"query": 5}`, `{`, ``, `null`, `{"query":"{ node(id: \"%\") { id } }"}`,
		`{"query":"query($f: Int) { purchaseOrders(first: $f) { totalCount } }","variables":{"f":"x"}}`,
		`{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"00"}}}`,
	} {
		f.Add([]byte(s), true)
	}
	app, err := server.New(context.Background(), testdb.MustOpen(f, "sqlite"), server.Config{AdminToken: testapi.AdminToken, Logger: testapi.QuietLogger()})
	if err != nil {
		f.Fatal(err)
	}
	handler := app.Handler()
	f.Fuzz(func(t *testing.T, body []byte, admin bool) {
		req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if admin {
			req.Header.Set("Authorization", "Bearer "+testapi.AdminToken)
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%q answered %d: %s", body, rec.Code, rec.Body)
		}
	})
}
