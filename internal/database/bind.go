package database

import (
	"context"
	"database/sql/driver"
	"strconv"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/schema"
)

// Bind sends values apart from a statement's text on PostgreSQL, as bind
// parameters, where bun would write them into the text. The text — and
// PostgreSQL's cached plan for it, planned once per connection instead of
// once per statement — is then the same for every value: the visibility
// rows and audience of every new order, one page for a thousand viewers.
//
// It returns the context to run that one statement with, and one argument
// per value to put in the statement where the value goes (with ? in bun's
// query builders): $1, $2, … on PostgreSQL; on SQLite, where planning is
// cheap and in process, the values themselves, which bun writes as before.
// The context carries the values to the driver, so use it for that
// statement only: another statement run with it gets the values as well,
// and fails. PostgreSQL plans a bound statement once for every value
// (plan_cache_mode force_generic_plan, set by Open), so bind only values
// whose plan does not depend on them: equality on an index, never a value
// whose selectivity should choose between plans.
func Bind(ctx context.Context, db bun.IDB, values ...any) (context.Context, []any) {
	if !IsPostgres(db) {
		return ctx, values
	}
	placeholders := make([]any, len(values))
	for i := range values {
		placeholders[i] = bun.Safe("$" + strconv.Itoa(i+1))
	}
	return context.WithValue(ctx, boundValues{}, values), placeholders
}

type boundValues struct{}

// withBound appends the values Bind put in ctx to a statement's driver
// arguments.
func withBound(ctx context.Context, args []driver.NamedValue) []driver.NamedValue {
	for _, v := range BoundValues(ctx) {
		args = append(args, driver.NamedValue{Ordinal: len(args) + 1, Value: v})
	}
	return args
}

// BindIn is column IN ids, with ids sent by Bind on PostgreSQL as one array
// (column = ANY($1)), so a list of any length or content reads as one
// statement; on SQLite the usual IN list (sorted, as IDs writes it). Run
// the statement with the context it returns.
func BindIn(ctx context.Context, db bun.IDB, column string, ids []int64) (context.Context, schema.QueryWithArgs) {
	if !IsPostgres(db) {
		return ctx, bun.SafeQuery("? IN (?)", bun.Safe(column), IDs(ids))
	}
	bound, ph := Bind(ctx, db, ids)
	return bound, bun.SafeQuery("? = ANY(?)", bun.Safe(column), ph[0])
}

// BoundValues is what Bind put in ctx, for a query hook that re-runs a
// statement it saw (EXPLAIN in tests): nil when the statement had none.
func BoundValues(ctx context.Context) []any {
	values, _ := ctx.Value(boundValues{}).([]any)
	return values
}
