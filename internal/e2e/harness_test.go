package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Generous limits: they are reached only when something is wrong.
const (
	startTimeout = 60 * time.Second // a server process printing its address
	eventTimeout = 30 * time.Second // an expected event arriving
	stopTimeout  = 10 * time.Second // a killed process being reaped
)

// adminToken is accepted as the platform administrator's by every server the
// tests start.
const adminToken = "e2e-admin-token-0123456789abcdef"

// logBuffer collects a child's output for the test log. It is an io.Writer
// safe for concurrent use; onLine, if set, sees each complete line.
type logBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	partial []byte
	onLine  func(string)
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if b.onLine != nil {
		b.partial = append(b.partial, p...)
		for {
			i := bytes.IndexByte(b.partial, '\n')
			if i < 0 {
				break
			}
			b.onLine(string(b.partial[:i]))
			b.partial = b.partial[i+1:]
		}
	}
	return len(p), nil
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// process is a child process a test started. It is killed (with its
// process group) when the test ends, and its output is logged only if the
// test failed.
type process struct {
	name   string
	cmd    *exec.Cmd
	out    *logBuffer // what it printed, for the test log
	exited chan struct{}
}

// startProcess starts cmd, sending its Stdout and Stderr to out unless they
// are set already. It may be called from any goroutine.
func startProcess(t *testing.T, name string, cmd *exec.Cmd, out *logBuffer) (*process, error) {
	if cmd.Stdout == nil {
		cmd.Stdout = out
	}
	if cmd.Stderr == nil {
		cmd.Stderr = out
	}
	cmd.SysProcAttr = procAttr()
	p := &process{name: name, cmd: cmd, out: out, exited: make(chan struct{})}
	started := make(chan error, 1)
	go superviseLocked(cmd, started, p.exited)
	if err := <-started; err != nil {
		return nil, fmt.Errorf("starting %s: %v", name, err)
	}
	t.Cleanup(func() {
		p.kill(t)
		if t.Failed() {
			t.Logf("--- output of %s (%s) ---\n%s--- end of %s ---", name, cmd.ProcessState, out.String(), name)
		}
	})
	return p, nil
}

// kill SIGKILLs the process (and its group) and waits until it is reaped.
func (p *process) kill(t *testing.T) {
	select {
	case <-p.exited:
		return
	default:
	}
	killGroup(p.cmd.Process)
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		t.Errorf("%s (pid %d) did not exit within %v of SIGKILL", p.name, p.cmd.Process.Pid, stopTimeout)
	}
}

// server is one `channelgraph serve` process.
type server struct {
	*process
	addr string // host:port
}

func (s *server) graphqlURL() string { return "http://" + s.addr + "/graphql" }
func (s *server) wsURL() string      { return "ws://" + s.addr + "/graphql" }

var listeningLine = regexp.MustCompile(`GraphQL at http://([^\s/]+)/graphql`)

// startServer runs `channelgraph serve` on a free port of 127.0.0.1 with the
// database databaseURL, and returns once it listens.
func startServer(t *testing.T, name, databaseURL string) *server {
	t.Helper()
	s, err := startServerErr(t, name, databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// startServerErr is startServer for any goroutine; env adds settings
// (NAME=value) to its environment.
func startServerErr(t *testing.T, name, databaseURL string, env ...string) (*server, error) {
	if buildErr != nil {
		return nil, buildErr
	}
	addrc := make(chan string, 1)
	out := &logBuffer{onLine: func(line string) {
		if m := listeningLine.FindStringSubmatch(line); m != nil {
			select {
			case addrc <- m[1]:
			default:
			}
		}
	}}
	cmd := exec.Command(serverBinary, "serve")
	cmd.Dir = t.TempDir() // anything it writes on its own goes there
	cmd.Env = append(environWithout("CHANNELGRAPH_"),
		"CHANNELGRAPH_ADDR=127.0.0.1:0",
		"CHANNELGRAPH_DATABASE_URL="+databaseURL,
		"CHANNELGRAPH_ADMIN_TOKEN="+adminToken,
		"CHANNELGRAPH_RATE_LIMIT=0", // writers here create orders as fast as they can
	)
	cmd.Env = append(cmd.Env, env...)
	p, err := startProcess(t, name, cmd, out)
	if err != nil {
		return nil, err
	}
	select {
	case addr := <-addrc:
		return &server{process: p, addr: addr}, nil
	case <-p.exited:
		return nil, fmt.Errorf("%s exited before listening (%s):\n%s", name, cmd.ProcessState, out.String())
	case <-time.After(startTimeout):
		return nil, fmt.Errorf("%s printed no \"GraphQL at http://…/graphql\" line within %v:\n%s", name, startTimeout, out.String())
	}
}

// environWithout is this process's environment less the variables starting
// with prefix.
func environWithout(prefix string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, prefix) {
			env = append(env, kv)
		}
	}
	return env
}

