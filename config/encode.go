package config

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"

	"go.yaml.in/yaml/v3"

	"fairage/internal/spec"
)

func yamlUnmarshal(b []byte, v any) error { return yaml.Unmarshal(b, v) }

// Nested renders option struct v as nested mappings, as a YAML file would
// hold it: every declared setting with its value, registered sub-sections
// included.
func Nested(v any) map[string]any {
	return encodeStruct(reflect.Indirect(reflect.ValueOf(v)), false)
}

// YAML renders option struct v as YAML.
func YAML(v any) string {
	b, err := yaml.Marshal(Nested(v))
	if err != nil {
		return "# " + err.Error()
	}
	return string(b)
}

// Digest hashes, canonically, the settings of v that can change what a
// stage writes: fields tagged fingerprint:"-" are left out.
func Digest(v any) string { return hashJSON(Canonical(v)) }

func hashJSON(x any) string {
	b, err := json.Marshal(x)
	if err != nil {
		// Settings are scalars, lists and string-keyed mappings, all of
		// which marshal; failing here is a declaration bug any test finds.
		panic(fmt.Sprintf("config digest: %v", err))
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])[:24]
}

// Canonical is Nested without the fingerprint:"-" settings.
func Canonical(v any) map[string]any {
	return encodeStruct(reflect.Indirect(reflect.ValueOf(v)), true)
}

func encodeStruct(v reflect.Value, canonical bool) map[string]any {
	out := map[string]any{}
	for _, f := range spec.Fields(v.Type()) {
		if canonical && f.NoFingerprint {
			continue
		}
		fv := v.FieldByIndex(f.Index)
		if f.Registry {
			reg, ok := spec.RegistryOf(fv)
			if !ok {
				continue
			}
			for _, s := range reg.Sections() {
				put(out, joinKey(f.Key, s.Name), encodeStruct(reflect.ValueOf(s.Ptr).Elem(), canonical))
			}
			continue
		}
		if !f.Leaf() {
			if f.Key != "" && !f.Inline {
				put(out, f.Key, map[string]any{})
			}
			continue
		}
		put(out, f.Key, encodeValue(fv, canonical))
	}
	return out
}

// put stores val at a dotted key, creating the mappings on the way.
func put(m map[string]any, key string, val any) {
	parts := splitKey(key)
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	last := parts[len(parts)-1]
	if existing, ok := m[last].(map[string]any); ok {
		if nm, ok := val.(map[string]any); ok {
			for k, x := range nm {
				existing[k] = x
			}
			return
		}
	}
	m[last] = val
}

func splitKey(key string) []string {
	var parts []string
	start := 0
	for i := 0; i < len(key); i++ {
		if key[i] == '.' {
			parts = append(parts, key[start:i])
			start = i + 1
		}
	}
	return append(parts, key[start:])
}

func encodeValue(v reflect.Value, canonical bool) any {
	if v.CanAddr() && v.Addr().Type().Implements(valueType) {
		return v.Addr().Interface().(Value).ToConfig()
	}
	if v.Type().Implements(valueType) {
		return v.Interface().(Value).ToConfig()
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		if v.Kind() == reflect.Pointer && spec.IsSection(v.Elem().Type()) {
			return encodeStruct(v.Elem(), canonical)
		}
		return encodeValue(v.Elem(), canonical)
	case reflect.String:
		return v.String()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint()
	case reflect.Float32, reflect.Float64:
		return v.Float()
	case reflect.Bool:
		return v.Bool()
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return []any{}
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = encodeValue(v.Index(i), canonical)
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		out := make(map[string]any, v.Len())
		it := v.MapRange()
		for it.Next() {
			out[it.Key().String()] = encodeValue(it.Value(), canonical)
		}
		return out
	case reflect.Struct:
		return encodeStruct(v, canonical)
	}
	return fmt.Sprint(v.Interface())
}
