package dataset

import (
	"math"
	"path/filepath"
	"testing"
)

// The infer stage's columns are written only when a row has them, so a
// run without it writes the samples table as before (the same schema,
// the same bits); with them they round-trip, null confidence as NaN.
func TestSamplesInferredColumns(t *testing.T) {
	dir := t.TempDir()
	plain := testSamples()
	p := filepath.Join(dir, "plain.arrow")
	if err := WriteSamples(p, plain); err != nil {
		t.Fatal(err)
	}
	rec, err := ReadIPC(p)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Schema().Equal(SamplesSchema) {
		t.Errorf("samples without inference written as %s", rec.Schema())
	}
	rec.Release()

	inferred := testSamples()
	inferred[0].Expression, inferred[0].ExpressionSource, inferred[0].ExpressionConfidence = "neutral", ExpressionInferred, 0.8
	inferred[1].ExpressionSource, inferred[1].ExpressionConfidence = ExpressionLabel, math.NaN()
	p = filepath.Join(dir, "inferred.arrow")
	if err := WriteSamples(p, inferred); err != nil {
		t.Fatal(err)
	}
	rec, err = ReadIPC(p)
	if err != nil {
		t.Fatal(err)
	}
	if n := rec.Schema().NumFields(); n != len(SamplesSchema.Fields())+2 {
		t.Errorf("%d columns, want the samples' and expression_source, expression_confidence", n)
	}
	rec.Release()
	got, err := ReadSamples(p)
	if err != nil {
		t.Fatal(err)
	}
	if g := got[0]; g.Expression != "neutral" || g.ExpressionSource != ExpressionInferred || g.ExpressionConfidence != 0.8 {
		t.Errorf("inferred row read as %+v", g)
	}
	if g := got[1]; g.Expression != "happy" || g.ExpressionSource != ExpressionLabel || !math.IsNaN(g.ExpressionConfidence) {
		t.Errorf("labelled row read as %+v", g)
	}
}
