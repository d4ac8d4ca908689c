package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/channelgraph/channelgraph/internal/testdb"
	"github.com/channelgraph/channelgraph/internal/testproc"
)

// serverBinary is the channelgraph binary built for this run (empty when the
// build failed; buildErr says why).
var (
	serverBinary string
	buildErr     error
)

// binDirPrefix names the temporary directories the binary is built in. Each
// holds a lock file that its test process keeps locked while it lives, so a
// later run can tell, and delete, the directories of runs that are gone
// (testdb.Main ends the process with os.Exit, so no code runs after the
// tests to delete it).
const (
	binDirPrefix = "cg-e2e-bin-"
	binLockName  = "in-use.lock"
)

func TestMain(m *testing.M) {
	serverBinary, buildErr = buildServer()
	testdb.Main(m)
}

// buildServer builds ./cmd/channelgraph once for every test of the run.
func buildServer() (string, error) {
	sweepStaleBinDirs()
	dir, err := os.MkdirTemp("", binDirPrefix)
	if err != nil {
		return "", err
	}
	// Held until this process exits; never unlocked on purpose.
	if _, err := testproc.LockFile(filepath.Join(dir, binLockName)); err != nil {
		return "", err
	}
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	bin := filepath.Join(dir, "channelgraph")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/channelgraph")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/channelgraph in %s: %v\n%s", root, err, out)
	}
	return bin, nil
}

// sweepStaleBinDirs deletes the binary directories of earlier runs whose
// process has exited (their lock is free).
func sweepStaleBinDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), binDirPrefix+"*"))
	for _, dir := range dirs {
		if unlock, ok := testproc.TryLock(filepath.Join(dir, binLockName)); ok {
			_ = os.RemoveAll(dir)
			unlock()
		}
	}
}
