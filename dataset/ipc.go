package dataset

import (
	"fmt"
	"os"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"fairage/internal/atomicfile"
)

// WriteIPC writes rec to path as an Arrow IPC file, atomically.
func WriteIPC(path string, rec arrow.Record) error {
	return atomicfile.Write(path, func(f *os.File) error {
		fw, err := ipc.NewFileWriter(f, ipc.WithSchema(rec.Schema()), ipc.WithAllocator(memory.DefaultAllocator))
		if err != nil {
			return err
		}
		if err := fw.Write(rec); err != nil {
			fw.Close()
			return err
		}
		return fw.Close()
	})
}

// ReadIPC reads every record batch of an Arrow IPC file at path and returns
// them concatenated as one record; the caller releases it.
func ReadIPC(path string) (arrow.Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f, ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return nil, fmt.Errorf("read %s: not an Arrow IPC file: %w", path, err)
	}
	defer r.Close()
	recs := make([]arrow.Record, 0, r.NumRecords())
	defer func() {
		for _, rec := range recs {
			rec.Release()
		}
	}()
	for i := 0; i < r.NumRecords(); i++ {
		rec, err := r.Record(i)
		if err != nil {
			return nil, fmt.Errorf("read %s: batch %d: %w", path, i, err)
		}
		rec.Retain()
		recs = append(recs, rec)
	}
	if len(recs) == 1 {
		recs[0].Retain()
		return recs[0], nil
	}
	tbl := array.NewTableFromRecords(r.Schema(), recs)
	defer tbl.Release()
	return concatTable(tbl)
}

func concatTable(tbl arrow.Table) (arrow.Record, error) {
	cols := make([]arrow.Array, tbl.NumCols())
	for i := range cols {
		chunks := tbl.Column(i).Data().Chunks()
		if len(chunks) == 0 {
			b := array.NewBuilder(memory.DefaultAllocator, tbl.Schema().Field(i).Type)
			cols[i] = b.NewArray()
			b.Release()
			continue
		}
		arr, err := array.Concatenate(chunks, memory.DefaultAllocator)
		if err != nil {
			return nil, fmt.Errorf("concatenate column %s: %w", tbl.Schema().Field(i).Name, err)
		}
		cols[i] = arr
	}
	rec := array.NewRecord(tbl.Schema(), cols, tbl.NumRows())
	for _, c := range cols {
		c.Release()
	}
	return rec, nil
}

func writeTable[T any](path string, rows []T, encode func([]T) arrow.Record) error {
	rec := encode(rows)
	defer rec.Release()
	return WriteIPC(path, rec)
}

func readTable[T any](path string, decode func(arrow.Record) ([]T, error)) ([]T, error) {
	rec, err := ReadIPC(path)
	if err != nil {
		return nil, err
	}
	defer rec.Release()
	rows, err := decode(rec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rows, nil
}

// WriteSamples writes the samples table to path.
func WriteSamples(path string, rows []Sample) error { return writeTable(path, rows, SamplesToRecord) }

// ReadSamples reads the samples table at path.
func ReadSamples(path string) ([]Sample, error) { return readTable(path, SamplesFromRecord) }

// WritePredictions writes the predictions table to path.
func WritePredictions(path string, rows []Prediction) error {
	return writeTable(path, rows, PredictionsToRecord)
}

// ReadPredictions reads the predictions table at path.
func ReadPredictions(path string) ([]Prediction, error) {
	return readTable(path, PredictionsFromRecord)
}

// WritePlan writes the plan table to path.
func WritePlan(path string, rows []PlanRow) error { return writeTable(path, rows, PlanToRecord) }

// ReadPlan reads the plan table at path.
func ReadPlan(path string) ([]PlanRow, error) { return readTable(path, PlanFromRecord) }

// WriteRejections writes the rejected table to path.
func WriteRejections(path string, rows []Rejection) error {
	return writeTable(path, rows, RejectionsToRecord)
}

// ReadRejections reads the rejected table at path.
func ReadRejections(path string) ([]Rejection, error) {
	return readTable(path, RejectionsFromRecord)
}
