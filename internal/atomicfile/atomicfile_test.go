package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteReplacesWholeOrNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "out.txt")
	if err := WriteBytes(path, []byte("first")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(path, func(f *os.File) error {
		f.Write([]byte("half of the second"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v does not wrap the fill error", err)
	}
	got, _ := os.ReadFile(path)
	if string(got) != "first" {
		t.Fatalf("failed write changed the file to %q", got)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
	if err := WriteBuffered(path, func(w io.Writer) error { _, err := w.Write([]byte("second")); return err }); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "second" {
		t.Fatalf("got %q", got)
	}
}

func TestReplaceDir(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "entry")
	fill := func(name, content string) string {
		t.Helper()
		tmp := filepath.Join(root, name)
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, "f"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return tmp
	}
	read := func() string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, "f"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	// A new folder, then a replacement of a non-empty one.
	for _, content := range []string{"first", "second"} {
		if err := ReplaceDir(fill(".tmp-"+content, content), dir); err != nil {
			t.Fatal(err)
		}
		if got := read(); got != content {
			t.Fatalf("after replacing with %q the folder holds %q", content, got)
		}
	}
	// A failed rename puts the previous folder back and leaves nothing aside.
	if err := ReplaceDir(filepath.Join(root, ".tmp-missing"), dir); err == nil {
		t.Fatal("replacing with a missing folder succeeded")
	}
	if got := read(); got != "second" {
		t.Fatalf("after a failed replace the folder holds %q, want the previous one", got)
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
}
