//go:build !unix

package exec

import osexec "os/exec"

// setProcessGroup does nothing where there are no process groups.
func setProcessGroup(*osexec.Cmd) {}

// killProcessGroup kills the command alone where there are no process
// groups; what it started may outlive it.
func killProcessGroup(cmd *osexec.Cmd) {
	_ = cmd.Process.Kill()
}
