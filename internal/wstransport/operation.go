package wstransport

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
)

// operation is one live operation; it is the Sink handed to Executor.Start.
type operation struct {
	c      *conn
	id     string
	idJSON []byte // the id, JSON-quoted once instead of on every message
	ctx    context.Context
	cancel context.CancelFunc

	ended   atomic.Bool // nothing more will be sent for it
	dropped atomic.Bool // the client no longer wants it: queued results are skipped

	mu       sync.Mutex
	started  bool   // Start has returned
	released bool   // the operation is over and stop is due
	stop     func() // from Start; nil once called
}

func newOperation(c *conn, id string) *operation {
	idJSON, _ := json.Marshal(id) // a string always marshals
	ctx, cancel := context.WithCancel(c.opCtx)
	return &operation{c: c, id: id, idJSON: idJSON, ctx: ctx, cancel: cancel}
}

// Next implements Sink.
func (o *operation) Next(payload []byte) bool {
	if o.ended.Load() {
		return false
	}
	return o.c.enqueue(outMsg{op: o, kind: kindNext, payload: payload})
}

// Error implements Sink.
func (o *operation) Error(errs []byte) { o.end(kindError, errs) }

// Complete implements Sink.
func (o *operation) Complete() { o.end(kindComplete, nil) }

// end is the executor finishing the operation: a last message, then stop.
func (o *operation) end(kind msgKind, payload []byte) {
	if !o.finish(false) {
		return
	}
	o.c.enqueue(outMsg{op: o, kind: kind, payload: payload})
	// The executor may hold a lock around this call that stop also takes
	// (a hub fanning out to its subscribers), so stop runs elsewhere.
	go o.release()
}

// finish marks the operation over and forgets it, so its id can be reused.
// drop also discards results still queued. It reports whether this call
// ended it: exactly one caller does, and that caller must call release.
func (o *operation) finish(drop bool) bool {
	if !o.ended.CompareAndSwap(false, true) {
		return false
	}
	if drop {
		o.dropped.Store(true)
	}
	o.c.mu.Lock()
	if o.c.ops[o.id] == o {
		delete(o.c.ops, o.id)
	}
	o.c.mu.Unlock()
	return true
}

// release calls stop, or leaves it to started when Start has not returned yet
// (an executor may complete an operation from inside Start).
func (o *operation) release() {
	o.mu.Lock()
	o.released = true
	stop := o.stop
	o.stop = nil
	started := o.started
	o.mu.Unlock()
	if started {
		o.callStop(stop)
	}
}

// setStarted records what Start returned.
func (o *operation) setStarted(stop func()) {
	o.mu.Lock()
	o.started = true
	released := o.released
	if !released {
		o.stop = stop
	}
	o.mu.Unlock()
	if released {
		o.callStop(stop)
	}
}

func (o *operation) callStop(stop func()) {
	if stop != nil {
		stop()
	}
	o.cancel()
}
