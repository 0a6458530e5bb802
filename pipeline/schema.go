package pipeline

import (
	"fmt"
	"sort"
	"strings"
)

// Kind is the type of a config value.
type Kind int

// The kinds of config values.
const (
	KindString Kind = iota
	KindInt
	KindFloat
	KindBool
	KindStrings // list of strings
	KindInts    // list of integers
	KindFloats  // list of numbers
	KindMap     // free-form mapping; its keys are checked by the stage that reads it
)

func (k Kind) String() string {
	return [...]string{"string", "integer", "number", "boolean", "list of strings", "list of integers", "list of numbers", "mapping"}[k]
}

// Field declares one config key: its type, default, allowed values and
// documentation. The same declaration drives defaults, validation and the
// generated config reference, so they cannot drift apart.
type Field struct {
	Key     string // full dotted key, lowercase (viper lowercases keys)
	Kind    Kind
	Default any
	Doc     string
	Enum    []string // allowed values for KindString (and each element of KindStrings)
	Min     *float64 // inclusive bounds for numbers (and each element of number lists)
	Max     *float64
	// Optional fields may be absent and have no default (e.g. a gate).
	Optional bool
}

// Section groups the fields a stage reads under one top-level key.
type Section struct {
	Name   string
	Doc    string
	Fields []Field
}

// Schema is the full config schema: every key a config file may contain.
type Schema struct {
	sections []Section
	byKey    map[string]*Field
}

// NewSchema builds a schema from sections; keys must be unique and lowercase.
func NewSchema(sections ...Section) (*Schema, error) {
	s := &Schema{byKey: map[string]*Field{}}
	for _, sec := range sections {
		s.sections = append(s.sections, sec)
	}
	for si := range s.sections {
		sec := &s.sections[si]
		for fi := range sec.Fields {
			f := &sec.Fields[fi]
			if f.Key != strings.ToLower(f.Key) {
				return nil, fmt.Errorf("schema: key %q must be lowercase", f.Key)
			}
			if !strings.HasPrefix(f.Key, sec.Name+".") {
				return nil, fmt.Errorf("schema: key %q is not under section %q", f.Key, sec.Name)
			}
			if _, dup := s.byKey[f.Key]; dup {
				return nil, fmt.Errorf("schema: key %q declared twice", f.Key)
			}
			s.byKey[f.Key] = f
		}
	}
	return s, nil
}

// MustSchema is NewSchema for schemas written in code, where an error is a
// programming mistake caught by any test that builds the schema.
func MustSchema(sections ...Section) *Schema {
	s, err := NewSchema(sections...)
	if err != nil {
		panic(err)
	}
	return s
}

// Sections returns the sections in declaration order.
func (s *Schema) Sections() []Section { return s.sections }

// Field returns the declaration of key.
func (s *Schema) Field(key string) (*Field, bool) {
	f, ok := s.byKey[key]
	return f, ok
}

// lookup finds the field that governs key: the field itself, or a KindMap
// field that key lies under.
func (s *Schema) lookup(key string) (*Field, bool) {
	if f, ok := s.byKey[key]; ok {
		return f, true
	}
	for k := key; ; {
		i := strings.LastIndex(k, ".")
		if i < 0 {
			return nil, false
		}
		k = k[:i]
		if f, ok := s.byKey[k]; ok && f.Kind == KindMap {
			return f, true
		}
	}
}

// keysNear suggests declared keys close to an unknown one, for error messages.
func (s *Schema) keysNear(key string) []string {
	var out []string
	prefix := key
	if i := strings.LastIndex(key, "."); i >= 0 {
		prefix = key[:i+1]
	}
	for k := range s.byKey {
		if strings.HasPrefix(k, prefix) && !strings.Contains(k[len(prefix):], ".") {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Num is a helper for declaring bounds.
func Num(v float64) *float64 { return &v }
