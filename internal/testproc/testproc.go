// Package testproc is what the tests that start real processes share: file
// locks that die with their holder, and installing a missing Debian package
// when the tests run as root (SPEC's "the project's own files install what
// they need"). Only test code imports it.
package testproc

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// InstallBlocker says why Debian packages cannot be installed for the
// tests, or returns "" when they can.
func InstallBlocker() string {
	switch {
	case runtime.GOOS != "linux":
		return "only done on Debian/Ubuntu (Linux)"
	case os.Geteuid() != 0:
		return "not running as root"
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return "apt-get not found"
	}
	return ""
}

// AptGet runs apt-get non-interactively, waiting for the dpkg lock instead
// of failing when something else (say, another test binary) holds it.
func AptGet(args ...string) error {
	args = append([]string{"-qq", "-o", "DPkg::Lock::Timeout=600"}, args...)
	cmd := exec.Command("apt-get", args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}
