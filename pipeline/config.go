package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// EnvPrefix prefixes environment overrides: FAIRAGE_TRAIN_EPOCHS=3 sets
// train.epochs.
const EnvPrefix = "FAIRAGE"

// extendsKey names a base config that a file overlays (relative to the file).
const extendsKey = "extends"

// Config is a validated, fully resolved configuration: every schema key has
// a typed value (its default when the file is silent), and nothing outside
// the schema is present.
type Config struct {
	File   string   // the config file given by the user
	Chain  []string // the files read, base first (via extends)
	schema *Schema
	values map[string]any
	source map[string]string // where each non-default value came from
}

// LoadOptions are the overrides applied on top of the file.
type LoadOptions struct {
	Sets []string // "key=value" from --set, value parsed as YAML
	// Env lists the environment as "NAME=value" (os.Environ()); nil means
	// no environment overrides.
	Env []string
}

// Load reads, merges, overrides and validates a config file against schema.
// Every problem found is reported, each naming the file or override, the key
// and what was expected.
func Load(path string, schema *Schema, opts LoadOptions) (*Config, error) {
	chain, err := extendsChain(path)
	if err != nil {
		return nil, err
	}
	v := viper.New()
	var problems []string
	source := map[string]string{}
	for _, file := range chain {
		fv, err := readYAML(file)
		if err != nil {
			return nil, err
		}
		for _, key := range fv.AllKeys() {
			if key == extendsKey {
				continue
			}
			if p := checkKnown(schema, key); p != "" {
				problems = append(problems, fmt.Sprintf("%s: %s", file, p))
				continue
			}
			source[key] = file
		}
		if err := v.MergeConfigMap(fv.AllSettings()); err != nil {
			return nil, fmt.Errorf("config %s: %w", file, err)
		}
	}
	envs := envMap(opts.Env)
	for key := range schema.byKey {
		name := EnvName(key)
		if val, ok := envs[name]; ok {
			v.Set(key, val)
			source[key] = "environment " + name
		}
	}
	for _, set := range opts.Sets {
		key, raw, ok := strings.Cut(set, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		if !ok || key == "" {
			problems = append(problems, fmt.Sprintf("--set %q: expected key=value", set))
			continue
		}
		if p := checkKnown(schema, key); p != "" {
			problems = append(problems, fmt.Sprintf("--set %s: %s", key, p))
			continue
		}
		var val any
		if err := yaml.Unmarshal([]byte(raw), &val); err != nil || val == nil {
			val = raw
		}
		v.Set(key, val)
		source[key] = "--set"
	}

	c := &Config{File: path, Chain: chain, schema: schema, values: map[string]any{}, source: source}
	for _, sec := range schema.sections {
		for fi := range sec.Fields {
			f := &sec.Fields[fi]
			raw := v.Get(f.Key)
			if raw == nil {
				if f.Default == nil {
					if !f.Optional {
						problems = append(problems, fmt.Sprintf("%s: %s is required (%s)", c.where(f.Key), f.Key, f.Doc))
					}
					continue
				}
				raw = f.Default
			}
			val, err := coerce(f, raw)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %s: %v", c.where(f.Key), f.Key, err))
				continue
			}
			c.values[f.Key] = val
		}
	}
	if len(problems) > 0 {
		return nil, &ConfigError{File: path, Problems: problems}
	}
	return c, nil
}

// ConfigError lists every problem found in a config.
type ConfigError struct {
	File     string
	Problems []string
}

func (e *ConfigError) Error() string {
	if len(e.Problems) == 1 {
		return "invalid config: " + e.Problems[0]
	}
	return fmt.Sprintf("invalid config %s (%d problems):\n  - %s", e.File, len(e.Problems), strings.Join(e.Problems, "\n  - "))
}

// EnvName is the environment variable that overrides key.
func EnvName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

func (c *Config) where(key string) string {
	if s, ok := c.source[key]; ok {
		return s
	}
	// A key under a map field came from wherever its parent did.
	for k := key; strings.Contains(k, "."); {
		k = k[:strings.LastIndex(k, ".")]
		if s, ok := c.source[k]; ok {
			return s
		}
	}
	return c.File
}

