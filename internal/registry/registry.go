// Package registry is the small, concurrency-safe name → value table that
// fairage's extension points (dataset adapters, model kinds, presets)
// register into from their packages' init functions.
package registry

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Registry holds values by name. The zero value is not usable; use New.
type Registry[T any] struct {
	what  string // "adapter", "model kind": for messages
	mu    sync.Mutex
	items map[string]T
}

// New returns an empty registry of what.
func New[T any](what string) *Registry[T] {
	return &Registry[T]{what: what, items: map[string]T{}}
}

// Add registers v under name; a second registration of a name is a
// programming error and panics (from an init, so any test finds it).
func (r *Registry[T]) Add(name string, v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.items[name]; dup {
		panic(fmt.Sprintf("%s %s registered twice", r.what, name))
	}
	r.items[name] = v
}

// Get returns the value of name.
func (r *Registry[T]) Get(name string) (T, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.items[name]
	return v, ok
}

// Names lists the registered names, sorted.
func (r *Registry[T]) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.items))
	for n := range r.items {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// All lists the values by name.
func (r *Registry[T]) All() []T {
	names := r.Names()
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]T, len(names))
	for i, n := range names {
		out[i] = r.items[n]
	}
	return out
}

// Lookup is Get with an error naming the registered values, in the form
// config messages use: `key: "x" is not one of a, b`.
func (r *Registry[T]) Lookup(key, name string) (T, error) {
	v, ok := r.Get(name)
	if !ok {
		return v, fmt.Errorf("%s: %q is not one of %s", key, name, strings.Join(r.Names(), ", "))
	}
	return v, nil
}
