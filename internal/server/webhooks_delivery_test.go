package server_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/events"
	"github.com/channelgraph/channelgraph/internal/push"
	"github.com/channelgraph/channelgraph/internal/server"
	"github.com/channelgraph/channelgraph/internal/testdb"
	"github.com/channelgraph/channelgraph/internal/webhooks"
)

// wdConfig delivers to the test's loopback receivers, with timings short
// enough for tests.
func wdConfig() server.Config {
	return server.Config{Webhooks: server.WebhookConfig{AllowPrivate: true, Delivery: webhooks.DeliveryConfig{
		Timeout: time.Second, FirstRetry: 50 * time.Millisecond, MaxRetry: 200 * time.Millisecond,
		Poll: 100 * time.Millisecond, LeaseTTL: 2 * time.Second}}}
}

var wdRootField = regexp.MustCompile(`^\s*subscription\s*\{\s*(\w+)`)

// wdEndpoint registers an endpoint by inserting its row, starting at the
// log's head, and returns its id and secret.
func wdEndpoint(t *testing.T, db *bun.DB, org int64, url, operation string) (int64, string) {
	t.Helper()
	ctx := context.Background()
	m := wdRootField.FindStringSubmatch(operation)
	if m == nil {
		t.Fatalf("no root field in %s", operation)
	}
	kind, ok := events.ForField(m[1])
	if !ok {
		t.Fatalf("no events for %s", m[1])
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	head, err := events.Head(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	ep := &domain.WebhookEndpoint{OrganizationID: org, URL: url, Operation: operation, Field: m[1],
		EventType: string(kind.Type), Status: domain.WebhookActive, Secret: secret, Cursor: head,
		CreatedAt: now, UpdatedAt: now}
	if _, err := db.NewInsert().Model(ep).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	return ep.ID, secret
}

// wdRequest is one POST a receiver got, and what it answered.
type wdRequest struct {
	ID, Timestamp, Signature, ContentType string
	Body                                  []byte
	Status                                int
}

// wdBody is a delivery's body.
type wdBody struct {
	Type   string          `json:"type"`
	Cursor string          `json:"cursor"`
	Data   json.RawMessage `json:"data"`
}

// wdReceiver is a real HTTP receiver that records every request; answer
// (nil: 204) decides each response from the request and how many earlier
// attempts of the same webhook-id it saw.
type wdReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []wdRequest
	answer func(r wdRequest, earlier int) (status int, sleep time.Duration)
}

func wdReceive(t *testing.T, answer func(r wdRequest, earlier int) (int, time.Duration)) *wdReceiver {
	rc := &wdReceiver{answer: answer}
	closing := make(chan struct{})
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := wdRequest{ID: r.Header.Get("webhook-id"), Timestamp: r.Header.Get("webhook-timestamp"),
			Signature: r.Header.Get("webhook-signature"), ContentType: r.Header.Get("content-type"), Body: body, Status: 204}
		rc.mu.Lock()
		earlier := 0
		for _, g := range rc.got {
			if g.ID == req.ID {
				earlier++
			}
		}
		rc.mu.Unlock()
		var sleep time.Duration
		if rc.answer != nil {
			req.Status, sleep = rc.answer(req, earlier)
		}
		if sleep > 0 {
			select {
			case <-time.After(sleep):
			case <-r.Context().Done():
				req.Status = 0 // the deliverer gave up
			case <-closing:
				req.Status = 0
			}
		}
		rc.mu.Lock()
		rc.got = append(rc.got, req)
		rc.mu.Unlock()
		if req.Status != 0 {
			w.WriteHeader(req.Status)
		}
	}))
	t.Cleanup(func() {
		close(closing)
		rc.Server.Close()
	})
	return rc
}

func (rc *wdReceiver) requests() []wdRequest {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]wdRequest(nil), rc.got...)
}

// accepted are the bodies answered with 2xx, in the order they came.
func (rc *wdReceiver) accepted() []wdBody {
	var out []wdBody
	for _, r := range rc.requests() {
		if r.Status >= 200 && r.Status < 300 {
			var b wdBody
			_ = json.Unmarshal(r.Body, &b)
			out = append(out, b)
		}
	}
	return out
}

