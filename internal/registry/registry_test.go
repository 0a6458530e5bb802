package registry

import (
	"strings"
	"testing"
)

func TestRegistry(t *testing.T) {
	r := New[int]("thing")
	r.Add("b", 2)
	r.Add("a", 1)
	if got := strings.Join(r.Names(), ","); got != "a,b" {
		t.Errorf("names %s", got)
	}
	if all := r.All(); len(all) != 2 || all[0] != 1 || all[1] != 2 {
		t.Errorf("all %v", all)
	}
	if v, err := r.Lookup("x.kind", "b"); err != nil || v != 2 {
		t.Errorf("lookup b: %v %v", v, err)
	}
	if _, err := r.Lookup("x.kind", "c"); err == nil || err.Error() != `x.kind: "c" is not one of a, b` {
		t.Errorf("lookup c: %v", err)
	}
	defer func() {
		if p := recover(); p == nil || !strings.Contains(p.(string), "thing a registered twice") {
			t.Errorf("duplicate: %v", p)
		}
	}()
	r.Add("a", 3)
}
