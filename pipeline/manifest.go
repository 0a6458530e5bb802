package pipeline

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"fairage/internal/atomicfile"
)

// ManifestFile is the name of the manifest inside a run folder.
const ManifestFile = "manifest.json"

// Manifest records what a run did and why: the resolved config, each
// stage's fingerprint and whether it ran or was skipped, durations, counts,
// versions and host.
type Manifest struct {
	Name        string            `json:"name"`
	ConfigFile  string            `json:"config_file"`
	ConfigChain []string          `json:"config_chain"`
	Config      map[string]any    `json:"config"`
	Seed        int               `json:"seed"`
	Status      RunStatus         `json:"status"`
	Error       string            `json:"error,omitempty"`
	Started     time.Time         `json:"started"`
	Finished    time.Time         `json:"finished,omitempty"`
	Host        string            `json:"host"`
	Versions    map[string]string `json:"versions"`
	Args        []string          `json:"args,omitempty"`
	Stages      []StageRecord     `json:"stages"`
}

// StageRecord is one stage's entry in the manifest.
type StageRecord struct {
	Name         string            `json:"name"`
	Status       StageOutcome      `json:"status"`
	Reason       string            `json:"reason"`
	Fingerprint  string            `json:"fingerprint"`
	ConfigDigest string            `json:"config_digest"`
	Inputs       map[string]string `json:"inputs,omitempty"`
	External     string            `json:"external,omitempty"`
	OutputDigest string            `json:"output_digest,omitempty"`
	Output       string            `json:"output,omitempty"` // folder, relative to the run folder
	DurationS    float64           `json:"duration_s"`
	// ComputedS is, for a stage reused from the cache, how long it took
	// when its output was computed; DurationS is then 0.
	ComputedS float64 `json:"computed_s,omitempty"`
	Stats     Stats   `json:"stats"`
	Check     string  `json:"check_failed,omitempty"` // a Verifier's error
}

// Stage returns the record of a stage by name.
func (m *Manifest) Stage(name string) (*StageRecord, bool) {
	for i := range m.Stages {
		if m.Stages[i].Name == name {
			return &m.Stages[i], true
		}
	}
	return nil, false
}

func (m *Manifest) write(runDir string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	return atomicfile.WriteBytes(filepath.Join(runDir, ManifestFile), append(b, '\n'))
}

// ReadManifest reads runDir/manifest.json.
func ReadManifest(runDir string) (*Manifest, error) {
	path := filepath.Join(runDir, ManifestFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", path, err)
	}
	return &m, nil
}
