package tenants

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/channelgraph/channelgraph/internal/channel"
	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// TestProvisionerFollowsTheClock: the built-in provisioner takes a step only
// once the service's clock says the step's time has passed since the
// tenant's last change — so the test clock, not the wall clock, paces it —
// and a domain starting with fail- fails at verification with a reason.
func TestProvisionerFollowsTheClock(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			db := testdb.MustOpen(t, kind)
			at := clock.NewFixed(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
			admin := domain.WithViewer(context.Background(), &domain.Viewer{IsPlatformAdmin: true})
			customer, err := channel.New(db).CreateOrganization(admin, channel.CreateOrganizationInput{Name: "C", Kind: domain.KindCustomer})
			if err != nil {
				t.Fatal(err)
			}
			svc := New(db)
			svc.Now = at.Now
			ok, err := svc.Create(admin, customer.ID, "contoso.example.com")
			if err != nil {
				t.Fatal(err)
			}
			failing, err := svc.Create(admin, customer.ID, "fail-fabrikam.example.com")
			if err != nil {
				t.Fatal(err)
			}
			p := NewProvisioner(svc, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
			status := func(id int64) (domain.TenantStatus, string) {
				tn, err := svc.Tenant(admin, id)
				if err != nil {
					t.Fatal(err)
				}
				return tn.Status, tn.FailureReason
			}
			step := func(wantOK, wantFailing domain.TenantStatus) {
				t.Helper()
				if err := p.advanceDue(context.Background()); err != nil {
					t.Fatal(err)
				}
				if s, _ := status(ok.ID); s != wantOK {
					t.Fatalf("contoso is %s, want %s", s, wantOK)
				}
				if s, _ := status(failing.ID); s != wantFailing {
					t.Fatalf("fail-fabrikam is %s, want %s", s, wantFailing)
				}
			}
			step(domain.TenantRequested, domain.TenantRequested) // no time has passed
			at.Set(at.Now().Add(59 * time.Minute))
			step(domain.TenantRequested, domain.TenantRequested)
			at.Set(at.Now().Add(time.Minute))
			step(domain.TenantProvisioning, domain.TenantProvisioning)
			at.Set(at.Now().Add(time.Hour))
			step(domain.TenantVerifying, domain.TenantVerifying)
			at.Set(at.Now().Add(time.Hour))
			step(domain.TenantActive, domain.TenantFailed)
			if _, reason := status(failing.ID); reason == "" {
				t.Error("a failed tenant has no reason")
			}
		})
	}
}

func TestNormalizeDomain(t *testing.T) {
	for in, want := range map[string]string{
		"Contoso.Example.COM":   "contoso.example.com",
		" contoso.example. ":    "contoso.example",
		"xn--bcher-kva.example": "xn--bcher-kva.example",
	} {
		if got, err := NormalizeDomain(in); err != nil || got != want {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "contoso", "-a.example", "a-.example", "a..example", "under_score.example", "ä.example"} {
		if _, err := NormalizeDomain(bad); domain.ErrorCode(err) != domain.CodeInvalid {
			t.Errorf("NormalizeDomain(%q): %v, want BAD_USER_INPUT", bad, err)
		}
	}
}
