package config

import (
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"fairage/internal/spec"
)

// Value is implemented (on the pointer) by types with a config form of
// their own, such as a [min, max] range written as a two-number list.
type Value interface {
	FromConfig(raw any) error
	ToConfig() any
}

var valueType = reflect.TypeOf((*Value)(nil)).Elem()

// decoder fills option structs from viper's merged values.
type decoder struct {
	src      *Source
	problems []string
}

func (d *decoder) fail(key, format string, args ...any) {
	where := d.src.Where(key)
	if where == "" {
		where = d.src.File
	}
	d.problems = append(d.problems, fmt.Sprintf("%s: %s: %s", where, key, fmt.Sprintf(format, args...)))
}

// decode fills the struct v from raw (its section's values, keys as
// declared) without touching fields raw does not mention.
func (d *decoder) decode(v reflect.Value, prefix string, raw map[string]any) {
	for _, f := range spec.Fields(v.Type()) {
		key := joinKey(prefix, f.Key)
		fv := v.FieldByIndex(f.Index)
		if f.Registry {
			reg, ok := spec.RegistryOf(fv)
			if !ok {
				continue
			}
			for _, s := range reg.Sections() {
				sub, ok := lookup(raw, joinKey(f.Key, s.Name))
				if !ok {
					continue
				}
				m, ok := sub.(map[string]any)
				if !ok {
					d.fail(joinKey(key, s.Name), "expected a mapping of settings, got %s", describe(sub))
					continue
				}
				d.decode(reflect.ValueOf(s.Ptr).Elem(), joinKey(key, s.Name), m)
			}
			continue
		}
		if !f.Leaf() {
			continue
		}
		rv, ok := lookup(raw, f.Key)
		if !ok {
			continue
		}
		if err := d.value(fv, rv, key, &f); err != nil {
			d.fail(key, "%v", err)
		}
	}
}

