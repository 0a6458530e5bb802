// Package atomicfile writes files and folders so that readers see either
// the old one or the complete new one, never half of it: content goes to a
// temporary file (or folder) beside the target, then is renamed over it.
package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Write creates path atomically with what fill writes to the temporary
// file (a seekable *os.File, as Arrow's IPC writer needs). If fill fails,
// nothing is left behind.
func Write(path string, fill func(f *os.File) error) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create folder for %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temporary file for %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = fill(f); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err = os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", path, err)
	}
	return nil
}

// WriteBytes creates path atomically with data.
func WriteBytes(path string, data []byte) error {
	return Write(path, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}

// WriteBuffered creates path atomically with what fill writes through a
// buffered writer, for callers that emit many small writes.
func WriteBuffered(path string, fill func(w io.Writer) error) error {
	return Write(path, func(f *os.File) error {
		bw := bufio.NewWriterSize(f, 1<<20)
		if err := fill(bw); err != nil {
			return err
		}
		return bw.Flush()
	})
}

// ReplaceDir renames the finished folder tmp to dir, so readers see the old
// folder or the complete new one. An existing dir is moved aside first (a
// rename cannot replace a non-empty folder), put back if the rename fails,
// and deleted after; tmp should sit beside dir, on the same file system.
func ReplaceDir(tmp, dir string) error {
	old := ""
	if _, err := os.Stat(dir); err == nil {
		old = tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return fmt.Errorf("replace %s: move the previous one aside: %w", dir, err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			os.Rename(old, dir)
		}
		return fmt.Errorf("replace %s: %w", dir, err)
	}
	if old != "" {
		os.RemoveAll(old)
	}
	if d, err := os.Open(filepath.Dir(dir)); err == nil { // make the renames durable
		d.Sync()
		d.Close()
	}
	return nil
}
