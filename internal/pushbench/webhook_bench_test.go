package pushbench_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/channelgraph/channelgraph/internal/auth"
	"github.com/channelgraph/channelgraph/internal/catalog"
	"github.com/channelgraph/channelgraph/internal/channel"
	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/orders"
	"github.com/channelgraph/channelgraph/internal/relay"
	"github.com/channelgraph/channelgraph/internal/server"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
	"github.com/channelgraph/channelgraph/internal/webhooks"
)

var (
	webhookRun       = flag.Bool("webhook-bench", false, "run the webhook benchmark (make bench-webhooks)")
	webhookCustomers = flag.String("webhook-customers", "1,100", "customers with an endpoint each, per run")
	webhookEvents    = flag.Int("webhook-events", 100, "measured orders per run (after 5 warm-up orders)")
)

// TestWebhookBenchmark measures commit-to-delivery latency to a local
// receiver beside commit-to-push latency to a websocket subscriber, for the
// same orders in one run. A vendor sells to C customers; the vendor and
// every customer register an endpoint (so each order is resolved by C+1
// endpoints, and delivered to the vendor's and its customer's), and the
// vendor holds one websocket subscription. Orders are recorded one after
// another, each for the next customer in turn; "commit" is when
// createPurchaseOrder returned, a few microseconds after its COMMIT.
func TestWebhookBenchmark(t *testing.T) {
	if !*webhookRun {
		t.Skip("a benchmark, not a test: run it with `make bench-webhooks`")
	}
	fmt.Printf("\n| customers with an endpoint | path | p50 ms | p99 ms | max ms |\n|---:|---|---:|---:|---:|\n")
	for _, s := range strings.Split(*webhookCustomers, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(s))
		check(t, err)
		for _, r := range measureWebhooks(t, c) {
			fmt.Printf("| %d | %s | %.2f | %.2f | %.2f |\n", c, r.mode, ms(r.p50), ms(r.p99), ms(r.max))
		}
	}
}

// arrivals records when each order first arrived by one path.
type arrivals struct {
	mu sync.Mutex
	at map[int]time.Time
}

func (a *arrivals) add(i int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, seen := a.at[i]; !seen {
		a.at[i] = time.Now()
	}
}

func (a *arrivals) has(i int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.at[i]
	return ok
}

func measureWebhooks(t *testing.T, customers int) []result {
	ctx := context.Background()
	url := testdb.NewPostgres(t)
	db, err := database.Open(url)
	check(t, err)
	defer db.Close()
	check(t, database.Migrate(ctx, db))
	admin := domain.WithViewer(ctx, &domain.Viewer{IsPlatformAdmin: true})
	ch := channel.New(db)
	vendor, err := ch.CreateOrganization(admin, channel.CreateOrganizationInput{Name: "Vendor", Kind: domain.KindVendor})
	check(t, err)
	var customerIDs []int64
	for i := range customers {
		c, err := ch.CreateOrganization(admin, channel.CreateOrganizationInput{Name: fmt.Sprintf("Customer %d", i), Kind: domain.KindCustomer})
		check(t, err)
		_, err = ch.CreateChannelEdge(admin, vendor.ID, c.ID)
		check(t, err)
		customerIDs = append(customerIDs, c.ID)
	}
	_, err = catalog.New(db).CreateProduct(admin, catalog.CreateProductInput{VendorID: vendor.ID, SKU: "SKU-1", Name: "p", Type: domain.ProductLicense})
	check(t, err)
	token, err := auth.IssueForSetup(ctx, db, vendor.ID, domain.RoleViewer, "bench")
	check(t, err)

	api, _ := testapi.Start(t, db, server.Config{DatabaseURL: url,
		Webhooks: server.WebhookConfig{AllowPrivate: true, Delivery: webhooks.DeliveryConfig{}}})
	wsURL := "ws" + strings.TrimPrefix(api.URL, "http")

	vendorHooks, customerHooks := &arrivals{at: map[int]time.Time{}}, &arrivals{at: map[int]time.Time{}}
	receiver := func(a *arrivals) string {
		r := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if i, ok := orderIndex(body); ok {
				a.add(i)
			}
			w.WriteHeader(http.StatusNoContent)
		}))
		t.Cleanup(r.Close)
		return r.URL
	}
	register := func(org int64, to string) {
		var out struct {
			CreateWebhookEndpoint struct{ UserErrors []testapi.GQLError }
		}
		api.Must(testapi.AdminToken, `mutation($org: ID!, $url: String!) { createWebhookEndpoint(input: {organizationId: $org, url: $url,
			operation: "subscription { purchaseOrderUpdated { cursor purchaseOrder { number status customer { name } } } }"}) {
			userErrors { field message } } }`, map[string]any{"org": relay.GlobalID(relay.TypeOrganization, org), "url": to}, &out)
		if len(out.CreateWebhookEndpoint.UserErrors) > 0 {
			t.Fatalf("createWebhookEndpoint: %+v", out.CreateWebhookEndpoint.UserErrors)
		}
	}
	register(vendor.ID, receiver(vendorHooks))
	customerURL := receiver(customerHooks)
	for _, c := range customerIDs {
		register(c, customerURL)
	}

	pushed := &arrivals{at: map[int]time.Time{}}
	conn := dial(wsURL, "channelgraph", token)
	defer conn.Close()
	go readLoop(conn, "channelgraph", pushed.add)
	time.Sleep(200 * time.Millisecond) // the subscription joins its group

	ord := orders.New(db)
	commits := map[int]time.Time{}
	const warmup = 5
	for k := range warmup + *webhookEvents {
		i := int(numberCount.Add(1))
		_, err := ord.CreatePurchaseOrder(admin, orders.CreateInput{Number: fmt.Sprintf("B-%d", i), VendorID: vendor.ID,
			CustomerID: customerIDs[k%len(customerIDs)], Lines: []orders.LineInput{{SKU: "SKU-1", Quantity: 1}}})
		check(t, err)
		if k >= warmup {
			commits[i] = time.Now()
		}
		deadline := time.Now().Add(time.Minute)
		for !(vendorHooks.has(i) && customerHooks.has(i) && pushed.has(i)) {
			if time.Now().After(deadline) {
				t.Fatalf("order %d did not arrive by every path in a minute", i)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	var out []result
	for _, path := range []struct {
		mode string
		a    *arrivals
	}{{"websocket (vendor)", pushed}, {"webhook (vendor)", vendorHooks}, {"webhook (the order's customer)", customerHooks}} {
		var lat []time.Duration
		for i, at := range commits {
			lat = append(lat, path.a.at[i].Sub(at))
		}
		slices.Sort(lat)
		out = append(out, result{mode: path.mode, n: customers, p50: lat[len(lat)/2], p99: lat[len(lat)*99/100], max: lat[len(lat)-1]})
	}
	return out
}
