package invitations

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Wrong codes a customer may try (SPEC §6.1: a burst of wrong guesses is
// rate limited): WrongCodeBurst at once, then one more every
// WrongCodeBurst-th of WrongCodeWindow. Once they are spent every
// acceptance is refused, the right code too, until the bucket refills: a
// guesser learns nothing from which code passes while limited.
const (
	WrongCodeBurst  = 10
	WrongCodeWindow = time.Minute
)

// guessLimiter is a token bucket of wrong codes per customer organization,
// on the service's clock.
type guessLimiter struct {
	mu      sync.Mutex
	buckets map[int64]*rate.Limiter
	sweep   time.Time
}

func newGuessLimiter() *guessLimiter { return &guessLimiter{buckets: map[int64]*rate.Limiter{}} }

// take reserves one wrong guess for org at now; ok is false when none is
// left. Give the reservation back (cancel) when the code was right.
func (l *guessLimiter) take(org int64, now time.Time) (cancel func(), ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.After(l.sweep) {
		// A full bucket forgotten and made anew is the same bucket.
		for k, b := range l.buckets {
			if b.TokensAt(now) >= WrongCodeBurst {
				delete(l.buckets, k)
			}
		}
		l.sweep = now.Add(WrongCodeWindow)
	}
	b, found := l.buckets[org]
	if !found {
		b = rate.NewLimiter(rate.Every(WrongCodeWindow/WrongCodeBurst), WrongCodeBurst)
		l.buckets[org] = b
	}
	r := b.ReserveN(now, 1)
	if !r.OK() || r.DelayFrom(now) > 0 {
		r.CancelAt(now)
		return nil, false
	}
	return func() { r.CancelAt(now) }, true
}
