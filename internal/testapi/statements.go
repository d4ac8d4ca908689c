package testapi

import (
	"context"
	"strings"
	"sync/atomic"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/auth"
	"github.com/channelgraph/channelgraph/internal/events"
	"github.com/channelgraph/channelgraph/internal/subscriptions"
	"github.com/channelgraph/channelgraph/internal/webhooks"
)

// StatementCounter is a bun query hook that counts what requests cost in
// SQL statements. It leaves out work on a timer or woken by a commit — the
// event sequencer and tailer, the renewal job, the webhook deliverer, the
// credential watcher —
// which lands in a measurement whenever it happens to run, and the token
// lookup, which a replica skips for a token it authenticated in the last
// two seconds, so counting it would make a count depend on how fast the
// test runs. Add it before the server starts: adding a hook to a database
// in use races with its queries.
type StatementCounter struct{ n atomic.Int64 }

// N is the number of statements counted so far.
func (s *StatementCounter) N() int64 { return s.n.Load() }

func (s *StatementCounter) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	return ctx
}

func (s *StatementCounter) AfterQuery(ctx context.Context, ev *bun.QueryEvent) {
	if events.InSequencer(ctx) || subscriptions.InRenewer(ctx) || webhooks.InDeliverer(ctx) || auth.InWatcher(ctx) ||
		strings.Contains(ev.Query, `FROM "events" AS "ev"`) || strings.Contains(ev.Query, `FROM "api_tokens" AS "t"`) {
		return
	}
	s.n.Add(1)
}
