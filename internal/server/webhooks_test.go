package server_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/push"
	"github.com/channelgraph/channelgraph/internal/relay"
	"github.com/channelgraph/channelgraph/internal/server"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

const wmOperation = `subscription { purchaseOrderUpdated { cursor purchaseOrder { number status } } }`

const wmEndpointFields = `id url operation eventType status failures lastError cursor previousSecretExpiresAt
	createdAt updatedAt organization { id }
	deliveries(first: 5) { totalCount pageInfo { hasNextPage } edges { node { id status lastError nextAttemptAt replay } } }`

type wmDelivery struct {
	ID, Status    string
	LastError     *string
	NextAttemptAt *time.Time
	Replay        bool
}

type wmEndpoint struct {
	ID, URL, Operation, EventType, Status, Cursor string
	Failures                                      int
	LastError                                     *string
	PreviousSecretExpiresAt                       *time.Time
	CreatedAt, UpdatedAt                          time.Time
	Organization                                  struct{ ID string }
	Deliveries                                    struct {
		TotalCount int
		PageInfo   struct{ HasNextPage bool }
		Edges      []struct{ Node wmDelivery }
	}
}

type wmPayload struct {
	WebhookEndpoint          *wmEndpoint
	Secret                   *string
	DeletedWebhookEndpointID *string
	UserErrors               []userError
}

// wmInputs names each mutation's input type.
var wmInputs = map[string]string{
	"createWebhookEndpoint": "CreateWebhookEndpointInput",
	"updateWebhookEndpoint": "UpdateWebhookEndpointInput",
	"deleteWebhookEndpoint": "WebhookEndpointIdInput",
	"rotateWebhookSecret":   "RotateWebhookSecretInput",
	"pauseWebhookEndpoint":  "WebhookEndpointIdInput",
	"resumeWebhookEndpoint": "WebhookEndpointIdInput",
	"replayWebhookEndpoint": "ReplayWebhookEndpointInput",
}

// wmMutate runs a webhook mutation as token, returning its request error
// code ("" for none) and payload.
func (a *api) wmMutate(token, mutation string, in map[string]any) (string, wmPayload) {
	a.TB.Helper()
	fields := `webhookEndpoint { ` + wmEndpointFields + ` } userErrors { field code message }`
	switch mutation {
	case "createWebhookEndpoint", "rotateWebhookSecret":
		fields += ` secret`
	case "deleteWebhookEndpoint":
		fields = `deletedWebhookEndpointId userErrors { field code message }`
	}
	res := a.Do(token, `mutation($in: `+wmInputs[mutation]+`!) { `+mutation+`(input: $in) { `+fields+` } }`, map[string]any{"in": in})
	if res.Code() != "" {
		return res.Code(), wmPayload{}
	}
	var out map[string]wmPayload
	if err := json.Unmarshal(res.Data, &out); err != nil {
		a.TB.Fatal(err)
	}
	return "", out[mutation]
}

// wmMustCreate registers an endpoint of org as token and returns it with
// its secret.
func (a *api) wmMustCreate(token, org, url string) (*wmEndpoint, string) {
	a.TB.Helper()
	code, out := a.wmMutate(token, "createWebhookEndpoint", map[string]any{"organizationId": org, "url": url, "operation": wmOperation})
	if code != "" || out.WebhookEndpoint == nil || out.Secret == nil {
		a.TB.Fatalf("createWebhookEndpoint: %q %s", code, testapi.Describe(out))
	}
	return out.WebhookEndpoint, *out.Secret
}

// wmNode reads an endpoint by node(id) as token: nil when token may not
// see it.
func (a *api) wmNode(token, id string) *wmEndpoint {
	a.TB.Helper()
	var out struct{ Node *wmEndpoint }
	a.Must(token, `query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { `+wmEndpointFields+` } } }`, map[string]any{"id": id}, &out)
	return out.Node
}

// wmList is the ids of org's endpoints token sees, newest first, and their
// totalCount; nil when token does not see org.
func (a *api) wmList(token, org string) ([]string, int) {
	a.TB.Helper()
	var out struct {
		Node *struct {
			WebhookEndpoints struct {
				TotalCount int
				Edges      []struct{ Node struct{ ID string } }
			}
		}
	}
	a.Must(token, `query($org: ID!) { node(id: $org) { ... on Organization { webhookEndpoints(first: 10) {
		totalCount edges { node { id } } } } } }`, map[string]any{"org": org}, &out)
	if out.Node == nil {
		return nil, 0
	}
	ids := []string{}
	for _, e := range out.Node.WebhookEndpoints.Edges {
		ids = append(ids, e.Node.ID)
	}
	return ids, out.Node.WebhookEndpoints.TotalCount
}

