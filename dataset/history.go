package dataset

import (
	"github.com/apache/arrow/go/v17/arrow"

	"fairage/internal/arrowtab"
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

var historyTable = arrowtab.New("history",
	arrowtab.String("phase", false, func(r *EpochRecord) *string { return &r.Phase }),
	arrowtab.Int32("epoch", func(r *EpochRecord) *int32 { return &r.Epoch }),
	arrowtab.Float64("loss", func(r *EpochRecord) *float64 { return &r.Loss }),
	arrowtab.Float64("mae", func(r *EpochRecord) *float64 { return &r.MAE }),
	arrowtab.NullFloat64("val_loss", false, func(r *EpochRecord) *float64 { return &r.ValLoss }),
	arrowtab.NullFloat64("val_mae", false, func(r *EpochRecord) *float64 { return &r.ValMAE }),
	arrowtab.Float64("lr", func(r *EpochRecord) *float64 { return &r.LR }),
	arrowtab.Float64("seconds", func(r *EpochRecord) *float64 { return &r.Seconds }),
	arrowtab.Float64("images_per_sec", func(r *EpochRecord) *float64 { return &r.ImagesPerSec }),
)

// HistorySchema is the Arrow schema of the training history table.
var HistorySchema = historyTable.Schema()

// WriteHistory writes the history table to path.
func WriteHistory(path string, rows []EpochRecord) error {
	return historyTable.WriteFile(path, rows)
}

// ReadHistory reads the history table at path.
func ReadHistory(path string) ([]EpochRecord, error) { return historyTable.ReadFile(path) }

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

var groupCountTable = arrowtab.New("distribution",
	arrowtab.String("stage", false, func(r *GroupCount) *string { return &r.Stage }),
	arrowtab.String("attribute", false, func(r *GroupCount) *string { return &r.Attribute }),
	arrowtab.String("group", false, func(r *GroupCount) *string { return &r.Group }),
	arrowtab.Int64("count", func(r *GroupCount) *int64 { return &r.Count }),
	arrowtab.Float64("weight", func(r *GroupCount) *float64 { return &r.Weight }),
)

// GroupCountSchema is the Arrow schema of a group distribution table.
var GroupCountSchema = groupCountTable.Schema()

// WriteGroupCounts writes a distribution table to path.
func WriteGroupCounts(path string, rows []GroupCount) error {
	return groupCountTable.WriteFile(path, rows)
}

// ReadGroupCounts reads a distribution table at path.
func ReadGroupCounts(path string) ([]GroupCount, error) {
	return groupCountTable.ReadFile(path)
}

// HistoryToRecord builds a history record; the caller releases it.
func HistoryToRecord(rows []EpochRecord) arrow.Record { return historyTable.Record(rows) }

// HistoryFromRecord decodes a history record.
func HistoryFromRecord(rec arrow.Record) ([]EpochRecord, error) { return historyTable.Decode(rec) }

// GroupCountsToRecord builds a distribution record; the caller releases it.
func GroupCountsToRecord(rows []GroupCount) arrow.Record { return groupCountTable.Record(rows) }

// GroupCountsFromRecord decodes a distribution record.
func GroupCountsFromRecord(rec arrow.Record) ([]GroupCount, error) {
	return groupCountTable.Decode(rec)
}
