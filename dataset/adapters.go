package dataset

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"fairage/internal/registry"
	"fairage/internal/spec"
)

// An Adapter reads one dataset layout. Adapters register themselves
// (RegisterAdapter, from their file's init), and everything that lists
// them (the data section's allowed values and sub-sections, the config
// reference, the ingest stage) reads the registry.
type Adapter struct {
	// Name is the value of data.adapter ("appa-real").
	Name string
	// Doc says what layout it reads, for the config reference.
	Doc string
	// New returns the adapter's settings with their defaults; they are the
	// sub-section data.<key> (the name with '-' as '_').
	New func() AdapterConfig
}

// Key is the adapter's config sub-section name.
func (a Adapter) Key() string { return strings.ReplaceAll(a.Name, "-", "_") }

// AdapterConfig is an adapter's settings (a pointer to its option struct,
// whose fields carry config tags) and what it does with them.
type AdapterConfig interface {
	// Validate checks the settings; messages name data.<key>.<field>.
	Validate() error
	// Open reads the dataset's records.
	Open(ctx context.Context, env OpenEnv) (Source, error)
	// InputFiles lists the files whose contents (small ones) or sizes and
	// times (images) fingerprint the ingest, so editing the dataset
	// reruns it. Only regular files are listed, and the walk stops when
	// ctx is cancelled.
	InputFiles(ctx context.Context, env OpenEnv) ([]string, error)
}

// OpenEnv is what every adapter gets from the shared data settings.
type OpenEnv struct {
	Root    string              // data.root (resolved against the config file)
	Size    int                 // data.image_size
	Allowed map[string][]string // data.allowed
}

var adapters = registry.New[Adapter]("dataset adapter")

// RegisterAdapter adds an adapter; a second registration of a name is a
// programming error.
func RegisterAdapter(a Adapter) { adapters.Add(a.Name, a) }

// Adapters lists the registered adapters by name.
func Adapters() []Adapter { return adapters.All() }

// LookupAdapter returns the adapter of a data.adapter value.
func LookupAdapter(name string) (Adapter, bool) { return adapters.Get(name) }

// AdapterName is a data.adapter value: one of the registered adapters.
type AdapterName string

// Values lists the registered adapter names.
func (AdapterName) Values() []string { return adapters.Names() }

// AdapterSettings holds every registered adapter's settings, keyed by the
// sub-section name; it is a spec.Registry.
type AdapterSettings map[string]AdapterConfig

// DefaultAdapterSettings returns every adapter's defaults.
func DefaultAdapterSettings() AdapterSettings {
	out := AdapterSettings{}
	for _, a := range Adapters() {
		out[a.Key()] = a.New()
	}
	return out
}

// Sections implements spec.Registry. A nil registry (the zero value)
// lists every adapter with its defaults, for the config's key set.
func (s AdapterSettings) Sections() []spec.Named {
	var out []spec.Named
	for _, a := range Adapters() {
		c, ok := s[a.Key()]
		if !ok {
			if s != nil {
				continue // a view restricted to other sub-sections
			}
			c = a.New()
		}
		out = append(out, spec.Named{Name: a.Key(), Doc: a.Doc, Ptr: c})
	}
	return out
}

// DataConfig is the data section: the adapter, where the dataset lives,
// how images are packed and rows checked, and each adapter's settings.
type DataConfig struct {
	Adapter AdapterName   `yaml:"adapter" doc:"Which dataset layout to read (each adapter's settings are in data.<adapter> below)."`
	Root    string        `yaml:"root" path:"config" doc:"Dataset folder (utkface, appa-real; for csv the image root, default the metadata file's folder)."`
	Ingest  IngestOptions `yaml:",inline"`
	// Adapters holds each registered adapter's sub-section.
	Adapters AdapterSettings `yaml:",inline"`
}

// DefaultDataConfig returns the data section's defaults: the synthetic
// dataset.
func DefaultDataConfig() DataConfig {
	return DataConfig{Adapter: "synthetic", Ingest: DefaultIngestOptions(), Adapters: DefaultAdapterSettings()}
}

// Selected returns the chosen adapter's settings.
func (c *DataConfig) Selected() (AdapterConfig, error) {
	a, ok := LookupAdapter(string(c.Adapter))
	if !ok {
		return nil, fmt.Errorf("data.adapter: %q is not one of %s", c.Adapter, strings.Join(AdapterName("").Values(), ", "))
	}
	s, ok := c.Adapters[a.Key()]
	if !ok {
		return nil, fmt.Errorf("data.%s: the settings of adapter %s are missing", a.Key(), a.Name)
	}
	return s, nil
}

// Env returns what the chosen adapter gets from the shared settings.
func (c *DataConfig) Env() OpenEnv {
	return OpenEnv{Root: c.Root, Size: c.Ingest.Size, Allowed: c.Ingest.Allowed}
}

// Validate checks the shared settings and every adapter's.
func (c *DataConfig) Validate() error {
	errs := []error{spec.Check("data", c), c.Ingest.rules()}
	for _, a := range Adapters() {
		if s, ok := c.Adapters[a.Key()]; ok {
			errs = append(errs, s.Validate())
		}
	}
	return errors.Join(errs...)
}

// walkRegularFiles lists the regular files under root (following no
// symlinks to anything else), honouring ctx: FIFOs, sockets and devices
// are skipped, since opening one would block or read forever.
func walkRegularFiles(ctx context.Context, root string) ([]string, error) {
	if root == "" {
		return nil, nil
	}
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		switch {
		case d.Type().IsRegular():
			paths = append(paths, p)
		case d.Type()&fs.ModeSymlink != 0:
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				paths = append(paths, p)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("data.root %s: %w", root, err)
	}
	sort.Strings(paths)
	return paths, nil
}
