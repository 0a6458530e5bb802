// Package testdata locates the real datasets that tests and benchmarks read
// from ../shared/datasets beside the repository (never copied into it), and
// skips a test with a clear message when they are absent.
package testdata

import (
	"os"
	"path/filepath"
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
