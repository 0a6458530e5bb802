package arrowtab

import (
	"encoding/binary"
	"errors"
	"fmt"

	flatbuffers "github.com/google/flatbuffers/go"
)

// Arrow's IPC reader sizes Go slices from counts in the file's footer
// (fields, children, metadata entries) before reading them, so a garbled
// count can ask for gigabytes, which is a fatal error in Go, not a panic.
// verifyFooter walks the footer's flatbuffer first and checks that every
// vector the reader allocates from lies inside the footer, that nesting is
// bounded, and that no field is visited twice (a cycle or a shared
// subtree would make the reader recurse without end).

// footerSchemaDepth bounds nested types (list of struct of ...); ours are
// flat.
const footerSchemaDepth = 32

// Arrow IPC flatbuffer field slots (Schema.fbs, File.fbs).
const (
	footerSchema, footerDictionaries, footerRecordBatches, footerMetadata = 1, 2, 3, 4
	schemaFields, schemaMetadata, schemaFeatures                          = 1, 2, 3
	fieldName, fieldTypeType, fieldType, fieldDictionary                  = 0, 2, 3, 4
	fieldChildren, fieldMetadata                                          = 5, 6
	dictIndexType                                                         = 1
	typeUnion, typeTimestamp                                              = 14, 10
	unionTypeIDs, timestampTZ                                             = 1, 1
	blockBytes                                                            = 24
)

var errFooter = errors.New("corrupt footer")

type fbCheck struct {
	buf     []byte
	visited map[uint32]bool
}

// verifyFooter checks the footer of a whole IPC file in data.
func verifyFooter(data []byte) error {
	const magic = "ARROW1"
	if len(data) < 2*len(magic)+4+4 || string(data[len(data)-len(magic):]) != magic {
		return errors.New("not an Arrow IPC file (no ARROW1 trailer)")
	}
	size := int(binary.LittleEndian.Uint32(data[len(data)-len(magic)-4:]))
	end := len(data) - len(magic) - 4
	if size <= 0 || size > end-len(magic) {
		return fmt.Errorf("%w: footer of %d bytes in a %d-byte file", errFooter, size, len(data))
	}
	c := &fbCheck{buf: data[end-size : end], visited: map[uint32]bool{}}
	return c.footer()
}

func (c *fbCheck) u32(pos uint32) (uint32, error) {
	if uint64(pos)+4 > uint64(len(c.buf)) {
		return 0, fmt.Errorf("%w: offset %d outside %d bytes", errFooter, pos, len(c.buf))
	}
	return binary.LittleEndian.Uint32(c.buf[pos:]), nil
}

// table returns the table at pos after checking it and its vtable.
func (c *fbCheck) table(pos uint32) (*flatbuffers.Table, error) {
	soff, err := c.u32(pos)
	if err != nil {
		return nil, err
	}
	vt := int64(pos) - int64(int32(soff))
	if vt < 0 || vt+4 > int64(len(c.buf)) {
		return nil, fmt.Errorf("%w: vtable at %d outside %d bytes", errFooter, vt, len(c.buf))
	}
	vtSize := int64(binary.LittleEndian.Uint16(c.buf[vt:]))
	if vtSize < 4 || vt+vtSize > int64(len(c.buf)) {
		return nil, fmt.Errorf("%w: vtable of %d bytes at %d", errFooter, vtSize, vt)
	}
	return &flatbuffers.Table{Bytes: c.buf, Pos: flatbuffers.UOffsetT(pos)}, nil
}

// field returns the absolute position a field's offset points at (0 when
// the field is absent).
func (c *fbCheck) field(t *flatbuffers.Table, slot int) (uint32, error) {
	o := uint32(t.Offset(flatbuffers.VOffsetT(4 + 2*slot)))
	if o == 0 {
		return 0, nil
	}
	at := uint32(t.Pos) + o
	rel, err := c.u32(at)
	if err != nil {
		return 0, err
	}
	target := uint64(at) + uint64(rel)
	if target >= uint64(len(c.buf)) {
		return 0, fmt.Errorf("%w: field points to %d outside %d bytes", errFooter, target, len(c.buf))
	}
	return uint32(target), nil
}

