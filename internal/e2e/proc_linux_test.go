package e2e

import (
	"os"
	"os/exec"
	"runtime"
	"syscall"
)

// procAttr puts a child in its own process group (so that killGroup reaches
// anything it starts, and a terminal's Ctrl-C reaches only us) and has the
// kernel SIGKILL it when the thread that started it dies, which
// superviseLocked turns into "when this test process dies".
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup SIGKILLs the process group that p leads.
func killGroup(p *os.Process) {
	_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
}

// superviseLocked starts cmd and waits for it on one locked OS thread. Linux
// delivers Pdeathsig when the thread that forked the child exits, not when
// the process does, and the Go runtime does end threads; forking from a
// thread locked to this goroutine, which stays in Wait until the child is
// gone, makes the signal fire only when the whole test process dies. The
// thread is never unlocked: the runtime retires it when the goroutine ends.
func superviseLocked(cmd *exec.Cmd, started chan<- error, exited chan<- struct{}) {
	runtime.LockOSThread()
	err := cmd.Start()
	started <- err
	if err == nil {
		_ = cmd.Wait()
	}
	close(exited)
}
