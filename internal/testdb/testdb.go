// Package testdb gives tests a real, throwaway PostgreSQL database, and a
// path for a throwaway SQLite file.
//
// Use it from TestMain, then ask for a database in each test:
//
//	func TestMain(m *testing.M) { testdb.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		db, err := sql.Open("pgx", testdb.NewPostgres(t))
//		...
//	}
//
// Each NewPostgres call creates a new, empty database and drops it when the
// test finishes, so tests may run in parallel without seeing each other.
//
// The server is chosen once per test binary:
//
//  1. If TEST_DATABASE_URL is set (e.g.
//     postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable), databases
//     are created on that server. Its user needs the CREATEDB privilege, and
//     the server must be PostgreSQL 13 or newer (DROP DATABASE ... WITH (FORCE)).
//  2. Otherwise the binary starts its own private cluster from the installed
//     PostgreSQL server binaries, in a temporary directory, listening on a
//     free port of 127.0.0.1 only. Main stops it and deletes the directory.
//  3. If no server binaries are installed and the process runs as root on
//     Debian/Ubuntu, where installing the package will not start the
//     distribution's own service (containers), the postgresql package is
//     installed with apt-get first.
//
// If none of this works, every NewPostgres call fails its test with the same
// error.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// envURL names the environment variable that selects an existing server.
const envURL = "TEST_DATABASE_URL"

// adminTimeout bounds each CREATE DATABASE / DROP DATABASE round trip.
const adminTimeout = 30 * time.Second

var (
	mainCalled atomic.Bool

	// The server is resolved once per process; a failure is kept so that every
	// NewPostgres call reports the same error.
	once   sync.Once
	srv    *server
	srvErr error
)

// server is where test databases are created.
type server struct {
	admin   *url.URL // a superuser (or CREATEDB) connection to an existing database
	cluster *cluster // the cluster this process started; nil for TEST_DATABASE_URL
}

// Main runs the package's tests and then stops any cluster this process
// started. Use from TestMain: func TestMain(m *testing.M) { testdb.Main(m) }
func Main(m *testing.M) {
	mainCalled.Store(true)
	code := m.Run()

	// Once.Do waits for a resolution still in progress and, when nothing was
	// resolved, makes late NewPostgres calls fail instead of starting a
	// cluster nobody would stop.
	once.Do(func() { srvErr = errors.New("testdb: NewPostgres called after testdb.Main finished") })
	if srv != nil && srv.cluster != nil {
		if err := srv.cluster.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "testdb: stopping PostgreSQL:", err)
		}
	}
	os.Exit(code)
}

// NewPostgres returns the URL (postgres://...?... usable by pgx stdlib,
// sslmode=disable) of a freshly CREATEd, empty database with a unique name,
// dropped (WITH (FORCE)) in tb.Cleanup.
func NewPostgres(tb testing.TB) string {
	tb.Helper()
	if !mainCalled.Load() {
		// Without Main nobody would stop the cluster and delete its files.
		tb.Fatal("testdb: NewPostgres needs the package's TestMain to call testdb.Main(m)")
	}
	s, err := getServer()
	if err != nil {
		tb.Fatal(err)
	}

	name := "cg_test_" + randomHex(8)
	ident := pgx.Identifier{name}.Sanitize()
	// template0 is guaranteed empty, whatever was added to template1, and
	// nobody can be connected to it (which would make CREATE DATABASE fail).
	if err := s.exec("CREATE DATABASE " + ident + " TEMPLATE template0"); err != nil {
		tb.Fatalf("testdb: creating database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		// FORCE disconnects sessions the test forgot to close.
		if err := s.exec("DROP DATABASE IF EXISTS " + ident + " WITH (FORCE)"); err != nil {
			tb.Errorf("testdb: dropping database %s: %v", name, err)
		}
	})
	return s.databaseURL(name)
}

// NewSQLite returns a path to a SQLite file in tb.TempDir(). The file does not
// exist yet; the directory is removed when the test finishes.
func NewSQLite(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(tb.TempDir(), "test.db")
}

func getServer() (*server, error) {
	once.Do(func() { srv, srvErr = resolveServer() })
	return srv, srvErr
}

// resolveServer picks TEST_DATABASE_URL if set, and starts a cluster otherwise.
func resolveServer() (*server, error) {
	if raw := os.Getenv(envURL); raw != "" {
		return externalServer(raw)
	}
	binDir, err := findOrInstallBinaries()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	c, err := startCluster(binDir)
	if err != nil {
		return nil, err
	}
	logf("using a private PostgreSQL cluster from %s on 127.0.0.1:%d (started in %v)",
		binDir, c.port, time.Since(start).Round(time.Millisecond))
	return &server{admin: c.adminURL(), cluster: c}, nil
}

// externalServer checks that the TEST_DATABASE_URL server is reachable now,
// so that a typo fails with one clear message rather than in every test.
func externalServer(raw string) (*server, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("testdb: %s must be a postgres:// URL, got %q", envURL, raw)
	}
	s := &server{admin: u}
	if err := s.exec("SELECT 1"); err != nil {
		return nil, fmt.Errorf("testdb: cannot use %s=%s: %v", envURL, u.Redacted(), err)
	}
	logf("using PostgreSQL at %s (from %s)", u.Redacted(), envURL)
	return s, nil
}

// exec runs one statement on a fresh admin connection. CREATE and DROP
// DATABASE are slow compared to connecting, so a pool would buy nothing.
func (s *server) exec(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.admin.String())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// databaseURL is the admin URL with its path (the database) replaced.
func (s *server) databaseURL(name string) string {
	u := *s.admin
	u.Path, u.RawPath = "/"+name, ""
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on supported platforms
	return hex.EncodeToString(b)
}

// logf writes one progress line, only under go test -v.
func logf(format string, args ...any) {
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "testdb: "+format+"\n", args...)
	}
}
