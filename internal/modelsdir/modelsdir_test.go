package modelsdir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDir: the environment wins; otherwise build/models is found above the
// working directory; errors say how to install the files.
func TestDir(t *testing.T) {
	given := t.TempDir()
	os.MkdirAll(filepath.Join(given, "face-api", "model"), 0o755)
	os.WriteFile(filepath.Join(given, "face-api", "model", "x.bin"), []byte{1}, 0o644)
	t.Setenv(Env, given)
	if d, err := Dir(); err != nil || d != given {
		t.Errorf("Dir() = %q, %v; want %q", d, err, given)
	}
	if p, err := Path("face-api/model/x.bin"); err != nil || p != filepath.Join(given, "face-api", "model", "x.bin") {
		t.Errorf("Path = %q, %v", p, err)
	}
	if _, err := Path("face-api/model/absent.bin"); err == nil || !strings.Contains(err.Error(), "make setup-models") {
		t.Errorf("missing file: %v", err)
	}
	t.Setenv(Env, filepath.Join(given, "nope"))
	if _, err := Dir(); err == nil || !strings.Contains(err.Error(), Env+"=") {
		t.Errorf("missing folder: %v", err)
	}

	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "build", "models"), 0o755)
	deep := filepath.Join(root, "a", "b")
	os.MkdirAll(deep, 0o755)
	t.Setenv(Env, "")
	t.Chdir(deep)
	if d, err := Dir(); err != nil || d != filepath.Join(root, "build", "models") {
		t.Errorf("Dir() from %s = %q, %v", deep, d, err)
	}
}
