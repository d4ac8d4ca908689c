package database

import (
	"context"
	"database/sql/driver"
	"fmt"
	"sync"
	"time"

	"modernc.org/sqlite"
)

// sqliteGateWait bounds how long a transaction waits for its turn before
// failing, as busy_timeout would, so a stuck writer shows up as an error.
const sqliteGateWait = 60 * time.Second

// SQLite has one write lock per file, and every transaction here takes it at
// BEGIN (_txlock=immediate). Left to SQLite, waiting writers poll the lock
// with growing sleeps, so under load one writer can lose every round until
// busy_timeout fails it with SQLITE_BUSY. The gate queues this process's
// transactions in arrival order instead; busy_timeout still covers other
// processes sharing the file.
type gatedConnector struct {
	driver.Connector
	turn chan struct{}
}

func newGatedSQLiteConnector(dsn string) (driver.Connector, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return &gatedConnector{Connector: c, turn: make(chan struct{}, 1)}, nil
}

// sqliteConn is the part of modernc's connection database/sql uses.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

func (c *gatedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := conn.(sqliteConn)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("sqlite: driver connection %T lacks the methods the gate forwards", conn)
	}
	return &gatedConn{sqliteConn: sc, turn: c.turn}, nil
}

type gatedConn struct {
	sqliteConn
	turn chan struct{}
}

func (c *gatedConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *gatedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	timer := time.NewTimer(sqliteGateWait)
	defer timer.Stop()
	select {
	case c.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-timer.C:
		return nil, fmt.Errorf("sqlite: waited %s for the database's write lock", sqliteGateWait)
	}
	release := sync.OnceFunc(func() { <-c.turn })
	tx, err := c.sqliteConn.BeginTx(ctx, opts)
	if err != nil {
		release()
		return nil, err
	}
	return &gatedTx{Tx: tx, release: release}, nil
}

type gatedTx struct {
	driver.Tx
	release func()
}

func (t *gatedTx) Commit() error {
	defer t.release()
	return t.Tx.Commit()
}

func (t *gatedTx) Rollback() error {
	defer t.release()
	return t.Tx.Rollback()
}
