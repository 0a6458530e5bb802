package onnxmodel

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// RuntimeVersion is the ONNX Runtime release scripts/setup-onnx.sh
// installs. The Go binding is built against its C API (version 24), so a
// library of an older release cannot be used; a newer one can.
const RuntimeVersion = "1.24.1"

// minMajor and minMinor: the oldest release offering C API 24.
const minMajor, minMinor = 1, 24

// EnvLibrary names the environment variable that points at a user's own
// ONNX Runtime shared library, overriding the one in build/onnxruntime.
const EnvLibrary = "FAIRAGE_ONNXRUNTIME_LIB"

const setupHint = "run `make setup-onnx` (bash scripts/setup-onnx.sh) in the fairage checkout, or set " +
	EnvLibrary + " to an ONNX Runtime " + "1.24 or later shared library"

// The binding keeps one ONNX Runtime environment per process, so the
// library is loaded once; later calls must name the same file.
var env struct {
	sync.Mutex
	lib     string
	version string
}

// LibraryPath resolves the ONNX Runtime shared library: explicit when not
// empty, else $FAIRAGE_ONNXRUNTIME_LIB, else
// build/onnxruntime/libonnxruntime.so.<RuntimeVersion> in the fairage
// checkout (found from the working directory upwards, or where this
// package was compiled).
func LibraryPath(explicit string) (string, error) {
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return "", fmt.Errorf("ONNX Runtime library %s: %w; %s", explicit, err, setupHint)
		}
		return explicit, nil
	}
	if p := os.Getenv(EnvLibrary); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w (unset it to use the library make setup-onnx installs)", EnvLibrary, p, err)
		}
		return p, nil
	}
	var tried []string
	for _, root := range moduleRoots() {
		p := filepath.Join(root, "build", "onnxruntime", "libonnxruntime.so."+RuntimeVersion)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		tried = append(tried, p)
	}
	if len(tried) == 0 {
		return "", fmt.Errorf("the ONNX Runtime library was not found: no fairage checkout above the working directory and %s is not set; %s", EnvLibrary, setupHint)
	}
	return "", fmt.Errorf("the ONNX Runtime library was not found (looked for %s): %s", strings.Join(tried, ", "), setupHint)
}

// moduleRoots lists the fairage checkouts to look in: the one above the
// working directory, then the one this package was compiled in.
func moduleRoots() []string {
	var roots []string
	add := func(dir string) {
		for d := dir; ; d = filepath.Dir(d) {
			if isFairageRoot(d) {
				for _, r := range roots {
					if r == d {
						return
					}
				}
				roots = append(roots, d)
				return
			}
			if filepath.Dir(d) == d {
				return
			}
		}
	}
	if wd, err := os.Getwd(); err == nil {
		add(wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		add(filepath.Dir(file))
	}
	return roots
}

func isFairageRoot(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "module ") {
			return strings.TrimSpace(strings.TrimPrefix(line, "module")) == "fairage"
		}
	}
	return false
}

// ModuleRoot returns the fairage checkout the working directory is in (or
// this package was compiled in), where build/ holds what setup installed.
func ModuleRoot() (string, error) {
	roots := moduleRoots()
	if len(roots) == 0 {
		return "", errors.New("no fairage checkout (a go.mod of module fairage) above the working directory")
	}
	return roots[0], nil
}

// Init loads the ONNX Runtime library (resolved by LibraryPath) once per
// process and returns its version. Open calls it; call it directly to
// report the runtime before opening a model.
func Init(library string) (version string, err error) {
	lib, err := LibraryPath(library)
	if err != nil {
		return "", err
	}
	if abs, err := filepath.Abs(lib); err == nil {
		lib = abs
	}
	env.Lock()
	defer env.Unlock()
	if env.lib != "" {
		if env.lib != lib {
			return "", fmt.Errorf("ONNX Runtime is already loaded from %s in this process; it cannot also load %s", env.lib, lib)
		}
		return env.version, nil
	}
	ort.SetSharedLibraryPath(lib)
	// Errors come back as statuses, which Open and Predict wrap; the
	// runtime's own log lines would only repeat them on stderr.
	if err := ort.InitializeEnvironment(ort.WithLogLevelFatal()); err != nil {
		return "", explainInit(lib, err)
	}
	v := ort.GetVersion()
	if err := checkVersion(v); err != nil {
		ort.DestroyEnvironment()
		return "", fmt.Errorf("ONNX Runtime library %s: %w; %s", lib, err, setupHint)
	}
	env.lib, env.version = lib, v
	return v, nil
}

// explainInit turns the binding's initialisation errors into ones that say
// what is wrong with the file and how to fix it.
func explainInit(lib string, err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "Error loading ONNX shared library"):
		_, detail, _ := strings.Cut(msg, "\": ")
		return fmt.Errorf("cannot load the ONNX Runtime library %s (%s): %s", lib, detail, setupHint)
	case strings.Contains(msg, "OrtGetApiBase"):
		return fmt.Errorf("%s is not an ONNX Runtime library (it has no OrtGetApiBase): %s", lib, setupHint)
	case strings.Contains(msg, "Error setting ORT API base"):
		return fmt.Errorf("%s is an ONNX Runtime older than %d.%d: it lacks the C API version 24 that fairage's binding needs; %s", lib, minMajor, minMinor, setupHint)
	}
	return fmt.Errorf("ONNX Runtime library %s: %w", lib, err)
}

// checkVersion accepts releases from 1.24 on.
func checkVersion(v string) error {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return fmt.Errorf("reports version %q, not major.minor.patch", v)
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return fmt.Errorf("reports version %q, not major.minor.patch", v)
	}
	if major < minMajor || (major == minMajor && minor < minMinor) {
		return fmt.Errorf("is version %s, older than %d.%d", v, minMajor, minMinor)
	}
	return nil
}