// client posts GraphQL requests over HTTP.
type client struct {
	http *http.Client
}

func newClient(t *testing.T) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return &client{http: &http.Client{Transport: tr, Timeout: 15 * time.Second}}
}

// gqlErrors is a response's non-empty errors list.
type gqlErrors []struct {
	Message    string
	Extensions map[string]any
}

func (e gqlErrors) Error() string {
	b, _ := json.Marshal(e)
	return "GraphQL errors: " + string(b)
}

// do posts one operation and decodes its data into data. An error is a
// transport failure, a status other than 200, or a response with errors.
func (c *client) do(ctx context.Context, url, token, query string, vars map[string]any, data any) error {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %s: %s", res.Status, raw)
	}
	var resp struct {
		Data   json.RawMessage
		Errors gqlErrors
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		return fmt.Errorf("decoding %s: %v", raw, err)
	}
	if len(resp.Errors) > 0 {
		return resp.Errors
	}
	if data != nil {
		if err := json.Unmarshal(resp.Data, data); err != nil {
			return fmt.Errorf("decoding data %s: %v", resp.Data, err)
		}
	}
	return nil
}

// must is do that fails the test on any error.
func (c *client) must(t *testing.T, url, token, query string, vars map[string]any, data any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.do(ctx, url, token, query, vars, data); err != nil {
		t.Fatalf("%s\n%v", query, err)
	}
}

// userError is a business-rule refusal in a mutation payload.
type userError struct {
	Field   *string
	Message string
	Code    string
}

func checkUserErrors(t *testing.T, what string, errs []userError) {
	t.Helper()
	if len(errs) > 0 {
		t.Fatalf("%s: user errors %+v", what, errs)
	}
}

// channel is a vendor selling through a reseller to a customer, with one
// product and an OWNER token for the vendor.
type channel struct {
	vendor, reseller, customer string // global IDs
	vendorToken                string
}

// setupChannel builds the channel through url as the platform administrator.
func setupChannel(t *testing.T, c *client, url string) channel {
	t.Helper()
	org := func(name, kind string) string {
		var d struct {
			CreateOrganization struct {
				Organization struct{ ID string }
				UserErrors   []userError
			}
		}
		c.must(t, url, adminToken, `mutation($name: String!, $kind: OrganizationKind!) {
			createOrganization(input: {name: $name, kind: $kind}) { organization { id } userErrors { field message code } } }`,
			map[string]any{"name": name, "kind": kind}, &d)
		checkUserErrors(t, "createOrganization "+name, d.CreateOrganization.UserErrors)
		return d.CreateOrganization.Organization.ID
	}
	edge := func(up, down string) string {
		var d struct {
			CreateChannelEdge struct {
				ChannelEdge struct{ ID string }
				UserErrors  []userError
			}
		}
		c.must(t, url, adminToken, `mutation($up: ID!, $down: ID!) {
			createChannelEdge(input: {upstreamId: $up, downstreamId: $down}) { channelEdge { id } userErrors { field message code } } }`,
			map[string]any{"up": up, "down": down}, &d)
		checkUserErrors(t, "createChannelEdge", d.CreateChannelEdge.UserErrors)
		return d.CreateChannelEdge.ChannelEdge.ID
	}
	ch := channel{vendor: org("Vendor", "VENDOR"), reseller: org("Reseller", "RESELLER"), customer: org("Customer", "CUSTOMER")}
	edge(ch.vendor, ch.reseller)
	rc := edge(ch.reseller, ch.customer)

	var view struct {
		SetPurchaseOrderView struct{ UserErrors []userError }
	}
	c.must(t, url, adminToken, `mutation($id: ID!) {
		setPurchaseOrderView(input: {channelEdgeId: $id, enabled: true}) { userErrors { field message code } } }`,
		map[string]any{"id": rc}, &view)
	checkUserErrors(t, "setPurchaseOrderView", view.SetPurchaseOrderView.UserErrors)

	var prod struct {
		CreateProduct struct{ UserErrors []userError }
	}
	c.must(t, url, adminToken, `mutation($vendor: ID!) {
		createProduct(input: {vendorId: $vendor, sku: "SKU-1", name: "Licence", type: LICENSE}) { product { id } userErrors { field message code } } }`,
		map[string]any{"vendor": ch.vendor}, &prod)
	checkUserErrors(t, "createProduct", prod.CreateProduct.UserErrors)

	var tok struct {
		CreateApiToken struct {
			Token      string
			UserErrors []userError
		}
	}
	c.must(t, url, adminToken, `mutation($org: ID!) {
		createApiToken(input: {organizationId: $org, role: OWNER, name: "e2e"}) { token userErrors { field message code } } }`,
		map[string]any{"org": ch.vendor}, &tok)
	checkUserErrors(t, "createApiToken", tok.CreateApiToken.UserErrors)
	if tok.CreateApiToken.Token == "" {
		t.Fatal("createApiToken returned no token")
	}
	ch.vendorToken = tok.CreateApiToken.Token
	return ch
}