// wdVerify checks a request's signature as a receiver would, independently
// of the server's code: HMAC-SHA256 keyed with the secret's decoded bytes
// over id.timestamp.body, one of the space-separated v1 signatures, and a
// timestamp within five minutes.
func wdVerify(secret string, r wdRequest) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	ts, err := strconv.ParseInt(r.Timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook-timestamp %q: %v", r.Timestamp, err)
	}
	if d := time.Since(time.Unix(ts, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("webhook-timestamp %s is %s off", r.Timestamp, d)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(r.ID + "." + r.Timestamp + "." + string(r.Body)))
	want := mac.Sum(nil)
	for _, s := range strings.Fields(r.Signature) {
		v, sig, ok := strings.Cut(s, ",")
		if !ok || v != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("no valid signature in %q", r.Signature)
}

// wdWait polls cond until it holds, failing after a generous deadline.
func wdWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func wdEndpointRow(t *testing.T, db *bun.DB, id int64) *domain.WebhookEndpoint {
	t.Helper()
	ep := new(domain.WebhookEndpoint)
	if err := db.NewSelect().Model(ep).Where("id = ?", id).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return ep
}

func wdDeliveries(t *testing.T, db *bun.DB, endpoint int64) []domain.WebhookDelivery {
	t.Helper()
	var rows []domain.WebhookDelivery
	if err := db.NewSelect().Model(&rows).Where("endpoint_id = ?", endpoint).Order("id").Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return rows
}

const wdOrders = `subscription { purchaseOrderUpdated { cursor purchaseOrder { number status } } }`

// wdNumber is the order number a purchaseOrderUpdated delivery carries.
func wdNumber(t *testing.T, b wdBody) string {
	t.Helper()
	var d struct {
		PurchaseOrderUpdated struct {
			Cursor        string
			PurchaseOrder struct{ Number string }
		}
	}
	if err := json.Unmarshal(b.Data, &d); err != nil {
		t.Fatalf("data %s: %v", b.Data, err)
	}
	if d.PurchaseOrderUpdated.Cursor != b.Cursor {
		t.Errorf("the body's cursor %s is not the event's %s", b.Cursor, d.PurchaseOrderUpdated.Cursor)
	}
	return d.PurchaseOrderUpdated.PurchaseOrder.Number
}

// TestWebhookDeliverySignedInOrder: every order reaches the endpoint once,
// in commit order, as {type, cursor, data} with Standard Webhooks headers a
// receiver verifies on its own, and each delivery is recorded SUCCEEDED.
func TestWebhookDeliverySignedInOrder(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newChannelFixtureWith(t, db, wdConfig())
		rc := wdReceive(t, nil)
		ep, secret := wdEndpoint(t, db, rowID(t, f.vendor), rc.URL+"/hook", wdOrders)
		const n = 20
		for i := 1; i <= n; i++ {
			f.a.createOrder(f.tok[f.vendor], f.indirect(fmt.Sprintf("PO-%02d", i)))
		}
		wdWait(t, "20 deliveries", func() bool { return len(rc.accepted()) >= n })
		reqs := rc.requests()
		if len(reqs) != n {
			t.Fatalf("%d requests, want %d", len(reqs), n)
		}
		var last int64
		ids := map[string]bool{}
		for i, r := range reqs {
			if err := wdVerify(secret, r); err != nil {
				t.Errorf("delivery %d: %v", i, err)
			}
			if r.ContentType != "application/json" {
				t.Errorf("content-type %q", r.ContentType)
			}
			var shape map[string]json.RawMessage
			if err := json.Unmarshal(r.Body, &shape); err != nil || len(shape) != 3 {
				t.Errorf("body %s is not {type, cursor, data}", r.Body)
			}
			var b wdBody
			_ = json.Unmarshal(r.Body, &b)
			if b.Type != "purchaseOrderUpdated" {
				t.Errorf("type %q", b.Type)
			}
			if got, want := wdNumber(t, b), fmt.Sprintf("PO-%02d", i+1); got != want {
				t.Errorf("delivery %d is %s, want %s", i, got, want)
			}
			pos, err := push.ParseCursor(b.Cursor)
			if err != nil || pos <= last {
				t.Errorf("cursor %s (%d, %v) after %d", b.Cursor, pos, err, last)
			}
			last = pos
			if ids[r.ID] || r.ID == "" {
				t.Errorf("webhook-id %q repeated or empty", r.ID)
			}
			ids[r.ID] = true
		}
		// A receiver holding another secret refuses them.
		if err := wdVerify("whsec_"+base64.StdEncoding.EncodeToString(make([]byte, 32)), reqs[0]); err == nil {
			t.Error("a wrong secret verifies")
		}
		wdWait(t, "the cursor to move", func() bool { return wdEndpointRow(t, db, ep).Cursor >= last })
		rows := wdDeliveries(t, db, ep)
		if len(rows) != n {
			t.Fatalf("%d delivery rows, want %d", len(rows), n)
		}
		res, err := http.Get(strings.TrimSuffix(f.a.URL, "/graphql") + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		metrics := readAll(t, res)
		for _, want := range []string{`channelgraph_webhook_attempts_total{result="accepted"} 20`,
			"channelgraph_webhook_delivery_lag_seconds_count 20", "channelgraph_webhook_endpoints_held 1"} {
			if !strings.Contains(metrics, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		for i, row := range rows {
			if row.Status != domain.DeliverySucceeded || row.Attempts != 1 || row.ResponseStatus == nil || *row.ResponseStatus != 204 ||
				row.DeliveredAt == nil || row.MessageID != reqs[i].ID || row.Replay {
				t.Errorf("row %d: %+v", i, row)
			}
		}
	})
}

// TestWebhookDeliveryRetriesAfter500: the receiver answers 500 to an event
// until a later one has committed (and at least twice): it is retried with
// the same webhook-id, the later event waits behind it, then both arrive in
// order. While it fails, the endpoint is FAILING with the reason.
func TestWebhookDeliveryRetriesAfter500(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newChannelFixtureWith(t, db, wdConfig())
		var (
			mu       sync.Mutex
			second   bool
			duringEP *domain.WebhookEndpoint
			ep       int64
		)
		rc := wdReceive(t, func(r wdRequest, earlier int) (int, time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			if strings.Contains(string(r.Body), "RETRY-1") && (earlier < 2 || !second) {
				return 500, 0
			}
			if strings.Contains(string(r.Body), "RETRY-1") {
				duringEP = wdEndpointRow(t, db, ep)
			}
			return 200, 0
		})
		mu.Lock()
		ep, _ = wdEndpoint(t, db, rowID(t, f.vendor), rc.URL, wdOrders)
		mu.Unlock()
		f.a.createOrder(f.tok[f.vendor], f.indirect("RETRY-1"))
		wdWait(t, "a first failed attempt", func() bool { return len(rc.requests()) >= 1 })
		f.a.createOrder(f.tok[f.vendor], f.indirect("RETRY-2"))
		mu.Lock()
		second = true
		mu.Unlock()
		wdWait(t, "both deliveries", func() bool { return len(rc.accepted()) >= 2 })
		reqs := rc.requests()
		var seq []string
		for _, r := range reqs {
			var b wdBody
			_ = json.Unmarshal(r.Body, &b)
			seq = append(seq, wdNumber(t, b)+":"+strconv.Itoa(r.Status))
		}
		first := reqs[0].ID
		for i, r := range reqs[:len(reqs)-1] {
			if r.ID != first {
				t.Errorf("request %d has webhook-id %s, not the retried event's %s", i, r.ID, first)
			}
		}
		if len(reqs) < 4 || seq[len(seq)-2] != "RETRY-1:200" || seq[len(seq)-1] != "RETRY-2:200" {
			t.Fatalf("requests %v: want RETRY-1 failing at least twice, then RETRY-1 and RETRY-2 accepted", seq)
		}
		mu.Lock()
		during := duringEP
		mu.Unlock()
		if during == nil || during.Status != domain.WebhookFailing || during.LastError != "HTTP 500" || during.Failures != len(reqs)-2 {
			t.Errorf("while retrying, the endpoint was %+v", during)
		}
		wdWait(t, "both rows SUCCEEDED", func() bool {
			rows := wdDeliveries(t, db, ep)
			return len(rows) == 2 && rows[1].Status == domain.DeliverySucceeded
		})
		rows := wdDeliveries(t, db, ep)
		if rows[0].Attempts != len(reqs)-1 || *rows[0].ResponseStatus != 200 || rows[0].Status != domain.DeliverySucceeded || rows[1].Attempts != 1 {
			t.Errorf("rows %+v %+v", rows[0], rows[1])
		}
		if e := wdEndpointRow(t, db, ep); e.Status != domain.WebhookActive || e.Failures != 0 || e.LastError != "" {
			t.Errorf("after acceptance the endpoint is %+v", e)
		}
	})
}

