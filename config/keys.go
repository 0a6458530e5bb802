package config

import (
	"reflect"
	"strings"
	"unicode"

	"fairage/internal/spec"
)

// node is what a key of the declarations is: a section (struct of
// further keys) or a leaf value.
type node struct {
	section reflect.Type // non-nil for a section
	typ     reflect.Type // the leaf's type
}

// leaf is a settable key.
type leaf struct {
	typ  reflect.Type
	spec spec.Field
}

// keysOf lists every key declared in t (a struct type) under prefix,
// including registered sub-sections, mapped to what it is. Registered
// sub-sections come from a zero value's registry, which holds every
// registered name.
func keysOf(t reflect.Type, prefix string) map[string]node {
	out := map[string]node{}
	addKeys(t, prefix, out)
	return out
}

func addKeys(t reflect.Type, prefix string, out map[string]node) {
	for _, f := range spec.Fields(t) {
		key := joinKey(prefix, f.Key)
		switch {
		case f.Registry:
			for _, s := range registrySections(f.Type) {
				sub := joinKey(key, s.Name)
				st := reflect.TypeOf(s.Ptr).Elem()
				out[sub] = node{section: st}
				addKeys(st, sub, out)
			}
		case f.Inline:
			// Its fields are listed next, in the parent section.
		case !f.Leaf():
			out[key] = node{section: f.Type}
		default:
			out[key] = node{typ: f.Type}
		}
	}
}

// registrySections asks a fresh value of a registry type for its
// sub-sections.
func registrySections(t reflect.Type) []spec.Named {
	v := reflect.New(t)
	if r, ok := spec.RegistryOf(v.Elem()); ok {
		return r.Sections()
	}
	return nil
}

// leafKeys lists every settable leaf key of t under prefix.
func leafKeys(t reflect.Type, prefix string) map[string]leaf {
	out := map[string]leaf{}
	for k, n := range keysOf(t, prefix) {
		if n.section == nil {
			out[k] = leaf{typ: n.typ}
		}
	}
	return out
}

// allKeys lists every key (sections and leaves) of t.
func allKeys(t reflect.Type) map[string]node { return keysOf(t, "") }

// underMap finds the user-keyed mapping a --set key lies inside:
// "data.allowed.gender" is under the mapping data.allowed.
func underMap(leaves map[string]leaf, key string) (mapKey, rest string, f leaf, ok bool) {
	lower := strings.ToLower(key)
	for k := lower; ; {
		i := strings.LastIndex(k, ".")
		if i < 0 {
			return "", "", leaf{}, false
		}
		k = k[:i]
		if l, found := leaves[k]; found && l.typ.Kind() == reflect.Map {
			return k, key[len(k)+1:], l, true
		}
	}
}

// elemAt is the type reached by descending depth levels of mapping keys
// from t (nil when t does not nest that deep).
func elemAt(t reflect.Type, depth int) reflect.Type {
	for range depth {
		if t == nil || t.Kind() != reflect.Map {
			return nil
		}
		t = t.Elem()
	}
	return t
}

// Key escaping for viper, which lowercases keys and splits them at dots:
// an upper-case letter X becomes "^x", a dot "^_", a caret "^^".

func escapeKey(k string) string {
	if !strings.ContainsAny(k, ".^") && strings.ToLower(k) == k {
		return k
	}
	var b strings.Builder
	for _, r := range k {
		switch {
		case r == '^':
			b.WriteString("^^")
		case r == '.':
			b.WriteString("^_")
		case unicode.IsUpper(r):
			b.WriteRune('^')
			b.WriteRune(unicode.ToLower(r))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func unescapeKey(k string) string {
	if !strings.Contains(k, "^") {
		return k
	}
	var b strings.Builder
	rs := []rune(k)
	for i := 0; i < len(rs); i++ {
		if rs[i] != '^' || i+1 == len(rs) {
			b.WriteRune(rs[i])
			continue
		}
		i++
		switch rs[i] {
		case '^':
			b.WriteRune('^')
		case '_':
			b.WriteRune('.')
		default:
			b.WriteRune(unicode.ToUpper(rs[i]))
		}
	}
	return b.String()
}

// escapeValue escapes the keys of user-keyed mappings inside val, following
// the declared type t (nil: an undeclared shape, escaped throughout).
func escapeValue(t reflect.Type, val any) any {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch v := val.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		switch {
		case t != nil && t.Kind() == reflect.Map:
			for k, x := range v {
				out[escapeKey(k)] = escapeValue(t.Elem(), x)
			}
		case t != nil && spec.IsSection(t):
			fields := map[string]reflect.Type{}
			for _, f := range spec.Fields(t) {
				fields[f.Key] = f.Type
			}
			for k, x := range v {
				lk := strings.ToLower(k)
				out[lk] = escapeValue(fields[lk], x)
			}
		default:
			for k, x := range v {
				out[escapeKey(k)] = escapeValue(nil, x)
			}
		}
		return out
	case []any:
		var et reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			et = t.Elem()
		}
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = escapeValue(et, x)
		}
		return out
	}
	return val
}
