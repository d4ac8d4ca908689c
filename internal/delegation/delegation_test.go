package delegation_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/delegation"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// Organizations of the fixture: a distributor above reseller 2; resellers
// 2…21 each joined to customer 30 by an ACTIVE edge; customer 31 joined to
// nobody.
const (
	distributor = 1
	reseller    = 2
	customer    = 30
	stranger    = 31
	resellers   = 20
)

func setup(t *testing.T, db *bun.DB) *delegation.Service {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	org := func(id int64, kind domain.OrganizationKind) {
		exec(`INSERT INTO organizations (id, kind, name, created_at) VALUES (?, ?, ?, ?)`, id, kind, fmt.Sprint(kind, " ", id), now)
	}
	edge := func(up, down int64) {
		exec(`INSERT INTO channel_edges (upstream_id, downstream_id, status, created_at, updated_at) VALUES (?, ?, 'ACTIVE', ?, ?)`, up, down, now, now)
	}
	org(distributor, domain.KindDistributor)
	org(customer, domain.KindCustomer)
	org(stranger, domain.KindCustomer)
	for r := int64(reseller); r < reseller+resellers; r++ {
		org(r, domain.KindReseller)
		edge(r, customer)
	}
	edge(distributor, reseller)
	return delegation.New(db)
}

func as(org int64, kind domain.OrganizationKind, role domain.Role) context.Context {
	return domain.WithViewer(context.Background(), &domain.Viewer{OrganizationID: org, Kind: kind, Role: role})
}

func wantCode(t *testing.T, what string, err error, code domain.Code, field string) {
	t.Helper()
	var de *domain.Error
	if !errors.As(err, &de) || de.Code != code || (field != "" && de.Field != field) {
		t.Errorf("%s: got %v, want %s on %q", what, err, code, field)
	}
}

func count(t *testing.T, db *bun.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.NewRaw(query, args...).Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

var email = delegation.RequestInput{CustomerID: customer, Service: "EMAIL", Roles: []string{"HELPDESK", "USER_ADMIN"}, Transacting: true}

// TestRequestApproveRemove walks a privilege through its life with the
// wrong roles and sides refused at each step, and checks each change left
// one event and one audit entry naming both parties.
func TestRequestApproveRemove(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		s := setup(t, db)
		partnerAdmin := as(reseller, domain.KindReseller, domain.RoleAdminAgent)
		customerOwner := as(customer, domain.KindCustomer, domain.RoleOwner)

		_, err := s.Request(as(reseller, domain.KindReseller, domain.RoleSalesAgent), email)
		wantCode(t, "a SALES_AGENT requests", err, domain.CodeForbidden, "")
		_, err = s.Request(customerOwner, email)
		wantCode(t, "a customer requests", err, domain.CodeForbidden, "")
		stray := email
		stray.CustomerID = stranger
		_, err = s.Request(partnerAdmin, stray)
		wantCode(t, "a request for a customer the partner does not see", err, domain.CodeNotFound, "")
		for _, bad := range []struct {
			in    delegation.RequestInput
			field string
		}{
			{delegation.RequestInput{CustomerID: customer, Service: "", Roles: []string{"A"}}, "service"},
			{delegation.RequestInput{CustomerID: customer, Service: "E MAIL", Roles: []string{"A"}}, "service"},
			{delegation.RequestInput{CustomerID: customer, Service: "EMAIL"}, "roles"},
			{delegation.RequestInput{CustomerID: customer, Service: "EMAIL", Roles: []string{"A,B"}}, "roles"},
			{delegation.RequestInput{CustomerID: distributor, Service: "EMAIL", Roles: []string{"A"}}, "customerId"},
		} {
			_, err = s.Request(as(reseller, domain.KindReseller, domain.RoleOwner), bad.in)
			wantCode(t, fmt.Sprintf("request %+v", bad.in), err, domain.CodeInvalid, bad.field)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM delegated_admins`); n != 0 {
			t.Fatalf("refused requests stored %d privileges", n)
		}

		d, err := s.Request(partnerAdmin, email)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != domain.DelegatedAdminRequested || d.PartnerID != reseller || len(d.Roles()) != 2 {
			t.Errorf("requested %+v", d)
		}
		_, err = s.Request(partnerAdmin, email)
		wantCode(t, "a second request for the same service", err, domain.CodeConflict, "service")

		for what, ctx := range map[string]context.Context{
			"the partner's OWNER":        as(reseller, domain.KindReseller, domain.RoleOwner),
			"the customer's ADMIN_AGENT": as(customer, domain.KindCustomer, domain.RoleAdminAgent),
		} {
			_, err = s.Approve(ctx, d.ID)
			wantCode(t, what+" approves", err, domain.CodeForbidden, "")
		}
		for what, ctx := range map[string]context.Context{
			"the partner's distributor": as(distributor, domain.KindDistributor, domain.RoleOwner),
			"another customer":          as(stranger, domain.KindCustomer, domain.RoleOwner),
			"another reseller":          as(reseller+1, domain.KindReseller, domain.RoleOwner),
		} {
			_, err = s.Approve(ctx, d.ID)
			wantCode(t, what+" approves", err, domain.CodeNotFound, "")
			_, err = s.Remove(ctx, d.ID)
			wantCode(t, what+" removes", err, domain.CodeNotFound, "")
		}
		if d, err = s.Approve(customerOwner, d.ID); err != nil || d.Status != domain.DelegatedAdminActive || d.ApprovedAt == nil {
			t.Fatalf("approval: %+v %v", d, err)
		}
		_, err = s.Approve(customerOwner, d.ID)
		wantCode(t, "approving again", err, domain.CodeConflict, "delegatedAdminId")

		_, err = s.Remove(as(customer, domain.KindCustomer, domain.RoleSalesAgent), d.ID)
		wantCode(t, "the customer's SALES_AGENT removes", err, domain.CodeForbidden, "")
		_, err = s.Remove(as(reseller, domain.KindReseller, domain.RoleViewer), d.ID)
		wantCode(t, "the partner's VIEWER removes", err, domain.CodeForbidden, "")
		if d, err = s.Remove(as(customer, domain.KindCustomer, domain.RoleAdminAgent), d.ID); err != nil || d.Status != domain.DelegatedAdminRemoved {
			t.Fatalf("removal by the customer's ADMIN_AGENT: %+v %v", d, err)
		}
		_, err = s.Remove(partnerAdmin, d.ID)
		wantCode(t, "removing again", err, domain.CodeConflict, "delegatedAdminId")
		_, err = s.Approve(customerOwner, d.ID)
		wantCode(t, "approving a removed privilege", err, domain.CodeConflict, "delegatedAdminId")

		if n := count(t, db, `SELECT COUNT(*) FROM events WHERE type = 'DELEGATED_ADMIN_UPDATED' AND object_id = ?`, d.ID); n != 3 {
			t.Errorf("%d events, want 3 (requested, approved, removed)", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM event_audience a JOIN events e ON e.id = a.event_id
			WHERE e.type = 'DELEGATED_ADMIN_UPDATED' AND a.organization_id NOT IN (?, ?)`, reseller, customer); n != 0 {
			t.Errorf("%d audience rows name neither the partner nor the customer", n)
		}
		for _, action := range []string{"DELEGATED_ADMIN_REQUESTED", "DELEGATED_ADMIN_APPROVED", "DELEGATED_ADMIN_REMOVED"} {
			if n := count(t, db, `SELECT COUNT(*) FROM audit_entries WHERE action = ? AND object_type = 'DelegatedAdmin'
				AND object_id = ? AND first_party_id = ? AND second_party_id = ? AND detail LIKE '%EMAIL%HELPDESK%'`,
				action, d.ID, reseller, customer); n != 1 {
				t.Errorf("%d audit entries %s, want 1", n, action)
			}
		}
		// REMOVED is final, and frees the service for a new request.
		if _, err := s.Request(partnerAdmin, email); err != nil {
			t.Errorf("a new request after the removal: %v", err)
		}
	})
}

