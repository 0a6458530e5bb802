package stages

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"fairage/config"
	"fairage/internal/spec"
	"fairage/internal/testdata"
	"fairage/tfmodel"
)

func repoFile(t *testing.T, rel string) string {
	t.Helper()
	root, ok := testdata.RepoRoot()
	if !ok {
		t.Fatal("repository root not found")
	}
	return filepath.Join(root, rel)
}

func loadWith(t *testing.T, sets ...string) (*Loaded, error) {
	t.Helper()
	return Load(repoFile(t, "pipeline.yaml"), LoadOptions{Sets: sets})
}

// Every config shipped in the repository loads, validates (every section
// and the rules between them) and builds its graph.
func TestShippedConfigsAreValid(t *testing.T) {
	var files []string
	for _, pattern := range []string{"pipeline.yaml", "configs/*.yaml", "experiments/*.yaml", "experiments/pretrained/*.yaml"} {
		m, _ := filepath.Glob(repoFile(t, pattern))
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no configs found")
	}
	// experiments/audit-*.yaml audit the runs that make experiments trains
	// (model.from: ../runs/m5); before those exist they are checked against
	// a stand-in run folder.
	standIn := t.TempDir()
	os.MkdirAll(filepath.Join(standIn, "train", "model"), 0o755)
	os.WriteFile(filepath.Join(standIn, "train", "model", "model.json"), []byte("{}"), 0o644)
	for _, f := range files {
		cfg, err := Load(f, LoadOptions{})
		if err != nil && strings.HasPrefix(filepath.Base(f), "audit-") && strings.Contains(err.Error(), "model.from") {
			cfg, err = Load(f, LoadOptions{Sets: []string{"model.from=" + standIn}})
		}
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		Graph(cfg.Config) // panics on a miswired graph or a bad declaration
	}
}

// docs/config.md is generated from the option structs; `make docs`
// regenerates it.
func TestConfigReferenceIsUpToDate(t *testing.T) {
	got, err := os.ReadFile(repoFile(t, "docs/config.md"))
	if err != nil || string(got) != Reference() {
		t.Fatalf("docs/config.md is out of date with the option structs: run `make docs` (%v)", err)
	}
}

// Rules between sections and within them fail at load, naming the key,
// before any stage runs.
func TestLoadChecksWhatStagesWouldFailOn(t *testing.T) {
	cases := []struct{ set, want string }{
		{"analysis.gates={mae: 8}", "analysis.gates: mae: expected a mapping"},
		{"analysis.gates={mae: {max: high}}", "analysis.gates: mae: max: expected a number"},
		{"analysis.gates={mae: {maximum: 8}}", `analysis.gates: mae: unknown key "maximum"`},
		{"analysis.gates={mae: {on: always, max: 1}}", "analysis.gates.mae.on"},
		{"analysis.gates={foo_bias: {max: 1}}", `analysis.gates.foo_bias: unknown metric "foo_bias"`},
		{"analysis.intersections=[gender]", "analysis.intersections[0]"},
		{"analysis.intersections=[gender*skin]", `"skin" is not an attribute`},
		{"augment.crop.scale=[0.5]", "augment.crop.scale: expected [min, max]"},
		{"augment.rotate.degrees=200", "augment.rotate.degrees: 200 is outside [0, 180]"},
		{"augment.blur={p: 0.5, range: [3, 1]}", "augment.blur.range"},
		{"balance.target=banana", "balance.target"},
		{"balance.by=[gender, skin]", `balance.by: unknown attribute "skin"`},
		{"data.synthetic.proportions={ethnicity: {a: many}}", "data.synthetic.proportions: ethnicity: a: expected a number"},
		{"data.age_edges=[40, 20]", "data.age_edges"},
		{"data.age_min=130", "data.age_min: 130 must be below data.age_max"},
		{"split.train=0.9", "split.train: the fractions train 0.9, valid 0.15 and test 0.15 sum to 1.2, not 1"},
		{"model.input_size=40", "model.input_size: 40 differs from data.image_size 48"},
		{"model.dropout=0.99", ""}, // [0, 1): one bound, in tfmodel
		{"model.dropout=1", "model.dropout: 1 is outside [0, 1)"},
		{"train.batch_size=100000", "train.batch_size: 100000 is outside [1, 65536]"},
		{"run.name=.cache", "run.name: \".cache\": names starting with a dot are reserved"},
		{"model.kind=predictions", "pipeline.yaml: model.from: kind predictions trains nothing here"},
		{"model.from=/nonexistent/run", "model.from: /nonexistent/run"},
		{"model.kind=vgg", `model.kind: "vgg" is not one of`},
		{"evaluate.splits=[test, holdout]", `evaluate.splits: item 2, "holdout"`},
		{"analysis.split=train", "analysis.split: train is not among evaluate.splits"},
		{"train.precision=half", `train.precision: "half" is not one of fp32, bf16, fp16, auto`},
		{"evaluate.precision=int8", `evaluate.precision: "int8" is not one of fp32, bf16, fp16, auto`},
		{"train.precision=auto", ""},
		{"evaluate.precision=bf16", ""}, // resnet honours it
	}
	for _, tc := range cases {
		t.Run(tc.set, func(t *testing.T) {
			_, err := loadWith(t, tc.set)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			var cerr *config.Error
			if !errors.As(err, &cerr) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a config error containing %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), "--set") && !strings.Contains(tc.want, "pipeline.yaml") {
				t.Errorf("error %q does not say the value came from --set", err)
			}
		})
	}
}

