package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
)

// FileDigest is one output file of a cache entry as it was committed: its
// path relative to the entry, size and SHA-256. Reuse compares the files
// against these, so a cached output changed on disk (bit rot, a careless
// edit, a truncated copy) is recomputed instead of used.
type FileDigest struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// FileProblem is one way an entry differs from what was committed.
type FileProblem struct {
	Path    string
	Problem string
}

// CorruptError says that a cache entry's files are not those committed.
type CorruptError struct {
	Entry    string
	Problems []FileProblem
}

func (e *CorruptError) Error() string {
	parts := make([]string, 0, len(e.Problems))
	for i, p := range e.Problems {
		if i == 4 {
			parts = append(parts, fmt.Sprintf("and %d more", len(e.Problems)-i))
			break
		}
		parts = append(parts, p.Path+": "+p.Problem)
	}
	return "cached output changed (" + strings.Join(parts, "; ") + ")"
}

// hashBufSize is the read size of the streaming hashes: large enough to
// run at disk (or page cache) speed.
const hashBufSize = 1 << 20

// outputFiles lists the regular files under dir (relative, slash
// separated, sorted), without the entry's own metadata, and the paths of
// anything else that is neither a folder nor a regular file. The walk
// opens nothing and stops when ctx is cancelled.
func outputFiles(ctx context.Context, dir string) (regular, other []string, err error) {
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == dir || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		switch {
		case d.Type().IsRegular() && rel != metaFile:
			regular = append(regular, rel)
		case !d.Type().IsRegular():
			other = append(other, rel)
		}
		return nil
	})
	sort.Strings(regular)
	return regular, other, err
}

// digestOutput hashes a finished stage output: the digest of the whole
// folder (what later stages' fingerprints use) and each file's digest, in
// one read of every file.
func digestOutput(ctx context.Context, dir string) (string, []FileDigest, error) {
	files, _, err := outputFiles(ctx, dir)
	if err != nil {
		return "", nil, fmt.Errorf("digest %s: %w", dir, err)
	}
	whole := sha256.New()
	buf := make([]byte, hashBufSize)
	out := make([]FileDigest, 0, len(files))
	for _, rel := range files {
		fmt.Fprintf(whole, "%s\x00", rel)
		fh := sha256.New()
		n, err := hashFile(ctx, filepath.Join(dir, filepath.FromSlash(rel)), io.MultiWriter(whole, fh), buf)
		if err != nil {
			return "", nil, fmt.Errorf("digest %s: %w", dir, err)
		}
		out = append(out, FileDigest{Path: rel, Size: n, SHA256: hex.EncodeToString(fh.Sum(nil))})
	}
	return hex.EncodeToString(whole.Sum(nil))[:24], out, nil
}

