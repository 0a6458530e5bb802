package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
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
		if !st.Mode().IsRegular() {
			// A FIFO or device is never opened: reading one blocks or
			// never ends.
			fmt.Fprintf(h, "%s %s\n", p, st.Mode().Type())
			continue
		}
		if st.Size() <= contentLimit {
			fh := sha256.New()
			if _, err := hashFile(context.Background(), p, fh, make([]byte, 64<<10)); err != nil {
				return "", fmt.Errorf("digest %s: %w", p, err)
			}
			fmt.Fprintf(h, "%s %x\n", p, fh.Sum(nil))
			continue
		}
		fmt.Fprintf(h, "%s %d %d\n", p, st.Size(), st.ModTime().UnixNano())
	}
	return hex.EncodeToString(h.Sum(nil))[:24], nil
}
