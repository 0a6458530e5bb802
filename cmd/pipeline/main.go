// Command pipeline runs fairage: it trains apparent-age regressors on face
// images and audits their errors for bias, as a graph of cached stages
// described by one config file.
//
//	pipeline run pipeline.yaml
//	pipeline status pipeline.yaml
//	pipeline validate pipeline.yaml
//	pipeline worker --cluster cluster.yaml --job worker --task 0
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"fairage/analysis"
	"fairage/config"
	"fairage/pipeline"
)

// Exit codes, documented in the README.
const (
	exitFailure     = 1
	exitConfig      = 2 // an invalid config, or arguments that cannot be carried out
	exitGate        = 3
	exitInterrupted = 130
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	err := root.ExecuteContext(ctx)
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "error:", err)
	os.Exit(exitCode(ctx, err))
}

func exitCode(ctx context.Context, err error) int {
	var cfgErr *config.Error
	var usageErr *pipeline.UsageError
	var gateErr *analysis.GateError
	switch {
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		return exitInterrupted
	case errors.As(err, &cfgErr), errors.As(err, &usageErr):
		return exitConfig
	case errors.As(err, &gateErr):
		return exitGate
	}
	return exitFailure
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "pipeline",
		Short:         "Train apparent-age regressors on faces and audit them for bias",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newRunCmd(), newStatusCmd(), newValidateCmd(), newAuditCmd(), newAnalyzeCmd(), newEvaluateCmd(), newCompareCmd(), newVersionCmd(), newSchemaCmd(), newVerifyCmd(), newExportCmd(), newWorkerCmd())
	return root
}
