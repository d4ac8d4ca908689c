package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/server"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

// TestLimits: operations crossing a limit are refused before any resolver
// runs, on HTTP and on websocket subscribe alike, and the answer names the
// limit.
func TestLimits(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		counter := &testapi.StatementCounter{}
		db.AddQueryHook(counter)
		f := newChannelFixture(t, db)
		deep := "{ viewer { organization { " + strings.Repeat("channelEdges(direction: DOWNSTREAM) { edges { node { downstream { ", 4) +
			"name" + strings.Repeat(" } } } }", 4) + " } } }"
		var aliased []string
		for i := 0; i < 31; i++ {
			aliased = append(aliased, fmt.Sprintf("a%d: viewer { role }", i))
		}
		aliases := "{ " + strings.Join(aliased, " ") + " }"
		costly := `{ purchaseOrders(first: 100) { edges { node { lines { product { vendor { channelEdges(direction: DOWNSTREAM, first: 100) { totalCount } } } } } } } }`
		for _, tc := range []struct{ name, query, want string }{
			{"depth", deep, "deep; the limit is 15"},
			{"aliases", aliases, "31 aliases; the limit is 30"},
			{"complexity", costly, "exceeds the limit of 10000"},
		} {
			before := counter.N()
			res := f.a.Do(f.tok[f.vendor], tc.query, nil)
			if len(res.Errors) == 0 || !strings.Contains(res.Errors[0].Message, tc.want) || res.Code() != "BAD_USER_INPUT" {
				t.Errorf("%s over HTTP: %+v", tc.name, res.Errors)
			}
			if n := counter.N() - before; n > 1 { // the token lookup only
				t.Errorf("%s: %d statements ran before the refusal", tc.name, n)
			}
		}
		c := f.a.dialWS(f.tok[f.vendor], false)
		c.subscribe("deep", "subscription { purchaseOrderUpdated { purchaseOrder { customer { "+
			strings.Repeat("channelEdges(direction: DOWNSTREAM) { edges { node { downstream { ", 3)+"name"+
			strings.Repeat(" } } } }", 3)+" } } } }", nil)
		if m := c.read(); m.Type != "error" || !strings.Contains(string(m.Payload), "the limit is 15") {
			t.Fatalf("a too deep subscription: %s %s", m.Type, m.Payload)
		}
		// A legitimate deep view is admitted: a distributor's resellers and their customers.
		f.a.Must(f.tok[f.dist], `{ viewer { organization { channelEdges(direction: DOWNSTREAM) { edges { node { downstream {
			channelEdges(direction: DOWNSTREAM) { edges { node { downstream { name } } } } } } } } } } }`, nil, nil)
	})
}

// TestBatchedRequests are refused with a clear answer.
func TestBatchedRequests(t *testing.T) {
	a := newAPI(t, testdb.MustOpen(t, "sqlite"))
	res := a.Raw(testapi.AdminToken, "application/json", []byte(` [{"query":"{ viewer { role } }"},{"query":"{ viewer { role } }"}]`))
	if res.Status != http.StatusBadRequest || !strings.Contains(res.Errors[0].Message, "batched requests are not supported") {
		t.Fatalf("%d %+v", res.Status, res.Errors)
	}
}

// TestPersistedQueries: a client that sends a query's hash alone is told to
// send the query once; afterwards the hash alone runs it.
func TestPersistedQueries(t *testing.T) {
	a := newAPI(t, testdb.MustOpen(t, "sqlite"))
	query := "{ viewer { isPlatformAdmin } }"
	sum := sha256.Sum256([]byte(query))
	ext := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}}
	hashOnly := mustJSON(map[string]any{"extensions": ext})
	if res := a.Raw(testapi.AdminToken, "application/json", hashOnly); len(res.Errors) == 0 || res.Errors[0].Message != "PersistedQueryNotFound" {
		t.Fatalf("an unknown hash: %+v", res.Errors)
	}
	if res := a.Raw(testapi.AdminToken, "application/json", mustJSON(map[string]any{"query": query, "extensions": ext})); len(res.Errors) > 0 {
		t.Fatalf("registering: %+v", res.Errors)
	}
	if res := a.Raw(testapi.AdminToken, "application/json", hashOnly); len(res.Errors) > 0 || !strings.Contains(string(res.Data), "isPlatformAdmin") {
		t.Fatalf("the hash alone: %s %+v", res.Data, res.Errors)
	}
}

// TestIntrospectionSwitch: with introspection off, the schema is not
// published and validation errors suggest no field names.
func TestIntrospectionSwitch(t *testing.T) {
	on := newAPI(t, testdb.MustOpen(t, "sqlite"))
	off, _ := newServer(t, testdb.MustOpen(t, "sqlite"), server.Config{NoIntrospection: true})
	if res := on.Do(testapi.AdminToken, `{ __schema { queryType { name } } }`, nil); len(res.Errors) > 0 {
		t.Fatalf("introspection on: %+v", res.Errors)
	}
	if res := off.Do(testapi.AdminToken, `{ __schema { queryType { name } } }`, nil); len(res.Errors) == 0 {
		t.Fatal("introspection off still answered __schema")
	}
	typo := `{ viewer { isPlatformAdmn } }`
	if res := on.Do(testapi.AdminToken, typo, nil); !strings.Contains(res.Errors[0].Message, "Did you mean") {
		t.Fatalf("suggestions on: %+v", res.Errors)
	}
	if res := off.Do(testapi.AdminToken, typo, nil); strings.Contains(res.Errors[0].Message, "Did you mean") {
		t.Fatalf("suggestions off: %+v", res.Errors)
	}
}

// TestRequestTimeout: an operation that runs past the time limit stops, and
// says it crossed the limit.
func TestRequestTimeout(t *testing.T) {
	a, _ := newServer(t, testdb.MustOpen(t, "sqlite"), server.Config{RequestTimeout: time.Nanosecond})
	res := a.Do(testapi.AdminToken, `{ purchaseOrders { totalCount } }`, nil)
	if len(res.Errors) == 0 || !strings.Contains(res.Errors[0].Message, "time limit") {
		t.Fatalf("%+v", res.Errors)
	}
}

// TestAllowList: in allow-list mode only the listed operations run, by text
// or by hash alone; anything else is refused and says why.
func TestAllowList(t *testing.T) {
	const allowed = "query Mine { viewer { isPlatformAdmin } }"
	list := server.AllowList{}
	list.Add(allowed)
	a, _ := newServer(t, testdb.MustOpen(t, "sqlite"), server.Config{AllowList: list})
	if res := a.Do(testapi.AdminToken, allowed, nil); len(res.Errors) > 0 {
		t.Fatalf("the allowed operation: %+v", res.Errors)
	}
	sum := sha256.Sum256([]byte(allowed))
	byHash := mustJSON(map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}}})
	if res := a.Raw(testapi.AdminToken, "application/json", byHash); len(res.Errors) > 0 || !strings.Contains(string(res.Data), "isPlatformAdmin") {
		t.Fatalf("the allowed operation by hash: %s %+v", res.Data, res.Errors)
	}
	if res := a.Do(testapi.AdminToken, "{ viewer { isPlatformAdmin } }", nil); len(res.Errors) == 0 || !strings.Contains(res.Errors[0].Message, "allow-list") {
		t.Fatalf("an operation not in the list: %+v", res.Errors)
	}
}
