package pipeline

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"fairage/internal/atomicfile"
)

// metaFile sits in each cache entry and describes it; it is not an output.
const metaFile = ".fairage-entry.json"

// cacheDirName is the content-addressed store inside the runs folder. Run
// folders link to entries in it, so runs sharing a stage share its output.
const cacheDirName = ".cache"

// entryMeta describes a finished cache entry.
type entryMeta struct {
	Fingerprint  string      `json:"fingerprint"`
	Inputs       fingerprint `json:"inputs"`
	OutputDigest string      `json:"output_digest"`
	// Files are the output's files as committed; reuse checks them.
	// Entries of older builds lack them and are checked against
	// OutputDigest.
	Files     []FileDigest `json:"files"`
	Stats     Stats        `json:"stats"`
	DurationS float64      `json:"duration_s"`
	Created   time.Time    `json:"created"`
}

type cache struct{ root string }

func (c cache) entry(stage, fp string) string { return filepath.Join(c.root, stage, fp) }

func (c cache) lockPath(stage, fp string) string {
	return filepath.Join(c.root, stage, "."+fp+".lock")
}

// lookup returns the meta of a finished entry, if present and readable
// (its files are checked by verifyEntry).
func (c cache) lookup(stage, fp string) (*entryMeta, bool) {
	m, err := readEntryMeta(c.entry(stage, fp))
	if err != nil || m.Fingerprint != fp {
		return nil, false
	}
	return m, true
}

// readEntryMeta reads the meta file of the entry folder dir.
func readEntryMeta(dir string) (*entryMeta, error) {
	path := filepath.Join(dir, metaFile)
	st, err := os.Lstat(path)
	if err != nil {
		return nil, fmt.Errorf("cache entry %s: %w", dir, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("cache entry %s: %s is not a regular file", dir, metaFile)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cache entry %s: %w", dir, err)
	}
	var m entryMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("cache entry %s: %s: %w", dir, metaFile, err)
	}
	return &m, nil
}

// scratch is the folder a stage may keep across failed attempts.
func (c cache) scratch(stage, fp string) string {
	return filepath.Join(c.root, stage, ".scratch-"+fp)
}

// newTemp makes an empty folder beside the entry for a stage to write into.
func (c cache) newTemp(stage, fp string) (string, error) {
	dir := filepath.Join(c.root, stage)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cache %s: %w", dir, err)
	}
	return os.MkdirTemp(dir, ".tmp-"+fp+"-")
}

// commit turns a finished temporary folder into the entry, atomically: the
// meta file is written last inside the temp folder, then the folder is
// renamed, so an entry without a valid meta file never exists.
func (c cache) commit(stage, fp, tmp string, meta entryMeta) error {
	b, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(filepath.Join(tmp, metaFile), b); err != nil {
		return err
	}
	// A forced rerun replaces an existing entry.
	if err := atomicfile.ReplaceDir(tmp, c.entry(stage, fp)); err != nil {
		return fmt.Errorf("cache: commit: %w", err)
	}
	return nil
}

// sweepTemps removes temporary folders left by runs that were killed.
// Callers hold the entry lock, so no live run owns these.
func (c cache) sweepTemps(stage, fp string) {
	matches, _ := filepath.Glob(filepath.Join(c.root, stage, ".tmp-"+fp+"-*"))
	for _, m := range matches {
		os.RemoveAll(m)
	}
}

// scratchMaxAge is how long the scratch folder of an interrupted stage is
// kept for --resume when nothing uses it.
const scratchMaxAge = 7 * 24 * time.Hour

// sweepStale removes, across the cache, what killed runs left behind and
// no live run holds: every temporary folder, and every scratch folder
// whose output was committed after all or that was last touched more than
// scratchMaxAge ago (a younger one may still be resumed with --resume).
// It returns how many folders and bytes it removed, and how many scratch
// folders it kept for --resume.
func (c cache) sweepStale(who string) (removed int, bytes int64, kept int) {
	stages, _ := os.ReadDir(c.root)
	for _, sd := range stages {
		if !sd.IsDir() {
			continue
		}
		dir := filepath.Join(c.root, sd.Name())
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			var fp string
			scratch := false
			switch name := e.Name(); {
			case !e.IsDir():
				continue
			case strings.HasPrefix(name, ".tmp-"):
				fp, _, _ = strings.Cut(strings.TrimPrefix(name, ".tmp-"), "-")
			case strings.HasPrefix(name, ".scratch-"):
				fp, scratch = strings.TrimPrefix(name, ".scratch-"), true
			default:
				continue
			}
			path := filepath.Join(dir, e.Name())
			if scratch {
				_, committed := c.lookup(sd.Name(), fp)
				info, err := e.Info()
				if err != nil || (!committed && time.Since(info.ModTime()) < scratchMaxAge) {
					kept++
					continue
				}
			}
			l, err := tryLock(c.lockPath(sd.Name(), fp), who)
			if err != nil {
				continue // a live run owns it
			}
			n := folderBytes(path)
			if os.RemoveAll(path) == nil {
				removed++
				bytes += n
			}
			l.unlock()
		}
	}
	return removed, bytes, kept
}

func folderBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// link points runDir/<stage> at the cache entry with a relative symlink.
func link(runDir, stage, target string) error {
	rel, err := filepath.Rel(runDir, target)
	if err != nil {
		rel = target
	}
	path := filepath.Join(runDir, stage)
	tmp := path + ".link-tmp"
	os.Remove(tmp)
	if err := os.Symlink(rel, tmp); err != nil {
		return fmt.Errorf("link %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("link %s: %w", path, err)
	}
	return nil
}

// linkedFingerprint returns the fingerprint a run folder's stage link
// points at ("" when none).
func linkedFingerprint(runDir, stage string) string {
	target, err := os.Readlink(filepath.Join(runDir, stage))
	if err != nil {
		return ""
	}
	return filepath.Base(target)
}
