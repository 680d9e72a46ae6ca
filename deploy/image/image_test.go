// Package image checks the container image recipe without a Docker daemon
// (CI machines here have none): the Dockerfile's final stage is an empty
// base run as a numeric non-root user, and the binary its build stage
// makes, with the same flags, is static and serves the probes as that
// user from an empty root.
package image

import (
	"bufio"
	"debug/elf"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

func finalStage(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stage []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(strings.ToUpper(line), "FROM ") {
			stage = nil
		}
		stage = append(stage, line)
	}
	return stage
}

func TestFinalStageIsEmptyAndNonRoot(t *testing.T) {
	stage := finalStage(t)
	if len(stage) == 0 || stage[0] != "FROM scratch" {
		t.Fatalf("final stage must start FROM scratch: %q", stage)
	}
	user := ""
	for _, l := range stage {
		up := strings.ToUpper(l)
		if strings.HasPrefix(up, "RUN ") {
			t.Errorf("the final stage runs a command (it has no shell): %q", l)
		}
		if strings.HasPrefix(up, "USER ") {
			user = strings.TrimSpace(l[5:])
		}
	}
	if !regexp.MustCompile(`^[1-9][0-9]*:[1-9][0-9]*$`).MatchString(user) {
		t.Fatalf("USER %q: want a numeric non-root uid:gid", user)
	}
}

// The build stage's flags make a static binary that starts in an empty
// root as the image's user and answers /_health and /_readyz.
func TestStaticBinaryServesProbes(t *testing.T) {
	testenv.Slow(t, "builds a static binary with the image's flags (a full build when the cache is cold)")
	dir := t.TempDir()
	bin := filepath.Join(dir, "gatehouse")
	build := exec.Command("go", "build", "-trimpath", "-tags", "timetzdata", "-ldflags", "-s -w", "-o", bin, "../../cmd/gatehouse")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ef, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Fatal("the binary is dynamically linked: it would not run FROM scratch")
		}
	}
	ef.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	data := filepath.Join(dir, "data")
	cmd := exec.Command(bin, "serve", "--addr", addr, "--data-dir", data)
	// Only what the image sets: no HOME, no PATH, no shell.
	cmd.Env = []string{"SECRET_KEY=image-test-secret-key-0123456789abcdef0123", "SITE_URL=https://gatehouse.example.com"}
	if os.Geteuid() == 0 {
		// As the image's user, with a data directory it owns.
		if err := os.MkdirAll(data, 0o700); err != nil {
			t.Fatal(err)
		}
		os.Chown(data, 65532, 65532)
		os.Chmod(filepath.Dir(dir), 0o755) // t.TempDir's parent is 0700
		os.Chmod(dir, 0o755)
		cmd.SysProcAttr = nonRoot()
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for _, probe := range []string{"/_health", "/_readyz"} {
		for {
			resp, err := http.Get("http://" + addr + probe)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not answer 200: %v", probe, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
