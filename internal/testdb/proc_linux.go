package testdb

import (
	"os"
	"path/filepath"
	"syscall"
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

// lockFile creates path if needed and waits for an exclusive flock on it.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// lockNewDir creates dir's lock file already locked: it is locked under a
// temporary name and then renamed, so sweepStaleDirs never finds it unlocked.
func lockNewDir(dir string) (unlock func(), err error) {
	tmp := filepath.Join(dir, lockName+".tmp")
	unlock, err = lockFile(tmp)
	if err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, filepath.Join(dir, lockName)); err != nil {
		unlock()
		return nil, err
	}
	return unlock, nil
}

// tryLock takes an exclusive flock on an existing file without waiting.
func tryLock(path string) (unlock func(), ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, false
	}
	return func() { f.Close() }, true
}
