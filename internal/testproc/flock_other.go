//go:build !linux

package testproc

// Outside Linux locks are not taken: nothing sweeps stale directories there.

func LockFile(path string) (unlock func(), err error) { return func() {}, nil }

func TryLock(path string) (unlock func(), ok bool) { return nil, false }
