package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// fingerprint combines everything that determines a stage's output.
type fingerprint struct {
	Stage        string            `json:"stage"`
	Version      string            `json:"version"`
	ConfigDigest string            `json:"config_digest"`
	Inputs       map[string]string `json:"inputs"` // input stage -> output digest
	External     string            `json:"external,omitempty"`
}

func (f fingerprint) sum() string {
	var b strings.Builder
	fmt.Fprintf(&b, "stage=%s\nversion=%s\nconfig=%s\nexternal=%s\n", f.Stage, f.Version, f.ConfigDigest, f.External)
	names := make([]string, 0, len(f.Inputs))
	for n := range f.Inputs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "input %s=%s\n", n, f.Inputs[n])
	}
	return sha256Hex([]byte(b.String()))[:24]
}

// explainChange says which parts of a fingerprint differ from an older one.
func (f fingerprint) explainChange(old fingerprint) string {
	var why []string
	if f.Version != old.Version {
		why = append(why, fmt.Sprintf("stage code version %s -> %s", old.Version, f.Version))
	}
	if f.ConfigDigest != old.ConfigDigest {
		why = append(why, "config changed")
	}
	if f.External != old.External {
		why = append(why, "input files changed")
	}
	for n, d := range f.Inputs {
		if od, ok := old.Inputs[n]; !ok || od != d {
			why = append(why, fmt.Sprintf("output of %s changed", n))
		}
	}
	if len(why) == 0 {
		return "fingerprint changed"
	}
	return strings.Join(why, ", ")
}

// dirDigest hashes every regular file under dir (relative names and
// contents), skipping the cache's own metadata.
func dirDigest(dir string) (string, error) {
	h := sha256.New()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && d.Name() != metaFile {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("digest %s: %w", dir, err)
	}
	sort.Strings(files)
	buf := make([]byte, 1<<20)
	for _, p := range files {
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(h, "%s\x00", filepath.ToSlash(rel))
		f, err := os.Open(p)
		if err != nil {
			return "", fmt.Errorf("digest %s: %w", p, err)
		}
		_, err = io.CopyBuffer(h, f, buf)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("digest %s: %w", p, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:24], nil
}

// FilesDigest hashes a set of files for ExternalInputs: small files by
// content, large ones (images) by name, size and modification time, which
// is what a changed dataset changes while keeping the check fast.
func FilesDigest(paths []string, contentLimit int64) (string, error) {
	h := sha256.New()
	sorted := append([]string(nil), paths...)
	sort.Strings(sorted)
	for _, p := range sorted {
		st, err := os.Stat(p)
		if err != nil {
			fmt.Fprintf(h, "%s missing\n", p)
			continue
		}
		if st.IsDir() {
			fmt.Fprintf(h, "%s dir\n", p)
			continue
		}
		if st.Size() <= contentLimit {
			b, err := os.ReadFile(p)
			if err != nil {
				return "", fmt.Errorf("digest %s: %w", p, err)
			}
			fmt.Fprintf(h, "%s %x\n", p, sha256.Sum256(b))
			continue
		}
		fmt.Fprintf(h, "%s %d %d\n", p, st.Size(), st.ModTime().UnixNano())
	}
	return hex.EncodeToString(h.Sum(nil))[:24], nil
}
