package main

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/channelgraph/channelgraph/internal/demo"
)

// graphiqlPage returns the GraphiQL page the server serves at /.
func graphiqlPage(t *testing.T, graphqlURL string) string {
	t.Helper()
	res, err := http.Get(strings.TrimSuffix(graphqlURL, "graphql"))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /: %d", res.StatusCode)
	}
	return string(body)
}

// runOperation runs one named operation of the starter document as a persona.
func runOperation(t *testing.T, url, token, operation string) {
	t.Helper()
	post(t, url, token, map[string]any{"query": demo.StarterDocument, "operationName": operation})
}

// TestServeGraphiQLDemo: with demo data GraphiQL's page carries the starter
// document, whose every query runs for the persona its comment names, and
// the personas' tokens for the picker, also after a restart that finds the
// demo loaded; without CHANNELGRAPH_DEMO, or with a database holding other
// data, the page has no token.
func TestServeGraphiQLDemo(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("CHANNELGRAPH_DEMO", "1")
	t.Setenv("CHANNELGRAPH_ADDR", "127.0.0.1:0")
	t.Setenv("CHANNELGRAPH_DATABASE_URL", "")
	url, out, stop := startServe(t)
	names := []string{"vendor", "distributor", "reseller", "reseller-without-grant", "customer"}
	tokens := map[string]string{}
	for _, p := range names {
		tokens[p] = personaToken(t, out.String(), p)
	}
	page := graphiqlPage(t, url)
	for p, tok := range tokens {
		if !strings.Contains(page, tok) || !strings.Contains(page, `"name":"`+p+`"`) {
			t.Errorf("the demo page lacks the %s persona or its token", p)
		}
	}
	if !strings.Contains(page, `"defaultQuery":"`) || !strings.Contains(page, "query CustomerOrders") || !strings.Contains(page, "subscription OrderUpdates") {
		t.Errorf("the demo page lacks the starter document")
	}
	for op, persona := range map[string]string{
		"CustomerOrders": "customer", "ResellerCustomers": "reseller", "ResellerWithoutGrant": "reseller-without-grant",
		"DistributorResellers": "distributor", "VendorPlacedOrders": "vendor",
		"ResellerCart": "reseller", "CustomerQuotes": "customer", "VendorWebhooks": "vendor",
	} {
		if !strings.Contains(demo.StarterDocument, `# Pick "`+persona+`"`) {
			t.Errorf("the starter document does not say to pick %s", persona)
		}
		runOperation(t, url, tokens[persona], op)
	}
	for _, op := range []string{"Catalog", "OrderPrices"} {
		for _, persona := range names {
			runOperation(t, url, tokens[persona], op)
		}
	}
	stop()

	url, _, stop = startServe(t) // found already loaded, with data/demo-tokens.txt
	again := graphiqlPage(t, url)
	stop()
	for p, tok := range tokens {
		if !strings.Contains(again, tok) {
			t.Errorf("after a restart the page lacks the %s token", p)
		}
	}
	if strings.Count(again, `"token":"cgt_`) != len(names) || !strings.Contains(again, `"organization":"Globex Manufacturing (CUSTOMER)"`) {
		t.Errorf("after a restart the personas differ from the first run's")
	}

	t.Setenv("CHANNELGRAPH_DEMO", "0")
	url, _, stop = startServe(t)
	noDemo := graphiqlPage(t, url)
	stop()
	if err := os.Remove(demoTokensFile); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CHANNELGRAPH_DEMO", "1")
	url, out, stop = startServe(t) // other data, no saved tokens
	defer stop()
	if !strings.Contains(out.String(), "no demo data was loaded") {
		t.Fatalf("expected no demo data:\n%s", out)
	}
	for name, p := range map[string]string{"CHANNELGRAPH_DEMO=0": noDemo, "no saved tokens": graphiqlPage(t, url)} {
		if strings.Contains(p, "cgt_") || strings.Contains(p, `"personas":`) || strings.Contains(p, `"defaultQuery":`) {
			t.Errorf("%s: the page has a token, a picker or the starter document", name)
		}
	}
}
