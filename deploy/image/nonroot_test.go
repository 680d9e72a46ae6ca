package image

import "syscall"

// nonRoot runs the server as the image's user (65532).
func nonRoot() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65532, Gid: 65532}}
}