// TestWebhookDeliveryRetriesAfterTimeout: an attempt the receiver answers
// after the timeout fails ("timeout after 1s"), and is retried.
func TestWebhookDeliveryRetriesAfterTimeout(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newChannelFixtureWith(t, db, wdConfig())
		var ep int64
		var during *domain.WebhookEndpoint
		var mu sync.Mutex
		rc := wdReceive(t, func(r wdRequest, earlier int) (int, time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			if earlier == 0 {
				return 200, 3 * time.Second
			}
			during = wdEndpointRow(t, db, ep)
			return 200, 0
		})
		mu.Lock()
		ep, _ = wdEndpoint(t, db, rowID(t, f.vendor), rc.URL, wdOrders)
		mu.Unlock()
		f.a.createOrder(f.tok[f.vendor], f.indirect("SLOW-1"))
		wdWait(t, "the retry's acceptance", func() bool { return len(rc.accepted()) == 1 })
		reqs := rc.requests()
		if len(reqs) != 2 || reqs[0].ID != reqs[1].ID || reqs[0].Status != 0 {
			t.Fatalf("requests %+v: want one timed out, then its retry", reqs)
		}
		mu.Lock()
		defer mu.Unlock()
		if during == nil || during.Status != domain.WebhookFailing || during.LastError != "timeout after 1s" {
			t.Errorf("while retrying, the endpoint was %+v", during)
		}
		wdWait(t, "the row SUCCEEDED", func() bool {
			rows := wdDeliveries(t, db, ep)
			return len(rows) == 1 && rows[0].Status == domain.DeliverySucceeded && rows[0].Attempts == 2
		})
	})
}

