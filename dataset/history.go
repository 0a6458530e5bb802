package dataset

import (
	"fmt"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// EpochRecord is one row of the training history: the metrics at the end of
// one epoch. Reports draw learning curves from it without knowing the model.
type EpochRecord struct {
	Phase        string // training phase, e.g. "head" or "all" for head_then_all
	Epoch        int32  // 1-based, counted across phases
	Loss         float64
	MAE          float64
	ValLoss      float64 // NaN without a validation split
	ValMAE       float64
	LR           float64
	Seconds      float64
	ImagesPerSec float64
}

// HistorySchema is the Arrow schema of the training history table.
var HistorySchema = arrow.NewSchema([]arrow.Field{
	{Name: "phase", Type: arrow.BinaryTypes.String},
	{Name: "epoch", Type: arrow.PrimitiveTypes.Int32},
	{Name: "loss", Type: arrow.PrimitiveTypes.Float64},
	{Name: "mae", Type: arrow.PrimitiveTypes.Float64},
	{Name: "val_loss", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "val_mae", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "lr", Type: arrow.PrimitiveTypes.Float64},
	{Name: "seconds", Type: arrow.PrimitiveTypes.Float64},
	{Name: "images_per_sec", Type: arrow.PrimitiveTypes.Float64},
}, nil)

// HistoryToRecord builds a history record; the caller releases it.
func HistoryToRecord(rows []EpochRecord) arrow.Record {
	b := array.NewRecordBuilder(memory.DefaultAllocator, HistorySchema)
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.StringBuilder).Append(r.Phase)
		b.Field(1).(*array.Int32Builder).Append(r.Epoch)
		b.Field(2).(*array.Float64Builder).Append(r.Loss)
		b.Field(3).(*array.Float64Builder).Append(r.MAE)
		appendFloatOrNull(b.Field(4), r.ValLoss)
		appendFloatOrNull(b.Field(5), r.ValMAE)
		b.Field(6).(*array.Float64Builder).Append(r.LR)
		b.Field(7).(*array.Float64Builder).Append(r.Seconds)
		b.Field(8).(*array.Float64Builder).Append(r.ImagesPerSec)
	}
	return b.NewRecord()
}

// HistoryFromRecord decodes a history record.
func HistoryFromRecord(rec arrow.Record) ([]EpochRecord, error) {
	if err := checkSchema(rec.Schema(), HistorySchema); err != nil {
		return nil, fmt.Errorf("history table: %w", err)
	}
	cols := rec.Columns()
	out := make([]EpochRecord, rec.NumRows())
	for i := range out {
		out[i] = EpochRecord{
			Phase:        cols[0].(*array.String).Value(i),
			Epoch:        cols[1].(*array.Int32).Value(i),
			Loss:         cols[2].(*array.Float64).Value(i),
			MAE:          cols[3].(*array.Float64).Value(i),
			ValLoss:      floatOrNaN(cols[4], i),
			ValMAE:       floatOrNaN(cols[5], i),
			LR:           cols[6].(*array.Float64).Value(i),
			Seconds:      cols[7].(*array.Float64).Value(i),
			ImagesPerSec: cols[8].(*array.Float64).Value(i),
		}
	}
	return out, nil
}

// WriteHistory writes the history table to path.
func WriteHistory(path string, rows []EpochRecord) error {
	return writeTable(path, rows, HistoryToRecord)
}

// ReadHistory reads the history table at path.
func ReadHistory(path string) ([]EpochRecord, error) { return readTable(path, HistoryFromRecord) }

// GroupCount is one row of a group distribution table: how many training
// examples (and how much total loss weight) a group has before or after
// balancing. Reports draw the before/after chart from it.
type GroupCount struct {
	Stage     string // "before" or "after"
	Attribute string // an attribute name, or attributes joined by "×" for a joint cell
	Group     string // the group value, or values joined by "×"
	Count     int64
	Weight    float64 // sum of loss weights of the group's examples
}

// GroupCountSchema is the Arrow schema of a group distribution table.
var GroupCountSchema = arrow.NewSchema([]arrow.Field{
	{Name: "stage", Type: arrow.BinaryTypes.String},
	{Name: "attribute", Type: arrow.BinaryTypes.String},
	{Name: "group", Type: arrow.BinaryTypes.String},
	{Name: "count", Type: arrow.PrimitiveTypes.Int64},
	{Name: "weight", Type: arrow.PrimitiveTypes.Float64},
}, nil)

// GroupCountsToRecord builds a distribution record; the caller releases it.
func GroupCountsToRecord(rows []GroupCount) arrow.Record {
	b := array.NewRecordBuilder(memory.DefaultAllocator, GroupCountSchema)
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.StringBuilder).Append(r.Stage)
		b.Field(1).(*array.StringBuilder).Append(r.Attribute)
		b.Field(2).(*array.StringBuilder).Append(r.Group)
		b.Field(3).(*array.Int64Builder).Append(r.Count)
		b.Field(4).(*array.Float64Builder).Append(r.Weight)
	}
	return b.NewRecord()
}

// GroupCountsFromRecord decodes a distribution record.
func GroupCountsFromRecord(rec arrow.Record) ([]GroupCount, error) {
	if err := checkSchema(rec.Schema(), GroupCountSchema); err != nil {
		return nil, fmt.Errorf("distribution table: %w", err)
	}
	cols := rec.Columns()
	out := make([]GroupCount, rec.NumRows())
	for i := range out {
		out[i] = GroupCount{
			Stage:     cols[0].(*array.String).Value(i),
			Attribute: cols[1].(*array.String).Value(i),
			Group:     cols[2].(*array.String).Value(i),
			Count:     cols[3].(*array.Int64).Value(i),
			Weight:    cols[4].(*array.Float64).Value(i),
		}
	}
	return out, nil
}

// WriteGroupCounts writes a distribution table to path.
func WriteGroupCounts(path string, rows []GroupCount) error {
	return writeTable(path, rows, GroupCountsToRecord)
}

// ReadGroupCounts reads a distribution table at path.
func ReadGroupCounts(path string) ([]GroupCount, error) {
	return readTable(path, GroupCountsFromRecord)
}
