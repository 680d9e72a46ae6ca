package main

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// TestShutdownCutsRequestsPastTheGraceAndExitsZero: a request still
// running when SHUTDOWN_GRACE ends is cut and logged, and the process
// exits 0: the operator asked for the shutdown and it drained what it
// could.
func TestShutdownCutsRequestsPastTheGraceAndExitsZero(t *testing.T) {
	t.Parallel()
	env, dir, _ := engineEnv(t, store.SQLite)
	s := startServer(t, append(env, "SHUTDOWN_GRACE=1"), dir)
	// A request whose body never finishes keeps its handler running.
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// With Expect: 100-continue the server answers "100 Continue" when the
	// handler starts reading the body: from then on the request is in
	// flight, and its body never finishes.
	fmt.Fprintf(c, "POST /api/login/ HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n", s.addr)
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	status, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.Contains(status, "100") {
		t.Fatalf("no 100 Continue: %q %v", status, err)
	}
	fmt.Fprint(c, `{"email":`)
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not stop after its grace period:\n%s", s.logs.String())
	}
	logs := s.logs.String()
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d after a shutdown that cut a request, want 0:\n%s", code, logs)
	}
	if !strings.Contains(logs, "request cut at the end of the grace period") || !strings.Contains(logs, `"path":"/api/login/"`) {
		t.Fatalf("the cut request is not logged:\n%s", logs)
	}
	if !strings.Contains(logs, `"msg":"stopped"`) {
		t.Fatalf("no stop logged:\n%s", logs)
	}
}
