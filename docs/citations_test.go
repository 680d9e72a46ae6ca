// Package docs checks the maintainer documentation against the code: every
// citation of docs/posthog-compat.md in a comment names a section that
// exists, and no comment cites the outside specification the code was
// first written from.
package docs

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	citation    = regexp.MustCompile(`posthog-compat\.md#([a-z0-9-]+)`)
	outsideSpec = regexp.MustCompile(`\bSPEC\b|\(B\.[0-9]`)
)

// anchors returns the anchors of a Markdown file's headings, as GitHub makes
// them: lower case, spaces to hyphens, punctuation dropped.
func anchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	drop := regexp.MustCompile(`[^a-z0-9 -]`)
	for _, line := range strings.Split(string(body), "\n") {
		if title, ok := strings.CutPrefix(line, "## "); ok {
			out[strings.ReplaceAll(drop.ReplaceAllString(strings.ToLower(title), ""), " ", "-")] = true
		}
	}
	return out
}

func TestCitationsNameExistingSections(t *testing.T) {
	known := anchors(t, "posthog-compat.md")
	cited := 0
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !(strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".sql") || strings.HasSuffix(path, ".md")) {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			for _, m := range citation.FindAllStringSubmatch(line, -1) {
				cited++
				if !known[m[1]] {
					t.Errorf("%s:%d cites docs/posthog-compat.md#%s, which has no such section", path, n, m[1])
				}
			}
			if strings.HasSuffix(path, ".go") && strings.Contains(line, "//") && outsideSpec.MatchString(line) && path != filepath.Join("..", "docs", "citations_test.go") {
				t.Errorf("%s:%d cites a document outside the repository: %s", path, n, strings.TrimSpace(line))
			}
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if cited < 20 {
		t.Fatalf("found only %d citations; is the walk reading the repository?", cited)
	}
}
