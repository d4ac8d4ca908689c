package server_test

import (
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/server"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

const advance = `mutation($h: Int!) { advanceTestClock(input: {hours: $h}) { now userErrors { field code } } }`

type advanced struct {
	AdvanceTestClock struct {
		Now        *time.Time
		UserErrors []struct{ Field, Code string }
	}
}

// TestAdvanceTestClock (SPEC §8.5): with the test clock on, the platform
// administrator moves time forward and what the server stamps follows;
// anyone else, and everyone on a server without the test clock, is refused.
func TestAdvanceTestClock(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		a, _ := newServer(t, db, server.Config{Clock: &clock.Adjustable{}})
		_, vendorID := a.MustOrg("Vendor", domain.KindVendor)
		owner := a.MustToken(vendorID, domain.RoleOwner)
		if res := a.Do(owner, advance, map[string]any{"h": 24}); res.Code() != "FORBIDDEN" {
			t.Fatalf("an OWNER moves the clock: %+v", res.Errors)
		}
		var out advanced
		a.Must(testapi.AdminToken, advance, map[string]any{"h": 0}, &out)
		if ue := out.AdvanceTestClock.UserErrors; len(ue) != 1 || ue[0].Field != "hours" || ue[0].Code != "BAD_USER_INPUT" {
			t.Fatalf("0 hours: %+v", out)
		}
		a.Must(testapi.AdminToken, advance, map[string]any{"h": 240}, &out)
		now := out.AdvanceTestClock.Now
		if now == nil || now.Sub(time.Now()) < 239*time.Hour {
			t.Fatalf("after 240 hours the clock reads %v", now)
		}
		// What the server stamps from now on follows the moved clock.
		var created struct {
			CreateOrganization struct{ Organization struct{ CreatedAt time.Time } }
		}
		a.Must(testapi.AdminToken, `mutation { createOrganization(input: {name: "Later", kind: CUSTOMER}) { organization { createdAt } } }`, nil, &created)
		if at := created.CreateOrganization.Organization.CreatedAt; at.Before(*now) {
			t.Errorf("an organization created after the move is stamped %v, before %v", at, *now)
		}

		off := newAPI(t, testdb.MustOpen(t, "sqlite"))
		if res := off.Do(testapi.AdminToken, advance, map[string]any{"h": 1}); res.Code() != "FORBIDDEN" {
			t.Fatalf("with the test clock off: %+v", res.Errors)
		}
	})
}
