package arrowtab

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"syscall"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"fairage/internal/atomicfile"
)

// MaxFileBytes bounds the Arrow files ReadFile accepts: the pipeline's
// tables are megabytes; a larger file is not one of them.
const MaxFileBytes = 4 << 30

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

// ReadIPC reads every record batch of the Arrow IPC file at path,
// concatenated as one record; the caller releases it. Only a regular file
// is opened (a FIFO would block), and the bytes are decoded with an
// allocator that refuses any buffer larger than the file could hold, so a
// garbled length field is an error, not an out-of-memory crash.
func ReadIPC(path string) (arrow.Record, error) {
	data, err := readRegular(path)
	if err != nil {
		return nil, err
	}
	rec, err := DecodeIPC(data)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return rec, nil
}

// readRegular reads a whole regular file without blocking on a FIFO or
// device listed in its place.
func readRegular(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("read %s: not a regular file (%s)", path, st.Mode().Type())
	}
	if st.Size() > MaxFileBytes {
		return nil, fmt.Errorf("read %s: %d bytes, above the %d a table may have", path, st.Size(), int64(MaxFileBytes))
	}
	data := make([]byte, 0, st.Size()+1)
	buf := bytes.NewBuffer(data)
	if _, err := buf.ReadFrom(io.LimitReader(f, MaxFileBytes+1)); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return buf.Bytes(), nil
}

// DecodeIPC decodes the bytes of an Arrow IPC file into one record (the
// caller releases it). It never panics: bad bytes are an error.
func DecodeIPC(data []byte) (rec arrow.Record, err error) {
	mem := &boundedAllocator{limit: int64(2*len(data)) + 1<<20}
	defer func() {
		if p := recover(); p != nil {
			rec, err = nil, fmt.Errorf("not a valid Arrow IPC file (%v)", p)
		}
	}()
	if err := verifyFooter(data); err != nil {
		return nil, err
	}
	r, err := ipc.NewFileReader(bytes.NewReader(data), ipc.WithAllocator(mem))
	if err != nil {
		return nil, fmt.Errorf("not an Arrow IPC file: %w", err)
	}
	defer r.Close()
	recs := make([]arrow.Record, 0, min(r.NumRecords(), 1024))
	defer func() {
		for _, rec := range recs {
			rec.Release()
		}
	}()
	for i := 0; i < r.NumRecords(); i++ {
		rec, err := r.Record(i)
		if err != nil {
			return nil, fmt.Errorf("batch %d: %w", i, err)
		}
		rec.Retain()
		recs = append(recs, rec)
	}
	if len(recs) == 1 {
		recs[0].Retain()
		return recs[0], nil
	}
	for i, rec := range recs {
		if !rec.Schema().Equal(r.Schema()) {
			return nil, fmt.Errorf("batch %d: its schema differs from the file's", i)
		}
	}
	tbl := array.NewTableFromRecords(r.Schema(), recs)
	defer tbl.Release()
	return concatTable(tbl, mem)
}

func concatTable(tbl arrow.Table, mem memory.Allocator) (arrow.Record, error) {
	cols := make([]arrow.Array, tbl.NumCols())
	for i := range cols {
		chunks := tbl.Column(i).Data().Chunks()
		if len(chunks) == 0 {
			b := array.NewBuilder(mem, tbl.Schema().Field(i).Type)
			cols[i] = b.NewArray()
			b.Release()
			continue
		}
		arr, err := array.Concatenate(chunks, mem)
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

// boundedAllocator refuses (by panicking, which DecodeIPC recovers) any
// allocation above limit or a running total above 4×limit: buffers sized
// by a garbled header must not exhaust memory.
type boundedAllocator struct {
	limit int64
	total atomic.Int64
}

type allocationRefused struct{ size, limit int64 }

func (e allocationRefused) String() string {
	return fmt.Sprintf("a buffer of %d bytes is declared, more than the file can hold (%d)", e.size, e.limit)
}

func (a *boundedAllocator) check(size int) {
	if size < 0 || int64(size) > a.limit || a.total.Add(int64(size)) > 4*a.limit {
		panic(allocationRefused{int64(size), a.limit})
	}
}

func (a *boundedAllocator) Allocate(size int) []byte {
	a.check(size)
	return memory.DefaultAllocator.Allocate(size)
}

func (a *boundedAllocator) Reallocate(size int, b []byte) []byte {
	a.total.Add(-int64(len(b)))
	a.check(size)
	return memory.DefaultAllocator.Reallocate(size, b)
}

func (a *boundedAllocator) Free(b []byte) {
	a.total.Add(-int64(len(b)))
	memory.DefaultAllocator.Free(b)
}

// WriteFile writes rows to path as an Arrow IPC file, atomically.
func (t *Table[T]) WriteFile(path string, rows []T) error {
	rec := t.Record(rows)
	defer rec.Release()
	return WriteIPC(path, rec)
}

// ReadFile reads the table at path by column name. Errors name the file,
// the table and the column.
func (t *Table[T]) ReadFile(path string) ([]T, error) {
	rec, err := ReadIPC(path)
	if err != nil {
		return nil, err
	}
	defer rec.Release()
	rows, err := t.Decode(rec)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return rows, nil
}