// TestWebhookDeliveryDisabledAfterFailures: after DisableAfter failed
// attempts in a row the endpoint is DISABLED with the last reason, its
// delivery FAILED, and nothing more is sent.
func TestWebhookDeliveryDisabledAfterFailures(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		cfg := wdConfig()
		cfg.Webhooks.Delivery.DisableAfter = 3
		f := newChannelFixtureWith(t, db, cfg)
		rc := wdReceive(t, func(wdRequest, int) (int, time.Duration) { return 503, 0 })
		ep, _ := wdEndpoint(t, db, rowID(t, f.vendor), rc.URL, wdOrders)
		f.a.createOrder(f.tok[f.vendor], f.indirect("DEAD-1"))
		f.a.createOrder(f.tok[f.vendor], f.indirect("DEAD-2"))
		wdWait(t, "DISABLED", func() bool { return wdEndpointRow(t, db, ep).Status == domain.WebhookDisabled })
		e := wdEndpointRow(t, db, ep)
		if e.Failures != 3 || e.LastError != "HTTP 503" {
			t.Errorf("disabled endpoint %+v", e)
		}
		f.a.createOrder(f.tok[f.vendor], f.indirect("DEAD-3"))
		time.Sleep(500 * time.Millisecond) // five polls: long enough for a wrong attempt to show
		reqs := rc.requests()
		if len(reqs) != 3 {
			t.Errorf("%d attempts, want 3", len(reqs))
		}
		for _, r := range reqs {
			if r.ID != reqs[0].ID {
				t.Errorf("a later event (%s) was sent after the first failed", r.ID)
			}
		}
		rows := wdDeliveries(t, db, ep)
		if len(rows) != 1 || rows[0].Status != domain.DeliveryFailed || rows[0].Attempts != 3 || rows[0].NextAttemptAt != nil || rows[0].LastError != "HTTP 503" {
			t.Errorf("rows %+v", rows)
		}
	})
}

// TestWebhookDeliveryRefusedAtConnect: a name that resolves to a loopback
// address when the deliverer connects is refused, where private addresses
// are not allowed: the attempt fails and the receiver sees nothing.
func TestWebhookDeliveryRefusedAtConnect(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		cfg := wdConfig()
		cfg.Webhooks.AllowPrivate = false
		cfg.Webhooks.Lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
		}
		f := newChannelFixtureWith(t, db, cfg)
		rc := wdReceive(t, nil)
		port := rc.Listener.Addr().(*net.TCPAddr).Port
		ep, _ := wdEndpoint(t, db, rowID(t, f.vendor), fmt.Sprintf("http://hooks.example.com:%d/", port), wdOrders)
		f.a.createOrder(f.tok[f.vendor], f.indirect("PRIVATE-1"))
		wdWait(t, "a failed attempt", func() bool { return wdEndpointRow(t, db, ep).Failures > 0 })
		e := wdEndpointRow(t, db, ep)
		if e.Status != domain.WebhookFailing || !strings.Contains(e.LastError, "refused to connect to hooks.example.com (127.0.0.1)") {
			t.Errorf("endpoint %+v", e)
		}
		rows := wdDeliveries(t, db, ep)
		if len(rows) != 1 || rows[0].ResponseStatus != nil || rows[0].Status != domain.DeliveryPending || rows[0].NextAttemptAt == nil {
			t.Errorf("rows %+v", rows)
		}
		if n := len(rc.requests()); n != 0 {
			t.Errorf("the receiver got %d requests", n)
		}
	})
}

// TestWebhookDeliveryPricesAsTheOrganization: each party's endpoint gets
// its own prices only, and the customer's gets exactly what a customer's
// websocket subscriber gets: no distributor, no upstream cost.
func TestWebhookDeliveryPricesAsTheOrganization(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := pricedFixtureWith(t, db, wdConfig())
		const sub = `subscription { purchaseOrderUpdated { purchaseOrder { number distributor { name }
			lines { buyPrice { amount currency } sellPrice { amount currency } margin { amount currency } } } } }`
		want := map[string]string{
			f.dist:     "buy 10.00 sell 12.00 margin 2.00",
			f.reseller: "buy 12.00 sell 13.20 margin 1.20",
			f.cust:     "buy 13.20 sell null margin null",
		}
		receivers := map[string]*wdReceiver{}
		for org := range want {
			receivers[org] = wdReceive(t, nil)
			wdEndpoint(t, db, rowID(t, org), receivers[org].URL, sub)
		}
		ws := f.a.dialWS(f.tok[f.cust], false)
		ws.subscribe("po", sub, nil)
		waitForSubscribers(t, f, 1)
		f.a.createOrder(f.tok[f.vendor], f.indirect("PRICED-1"))
		for org, rc := range receivers {
			wdWait(t, "a delivery", func() bool { return len(rc.accepted()) == 1 })
			body := rc.accepted()[0]
			var d struct {
				PurchaseOrderUpdated struct {
					PurchaseOrder struct {
						Number      string
						Distributor *struct{ Name string }
						Lines       []linePrices
					}
				}
			}
			if err := json.Unmarshal(body.Data, &d); err != nil {
				t.Fatal(err)
			}
			po := d.PurchaseOrderUpdated.PurchaseOrder
			if len(po.Lines) != 1 || po.Lines[0].String() != want[org] {
				t.Errorf("%s's delivery carries %v, want %s", org, po.Lines, want[org])
			}
			if org != f.cust {
				continue
			}
			raw := string(rc.requests()[0].Body)
			if po.Distributor != nil || strings.Contains(raw, "Distributor") || strings.Contains(raw, "10.00") || strings.Contains(raw, "12.00") {
				t.Errorf("the customer's delivery tells of the distributor or an upstream cost: %s", raw)
			}
			m := ws.read()
			var live struct{ Data json.RawMessage }
			if err := json.Unmarshal(m.Payload, &live); err != nil {
				t.Fatal(err)
			}
			var a, b any
			_ = json.Unmarshal(live.Data, &a)
			_ = json.Unmarshal(body.Data, &b)
			if describe(a) != describe(b) {
				t.Errorf("the customer's delivery\n%s\nis not what its subscriber got\n%s", body.Data, live.Data)
			}
		}
	})
}

