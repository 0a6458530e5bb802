// Package config loads fairage config files into typed option structs.
//
// Each component declares its settings once, as a Go struct whose fields
// carry `yaml`, `doc`, `range` and related tags (see package
// fairage/internal/spec); its Validate method is the single source of its
// rules. This package reads the YAML files (following `extends`), overlays
// the environment and --set overrides with viper, and decodes the result
// strictly into the structs: an unknown key, a value of the wrong type, an
// unknown FAIRAGE_* variable or a rule a Validate method rejects is reported
// with the file, variable or flag that set it, all problems at once, as a
// *Error. The same declarations generate the config reference (Reference)
// and the canonical form stage fingerprints hash (Digest).
//
// Viper lowercases every key it holds. Setting names are lowercase, but the
// keys of user-keyed mappings (group names, value mappings) carry the
// user's values, so the loader escapes their upper-case letters (and dots,
// which viper would read as nesting) before handing them to viper and
// restores them when decoding.
package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// ExtendsKey names a base config that a file overlays (relative to the file).
const ExtendsKey = "extends"

// Options are the overrides applied on top of the files.
type Options struct {
	// Sets are "key=value" overrides from --set; the value is parsed as YAML.
	Sets []string
	// Env is the environment as "NAME=value" (os.Environ()); nil means no
	// environment overrides.
	Env []string
	// EnvPrefix prefixes environment overrides: with "FAIRAGE",
	// FAIRAGE_TRAIN_EPOCHS=3 sets train.epochs. Every variable with the
	// prefix must name a setting or be listed in OtherEnv.
	EnvPrefix string
	// OtherEnv lists variables with the prefix that are not settings (read
	// by set-up scripts or tests), so they are not reported as unknown.
	OtherEnv []string
	// Flags are overrides a command's own flags stand for (pipeline audit
	// --y-true age), applied after Sets; problems with them name the flag.
	Flags []Flag
}

// Flag is one command-line flag that sets a config key.
type Flag struct {
	Name  string // the flag as the user typed it, "--y-true"
	Key   string // the setting, "audit.y_true"
	Value string // parsed as YAML
}

// Source records where a loaded config came from.
type Source struct {
	File  string   // the file the user gave
	Chain []string // the files read, base first (via extends)
	where map[string]string
}

// Where says which file, variable or flag set key ("" for a default).
// A key under a user-keyed mapping reports where the mapping was set.
func (s *Source) Where(key string) string {
	if s == nil {
		return ""
	}
	for k := key; ; {
		if w, ok := s.where[k]; ok {
			return w
		}
		i := strings.LastIndex(k, ".")
		if i < 0 {
			return ""
		}
		k = k[:i]
	}
}

// Error lists every problem found in a config. Its exit code is the
// documented "invalid config" one.
type Error struct {
	File     string
	Problems []string
}

func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return "invalid config: " + e.Problems[0]
	}
	name := "invalid config"
	if e.File != "" {
		name += " " + e.File
	}
	return fmt.Sprintf("%s (%d problems):\n  - %s", name, len(e.Problems), strings.Join(e.Problems, "\n  - "))
}

// Validator is implemented by option structs with rules beyond types.
type Validator interface{ Validate() error }

