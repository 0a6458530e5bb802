package dataset

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"fairage/internal/arrowtab"
)

func testSamples() []Sample {
	return []Sample{
		{ID: "a", Split: SplitTrain, Path: "img/a.jpg", Age: 31, RealAge: math.NaN(), Gender: "female", Ethnicity: "asian",
			AgeGroup: "20-39", Width: 200, Height: 200, SHA256: strings.Repeat("ab", 32), NearDupGroup: "g1"},
		{ID: "b", Path: "img/b.jpg", Age: 64.5, RealAge: 60, Gender: "male", Expression: "happy",
			AgeGroup: "60+", Width: 10, Height: 20, SHA256: strings.Repeat("cd", 32)},
	}
}

// tableFiles are one small valid file of every table the dataset package
// declares, as bytes, for the corruption tests.
func tableFiles(t testing.TB) map[string][]byte {
	dir := t.TempDir()
	write := map[string]func(string) error{
		"samples": func(p string) error { return WriteSamples(p, testSamples()) },
		"rejected": func(p string) error {
			return WriteRejections(p, []Rejection{{Source: "m.csv", Row: 3, ID: "x", Reason: ReasonMissingFile, Detail: "no such file"}})
		},
		"plan": func(p string) error {
			return WritePlan(p, []PlanRow{{SampleID: "a", Copy: 1, AugSeed: 7, Weight: 0.5}})
		},
		"predictions": func(p string) error {
			return WritePredictions(p, []Prediction{{ID: "a", Split: SplitTest, YTrue: 30, YPred: 33, Gender: "male", Subject: "s"}})
		},
		"history": func(p string) error {
			return WriteHistory(p, []EpochRecord{{Phase: "all", Epoch: 1, Loss: 2, MAE: 3, ValLoss: math.NaN(), ValMAE: 4, LR: 1e-3}})
		},
		"distribution": func(p string) error {
			return WriteGroupCounts(p, []GroupCount{{Stage: "before", Attribute: "gender", Group: "male", Count: 3, Weight: 3}})
		},
	}
	out := map[string][]byte{}
	for name, w := range write {
		p := filepath.Join(dir, name+".arrow")
		if err := w(p); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = b
	}
	return out
}

// decodeAll decodes data as every table; none may panic.
func decodeAll(data []byte) {
	rec, err := arrowtab.DecodeIPC(data)
	if err != nil {
		return
	}
	defer rec.Release()
	samplesTable.Decode(rec)
	rejectedTable.Decode(rec)
	planTable.Decode(rec)
	predictionsTable.Decode(rec)
	historyTable.Decode(rec)
	groupCountTable.Decode(rec)
}

func TestSamplesRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "samples.arrow")
	want := testSamples()
	if err := WriteSamples(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadSamples(path)
	if err != nil {
		t.Fatal(err)
	}
	eq := func(a, b Sample) bool {
		return a.RealAge == b.RealAge || math.IsNaN(a.RealAge) && math.IsNaN(b.RealAge)
	}
	for i := range want {
		w, g := want[i], got[i]
		if !eq(w, g) {
			t.Errorf("row %d: real_age %v, want %v", i, g.RealAge, w.RealAge)
		}
		w.RealAge, g.RealAge = 0, 0
		if w != g {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

// The file layout is the one of the tables before they were declared by
// name: same columns, same order, same types, so older files read; the
// subject column came last and is optional, so files without it read too.
func TestSamplesLayoutUnchanged(t *testing.T) {
	want := []string{"id:utf8", "split:dictionary<values=utf8, indices=int32, ordered=false>", "path:utf8", "age:float64",
		"real_age:float64?", "gender:dictionary<values=utf8, indices=int32, ordered=false>?",
		"ethnicity:dictionary<values=utf8, indices=int32, ordered=false>?", "expression:dictionary<values=utf8, indices=int32, ordered=false>?",
		"age_group:dictionary<values=utf8, indices=int32, ordered=false>?", "width:int32", "height:int32", "sha256:utf8", "near_dup_group:utf8?", "subject:utf8?"}
	var got []string
	for _, f := range SamplesSchema.Fields() {
		s := f.Name + ":" + f.Type.String()
		if f.Nullable {
			s += "?"
		}
		got = append(got, s)
	}
	if !slices.Equal(got, want) {
		t.Errorf("samples layout:\n got %v\nwant %v", got, want)
	}
}

// Columns are found by name: a file with its columns in another order
// and an extra column reads the same.
func TestTablesReadByName(t *testing.T) {
	fields := SamplesSchema.Fields()
	slices.Reverse(fields)
	fields = append(fields, arrow.Field{Name: "extra", Type: arrow.PrimitiveTypes.Int8})
	rec := samplesTable.Record(testSamples())
	defer rec.Release()
	cols := rec.Columns()
	slices.Reverse(cols)
	eb := array.NewInt8Builder(memory.DefaultAllocator)
	eb.AppendValues([]int8{1, 2}, nil)
	extra := eb.NewArray()
	defer extra.Release()
	cols = append(cols, extra)
	shuffled := array.NewRecord(arrow.NewSchema(fields, nil), cols, rec.NumRows())
	defer shuffled.Release()
	path := filepath.Join(t.TempDir(), "shuffled.arrow")
	if err := WriteIPC(path, shuffled); err != nil {
		t.Fatal(err)
	}
	got, err := ReadSamples(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].ID != "b" || got[1].Age != 64.5 || got[0].NearDupGroup != "g1" || got[1].Expression != "happy" {
		t.Errorf("read by name: %+v", got)
	}
}

func TestTableErrorsNameFileTableAndColumn(t *testing.T) {
	dir := t.TempDir()
	writeRec := func(name string, fields []arrow.Field, cols []arrow.Array) string {
		rec := array.NewRecord(arrow.NewSchema(fields, nil), cols, int64(cols[0].Len()))
		defer rec.Release()
		p := filepath.Join(dir, name)
		if err := WriteIPC(p, rec); err != nil {
			t.Fatal(err)
		}
		return p
	}
	full := samplesTable.Record(testSamples())
	defer full.Release()
	// Drop "age".
	var fields []arrow.Field
	var cols []arrow.Array
	for i, f := range SamplesSchema.Fields() {
		if f.Name != "age" {
			fields, cols = append(fields, f), append(cols, full.Column(i))
		}
	}
	missing := writeRec("missing.arrow", fields, cols)
	// "age" as strings.
	sb := array.NewStringBuilder(memory.DefaultAllocator)
	sb.AppendValues([]string{"31", "64"}, nil)
	ageText := sb.NewArray()
	defer ageText.Release()
	fields2 := slices.Clone(SamplesSchema.Fields())
	cols2 := slices.Clone(full.Columns())
	fields2[3] = arrow.Field{Name: "age", Type: arrow.BinaryTypes.String}
	cols2[3] = ageText
	wrongType := writeRec("wrongtype.arrow", fields2, cols2)
	notArrow := filepath.Join(dir, "text.arrow")
	os.WriteFile(notArrow, []byte("file,age\na.jpg,3\n"), 0o644)

	for _, c := range []struct {
		path string
		want []string
	}{
		{missing, []string{"missing.arrow", "samples table", `missing column "age"`}},
		{wrongType, []string{"wrongtype.arrow", "samples table", "column age is utf8, expected float64"}},
		{notArrow, []string{"text.arrow", "not an Arrow IPC file"}},
	} {
		_, err := ReadSamples(c.path)
		if err == nil {
			t.Errorf("%s: read without error", c.path)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", filepath.Base(c.path), err, w)
			}
		}
	}
}

// Every single-byte corruption and every truncation of every table is an
// error or a valid read, never a panic (a panic fails the test). A
// garbled string in a cached samples.arrow once crashed balance.
func TestTablesNeverPanicOnBadBytes(t *testing.T) {
	for name, data := range tableFiles(t) {
		bad := bytes.Clone(data)
		for i := range data {
			values := []byte{data[i] ^ 0xff}
			if i%8 == 0 {
				values = append(values, 0, data[i]^0x10)
			}
			for _, v := range values {
				bad[i] = v
				decodeAll(bad)
			}
			bad[i] = data[i]
		}
		for n := 0; n < len(data); n += 7 {
			decodeAll(data[:n])
		}
		if _, err := arrowtab.DecodeIPC(data[:len(data)/2]); err == nil {
			t.Errorf("%s: a file cut in half decodes without error", name)
		}
	}
}

// FuzzTables decodes arbitrary bytes as every table (go test -fuzz
// FuzzTables ./dataset); the seeds are valid files of each.
func FuzzTables(f *testing.F) {
	for _, data := range tableFiles(f) {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) { decodeAll(data) })
}

// A file declaring billions of rows that no data backs (every column of
// the null type takes no bytes) is an error, not an allocation of them.
// The fuzzer found its way to such files; allocating the rows first made
// each one cost minutes of garbage collection or the process.
func TestTablesRefuseRowCountsTheDataDoesNotBack(t *testing.T) {
	const n = 1 << 33
	var fields []arrow.Field
	var cols []arrow.Array
	for _, f := range SamplesSchema.Fields() {
		fields = append(fields, arrow.Field{Name: f.Name, Type: arrow.Null, Nullable: true})
		cols = append(cols, array.NewNull(n))
	}
	rec := array.NewRecord(arrow.NewSchema(fields, nil), cols, n)
	defer rec.Release()
	if _, err := samplesTable.Decode(rec); err == nil || !strings.Contains(err.Error(), "expected") {
		t.Fatalf("null columns: %v", err)
	}
}

// Samples and predictions written before the subject column existed read,
// with every subject unknown.
func TestTablesWithoutSubjectRead(t *testing.T) {
	rows := []Sample{{ID: "a", Split: SplitTrain, Path: "a.jpg", Age: 3, RealAge: math.NaN(), Subject: "p1"},
		{ID: "b", Split: SplitTest, Path: "b.jpg", Age: 40, RealAge: math.NaN(), Subject: "p2"}}
	rec := SamplesToRecord(rows)
	defer rec.Release()
	n := int(rec.NumCols()) - 1
	if rec.Schema().Field(n).Name != "subject" {
		t.Fatalf("last samples column is %s, want subject", rec.Schema().Field(n).Name)
	}
	old := array.NewRecord(arrow.NewSchema(rec.Schema().Fields()[:n], nil), rec.Columns()[:n], rec.NumRows())
	defer old.Release()
	got, err := SamplesFromRecord(old)
	if err != nil {
		t.Fatalf("a samples table without subject: %v", err)
	}
	if len(got) != 2 || got[0].Subject != "" || got[1].ID != "b" {
		t.Errorf("read %+v", got)
	}
	full, err := SamplesFromRecord(rec)
	if err != nil || full[0].Subject != "p1" || full[1].Subject != "p2" {
		t.Errorf("subjects lost in a round trip: %+v, %v", full, err)
	}
}
