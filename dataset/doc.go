// Package dataset owns the data model of fairage: the Arrow schemas of the
// samples, rejected, plan and predictions tables, their conversion to and
// from plain Go structs, atomic Arrow IPC files, the packed-image format
// that training memory-maps, and the dataset adapters (utkface, appa-real,
// csv, synthetic) that turn a folder of faces into samples.
//
// It knows nothing of the runner, of TensorFlow, or of how groups are
// balanced or analysed.
package dataset