// wmHead is the log's newest position, once every committed event has
// one: positions are given after commit, so an event committed earlier may
// otherwise take a position above the head read, after an endpoint created
// meanwhile took that head as its cursor.
func wmHead(t *testing.T, db *bun.DB) int64 {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var unplaced int
		if err := db.NewSelect().TableExpr("events").ColumnExpr("count(*)").Where("position IS NULL").Scan(t.Context(), &unplaced); err != nil {
			t.Fatal(err)
		}
		if unplaced == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events still have no position after 30 s", unplaced)
		}
	}
	var head int64
	if err := db.NewSelect().TableExpr("events").ColumnExpr("COALESCE(MAX(position), 0)").Scan(t.Context(), &head); err != nil {
		t.Fatal(err)
	}
	return head
}

// wmGeneration reads an endpoint's generation.
func wmGeneration(t *testing.T, db *bun.DB, id string) int64 {
	t.Helper()
	var g int64
	if err := db.NewSelect().TableExpr("webhook_endpoints").Column("generation").Where("id = ?", rowID(t, id)).Scan(t.Context(), &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// wmReceiver is a real receiver that accepts everything.
func wmReceiver(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(srv.Close)
	return srv.URL + "/hook"
}

// wmUserError checks that a payload was refused with exactly one
// BAD_USER_INPUT on field.
func wmUserError(t *testing.T, what, code string, out wmPayload, field string) {
	t.Helper()
	if code != "" || out.WebhookEndpoint != nil || out.Secret != nil || len(out.UserErrors) != 1 ||
		out.UserErrors[0].Field != field || out.UserErrors[0].Code != "BAD_USER_INPUT" || out.UserErrors[0].Message == "" {
		t.Errorf("%s: %q %s, want one BAD_USER_INPUT on %s", what, code, testapi.Describe(out), field)
	}
}

// TestWebhookEndpointCreate: SPEC §8.9 — the OWNER and ADMIN_AGENT
// register an endpoint, which starts at the log's head with a whsec_
// secret of 32 random bytes; other roles are FORBIDDEN and another
// organization NOT_FOUND.
func TestWebhookEndpointCreate(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		a, _ := newServer(t, db, server.Config{Webhooks: server.WebhookConfig{AllowPrivate: true}})
		org, orgID := a.MustOrg("Reseller", domain.KindReseller)
		other, otherID := a.MustOrg("Distributor", domain.KindDistributor)
		a.MustEdge(other, org, true) // so the log's head is past 0
		url := wmReceiver(t)
		in := map[string]any{"organizationId": org, "url": url, "operation": "  " + wmOperation + "\n"}
		for _, role := range []domain.Role{domain.RoleViewer, domain.RoleSalesAgent} {
			if code, out := a.wmMutate(a.MustToken(orgID, role), "createWebhookEndpoint", in); code != "FORBIDDEN" {
				t.Errorf("a %s registers: %q %s, want FORBIDDEN", role, code, testapi.Describe(out))
			}
		}
		if code, _ := a.wmMutate(a.MustToken(otherID, domain.RoleOwner), "createWebhookEndpoint", in); code != "NOT_FOUND" {
			t.Errorf("another organization's OWNER registers: %q, want NOT_FOUND", code)
		}
		if code, _ := a.wmMutate(testapi.AdminToken, "createWebhookEndpoint",
			map[string]any{"organizationId": relay.GlobalID(relay.TypeOrganization, 99999), "url": url, "operation": wmOperation}); code != "NOT_FOUND" {
			t.Errorf("an organization that does not exist: %q, want NOT_FOUND", code)
		}

		owner := a.MustToken(orgID, domain.RoleOwner)
		head := wmHead(t, db)
		if head == 0 {
			t.Fatal("the log is empty")
		}
		code, out := a.wmMutate(owner, "createWebhookEndpoint", in)
		if code != "" || out.WebhookEndpoint == nil || out.Secret == nil || len(out.UserErrors) != 0 {
			t.Fatalf("the OWNER registers: %q %s", code, testapi.Describe(out))
		}
		e := out.WebhookEndpoint
		if e.Status != "ACTIVE" || e.EventType != "purchaseOrderUpdated" || e.URL != url || e.Operation != wmOperation ||
			e.Organization.ID != org || e.Failures != 0 || e.LastError != nil || e.PreviousSecretExpiresAt != nil {
			t.Errorf("the endpoint: %s", testapi.Describe(e))
		}
		if e.Cursor != push.CursorAt(head) {
			t.Errorf("cursor %q, want the log's head %d (%q)", e.Cursor, head, push.CursorAt(head))
		}
		if e.Deliveries.TotalCount != 0 || len(e.Deliveries.Edges) != 0 || e.Deliveries.PageInfo.HasNextPage {
			t.Errorf("a new endpoint's deliveries: %s", testapi.Describe(e.Deliveries))
		}
		secret := *out.Secret
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		if !strings.HasPrefix(secret, "whsec_") || err != nil || len(key) != 32 {
			t.Errorf("secret %q: want whsec_ and the base64 of 32 bytes (%v, %d bytes)", secret, err, len(key))
		}
		admin, secret2 := a.wmMustCreate(a.MustToken(orgID, domain.RoleAdminAgent), org, url)
		if secret2 == secret {
			t.Error("two endpoints got the same secret")
		}
		if ids, n := a.wmList(owner, org); !slices.Equal(ids, []string{admin.ID, e.ID}) || n != 2 {
			t.Errorf("the OWNER lists %v (%d), want the ADMIN_AGENT's then the OWNER's", ids, n)
		}
		if log := a.auditLog(owner, org, nil); log == nil || !slices.Contains(log.actions(), "WEBHOOK_ENDPOINT_CREATED") ||
			log.Edges[0].Node.ObjectID != admin.ID {
			t.Errorf("the audit log: %s", testapi.Describe(log))
		}
	})
}

