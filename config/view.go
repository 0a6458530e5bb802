package config

import (
	"fmt"
	"reflect"
	"sort"

	"fairage/internal/spec"
)

// Decl is one declared setting: a section, a sub-section or a single key
// of the root option struct, found from a pointer into it.
type Decl struct {
	Key   string // dotted config key ("balance", "run.seed", "data.utkface")
	value reflect.Value
	set   func(view reflect.Value) // copies the setting into a view
	typ   reflect.Type
}

// Value returns the declared setting's current value.
func (d Decl) Value() any { return d.value.Interface() }

// Declare resolves pointers into root (a pointer to the root option
// struct) to the settings they point at: a field (a whole section, a
// nested struct or one key) or a registered sub-section (the pointer a
// registry's Sections returns). An inline struct declares its own fields.
// A pointer that is not into root is a programming error.
func Declare(root any, ptrs ...any) ([]Decl, error) {
	rv := reflect.ValueOf(root).Elem()
	var all []Decl
	collect(rv, "", nil, &all)
	var out []Decl
	for _, p := range ptrs {
		pv := reflect.ValueOf(p)
		if pv.Kind() != reflect.Pointer || pv.IsNil() {
			return nil, fmt.Errorf("config: declared %T is not a pointer into the config", p)
		}
		found := false
		for _, d := range all {
			if d.value.CanAddr() && d.value.Addr().Pointer() == pv.Pointer() && d.value.Type() == pv.Type().Elem() {
				out = append(out, d)
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("config: declared %T is not a setting of the config", p)
		}
	}
	return out, nil
}

// collect lists every field and registered sub-section under v with the
// setter that copies it from v into a view of the same type.
func collect(v reflect.Value, prefix string, path []func(reflect.Value) reflect.Value, out *[]Decl) {
	for _, f := range spec.Fields(v.Type()) {
		f := f
		key := joinKey(prefix, f.Key)
		fv := v.FieldByIndex(f.Index)
		at := func(view reflect.Value) reflect.Value {
			for _, step := range path {
				view = step(view)
			}
			return view.FieldByIndex(f.Index)
		}
		if f.Registry {
			reg, ok := spec.RegistryOf(fv)
			if !ok {
				continue
			}
			for _, s := range reg.Sections() {
				s := s
				ptr := reflect.ValueOf(s.Ptr)
				subKey := joinKey(key, s.Name)
				*out = append(*out, Decl{Key: subKey, value: ptr.Elem(), typ: ptr.Elem().Type(), set: func(view reflect.Value) {
					m := at(view)
					if m.Kind() != reflect.Map {
						panic(fmt.Sprintf("config: registry %s is a %s; only mapping registries can be declared", key, m.Type()))
					}
					if m.IsNil() {
						m.Set(reflect.MakeMap(m.Type()))
					}
					// The view gets its own copy of the sub-section.
					cp := reflect.New(ptr.Elem().Type())
					cp.Elem().Set(ptr.Elem())
					m.SetMapIndex(reflect.ValueOf(s.Name).Convert(m.Type().Key()), cp.Convert(m.Type().Elem()))
				}})
			}
			continue
		}
		if f.Inline && !f.Leaf() {
			// An inline struct stands for its fields; declare it whole.
			*out = append(*out, Decl{Key: key, value: fv, typ: fv.Type(), set: func(view reflect.Value) { at(view).Set(fv) }})
			continue
		}
		*out = append(*out, Decl{Key: key, value: fv, typ: fv.Type(), set: func(view reflect.Value) { at(view).Set(fv) }})
	}
}

// Restrict returns a new root of the same type holding only the declared
// settings; everything else is the zero value, so code handed the view
// cannot read what it did not declare.
func Restrict[T any](root *T, decls []Decl) *T {
	view := new(T)
	vv := reflect.ValueOf(view).Elem()
	for _, d := range decls {
		d.set(vv)
	}
	return view
}

// DeclDigest hashes the declared settings canonically (keys with their
// values, fingerprint:"-" settings left out).
func DeclDigest(decls []Decl) string {
	m := map[string]any{}
	for _, d := range decls {
		m[d.Key] = canonicalValue(d.value)
	}
	return hashJSON(m)
}

// DeclLeaves lists the leaf keys the declarations cover, for tests that
// check a stage's fingerprint follows exactly what it declares.
func DeclLeaves(decls []Decl, withUnfingerprinted bool) []string {
	var out []string
	for _, d := range decls {
		if spec.IsSection(d.typ) {
			for k := range leafKeysFiltered(d.typ, d.Key, withUnfingerprinted) {
				out = append(out, k)
			}
			continue
		}
		out = append(out, d.Key)
	}
	sort.Strings(out)
	return out
}

func leafKeysFiltered(t reflect.Type, prefix string, withUnfingerprinted bool) map[string]bool {
	out := map[string]bool{}
	for _, f := range spec.Fields(t) {
		key := joinKey(prefix, f.Key)
		if f.Registry {
			for _, s := range registrySections(f.Type) {
				for k := range leafKeysFiltered(reflect.TypeOf(s.Ptr).Elem(), joinKey(key, s.Name), withUnfingerprinted) {
					out[k] = true
				}
			}
			continue
		}
		if f.Leaf() && (withUnfingerprinted || !f.NoFingerprint) {
			out[key] = true
		}
	}
	return out
}

func canonicalValue(v reflect.Value) any {
	if spec.IsSection(v.Type()) {
		return encodeStruct(v, true)
	}
	return encodeValue(v, true)
}
