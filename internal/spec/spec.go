// Package spec reads the config declarations that fairage's option structs
// carry in their struct tags, and checks values against them. It is the one
// place that knows what the tags mean, so a domain package's Validate, the
// config loader and the generated config reference agree by construction.
//
// The tags, on fields of option structs:
//
//	yaml:"name"          the config key of the field ("-": not configurable;
//	                     ",inline": the fields of a struct or registry
//	                     sit directly in the parent section)
//	doc:"..."            what the setting means, for the reference
//	range:"[0,1)"        allowed interval of a number (and of each number
//	                     of a list); "inf" for an open end
//	path:"config"        a file path resolved against the folder of the
//	                     config file that set it
//	fingerprint:"-"      the setting changes how fast a stage runs, never
//	                     what it writes, so stage fingerprints leave it out
//
// A field whose type (or element type, for a list) has a method
// Values() []string accepts only those values.
//
// spec imports nothing of fairage: domain packages use it without knowing
// the runner or the loader.
package spec

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// Enum is implemented by named string types with a closed set of values.
type Enum interface{ Values() []string }

// Registry is implemented by a field whose sub-sections are not fixed in
// code but registered (dataset adapters, model kinds): each name maps to a
// pointer to that sub-section's options, already holding its defaults.
type Registry interface {
	Sections() []Named
}

// Named is one registered sub-section.
type Named struct {
	Name string // config key of the sub-section
	Doc  string // what it is, for the reference
	Ptr  any    // pointer to its option struct
}

// Interval is a numeric range; an open end is ±Inf or excludes its bound.
type Interval struct {
	Lo, Hi         float64
	LoOpen, HiOpen bool
}

// ParseInterval reads interval notation: "[0,1)", "(0,inf)", "[1,4096]".
func ParseInterval(s string) (Interval, error) {
	s = strings.TrimSpace(s)
	if len(s) < 5 {
		return Interval{}, fmt.Errorf("range %q: expected interval notation such as [0,1)", s)
	}
	var iv Interval
	switch s[0] {
	case '[':
	case '(':
		iv.LoOpen = true
	default:
		return Interval{}, fmt.Errorf("range %q: must start with [ or (", s)
	}
	switch s[len(s)-1] {
	case ']':
	case ')':
		iv.HiOpen = true
	default:
		return Interval{}, fmt.Errorf("range %q: must end with ] or )", s)
	}
	lo, hi, ok := strings.Cut(s[1:len(s)-1], ",")
	if !ok {
		return Interval{}, fmt.Errorf("range %q: expected two bounds", s)
	}
	var err error
	if iv.Lo, err = bound(lo, -1); err != nil {
		return Interval{}, fmt.Errorf("range %q: %w", s, err)
	}
	if iv.Hi, err = bound(hi, 1); err != nil {
		return Interval{}, fmt.Errorf("range %q: %w", s, err)
	}
	return iv, nil
}

func bound(s string, sign float64) (float64, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "inf", "+inf", "-inf":
		return math.Inf(int(sign)), nil
	}
	return strconv.ParseFloat(s, 64)
}

// Contains reports whether x lies in the interval.
func (iv Interval) Contains(x float64) bool {
	if math.IsNaN(x) {
		return false
	}
	if x < iv.Lo || (iv.LoOpen && x == iv.Lo) {
		return false
	}
	return !(x > iv.Hi || (iv.HiOpen && x == iv.Hi))
}