// TestWebhookEndpointURLValidation: a URL is refused, on field url, when
// it is not https, too long, carries credentials, or names a private or
// loopback address where the operator does not allow them.
func TestWebhookEndpointURLValidation(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		strict := newAPI(t, db)
		org, orgID := strict.MustOrg("Reseller", domain.KindReseller)
		owner := strict.MustToken(orgID, domain.RoleOwner)
		for _, tc := range []struct{ url, want string }{
			{"http://127.0.0.1/hook", "must use https"},
			{"https://localhost/hook", "loopback, private or link-local"},
			{"https://10.0.0.1/hook", "loopback, private or link-local"},
			{"https://[::1]/hook", "loopback, private or link-local"},
			{"https://169.254.169.254/latest", "loopback, private or link-local"},
			{"ftp://hooks.example.com/x", `not "ftp"`},
			{"https://user:pw@hooks.example.com/x", "user name or password"},
			{"hooks.example.com/x", "absolute URL"},
			{"https://hooks.example.com/" + strings.Repeat("x", 2048), "longer than 2048"},
		} {
			code, out := strict.wmMutate(owner, "createWebhookEndpoint", map[string]any{"organizationId": org, "url": tc.url, "operation": wmOperation})
			what := "url " + tc.url[:min(len(tc.url), 40)]
			wmUserError(t, what, code, out, "url")
			if len(out.UserErrors) == 1 && !strings.Contains(out.UserErrors[0].Message, tc.want) {
				t.Errorf("%s: %q, want it to say %q", what, out.UserErrors[0].Message, tc.want)
			}
		}
	})
}

// TestWebhookEndpointOperationValidation: an operation is refused, on
// field operation, unless it is one subscription root field without
// variables or after, valid, at most 16 KiB and within the limits; a bad
// URL and a bad operation are both named.
func TestWebhookEndpointOperationValidation(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		a, _ := newServer(t, db, server.Config{Webhooks: server.WebhookConfig{AllowPrivate: true}})
		org, orgID := a.MustOrg("Reseller", domain.KindReseller)
		owner := a.MustToken(orgID, domain.RoleOwner)
		url := wmReceiver(t)
		for _, tc := range []struct{ name, operation, want string }{
			{"a query", `{ __typename }`, "not a query"},
			{"a mutation", `mutation { __typename }`, "not a mutation"},
			{"two root fields", `subscription { purchaseOrderUpdated { cursor } channelEdgeUpdated { cursor } }`, "only one top level field"},
			{"variables", `subscription($after: String) { purchaseOrderUpdated(after: $after) { cursor } }`, "no variables"},
			{"after", `subscription { purchaseOrderUpdated(after: "x") { cursor } }`, "no `after`"},
			{"an unknown field", `subscription { purchaseOrderUpdated { cursor nonsense } }`, `"nonsense" on type "PurchaseOrderEvent"`},
			{"an unknown subscription", `subscription { nonsense { cursor } }`, `"nonsense" on type "Subscription"`},
			{"a syntax error", `subscription { purchaseOrderUpdated { cursor }`, "Expected Name"},
			{"empty", "   ", "subscription document"},
			{"over 16 KiB", "# " + strings.Repeat("x", 16<<10) + "\n" + wmOperation, "16384"},
			{"over the complexity limit", `subscription { purchaseOrderUpdated { purchaseOrder { lines { product { vendor {
				channelEdges(direction: DOWNSTREAM, first: 100) { totalCount edges { node { downstream {
				channelEdges(direction: DOWNSTREAM, first: 100) { totalCount } } } } } } } } } } }`, "exceeds the limit of 10000"},
		} {
			code, out := a.wmMutate(owner, "createWebhookEndpoint", map[string]any{"organizationId": org, "url": url, "operation": tc.operation})
			wmUserError(t, tc.name, code, out, "operation")
			if len(out.UserErrors) == 1 && !strings.Contains(out.UserErrors[0].Message, tc.want) {
				t.Errorf("%s: %q, want it to say %q", tc.name, out.UserErrors[0].Message, tc.want)
			}
		}
		code, out := a.wmMutate(owner, "createWebhookEndpoint", map[string]any{"organizationId": org, "url": "ftp://x", "operation": "{ __typename }"})
		if code != "" || len(out.UserErrors) != 2 || out.UserErrors[0].Field != "url" || out.UserErrors[1].Field != "operation" {
			t.Errorf("a bad url and a bad operation: %q %s, want both named", code, testapi.Describe(out))
		}
		if ids, n := a.wmList(owner, org); len(ids) != 0 || n != 0 {
			t.Errorf("refusals registered endpoints: %v", ids)
		}
	})
}