// TestWebhookDeliveryFollowsGrants: once the distributor turns its
// reseller's view off, the reseller's endpoint gets no more of those
// orders, while the distributor's still does.
func TestWebhookDeliveryFollowsGrants(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newChannelFixtureWith(t, db, wdConfig())
		dist, reseller := wdReceive(t, nil), wdReceive(t, nil)
		wdEndpoint(t, db, rowID(t, f.dist), dist.URL, wdOrders)
		rep, _ := wdEndpoint(t, db, rowID(t, f.reseller), reseller.URL, wdOrders)
		f.a.createOrder(f.tok[f.vendor], f.indirect("G-1"))
		wdWait(t, "G-1 at both", func() bool { return len(dist.accepted()) == 1 && len(reseller.accepted()) == 1 })
		f.a.MustSetView(f.tok[f.dist], f.drEdge, false)
		f.a.createOrder(f.tok[f.vendor], f.indirect("G-2"))
		wdWait(t, "G-2 at the distributor", func() bool { return len(dist.accepted()) == 2 })
		kind, _ := events.ForField("purchaseOrderUpdated")
		evs, err := events.After(context.Background(), db, 0, []events.Type{kind.Type}, 1000)
		if err != nil || len(evs) == 0 {
			t.Fatalf("reading the log: %v", err)
		}
		last := evs[len(evs)-1].Position
		wdWait(t, "the reseller's cursor past G-2", func() bool { return wdEndpointRow(t, db, rep).Cursor >= last })
		var got []string
		for _, b := range reseller.accepted() {
			got = append(got, wdNumber(t, b))
		}
		if strings.Join(got, ",") != "G-1" || len(reseller.requests()) != 1 {
			t.Errorf("the reseller's endpoint got %v after its view was turned off", got)
		}
		if rows := wdDeliveries(t, db, rep); len(rows) != 1 {
			t.Errorf("the reseller's endpoint has %d delivery rows, want 1 (nothing for an event it may not see)", len(rows))
		}
	})
}

// TestWebhookDeliveryDeadBesideHealthy: an endpoint whose receiver hangs
// (here within a 30 s timeout, so its first attempt is in flight for the
// whole test) does not hold back another endpoint's deliveries.
func TestWebhookDeliveryDeadBesideHealthy(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		cfg := wdConfig()
		cfg.Webhooks.Delivery.Timeout = 30 * time.Second
		f := newChannelFixtureWith(t, db, cfg)
		var hung atomic.Int32
		dead := wdReceive(t, func(wdRequest, int) (int, time.Duration) {
			hung.Add(1)
			return 200, time.Minute
		})
		var mu sync.Mutex
		arrived := map[string]time.Time{}
		healthy := wdReceive(t, func(r wdRequest, _ int) (int, time.Duration) {
			var b wdBody
			_ = json.Unmarshal(r.Body, &b)
			var d struct {
				PurchaseOrderUpdated struct{ PurchaseOrder struct{ Number string } }
			}
			_ = json.Unmarshal(b.Data, &d)
			mu.Lock()
			arrived[d.PurchaseOrderUpdated.PurchaseOrder.Number] = time.Now()
			mu.Unlock()
			return 200, 0
		})
		vendor := rowID(t, f.vendor)
		deadEP, _ := wdEndpoint(t, db, vendor, dead.URL, wdOrders)
		start := wdEndpointRow(t, db, deadEP).Cursor
		wdEndpoint(t, db, vendor, healthy.URL, wdOrders)
		const n = 10
		created := map[string]time.Time{}
		for i := 1; i <= n; i++ {
			number := fmt.Sprintf("H-%02d", i)
			f.a.createOrder(f.tok[f.vendor], f.indirect(number))
			created[number] = time.Now()
		}
		end := time.Now()
		wdWait(t, "the healthy endpoint's deliveries", func() bool { return len(healthy.accepted()) == n })
		if took := time.Since(end); took > 10*time.Second {
			t.Errorf("the healthy endpoint's deliveries took %s after the last order", took)
		}
		mu.Lock()
		var lags []string
		for number, at := range created {
			lags = append(lags, fmt.Sprintf("%s %s", number, arrived[number].Sub(at).Round(time.Millisecond)))
		}
		mu.Unlock()
		t.Logf("healthy endpoint's lag from the order's creation: %v", lags)
		if n := hung.Load(); n != 1 || len(dead.requests()) != 0 {
			t.Errorf("the dead endpoint got %d requests (%d answered), want its first event's one, in flight", n, len(dead.requests()))
		}
		// Its cursor may have moved past events of other types, never past
		// its first order, which is still in flight.
		var firstOrder int64
		if err := db.NewSelect().TableExpr("events").ColumnExpr("MIN(position)").
			Where("type = ? AND position > ?", "PURCHASE_ORDER_UPDATED", start).Scan(t.Context(), &firstOrder); err != nil {
			t.Fatal(err)
		}
		if e := wdEndpointRow(t, db, deadEP); e.Cursor >= firstOrder || e.Status != domain.WebhookActive {
			t.Errorf("dead endpoint %+v, want its cursor before its first order's event at %d", e, firstOrder)
		}
	})
}

