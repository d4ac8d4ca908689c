package testdb

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/channelgraph/channelgraph/internal/testproc"
)

const needPostgres = "PostgreSQL is required for these tests: set TEST_DATABASE_URL or install the postgresql server package (e.g. apt-get install postgresql)"

// findOrInstallBinaries returns the directory holding initdb and postgres,
// installing the distribution package first when that is possible and safe.
func findOrInstallBinaries() (string, error) {
	if dir, ok := findBinDir(); ok {
		return dir, nil
	}
	if reason := testproc.InstallBlocker(); reason != "" {
		return "", fmt.Errorf("%s [not installed automatically: %s]", needPostgres, reason)
	}
	// Concurrent test binaries (go test -p N) would all try to install; let
	// one do it and the others find the result.
	unlock, err := testproc.LockFile(filepath.Join(os.TempDir(), "cg-testdb-install.lock"))
	if err != nil {
		return "", fmt.Errorf("%s [automatic installation failed: %v]", needPostgres, err)
	}
	defer unlock()
	if dir, ok := findBinDir(); ok {
		return dir, nil
	}
	// Debian's package also creates and starts its own "main" cluster where
	// systemd runs; the tests never use it, they start their own below.
	logf("no PostgreSQL server binaries found; installing the postgresql package with apt-get")
	if err := aptInstallPostgres(); err != nil {
		return "", fmt.Errorf("%s [automatic installation failed: %v]", needPostgres, err)
	}
	if dir, ok := findBinDir(); ok {
		return dir, nil
	}
	return "", fmt.Errorf("%s [apt-get installed postgresql, but no initdb and postgres were found]", needPostgres)
}

// findBinDir returns a directory with both initdb and postgres. Debian's
// versioned directories come first, newest version first: they hold the real
// binaries, whereas PATH may hold wrappers or symlinks. PATH is the fallback
// for other layouts (Fedora, Homebrew, source builds); symlinks are resolved
// so that postgres is looked for next to the real initdb.
func findBinDir() (string, bool) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.SliceStable(dirs, func(i, j int) bool { return majorVersion(dirs[i]) > majorVersion(dirs[j]) })
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			dirs = append(dirs, filepath.Dir(real))
		}
	}
	for _, dir := range dirs {
		if isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "postgres")) {
			return dir, true
		}
	}
	return "", false
}

// majorVersion parses N (e.g. "15" or "9.6") out of /usr/lib/postgresql/N/bin.
func majorVersion(binDir string) float64 {
	v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	if err != nil {
		return -1
	}
	return v
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// aptInstallPostgres installs the server binaries. The package also creates a
// "main" cluster under /var/lib/postgresql, which we leave alone.
func aptInstallPostgres() error {
	if err := testproc.AptGet("update"); err != nil {
		return err
	}
	return testproc.AptGet("install", "-y", "--no-install-recommends", "postgresql")
}