// sub returns a sub-table field, or nil when absent.
func (c *fbCheck) sub(t *flatbuffers.Table, slot int) (*flatbuffers.Table, error) {
	pos, err := c.field(t, slot)
	if err != nil || pos == 0 {
		return nil, err
	}
	return c.table(pos)
}

// vector checks a vector field of elements of elem bytes and returns the
// position of its first element and its length (0, 0 when absent).
func (c *fbCheck) vector(t *flatbuffers.Table, slot, elem int) (uint32, int, error) {
	pos, err := c.field(t, slot)
	if err != nil || pos == 0 {
		return 0, 0, err
	}
	n, err := c.u32(pos)
	if err != nil {
		return 0, 0, err
	}
	if uint64(pos)+4+uint64(n)*uint64(elem) > uint64(len(c.buf)) {
		return 0, 0, fmt.Errorf("%w: a vector of %d elements at %d does not fit in %d bytes", errFooter, n, pos, len(c.buf))
	}
	return pos + 4, int(n), nil
}

// tables checks a vector of tables and calls each with every element.
func (c *fbCheck) tables(t *flatbuffers.Table, slot int, each func(*flatbuffers.Table) error) error {
	start, n, err := c.vector(t, slot, 4)
	if err != nil {
		return err
	}
	for i := range n {
		at := start + uint32(4*i)
		rel, _ := c.u32(at)
		target := uint64(at) + uint64(rel)
		if target >= uint64(len(c.buf)) {
			return fmt.Errorf("%w: element %d points outside the footer", errFooter, i)
		}
		if c.visited[uint32(target)] {
			return fmt.Errorf("%w: element %d is shared or cyclic", errFooter, i)
		}
		c.visited[uint32(target)] = true
		sub, err := c.table(uint32(target))
		if err != nil {
			return err
		}
		if err := each(sub); err != nil {
			return err
		}
	}
	return nil
}

func (c *fbCheck) footer() error {
	root, err := c.u32(0)
	if err != nil {
		return err
	}
	t, err := c.table(root)
	if err != nil {
		return err
	}
	schema, err := c.sub(t, footerSchema)
	if err != nil {
		return err
	}
	if schema == nil {
		return fmt.Errorf("%w: no schema", errFooter)
	}
	if err := c.tables(schema, schemaFields, func(f *flatbuffers.Table) error { return c.fieldDef(f, 0) }); err != nil {
		return err
	}
	if err := c.metadata(schema, schemaMetadata); err != nil {
		return err
	}
	if _, _, err := c.vector(schema, schemaFeatures, 8); err != nil {
		return err
	}
	for _, slot := range []int{footerDictionaries, footerRecordBatches} {
		if _, _, err := c.vector(t, slot, blockBytes); err != nil {
			return err
		}
	}
	return c.metadata(t, footerMetadata)
}

func (c *fbCheck) metadata(t *flatbuffers.Table, slot int) error {
	return c.tables(t, slot, func(kv *flatbuffers.Table) error {
		for _, s := range []int{0, 1} {
			if _, _, err := c.vector(kv, s, 1); err != nil {
				return err
			}
		}
		return nil
	})
}

func (c *fbCheck) fieldDef(f *flatbuffers.Table, depth int) error {
	if depth > footerSchemaDepth {
		return fmt.Errorf("%w: types nested deeper than %d", errFooter, footerSchemaDepth)
	}
	if _, _, err := c.vector(f, fieldName, 1); err != nil {
		return err
	}
	typ, err := c.sub(f, fieldType)
	if err != nil {
		return err
	}
	if typ != nil {
		switch f.GetByteSlot(flatbuffers.VOffsetT(4+2*fieldTypeType), 0) {
		case typeUnion:
			_, _, err = c.vector(typ, unionTypeIDs, 4)
		case typeTimestamp:
			_, _, err = c.vector(typ, timestampTZ, 1)
		}
		if err != nil {
			return err
		}
	}
	dict, err := c.sub(f, fieldDictionary)
	if err != nil {
		return err
	}
	if dict != nil {
		if _, err := c.sub(dict, dictIndexType); err != nil {
			return err
		}
	}
	if err := c.metadata(f, fieldMetadata); err != nil {
		return err
	}
	return c.tables(f, fieldChildren, func(ch *flatbuffers.Table) error { return c.fieldDef(ch, depth+1) })
}
