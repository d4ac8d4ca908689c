package events

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/uptrace/bun"
)

// Kind is one registered type of event: what changed, the subscription
// field that streams it, how its audience is recorded at commit, and how a
// viewer's payload is loaded at delivery. Adding a type of event is one
// Register call, in the package that owns the changed object.
type Kind struct {
	Type Type
	// Field is the root field of the Subscription type that streams it.
	Field string

	snapshot func(ctx context.Context, tx bun.IDB, objectID int64) (any, error)
	audience func(ctx context.Context, tx bun.IDB, eventID int64, obj any) error
	payload  func(ctx context.Context, db bun.IDB, ev Event) (any, error)
}

// Registration describes a type of event whose object is a T, a bun model
// with an id column.
type Registration[T any] struct {
	Type  Type
	Field string
	// Audience records, in the appending transaction, every organization
	// that may see obj as the change commits (SPEC §7.3, §8.8), with
	// package visibility's rules. An event reaches only those, and only if
	// they may still see it when it is delivered.
	Audience func(ctx context.Context, tx bun.IDB, eventID int64, obj *T) error
	// Payload loads the event's object as the viewer in ctx sees it: a
	// NOT_FOUND domain error when the viewer was not in the event's
	// audience or may not see the object now.
	Payload func(ctx context.Context, db bun.IDB, ev Event) (*T, error)
}

var registry = struct {
	sync.RWMutex
	byType  map[Type]*Kind
	byField map[string]*Kind
}{byType: map[Type]*Kind{}, byField: map[string]*Kind{}}

// Register adds a type of event. Registering a type or a field twice is a
// programming error and panics at start-up.
func Register[T any](r Registration[T]) *Kind {
	if r.Type == "" || r.Field == "" || r.Audience == nil || r.Payload == nil {
		panic(fmt.Sprintf("events: incomplete registration of %q", r.Type))
	}
	k := &Kind{
		Type:  r.Type,
		Field: r.Field,
		snapshot: func(ctx context.Context, tx bun.IDB, id int64) (any, error) {
			obj := new(T)
			err := tx.NewSelect().Model(obj).Where("?TableAlias.id = ?", id).Scan(ctx)
			return obj, err
		},
		audience: func(ctx context.Context, tx bun.IDB, eventID int64, obj any) error {
			return r.Audience(ctx, tx, eventID, obj.(*T))
		},
		payload: func(ctx context.Context, db bun.IDB, ev Event) (any, error) {
			return r.Payload(ctx, db, ev)
		},
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.byType[k.Type]; dup {
		panic(fmt.Sprintf("events: type %q registered twice", k.Type))
	}
	if _, dup := registry.byField[k.Field]; dup {
		panic(fmt.Sprintf("events: subscription field %q registered twice", k.Field))
	}
	registry.byType[k.Type], registry.byField[k.Field] = k, k
	return k
}

// ForField returns the kind a subscription root field streams.
func ForField(field string) (*Kind, bool) {
	registry.RLock()
	defer registry.RUnlock()
	k, ok := registry.byField[field]
	return k, ok
}

// Append records that the object objectID changed, in tx, at the time at:
// its row as this transaction leaves it becomes the event's snapshot, and
// the audience is recorded beside it. Call it after the change, in the
// change's transaction, so the two commit together.
func (k *Kind) Append(ctx context.Context, tx bun.IDB, objectID int64, at time.Time) error {
	obj, err := k.snapshot(ctx, tx, objectID)
	if err != nil {
		return fmt.Errorf("events: snapshot of %s %d: %w", k.Type, objectID, err)
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("events: snapshot of %s %d: %w", k.Type, objectID, err)
	}
	ev := &Event{Type: k.Type, ObjectID: objectID, Snapshot: string(b), CreatedAt: at}
	if err := insert(ctx, tx, ev); err != nil {
		return fmt.Errorf("events: appending %s %d: %w", k.Type, objectID, err)
	}
	if err := k.audience(ctx, tx, ev.ID, obj); err != nil {
		return fmt.Errorf("events: audience of %s %d: %w", k.Type, objectID, err)
	}
	return nil
}

// Payload loads ev's object as the viewer in ctx sees it (see
// Registration.Payload).
func (k *Kind) Payload(ctx context.Context, db bun.IDB, ev Event) (any, error) {
	return k.payload(ctx, db, ev)
}