func extendsChain(path string) ([]string, error) {
	var chain []string
	seen := map[string]bool{}
	for cur := path; cur != ""; {
		abs, err := filepath.Abs(cur)
		if err != nil {
			return nil, fmt.Errorf("config %s: %w", cur, err)
		}
		if seen[abs] {
			return nil, fmt.Errorf("config %s: extends forms a cycle (%s)", path, strings.Join(append(chain, cur), " -> "))
		}
		seen[abs] = true
		chain = append([]string{cur}, chain...)
		fv, err := readYAML(cur)
		if err != nil {
			return nil, err
		}
		next := ""
		if raw := fv.Get(extendsKey); raw != nil {
			s, ok := raw.(string)
			if !ok || s == "" {
				return nil, fmt.Errorf("config %s: %s: expected the path of a base config", cur, extendsKey)
			}
			next = s
			if !filepath.IsAbs(next) {
				next = filepath.Join(filepath.Dir(cur), next)
			}
		}
		cur = next
	}
	return chain, nil
}

func readYAML(path string) (*viper.Viper, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	fv := viper.New()
	fv.SetConfigFile(path)
	fv.SetConfigType("yaml")
	if err := fv.ReadInConfig(); err != nil {
		return nil, fmt.Errorf("config %s: not valid YAML: %w", path, err)
	}
	return fv, nil
}

func checkKnown(s *Schema, key string) string {
	if _, ok := s.lookup(key); ok {
		return ""
	}
	for _, sec := range s.sections {
		if key == sec.Name {
			return fmt.Sprintf("%s: expected a mapping of %s settings", key, sec.Name)
		}
	}
	msg := fmt.Sprintf("unknown key %q", key)
	if near := s.keysNear(key); len(near) > 0 {
		msg += " (known keys here: " + strings.Join(near, ", ") + ")"
	} else {
		var names []string
		for _, sec := range s.sections {
			names = append(names, sec.Name)
		}
		msg += " (sections: " + strings.Join(names, ", ") + ")"
	}
	return msg
}

func envMap(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, EnvPrefix+"_") {
			m[k] = v
		}
	}
	return m
}

// coerce converts a raw value (from YAML, the environment or --set) to the
// field's kind and checks its enum and bounds.
func coerce(f *Field, raw any) (any, error) {
	switch f.Kind {
	case KindString:
		s, err := asString(raw)
		if err != nil {
			return nil, err
		}
		return s, checkEnum(f, s)
	case KindInt:
		n, err := asInt(raw)
		if err != nil {
			return nil, err
		}
		return n, checkRange(f, float64(n))
	case KindFloat:
		x, err := asFloat(raw)
		if err != nil {
			return nil, err
		}
		return x, checkRange(f, x)
	case KindBool:
		switch b := raw.(type) {
		case bool:
			return b, nil
		case string:
			if v, err := strconv.ParseBool(b); err == nil {
				return v, nil
			}
		}
		return nil, fmt.Errorf("expected true or false, got %s", describe(raw))
	case KindStrings:
		items, err := asList(raw)
		if err != nil {
			return nil, err
		}
		out := make([]string, len(items))
		for i, it := range items {
			s, err := asString(it)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i+1, err)
			}
			if err := checkEnum(f, s); err != nil {
				return nil, fmt.Errorf("item %d: %w", i+1, err)
			}
			out[i] = s
		}
		return out, nil
	case KindInts:
		items, err := asList(raw)
		if err != nil {
			return nil, err
		}
		out := make([]int, len(items))
		for i, it := range items {
			n, err := asInt(it)
			if err == nil {
				err = checkRange(f, float64(n))
			}
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i+1, err)
			}
			out[i] = n
		}
		return out, nil
	case KindFloats:
		items, err := asList(raw)
		if err != nil {
			return nil, err
		}
		out := make([]float64, len(items))
		for i, it := range items {
			x, err := asFloat(it)
			if err == nil {
				err = checkRange(f, x)
			}
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i+1, err)
			}
			out[i] = x
		}
		return out, nil
	case KindMap:
		switch m := raw.(type) {
		case map[string]any:
			return m, nil
		case string:
			var parsed map[string]any
			if err := yaml.Unmarshal([]byte(m), &parsed); err == nil && parsed != nil {
				return parsed, nil
			}
		}
		return nil, fmt.Errorf("expected a mapping, got %s", describe(raw))
	}
	return nil, fmt.Errorf("unsupported kind %v", f.Kind)
}

