package stages

import (
	"path/filepath"
	"slices"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"fairage/analysis"
	"fairage/dataset"
)

// Notebook copies the analyze stage writes beside metrics.arrow: Parquet
// (DuckDB and pandas read it without extensions), each with the run's
// name in a run column so the tables of many runs read as one.
const (
	metricsParquetFile     = "metrics.parquet"
	metricsJSONFile        = "metrics.json"
	predictionsParquetFile = "predictions.parquet"
)

// writeNotebookCopies writes metrics.parquet and predictions.parquet.
// The predictions copy has the analysis's age groups (analysis.age_edges,
// an ordered dictionary: pandas reads an ordered categorical) and a
// rejected column naming why the analysis left a row out (null when it
// was analysed); an audit's copy has the table's own attribute columns
// in place of the built-in ones it does not carry.
func writeNotebookCopies(dir, run string, t *dataset.PredictionTable, res *analysis.Result, opts *analysis.Options) error {
	metrics := analysis.MetricsRecord(res)
	defer metrics.Release()
	mrec := dataset.WithColumn(metrics, "run", run)
	defer mrec.Release()
	if err := dataset.WriteParquet(filepath.Join(dir, metricsParquetFile), mrec); err != nil {
		return err
	}
	prec, err := notebookPredictions(t, run, opts)
	if err != nil {
		return err
	}
	defer prec.Release()
	return dataset.WriteParquet(filepath.Join(dir, predictionsParquetFile), prec)
}

func notebookPredictions(t *dataset.PredictionTable, run string, opts *analysis.Options) (arrow.Record, error) {
	base := dataset.PredictionTableRecord(t)
	defer base.Release()
	rows := t.Rows
	labels := analysis.AgeLabels(opts.AgeEdges)
	label := analysis.GroupLabeler([]string{dataset.AttrAgeGroup}, opts.AgeEdges, nil)
	ages := dataset.DictColumn(len(rows), func(i int) string {
		if analysis.RejectReason(&rows[i], &opts.Range) != "" {
			return ""
		}
		return label(&rows[i])
	}, labels)
	defer ages.Release()
	rec, err := dataset.ReplaceColumn(base, dataset.AttrAgeGroup, ages)
	if err != nil {
		return nil, err
	}
	defer rec.Release()
	rejected := dataset.DictColumn(len(rows), func(i int) string { return analysis.RejectReason(&rows[i], &opts.Range) }, nil)
	defer rejected.Release()
	fields := slices.Clone(rec.Schema().Fields())
	cols := slices.Clone(rec.Columns())
	if len(t.Extra) > 0 {
		// An audit's rows carry only the table's own attributes.
		for i := len(fields) - 1; i >= 0; i-- {
			if n := fields[i].Name; n == dataset.AttrGender || n == dataset.AttrEthnicity || n == dataset.AttrExpression {
				fields, cols = slices.Delete(fields, i, i+1), slices.Delete(cols, i, i+1)
			}
		}
	}
	for i := range fields {
		// Nullable throughout: an audit without a split column has no
		// split, and Parquet must not get nulls in a required column.
		fields[i].Metadata, fields[i].Nullable = arrow.Metadata{}, true
	}
	fields = append(fields, arrow.Field{Name: "rejected", Type: rejected.DataType(), Nullable: true})
	cols = append(cols, rejected)
	withRejected := array.NewRecord(arrow.NewSchema(fields, nil), cols, rec.NumRows())
	defer withRejected.Release()
	return dataset.WithColumn(withRejected, "run", run), nil
}
