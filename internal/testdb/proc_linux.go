package testdb

import (
	"os"
	"path/filepath"
	"syscall"

	"github.com/channelgraph/channelgraph/internal/testproc"
)

// procAttr runs a child as acct (nil: as ourselves). For the server it also
// makes the kernel send SIGQUIT (immediate shutdown) to the postmaster when
// the thread that started it dies, which superviseLocked turns into "when this
// test process dies", and puts the server in its own process group so that
// killGroup can reach its backends and a terminal's Ctrl-C reaches only us.
// Go applies Pdeathsig after switching credentials, as the kernel requires.
func procAttr(acct *account, server bool) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{}
	if acct != nil {
		attr.Credential = &syscall.Credential{Uid: acct.uid, Gid: acct.gid}
	}
	if server {
		attr.Setpgid = true
		attr.Pdeathsig = syscall.SIGQUIT
	}
	return attr
}

// killGroup SIGKILLs the process group that p leads.
func killGroup(p *os.Process) {
	_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
}

// lockNewDir creates dir's lock file already locked: it is locked under a
// temporary name and then renamed, so sweepStaleDirs never finds it unlocked.
func lockNewDir(dir string) (unlock func(), err error) {
	tmp := filepath.Join(dir, lockName+".tmp")
	unlock, err = testproc.LockFile(tmp)
	if err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, filepath.Join(dir, lockName)); err != nil {
		unlock()
		return nil, err
	}
	return unlock, nil
}
