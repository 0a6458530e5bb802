package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeCluster(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestWorkerBadInputExitsWithConfigCode(t *testing.T) {
	good := writeCluster(t, "worker: [localhost:1, localhost:2]\n")
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no cluster", []string{"worker"}, "--cluster is required"},
		{"missing file", []string{"worker", "--cluster", filepath.Join(t.TempDir(), "none.yaml")}, "none.yaml"},
		{"task out of range", []string{"worker", "--cluster", good, "--task", "2"}, "task 2: job worker has tasks 0-1"},
		{"no ps job", []string{"worker", "--cluster", good, "--job", "ps"}, "the cluster has no ps tasks"},
		{"unknown job", []string{"worker", "--cluster", good, "--job", "chief"}, `job "chief"`},
		{"duplicate ports", []string{"worker", "--cluster", writeCluster(t, "worker: [localhost:7, 127.0.0.1:7]\n")}, `worker[1]: "127.0.0.1:7" is also`},
		{"malformed address", []string{"worker", "--cluster", writeCluster(t, "worker: [localhost]\n")}, `worker[0]: "localhost" is not host:port`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err, code := execute(t, tc.args...)
			if code != exitConfig || err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("exit %d, error %v; want exit %d and %q", code, err, exitConfig, tc.wantErr)
			}
		})
	}
}

// The worker serves its task until its context ends (SIGINT/SIGTERM in
// main), then returns without error.
func TestWorkerServesUntilCancelled(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cluster := writeCluster(t, fmt.Sprintf("worker: [localhost:%d]\n", port))
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs([]string{"worker", "--cluster", cluster, "--task", "0"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("worker never listened on port %d: %v", port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("worker: %v", err)
	}
	if s := out.String(); !strings.Contains(s, fmt.Sprintf("serving /job:worker/task:0 of %s", cluster)) ||
		!strings.Contains(s, fmt.Sprintf("grpc://localhost:%d", port)) || !strings.Contains(s, "stopping") {
		t.Errorf("output:\n%s", s)
	}
}

// A bad cluster layout in train.cluster is a config error (exit 2) found by
// validate, inline or in the cluster file.
func TestValidateRejectsBadCluster(t *testing.T) {
	dup := writeCluster(t, "worker: [localhost:7, 127.0.0.1:7]\n")
	for _, tc := range []struct {
		name, set, want string
	}{
		{"inline duplicate", "train.cluster.worker=[localhost:5, localhost:5]", `train.cluster.worker[1]: "localhost:5" is also train.cluster.worker[0]`},
		{"inline malformed", "train.cluster.worker=[localhost]", `train.cluster.worker[0]: "localhost" is not host:port`},
		{"file duplicate", "train.cluster.file=" + dup, "cluster file " + dup + ": worker[1]"},
		{"file missing", "train.cluster.file=" + filepath.Join(t.TempDir(), "none.yaml"), "train.cluster.file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err, code := execute(t, "validate", defaultConfig(t), "--set", tc.set)
			if code != exitConfig || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("exit %d, error %v; want exit %d and %q", code, err, exitConfig, tc.want)
			}
		})
	}
}
