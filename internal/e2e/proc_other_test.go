//go:build !linux

package e2e

import (
	"os"
	"os/exec"
	"syscall"
)

// Outside Linux there is no Pdeathsig: a child outlives a test binary that is
// killed before its cleanups run, and stale binary directories are not swept.

func procAttr() *syscall.SysProcAttr { return nil }

func killGroup(p *os.Process) { _ = p.Kill() }

func superviseLocked(cmd *exec.Cmd, started chan<- error, exited chan<- struct{}) {
	err := cmd.Start()
	started <- err
	if err == nil {
		_ = cmd.Wait()
	}
	close(exited)
}