// TestWebhookEndpointVisibility: an endpoint is seen (node, the list, its
// deliveries) by its organization's OWNER and ADMIN_AGENT and the platform
// administrator only — not by its other members, nor by an organization
// that sees the organization itself.
func TestWebhookEndpointVisibility(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		a, _ := newServer(t, db, server.Config{Webhooks: server.WebhookConfig{AllowPrivate: true}})
		dist, distID := a.MustOrg("Distributor", domain.KindDistributor)
		org, orgID := a.MustOrg("Reseller", domain.KindReseller)
		a.MustEdge(dist, org, true)
		owner := a.MustToken(orgID, domain.RoleOwner)
		e, _ := a.wmMustCreate(owner, org, wmReceiver(t))
		theirs, _ := a.wmMustCreate(a.MustToken(distID, domain.RoleOwner), dist, wmReceiver(t))
		delivery := wmInsertDelivery(t, db, e.ID, "SUCCEEDED")

		for name, token := range map[string]string{"OWNER": owner, "ADMIN_AGENT": a.MustToken(orgID, domain.RoleAdminAgent), "platform administrator": testapi.AdminToken} {
			if ids, n := a.wmList(token, org); !slices.Equal(ids, []string{e.ID}) || n != 1 {
				t.Errorf("the %s lists %v (%d), want [%s]", name, ids, n, e.ID)
			}
			if got := a.wmNode(token, e.ID); got == nil || got.ID != e.ID || got.Deliveries.TotalCount != 1 || got.Deliveries.Edges[0].Node.ID != delivery {
				t.Errorf("the %s reads it by node: %s", name, testapi.Describe(got))
			}
			if !wmDeliveryVisible(a, token, delivery) {
				t.Errorf("the %s does not see its delivery by node", name)
			}
		}
		distOwner := a.MustToken(distID, domain.RoleOwner)
		for name, token := range map[string]string{
			"VIEWER": a.MustToken(orgID, domain.RoleViewer), "SALES_AGENT": a.MustToken(orgID, domain.RoleSalesAgent),
			"distributor's OWNER": distOwner,
		} {
			if ids, n := a.wmList(token, org); ids == nil || len(ids) != 0 || n != 0 {
				t.Errorf("the %s lists %v (%d), want none (and the organization seen)", name, ids, n)
			}
			if got := a.wmNode(token, e.ID); got != nil {
				t.Errorf("the %s reads it by node: %s", name, testapi.Describe(got))
			}
			if wmDeliveryVisible(a, token, delivery) {
				t.Errorf("the %s sees its delivery by node", name)
			}
			if code, _ := a.wmMutate(token, "pauseWebhookEndpoint", map[string]any{"id": e.ID}); code != "NOT_FOUND" {
				t.Errorf("the %s pauses it: %q, want NOT_FOUND", name, code)
			}
		}
		if got := a.wmNode(owner, theirs.ID); got != nil {
			t.Errorf("the reseller's OWNER reads the distributor's endpoint: %s", testapi.Describe(got))
		}
		if ids, _ := a.wmList(distOwner, dist); !slices.Equal(ids, []string{theirs.ID}) {
			t.Errorf("the distributor lists %v, want its own [%s]", ids, theirs.ID)
		}
	})
}

// wmInsertDelivery stores a delivery of endpoint as the Deliverer would
// (this test is about who sees and changes it, not about sending it).
func wmInsertDelivery(t *testing.T, db *bun.DB, endpoint, status string) string {
	t.Helper()
	now := time.Now()
	d := &domain.WebhookDelivery{EndpointID: rowID(t, endpoint), EventPosition: 1, EventType: "PURCHASE_ORDER_UPDATED",
		MessageID: "msg_test", Status: domain.WebhookDeliveryStatus(status), Attempts: 1, CreatedAt: now, UpdatedAt: now}
	if status == "PENDING" {
		next := now.Add(time.Hour)
		d.NextAttemptAt = &next
	}
	if _, err := db.NewInsert().Model(d).Exec(t.Context()); err != nil {
		t.Fatal(err)
	}
	return relay.GlobalID(relay.TypeWebhookDelivery, d.ID)
}

