// Package clock is where time comes from wherever a rule depends on it
// (expiries, windows, renewals, timestamps on rows). Services hold a Clock;
// nothing that decides a rule reads the wall clock itself, so tests — and a
// deployment started with CHANNELGRAPH_TEST_CLOCK=1 — can move time.
package clock

import (
	"sync"
	"time"
)

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// Stamp is t as stored: UTC, truncated to the microsecond both databases
// keep, so a stored time compares equal to the value that was written.
func Stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// System is the wall clock.
type System struct{}

// Now is the current time, stamped.
func (System) Now() time.Time { return Stamp(time.Now()) }

// Adjustable is the wall clock moved forward by an offset that only grows:
// the test clock of SPEC §8.5.
type Adjustable struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now is the wall clock plus the offset, stamped.
func (a *Adjustable) Now() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return Stamp(time.Now().Add(a.offset))
}

// Advance moves the clock forward by d (never backwards: a negative d is
// ignored) and returns the new time.
func (a *Adjustable) Advance(d time.Duration) time.Time {
	a.mu.Lock()
	if d > 0 {
		a.offset += d
	}
	a.mu.Unlock()
	return a.Now()
}

// Fixed is a clock standing still at a time, for tests.
type Fixed struct {
	mu sync.Mutex
	at time.Time
}

// NewFixed returns a clock standing at t.
func NewFixed(t time.Time) *Fixed { return &Fixed{at: Stamp(t)} }

// Now is the time the clock stands at.
func (f *Fixed) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.at
}

// Set moves the clock to t.
func (f *Fixed) Set(t time.Time) {
	f.mu.Lock()
	f.at = Stamp(t)
	f.mu.Unlock()
}
