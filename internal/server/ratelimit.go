package server

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/channelgraph/channelgraph/internal/domain"
)

// RateLimit is a token bucket per API token (per client address for
// requests without one): PerSecond requests a second on average, Burst at
// once. Zero PerSecond turns it off.
type RateLimit struct {
	PerSecond float64
	Burst     int
}

type rateLimiter struct {
	RateLimit
	mu      sync.Mutex
	buckets map[string]*bucket
	sweep   time.Time
}

type bucket struct {
	*rate.Limiter
	lastSeen time.Time
}

// idleBucket is how long an unused bucket is kept; a full bucket forgotten
// and made anew is the same bucket.
const idleBucket = 10 * time.Minute

// allow takes one request from key's bucket, or says how long to wait.
func (l *rateLimiter) allow(key string) (bool, time.Duration) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.After(l.sweep) {
		for k, b := range l.buckets {
			if now.Sub(b.lastSeen) > idleBucket {
				delete(l.buckets, k)
			}
		}
		l.sweep = now.Add(idleBucket)
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{Limiter: rate.NewLimiter(rate.Limit(l.PerSecond), max(l.Burst, 1))}
		l.buckets[key] = b
	}
	b.lastSeen = now
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// limitRate answers 429 RATE_LIMITED, with Retry-After, to a token (or an
// anonymous client address) over its rate. It runs after authentication.
// The platform administrator, the operator's own token, is not limited.
func limitRate(cfg RateLimit, next http.Handler) http.Handler {
	if cfg.PerSecond <= 0 {
		return next
	}
	l := &rateLimiter{RateLimit: cfg, buckets: map[string]*bucket{}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, limited := rateKey(r)
		if !limited {
			next.ServeHTTP(w, r)
			return
		}
		ok, wait := l.allow(key)
		if !ok {
			seconds := int(math.Ceil(wait.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(seconds))
			writeError(w, r, http.StatusTooManyRequests, string(domain.CodeRateLimited),
				fmt.Sprintf("more than %g requests a second for this token; retry after %d s", cfg.PerSecond, seconds))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func rateKey(r *http.Request) (key string, limited bool) {
	v, err := domain.ViewerFrom(r.Context())
	switch {
	case err != nil:
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		return "address:" + host, true
	case v.IsPlatformAdmin:
		return "", false
	case v.TokenID == 0:
		// Signed in with a JWT: the member is the client.
		return "member:" + strconv.FormatInt(v.MemberID, 10), true
	}
	return "token:" + strconv.FormatInt(v.TokenID, 10), true
}