func wmDeliveryVisible(a *api, token, id string) bool {
	a.TB.Helper()
	var out struct{ Node *struct{ ID string } }
	a.Must(token, `query($id: ID!) { node(id: $id) { ... on WebhookDelivery { id } } }`, map[string]any{"id": id}, &out)
	return out.Node != nil && out.Node.ID == id
}

// TestWebhookEndpointChanges: update, pause, resume, rotate, replay and
// delete through the API, each raising the endpoint's generation; a
// change of the endpoint or a replay fails its PENDING deliveries, whose
// events are sent again from the cursor.
func TestWebhookEndpointChanges(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		a, _ := newServer(t, db, server.Config{Webhooks: server.WebhookConfig{AllowPrivate: true}})
		dist, _ := a.MustOrg("Distributor", domain.KindDistributor)
		org, orgID := a.MustOrg("Reseller", domain.KindReseller)
		a.MustEdge(dist, org, true) // so the log is not empty
		owner := a.MustToken(orgID, domain.RoleOwner)
		e, secret := a.wmMustCreate(owner, org, wmReceiver(t))
		id := map[string]any{"id": e.ID}
		generation := wmGeneration(t, db, e.ID)
		changed := func(what string) {
			t.Helper()
			g := wmGeneration(t, db, e.ID)
			if g != generation+1 {
				t.Errorf("%s: generation %d, want %d", what, g, generation+1)
			}
			generation = g
		}

		// Paused first, so no delivery is attempted behind the test's back.
		if code, out := a.wmMutate(owner, "pauseWebhookEndpoint", id); code != "" || out.WebhookEndpoint.Status != "PAUSED" {
			t.Fatalf("pause: %q %s", code, testapi.Describe(out))
		}
		changed("pause")
		if code, out := a.wmMutate(owner, "pauseWebhookEndpoint", id); code != "" || out.WebhookEndpoint.Status != "PAUSED" {
			t.Errorf("pause again: %q %s", code, testapi.Describe(out))
		}
		if g := wmGeneration(t, db, e.ID); g != generation {
			t.Errorf("pausing a paused endpoint raised its generation to %d", g)
		}

		// update
		if code, out := a.wmMutate(owner, "updateWebhookEndpoint", id); code != "" || len(out.UserErrors) != 1 || out.UserErrors[0].Code != "BAD_USER_INPUT" {
			t.Errorf("an update of nothing: %q %s", code, testapi.Describe(out))
		}
		code, out := a.wmMutate(owner, "updateWebhookEndpoint", map[string]any{"id": e.ID, "url": "ftp://x"})
		wmUserError(t, "an update to a bad url", code, out, "url")
		code, out = a.wmMutate(owner, "updateWebhookEndpoint", map[string]any{"id": e.ID, "operation": "{ __typename }"})
		wmUserError(t, "an update to a query", code, out, "operation")
		pending := wmInsertDelivery(t, db, e.ID, "PENDING")
		url2 := wmReceiver(t)
		op2 := `subscription { channelEdgeUpdated { cursor channelEdge { id } } }`
		code, out = a.wmMutate(owner, "updateWebhookEndpoint", map[string]any{"id": e.ID, "url": url2, "operation": op2})
		if code != "" || out.WebhookEndpoint == nil || out.WebhookEndpoint.URL != url2 || out.WebhookEndpoint.Operation != op2 ||
			out.WebhookEndpoint.EventType != "channelEdgeUpdated" || out.WebhookEndpoint.Status != "PAUSED" {
			t.Fatalf("update: %q %s", code, testapi.Describe(out))
		}
		changed("update")
		wmWantDelivery(t, out.WebhookEndpoint, pending, "FAILED", "replaced by a change of the endpoint")

		// resume, by an ADMIN_AGENT
		if code, out := a.wmMutate(a.MustToken(orgID, domain.RoleAdminAgent), "resumeWebhookEndpoint", id); code != "" || out.WebhookEndpoint.Status != "ACTIVE" {
			t.Errorf("resume: %q %s", code, testapi.Describe(out))
		}
		changed("resume")
		if _, err := db.NewUpdate().TableExpr("webhook_endpoints").Set("status = 'DISABLED', failures = 7, last_error = 'HTTP 500'").
			Where("id = ?", rowID(t, e.ID)).Exec(t.Context()); err != nil {
			t.Fatal(err)
		}
		if code, out := a.wmMutate(owner, "resumeWebhookEndpoint", id); code != "" || out.WebhookEndpoint.Status != "ACTIVE" ||
			out.WebhookEndpoint.Failures != 0 || out.WebhookEndpoint.LastError != nil {
			t.Errorf("resume a DISABLED endpoint: %q %s", code, testapi.Describe(out))
		}
		changed("resume a DISABLED endpoint")
		if _, out := a.wmMutate(owner, "pauseWebhookEndpoint", id); out.WebhookEndpoint == nil {
			t.Fatalf("pause: %s", testapi.Describe(out))
		}
		changed("pause")

		// rotate
		before := time.Now()
		code, out = a.wmMutate(owner, "rotateWebhookSecret", id)
		if code != "" || out.Secret == nil || *out.Secret == secret || !strings.HasPrefix(*out.Secret, "whsec_") ||
			out.WebhookEndpoint.PreviousSecretExpiresAt == nil ||
			out.WebhookEndpoint.PreviousSecretExpiresAt.Before(before.Add(24*time.Hour-time.Minute)) ||
			out.WebhookEndpoint.PreviousSecretExpiresAt.After(time.Now().Add(24*time.Hour+time.Minute)) {
			t.Errorf("rotate: %q %s", code, testapi.Describe(out))
		}
		changed("rotate")
		wmWantSecrets(t, db, e.ID, out.Secret, &secret)
		code, out = a.wmMutate(owner, "rotateWebhookSecret", map[string]any{"id": e.ID, "overlapSeconds": 0})
		if code != "" || out.Secret == nil || out.WebhookEndpoint.PreviousSecretExpiresAt != nil {
			t.Errorf("rotate without overlap: %q %s", code, testapi.Describe(out))
		}
		changed("rotate without overlap")
		wmWantSecrets(t, db, e.ID, out.Secret, nil)
		for _, overlap := range []int{-1, 604801} {
			code, out := a.wmMutate(owner, "rotateWebhookSecret", map[string]any{"id": e.ID, "overlapSeconds": overlap})
			wmUserError(t, "an overlap out of range", code, out, "overlapSeconds")
		}
		if code, out = a.wmMutate(owner, "rotateWebhookSecret", map[string]any{"id": e.ID, "overlapSeconds": 604800}); code != "" || out.Secret == nil {
			t.Errorf("rotate with a 7-day overlap: %q %s", code, testapi.Describe(out))
		}
		changed("rotate with a 7-day overlap")

		// replay: the endpoint is paused again, so its cursor stays where
		// delivery had reached (the deliverer may have moved it while it
		// was resumed above).
		var reached int64
		if err := db.NewSelect().TableExpr("webhook_endpoints").Column("cursor").Where("id = ?", rowID(t, e.ID)).Scan(t.Context(), &reached); err != nil {
			t.Fatal(err)
		}
		head := wmHead(t, db)
		for _, after := range []string{"not a cursor", push.CursorAt(head + 1000), push.CursorAt(-1)} {
			code, out := a.wmMutate(owner, "replayWebhookEndpoint", map[string]any{"id": e.ID, "after": after})
			wmUserError(t, "a replay after "+after, code, out, "after")
		}
		pending = wmInsertDelivery(t, db, e.ID, "PENDING")
		code, out = a.wmMutate(owner, "replayWebhookEndpoint", map[string]any{"id": e.ID, "after": push.CursorAt(head - 1)})
		if code != "" || out.WebhookEndpoint == nil || out.WebhookEndpoint.Cursor != push.CursorAt(head-1) {
			t.Fatalf("replay: %q %s", code, testapi.Describe(out))
		}
		changed("replay")
		wmWantDelivery(t, out.WebhookEndpoint, pending, "FAILED", "replaced by a replay")
		if code, out = a.wmMutate(owner, "replayWebhookEndpoint", id); code != "" || out.WebhookEndpoint.Cursor != push.CursorAt(0) {
			t.Errorf("replay from the start: %q %s", code, testapi.Describe(out))
		}
		changed("replay from the start")
		var replayUntil int64
		if err := db.NewSelect().TableExpr("webhook_endpoints").Column("replay_until").Where("id = ?", rowID(t, e.ID)).Scan(t.Context(), &replayUntil); err != nil || replayUntil != max(reached, head-1) {
			t.Errorf("replay_until %d (%v), want where delivery had reached: %d", replayUntil, err, max(reached, head-1))
		}

		// delete
		if code, out := a.wmMutate(a.MustToken(orgID, domain.RoleViewer), "deleteWebhookEndpoint", id); code != "NOT_FOUND" {
			t.Errorf("a VIEWER deletes: %q %s", code, testapi.Describe(out))
		}
		if code, out := a.wmMutate(owner, "deleteWebhookEndpoint", id); code != "" || out.DeletedWebhookEndpointID == nil || *out.DeletedWebhookEndpointID != e.ID {
			t.Fatalf("delete: %q %s", code, testapi.Describe(out))
		}
		if got := a.wmNode(owner, e.ID); got != nil {
			t.Errorf("node after delete: %s", testapi.Describe(got))
		}
		if ids, n := a.wmList(owner, org); len(ids) != 0 || n != 0 {
			t.Errorf("listed after delete: %v", ids)
		}
		if n, err := db.NewSelect().TableExpr("webhook_deliveries").Where("endpoint_id = ?", rowID(t, e.ID)).Count(t.Context()); err != nil || n != 0 {
			t.Errorf("%d deliveries left after delete (%v)", n, err)
		}
		if code, _ := a.wmMutate(owner, "deleteWebhookEndpoint", id); code != "NOT_FOUND" {
			t.Errorf("delete again: %q, want NOT_FOUND", code)
		}
		log := a.auditLog(owner, org, map[string]any{"first": 50})
		for _, action := range []string{"CREATED", "UPDATED", "PAUSED", "RESUMED", "REPLAYED", "DELETED"} {
			if !slices.Contains(log.actions(), "WEBHOOK_ENDPOINT_"+action) {
				t.Errorf("no WEBHOOK_ENDPOINT_%s in the audit log %v", action, log.actions())
			}
		}
		if !slices.Contains(log.actions(), "WEBHOOK_SECRET_ROTATED") {
			t.Errorf("no WEBHOOK_SECRET_ROTATED in the audit log %v", log.actions())
		}
	})
}