// TestWebhookDeliveryAcrossReplicas: two servers on one database deliver
// each event once between them (the endpoints' leases), and when the one
// holding them stops, the other takes them over after the lease and
// continues from their cursors, losing nothing.
func TestWebhookDeliveryAcrossReplicas(t *testing.T) {
	url := testdb.NewPostgres(t)
	db := testdb.MustOpenURL(t, url)
	cfgA, cfgB := wdConfig(), wdConfig()
	cfgA.DatabaseURL, cfgB.DatabaseURL = url, url
	cfgA.Webhooks.Delivery.Replica, cfgB.Webhooks.Delivery.Replica = "replica-a", "replica-b"
	f := newChannelFixtureWith(t, db, cfgA)
	b, appB := newServer(t, testdb.MustOpenURL(t, url), cfgB)
	clients := map[string]*api{"replica-a": f.a, "replica-b": b}
	apps := map[string]*server.Server{"replica-a": f.app, "replica-b": appB}

	var receivers []*wdReceiver
	var eps []int64
	for _, org := range []string{f.vendor, f.dist, f.reseller, f.cust} {
		rc := wdReceive(t, nil)
		id, _ := wdEndpoint(t, db, rowID(t, org), rc.URL, wdOrders)
		receivers, eps = append(receivers, rc), append(eps, id)
	}
	all := func(n int) func() bool {
		return func() bool {
			for _, rc := range receivers {
				if len(rc.accepted()) < n {
					return false
				}
			}
			return true
		}
	}
	for i := 1; i <= 5; i++ {
		c := b
		if i%2 == 1 {
			c = f.a
		}
		c.createOrder(f.tok[f.vendor], f.indirect(fmt.Sprintf("R-%02d", i)))
	}
	wdWait(t, "5 deliveries to each endpoint", all(5))
	// and recorded: an acceptance the stopping replica had not yet
	// recorded would be sent again by the other (at least once).
	kind, _ := events.ForField("purchaseOrderUpdated")
	evs, err := events.After(context.Background(), db, 0, []events.Type{kind.Type}, 1000)
	if err != nil || len(evs) != 5 {
		t.Fatalf("%d events (%v)", len(evs), err)
	}
	wdWait(t, "the cursors to move", func() bool {
		for _, id := range eps {
			if wdEndpointRow(t, db, id).Cursor < evs[4].Position {
				return false
			}
		}
		return true
	})
	holder := wdEndpointRow(t, db, eps[0]).LeaseOwner
	other := map[string]string{"replica-a": "replica-b", "replica-b": "replica-a"}[holder]
	if holder == "" {
		t.Fatal("no replica holds the endpoint")
	}
	apps[holder].Close()
	for i := 6; i <= 10; i++ {
		clients[other].createOrder(f.tok[f.vendor], f.indirect(fmt.Sprintf("R-%02d", i)))
	}
	wdWait(t, "10 deliveries to each endpoint", all(10))
	for i, rc := range receivers {
		reqs := rc.requests()
		ids := map[string]bool{}
		var numbers []string
		for _, r := range reqs {
			ids[r.ID] = true
			var body wdBody
			_ = json.Unmarshal(r.Body, &body)
			numbers = append(numbers, wdNumber(t, body))
		}
		if len(reqs) != 10 || len(ids) != 10 {
			t.Errorf("endpoint %d got %d requests of %d events, want each of 10 once: %v", i, len(reqs), len(ids), numbers)
		}
		for j, n := range numbers {
			if want := fmt.Sprintf("R-%02d", j+1); n != want {
				t.Errorf("endpoint %d: delivery %d is %s, want %s", i, j, n, want)
			}
		}
		if e := wdEndpointRow(t, db, eps[i]); e.LeaseOwner != other {
			t.Errorf("endpoint %d is held by %q, want %s", i, e.LeaseOwner, other)
		}
	}
}

