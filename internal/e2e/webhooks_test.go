package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/channelgraph/channelgraph/internal/testdb"
)

// webhookEnv lets endpoints point at this machine's receivers and retries
// quickly, as a test needs.
var webhookEnv = []string{
	"CHANNELGRAPH_WEBHOOK_ALLOW_PRIVATE=1",
	"CHANNELGRAPH_WEBHOOK_FIRST_RETRY=100ms",
	"CHANNELGRAPH_WEBHOOK_MAX_RETRY=500ms",
	"CHANNELGRAPH_WEBHOOK_LEASE=2s",
}

const webhookOperation = `subscription { purchaseOrderUpdated { cursor purchaseOrder { number status } } }`

// createEndpoint registers a webhook endpoint of the vendor at url and
// returns its global ID and secret.
func (ch channel) createEndpoint(t *testing.T, c *client, apiURL, url string) (id, secret string) {
	t.Helper()
	var d struct {
		CreateWebhookEndpoint struct {
			WebhookEndpoint struct{ ID string }
			Secret          string
			UserErrors      []userError
		}
	}
	c.must(t, apiURL, ch.vendorToken, `mutation($org: ID!, $url: String!, $op: String!) {
		createWebhookEndpoint(input: {organizationId: $org, url: $url, operation: $op}) {
			webhookEndpoint { id } secret userErrors { field message code } } }`,
		map[string]any{"org": ch.vendor, "url": url, "op": webhookOperation}, &d)
	checkUserErrors(t, "createWebhookEndpoint", d.CreateWebhookEndpoint.UserErrors)
	return d.CreateWebhookEndpoint.WebhookEndpoint.ID, d.CreateWebhookEndpoint.Secret
}

// delivered is one delivery a receiver accepted: its webhook-id and the
// order number in its body.
type delivered struct {
	id, number string
}

// parseDelivery reads the order number from a delivery's body, checking
// its shape: {"type", "cursor", "data": {"purchaseOrderUpdated": …}}.
func parseDelivery(body []byte) (string, error) {
	var d struct {
		Type   string
		Cursor string
		Data   struct {
			PurchaseOrderUpdated struct {
				Cursor        string
				PurchaseOrder struct{ Number string }
			}
		}
	}
	if err := json.Unmarshal(body, &d); err != nil {
		return "", err
	}
	ev := d.Data.PurchaseOrderUpdated
	if d.Type != "purchaseOrderUpdated" || d.Cursor == "" || d.Cursor != ev.Cursor || ev.PurchaseOrder.Number == "" {
		return "", fmt.Errorf("unexpected delivery %s", body)
	}
	return ev.PurchaseOrder.Number, nil
}

// receiverSnippets are the README's example receivers: the file name it
// gives each, and its text.
var receiverMarker = regexp.MustCompile("(?s)<!-- webhook-receiver: (\\S+) [^>]*-->\n```(?:go|js)\n(.*?\n)```\n")

func receiverSnippets(t *testing.T) map[string]string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, m := range receiverMarker.FindAllSubmatch(readme, -1) {
		out[string(m[1])] = string(m[2])
	}
	for _, want := range []string{"receiver.go", "receiver.mjs"} {
		if out[want] == "" {
			t.Fatalf("README.md has no block marked <!-- webhook-receiver: %s … -->", want)
		}
	}
	if !strings.Contains(string(readme), "go run receiver.go") || !strings.Contains(string(readme), "node receiver.mjs") {
		t.Fatal("README.md does not say how to run its receivers")
	}
	return out
}