// wmWantDelivery checks delivery id among e's deliveries.
func wmWantDelivery(t *testing.T, e *wmEndpoint, id, status, lastError string) {
	t.Helper()
	for _, d := range e.Deliveries.Edges {
		if d.Node.ID == id {
			if d.Node.Status != status || d.Node.LastError == nil || *d.Node.LastError != lastError || d.Node.NextAttemptAt != nil {
				t.Errorf("delivery %s: %s, want %s with %q and no next attempt", id, testapi.Describe(d.Node), status, lastError)
			}
			return
		}
	}
	t.Errorf("delivery %s not among %s", id, testapi.Describe(e.Deliveries))
}

// wmWantSecrets checks the stored secret and previous secret.
func wmWantSecrets(t *testing.T, db *bun.DB, id string, secret, previous *string) {
	t.Helper()
	var e domain.WebhookEndpoint
	if err := db.NewSelect().Model(&e).Where("we.id = ?", rowID(t, id)).Scan(t.Context()); err != nil {
		t.Fatal(err)
	}
	if e.Secret != *secret || (previous == nil) != (e.PreviousSecret == nil) || (previous != nil && *e.PreviousSecret != *previous) ||
		(e.PreviousSecret == nil) != (e.PreviousSecretUntil == nil) {
		t.Errorf("stored secrets: %q, previous %v until %v; want %q, previous %v", e.Secret, e.PreviousSecret, e.PreviousSecretUntil, *secret, previous)
	}
}

