// Package modelsdir locates the pretrained model files that
// scripts/setup-models.sh installs (build/models/<name>/, laid out as inside
// each npm package), so the code that reads them and the tests that skip
// without them agree on where they are.
package modelsdir

import (
	"fmt"
	"os"
	"path/filepath"
)

// Env names the variable that points at a folder of model files a user
// already has (same layout); setup-models.sh honours it too.
const Env = "FAIRAGE_MODELS_DIR"

// Dir returns the models folder: $FAIRAGE_MODELS_DIR when set, otherwise the
// first build/models found walking up from the working directory, then from
// the executable's folder (bin/pipeline run from elsewhere). The error says
// where it looked and how to install the files.
func Dir() (string, error) {
	if d := os.Getenv(Env); d != "" {
		if !isDir(d) {
			return "", fmt.Errorf("%s=%s: no such folder", Env, d)
		}
		return d, nil
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	for _, start := range starts {
		for dir := start; ; {
			if d := filepath.Join(dir, "build", "models"); isDir(d) {
				return d, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", fmt.Errorf("no build/models folder above %v: run `make setup-models` (or set %s to a folder holding the model files)", starts, Env)
}

// Path returns the file rel (slash-separated, e.g.
// "face-api/model/face_recognition_model.bin") inside Dir, checking that it
// exists.
func Path(rel string) (string, error) {
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("model file %s not found: run `make setup-models` (or set %s to a folder holding it as %s)", p, Env, rel)
	}
	return p, nil
}

func isDir(d string) bool {
	st, err := os.Stat(d)
	return err == nil && st.IsDir()
}