// A reduced evaluate.precision is rejected at load for a kind that runs
// as its model was exported.
func TestEvaluatePrecisionNeedsAKindThatHasIt(t *testing.T) {
	preds := filepath.Join(t.TempDir(), "p.csv")
	if err := os.WriteFile(preds, []byte("id,prediction\na,30\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for set, want := range map[string]string{
		"evaluate.precision=bf16": "evaluate.precision: bf16, but kind predictions runs as its model was exported",
		"evaluate.precision=auto": "",
	} {
		_, err := loadWith(t, "model.kind=predictions", "model.from="+preds, set)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: rejected: %v", set, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: got %v, want %q", set, err, want)
		}
	}
}

// A precision this machine cannot run (fp16 without a GPU or AMX-FP16)
// fails at load, naming the key.
func TestUnavailablePrecisionFailsAtLoad(t *testing.T) {
	hw := tfmodel.DetectHardware()
	if len(hw.GPUs) > 0 || slices.Contains(hw.CPUFlags, "amx_fp16") {
		t.Skip("this machine runs fp16")
	}
	for _, key := range []string{"train.precision", "evaluate.precision"} {
		_, err := loadWith(t, key+"=fp16")
		var cerr *config.Error
		if !errors.As(err, &cerr) || !strings.Contains(err.Error(), key+": fp16 needs a GPU or a CPU with AMX-FP16") {
			t.Errorf("%s=fp16: got %v", key, err)
		}
	}
}

// The adapter's own problems (a missing dataset folder) stay with the
// adapter, which opens the data; its settings are checked at load.
func TestAdapterErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct{ set, want string }{
		{"data.adapter=utkface", "data.root: the utkface adapter needs the dataset folder"},
		{"data.adapter=csv", "data.csv.path: the csv adapter needs the metadata table"},
	} {
		cfg, err := loadWith(t, tc.set)
		if err != nil {
			t.Fatal(err)
		}
		sel, err := cfg.Data.Selected()
		if err == nil {
			_, err = sel.Open(t.Context(), cfg.Data.Env())
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.set, err, tc.want)
		}
	}
}

func TestGraphFollowsTheModelKind(t *testing.T) {
	preds := filepath.Join(t.TempDir(), "p.csv")
	os.WriteFile(preds, []byte("id,prediction\n"), 0o644)
	run := t.TempDir()
	cases := []struct {
		sets    []string
		want    string
		omitted string
	}{
		{nil, "ingest split balance augment train evaluate analyze report", ""},
		{[]string{"model.from=" + run}, "ingest split evaluate analyze report", "model.from gives a trained model"},
		{[]string{"model.kind=predictions", "model.from=" + preds}, "ingest split evaluate analyze report", "nothing to train for kind predictions"},
		{auditSets(t), "load analyze report", "an audit of the predictions table table.csv"},
	}
	for _, tc := range cases {
		cfg, err := loadWith(t, tc.sets...)
		if err != nil {
			t.Fatal(err)
		}
		g := Graph(cfg.Config)
		if got := strings.Join(g.Names(), " "); got != tc.want {
			t.Errorf("%v: graph %s, want %s", tc.sets, got, tc.want)
		}
		if tc.omitted != "" && (len(g.Omitted()) < 3 || !strings.Contains(g.Omitted()[0].Reason, tc.omitted)) {
			t.Errorf("%v: omitted %+v, want the training stages with %q", tc.sets, g.Omitted(), tc.omitted)
		}
	}
}