// wmPage is one page of a webhook list: its ids and page info.
type wmPage struct {
	ids                    []string
	hasNext, hasPrevious   bool
	startCursor, endCursor string
}

// wmPaged reads a page of org's endpoints (endpoint "") or of endpoint's
// deliveries as token, with the paging arguments in vars.
func (a *api) wmPaged(token, org, endpoint string, vars map[string]any) wmPage {
	a.TB.Helper()
	const conn = `(first: $first, after: $after, last: $last, before: $before) {
		pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { node { id } } }`
	type connection struct {
		PageInfo struct {
			HasNextPage, HasPreviousPage bool
			StartCursor, EndCursor       *string
		}
		Edges []struct{ Node struct{ ID string } }
	}
	var out struct {
		Node *struct {
			WebhookEndpoints *connection
			Deliveries       *connection
		}
	}
	all := map[string]any{"first": nil, "after": nil, "last": nil, "before": nil}
	for k, v := range vars {
		all[k] = v
	}
	query := `query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) { node(id: $id) {
		... on Organization { webhookEndpoints` + conn + ` } } }`
	all["id"] = org
	if endpoint != "" {
		query = `query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) { node(id: $id) {
			... on WebhookEndpoint { deliveries` + conn + ` } } }`
		all["id"] = endpoint
	}
	a.Must(token, query, all, &out)
	if out.Node == nil {
		a.TB.Fatalf("node %v is not seen", all["id"])
	}
	c := out.Node.WebhookEndpoints
	if endpoint != "" {
		c = out.Node.Deliveries
	}
	p := wmPage{ids: []string{}, hasNext: c.PageInfo.HasNextPage, hasPrevious: c.PageInfo.HasPreviousPage}
	if c.PageInfo.StartCursor != nil {
		p.startCursor, p.endCursor = *c.PageInfo.StartCursor, *c.PageInfo.EndCursor
	}
	for _, e := range c.Edges {
		p.ids = append(p.ids, e.Node.ID)
	}
	return p
}