// TestOneTransactingPartnerUnderRace (SPEC §6.2): twenty partners request
// to transact for one customer's service; the customer's OWNER approves
// all twenty at once. Exactly one becomes ACTIVE; the others are CONFLICT.
// A non-transacting privilege for the same service is approved beside it.
func TestOneTransactingPartnerUnderRace(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		s := setup(t, db)
		customerOwner := as(customer, domain.KindCustomer, domain.RoleOwner)
		var ids []int64
		for r := int64(reseller); r < reseller+resellers; r++ {
			d, err := s.Request(as(r, domain.KindReseller, domain.RoleOwner), email)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, d.ID)
		}
		start := make(chan struct{})
		errs := make([]error, len(ids))
		var wg sync.WaitGroup
		for i, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = s.Approve(customerOwner, id)
			}()
		}
		close(start)
		wg.Wait()
		won := 0
		for i, err := range errs {
			if err == nil {
				won++
				continue
			}
			wantCode(t, fmt.Sprint("approval ", i), err, domain.CodeConflict, "delegatedAdminId")
		}
		if won != 1 {
			t.Errorf("%d approvals won, want 1", won)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM delegated_admins WHERE status = 'ACTIVE' AND transacting`); n != 1 {
			t.Errorf("%d ACTIVE transacting privileges, want 1", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM audit_entries WHERE action = 'DELEGATED_ADMIN_APPROVED'`); n != 1 {
			t.Errorf("%d approvals audited, want 1 (the refused ones roll back)", n)
		}
		// The losers stay REQUESTED: their partners may be approved as
		// non-transacting after asking again, beside the winner.
		var loser int64
		for i, err := range errs {
			if err != nil {
				loser = reseller + int64(i)
				break
			}
		}
		if loser == 0 {
			t.Fatal("no approval lost")
		}
		loserCtx := as(loser, domain.KindReseller, domain.RoleOwner)
		if _, err := s.Remove(loserCtx, ids[loser-reseller]); err != nil {
			t.Fatal(err)
		}
		plain := email
		plain.Transacting = false
		d, err := s.Request(loserCtx, plain)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Approve(customerOwner, d.ID); err != nil {
			t.Errorf("a non-transacting approval beside the transacting partner: %v", err)
		}
	})
}
