package tfmodel

import (
	"fmt"
	"log/slog"
	"os"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"
	corepb "github.com/tensorflow/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

func init() {
	// TensorFlow's C++ INFO lines (CPU feature notes, MLIR pass notices)
	// would interleave with progress output; warnings and errors still show.
	// Only when the user has not chosen a level.
	if _, set := os.LookupEnv("TF_CPP_MIN_LOG_LEVEL"); !set {
		os.Setenv("TF_CPP_MIN_LOG_LEVEL", "1")
	}
}

// Version is the version of the loaded libtensorflow (for run manifests).
func Version() string { return tf.Version() }

// openSession starts a session on g with the given thread pools and logs the
// devices TensorFlow placed it on (a GPU appears when the library has CUDA
// support and finds one; placement is automatic).
func openSession(g *tf.Graph, intra, inter int, prec PrecisionChoice, log *slog.Logger) (*tf.Session, error) {
	cp := &corepb.ConfigProto{
		IntraOpParallelismThreads: int32(intra),
		InterOpParallelismThreads: int32(inter),
		// TensorFlow otherwise sizes a process-wide pool by the first
		// session's settings, so a later session with other thread counts
		// would run (and round) differently from the same session alone.
		UsePerSessionThreads: true,
	}
	prec.rewrite(cp) // mixed precision (precision.go)
	cfg, err := proto.Marshal(cp)
	if err != nil {
		return nil, fmt.Errorf("encode session config: %w", err)
	}
	sess, err := tf.NewSession(g, &tf.SessionOptions{Config: cfg})
	if err != nil {
		return nil, fmt.Errorf("start TensorFlow session: %w", err)
	}
	devs, err := sess.ListDevices()
	if err != nil {
		sess.Close()
		return nil, fmt.Errorf("list TensorFlow devices: %w", err)
	}
	names := make([]string, len(devs))
	for i, d := range devs {
		names[i] = d.Type + ":" + d.Name
	}
	log.Info("tensorflow session", "version", tf.Version(), "devices", names,
		"intra_op_threads", intra, "inter_op_threads", inter, "precision", prec.Resolved)
	return sess, nil
}