// TestWebhookDeliveryResumesAfterRestart: a server stops while an event is
// being retried; the next server on the database continues the same
// delivery (its attempts, its webhook-id) and the event waiting behind it,
// in order, losing nothing.
func TestWebhookDeliveryResumesAfterRestart(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			url := "sqlite:" + testdb.NewSQLite(t)
			if kind == "postgres" {
				url = testdb.NewPostgres(t)
			}
			db := testdb.MustOpenURL(t, url)
			cfg := wdConfig()
			cfg.DatabaseURL = url
			f := newChannelFixtureWith(t, db, cfg)
			var failing atomic.Bool
			failing.Store(true)
			rc := wdReceive(t, func(r wdRequest, _ int) (int, time.Duration) {
				if failing.Load() {
					return 500, 0
				}
				return 200, 0
			})
			ep, secret := wdEndpoint(t, db, rowID(t, f.vendor), rc.URL, wdOrders)
			f.a.createOrder(f.tok[f.vendor], f.indirect("RESTART-1"))
			f.a.createOrder(f.tok[f.vendor], f.indirect("RESTART-2"))
			wdWait(t, "two failed attempts", func() bool {
				rows := wdDeliveries(t, db, ep)
				return len(rows) == 1 && rows[0].Attempts >= 2
			})
			f.app.Close() // an attempt it had under way is not recorded; the receiver may have seen it
			before := wdDeliveries(t, db, ep)[0]
			failing.Store(false)
			newServer(t, testdb.MustOpenURL(t, url), cfg)
			wdWait(t, "both orders accepted", func() bool { return len(rc.accepted()) == 2 })
			var got []string
			for _, b := range rc.accepted() {
				got = append(got, wdNumber(t, b))
			}
			if strings.Join(got, ",") != "RESTART-1,RESTART-2" {
				t.Errorf("accepted %v", got)
			}
			reqs := rc.requests()
			for _, r := range reqs[:len(reqs)-1] {
				if r.ID != before.MessageID {
					t.Errorf("webhook-id %s before the first acceptance, want %s", r.ID, before.MessageID)
				}
				if err := wdVerify(secret, r); err != nil {
					t.Error(err)
				}
			}
			wdWait(t, "both rows SUCCEEDED", func() bool {
				rows := wdDeliveries(t, db, ep)
				return len(rows) == 2 && rows[1].Status == domain.DeliverySucceeded
			})
			after := wdDeliveries(t, db, ep)[0]
			if after.ID != before.ID || after.Attempts != before.Attempts+1 || after.Status != domain.DeliverySucceeded || after.Attempts > len(reqs)-1 {
				t.Errorf("before the restart %+v, after %+v (%d requests)", before, after, len(reqs))
			}
		})
	}
}

// TestWebhookDeliverySignsWithBothSecretsDuringOverlap: after a rotation,
// until the old secret's overlap ends, each delivery carries a signature
// by each secret; after it, by the new one only.
func TestWebhookDeliverySignsWithBothSecretsDuringOverlap(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newChannelFixtureWith(t, db, wdConfig())
		overlapping, ended := wdReceive(t, nil), wdReceive(t, nil)
		old := "whsec_" + base64.StdEncoding.EncodeToString([]byte("an old secret of thirty-two bytes"))
		for _, c := range []struct {
			rc    *wdReceiver
			until time.Time
		}{{overlapping, time.Now().Add(time.Hour)}, {ended, time.Now().Add(-time.Second)}} {
			id, _ := wdEndpoint(t, db, rowID(t, f.vendor), c.rc.URL, wdOrders)
			if _, err := db.NewUpdate().TableExpr("webhook_endpoints").Set("previous_secret = ?", old).
				Set("previous_secret_until = ?", c.until.UTC()).Where("id = ?", id).Exec(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		f.a.createOrder(f.tok[f.vendor], f.indirect("ROTATE-1"))
		wdWait(t, "both deliveries", func() bool { return len(overlapping.accepted()) == 1 && len(ended.accepted()) == 1 })
		r := overlapping.requests()[0]
		if n := len(strings.Fields(r.Signature)); n != 2 || wdVerify(old, r) != nil {
			t.Errorf("during the overlap: %q (%v)", r.Signature, wdVerify(old, r))
		}
		r = ended.requests()[0]
		if n := len(strings.Fields(r.Signature)); n != 1 || wdVerify(old, r) == nil {
			t.Errorf("after the overlap: %q", r.Signature)
		}
	})
}

