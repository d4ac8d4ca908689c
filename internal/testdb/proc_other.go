//go:build !linux

package testdb

import (
	"os"
	"syscall"
)

// Outside Linux there is no Pdeathsig: a cluster outlives a test binary that
// is killed before Main returns, and stale directories are not swept. Running
// as root is not supported either (initdb refuses it).

func procAttr(acct *account, server bool) *syscall.SysProcAttr { return nil }

func killGroup(p *os.Process) { _ = p.Kill() }

func lockNewDir(dir string) (unlock func(), err error) { return func() {}, nil }