// String renders the interval as written in a tag, with ∞ for infinity.
func (iv Interval) String() string {
	num := func(x float64) string {
		if math.IsInf(x, 0) {
			if x < 0 {
				return "-∞"
			}
			return "∞"
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	l, r := "[", "]"
	if iv.LoOpen {
		l = "("
	}
	if iv.HiOpen {
		r = ")"
	}
	return l + num(iv.Lo) + ", " + num(iv.Hi) + r
}

// Field is one declared field of an option struct.
type Field struct {
	Key    string       // config key relative to the struct ("lds.sigma" for a nested struct)
	Index  []int        // reflect index path from the struct
	Type   reflect.Type // the field's Go type
	Doc    string
	Range  *Interval
	Values []string // allowed values (from the type's Values method)
	// Path marks a file path resolved against the config file's folder.
	Path bool
	// NoFingerprint marks a setting that does not change a stage's output.
	NoFingerprint bool
	// Registry marks a field whose sub-sections are registered (spec.Registry).
	Registry bool
	// Inline marks a registry or struct mounted in the parent section.
	Inline bool
}

// Leaf reports whether the field is a value (not a struct of further keys).
func (f *Field) Leaf() bool { return !f.Registry && !IsSection(f.Type) }

var enumType = reflect.TypeOf((*Enum)(nil)).Elem()
var registryType = reflect.TypeOf((*Registry)(nil)).Elem()
var configValueType = reflect.TypeOf((*interface{ ToConfig() any })(nil)).Elem()

// IsSection reports whether t is a struct of keyed settings (not a value
// with its own config form).
func IsSection(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && !t.Implements(configValueType) && !reflect.PointerTo(t).Implements(configValueType)
}

// ValuesOf returns the allowed values of t, or of t's element for a slice.
func ValuesOf(t reflect.Type) []string {
	if t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Implements(enumType) {
		return reflect.Zero(t).Interface().(Enum).Values()
	}
	return nil
}

// Fields lists the declared fields of struct type t, depth first, in
// declaration order: a nested struct appears (as a non-leaf) before its
// own fields, which carry dotted keys; an inline struct appears too
// (Inline, with its parent's key) before its fields, which sit in the
// parent section.
// A malformed tag is a programming error and panics, so any test that
// touches the struct finds it.
func Fields(t reflect.Type) []Field {
	var out []Field
	walk(t, "", nil, &out)
	return out
}

func walk(t reflect.Type, prefix string, index []int, out *[]Field) {
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		idx := append(append([]int(nil), index...), i)
		inline := opts == "inline"
		if name == "" && !inline {
			panic(fmt.Sprintf("spec: %s.%s has no yaml tag (use yaml:\"-\" for a field that is not configurable)", t, sf.Name))
		}
		key := name
		if prefix != "" && key != "" {
			key = prefix + "." + name
		}
		if inline {
			key = prefix
		}
		f := Field{Key: key, Index: idx, Type: sf.Type, Doc: sf.Tag.Get("doc"), Inline: inline,
			Path: sf.Tag.Get("path") == "config", NoFingerprint: sf.Tag.Get("fingerprint") == "-"}
		if r := sf.Tag.Get("range"); r != "" {
			iv, err := ParseInterval(r)
			if err != nil {
				panic(fmt.Sprintf("spec: %s.%s: %v", t, sf.Name, err))
			}
			f.Range = &iv
		}
		f.Values = ValuesOf(sf.Type)
		if sf.Type.Implements(registryType) || reflect.PointerTo(sf.Type).Implements(registryType) {
			f.Registry = true
			*out = append(*out, f)
			continue
		}
		if IsSection(sf.Type) {
			// The struct itself (inline or not) comes before its fields, so
			// a pointer to it can be declared; its fields carry the keys.
			*out = append(*out, f)
			walk(sf.Type, key, idx, out)
			continue
		}
		if inline {
			panic(fmt.Sprintf("spec: %s.%s: only structs and registries can be inline", t, sf.Name))
		}
		*out = append(*out, f)
	}
}

// Check verifies every range and allowed-values declaration of the option
// struct v (a struct or a pointer to one), nested and inline structs
// included (registered sub-sections check themselves, through their own
// Validate), and returns one error per problem, each
// starting with prefix.key. Domain Validate methods call it first, so the
// bounds live in one place: the tags.
func Check(prefix string, v any) error {
	rv := reflect.Indirect(reflect.ValueOf(v))
	var errs []error
	check(prefix, rv, &errs)
	return errors.Join(errs...)
}

func check(prefix string, rv reflect.Value, errs *[]error) {
	for _, f := range Fields(rv.Type()) {
		fv := rv.FieldByIndex(f.Index)
		key := join(prefix, f.Key)
		if f.Registry || !f.Leaf() {
			// A registered sub-section validates itself; a nested
			// struct's fields come next in the list.
			continue
		}
		if f.Range != nil {
			checkRange(key, fv, *f.Range, errs)
		}
		if len(f.Values) > 0 {
			checkValues(key, fv, f.Values, errs)
		}
	}
}

// RegistryOf returns the registry behind a field value, if it is one.
func RegistryOf(fv reflect.Value) (Registry, bool) { return registryOf(fv) }

func registryOf(fv reflect.Value) (Registry, bool) {
	if fv.CanAddr() {
		if r, ok := fv.Addr().Interface().(Registry); ok {
			return r, true
		}
	}
	r, ok := fv.Interface().(Registry)
	return r, ok
}

func join(prefix, key string) string {
	switch {
	case prefix == "":
		return key
	case key == "":
		return prefix
	}
	return prefix + "." + key
}

func checkRange(key string, fv reflect.Value, iv Interval, errs *[]error) {
	one := func(what string, x float64) {
		if !iv.Contains(x) {
			*errs = append(*errs, fmt.Errorf("%s: %s%s is outside %s", key, what, strconv.FormatFloat(x, 'g', -1, 64), iv))
		}
	}
	if fv.Kind() == reflect.Slice || fv.Kind() == reflect.Array {
		for i := range fv.Len() {
			if x, ok := number(fv.Index(i)); ok {
				one(fmt.Sprintf("item %d, ", i+1), x)
			}
		}
		return
	}
	if fv.Kind() == reflect.Pointer {
		if fv.IsNil() {
			return
		}
		fv = fv.Elem()
	}
	if x, ok := number(fv); ok {
		one("", x)
	}
}

func number(v reflect.Value) (float64, bool) {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(v.Uint()), true
	case reflect.Float32, reflect.Float64:
		return v.Float(), true
	}
	return 0, false
}