// TestWebhookDeliveryNeverFollowsRedirects: a redirect is a failed attempt;
// where it points is never contacted.
func TestWebhookDeliveryNeverFollowsRedirects(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newChannelFixtureWith(t, db, wdConfig())
		target := wdReceive(t, nil)
		redirect := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
		t.Cleanup(redirect.Close)
		ep, _ := wdEndpoint(t, db, rowID(t, f.vendor), redirect.URL, wdOrders)
		f.a.createOrder(f.tok[f.vendor], f.indirect("MOVED-1"))
		wdWait(t, "a failed attempt", func() bool { return wdEndpointRow(t, db, ep).Failures > 0 })
		if e := wdEndpointRow(t, db, ep); !strings.HasPrefix(e.LastError, "HTTP 307: redirects are not followed") {
			t.Errorf("endpoint %+v", e)
		}
		if n := len(target.requests()); n != 0 {
			t.Errorf("the redirect's target got %d requests", n)
		}
	})
}

// TestWebhookDeliveryReplays: when the endpoint's cursor is set back as
// replayWebhookEndpoint sets it (cursor, replay_until, a new generation),
// the events after it are sent again in order with their webhook-ids,
// recorded as replays, then delivery continues live.
func TestWebhookDeliveryReplays(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newChannelFixtureWith(t, db, wdConfig())
		rc := wdReceive(t, nil)
		ep, _ := wdEndpoint(t, db, rowID(t, f.vendor), rc.URL, wdOrders)
		start := wdEndpointRow(t, db, ep).Cursor
		for i := 1; i <= 3; i++ {
			f.a.createOrder(f.tok[f.vendor], f.indirect(fmt.Sprintf("REPLAY-%d", i)))
		}
		wdWait(t, "3 deliveries", func() bool { return len(rc.accepted()) == 3 })
		kind, _ := events.ForField("purchaseOrderUpdated")
		evs, err := events.After(context.Background(), db, 0, []events.Type{kind.Type}, 1000)
		if err != nil || len(evs) != 3 {
			t.Fatalf("%d events (%v)", len(evs), err)
		}
		wdWait(t, "the cursor to move", func() bool { return wdEndpointRow(t, db, ep).Cursor >= evs[2].Position })
		if _, err := db.NewUpdate().TableExpr("webhook_endpoints").Set("cursor = ?", evs[0].Position).
			Set("replay_until = cursor").Set("generation = generation + 1").Where("id = ?", ep).Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
		wdWait(t, "2 replays", func() bool { return len(rc.accepted()) == 5 })
		f.a.createOrder(f.tok[f.vendor], f.indirect("REPLAY-4"))
		wdWait(t, "the next live event", func() bool { return len(rc.accepted()) == 6 })
		reqs := rc.requests()
		var got []string
		for _, b := range rc.accepted() {
			got = append(got, wdNumber(t, b))
		}
		if strings.Join(got, ",") != "REPLAY-1,REPLAY-2,REPLAY-3,REPLAY-2,REPLAY-3,REPLAY-4" || reqs[3].ID != reqs[1].ID || reqs[4].ID != reqs[2].ID {
			t.Errorf("deliveries %v", got)
		}
		wdWait(t, "6 rows", func() bool { return len(wdDeliveries(t, db, ep)) == 6 })
		var replays []bool
		for _, row := range wdDeliveries(t, db, ep) {
			replays = append(replays, row.Replay)
		}
		if fmt.Sprint(replays) != "[false false false true true false]" || start >= evs[0].Position {
			t.Errorf("replay flags %v", replays)
		}
	})
}

// TestWebhookDeliveryOperationThatNoLongerRuns: a stored operation the
// schema no longer accepts fails the endpoint (with why) with backoff
// until it is DISABLED, and nothing is sent.
func TestWebhookDeliveryOperationThatNoLongerRuns(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		cfg := wdConfig()
		cfg.Webhooks.Delivery.DisableAfter = 3
		f := newChannelFixtureWith(t, db, cfg)
		rc := wdReceive(t, nil)
		ep, _ := wdEndpoint(t, db, rowID(t, f.vendor), rc.URL,
			`subscription { purchaseOrderUpdated { purchaseOrder { aFieldRemovedSince } } }`)
		f.a.createOrder(f.tok[f.vendor], f.indirect("GONE-1"))
		wdWait(t, "DISABLED", func() bool { return wdEndpointRow(t, db, ep).Status == domain.WebhookDisabled })
		if e := wdEndpointRow(t, db, ep); e.Failures != 3 || !strings.Contains(e.LastError, "the operation no longer runs: ") ||
			!strings.Contains(e.LastError, "aFieldRemovedSince") {
			t.Errorf("endpoint %+v", e)
		}
		if n := len(rc.requests()); n != 0 || len(wdDeliveries(t, db, ep)) != 0 {
			t.Errorf("%d requests, %d rows", n, len(wdDeliveries(t, db, ep)))
		}
	})
}