// freePort is a port of 127.0.0.1 nothing listened on a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// sign signs as Standard Webhooks do, written here apart from the server's
// code and the README's, to forge and check deliveries.
func sign(secret, id string, timestamp int64, body []byte) string {
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.", id, timestamp)
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// TestReadmeWebhookReceivers runs the README's two example receivers, Go
// and JavaScript, as the README says to, each behind its own endpoint on a
// real server: every order the vendor records reaches each receiver, which
// verified its signature; a forged signature, a body changed after signing
// and a stale timestamp are refused with 401. It fails if a snippet is
// missing, does not build or run, accepts what it should refuse or refuses
// a real delivery.
func TestReadmeWebhookReceivers(t *testing.T) {
	t.Parallel()
	snippets := receiverSnippets(t)
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the Go receiver needs the go command on PATH: %v", err)
	}
	node, _ := needNode(t)
	srv, err := startServerErr(t, "server", testdb.NewPostgres(t), webhookEnv...)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t)
	ch := setupChannel(t, c, srv.graphqlURL())

	for _, file := range []string{"receiver.go", "receiver.mjs"} {
		t.Run(file, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, file), []byte(snippets[file]), 0o644); err != nil {
				t.Fatal(err)
			}
			port := freePort(t)
			_, secret := ch.createEndpoint(t, c, srv.graphqlURL(), "http://127.0.0.1:"+port+"/channelgraph")
			var cmd *exec.Cmd
			if file == "receiver.go" {
				cmd = exec.Command(goTool, "run", file)
			} else {
				cmd = exec.Command(node, file)
			}
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "WEBHOOK_SECRET="+secret, "PORT="+port)
			var mu sync.Mutex
			var got []delivered
			out := &logBuffer{}
			stdout := &logBuffer{onLine: func(line string) {
				id, body, _ := strings.Cut(line, " ")
				number, err := parseDelivery([]byte(body))
				if err != nil {
					t.Errorf("%s printed %q: %v", file, line, err)
					return
				}
				mu.Lock()
				got = append(got, delivered{id, number})
				mu.Unlock()
			}}
			cmd.Stdout = io.MultiWriter(out, stdout)
			if _, err := startProcess(t, file, cmd, out); err != nil {
				t.Fatal(err)
			}
			receiver := "http://127.0.0.1:" + port + "/channelgraph"
			waitListening(t, "127.0.0.1:"+port)

			numbers := []string{file + "-1", file + "-2", file + "-3"}
			for _, n := range numbers {
				ch.mustCreateOrder(t, c, srv.graphqlURL(), n)
			}
			deadline := time.Now().Add(60 * time.Second)
			for {
				mu.Lock()
				n := len(got)
				mu.Unlock()
				if n >= len(numbers) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s printed %d deliveries in 60 s, want %d:\n%s", file, n, len(numbers), out.String())
				}
				time.Sleep(50 * time.Millisecond)
			}
			mu.Lock()
			for i, d := range got[:len(numbers)] {
				if d.number != numbers[i] || !strings.HasPrefix(d.id, "msg_") {
					t.Errorf("delivery %d is %+v, want order %s with a msg_ webhook-id", i, d, numbers[i])
				}
			}
			mu.Unlock()

			// What the receiver must refuse: each a delivery a real one is
			// not, by one detail.
			body := []byte(`{"type":"purchaseOrderUpdated","cursor":"x","data":{}}`)
			now := time.Now().Unix()
			forged := map[string]func(h http.Header) []byte{
				"a signature by another secret": func(h http.Header) []byte {
					h.Set("webhook-signature", sign("whsec_"+base64.StdEncoding.EncodeToString(make([]byte, 32)), "msg_forged", now, body))
					return body
				},
				"a body changed after signing": func(h http.Header) []byte {
					h.Set("webhook-signature", sign(secret, "msg_forged", now, body))
					return append(bytes.Clone(body), ' ')
				},
				"a timestamp ten minutes old": func(h http.Header) []byte {
					h.Set("webhook-timestamp", strconv.FormatInt(now-600, 10))
					h.Set("webhook-signature", sign(secret, "msg_forged", now-600, body))
					return body
				},
			}
			for what, forge := range forged {
				h := http.Header{"Webhook-Id": {"msg_forged"}, "Webhook-Timestamp": {strconv.FormatInt(now, 10)}, "Content-Type": {"application/json"}}
				sent := forge(h)
				req, _ := http.NewRequest(http.MethodPost, receiver, bytes.NewReader(sent))
				req.Header = h
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s: %s answered %d, want 401", what, file, res.StatusCode)
				}
			}
		})
	}
}

// waitListening waits until something accepts connections at addr.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second) // `go run` compiles first
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens at %s: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestWebhookResumesAfterSIGKILL: a server delivering to a slow receiver is
// killed (SIGKILL) in the middle of its deliveries; another server on the
// same database takes the endpoint over once the dead one's lease lapses
// and delivers the rest. Every order reaches the receiver, each first
// arriving in the order the orders were recorded, signed with the
// endpoint's secret; a delivery may repeat (at least once) but none is
// lost.
func TestWebhookResumesAfterSIGKILL(t *testing.T) {
	t.Parallel()
	databaseURL := testdb.NewPostgres(t)
	first, err := startServerErr(t, "server (killed)", databaseURL, webhookEnv...)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t)
	ch := setupChannel(t, c, first.graphqlURL())

	var mu sync.Mutex
	var got []delivered
	var secret string
	var badSignatures int
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		time.Sleep(30 * time.Millisecond) // keeps deliveries under way when the server dies
		id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
		timestamp, _ := strconv.ParseInt(ts, 10, 64)
		mu.Lock()
		defer mu.Unlock()
		if !strings.Contains(" "+r.Header.Get("webhook-signature")+" ", " "+sign(secret, id, timestamp, body)+" ") {
			badSignatures++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		number, err := parseDelivery(body)
		if err != nil {
			t.Error(err)
		}
		got = append(got, delivered{id, number})
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	mu.Lock()
	_, secret = ch.createEndpoint(t, c, first.graphqlURL(), receiver.URL+"/hooks")
	mu.Unlock()

	const total = 40
	number := func(i int) string { return fmt.Sprintf("K-%03d", i) }
	for i := range total / 2 {
		ch.mustCreateOrder(t, c, first.graphqlURL(), number(i))
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(got)
	}
	for deadline := time.Now().Add(30 * time.Second); count() < 3; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no deliveries from the first server in 30 s")
		}
	}
	first.kill(t)
	atKill := count()
	second, err := startServerErr(t, "server (after the kill)", databaseURL, webhookEnv...)
	if err != nil {
		t.Fatal(err)
	}
	for i := total / 2; i < total; i++ {
		ch.mustCreateOrder(t, c, second.graphqlURL(), number(i))
	}

	deadline := time.Now().Add(90 * time.Second)
	for {
		mu.Lock()
		seen := map[string]bool{}
		for _, d := range got {
			seen[d.number] = true
		}
		done := len(seen) == total
		mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 90 s the receiver had %d of %d orders: %+v", len(seen), total, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	var firstSeen []string
	seen := map[string]bool{}
	for _, d := range got {
		if !seen[d.number] {
			seen[d.number] = true
			firstSeen = append(firstSeen, d.number)
		}
	}
	for i, n := range firstSeen {
		if n != number(i) {
			t.Fatalf("orders first arrived in the order %v, want K-000 to K-%03d in turn", firstSeen, total-1)
		}
	}
	if badSignatures > 0 {
		t.Errorf("%d deliveries carried no valid signature", badSignatures)
	}
	t.Logf("%d deliveries for %d orders (%d before the kill; %d repeated across it)", len(got), total, atKill, len(got)-total)
}
