// Package testdata locates the real datasets that tests and benchmarks read
// from ../shared/datasets beside the repository (never copied into it), and
// skips a test with a clear message when they are absent.
package testdata

import (
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// SharedDir returns the shared/ folder: $FAIRAGE_SHARED when set, otherwise
// ../shared relative to the repository root (the folder holding go.mod).
func SharedDir() (string, bool) {
	if d := os.Getenv("FAIRAGE_SHARED"); d != "" {
		return d, dirExists(d)
	}
	root, ok := RepoRoot()
	if !ok {
		return "", false
	}
	d := filepath.Join(root, "..", "shared")
	return d, dirExists(d)
}

// RepoRoot walks up from the working directory to the folder with go.mod.
func RepoRoot() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// UTKFace returns the shared UTKFace folder (metadata.csv and images/), or
// skips tb when it is absent.
func UTKFace(tb testing.TB) string {
	tb.Helper()
	shared, ok := SharedDir()
	d := filepath.Join(shared, "datasets", "utkface")
	if !ok || !dirExists(filepath.Join(d, "images")) {
		tb.Skipf("real UTKFace data not found at %s (set FAIRAGE_SHARED to the shared/ folder); skipping", d)
	}
	return d
}

func dirExists(d string) bool {
	st, err := os.Stat(d)
	return err == nil && st.IsDir()
}

// UTKRow is one row of the shared UTKFace metadata.csv.
type UTKRow struct {
	File                          string // image file name (in images/)
	Path                          string // absolute path of the image
	Age                           float64
	Gender, Ethnicity, Expression string
}

// UTKFaceRows reads the shared UTKFace metadata.csv (skipping tb when the
// data is absent); a malformed row fails the test.
func UTKFaceRows(tb testing.TB) []UTKRow {
	tb.Helper()
	dir := UTKFace(tb)
	f, err := os.Open(filepath.Join(dir, "metadata.csv"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	out := make([]UTKRow, 0, len(recs)-1)
	for i, r := range recs[1:] {
		age, err := strconv.ParseFloat(r[col["age"]], 64)
		if err != nil {
			tb.Fatalf("metadata.csv row %d: age %q: %v", i+2, r[col["age"]], err)
		}
		out = append(out, UTKRow{File: r[col["file"]], Path: filepath.Join(dir, "images", r[col["file"]]), Age: age,
			Gender: r[col["gender"]], Ethnicity: r[col["ethnicity"]], Expression: r[col["expression"]]})
	}
	return out
}

// NodeEnv returns the repository root and the Node conformance
// environment that scripts/setup-models.sh installs (build/node), or skips
// tb with what is missing.
func NodeEnv(tb testing.TB) (root, nodeDir string) {
	tb.Helper()
	root, ok := RepoRoot()
	if !ok {
		tb.Skip("repository root not found")
	}
	if _, err := exec.LookPath("node"); err != nil {
		tb.Skip("node not found; skipping a conformance check against the JavaScript original")
	}
	nodeDir = filepath.Join(root, "build", "node")
	if !dirExists(filepath.Join(nodeDir, "node_modules")) {
		tb.Skipf("no Node conformance environment in %s (run `make setup-models` with node installed); skipping", nodeDir)
	}
	return root, nodeDir
}
