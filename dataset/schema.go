package dataset

import (
	"math"
	"slices"

	"github.com/apache/arrow/go/v17/arrow"

	"fairage/internal/arrowtab"
)

// Split names used in the samples and predictions tables.
const (
	SplitTrain = "train"
	SplitValid = "valid"
	SplitTest  = "test"
)

// Attribute names that samples carry and that balance and analysis group by.
const (
	AttrGender     = "gender"
	AttrEthnicity  = "ethnicity"
	AttrExpression = "expression"
	AttrAgeGroup   = "age_group"
)

// Attributes lists the groupable attributes in a stable order.
var Attributes = []string{AttrGender, AttrEthnicity, AttrExpression, AttrAgeGroup}

// Sample is one row of the samples table: one ingested image.
// Empty strings stand for null (unknown) attribute values; RealAge is NaN
// when the dataset has no real age separate from the target.
type Sample struct {
	ID         string
	Split      string
	Path       string
	Age        float64 // regression target (apparent age where available)
	RealAge    float64 // NaN when unknown
	Gender     string
	Ethnicity  string
	Expression string
	AgeGroup   string
	Width      int32 // original image width before resizing
	Height     int32
	SHA256     string
	// NearDupGroup ties near-duplicate images together so a split keeps them
	// on one side; empty when the image has no known near-duplicate.
	NearDupGroup string
	// Subject identifies the person shown, when the dataset knows it; a
	// split keeps a subject's images on one side, and the analysis compares
	// them within the subject. Empty when unknown.
	Subject string
	// ExpressionSource says where Expression came from once the infer
	// stage has looked at it: ExpressionLabel (the dataset's own label) or
	// ExpressionInferred (a classifier's prediction); "" when the
	// expression is unknown or no infer stage ran.
	ExpressionSource string
	// ExpressionConfidence is the classifier's confidence in its value
	// for an image the infer stage classified (also when it stayed
	// unknown below the threshold); otherwise NaN (null in the table), or
	// 0 where the table lacks the column (no infer stage ran). A real
	// confidence is never 0: the winning value has at least 1/classes.
	ExpressionConfidence float64
}

// Values of Sample.ExpressionSource.
const (
	ExpressionLabel    = "label"
	ExpressionInferred = "inferred"
)

// Attr returns the value of a groupable attribute by name ("" when unknown
// or when name is not an attribute).
func (s *Sample) Attr(name string) string {
	return attrValue(name, s.Gender, s.Ethnicity, s.Expression, s.AgeGroup)
}

// attrValue is the one mapping from attribute names to the fields that
// samples and predictions both carry.
func attrValue(name, gender, ethnicity, expression, ageGroup string) string {
	switch name {
	case AttrGender:
		return gender
	case AttrEthnicity:
		return ethnicity
	case AttrExpression:
		return expression
	case AttrAgeGroup:
		return ageGroup
	}
	return ""
}

// IsAttribute reports whether name is a groupable attribute.
func IsAttribute(name string) bool {
	return slices.Contains(Attributes, name)
}

// samplesBase declares the samples table (ARCHITECTURE.md §3) once: its
// schema, writer and reader.
var samplesBase = []arrowtab.Column[Sample]{
	arrowtab.String("id", false, func(s *Sample) *string { return &s.ID }),
	arrowtab.Dict("split", false, func(s *Sample) *string { return &s.Split }),
	arrowtab.String("path", false, func(s *Sample) *string { return &s.Path }),
	arrowtab.Float64("age", func(s *Sample) *float64 { return &s.Age }),
	arrowtab.NullFloat64("real_age", false, func(s *Sample) *float64 { return &s.RealAge }),
	arrowtab.Dict(AttrGender, true, func(s *Sample) *string { return &s.Gender }),
	arrowtab.Dict(AttrEthnicity, true, func(s *Sample) *string { return &s.Ethnicity }),
	arrowtab.Dict(AttrExpression, true, func(s *Sample) *string { return &s.Expression }),
	arrowtab.Dict(AttrAgeGroup, true, func(s *Sample) *string { return &s.AgeGroup }),
	arrowtab.Int32("width", func(s *Sample) *int32 { return &s.Width }),
	arrowtab.Int32("height", func(s *Sample) *int32 { return &s.Height }),
	arrowtab.String("sha256", false, func(s *Sample) *string { return &s.SHA256 }),
	arrowtab.String("near_dup_group", true, func(s *Sample) *string { return &s.NearDupGroup }),
	arrowtab.String("subject", true, func(s *Sample) *string { return &s.Subject }).Optional(),
}

// inferredColumns are written only by the infer stage (samplesFor): a
// run without it writes the samples table as before, bit for bit.
var inferredColumns = []arrowtab.Column[Sample]{
	arrowtab.Dict("expression_source", true, func(s *Sample) *string { return &s.ExpressionSource }).Optional(),
	arrowtab.NullFloat64("expression_confidence", true, func(s *Sample) *float64 { return &s.ExpressionConfidence }).Optional(),
}

var (
	samplesTable         = arrowtab.New("samples", samplesBase...)
	samplesInferredTable = arrowtab.New("samples", append(slices.Clip(samplesBase), inferredColumns...)...)
)

// samplesFor is the table rows are written with: with the inferred
// columns when any row was looked at by the infer stage.
func samplesFor(rows []Sample) *arrowtab.Table[Sample] {
	for i := range rows {
		if rows[i].ExpressionSource != "" || (rows[i].ExpressionConfidence != 0 && !math.IsNaN(rows[i].ExpressionConfidence)) {
			return samplesInferredTable
		}
	}
	return samplesTable
}

