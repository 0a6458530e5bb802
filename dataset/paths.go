package dataset

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// imageRoot reads image files under a dataset root and refuses any path
// that leads outside it, lexically (../../etc/passwd, /etc/passwd) or
// through a symlink. Metadata is user input: a row must not be able to make
// the pipeline read, hash and pack an arbitrary file of the machine.
type imageRoot struct {
	dir  string // absolute, cleaned
	real string // dir with symlinks resolved
	root *os.Root
}

func openImageRoot(dir string) (*imageRoot, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("dataset root %s: %w", dir, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("dataset root %s: %w", dir, err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("dataset root %s: %w", dir, err)
	}
	return &imageRoot{dir: abs, real: real, root: root}, nil
}

func (r *imageRoot) Close() error { return r.root.Close() }

// localPath turns a listed image path into a path relative to the root. An
// absolute path is accepted only when it lies inside the root.
func (r *imageRoot) localPath(listed string) (string, error) {
	p := filepath.Clean(filepath.FromSlash(listed))
	if filepath.IsAbs(p) {
		for _, base := range []string{r.dir, r.real} {
			if rel, err := filepath.Rel(base, p); err == nil && filepath.IsLocal(rel) {
				return rel, nil
			}
		}
		return "", fmt.Errorf("absolute path %q is outside the dataset root", listed)
	}
	if !filepath.IsLocal(p) {
		return "", fmt.Errorf("path %q leads outside the dataset root", listed)
	}
	return p, nil
}

// readFile reads the image at rel (from localPath), at most maxBytes. On
// failure it returns the rejection reason with the error.
func (r *imageRoot) readFile(rel string, maxBytes int64) ([]byte, string, error) {
	// O_NONBLOCK: opening a FIFO listed as an image must not wait for a
	// writer; it is then refused below as not a regular file.
	f, err := r.root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ReasonMissingFile, errors.New("no such file")
		}
		// os.Root refuses symlinks that leave the root, and also absolute
		// symlinks even when they point inside it. Resolve the link to tell
		// the two apart and accept the second.
		f, err = r.openResolved(rel)
		if err != nil {
			return nil, reasonOf(err), err
		}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, ReasonUnreadable, err
	}
	if st.IsDir() {
		return nil, ReasonUnreadable, errors.New("is a folder, not an image file")
	}
	if !st.Mode().IsRegular() {
		return nil, ReasonUnreadable, fmt.Errorf("not a regular file (mode %s)", st.Mode().Type())
	}
	if st.Size() > maxBytes {
		return nil, ReasonUnreadable, fmt.Errorf("file is %d bytes, above the limit of %d", st.Size(), maxBytes)
	}
	var buf bytes.Buffer
	buf.Grow(int(st.Size()) + bytes.MinRead) // one allocation for the usual file
	if _, err := buf.ReadFrom(io.LimitReader(f, maxBytes+1)); err != nil {
		return nil, ReasonUnreadable, err
	}
	data := buf.Bytes()
	if int64(len(data)) > maxBytes {
		return nil, ReasonUnreadable, fmt.Errorf("file grew above the limit of %d bytes while read", maxBytes)
	}
	return data, "", nil
}

// reasonError carries a rejection reason with an error.
type reasonError struct {
	reason string
	err    error
}

func (e *reasonError) Error() string { return e.err.Error() }
func (e *reasonError) Unwrap() error { return e.err }

func reasonOf(err error) string {
	var re *reasonError
	if errors.As(err, &re) {
		return re.reason
	}
	return ReasonUnreadable
}

func (r *imageRoot) openResolved(rel string) (*os.File, error) {
	resolved, err := filepath.EvalSymlinks(filepath.Join(r.dir, rel))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &reasonError{ReasonMissingFile, errors.New("no such file (or a dangling symlink)")}
		}
		return nil, &reasonError{ReasonUnreadable, err}
	}
	if in, err := filepath.Rel(r.real, resolved); err != nil || !filepath.IsLocal(in) {
		return nil, &reasonError{ReasonPathEscapes, fmt.Errorf("symlink resolves to %s, outside the dataset root", resolved)}
	}
	f, err := os.OpenFile(resolved, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, &reasonError{ReasonUnreadable, err}
	}
	return f, nil
}

// openRegular opens a metadata or artifact file for reading, refusing
// anything but a regular file without blocking on it (a FIFO in its place
// would otherwise hang the run until killed).
func openRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file (%s)", path, st.Mode().Type())
	}
	return f, nil
}