// TestWebhookEndpointPaging: an organization's endpoints and an
// endpoint's deliveries page newest first, forward and backward.
func TestWebhookEndpointPaging(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		a, _ := newServer(t, db, server.Config{Webhooks: server.WebhookConfig{AllowPrivate: true}})
		org, orgID := a.MustOrg("Reseller", domain.KindReseller)
		owner := a.MustToken(orgID, domain.RoleOwner)
		url := wmReceiver(t)
		var endpoints []string
		for range 3 {
			e, _ := a.wmMustCreate(owner, org, url)
			endpoints = append([]string{e.ID}, endpoints...)
		}
		if _, out := a.wmMutate(owner, "pauseWebhookEndpoint", map[string]any{"id": endpoints[2]}); out.WebhookEndpoint == nil {
			t.Fatalf("pause: %s", testapi.Describe(out))
		}
		var deliveries []string
		for range 3 {
			deliveries = append([]string{wmInsertDelivery(t, db, endpoints[2], "SUCCEEDED")}, deliveries...)
		}
		for _, tc := range []struct {
			name, endpoint string
			want           []string
		}{{"endpoints", "", endpoints}, {"deliveries", endpoints[2], deliveries}} {
			first := a.wmPaged(owner, org, tc.endpoint, map[string]any{"first": 2})
			if !slices.Equal(first.ids, tc.want[:2]) || !first.hasNext {
				t.Errorf("%s, first 2: %+v, want %v", tc.name, first, tc.want[:2])
			}
			next := a.wmPaged(owner, org, tc.endpoint, map[string]any{"first": 2, "after": first.endCursor})
			if !slices.Equal(next.ids, tc.want[2:]) || next.hasNext {
				t.Errorf("%s, after the first 2: %+v, want %v", tc.name, next, tc.want[2:])
			}
			last := a.wmPaged(owner, org, tc.endpoint, map[string]any{"last": 2})
			if !slices.Equal(last.ids, tc.want[1:]) || !last.hasPrevious {
				t.Errorf("%s, last 2: %+v, want %v", tc.name, last, tc.want[1:])
			}
			before := a.wmPaged(owner, org, tc.endpoint, map[string]any{"last": 2, "before": last.startCursor})
			if !slices.Equal(before.ids, tc.want[:1]) || before.hasPrevious {
				t.Errorf("%s, before the last 2: %+v, want %v", tc.name, before, tc.want[:1])
			}
		}
	})
}

// TestWebhookEndpointConcurrentChanges: changes made at once are applied
// one after another on the endpoint's locked row: none is lost, each
// raises the generation, and the secret kept is one a rotation returned.
func TestWebhookEndpointConcurrentChanges(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		a, _ := newServer(t, db, server.Config{Webhooks: server.WebhookConfig{AllowPrivate: true}})
		org, orgID := a.MustOrg("Reseller", domain.KindReseller)
		owner := a.MustToken(orgID, domain.RoleOwner)
		e, _ := a.wmMustCreate(owner, org, wmReceiver(t))
		const n = 8
		secrets := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				mutation, in := "rotateWebhookSecret", map[string]any{"id": e.ID, "overlapSeconds": 0}
				if i%2 == 1 {
					mutation, in = "pauseWebhookEndpoint", map[string]any{"id": e.ID}
					if i%4 == 3 {
						mutation = "resumeWebhookEndpoint"
					}
				}
				code, out := a.wmMutate(owner, mutation, in)
				if code != "" || out.WebhookEndpoint == nil {
					t.Errorf("%s: %q %s", mutation, code, testapi.Describe(out))
					return
				}
				if out.Secret != nil {
					secrets[i] = *out.Secret
				}
			}()
		}
		wg.Wait()
		var stored domain.WebhookEndpoint
		if err := db.NewSelect().Model(&stored).Where("we.id = ?", rowID(t, e.ID)).Scan(t.Context()); err != nil {
			t.Fatal(err)
		}
		// Pausing a paused endpoint and resuming an active one change
		// nothing and record nothing; every change records one entry.
		changes, err := db.NewSelect().Model((*domain.AuditEntry)(nil)).
			Where("ae.object_type = 'WebhookEndpoint' AND ae.object_id = ? AND ae.action <> 'WEBHOOK_ENDPOINT_CREATED'", rowID(t, e.ID)).Count(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if stored.Generation != int64(changes) || changes < n/2 {
			t.Errorf("generation %d after %d changes (%d of them rotations)", stored.Generation, changes, n/2)
		}
		if !slices.Contains(secrets, stored.Secret) {
			t.Errorf("the stored secret is none of those the rotations returned")
		}
	})
}
