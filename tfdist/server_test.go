package tfdist

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"
	"github.com/tensorflow/tensorflow/tensorflow/go/op"
)

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

func loopback(port int) string { return "localhost:" + strconv.Itoa(port) }

// A one-task server runs a graph placed on its task, through a Go session
// that targets it.
func TestServerRunsGraph(t *testing.T) {
	c := Cluster{Worker: []string{loopback(freePorts(t, 1)[0])}}
	srv, err := StartServer(c, JobWorker, 0, ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if want := "grpc://" + c.Worker[0]; srv.Target() != want {
		t.Errorf("target %q, want %q", srv.Target(), want)
	}
	s := op.NewScope().WithDevice(Device(JobWorker, 0))
	sum := op.AddV2(s, op.Const(s.SubScope("a"), float32(2)), op.Const(s.SubScope("b"), float32(3)))
	g, err := s.Finalize()
	if err != nil {
		t.Fatal(err)
	}
	sess, err := tf.NewSession(g, &tf.SessionOptions{Target: srv.Target()})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	out, err := sess.Run(nil, []tf.Output{sum}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := out[0].Value().(float32); got != 5 {
		t.Errorf("2+3 on the server = %v", got)
	}
	devs, err := sess.ListDevices()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range devs {
		found = found || strings.HasPrefix(d.Name, "/job:worker/replica:0/task:0/")
	}
	if !found {
		t.Errorf("devices %v: none of /job:worker/task:0", devs)
	}
	// TensorFlow 2.18 cannot stop a started gRPC server; Stop says so
	// instead of pretending, and Close leaves it serving.
	if err := srv.Stop(); err != nil && !errors.Is(err, ErrStopUnsupported) {
		t.Errorf("stop: %v", err)
	}
}

// A server that was never started can be stopped and freed.
func TestServerNewThenClose(t *testing.T) {
	c := Cluster{Worker: []string{loopback(freePorts(t, 1)[0])}}
	srv, err := NewServer(c, JobWorker, 0, ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Stop(); err != nil {
		t.Errorf("stop of a server never started: %v", err)
	}
	srv.Close()
	if err := srv.Start(); err == nil {
		t.Error("start after close succeeded")
	}
}

func TestNewServerBadInput(t *testing.T) {
	c := Cluster{Worker: []string{"localhost:1", "localhost:2"}}
	for _, tc := range []struct {
		name    string
		c       Cluster
		job     string
		task    int
		wantErr string
	}{
		{"task out of range", c, JobWorker, 2, "task 2: job worker has tasks 0-1"},
		{"negative task", c, JobWorker, -1, "task -1"},
		{"unknown job", c, "chief", 0, `job "chief": expected worker or ps`},
		{"no ps job", c, JobPS, 0, "the cluster has no ps tasks"},
		{"duplicate port", Cluster{Worker: []string{"localhost:5", "127.0.0.1:5"}}, JobWorker, 0, "cluster.worker[1]: \"127.0.0.1:5\" is also cluster.worker[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewServer(tc.c, tc.job, tc.task, ServerOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}
