package httpapi_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestAttackIndexIsComplete: every TestAttack function of the attack suite
// is named in the index at the top of attack_test.go, so a reviewer reading
// the index sees every attack that is tried.
func TestAttackIndexIsComplete(t *testing.T) {
	t.Parallel()
	index, err := os.ReadFile("attack_test.go")
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(string(index), "\nimport ")
	files, err := filepath.Glob("attack_*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	decl := regexp.MustCompile(`(?m)^func (TestAttack\w+)\(`)
	found := 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range decl.FindAllStringSubmatch(string(src), -1) {
			if m[1] == "TestAttackIndexIsComplete" {
				continue
			}
			found++
			if !regexp.MustCompile(`\b` + m[1] + `\b`).MatchString(head) {
				t.Errorf("%s (%s) is missing from the index in attack_test.go", m[1], f)
			}
		}
	}
	if found < 30 {
		t.Fatalf("found only %d attack tests; is the glob right?", found)
	}
}