// lookup descends raw along a dotted key.
func lookup(raw map[string]any, key string) (any, bool) {
	cur := any(raw)
	for _, part := range strings.Split(key, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// value converts one raw value into fv. Errors say what was expected.
func (d *decoder) value(fv reflect.Value, raw any, key string, f *spec.Field) error {
	if raw == nil {
		// An empty value (`key:` or null) clears a mapping, list or
		// optional value and leaves anything else at its default.
		switch fv.Kind() {
		case reflect.Map, reflect.Slice, reflect.Pointer:
			fv.SetZero()
		}
		return nil
	}
	if fv.CanAddr() && fv.Addr().Type().Implements(valueType) {
		return fv.Addr().Interface().(Value).FromConfig(raw)
	}
	switch fv.Kind() {
	case reflect.Pointer:
		p := reflect.New(fv.Type().Elem())
		if err := d.value(p.Elem(), raw, key, f); err != nil {
			return err
		}
		fv.Set(p)
		return nil
	case reflect.String:
		s, err := asString(raw)
		if err != nil {
			return err
		}
		if f != nil && f.Path && s != "" && !filepath.IsAbs(s) {
			if w := d.src.Where(key); w != "" && !strings.HasPrefix(w, "environment ") && !strings.HasPrefix(w, "--") {
				s = filepath.Join(filepath.Dir(w), s)
			}
		}
		fv.SetString(s)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := asInt(raw)
		if err != nil {
			return err
		}
		if fv.OverflowInt(n) {
			return fmt.Errorf("%d does not fit", n)
		}
		fv.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := asInt(raw)
		if err != nil {
			return err
		}
		if n < 0 || fv.OverflowUint(uint64(n)) {
			return fmt.Errorf("expected a non-negative integer, got %d", n)
		}
		fv.SetUint(uint64(n))
	case reflect.Float32, reflect.Float64:
		x, err := asFloat(raw)
		if err != nil {
			return err
		}
		fv.SetFloat(x)
	case reflect.Bool:
		switch b := raw.(type) {
		case bool:
			fv.SetBool(b)
		case string:
			v, err := strconv.ParseBool(b)
			if err != nil {
				return fmt.Errorf("expected true or false, got %s", describe(raw))
			}
			fv.SetBool(v)
		default:
			return fmt.Errorf("expected true or false, got %s", describe(raw))
		}
	case reflect.Slice:
		items, err := asList(raw)
		if err != nil {
			return err
		}
		out := reflect.MakeSlice(fv.Type(), len(items), len(items))
		for i, it := range items {
			if err := d.value(out.Index(i), it, key, f); err != nil {
				return fmt.Errorf("item %d: %w", i+1, err)
			}
		}
		fv.Set(out)
	case reflect.Map:
		m, ok := raw.(map[string]any)
		if !ok {
			if s, isText := raw.(string); isText {
				// From the environment: a YAML flow mapping.
				if parsed, err := parseFlowMap(s); err == nil {
					m, ok = parsed, true
				}
			}
			if !ok {
				return fmt.Errorf("expected a mapping, got %s", describe(raw))
			}
		}
		if fv.Type().Key().Kind() != reflect.String {
			return fmt.Errorf("unsupported mapping key type %s", fv.Type().Key())
		}
		out := reflect.MakeMapWithSize(fv.Type(), len(m))
		for _, k := range slices.Sorted(mapsKeys(m)) {
			name := unescapeKey(k)
			ev := reflect.New(fv.Type().Elem()).Elem()
			if err := d.value(ev, m[k], key+"."+name, nil); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			out.SetMapIndex(reflect.ValueOf(name).Convert(fv.Type().Key()), ev)
		}
		fv.Set(out)
	case reflect.Struct:
		// A struct inside a mapping (a gate): its keys were not checked
		// with the file's, so unknown ones are reported here.
		m, ok := raw.(map[string]any)
		if !ok {
			return fmt.Errorf("expected a mapping, got %s", describe(raw))
		}
		known := map[string]bool{}
		for _, sf := range spec.Fields(fv.Type()) {
			known[sf.Key] = true
		}
		var unknown []string
		for k := range m {
			if !known[k] {
				unknown = append(unknown, k)
			}
		}
		if len(unknown) > 0 {
			sort := slices.Sorted(mapsKeys(known))
			return fmt.Errorf("unknown key %q (expected %s)", unescapeKey(slices.Min(unknown)), strings.Join(sort, ", "))
		}
		sub := decoder{src: d.src}
		sub.decode(fv, key, m)
		if len(sub.problems) > 0 {
			return fmt.Errorf("%s", strings.Join(trimWhere(sub.problems, key), "; "))
		}
	default:
		return fmt.Errorf("unsupported setting type %s", fv.Type())
	}
	return nil
}

// trimWhere drops the "where: key: " part of nested problems, which the
// caller's message already carries.
func trimWhere(problems []string, key string) []string {
	out := make([]string, len(problems))
	for i, p := range problems {
		if j := strings.Index(p, key+"."); j >= 0 {
			p = p[j+len(key)+1:]
		}
		out[i] = p
	}
	return out
}

func asString(raw any) (string, error) {
	switch s := raw.(type) {
	case string:
		return s, nil
	case int, int64, uint64, float64, bool:
		// A scalar where text is expected (name: 42) is almost always meant
		// as text; YAML users cannot otherwise write numeric names unquoted.
		return fmt.Sprint(s), nil
	}
	return "", fmt.Errorf("expected text, got %s", describe(raw))
}

func asInt(raw any) (int64, error) {
	switch n := raw.(type) {
	case int:
		return int64(n), nil
	case int64:
		return n, nil
	case uint64:
		if n <= math.MaxInt64 {
			return int64(n), nil
		}
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
			return int64(n), nil
		}
	case string:
		if v, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64); err == nil {
			return v, nil
		}
	}
	return 0, fmt.Errorf("expected an integer, got %s", describe(raw))
}

func asFloat(raw any) (float64, error) {
	x, ok := spec.Number(raw)
	if !ok {
		if f, isFloat := raw.(float64); isFloat && (math.IsNaN(f) || math.IsInf(f, 0)) {
			return 0, fmt.Errorf("expected a finite number, got %v", f)
		}
		return 0, fmt.Errorf("expected a number, got %s", describe(raw))
	}
	return x, nil
}

func asList(raw any) ([]any, error) {
	switch l := raw.(type) {
	case []any:
		return l, nil
	case string:
		// Environment values: "a,b,c" (a YAML flow list was already parsed).
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

func parseFlowMap(s string) (map[string]any, error) {
	var m map[string]any
	if err := yamlUnmarshal([]byte(s), &m); err != nil || m == nil {
		return nil, fmt.Errorf("not a mapping")
	}
	return m, nil
}
