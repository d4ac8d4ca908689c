package main

import (
	"strings"
	"testing"
)

// TestReadmeRelationshipsFlow runs README's "Relationships" walk as
// written: Cobalt IT's invitation (null for its SALES_AGENT), Globex
// refused as already joined, a rotation whose old code is then refused,
// the combined invitation with Atlas accepted by Initech's OWNER, and
// Initech's tenant seen by Cobalt; then Cobalt's delegated admin over
// Initech's EMAIL, approved, kept when Initech removes Cobalt's edge, and
// the audit log of it all.
func TestReadmeRelationshipsFlow(t *testing.T) {
	got := runReadmeSection(t, "## Relationships: invitations and delegated admin")
	// Refused on purpose: Globex already joined, and the retired code.
	checkWalk(t, got, 2,
		`"url":"http://127.0.0.1:8080/invitations/accept?code=cgi_`,
		`"role":"SALES_AGENT","organization":{"invitation":null}`,
		`"code":"CONFLICT"`,
		`"message":"unknown or retired invitation code"`,
		`"indirectProvider":{"name":"Atlas Distribution"}`,
		`{"status":"ACTIVE","upstream":{"name":"Atlas Distribution"},"downstream":{"name":"Initech Schools"}}`,
		`{"status":"ACTIVE","upstream":{"name":"Cobalt IT"},"downstream":{"name":"Initech Schools"}}`,
		`"tenants":[{"domain":"initech-`,
		`"approveDelegatedAdmin":{"delegatedAdmin":{"status":"ACTIVE"`,
		`"delegatedAdmins":[{"service":"EMAIL","roles":["Helpdesk agent","User administrator"],"transacting":true,"status":"ACTIVE"}]`,
		`"delegatedAdminsKept":[{"partner":{"name":"Cobalt IT"},"service":"EMAIL","status":"ACTIVE"}]`,
		`{"action":"CHANNEL_EDGE_REMOVED","detail":"Moving to another partner","actorOrganization":{"name":"Initech Schools"},"actorMember":{"name":"Ines Park"}`)
	for _, line := range strings.Split(got, "\n") {
		if strings.Contains(line, `"organizations":{"edges":[{"node":{"name":"Initech Schools"`) && strings.Contains(line, "Ember Networks") {
			t.Errorf("Cobalt sees its competitor's edge to Initech:\n%s", line)
		}
	}
}