func asString(raw any) (string, error) {
	switch s := raw.(type) {
	case string:
		return s, nil
	case int, int64, float64, bool:
		// A scalar where text is expected (name: 42) is almost always meant
		// as text; YAML users cannot otherwise write numeric names unquoted.
		return fmt.Sprint(s), nil
	}
	return "", fmt.Errorf("expected text, got %s", describe(raw))
}

func asInt(raw any) (int, error) {
	switch n := raw.(type) {
	case int:
		return n, nil
	case int64:
		return int(n), nil
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
			return int(n), nil
		}
	case string:
		if v, err := strconv.Atoi(strings.TrimSpace(n)); err == nil {
			return v, nil
		}
	}
	return 0, fmt.Errorf("expected an integer, got %s", describe(raw))
}

func asFloat(raw any) (float64, error) {
	switch n := raw.(type) {
	case int:
		return float64(n), nil
	case int64:
		return float64(n), nil
	case float64:
		if !math.IsNaN(n) && !math.IsInf(n, 0) {
			return n, nil
		}
	case string:
		if v, err := strconv.ParseFloat(strings.TrimSpace(n), 64); err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
			return v, nil
		}
	}
	return 0, fmt.Errorf("expected a number, got %s", describe(raw))
}

func asList(raw any) ([]any, error) {
	switch l := raw.(type) {
	case []any:
		return l, nil
	case []string:
		out := make([]any, len(l))
		for i, s := range l {
			out[i] = s
		}
		return out, nil
	case []int:
		out := make([]any, len(l))
		for i, s := range l {
			out[i] = s
		}
		return out, nil
	case []float64:
		out := make([]any, len(l))
		for i, s := range l {
			out[i] = s
		}
		return out, nil
	case string:
		// Environment values: "a,b,c" or a YAML flow list "[a, b]".
		var parsed []any
		if err := yaml.Unmarshal([]byte(l), &parsed); err == nil && parsed != nil {
			return parsed, nil
		}
		if strings.TrimSpace(l) == "" {
			return []any{}, nil
		}
		parts := strings.Split(l, ",")
		out := make([]any, len(parts))
		for i, p := range parts {
			out[i] = strings.TrimSpace(p)
		}
		return out, nil
	}
	return nil, fmt.Errorf("expected a list, got %s", describe(raw))
}

func describe(raw any) string {
	switch v := raw.(type) {
	case string:
		return strconv.Quote(v)
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case nil:
		return "nothing"
	}
	return fmt.Sprintf("%v", raw)
}

func checkEnum(f *Field, s string) error {
	if len(f.Enum) == 0 {
		return nil
	}
	for _, e := range f.Enum {
		if s == e {
			return nil
		}
	}
	return fmt.Errorf("%q is not one of %s", s, strings.Join(f.Enum, ", "))
}

func checkRange(f *Field, x float64) error {
	if f.Min != nil && x < *f.Min {
		return fmt.Errorf("%v is below the minimum %v", x, *f.Min)
	}
	if f.Max != nil && x > *f.Max {
		return fmt.Errorf("%v is above the maximum %v", x, *f.Max)
	}
	return nil
}

func (c *Config) get(key string, kind Kind) any {
	f, ok := c.schema.byKey[key]
	if !ok {
		panic(fmt.Sprintf("config: key %q is not in the schema", key))
	}
	if f.Kind != kind {
		panic(fmt.Sprintf("config: key %q is a %v, read as %v", key, f.Kind, kind))
	}
	return c.values[key]
}

// String returns a string key.
func (c *Config) String(key string) string { s, _ := c.get(key, KindString).(string); return s }

