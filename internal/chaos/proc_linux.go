package chaos

import "syscall"

// procAttr puts a process in its own group, so a kill reaches whatever it
// spawns, and kills it when the test binary dies, so a test killed by its
// timeout leaves no cventsync processes behind.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
