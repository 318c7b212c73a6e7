//go:build unix && !linux

package devenv

import "syscall"

// serverProcAttr puts a server in its own process group, so Stop can signal
// it and anything it spawns together.
func serverProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