// Int returns an integer key.
func (c *Config) Int(key string) int { n, _ := c.get(key, KindInt).(int); return n }

// Float returns a number key.
func (c *Config) Float(key string) float64 { x, _ := c.get(key, KindFloat).(float64); return x }

// Bool returns a boolean key.
func (c *Config) Bool(key string) bool { b, _ := c.get(key, KindBool).(bool); return b }

// Strings returns a list-of-strings key.
func (c *Config) Strings(key string) []string {
	l, _ := c.get(key, KindStrings).([]string)
	return append([]string(nil), l...)
}

// Ints returns a list-of-integers key.
func (c *Config) Ints(key string) []int {
	l, _ := c.get(key, KindInts).([]int)
	return append([]int(nil), l...)
}

// Floats returns a list-of-numbers key.
func (c *Config) Floats(key string) []float64 {
	l, _ := c.get(key, KindFloats).([]float64)
	return append([]float64(nil), l...)
}

// Map returns a mapping key (nil when absent).
func (c *Config) Map(key string) map[string]any {
	m, _ := c.get(key, KindMap).(map[string]any)
	return m
}

// Section returns the resolved values under a top-level section, keyed by
// full key. Fingerprints hash it.
func (c *Config) Section(name string) map[string]any {
	out := map[string]any{}
	for k, v := range c.values {
		if strings.HasPrefix(k, name+".") {
			out[k] = v
		}
	}
	return out
}

// Nested returns the resolved config as nested mappings, as a YAML file
// would hold it.
func (c *Config) Nested() map[string]any {
	root := map[string]any{}
	keys := make([]string, 0, len(c.values))
	for k := range c.values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts := strings.Split(k, ".")
		m := root
		for _, p := range parts[:len(parts)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		m[parts[len(parts)-1]] = c.values[k]
	}
	return root
}

// YAML renders the resolved config.
func (c *Config) YAML() string {
	b, err := yaml.Marshal(c.Nested())
	if err != nil {
		return "# " + err.Error()
	}
	return string(b)
}

// Digest hashes, canonically, the resolved values under the given sections;
// an entry with a dot names a single key or a subtree (e.g. "run.seed",
// "data.synthetic"), so a stage can depend on the seed without depending on
// the run's name.
func (c *Config) Digest(sections ...string) string {
	m := map[string]any{}
	for _, s := range sections {
		if strings.Contains(s, ".") {
			// A dotted name is one key or every key under it.
			for k, v := range c.values {
				if k == s || strings.HasPrefix(k, s+".") {
					m[k] = v
				}
			}
			continue
		}
		for k, v := range c.Section(s) {
			m[k] = v
		}
	}
	b, err := json.Marshal(m) // encoding/json sorts map keys: canonical
	if err != nil {
		// Values come from YAML scalars, lists and string-keyed maps, all
		// of which marshal; failing here means a schema bug.
		panic(errors.Join(errors.New("config digest"), err))
	}
	return sha256Hex(b)
}

// Path returns a path-valued string key resolved against the folder of the
// config file that set it, so a base config's relative paths still work
// when an overlay in another folder extends it. Values from the
// environment, --set or defaults are relative to the working directory.
// An empty value stays empty.
func (c *Config) Path(key string) string {
	p := c.String(key)
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	if src, ok := c.source[key]; ok && !strings.HasPrefix(src, "environment ") && src != "--set" {
		return filepath.Join(filepath.Dir(src), p)
	}
	return p
}

// LoadResolved rebuilds a Config from resolved values as a manifest records
// them (Manifest.Config), so tools that look at finished runs (compare) use
// exactly the settings the run used.
func LoadResolved(nested map[string]any, schema *Schema, origin string) (*Config, error) {
	b, err := yaml.Marshal(nested)
	if err != nil {
		return nil, fmt.Errorf("config of %s: %w", origin, err)
	}
	dir, err := os.MkdirTemp("", "fairage-config-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "resolved.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return nil, err
	}
	c, err := Load(path, schema, LoadOptions{})
	if err != nil {
		return nil, fmt.Errorf("config recorded in %s: %w", origin, err)
	}
	c.File = origin
	return c, nil
}