func checkValues(key string, fv reflect.Value, allowed []string, errs *[]error) {
	ok := func(s string) bool {
		for _, a := range allowed {
			if s == a {
				return true
			}
		}
		return false
	}
	list := strings.Join(allowed, ", ")
	if fv.Kind() == reflect.Slice {
		for i := range fv.Len() {
			if s := fv.Index(i).String(); !ok(s) {
				*errs = append(*errs, fmt.Errorf("%s: item %d, %q is not one of %s", key, i+1, s, list))
			}
		}
		return
	}
	switch s := fv.String(); {
	case ok(s):
	case s == "":
		*errs = append(*errs, fmt.Errorf("%s: not set; must be one of %s", key, list))
	default:
		*errs = append(*errs, fmt.Errorf("%s: %q is not one of %s", key, s, list))
	}
}

// Pair reads a [min, max] setting written as a two-number list, for the
// FromConfig methods of range types.
func Pair(raw any) (lo, hi float64, err error) {
	list, ok := raw.([]any)
	if !ok {
		if s, isText := raw.(string); isText {
			// From the environment: "1,80".
			for _, p := range strings.Split(s, ",") {
				list = append(list, strings.TrimSpace(p))
			}
			ok = true
		}
	}
	if !ok {
		return 0, 0, fmt.Errorf("expected [min, max], got %v", raw)
	}
	if len(list) != 2 {
		return 0, 0, fmt.Errorf("expected [min, max], got %d numbers", len(list))
	}
	var xs [2]float64
	for i, it := range list {
		x, ok := Number(it)
		if !ok {
			return 0, 0, fmt.Errorf("expected [min, max], item %d is %v", i+1, it)
		}
		xs[i] = x
	}
	return xs[0], xs[1], nil
}

// Number reads a finite number from a decoded YAML or environment value:
// an integer, a float, or text holding one.
func Number(v any) (float64, bool) {
	var x float64
	switch n := v.(type) {
	case int:
		x = float64(n)
	case int64:
		x = float64(n)
	case uint64:
		x = float64(n)
	case float64:
		x = n
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
		if err != nil {
			return 0, false
		}
		x = f
	default:
		return 0, false
	}
	return x, !math.IsNaN(x) && !math.IsInf(x, 0)
}
