//go:build unix

package exec

import (
	osexec "os/exec"
	"syscall"
)

// setProcessGroup makes the command the leader of a new process group, which
// its children join, so that killProcessGroup reaches them all.
func setProcessGroup(cmd *osexec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killProcessGroup sends SIGKILL to the command's process group. It is safe to
// call more than once, and after the command has exited: the group's id stays
// reserved while any member lives, and an empty group is an error ignored
// here.
func killProcessGroup(cmd *osexec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
