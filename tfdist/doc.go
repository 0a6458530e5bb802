// Package tfdist owns the pieces of TensorFlow's gRPC distributed runtime
// that fairage uses: the cluster layout (which tasks of which jobs listen
// where), its validation, and in-process TensorFlow servers started from it
// (TF_NewServer and friends of the C API, which the Go bindings do not wrap).
//
// It does not build graphs or place ops (tfmodel does, with device strings
// from Cluster.Device), and it does not start processes: a task's server runs
// in whatever process calls StartServer (`pipeline worker`, or a test).
package tfdist