// modes are the graphs a config can build: training, auditing a trained
// model (evaluate --model), auditing a predictions file joined to the
// samples, and auditing a table without images (pipeline audit).
func modes(t *testing.T) map[string][]string {
	t.Helper()
	preds := filepath.Join(t.TempDir(), "p.csv")
	os.WriteFile(preds, []byte("id,prediction\n"), 0o644)
	return map[string][]string{
		"train":    nil,
		"evaluate": {"model.from=" + t.TempDir()},
		"audit":    {"model.kind=predictions", "model.from=" + preds},
		"table":    auditSets(t),
	}
}

// auditSets make a config audit a small table with its own attributes.
func auditSets(t *testing.T) []string {
	t.Helper()
	table := filepath.Join(t.TempDir(), "table.csv")
	os.WriteFile(table, []byte("age,pred,skin_tone,camera,person\n30,31,II,a,p1\n40,38,V,b,p1\n"), 0o644)
	return []string{"audit.file=" + table, "audit.y_true=age", "audit.y_pred=pred", "audit.subject=person",
		"analysis.attributes=[skin_tone, age_group]", "analysis.intersections=[skin_tone*camera]", "analysis.split=all"}
}

// A stage sees only what it declares: built from a view holding only its
// declared settings it equals the stage built from the whole config, with
// every setting changed from its default (so a read of an undeclared
// setting would see a zero value and differ). Its fingerprint changes with
// every declared setting that can change its output, and with nothing else.
func TestStagesSeeOnlyWhatTheyDeclare(t *testing.T) {
	for mode, sets := range modes(t) {
		loaded, err := loadWith(t, sets...)
		if err != nil {
			t.Fatal(err)
		}
		full := loaded.Config
		kind, from, table := full.Model.Kind, full.Model.From, full.Audit.File
		perturbAll(t, full)
		full.Model.Kind, full.Model.From, full.Audit.File = kind, from, table // keep the mode
		info := graphInfo{trains: full.trains(), audit: full.Audit.Enabled()}
		info.infer = !info.audit && full.Infer.Expression.Enabled // perturbAll turns it on
		for _, d := range graphDefs(info) {
			decls, err := config.Declare(full, d.reads(full)...)
			if err != nil {
				t.Fatalf("%s/%s: %v", mode, d.name, err)
			}
			fromView := d.build(config.Restrict(full, decls), decls, info)
			fromAll := d.build(full, decls, info)
			if !reflect.DeepEqual(fromView, fromAll) {
				t.Errorf("%s/%s reads a setting it does not declare:\n view: %+v\n full: %+v", mode, d.name, fromView, fromAll)
			}
			checkFingerprintFollowsDeclarations(t, mode, d, full, decls)
		}
	}
}

func checkFingerprintFollowsDeclarations(t *testing.T, mode string, d stageDef, full *Config, decls []config.Decl) {
	t.Helper()
	base := config.DeclDigest(decls)
	declared := config.DeclLeaves(decls, false)
	for _, leaf := range leaves(full) {
		cp := cloneConfig(t, full)
		perturb(t, cp, leaf.key)
		cd, err := config.Declare(cp, d.reads(cp)...)
		if err != nil {
			t.Fatal(err)
		}
		changed := config.DeclDigest(cd) != base
		want := slices.Contains(declared, leaf.key)
		if changed != want {
			t.Errorf("%s/%s: changing %s changes the fingerprint: %v, want %v", mode, d.name, leaf.key, changed, want)
		}
	}
}

// TestIngestFingerprintFollowsOnlyItsAdapter is the case that motivated
// per-adapter declarations: configs/utkface-scratch.yaml extends the synthetic
// pipeline.yaml, and its ingest must not rerun when synthetic settings
// change, nor with the worker count (byte-identical output).
func TestIngestFingerprintFollowsOnlyItsAdapter(t *testing.T) {
	utk := func(sets ...string) string {
		t.Helper()
		cfg, err := Load(repoFile(t, "configs/utkface-scratch.yaml"), LoadOptions{Sets: sets})
		if err != nil {
			t.Fatal(err)
		}
		decls, err := config.Declare(cfg.Config, ingestDef.reads(cfg.Config)...)
		if err != nil {
			t.Fatal(err)
		}
		return config.DeclDigest(decls)
	}
	base := utk()
	tests := []struct {
		set     string
		changes bool
	}{
		{"data.synthetic.count=10", false},
		{"data.synthetic.group_age_shift={ethnicity: {group_c: 3}}", false},
		{"data.csv.path=other.csv", false},
		{"data.appa_real.target=real", false},
		{"data.workers=1", false},
		{"run.name=other", false},
		{"data.utkface.labels=filename", true},
		{"data.image_size=32", true},
		{"data.root=/elsewhere", true},
		{"data.allowed.gender=[female]", true},
		{"data.max_reject_fraction=0.5", true},
	}
	for _, tc := range tests {
		if got := utk(tc.set) != base; got != tc.changes {
			t.Errorf("--set %s: ingest fingerprint changed = %v, want %v", tc.set, got, tc.changes)
		}
	}
}