// EnvName is the environment variable that overrides key.
func EnvName(prefix, key string) string {
	return prefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Load reads path (and the files it extends), applies the environment and
// --set overrides, decodes everything into dst (a pointer to a struct that
// already holds the defaults) and runs dst's Validate. Every problem found
// is reported at once, each naming where the value came from. An empty
// path reads no file: the defaults with the overrides.
func Load(path string, dst any, opts Options) (*Source, error) {
	src := &Source{File: path, where: map[string]string{}}
	l := &loader{root: reflect.TypeOf(dst).Elem(), src: src, v: viper.New()}
	var chain []string
	var err error
	if path != "" {
		if chain, err = extendsChain(path); err != nil {
			return nil, &Error{File: path, Problems: []string{err.Error()}}
		}
	}
	src.Chain = chain
	for _, file := range chain {
		raw, err := readYAML(file)
		if err != nil {
			return nil, &Error{File: path, Problems: []string{err.Error()}}
		}
		delete(raw, ExtendsKey)
		enc := l.prepare(raw, file)
		if err := l.v.MergeConfigMap(enc); err != nil {
			l.problem("%s: %v", file, err)
		}
	}
	l.applyEnv(opts)
	l.applySets(opts.Sets)
	l.applyFlags(opts.Flags)
	// Unknown keys were left out; decode and validate the rest, so every
	// problem shows at once. Validation waits for values of the right type.
	d := decoder{src: src}
	d.decode(reflect.ValueOf(dst).Elem(), "", l.v.AllSettings())
	l.problems = append(l.problems, d.problems...)
	if len(d.problems) == 0 {
		l.validate(dst)
	}
	if len(l.problems) > 0 {
		return nil, &Error{File: path, Problems: l.problems}
	}
	return src, nil
}

// Decode fills dst (holding defaults) from resolved nested values, as a
// run manifest records them, and validates it; origin names the values'
// source in messages.
func Decode(values map[string]any, dst any, origin string) error {
	src := &Source{File: origin, where: map[string]string{}}
	l := &loader{root: reflect.TypeOf(dst).Elem(), src: src, v: viper.New()}
	if err := l.v.MergeConfigMap(l.prepare(values, origin)); err != nil {
		return fmt.Errorf("%s: %w", origin, err)
	}
	d := decoder{src: src}
	d.decode(reflect.ValueOf(dst).Elem(), "", l.v.AllSettings())
	l.problems = append(l.problems, d.problems...)
	if len(l.problems) == 0 {
		l.validate(dst)
	}
	if len(l.problems) > 0 {
		return &Error{File: origin, Problems: l.problems}
	}
	return nil
}

type loader struct {
	root     reflect.Type
	src      *Source
	v        *viper.Viper
	problems []string
}

func (l *loader) problem(format string, args ...any) {
	l.problems = append(l.problems, fmt.Sprintf(format, args...))
}

// prepare checks a file's keys against the declarations (recording where
// each was set) and escapes the keys of user-keyed mappings for viper.
func (l *loader) prepare(raw map[string]any, file string) map[string]any {
	out := map[string]any{}
	l.prepareStruct(l.root, "", raw, out, file)
	return out
}

func (l *loader) prepareStruct(t reflect.Type, prefix string, raw, out map[string]any, file string) {
	known := keysOf(t, prefix)
	for _, k := range slices.Sorted(mapsKeys(raw)) {
		val := raw[k]
		key := strings.ToLower(k)
		full := joinKey(prefix, key)
		f, ok := known[full]
		if !ok {
			l.problem("%s: %s", file, unknownKey(known, full))
			continue
		}
		switch {
		case f.section != nil:
			m, ok := val.(map[string]any)
			if !ok {
				if val == nil {
					continue
				}
				l.problem("%s: %s: expected a mapping of %s settings, got %s", file, full, full, describe(val))
				continue
			}
			sub := map[string]any{}
			l.prepareStruct(f.section, full, m, sub, file)
			out[key] = sub
		default:
			l.src.where[full] = file
			out[key] = escapeValue(f.typ, val)
		}
	}
}

// applyEnv overlays FAIRAGE_* variables; unknown ones are problems.
func (l *loader) applyEnv(opts Options) {
	if opts.EnvPrefix == "" {
		return
	}
	leaves := leafKeys(l.root, "")
	byName := map[string]string{}
	for key := range leaves {
		byName[EnvName(opts.EnvPrefix, key)] = key
	}
	other := map[string]bool{}
	for _, o := range opts.OtherEnv {
		other[o] = true
	}
	var names []string
	vals := map[string]string{}
	for _, kv := range opts.Env {
		name, val, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(name, opts.EnvPrefix+"_") {
			names = append(names, name)
			vals[name] = val
		}
	}
	sort.Strings(names)
	for _, name := range names {
		key, ok := byName[name]
		if !ok {
			if !other[name] {
				msg := fmt.Sprintf("environment %s: not a setting", name)
				if near := nearest(name, slices.Collect(mapsKeys(byName))); near != "" {
					msg += fmt.Sprintf(" (did you mean %s?)", near)
				}
				l.problems = append(l.problems, msg)
			}
			continue
		}
		l.set(key, leaves[key], vals[name], "environment "+name)
	}
}

// applySets overlays --set key=value overrides.
func (l *loader) applySets(sets []string) {
	leaves := leafKeys(l.root, "")
	for _, s := range sets {
		k, raw, ok := strings.Cut(s, "=")
		key := strings.ToLower(strings.TrimSpace(k))
		if !ok || key == "" {
			l.problem("--set %q: expected key=value", s)
			continue
		}
		if f, ok := leaves[key]; ok {
			l.set(key, f, raw, "--set")
			continue
		}
		// A whole section: --set augment.blur='{p: 0.5, range: [0, 1]}'.
		if n, ok := allKeys(l.root)[key]; ok && n.section != nil {
			var val any
			if err := yaml.Unmarshal([]byte(raw), &val); err != nil {
				l.problem("--set %s: %v", key, err)
				continue
			}
			m, ok := val.(map[string]any)
			if !ok {
				l.problem("--set %s: expected a mapping of %s settings, got %s", key, key, describe(val))
				continue
			}
			sub := map[string]any{}
			l.prepareStruct(n.section, key, m, sub, "--set")
			l.v.Set(key, sub)
			continue
		}
		// A key inside a user-keyed mapping: data.allowed.gender=[female].
		if mk, rest, f, ok := underMap(leaves, strings.TrimSpace(k)); ok {
			var val any
			if err := yaml.Unmarshal([]byte(raw), &val); err != nil || val == nil {
				val = raw
			}
			path := mk
			for _, part := range strings.Split(rest, ".") {
				path += "." + escapeKey(part)
			}
			l.src.where[path] = "--set"
			l.v.Set(path, escapeValue(elemAt(f.typ, strings.Count(rest, ".")+1), val))
			continue
		}
		l.problem("--set %s: %s", key, unknownKey(allKeys(l.root), key))
	}
}

// applyFlags overlays the settings a command's flags stand for.
func (l *loader) applyFlags(flags []Flag) {
	leaves := leafKeys(l.root, "")
	for _, fl := range flags {
		f, ok := leaves[fl.Key]
		if !ok {
			l.problem("%s: %s", fl.Name, unknownKey(allKeys(l.root), fl.Key))
			continue
		}
		l.set(fl.Key, f, fl.Value, fl.Name)
	}
}

// set parses an override's text as YAML and overlays it.
func (l *loader) set(key string, f leaf, text, where string) {
	var val any
	if err := yaml.Unmarshal([]byte(text), &val); err != nil || val == nil {
		val = text
	}
	l.src.where[key] = where
	l.v.Set(key, escapeValue(f.typ, val))
}

// validate runs the Validate method of dst and attributes each problem to
// where its key was set.
func (l *loader) validate(dst any) {
	v, ok := dst.(Validator)
	if !ok {
		return
	}
	for _, e := range flatten(v.Validate()) {
		msg := e.Error()
		key, _, _ := strings.Cut(msg, ":")
		if strings.ContainsAny(key, " \n") {
			l.problems = append(l.problems, msg) // not keyed
			continue
		}
		// "analysis.intersections[0][1]" was set where the list was.
		if i := strings.IndexByte(key, '['); i > 0 {
			key = key[:i]
		}
		w := l.src.Where(key)
		if w == "" {
			w = l.src.File
		}
		if w == "" {
			l.problems = append(l.problems, msg) // a default, with no file
			continue
		}
		l.problems = append(l.problems, w+": "+msg)
	}
}

// Flatten splits joined errors into their parts.
func Flatten(err error) []error { return flatten(err) }

// flatten splits joined errors into their parts.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// extendsChain lists path and the configs it extends, base first. A
// cycle is reported with the files in the order they extend each other.
func extendsChain(path string) ([]string, error) {
	var chain []string // user's file first
	seen := map[string]int{}
	for cur, from := path, ""; cur != ""; {
		abs, err := filepath.Abs(cur)
		if err != nil {
			return nil, fmt.Errorf("config %s: %w", cur, err)
		}
		if i, ok := seen[abs]; ok {
			loop := append(append([]string(nil), chain[i:]...), cur)
			return nil, fmt.Errorf("config %s: extends forms a cycle: %s", path, strings.Join(loop, " → "))
		}
		seen[abs] = len(chain)
		if _, err := os.Stat(cur); err != nil {
			if from != "" {
				return nil, fmt.Errorf("config %s: %s: %q: %w", from, ExtendsKey, cur, err)
			}
			return nil, fmt.Errorf("config %s: %w", cur, err)
		}
		chain = append(chain, cur)
		raw, err := readYAML(cur)
		if err != nil {
			return nil, err
		}
		next := ""
		if v, ok := raw[ExtendsKey]; ok {
			s, ok := v.(string)
			if !ok || s == "" {
				return nil, fmt.Errorf("config %s: %s: expected the path of a base config, got %s", cur, ExtendsKey, describe(v))
			}
			next = s
			if !filepath.IsAbs(next) {
				next = filepath.Join(filepath.Dir(cur), next)
			}
		}
		from, cur = cur, next
	}
	slices.Reverse(chain)
	return chain, nil
}

// readYAML parses a config file into nested maps, keys as written.
func readYAML(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	var raw any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("config %s: not valid YAML: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	switch m := raw.(type) {
	case nil:
		return map[string]any{}, nil
	case map[string]any:
		return m, nil
	}
	return nil, fmt.Errorf("config %s: expected a mapping of sections at the top, got %s", path, describe(raw))
}

// unknownKey explains an unknown key and lists the known ones beside it.
func unknownKey(all map[string]node, full string) string {
	parent := ""
	if i := strings.LastIndex(full, "."); i >= 0 {
		parent = full[:i]
	}
	var near []string
	for k := range all {
		p := ""
		if i := strings.LastIndex(k, "."); i >= 0 {
			p = k[:i]
		}
		if p == parent {
			near = append(near, k)
		}
	}
	sort.Strings(near)
	msg := fmt.Sprintf("unknown key %q", full)
	if len(near) > 0 {
		if parent == "" {
			msg += " (sections: " + strings.Join(near, ", ") + ")"
		} else {
			msg += " (known keys here: " + strings.Join(near, ", ") + ")"
		}
	}
	return msg
}

// nearest returns the candidate closest to s by edit distance, if close.
func nearest(s string, candidates []string) string {
	best, bestD := "", 4
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func describe(raw any) string {
	switch v := raw.(type) {
	case string:
		return fmt.Sprintf("%q", v)
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case nil:
		return "nothing"
	}
	return fmt.Sprintf("%v", raw)
}

func joinKey(prefix, key string) string {
	if prefix == "" {
		return key
	}
	if key == "" {
		return prefix
	}
	return prefix + "." + key
}

func mapsKeys[M ~map[string]V, V any](m M) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
