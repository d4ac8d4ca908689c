package server_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/channelgraph/channelgraph/internal/server"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

// TestRateLimit: a token over its rate is answered 429 RATE_LIMITED with
// Retry-After, while another token goes on, and the first recovers.
func TestRateLimit(t *testing.T) {
	db := testdb.MustOpen(t, "sqlite")
	f := newChannelFixtureWith(t, db, server.Config{RateLimit: server.RateLimit{PerSecond: 5, Burst: 3}})
	const q = `{ viewer { role } }`
	var limited *testapi.Response
	for i := 0; i < 10 && limited == nil; i++ {
		if res := f.a.Do(f.tok[f.vendor], q, nil); res.Status == http.StatusTooManyRequests {
			limited = res
		}
	}
	if limited == nil || limited.Code() != "RATE_LIMITED" {
		t.Fatalf("10 quick requests were all admitted with a burst of 3 (%+v)", limited)
	}
	req, _ := http.NewRequest(http.MethodPost, f.a.URL, nil)
	req.Header.Set("Authorization", "Bearer "+f.tok[f.vendor])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if after, err := strconv.Atoi(res.Header.Get("Retry-After")); res.StatusCode != http.StatusTooManyRequests || err != nil || after < 1 {
		t.Fatalf("status %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	if res := f.a.Do(f.tok[f.reseller], q, nil); res.Status != http.StatusOK {
		t.Fatalf("another token was limited too: %d", res.Status)
	}
	time.Sleep(500 * time.Millisecond) // 5 a second refill at least one
	if res := f.a.Do(f.tok[f.vendor], q, nil); res.Status != http.StatusOK {
		t.Fatalf("the token did not recover: %d %+v", res.Status, res.Errors)
	}
}
