package tenants

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/channelgraph/channelgraph/internal/domain"
)

// Provisioner is the built-in provisioner: it simulates each step by waiting
// Step after the tenant's last change, then advancing it. Its only state is
// the tenants table, so after a crash or restart it simply goes on, and
// replicas running it at once advance each step once (advance is
// conditional on the status it read).
//
// A domain whose first label starts with "fail-" fails at verification, so
// the FAILED path can be tried from a client.
type Provisioner struct {
	svc  *Service
	Step time.Duration
	log  *slog.Logger
}

// NewProvisioner returns a provisioner taking step per stage.
func NewProvisioner(svc *Service, step time.Duration, log *slog.Logger) *Provisioner {
	return &Provisioner{svc: svc, Step: step, log: log}
}

// Run advances due tenants until ctx ends.
func (p *Provisioner) Run(ctx context.Context) {
	tick := time.NewTicker(min(p.Step/4+time.Millisecond, 250*time.Millisecond))
	defer tick.Stop()
	for {
		if err := p.advanceDue(ctx); err != nil && ctx.Err() == nil {
			p.log.Warn("provisioner", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (p *Provisioner) advanceDue(ctx context.Context) error {
	var due []*domain.Tenant
	err := p.svc.db.NewSelect().Model(&due).
		Where("tn.status IN (?, ?, ?)", domain.TenantRequested, domain.TenantProvisioning, domain.TenantVerifying).
		Where("tn.updated_at <= ?", p.svc.Now().Add(-p.Step)).
		Order("tn.updated_at").Limit(100).Scan(ctx)
	if err != nil {
		return err
	}
	for _, t := range due {
		next, _ := stepAfter(t.Status)
		reason := ""
		if t.Status == domain.TenantVerifying && strings.HasPrefix(t.Domain, "fail-") {
			next, reason = domain.TenantFailed, "simulated failure: the domain could not be verified"
		}
		if _, err := p.svc.advance(ctx, t.ID, t.Status, next, reason); err != nil && domain.ErrorCode(err) != domain.CodeConflict {
			return err
		}
	}
	return nil
}
