package testclock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/testclock"
)

func as(v *domain.Viewer) context.Context { return domain.WithViewer(context.Background(), v) }

func TestAdvance(t *testing.T) {
	admin := as(&domain.Viewer{IsPlatformAdmin: true})
	owner := as(&domain.Viewer{OrganizationID: 1, Kind: domain.KindVendor, Role: domain.RoleOwner})

	if _, err := testclock.New(nil).Advance(admin, 1); domain.ErrorCode(err) != domain.CodeForbidden {
		t.Fatalf("with the test clock off: %v, want FORBIDDEN", err)
	}
	c := &clock.Adjustable{}
	svc := testclock.New(c)
	if _, err := svc.Advance(owner, 1); domain.ErrorCode(err) != domain.CodeForbidden {
		t.Fatalf("an organization's OWNER: %v, want FORBIDDEN", err)
	}
	for _, bad := range []int{0, -5, testclock.MaxHours + 1} {
		var e *domain.Error
		_, err := svc.Advance(admin, bad)
		if domain.ErrorCode(err) != domain.CodeInvalid || !errors.As(err, &e) || e.Field != "hours" {
			t.Fatalf("hours %d: %v, want BAD_USER_INPUT on hours", bad, err)
		}
	}
	before := c.Now()
	now, err := svc.Advance(admin, 170)
	if err != nil {
		t.Fatal(err)
	}
	if d := now.Sub(before); d < 170*time.Hour || d > 171*time.Hour {
		t.Fatalf("moved by %v, want 170h", d)
	}
}
