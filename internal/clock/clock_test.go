package clock_test

import (
	"testing"
	"time"

	"github.com/channelgraph/channelgraph/internal/clock"
)

func TestAdjustableOnlyMovesForward(t *testing.T) {
	var c clock.Adjustable
	before := c.Now()
	after := c.Advance(48 * time.Hour)
	if d := after.Sub(before); d < 48*time.Hour || d > 49*time.Hour {
		t.Fatalf("advanced by %v, want about 48h", d)
	}
	if back := c.Advance(-72 * time.Hour); back.Before(after) {
		t.Fatalf("a negative advance moved the clock back to %v from %v", back, after)
	}
}

func TestStampKeepsMicroseconds(t *testing.T) {
	in := time.Date(2026, 11, 30, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))
	got := clock.Stamp(in)
	if got.Location() != time.UTC || got.Nanosecond() != 123456000 || !got.Equal(in.Truncate(time.Microsecond)) {
		t.Fatalf("Stamp(%v) = %v", in, got)
	}
}

func TestFixedStandsStill(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := clock.NewFixed(at)
	if !c.Now().Equal(at) {
		t.Fatalf("Now = %v, want %v", c.Now(), at)
	}
	c.Set(at.Add(time.Hour))
	if !c.Now().Equal(at.Add(time.Hour)) {
		t.Fatalf("after Set, Now = %v", c.Now())
	}
}
