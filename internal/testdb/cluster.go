package testdb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/channelgraph/channelgraph/internal/testproc"
)

const (
	// dirPrefix names cluster directories in os.TempDir(), so that the ones
	// left by killed test binaries can be found and removed (sweepStaleDirs).
	dirPrefix = "cg-testdb-"
	// lockName is the file in a cluster directory that its owner keeps locked.
	lockName = "lock"

	readyTimeout = 30 * time.Second
	stopTimeout  = 10 * time.Second
)

// cluster is a PostgreSQL server started by this process. Its directory holds
// the data directory, the Unix socket, the server log and the lock file.
type cluster struct {
	dir     string
	account *account // who runs the server; nil means the current user
	unlock  func()   // releases the directory lock

	port   int
	cmd    *exec.Cmd     // the postmaster
	exited chan struct{} // closed once the postmaster has exited and been reaped
}

// account is a user that initdb and postgres run as.
type account struct {
	name     string
	uid, gid uint32
}

// startCluster creates, initializes and starts a new cluster from the server
// binaries in binDir, and waits until it accepts connections.
func startCluster(binDir string) (*cluster, error) {
	sweepStaleDirs()
	c, err := newClusterDir()
	if err != nil {
		return nil, err
	}
	if err := c.initdb(binDir); err != nil {
		c.remove()
		return nil, err
	}
	// The port is free when chosen but another process may take it before
	// postgres binds it (several test binaries start clusters at once), so
	// clashes are retried with another port.
	for attempt := 1; ; attempt++ {
		err = c.start(binDir)
		if err == nil {
			return c, nil
		}
		c.kill()
		if attempt == 3 || !strings.Contains(c.serverLog(), "already in use") {
			break
		}
	}
	err = fmt.Errorf("testdb: starting PostgreSQL from %s: %v\n--- server log ---\n%s", binDir, err, c.serverLog())
	c.remove()
	return nil, err
}

// newClusterDir makes the locked temporary directory and, when running as
// root, hands it (and only it) to the account the server will run as.
func newClusterDir() (*cluster, error) {
	acct, err := serverAccount()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, fmt.Errorf("testdb: %v", err)
	}
	c := &cluster{dir: dir, account: acct, unlock: func() {}}
	if c.unlock, err = lockNewDir(dir); err != nil {
		c.remove()
		return nil, fmt.Errorf("testdb: locking %s: %v", dir, err)
	}
	if acct != nil {
		if err := os.Chown(dir, int(acct.uid), int(acct.gid)); err != nil {
			c.remove()
			return nil, fmt.Errorf("testdb: %v", err)
		}
	}
	return c, nil
}

// serverAccount returns who must run initdb and postgres: they refuse to run
// as root, so as root we borrow the "postgres" account that distribution
// packages create (or "nobody" when there is none).
func serverAccount() (*account, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 == nil && err2 == nil {
			return &account{name: name, uid: uint32(uid), gid: uint32(gid)}, nil
		}
	}
	return nil, errors.New("testdb: running as root, but there is no postgres (or nobody) account to run PostgreSQL as")
}

func (c *cluster) dataDir() string { return filepath.Join(c.dir, "data") }
func (c *cluster) logPath() string { return filepath.Join(c.dir, "postgres.log") }

func (c *cluster) adminURL() *url.URL {
	return &url.URL{
		Scheme:   "postgres",
		User:     url.User("postgres"),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/postgres",
		RawQuery: "sslmode=disable",
	}
}

// initdb creates the data directory: trust authentication (the server only
// listens on 127.0.0.1 and a private socket directory) and no fsync, since the
// data is thrown away.
func (c *cluster) initdb(binDir string) error {
	cmd := exec.Command(filepath.Join(binDir, "initdb"), "-D", c.dataDir(),
		"-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C")
	cmd.Dir = c.dir // the server account may not be able to enter our working directory
	cmd.SysProcAttr = procAttr(c.account, false)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("testdb: initdb in %s failed: %v\n%s", c.dir, err, out)
	}
	return nil
}