const createOrderMutation = `mutation($number: String!, $vendor: ID!, $reseller: ID!, $customer: ID!) {
	createPurchaseOrder(input: {number: $number, vendorId: $vendor, resellerId: $reseller, customerId: $customer,
		lines: [{sku: "SKU-1", quantity: 1}], idempotencyKey: $number}) {
		purchaseOrder { number status } userErrors { field message code } } }`

// createOrder records order number through url as the vendor, under the
// idempotency key number, so that retrying an attempt whose outcome is
// unknown never records a second order. An error other than refusedError
// means the outcome is unknown: the order may have been committed.
func (ch channel) createOrder(ctx context.Context, c *client, url, number string) error {
	var d struct {
		CreatePurchaseOrder struct {
			PurchaseOrder *struct{ Number string }
			UserErrors    []userError
		}
	}
	err := c.do(ctx, url, ch.vendorToken, createOrderMutation, map[string]any{
		"number": number, "vendor": ch.vendor, "reseller": ch.reseller, "customer": ch.customer}, &d)
	switch {
	case err != nil:
		return err
	case len(d.CreatePurchaseOrder.UserErrors) > 0:
		return refusedError{number, d.CreatePurchaseOrder.UserErrors}
	case d.CreatePurchaseOrder.PurchaseOrder == nil || d.CreatePurchaseOrder.PurchaseOrder.Number != number:
		return fmt.Errorf("createPurchaseOrder %s answered %+v", number, d.CreatePurchaseOrder.PurchaseOrder)
	}
	return nil
}

// refusedError is createOrder's error for a business-rule refusal: the
// outcome is known, and a retry would be refused again.
type refusedError struct {
	number string
	errs   []userError
}

func (e refusedError) Error() string {
	return fmt.Sprintf("createPurchaseOrder %s refused: %+v", e.number, e.errs)
}

// mustCreateOrder is createOrder that fails the test on any error.
func (ch channel) mustCreateOrder(t *testing.T, c *client, url, number string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ch.createOrder(ctx, c, url, number); err != nil {
		t.Fatal(err)
	}
}

// listOrderNumbers reads every purchase order the vendor sees, page by page.
func (ch channel) listOrderNumbers(t *testing.T, c *client, url string) []string {
	t.Helper()
	var numbers []string
	var after *string
	for page := 0; ; page++ {
		if page > 1000 {
			t.Fatal("purchaseOrders paging does not end")
		}
		var d struct {
			PurchaseOrders struct {
				Edges    []struct{ Node struct{ Number string } }
				PageInfo struct {
					HasNextPage bool
					EndCursor   *string
				}
				TotalCount int
			}
		}
		c.must(t, url, ch.vendorToken, `query($after: String) { purchaseOrders(first: 100, after: $after) {
			edges { node { number } } pageInfo { hasNextPage endCursor } totalCount } }`,
			map[string]any{"after": after}, &d)
		for _, e := range d.PurchaseOrders.Edges {
			numbers = append(numbers, e.Node.Number)
		}
		if !d.PurchaseOrders.PageInfo.HasNextPage {
			if len(numbers) != d.PurchaseOrders.TotalCount {
				t.Fatalf("paging purchaseOrders gave %d orders, totalCount says %d", len(numbers), d.PurchaseOrders.TotalCount)
			}
			return numbers
		}
		if d.PurchaseOrders.PageInfo.EndCursor == nil {
			t.Fatal("purchaseOrders: hasNextPage without an endCursor")
		}
		after = d.PurchaseOrders.PageInfo.EndCursor
	}
}
