package devenv

import "syscall"

// serverProcAttr puts a server in its own process group, so Stop can signal
// it and anything it spawns together, and kills it if we die, so a crashed
// test binary does not leave dev servers behind.
func serverProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