// SamplesSchema is the Arrow schema of the samples table (without the
// infer stage's columns).
var SamplesSchema = samplesTable.Schema()

// Rejection is one row of the rejected table: an input row or file that was
// not ingested, and why.
type Rejection struct {
	Source string // file the row came from (metadata CSV or image path)
	Row    int64  // 1-based data row in Source, 0 when not row-based
	ID     string // sample id or file name when known
	Reason string // short machine-friendly reason, e.g. "missing_file"
	Detail string // human-readable detail
}

var rejectedTable = arrowtab.New("rejected",
	arrowtab.String("source", false, func(r *Rejection) *string { return &r.Source }),
	arrowtab.Int64("row", func(r *Rejection) *int64 { return &r.Row }),
	arrowtab.String("id", false, func(r *Rejection) *string { return &r.ID }),
	arrowtab.Dict("reason", false, func(r *Rejection) *string { return &r.Reason }),
	arrowtab.String("detail", false, func(r *Rejection) *string { return &r.Detail }),
)

// RejectedSchema is the Arrow schema of the rejected table.
var RejectedSchema = rejectedTable.Schema()

// PlanRow is one row of the balance plan: a training example to draw.
// Copy 0 is the original; copies above 0 are oversampled duplicates that
// augmentation must alter. Weight is a per-sample loss weight (mean 1 over
// the plan).
type PlanRow struct {
	SampleID string
	Copy     int32
	AugSeed  uint64
	Weight   float64
}

var planTable = arrowtab.New("plan",
	arrowtab.String("sample_id", false, func(r *PlanRow) *string { return &r.SampleID }),
	arrowtab.Int32("copy", func(r *PlanRow) *int32 { return &r.Copy }),
	arrowtab.Uint64("aug_seed", func(r *PlanRow) *uint64 { return &r.AugSeed }),
	arrowtab.Float64("weight", func(r *PlanRow) *float64 { return &r.Weight }),
)

// PlanSchema is the Arrow schema of the plan table.
var PlanSchema = planTable.Schema()

// Prediction is one row of the predictions table: the contract between any
// model and the analysis.
type Prediction struct {
	ID         string
	Split      string
	YTrue      float64
	YPred      float64
	Gender     string
	Ethnicity  string
	Expression string
	AgeGroup   string
	// Subject identifies the person in the image when the dataset knows it
	// (several images of one person, e.g. two expressions or sessions);
	// "" when unknown. The analysis pairs images of one subject with it.
	Subject string
	// Extra holds the values of an audited table's own attribute columns
	// (PredictionTable.Extra, in that order; "" unknown); nil otherwise.
	Extra []string
}

// Attr returns the value of a groupable attribute by name.
func (p *Prediction) Attr(name string) string {
	return attrValue(name, p.Gender, p.Ethnicity, p.Expression, p.AgeGroup)
}

// predictionsTable declares the predictions table. Files written before
// the subject column existed still read, with every Subject "".
var predictionsTable = arrowtab.New("predictions",
	arrowtab.String("id", false, func(p *Prediction) *string { return &p.ID }),
	arrowtab.Dict("split", false, func(p *Prediction) *string { return &p.Split }),
	arrowtab.Float64("y_true", func(p *Prediction) *float64 { return &p.YTrue }),
	arrowtab.Float64("y_pred", func(p *Prediction) *float64 { return &p.YPred }),
	arrowtab.Dict(AttrGender, true, func(p *Prediction) *string { return &p.Gender }),
	arrowtab.Dict(AttrEthnicity, true, func(p *Prediction) *string { return &p.Ethnicity }),
	arrowtab.Dict(AttrExpression, true, func(p *Prediction) *string { return &p.Expression }),
	arrowtab.Dict(AttrAgeGroup, true, func(p *Prediction) *string { return &p.AgeGroup }),
	arrowtab.Dict("subject", true, func(p *Prediction) *string { return &p.Subject }).Optional(),
)

// PredictionsSchema is the Arrow schema of the predictions table.
var PredictionsSchema = predictionsTable.Schema()

// The record builders and decoders of every table, for callers that hold
// records rather than files (the decoders read by column name and never
// panic on bad buffers).

// SamplesToRecord builds a samples record; the caller releases it.
func SamplesToRecord(rows []Sample) arrow.Record { return samplesFor(rows).Record(rows) }

// SamplesFromRecord decodes a samples record, with or without the infer
// stage's columns.
func SamplesFromRecord(rec arrow.Record) ([]Sample, error) { return samplesInferredTable.Decode(rec) }

// RejectionsToRecord builds a rejected record; the caller releases it.
func RejectionsToRecord(rows []Rejection) arrow.Record { return rejectedTable.Record(rows) }

// RejectionsFromRecord decodes a rejected record.
func RejectionsFromRecord(rec arrow.Record) ([]Rejection, error) { return rejectedTable.Decode(rec) }

// PlanToRecord builds a plan record; the caller releases it.
func PlanToRecord(rows []PlanRow) arrow.Record { return planTable.Record(rows) }

// PlanFromRecord decodes a plan record.
func PlanFromRecord(rec arrow.Record) ([]PlanRow, error) { return planTable.Decode(rec) }

// PredictionsToRecord builds a predictions record; the caller releases it.
func PredictionsToRecord(rows []Prediction) arrow.Record { return predictionsTable.Record(rows) }

// PredictionsFromRecord decodes a predictions record, with or without the
// subject column.
func PredictionsFromRecord(rec arrow.Record) ([]Prediction, error) {
	return predictionsTable.Decode(rec)
}
