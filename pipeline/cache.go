package pipeline

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
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
	Stats        Stats       `json:"stats"`
	DurationS    float64     `json:"duration_s"`
	Created      time.Time   `json:"created"`
}

type cache struct{ root string }

func (c cache) entry(stage, fp string) string { return filepath.Join(c.root, stage, fp) }

func (c cache) lockPath(stage, fp string) string {
	return filepath.Join(c.root, stage, "."+fp+".lock")
}

// lookup returns the meta of a finished entry, if present and intact.
func (c cache) lookup(stage, fp string) (*entryMeta, bool) {
	b, err := os.ReadFile(filepath.Join(c.entry(stage, fp), metaFile))
	if err != nil {
		return nil, false
	}
	var m entryMeta
	if json.Unmarshal(b, &m) != nil || m.Fingerprint != fp {
		return nil, false
	}
	return &m, true
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
