package dataset

import (
	"fmt"
	"slices"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
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
}

// Attr returns the value of a groupable attribute by name ("" when unknown
// or when name is not an attribute).
func (s *Sample) Attr(name string) string {
	switch name {
	case AttrGender:
		return s.Gender
	case AttrEthnicity:
		return s.Ethnicity
	case AttrExpression:
		return s.Expression
	case AttrAgeGroup:
		return s.AgeGroup
	}
	return ""
}

// IsAttribute reports whether name is a groupable attribute.
func IsAttribute(name string) bool {
	return slices.Contains(Attributes, name)
}

var dictString = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}

// SamplesSchema is the Arrow schema of the samples table (ARCHITECTURE.md §3).
var SamplesSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.BinaryTypes.String},
	{Name: "split", Type: dictString},
	{Name: "path", Type: arrow.BinaryTypes.String},
	{Name: "age", Type: arrow.PrimitiveTypes.Float64},
	{Name: "real_age", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "gender", Type: dictString, Nullable: true},
	{Name: "ethnicity", Type: dictString, Nullable: true},
	{Name: "expression", Type: dictString, Nullable: true},
	{Name: "age_group", Type: dictString, Nullable: true},
	{Name: "width", Type: arrow.PrimitiveTypes.Int32},
	{Name: "height", Type: arrow.PrimitiveTypes.Int32},
	{Name: "sha256", Type: arrow.BinaryTypes.String},
	{Name: "near_dup_group", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// SamplesToRecord builds a samples record; the caller releases it.
func SamplesToRecord(samples []Sample) arrow.Record {
	b := array.NewRecordBuilder(memory.DefaultAllocator, SamplesSchema)
	defer b.Release()
	for i := range samples {
		s := &samples[i]
		b.Field(0).(*array.StringBuilder).Append(s.ID)
		appendDict(b.Field(1), s.Split)
		b.Field(2).(*array.StringBuilder).Append(s.Path)
		b.Field(3).(*array.Float64Builder).Append(s.Age)
		appendFloatOrNull(b.Field(4), s.RealAge)
		appendDict(b.Field(5), s.Gender)
		appendDict(b.Field(6), s.Ethnicity)
		appendDict(b.Field(7), s.Expression)
		appendDict(b.Field(8), s.AgeGroup)
		b.Field(9).(*array.Int32Builder).Append(s.Width)
		b.Field(10).(*array.Int32Builder).Append(s.Height)
		b.Field(11).(*array.StringBuilder).Append(s.SHA256)
		appendStringOrNull(b.Field(12), s.NearDupGroup)
	}
	return b.NewRecord()
}

// SamplesFromRecord decodes a samples record, checking its schema.
func SamplesFromRecord(rec arrow.Record) ([]Sample, error) {
	if err := checkSchema(rec.Schema(), SamplesSchema); err != nil {
		return nil, fmt.Errorf("samples table: %w", err)
	}
	n := int(rec.NumRows())
	out := make([]Sample, n)
	cols := rec.Columns()
	for i := 0; i < n; i++ {
		out[i] = Sample{
			ID:           cols[0].(*array.String).Value(i),
			Split:        dictValue(cols[1], i),
			Path:         cols[2].(*array.String).Value(i),
			Age:          cols[3].(*array.Float64).Value(i),
			RealAge:      floatOrNaN(cols[4], i),
			Gender:       dictValue(cols[5], i),
			Ethnicity:    dictValue(cols[6], i),
			Expression:   dictValue(cols[7], i),
			AgeGroup:     dictValue(cols[8], i),
			Width:        cols[9].(*array.Int32).Value(i),
			Height:       cols[10].(*array.Int32).Value(i),
			SHA256:       cols[11].(*array.String).Value(i),
			NearDupGroup: stringOrEmpty(cols[12], i),
		}
	}
	return out, nil
}

// Rejection is one row of the rejected table: an input row or file that was
// not ingested, and why.
type Rejection struct {
	Source string // file the row came from (metadata CSV or image path)
	Row    int64  // 1-based data row in Source, 0 when not row-based
	ID     string // sample id or file name when known
	Reason string // short machine-friendly reason, e.g. "missing_file"
	Detail string // human-readable detail
}

// RejectedSchema is the Arrow schema of the rejected table.
var RejectedSchema = arrow.NewSchema([]arrow.Field{
	{Name: "source", Type: arrow.BinaryTypes.String},
	{Name: "row", Type: arrow.PrimitiveTypes.Int64},
	{Name: "id", Type: arrow.BinaryTypes.String},
	{Name: "reason", Type: dictString},
	{Name: "detail", Type: arrow.BinaryTypes.String},
}, nil)

// RejectionsToRecord builds a rejected record; the caller releases it.
func RejectionsToRecord(rows []Rejection) arrow.Record {
	b := array.NewRecordBuilder(memory.DefaultAllocator, RejectedSchema)
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.StringBuilder).Append(r.Source)
		b.Field(1).(*array.Int64Builder).Append(r.Row)
		b.Field(2).(*array.StringBuilder).Append(r.ID)
		appendDict(b.Field(3), r.Reason)
		b.Field(4).(*array.StringBuilder).Append(r.Detail)
	}
	return b.NewRecord()
}

