package main

import (
	"go/build"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/threeway-mcu/threeway/"

// packageRow is a row of ARCHITECTURE.md's package table:
// | `pkg` | owns | `imp`, `imp` or none |.
var packageRow = regexp.MustCompile("^\\| `([a-z/]+)` \\|.*\\| ([^|]+) \\|$")

// TestArchitectureImports holds ARCHITECTURE.md's package table to the
// code: every package of ours is listed, with exactly the packages of ours
// its non-test files import.
func TestArchitectureImports(t *testing.T) {
	root := filepath.Join("..", "..")
	doc, err := os.ReadFile(filepath.Join(root, "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string][]string{}
	for _, line := range strings.Split(string(doc), "\n") {
		if m := packageRow.FindStringSubmatch(line); m != nil {
			documented[m[1]] = listedImports(m[2])
		}
	}
	actual := ourImports(t, root)
	for pkg, imports := range actual {
		listed, ok := documented[pkg]
		switch {
		case !ok:
			t.Errorf("ARCHITECTURE.md does not list package %s (imports %v)", pkg, imports)
		case !slices.Equal(listed, imports):
			t.Errorf("ARCHITECTURE.md says %s imports %v; it imports %v", pkg, listed, imports)
		}
	}
	for pkg := range documented {
		if _, ok := actual[pkg]; !ok {
			t.Errorf("ARCHITECTURE.md lists %s, which is not a package", pkg)
		}
	}
}

// listedImports reads a table cell such as "`call`, `layout`" or "none".
func listedImports(cell string) []string {
	var names []string
	for _, m := range regexp.MustCompile("`([a-z/]+)`").FindAllStringSubmatch(cell, -1) {
		names = append(names, m[1])
	}
	slices.Sort(names)
	return names
}

// ourImports maps every package directory under root to the sorted
// packages of this module its non-test files import.
func ourImports(t *testing.T, root string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "bin") {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(path, 0)
		if err != nil {
			return nil // no Go files here
		}
		rel, _ := filepath.Rel(root, path)
		imports := []string{}
		for _, imp := range pkg.Imports {
			if strings.HasPrefix(imp, module) {
				imports = append(imports, strings.TrimPrefix(imp, module))
			}
		}
		slices.Sort(imports)
		out[filepath.ToSlash(rel)] = imports
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
