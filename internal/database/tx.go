package database

import (
	"context"

	"github.com/uptrace/bun"
)

type txKey struct{}

// InTx runs fn in a transaction and commits it when fn returns nil. When ctx
// already carries a transaction (an outer InTx), fn runs inside it under a
// savepoint, so domain operations compose: one mutation can place an order,
// create a tenant and append their events, and they commit or roll back
// together. The ctx fn gets carries the transaction, so operations it calls
// join it.
func InTx(ctx context.Context, db *bun.DB, fn func(ctx context.Context, tx bun.IDB) error) error {
	if outer, ok := ctx.Value(txKey{}).(bun.Tx); ok {
		return outer.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return fn(context.WithValue(ctx, txKey{}, tx), tx)
		})
	}
	return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		return fn(context.WithValue(ctx, txKey{}, tx), tx)
	})
}

// Conn is what a read should run on: the transaction ctx carries, so an
// operation inside one reads what it has written, or else db.
func Conn(ctx context.Context, db *bun.DB) bun.IDB {
	if tx, ok := ctx.Value(txKey{}).(bun.Tx); ok {
		return tx
	}
	return db
}
