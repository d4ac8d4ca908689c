package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/channelgraph/channelgraph/internal/testdb"
)

// auditCount is how many audits graphql-http 1.23.1 (package.json) runs.
const auditCount = 61

// TestGraphQLOverHTTPAudit runs the graphql-http audit suite (npm) against
// a running server: every audit passes, MUST, SHOULD and MAY alike.
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
	if err := json.Unmarshal(out, &results); err != nil || len(results) != auditCount {
		t.Fatalf("the audit printed %d results, want %d (%v):\n%s", len(results), auditCount, err, out)
	}
	passed, total := map[string]int{}, map[string]int{}
	for _, r := range results {
		level, _, _ := strings.Cut(r.Name, " ")
		total[level]++
		if r.Status == "ok" {
			passed[level]++
		} else {
			t.Errorf("%s %s: %s (%s)", r.ID, r.Name, r.Status, r.Reason)
		}
	}
	t.Logf("%d audits: MUST %d/%d, SHOULD %d/%d, MAY %d/%d", len(results),
		passed["MUST"], total["MUST"], passed["SHOULD"], total["SHOULD"], passed["MAY"], total["MAY"])
}
