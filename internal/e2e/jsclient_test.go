package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/channelgraph/channelgraph/internal/testdb"
	"github.com/channelgraph/channelgraph/internal/testproc"
)

// TestReferenceJavaScriptClient: graphql-ws, the reference client of the
// graphql-transport-ws protocol, run by Node.js from js/subscribe.mjs,
// subscribes to purchaseOrderUpdated and receives the orders this test
// records, in order, each once; then it closes the connection cleanly.
//
// It fails if the client cannot connect or subscribe (a subprotocol, init
// or message-format mismatch shows as the script's error on stderr), if an
// event is missing, repeated, reordered or malformed, or if the server ends
// the subscription or closes the connection uncleanly.
func TestReferenceJavaScriptClient(t *testing.T) {
	t.Parallel()
	node, npm := needNode(t)
	dir := installJSClient(t, npm)

	srv := startServer(t, "server", "sqlite:"+testdb.NewSQLite(t))
	c := newClient(t)
	ch := setupChannel(t, c, srv.graphqlURL())

	lines := make(chan string, 1000)
	out := &logBuffer{}
	stdout := &logBuffer{onLine: func(line string) {
		select {
		case lines <- line:
		default: // never: the test reads far fewer lines; checkSuffix would report a gap
		}
	}}
	cmd := exec.Command(node, "subscribe.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CG_WS_URL="+srv.wsURL(), "CG_TOKEN="+ch.vendorToken)
	cmd.Stdout = io.MultiWriter(out, stdout)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	script, err := startProcess(t, "node subscribe.mjs", cmd, out)
	if err != nil {
		t.Fatal(err)
	}

	next := func(d time.Duration) (event, bool) {
		select {
		case line := <-lines:
			ev, err := parseResult([]byte(line))
			if err != nil {
				t.Fatalf("the JavaScript client printed %v", err)
			}
			return ev, true
		case <-script.exited:
			t.Fatalf("the JavaScript client exited (%s):\n%s", cmd.ProcessState, out.String())
		case <-time.After(d):
		}
		return event{}, false
	}
	create := func(number string) { ch.mustCreateOrder(t, c, srv.graphqlURL(), number) }
	created, first := goLive(t, "W", create, next)
	got := []event{first}
	for i := 1; i <= 2; i++ {
		number := fmt.Sprintf("JS-%d", i)
		create(number)
		created = append(created, number)
	}
	for got[len(got)-1].Number != "JS-2" && len(got) <= len(created) {
		ev, ok := next(eventTimeout)
		if !ok {
			t.Fatalf("the JavaScript client received %v and then nothing for %v; created %v", numbersOf(got), eventTimeout, created)
		}
		got = append(got, ev)
	}
	checkSuffix(t, created, got)
	for _, ev := range got {
		if ev.Status != "PLACED" {
			t.Errorf("%s arrived with status %q, want PLACED", ev.Number, ev.Status)
		}
	}

	// End of input: the script disposes of the client, which closes the
	// socket, and exits 0.
	stdin.Close()
	select {
	case <-script.exited:
		if !cmd.ProcessState.Success() {
			t.Fatalf("the JavaScript client exited with %s:\n%s", cmd.ProcessState, out.String())
		}
	case <-time.After(stopTimeout):
		t.Fatalf("the JavaScript client did not exit within %v of its input ending", stopTimeout)
	}
}

// minNodeMajor is the oldest Node.js the client runs on (graphql-ws 6
// declares >=20; Debian 12's nodejs is 18, so that is checked by its tests).
const minNodeMajor = 18

var (
	nodeOnce          sync.Once
	nodePath, npmPath string
	nodeErr           error
)

// needNode returns the paths of node and npm, installing Debian's nodejs
// and npm packages first when either is missing and that is possible; it
// fails the test saying what to install otherwise.
func needNode(t *testing.T) (node, npm string) {
	t.Helper()
	nodeOnce.Do(func() { nodePath, npmPath, nodeErr = findOrInstallNode() })
	if nodeErr != nil {
		t.Fatal(nodeErr)
	}
	return nodePath, npmPath
}

const needNodeMsg = "the JavaScript client test needs Node.js 18 or newer and npm on PATH: install them (on Debian or Ubuntu: apt-get install nodejs npm)"

func findOrInstallNode() (node, npm string, err error) {
	if node, npm, missing := lookNode(); len(missing) == 0 {
		return node, npm, checkNodeVersion(node)
	}
	if reason := testproc.InstallBlocker(); reason != "" {
		return "", "", fmt.Errorf("%s [not installed automatically: %s]", needNodeMsg, reason)
	}
	// Concurrent test binaries would all try to install; one does, the
	// others wait and find the result.
	unlock, err := testproc.LockFile(filepath.Join(os.TempDir(), "cg-e2e-node-install.lock"))
	if err != nil {
		return "", "", fmt.Errorf("%s [automatic installation failed: %v]", needNodeMsg, err)
	}
	defer unlock()
	node, npm, missing := lookNode()
	if len(missing) > 0 {
		if testing.Verbose() {
			fmt.Fprintf(os.Stderr, "e2e: node or npm is missing; installing Debian's %s with apt-get\n", strings.Join(missing, " "))
		}
		if err := testproc.AptGet("update"); err != nil {
			return "", "", fmt.Errorf("%s [automatic installation failed: %v]", needNodeMsg, err)
		}
		if err := testproc.AptGet(append([]string{"install", "-y", "--no-install-recommends"}, missing...)...); err != nil {
			return "", "", fmt.Errorf("%s [automatic installation failed: %v]", needNodeMsg, err)
		}
		if node, npm, missing = lookNode(); len(missing) > 0 {
			return "", "", fmt.Errorf("%s [apt-get installed %s, but %s is still not on PATH]", needNodeMsg, strings.Join(missing, " "), strings.Join(missing, " and "))
		}
	}
	return node, npm, checkNodeVersion(node)
}

// lookNode finds node and npm on PATH; missing names the Debian packages
// of those it did not find (nodejs for node, npm for npm).
func lookNode() (node, npm string, missing []string) {
	node, err := exec.LookPath("node")
	if err != nil {
		missing = append(missing, "nodejs")
	}
	npm, err = exec.LookPath("npm")
	if err != nil {
		missing = append(missing, "npm")
	}
	return node, npm, missing
}

var nodeVersion = regexp.MustCompile(`^v(\d+)\.`)

func checkNodeVersion(node string) error {
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return fmt.Errorf("%s --version: %v", node, err)
	}
	m := nodeVersion.FindStringSubmatch(strings.TrimSpace(string(out)))
	if m == nil {
		return fmt.Errorf("%s --version printed %q", node, out)
	}
	if major, _ := strconv.Atoi(m[1]); major < minNodeMajor {
		return fmt.Errorf("%s is Node.js %s; %s", node, strings.TrimSpace(string(out)), needNodeMsg)
	}
	return nil
}

// installJSClient copies js/ (less any node_modules) into a temporary
// directory and installs its locked packages there with npm ci, so that the
// work tree stays as it was; it returns the directory.
func installJSClient(t *testing.T, npm string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"package.json", "package-lock.json", "subscribe.mjs", "audit.mjs"} {
		b, err := os.ReadFile(filepath.Join("js", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false")
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in a copy of js/: %v\n%s", err, out)
	}
	t.Logf("npm ci took %v", time.Since(start).Round(time.Millisecond))
	return dir
}
