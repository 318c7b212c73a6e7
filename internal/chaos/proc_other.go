//go:build unix && !linux

package chaos

import "syscall"

// procAttr puts a process in its own group, so a kill reaches whatever it
// spawns.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
