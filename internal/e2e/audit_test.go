package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/channelgraph/channelgraph/internal/testdb"
)

// documentedSHOULDs are the graphql-http audits README explains: gqlgen
// answers parse and validation failures with 422 (not 200) to
// application/json clients, and includes "data": null in them.
var documentedSHOULDs = map[string]bool{"572B": true, "FDE2": true, "7B9B": true, "D586": true, "5E5B": true}

// TestGraphQLOverHTTPAudit runs the graphql-http audit suite (npm) against
// a running server: every MUST passes, and no SHOULD fails but those README
// explains.
func TestGraphQLOverHTTPAudit(t *testing.T) {
	t.Parallel()
	node, npm := needNode(t)
	dir := installJSClient(t, npm)
	srv := startServer(t, "server", "sqlite:"+testdb.NewSQLite(t))

	cmd := exec.Command(node, "audit.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CG_HTTP_URL="+srv.graphqlURL())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the audit script failed: %v\n%s", err, out)
	}
	var results []struct{ ID, Name, Status, Reason string }
	if err := json.Unmarshal(out, &results); err != nil || len(results) < 40 {
		t.Fatalf("the audit printed %d results (%v):\n%s", len(results), err, out)
	}
	musts := 0
	for _, r := range results {
		switch {
		case strings.HasPrefix(r.Name, "MUST"):
			musts++
			if r.Status != "ok" {
				t.Errorf("%s %s: %s (%s)", r.ID, r.Name, r.Status, r.Reason)
			}
		case strings.HasPrefix(r.Name, "SHOULD") && r.Status != "ok" && !documentedSHOULDs[r.ID]:
			t.Errorf("a SHOULD README does not explain: %s %s: %s (%s)", r.ID, r.Name, r.Status, r.Reason)
		case strings.HasPrefix(r.Name, "SHOULD") && r.Status == "ok" && documentedSHOULDs[r.ID]:
			t.Logf("%s now passes: take it out of README and documentedSHOULDs", r.ID)
		}
	}
	t.Logf("%d audits, %d MUSTs", len(results), musts)
}
