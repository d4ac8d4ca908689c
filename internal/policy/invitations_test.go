package policy_test

import (
	"testing"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/policy"
)

func TestMayManageInvitation(t *testing.T) {
	for _, c := range []struct {
		v    domain.Viewer
		want bool
	}{
		{domain.Viewer{OrganizationID: 1, Role: domain.RoleOwner}, true},
		{domain.Viewer{OrganizationID: 1, Role: domain.RoleAdminAgent}, true},
		{domain.Viewer{OrganizationID: 1, Role: domain.RoleSalesAgent}, false},
		{domain.Viewer{OrganizationID: 1, Role: domain.RoleViewer}, false},
		{domain.Viewer{OrganizationID: 2, Role: domain.RoleOwner}, false},
		{domain.Viewer{IsPlatformAdmin: true}, true},
	} {
		if got := policy.MayManageInvitation(&c.v, 1) == nil; got != c.want {
			t.Errorf("%+v: allowed %v, want %v", c.v, got, c.want)
		}
	}
}

func TestMayAcceptInvitation(t *testing.T) {
	for _, c := range []struct {
		v    domain.Viewer
		want bool
	}{
		{domain.Viewer{OrganizationID: 1, Kind: domain.KindCustomer, Role: domain.RoleOwner}, true},
		{domain.Viewer{OrganizationID: 1, Kind: domain.KindCustomer, Role: domain.RoleAdminAgent}, false},
		{domain.Viewer{OrganizationID: 1, Kind: domain.KindReseller, Role: domain.RoleOwner}, false},
		{domain.Viewer{IsPlatformAdmin: true}, false},
	} {
		if got := policy.MayAcceptInvitation(&c.v) == nil; got != c.want {
			t.Errorf("%+v: allowed %v, want %v", c.v, got, c.want)
		}
	}
}
