package archtest

import (
	"bufio"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// domainPackage holds the types and the rules that need no I/O. Adapters
// (store, mail, sso, ratelimit, httpapi, …) depend on it; it depends on none.
const domainPackage = "internal/gatehouse"

// domainMayImport lists everything the domain package may import besides the
// standard library, each with the reason. An entry also admits the entry's
// subpackages. A package of this module listed here must be a leaf: it may
// import the standard library only, so that nothing reaches an adapter
// through it.
var domainMayImport = map[string]string{
	"internal/featureflag":   "feature-flag matching: pure functions over property values",
	"internal/mfa":           "TOTP and backup-code arithmetic: pure functions",
	"github.com/google/uuid": "the UUID type used for ids; no I/O",
	"github.com/go-webauthn/webauthn": "the one exception: the passkey service verifies " +
		"WebAuthn ceremonies with this library's types and checks, which do no I/O; " +
		"wrapping them behind an interface would only copy its types",
}

// cmdPrefix is main's tree; nothing imports it.
const cmdPrefix = "cmd"

// httpPrefix is the HTTP layer; only itself, main and the instance
// wiring import it.
const httpPrefix = "internal/httpapi"

// instancePackage builds every service and the handler once; main and the
// end-to-end test harness start Gatehouse through it.
const instancePackage = "internal/instance"

// harnessPackage is the end-to-end test harness; only tests import it.
const harnessPackage = "internal/httpapi/apitest"

// httpLayers orders the HTTP layer's packages from the bottom up: a package
// imports only those before it, never one after it (no arrow runs back
// up). The test harness sits above them all.
var httpLayers = []string{
	"internal/httpapi/httpauth",
	"internal/httpapi/api|internal/httpapi/web",
	"internal/httpapi",
}

// neverImportEachOther lists pairs of trees (a package and its subpackages)
// of which neither may import the other: the JSON API and the web pages
// share only what lives in a package below both.
var neverImportEachOther = [][2]string{
	{"internal/httpapi/web", "internal/httpapi/api"},
}

// importEdge is one import line: the importing package's directory relative
// to the module root, what it imports (relative to the module root when the
// import is this module's own), and where the line is.
type importEdge struct {
	From, To string
	Own      bool   // To is a package of this module
	File     string // relative path of the importing file
	XTest    bool   // the file is an external test package (package x_test)
}

func under(path, tree string) bool {
	return path == tree || strings.HasPrefix(path, tree+"/")
}

func isStdlib(importPath string) bool {
	first, _, _ := strings.Cut(importPath, "/")
	return !strings.Contains(first, ".")
}

// violations returns one line per import that breaks a rule, sorted.
func violations(edges []importEdge) []string {
	var out []string
	bad := func(e importEdge, why string) {
		out = append(out, fmt.Sprintf("%s imports %s (%s): %s", e.From, e.To, e.File, why))
	}
	ownImports := map[string][]importEdge{}
	for _, e := range edges {
		if e.Own && !e.XTest {
			ownImports[e.From] = append(ownImports[e.From], e)
		}
	}
	for _, e := range edges {
		if e.Own && under(e.To, cmdPrefix) {
			bad(e, "nothing imports cmd")
		}
		if e.Own && under(e.To, httpPrefix) && !under(e.From, httpPrefix) && !under(e.From, cmdPrefix) && e.From != instancePackage {
			bad(e, "only the HTTP layer, main and internal/instance import the HTTP layer")
		}
		if e.Own && e.To == instancePackage && !under(e.From, cmdPrefix) && e.From != harnessPackage && !e.XTest {
			bad(e, "only main and the test harness build an instance")
		}
		if e.Own && e.To == harnessPackage && !e.XTest && !strings.HasSuffix(e.File, "_test.go") {
			bad(e, "only tests import the test harness")
		}
		if e.Own && !e.XTest {
			if from, to := httpLayer(e.From), httpLayer(e.To); from >= 0 && to > from {
				bad(e, "inside the HTTP layer imports run downward: httpauth, then api and web, then httpapi")
			}
		}
		if e.Own {
			for _, pair := range neverImportEachOther {
				for _, p := range [][2]string{pair, {pair[1], pair[0]}} {
					if under(e.From, p[0]) && under(e.To, p[1]) {
						bad(e, p[0]+" and "+p[1]+" never import each other")
					}
				}
			}
		}
		if e.From == domainPackage && !e.XTest && !domainAllowed(e) {
			bad(e, "the domain package imports no adapter; allowed besides the standard library: "+allowedList())
		}
	}
	// An allowed package of this module must stay a leaf.
	for allowed := range domainMayImport {
		for _, e := range ownImports[allowed] {
			bad(e, "imported by the domain package, so it must import only the standard library")
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// httpLayer is the index in httpLayers of the layer pkg belongs to, or -1
// (not in the HTTP layer, or the test harness).
func httpLayer(pkg string) int {
	if under(pkg, harnessPackage) {
		return -1
	}
	for i, layer := range httpLayers {
		for _, p := range strings.Split(layer, "|") {
			if pkg == p || (p != httpPrefix && under(pkg, p)) {
				return i
			}
		}
	}
	return -1
}

func domainAllowed(e importEdge) bool {
	if !e.Own && isStdlib(e.To) {
		return true
	}
	for allowed := range domainMayImport {
		// A module-relative entry admits only this module's package; a
		// third-party entry only the third-party path.
		if e.Own == !strings.Contains(allowed, ".") && under(e.To, allowed) {
			return true
		}
	}
	return false
}

func allowedList() string {
	keys := make([]string, 0, len(domainMayImport))
	for k := range domainMayImport {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return strings.Join(keys, ", ")
}

// moduleRoot finds the directory holding go.mod above the test's directory
// and the module path it declares.
func moduleRoot(t *testing.T) (dir, module string) {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		f, err := os.Open(filepath.Join(dir, "go.mod"))
		if err == nil {
			defer f.Close()
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
					return dir, strings.Trim(strings.TrimSpace(rest), `"`)
				}
			}
			t.Fatalf("%s/go.mod names no module", dir)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// readGraph parses the import lines of every Go file of the module, test
// files and files for every platform included, without building anything.
func readGraph(t *testing.T) []importEdge {
	t.Helper()
	root, module := moduleRoot(t)
	var edges []importEdge
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "testdata" || name == "node_modules" || name == "vendor" ||
				strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil && path != root {
				return filepath.SkipDir // another module
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		from := filepath.ToSlash(filepath.Dir(rel))
		for _, spec := range f.Imports {
			imp, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				return err
			}
			e := importEdge{From: from, To: imp, File: rel, XTest: strings.HasSuffix(f.Name.Name, "_test")}
			if imp == module || strings.HasPrefix(imp, module+"/") {
				e.Own = true
				e.To = strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")
			}
			edges = append(edges, e)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return edges
}

// TestImportDirection checks the module's real import graph.
func TestImportDirection(t *testing.T) {
	edges := readGraph(t)
	// The walk saw the code: a few edges the layout is built on are there.
	for _, want := range []importEdge{
		{From: "internal/store", To: domainPackage, Own: true},
		{From: "cmd/gatehouse", To: httpPrefix, Own: true},
		{From: httpPrefix, To: domainPackage, Own: true},
	} {
		if !slices.ContainsFunc(edges, func(e importEdge) bool {
			return e.From == want.From && e.To == want.To && e.Own
		}) {
			t.Errorf("the import graph lacks %s -> %s: the walk missed files", want.From, want.To)
		}
	}
	for _, v := range violations(edges) {
		t.Error(v)
	}
}

// TestImportRules feeds each rule a small graph with one forbidden import,
// and one that obeys every rule, so a rule that stopped firing is noticed.
func TestImportRules(t *testing.T) {
	own := func(from, to string) importEdge {
		return importEdge{From: from, To: to, Own: true, File: from + "/x.go"}
	}
	ext := func(from, to string) importEdge {
		return importEdge{From: from, To: to, File: from + "/x.go"}
	}
	xtest := func(e importEdge) importEdge { e.XTest = true; return e }
	for _, tc := range []struct {
		name  string
		edges []importEdge
		want  string // a part of the one violation; "" for none
	}{
		{"allowed layout", []importEdge{
			own("cmd/gatehouse", "internal/httpapi"),
			own("cmd/gatehouse", "internal/store"),
			own("internal/httpapi", "internal/gatehouse"),
			own("internal/httpapi/web", "internal/httpapi/httpauth"),
			own("internal/httpapi/api", "internal/httpapi/httpauth"),
			own("internal/httpapi", "internal/httpapi/web"),
			own("internal/httpapi", "internal/httpapi/httpauth"),
			own("internal/instance", "internal/httpapi"),
			own("cmd/gatehouse", "internal/instance"),
			own("internal/httpapi/apitest", "internal/instance"),
			own("internal/httpapi/apitest", "internal/httpapi/httpauth"),
			xtest(own("internal/httpapi/api", "internal/httpapi/apitest")),
			xtest(own("internal/httpapi/web", "internal/httpapi")),
			own("internal/store", "internal/gatehouse"),
			own("internal/mail", "internal/gatehouse"),
			own("internal/gatehouse", "internal/featureflag"),
			own("internal/gatehouse", "internal/mfa"),
			ext("internal/gatehouse", "net/netip"),
			ext("internal/gatehouse", "github.com/google/uuid"),
			ext("internal/gatehouse", "github.com/go-webauthn/webauthn/protocol/webauthncose"),
			ext("internal/featureflag", "regexp"),
			xtest(own("internal/gatehouse", "internal/secretkey")),
		}, ""},
		{"domain imports the store", []importEdge{own("internal/gatehouse", "internal/store")}, "the domain package imports no adapter"},
		{"domain imports mail", []importEdge{own("internal/gatehouse", "internal/mail")}, "the domain package imports no adapter"},
		{"domain imports an sso adapter", []importEdge{own("internal/gatehouse", "internal/sso/saml")}, "the domain package imports no adapter"},
		{"domain imports ratelimit", []importEdge{own("internal/gatehouse", "internal/ratelimit")}, "the domain package imports no adapter"},
		{"domain imports a driver", []importEdge{ext("internal/gatehouse", "github.com/jackc/pgx/v5/pgconn")}, "the domain package imports no adapter"},
		{"domain imports a lookalike of an allowed path", []importEdge{ext("internal/gatehouse", "github.com/go-webauthn/webauthnx")}, "the domain package imports no adapter"},
		{"domain test in the package imports the store", []importEdge{{From: "internal/gatehouse", To: "internal/store", Own: true, File: "internal/gatehouse/x_test.go"}}, "the domain package imports no adapter"},
		{"an allowed leaf stops being a leaf", []importEdge{own("internal/mfa", "internal/store")}, "must import only the standard library"},
		{"store imports cmd", []importEdge{own("internal/store", "cmd/gatehouse")}, "nothing imports cmd"},
		{"a test imports cmd", []importEdge{xtest(own("internal/httpapi", "cmd/gatehouse"))}, "nothing imports cmd"},
		{"mail imports httpapi", []importEdge{own("internal/mail", "internal/httpapi")}, "only the HTTP layer, main and internal/instance import the HTTP layer"},
		{"store test imports an httpapi subpackage", []importEdge{xtest(own("internal/store", "internal/httpapi/httpauth"))}, "only the HTTP layer, main and internal/instance import the HTTP layer"},
		{"a package named like httpapi is not it", []importEdge{own("internal/mail", "internal/httpapix")}, ""},
		{"web imports api", []importEdge{own("internal/httpapi/web", "internal/httpapi/api")}, "never import each other"},
		{"api imports web", []importEdge{own("internal/httpapi/api", "internal/httpapi/web")}, "never import each other"},
		{"httpauth imports api", []importEdge{own("internal/httpapi/httpauth", "internal/httpapi/api")}, "imports run downward"},
		{"web imports the mount table", []importEdge{own("internal/httpapi/web", "internal/httpapi")}, "imports run downward"},
		{"httpauth imports web", []importEdge{own("internal/httpapi/httpauth", "internal/httpapi/web")}, "imports run downward"},
		{"a domain package builds an instance", []importEdge{own("internal/store", "internal/instance")}, "only main and the test harness build an instance"},
		{"the HTTP layer builds an instance", []importEdge{own("internal/httpapi/api", "internal/instance")}, "only main and the test harness build an instance"},
		{"production code imports the harness", []importEdge{own("internal/httpapi/web", "internal/httpapi/apitest")}, "only tests import the test harness"},
		{"a web subpackage imports an api subpackage", []importEdge{own("internal/httpapi/web/pages", "internal/httpapi/api/keys")}, "never import each other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := violations(tc.edges)
			switch {
			case tc.want == "" && len(got) != 0:
				t.Errorf("violations %q, want none", got)
			case tc.want != "" && (len(got) != 1 || !strings.Contains(got[0], tc.want)):
				t.Errorf("violations %q, want one containing %q", got, tc.want)
			}
		})
	}
}
