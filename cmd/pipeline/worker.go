package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"fairage/pipeline"
	"fairage/tfdist"
)

// newWorkerCmd serves one task of a TensorFlow cluster for distributed
// training (train.cluster): the train stage's session sends it graph pieces.
func newWorkerCmd() *cobra.Command {
	var cluster, job string
	var task, intra, inter int
	cmd := &cobra.Command{
		Use:   "worker --cluster CLUSTER.yaml --job worker --task N",
		Short: "Serve one task of a TensorFlow cluster for distributed training, until SIGINT/SIGTERM",
		Long: `Starts TensorFlow's gRPC server for task N of a job (worker or ps) of the
cluster file (YAML: worker and ps, each a list of host:port; task i is the
i-th). Run one per task, on the host its address names, then train with
train.cluster naming the same file. It serves until interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cluster == "" {
				return &pipeline.UsageError{Err: fmt.Errorf("worker: --cluster is required (a cluster file with keys worker and ps)")}
			}
			c, err := tfdist.LoadFile(cluster)
			if err != nil {
				return &pipeline.UsageError{Err: fmt.Errorf("worker: %w", err)}
			}
			if _, err := c.Address(job, task); err != nil {
				return &pipeline.UsageError{Err: fmt.Errorf("worker: --job %s --task %d in %s: %w", job, task, cluster, err)}
			}
			if intra < 0 || inter < 0 {
				return &pipeline.UsageError{Err: fmt.Errorf("worker: thread counts --intra-op-threads %d, --inter-op-threads %d must be zero or positive", intra, inter)}
			}
			// The task runs its graph pieces in its own server's pools: the
			// training process's train.threads do not reach it.
			srv, err := tfdist.StartServer(c, job, task, tfdist.ServerOptions{IntraOpThreads: intra, InterOpThreads: inter})
			if err != nil {
				return fmt.Errorf("worker: %w", err)
			}
			defer srv.Close()
			host, _ := os.Hostname()
			fmt.Fprintf(cmd.ErrOrStderr(), "worker: serving %s of %s (%s) at %s on host %s; stop with Ctrl-C or SIGTERM\n",
				tfdist.Device(job, task), cluster, c.Layout(), srv.Target(), host)
			start := time.Now()
			<-cmd.Context().Done()
			// TensorFlow 2.18 cannot stop a started gRPC server in place
			// (tfdist.ErrStopUnsupported): the server ends with this process,
			// which returns now. A session still using it gets an error naming
			// this task.
			fmt.Fprintf(cmd.ErrOrStderr(), "worker: %s stopping after %s\n", tfdist.Device(job, task), time.Since(start).Round(time.Second))
			return nil
		},
	}
	cmd.Flags().StringVar(&cluster, "cluster", "", "cluster file: YAML with worker (and optionally ps), each a list of host:port")
	cmd.Flags().StringVar(&job, "job", tfdist.JobWorker, "job of this task: worker or ps")
	cmd.Flags().IntVar(&task, "task", 0, "index of this task in its job (0-based: the position of its address)")
	cmd.Flags().IntVar(&intra, "intra-op-threads", 0, "TensorFlow intra-op threads of this task (0: all cores)")
	cmd.Flags().IntVar(&inter, "inter-op-threads", 0, "TensorFlow inter-op threads of this task (0: TensorFlow's choice)")
	return cmd
}