// leaf is one settable value of the config.
type leafRef struct {
	key string
	v   reflect.Value
}

// leaves lists every leaf setting of cfg, registered sub-sections
// included, with a settable value.
func leaves(cfg *Config) []leafRef {
	var out []leafRef
	var walk func(v reflect.Value, prefix string)
	walk = func(v reflect.Value, prefix string) {
		for _, f := range spec.Fields(v.Type()) {
			key := joinKey(prefix, f.Key)
			fv := v.FieldByIndex(f.Index)
			if f.Registry {
				reg, _ := spec.RegistryOf(fv)
				for _, s := range reg.Sections() {
					walk(reflect.ValueOf(s.Ptr).Elem(), joinKey(key, s.Name))
				}
				continue
			}
			if f.Leaf() {
				out = append(out, leafRef{key, fv})
			}
		}
	}
	walk(reflect.ValueOf(cfg).Elem(), "")
	return out
}

func joinKey(prefix, key string) string {
	switch {
	case prefix == "":
		return key
	case key == "":
		return prefix
	}
	return prefix + "." + key
}

// cloneConfig deep-copies a config through its YAML form.
func cloneConfig(t *testing.T, c *Config) *Config {
	t.Helper()
	cp := DefaultConfig()
	if err := config.Decode(config.Nested(c), cp, "clone"); err != nil {
		// Perturbed configs need not validate; decode without it.
		var cerr *config.Error
		if !errors.As(err, &cerr) {
			t.Fatal(err)
		}
	}
	return cp
}

func perturbAll(t *testing.T, c *Config) {
	for _, l := range leaves(c) {
		perturbValue(t, l.key, l.v)
	}
}

func perturb(t *testing.T, c *Config, key string) {
	for _, l := range leaves(c) {
		if l.key == key {
			perturbValue(t, key, l.v)
			return
		}
	}
	t.Fatalf("no setting %s", key)
}

// perturbValue changes a setting to another value of its type.
func perturbValue(t *testing.T, key string, v reflect.Value) {
	t.Helper()
	if v.CanAddr() {
		if cv, ok := v.Addr().Interface().(config.Value); ok {
			raw := cv.ToConfig()
			switch r := raw.(type) {
			case []any:
				if len(r) > 0 {
					if x, ok := r[len(r)-1].(float64); ok {
						r = append(append([]any(nil), r[:len(r)-1]...), x+7)
					} else {
						r = append(r, r[len(r)-1])
					}
				} else {
					r = []any{7.0}
				}
				raw = r
			case string:
				raw = "gender*expression"
				if r == raw {
					raw = "gender*ethnicity"
				}
			}
			if err := cv.FromConfig(raw); err != nil {
				t.Fatalf("%s: perturb: %v", key, err)
			}
			return
		}
	}
	if vals := spec.ValuesOf(v.Type()); len(vals) > 1 && v.Kind() == reflect.String {
		for _, x := range vals {
			if x != v.String() {
				v.SetString(x)
				return
			}
		}
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(v.String() + "x")
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(v.Int() + 1)
	case reflect.Uint, reflect.Uint64:
		v.SetUint(v.Uint() + 1)
	case reflect.Float64:
		v.SetFloat(v.Float()*0.5 + 0.01)
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
			return
		}
		perturbValue(t, key, v.Elem())
	case reflect.Slice:
		n := reflect.New(v.Type().Elem()).Elem()
		if vals := spec.ValuesOf(v.Type()); len(vals) > 0 {
			n.SetString(vals[len(vals)-1])
		} else if v.Len() > 0 {
			n.Set(v.Index(v.Len() - 1))
			perturbValue(t, key, n)
		}
		v.Set(reflect.Append(v, n))
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		it := v.MapRange()
		for it.Next() {
			m.SetMapIndex(it.Key(), it.Value())
		}
		key := fmt.Sprintf("perturbed%d", v.Len())
		m.SetMapIndex(reflect.ValueOf(key).Convert(v.Type().Key()), reflect.Zero(v.Type().Elem()))
		v.Set(m)
	default:
		t.Fatalf("%s: cannot perturb a %s", key, v.Type())
	}
}
