package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/channelgraph/channelgraph/internal/server"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

// TestDroppedListenerLosesNothing runs two replicas in one process on one
// PostgreSQL database, cuts the first replica's LISTEN connection, and
// checks a change made through the second still reaches a subscriber of the
// first: the replica reconnects and reads on from its own position.
func TestDroppedListenerLosesNothing(t *testing.T) {
	url := testdb.NewPostgres(t)
	db := testdb.MustOpenURL(t, url)
	a := newChannelFixtureWith(t, db, server.Config{DatabaseURL: url})
	b, _ := newServer(t, testdb.MustOpenURL(t, url), server.Config{DatabaseURL: url})

	c := a.a.dialWS(a.tok[a.vendor], false)
	c.subscribe("1", poSubscription, nil)
	waitForSubscribers(t, a, 1)
	const listeners = "FROM pg_stat_activity WHERE query = 'LISTEN channelgraph_events' AND datname = current_database()"
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var n int
		if err := db.QueryRowContext(context.Background(), "SELECT count(*) "+listeners).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d replicas listening, want 2", n)
		}
	}
	res, err := db.ExecContext(context.Background(), "SELECT pg_terminate_backend(pid) "+listeners)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 2 {
		t.Fatalf("terminated %d listeners, want the 2 replicas'", n)
	}
	b.createOrder(a.tok[a.vendor], a.indirect("X-1"))
	if n := c.nextPO().PurchaseOrderUpdated.PurchaseOrder.Number; n != "X-1" {
		t.Fatalf("got %s", n)
	}
}

// TestProvisionerResumesAfterRestart stops a server while a tenant is being
// provisioned and starts another on the same database: it finishes the job.
func TestProvisionerResumesAfterRestart(t *testing.T) {
	db := testdb.MustOpen(t, "sqlite")
	f := newChannelFixtureWith(t, db, server.Config{ProvisionStep: time.Hour}) // never steps
	var out struct {
		CreateTenant struct{ Tenant struct{ ID string } }
	}
	f.a.Must(f.tok[f.cust], `mutation($c: ID!) { createTenant(input: {customerId: $c, domain: "tailspin.example.com"}) { tenant { id } } }`,
		map[string]any{"c": f.cust}, &out)
	f.app.Close()

	restarted, _ := newServer(t, db, server.Config{ProvisionStep: 10 * time.Millisecond})
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got struct{ Tenant struct{ Status string } }
		restarted.Must(f.tok[f.cust], `query($id: ID!) { tenant(id: $id) { status } }`, map[string]any{"id": out.CreateTenant.Tenant.ID}, &got)
		if got.Tenant.Status == "ACTIVE" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restarted provisioner left the tenant %s", got.Tenant.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
