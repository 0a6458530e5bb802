package tfdist

// The flags point at build/tf as the Go bindings' own cgo file does (written
// by scripts/setup-tf.sh into build/tfgo); -ltensorflow is the library that
// exports the C API, TF_NewServer included.

// #cgo CFLAGS: -I${SRCDIR}/../build/tf/include
// #cgo LDFLAGS: -L${SRCDIR}/../build/tf/lib -Wl,-rpath,${SRCDIR}/../build/tf/lib -ltensorflow
// #include <stdlib.h>
// #include "tensorflow/c/c_api.h"
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	corepb "github.com/tensorflow/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// ErrStopUnsupported is returned by Server.Stop when TensorFlow cannot stop
// a started gRPC server in place (TF 2.18's GrpcServer answers
// "Clean shutdown is not currently implemented"): the server then keeps
// serving until its process exits, which is how `pipeline worker` stops.
var ErrStopUnsupported = errors.New("tfdist: TensorFlow cannot stop a started gRPC server in place; it stops when its process exits")

// Server is an in-process TensorFlow gRPC server for one task of a cluster.
// It is safe for concurrent use.
type Server struct {
	mu      sync.Mutex
	c       *C.TF_Server
	job     string
	task    int
	addr    string
	started bool
	stopped bool
	closed  bool
	target  string
}

// ServerOptions are the optional settings of NewServer.
type ServerOptions struct {
	// IntraOpThreads and InterOpThreads size the pools the task runs its
	// graph pieces in (0: TensorFlow's choice, all cores). A client's
	// session options do not reach them.
	IntraOpThreads, InterOpThreads int
}

// NewServer creates (but does not start) the server of task of job in
// cluster. The cluster is validated first, so an address that is not
// host:port or a task out of range is reported by config key, not by
// TensorFlow.
func NewServer(cluster Cluster, job string, task int, opts ServerOptions) (*Server, error) {
	if err := cluster.validateLayout("cluster"); err != nil {
		return nil, err
	}
	addr, err := cluster.Address(job, task)
	if err != nil {
		return nil, fmt.Errorf("tfdist: %w", err)
	}
	def := &corepb.ServerDef{Cluster: cluster.Def(), JobName: job, TaskIndex: int32(task), Protocol: "grpc",
		DefaultSessionConfig: &corepb.ConfigProto{IntraOpParallelismThreads: int32(opts.IntraOpThreads),
			InterOpParallelismThreads: int32(opts.InterOpThreads)}}
	b, err := proto.Marshal(def)
	if err != nil {
		return nil, fmt.Errorf("tfdist: encode ServerDef: %w", err)
	}
	st := C.TF_NewStatus()
	defer C.TF_DeleteStatus(st)
	var p unsafe.Pointer
	if len(b) > 0 {
		p = C.CBytes(b)
		defer C.free(p)
	}
	srv := C.TF_NewServer(p, C.size_t(len(b)), st)
	if err := statusErr(st, fmt.Sprintf("create server for /job:%s/task:%d at %s", job, task, addr)); err != nil {
		return nil, err
	}
	return &Server{c: srv, job: job, task: task, addr: addr}, nil
}

// StartServer creates and starts the server of task of job.
func StartServer(cluster Cluster, job string, task int, opts ServerOptions) (*Server, error) {
	s, err := NewServer(cluster, job, task, opts)
	if err != nil {
		return nil, err
	}
	if err := s.Start(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Start starts serving. An address another process already listens on is
// reported here.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("tfdist: start: server is closed")
	}
	st := C.TF_NewStatus()
	defer C.TF_DeleteStatus(st)
	C.TF_ServerStart(s.c, st)
	if err := statusErr(st, "start server for "+s.String()); err != nil {
		return err
	}
	s.started = true
	return nil
}

// Target is the server's gRPC target ("grpc://localhost:2222"), for
// tf.SessionOptions.Target.
func (s *Server) Target() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.target == "" {
		s.target = C.GoString(C.TF_ServerTarget(s.c))
	}
	return s.target
}

// String names the task and its address.
func (s *Server) String() string {
	return fmt.Sprintf("%s (%s)", Device(s.job, s.task), s.addr)
}

// Join blocks until the server has stopped (for a started server in TF
// 2.18: until the process exits).
func (s *Server) Join() error {
	s.mu.Lock()
	c := s.c
	s.mu.Unlock()
	st := C.TF_NewStatus()
	defer C.TF_DeleteStatus(st)
	C.TF_ServerJoin(c, st)
	return statusErr(st, "join server for "+s.String())
}

// Stop asks the server to stop serving. It returns ErrStopUnsupported when
// TensorFlow cannot stop it in place (a started gRPC server).
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil
	}
	st := C.TF_NewStatus()
	defer C.TF_DeleteStatus(st)
	C.TF_ServerStop(s.c, st)
	if C.TF_GetCode(st) == C.TF_UNIMPLEMENTED {
		return ErrStopUnsupported
	}
	if err := statusErr(st, "stop server for "+s.String()); err != nil {
		return err
	}
	s.stopped = true
	return nil
}

// Close retires the server: later Start calls fail. It does not free the
// server: in TF 2.18, TF_DeleteServer on a gRPC server aborts the process
// (gRPC's completion-queue assertion, even for a server never started), and
// a started one cannot be stopped either, so a server lives as long as its
// process. `pipeline worker` stops by exiting.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
}

// statusErr turns a non-OK TF_Status into an error saying what was being
// done, TensorFlow's code and its message.
func statusErr(st *C.TF_Status, doing string) error {
	code := C.TF_GetCode(st)
	if code == C.TF_OK {
		return nil
	}
	return &StatusError{Doing: doing, Code: int(code), Msg: C.GoString(C.TF_Message(st))}
}

// StatusError is a failed TensorFlow call.
type StatusError struct {
	Doing string // what was being done
	Code  int    // TF_Code
	Msg   string // TensorFlow's message
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("tfdist: %s: %s (TensorFlow code %d)", e.Doing, e.Msg, e.Code)
}
