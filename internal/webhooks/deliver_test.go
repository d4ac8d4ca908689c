package webhooks

import (
	"testing"
	"time"
)

// TestWebhookDeliveryBackoff: about FirstRetry first (±20%), doubling with
// each failure in a row, never past MaxRetry.
func TestWebhookDeliveryBackoff(t *testing.T) {
	d := &Deliverer{cfg: DeliveryConfig{FirstRetry: time.Second, MaxRetry: 10 * time.Minute}}
	for failures, base := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second,
		10: 512 * time.Second, 11: 10 * time.Minute, 20: 10 * time.Minute, 1000: 10 * time.Minute} {
		for range 50 {
			got := d.backoff(failures)
			lo, hi := time.Duration(float64(base)*0.8), min(time.Duration(float64(base)*1.2), 10*time.Minute)
			if got < lo || got > hi {
				t.Fatalf("after %d failures: %s, want %s to %s", failures, got, lo, hi)
			}
		}
	}
}
