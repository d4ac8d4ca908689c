package database

import (
	"context"
	"database/sql/driver"
	"hash/maphash"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// bun writes every value into the SQL text, so a statement that names an
// id or a time is new text almost every time: an order's INSERTs, one
// viewer's page among a thousand. pgx's default mode prepares and caches
// each new text (a round trip to prepare, one to run, and later one to
// deallocate what the cache evicts), which pays only for text that comes
// back. preparedOnReuse runs a text the first time as an unnamed statement,
// in one round trip, and lets pgx prepare and cache it from the second
// time it is seen on the connection — as PostgreSQL's JDBC driver does
// with its prepare threshold.
type preparedOnReuse struct{ driver.Connector }

// seenTexts is how many statement texts a connection remembers having run.
const seenTexts = 4096

var textSeed = maphash.MakeSeed()

func (c preparedOnReuse) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	seen, _ := lru.New[uint64, struct{}](seenTexts) // fails only for a size below 1
	return &reuseConn{Conn: conn.(*stdlib.Conn), seen: seen}, nil
}

// reuseConn is a pgx connection that picks each statement's mode by
// whether its text ran on this connection before, and sends the values
// Bind put in a statement's context as its bind parameters.
type reuseConn struct {
	*stdlib.Conn
	seen *lru.Cache[uint64, struct{}]
}

// modeFor prepends pgx's one-round-trip mode to args for a text not seen
// before on this connection; a text seen before runs in the default mode.
func (c *reuseConn) modeFor(query string, args []driver.NamedValue) []driver.NamedValue {
	h := maphash.String(textSeed, query)
	if ok, _ := c.seen.ContainsOrAdd(h, struct{}{}); ok {
		return args
	}
	return append([]driver.NamedValue{{Ordinal: 0, Value: pgx.QueryExecModeExec}}, args...)
}

func (c *reuseConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, query, c.modeFor(query, withBound(ctx, args)))
}

func (c *reuseConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, query, c.modeFor(query, withBound(ctx, args)))
}