// hashFile streams a regular file into w. It opens without blocking (a
// FIFO put in a file's place must not hang the run) and refuses anything
// that is not a regular file.
func hashFile(ctx context.Context, path string, w io.Writer, buf []byte) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if !st.Mode().IsRegular() {
		return 0, fmt.Errorf("%s: not a regular file (%s)", path, st.Mode().Type())
	}
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		m, err := f.Read(buf)
		if m > 0 {
			w.Write(buf[:m])
			n += int64(m)
		}
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// verifyEntry checks that the entry folder holds exactly the files its
// meta recorded, with their sizes and contents. Entries committed before
// per-file digests existed are checked against their output digest.
// Sizes are compared before any content is read, so a truncated file is
// found at once. It returns a *CorruptError for changed content.
func verifyEntry(ctx context.Context, dir string, meta *entryMeta) error {
	if meta.Files == nil {
		digest, _, err := digestOutput(ctx, dir)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &CorruptError{Entry: dir, Problems: []FileProblem{{Path: ".", Problem: err.Error()}}}
		}
		if digest != meta.OutputDigest {
			return &CorruptError{Entry: dir, Problems: []FileProblem{{Path: ".", Problem: fmt.Sprintf("output digest %s, recorded %s", digest, meta.OutputDigest)}}}
		}
		return nil
	}
	files, other, err := outputFiles(ctx, dir)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &CorruptError{Entry: dir, Problems: []FileProblem{{Path: ".", Problem: err.Error()}}}
	}
	var problems []FileProblem
	present := map[string]bool{}
	for _, f := range files {
		present[f] = true
	}
	recorded := map[string]bool{}
	for _, fd := range meta.Files {
		recorded[fd.Path] = true
		if !present[fd.Path] {
			problems = append(problems, FileProblem{fd.Path, "missing (or no longer a regular file)"})
			continue
		}
		st, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(fd.Path)))
		switch {
		case err != nil:
			problems = append(problems, FileProblem{fd.Path, err.Error()})
		case st.Size() != fd.Size:
			problems = append(problems, FileProblem{fd.Path, fmt.Sprintf("%d bytes, %d when committed", st.Size(), fd.Size)})
		}
	}
	for _, f := range files {
		if !recorded[f] {
			problems = append(problems, FileProblem{f, "not part of the committed output"})
		}
	}
	for _, o := range other {
		problems = append(problems, FileProblem{o, "not a regular file"})
	}
	if len(problems) > 0 {
		return &CorruptError{Entry: dir, Problems: problems}
	}
	buf := make([]byte, hashBufSize)
	var h hash.Hash = sha256.New()
	for _, fd := range meta.Files {
		h.Reset()
		if _, err := hashFile(ctx, filepath.Join(dir, filepath.FromSlash(fd.Path)), h, buf); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			problems = append(problems, FileProblem{fd.Path, err.Error()})
			continue
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != fd.SHA256 {
			problems = append(problems, FileProblem{fd.Path, fmt.Sprintf("content changed (sha256 %s…, committed %s…)", got[:12], fd.SHA256[:min(12, len(fd.SHA256))])})
		}
	}
	if len(problems) > 0 {
		return &CorruptError{Entry: dir, Problems: problems}
	}
	return nil
}

// EntryCheck is the result of checking one stage output of a run folder.
type EntryCheck struct {
	Stage    string
	Entry    string // the cache entry the run folder links to
	Files    int
	Bytes    int64
	Problems []FileProblem // empty when the output is intact
	Err      error         // the check could not be made (no such entry)
}

// VerifyRun checks every stage output that the run folder links to
// against the digests recorded when it was committed, reading every byte.
func VerifyRun(ctx context.Context, runDir string) ([]EntryCheck, error) {
	ents, err := os.ReadDir(runDir)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", runDir, err)
	}
	var names []string
	if m, err := ReadManifest(runDir); err == nil {
		for _, s := range m.Stages {
			names = append(names, s.Name)
		}
	}
	for _, e := range ents {
		if e.Type()&fs.ModeSymlink != 0 && !slices.Contains(names, e.Name()) {
			names = append(names, e.Name())
		}
	}
	var out []EntryCheck
	for _, name := range names {
		link := filepath.Join(runDir, name)
		target, err := os.Readlink(link)
		if err != nil {
			continue // a stage that was not applicable or never ran
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(runDir, target)
		}
		chk := EntryCheck{Stage: name, Entry: target}
		meta, err := readEntryMeta(target)
		if err != nil {
			chk.Err = err
			out = append(out, chk)
			continue
		}
		for _, f := range meta.Files {
			chk.Files++
			chk.Bytes += f.Size
		}
		if err := verifyEntry(ctx, target, meta); err != nil {
			var ce *CorruptError
			if !errors.As(err, &ce) {
				return out, err
			}
			chk.Problems = ce.Problems
		}
		out = append(out, chk)
	}
	return out, nil
}

// VerifyOutput checks the cache entry that path lies in (a stage output
// another run made, such as model.from: runs/<name>), so a stage never
// reads a cached output whose files changed. A path outside any cache
// entry is not checked.
func VerifyOutput(ctx context.Context, path string) error {
	p, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil // the reader reports a missing path itself
	}
	for dir := p; ; {
		if st, err := os.Lstat(filepath.Join(dir, metaFile)); err == nil && st.Mode().IsRegular() {
			meta, err := readEntryMeta(dir)
			if err != nil {
				return err
			}
			return verifyEntry(ctx, dir, meta)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil
		}
		dir = parent
	}
}
