package database

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"modernc.org/sqlite"
)

// Trace records a client span for each SQL statement db runs inside a traced
// request or operation, named by its operation and table ("SELECT
// purchase_orders"). It records the database system, the operation, the
// table and, on failure, the error's code — never the statement's text,
// which bun writes with its arguments inlined, and never an error message.
// Statements with no span in their context (the event tailer's polling,
// the provisioner, migrations) record nothing, so background work does not
// flood the traces. Call it before db runs queries (bun's hooks are not
// safe to add concurrently with them).
func Trace(db *bun.DB, tp trace.TracerProvider) {
	system := semconv.DBSystemNameSQLite
	if IsPostgres(db) {
		system = semconv.DBSystemNamePostgreSQL
	}
	db.AddQueryHook(&queryTracer{
		tracer: tp.Tracer("github.com/channelgraph/channelgraph/internal/database"),
		system: system,
	})
}

type queryTracer struct {
	tracer trace.Tracer
	system attribute.KeyValue
}

func (q *queryTracer) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx
	}
	op := operation(e)
	name := op
	attrs := []attribute.KeyValue{q.system, semconv.DBOperationName(op)}
	if table := tableName(e); table != "" {
		name += " " + table
		attrs = append(attrs, semconv.DBCollectionName(table))
	}
	ctx, _ = q.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return ctx
}

// AfterQuery ends the span BeforeQuery started: it started one exactly when
// the context already had a valid span, so a valid span here is its own.
func (q *queryTracer) AfterQuery(ctx context.Context, e *bun.QueryEvent) {
	span := trace.SpanFromContext(ctx)
	if !span.SpanContext().IsValid() {
		return
	}
	if e.Err != nil && !errors.Is(e.Err, sql.ErrNoRows) {
		code := errorCode(e.Err)
		span.SetAttributes(semconv.ErrorTypeKey.String(code))
		span.SetStatus(codes.Error, code)
	}
	span.End()
}

// operation is the statement's verb (SELECT, INSERT, BEGIN, WITH…): bun
// knows it for the queries it builds and takes the first word of raw ones.
func operation(e *bun.QueryEvent) string {
	op := strings.ToUpper(strings.TrimSpace(e.Operation()))
	for _, r := range op {
		if (r < 'A' || r > 'Z') && r != ' ' {
			return "QUERY"
		}
	}
	if op == "" {
		return "QUERY"
	}
	return op
}

// tableName is the plain name of the statement's main table, or "" when it
// has none or it is not a plain identifier (a subquery, an expression).
func tableName(e *bun.QueryEvent) string {
	if e.IQuery == nil {
		return ""
	}
	t, _, _ := strings.Cut(strings.TrimSpace(e.IQuery.GetTableName()), " ")
	t = strings.ReplaceAll(t, `"`, "")
	if t == "" || len(t) > 63 {
		return ""
	}
	for i, r := range t {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && (r == '.' || r >= '0' && r <= '9')) {
			return ""
		}
	}
	return t
}

// errorCode names a failure without its message (which can quote values):
// PostgreSQL's SQLSTATE, SQLite's result code, or the context's ending.
func errorCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		return "sqlite:" + strconv.Itoa(liteErr.Code())
	}
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "error"
}