// start launches postgres on a free port and waits until it accepts
// connections. postgres is started directly rather than through pg_ctl so that
// it is our child and the kernel can kill it if this process dies
// (see procAttr and superviseLocked).
func (c *cluster) start(binDir string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	c.port = port
	logFile, err := os.OpenFile(c.logPath(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child has its own copy of the descriptor

	cmd := exec.Command(filepath.Join(binDir, "postgres"),
		"-D", c.dataDir(),
		"-p", strconv.Itoa(port),
		"-k", c.dir, // unix_socket_directories: private, so clusters never clash
		"-c", "listen_addresses=127.0.0.1",
		// Durability is pointless for throwaway data; these make DDL-heavy
		// tests several times faster.
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=200",
	)
	cmd.Dir = c.dir
	cmd.Stdout, cmd.Stderr = logFile, logFile // a file, so no copying goroutines
	cmd.SysProcAttr = procAttr(c.account, true)

	c.cmd, c.exited = cmd, make(chan struct{})
	started := make(chan error, 1)
	go superviseLocked(cmd, started, c.exited)
	if err := <-started; err != nil {
		c.cmd = nil
		return err
	}
	return c.waitReady()
}

// superviseLocked starts cmd and waits for it on one locked OS thread.
// Linux delivers Pdeathsig when the thread that forked the child exits, not
// when the process does, and the Go runtime does end threads (a goroutine that
// exits while locked takes its thread with it). Forking from a thread that is
// locked to this goroutine and stays busy in Wait until the child is gone
// makes the signal fire only when the whole test process dies. The thread is
// deliberately never unlocked: when the goroutine returns the child is already
// reaped, and retiring the thread is harmless.
func superviseLocked(cmd *exec.Cmd, started chan<- error, exited chan<- struct{}) {
	runtime.LockOSThread()
	err := cmd.Start()
	started <- err
	if err == nil {
		_ = cmd.Wait() // the exit status is of no interest; the log says why
	}
	close(exited)
}

// waitReady polls until the server accepts a connection, it exits, or
// readyTimeout passes.
func (c *cluster) waitReady() error {
	deadline := time.Now().Add(readyTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, c.adminURL().String())
		if err == nil {
			err = conn.Close(ctx)
		}
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-c.exited:
			return fmt.Errorf("postgres exited during startup: %v", c.cmd.ProcessState)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres did not accept connections within %v: %v", readyTimeout, err)
		}
	}
}

// stop shuts the server down and deletes the cluster directory.
func (c *cluster) stop() error {
	c.kill()
	return c.remove()
}

// kill stops the postmaster with SIGQUIT, PostgreSQL's immediate shutdown:
// no checkpoint (the data is discarded), but the postmaster still ends its
// backends and releases its shared memory. SIGKILL to the process group
// (Setpgid) is the fallback.
func (c *cluster) kill() {
	if c.cmd == nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-c.exited:
	case <-time.After(stopTimeout):
		killGroup(c.cmd.Process)
		<-c.exited
	}
	c.cmd = nil
}

// remove deletes the cluster directory, then gives up its lock.
func (c *cluster) remove() error {
	err := os.RemoveAll(c.dir)
	c.unlock()
	return err
}

func (c *cluster) serverLog() string {
	b, err := os.ReadFile(c.logPath())
	if err != nil {
		return fmt.Sprintf("(no server log: %v)", err)
	}
	return string(b)
}

// freePort asks the kernel for an unused port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// sweepStaleDirs removes cluster directories left behind by test binaries
// that were killed before Main could clean up (go test -timeout, SIGKILL).
// Their servers died with them (Pdeathsig). A directory is stale when nobody
// holds its lock: the kernel releases a flock when its owner dies. Errors are
// ignored; this is housekeeping.
func sweepStaleDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, dir := range dirs {
		if unlock, ok := testproc.TryLock(filepath.Join(dir, lockName)); ok {
			_ = os.RemoveAll(dir)
			unlock()
		}
	}
}