// RejectionsFromRecord decodes a rejected record.
func RejectionsFromRecord(rec arrow.Record) ([]Rejection, error) {
	if err := checkSchema(rec.Schema(), RejectedSchema); err != nil {
		return nil, fmt.Errorf("rejected table: %w", err)
	}
	cols := rec.Columns()
	out := make([]Rejection, rec.NumRows())
	for i := range out {
		out[i] = Rejection{
			Source: cols[0].(*array.String).Value(i),
			Row:    cols[1].(*array.Int64).Value(i),
			ID:     cols[2].(*array.String).Value(i),
			Reason: dictValue(cols[3], i),
			Detail: cols[4].(*array.String).Value(i),
		}
	}
	return out, nil
}

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

// PlanSchema is the Arrow schema of the plan table.
var PlanSchema = arrow.NewSchema([]arrow.Field{
	{Name: "sample_id", Type: arrow.BinaryTypes.String},
	{Name: "copy", Type: arrow.PrimitiveTypes.Int32},
	{Name: "aug_seed", Type: arrow.PrimitiveTypes.Uint64},
	{Name: "weight", Type: arrow.PrimitiveTypes.Float64},
}, nil)

// PlanToRecord builds a plan record; the caller releases it.
func PlanToRecord(rows []PlanRow) arrow.Record {
	b := array.NewRecordBuilder(memory.DefaultAllocator, PlanSchema)
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.StringBuilder).Append(r.SampleID)
		b.Field(1).(*array.Int32Builder).Append(r.Copy)
		b.Field(2).(*array.Uint64Builder).Append(r.AugSeed)
		b.Field(3).(*array.Float64Builder).Append(r.Weight)
	}
	return b.NewRecord()
}

// PlanFromRecord decodes a plan record.
func PlanFromRecord(rec arrow.Record) ([]PlanRow, error) {
	if err := checkSchema(rec.Schema(), PlanSchema); err != nil {
		return nil, fmt.Errorf("plan table: %w", err)
	}
	cols := rec.Columns()
	out := make([]PlanRow, rec.NumRows())
	for i := range out {
		out[i] = PlanRow{
			SampleID: cols[0].(*array.String).Value(i),
			Copy:     cols[1].(*array.Int32).Value(i),
			AugSeed:  cols[2].(*array.Uint64).Value(i),
			Weight:   cols[3].(*array.Float64).Value(i),
		}
	}
	return out, nil
}

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
	switch name {
	case AttrGender:
		return p.Gender
	case AttrEthnicity:
		return p.Ethnicity
	case AttrExpression:
		return p.Expression
	case AttrAgeGroup:
		return p.AgeGroup
	}
	return ""
}

// PredictionsSchema is the Arrow schema of the predictions table.
var PredictionsSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.BinaryTypes.String},
	{Name: "split", Type: dictString},
	{Name: "y_true", Type: arrow.PrimitiveTypes.Float64},
	{Name: "y_pred", Type: arrow.PrimitiveTypes.Float64},
	{Name: "gender", Type: dictString, Nullable: true},
	{Name: "ethnicity", Type: dictString, Nullable: true},
	{Name: "expression", Type: dictString, Nullable: true},
	{Name: "age_group", Type: dictString, Nullable: true},
	{Name: "subject", Type: dictString, Nullable: true},
}, nil)

// predictionsSchemaV1 is the predictions table before the subject column:
// files written by earlier builds still read, with every Subject "".
var predictionsSchemaV1 = arrow.NewSchema(PredictionsSchema.Fields()[:8], nil)

// PredictionsToRecord builds a predictions record; the caller releases it.
func PredictionsToRecord(rows []Prediction) arrow.Record {
	b := array.NewRecordBuilder(memory.DefaultAllocator, PredictionsSchema)
	defer b.Release()
	for _, p := range rows {
		b.Field(0).(*array.StringBuilder).Append(p.ID)
		appendDict(b.Field(1), p.Split)
		b.Field(2).(*array.Float64Builder).Append(p.YTrue)
		b.Field(3).(*array.Float64Builder).Append(p.YPred)
		appendDict(b.Field(4), p.Gender)
		appendDict(b.Field(5), p.Ethnicity)
		appendDict(b.Field(6), p.Expression)
		appendDict(b.Field(7), p.AgeGroup)
		appendDict(b.Field(8), p.Subject)
	}
	return b.NewRecord()
}

// PredictionsFromRecord decodes a predictions record, with or without the
// subject column.
func PredictionsFromRecord(rec arrow.Record) ([]Prediction, error) {
	hasSubject := rec.Schema().HasField("subject")
	want := PredictionsSchema
	if !hasSubject {
		want = predictionsSchemaV1
	}
	if err := checkSchema(rec.Schema(), want); err != nil {
		return nil, fmt.Errorf("predictions table: %w", err)
	}
	cols := rec.Columns()
	out := make([]Prediction, rec.NumRows())
	for i := range out {
		out[i] = Prediction{
			ID:         cols[0].(*array.String).Value(i),
			Split:      dictValue(cols[1], i),
			YTrue:      cols[2].(*array.Float64).Value(i),
			YPred:      cols[3].(*array.Float64).Value(i),
			Gender:     dictValue(cols[4], i),
			Ethnicity:  dictValue(cols[5], i),
			Expression: dictValue(cols[6], i),
			AgeGroup:   dictValue(cols[7], i),
		}
		if hasSubject {
			out[i].Subject = dictValue(cols[8], i)
		}
	}
	return out, nil
}

func checkSchema(got, want *arrow.Schema) error {
	for _, f := range want.Fields() {
		idx := got.FieldIndices(f.Name)
		if len(idx) == 0 {
			return fmt.Errorf("missing column %q", f.Name)
		}
	}
	if !got.Equal(want) {
		return fmt.Errorf("schema is %s, expected %s", got, want)
	}
	return nil
}
