// Package testclock is the test clock of SPEC §8.5: on a deployment
// started with CHANNELGRAPH_TEST_CLOCK=1 the platform administrator moves
// time forward, and every rule that reads the time — expiries, windows,
// renewals — follows, because every service reads the one clock the server
// was given. It is off unless asked for, and never moves backwards.
package testclock

import (
	"context"
	"time"

	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/policy"
)

// MaxHours bounds one move: ten years.
const MaxHours = 87_600

// Service moves the test clock.
type Service struct {
	clock *clock.Adjustable // nil: the test clock is off
}

// New returns a Service moving c, or refusing every move when c is nil.
func New(c *clock.Adjustable) *Service { return &Service{clock: c} }

// Advance moves the clock forward by hours and returns the new time.
func (s *Service) Advance(ctx context.Context, hours int) (time.Time, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return time.Time{}, err
	}
	if err := policy.MayAdvanceTestClock(viewer, s.clock != nil); err != nil {
		return time.Time{}, err
	}
	if hours < 1 || hours > MaxHours {
		return time.Time{}, domain.FieldErrorf(domain.CodeInvalid, "hours", "hours must be between 1 and %d", MaxHours)
	}
	return s.clock.Advance(time.Duration(hours) * time.Hour), nil
}
