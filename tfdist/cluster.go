package tfdist

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	corepb "github.com/tensorflow/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
	"go.yaml.in/yaml/v3"
)

// Job names a cluster knows.
const (
	JobWorker = "worker" // runs a replica of the forward and backward pass
	JobPS     = "ps"     // holds the variables and applies the optimizer step
)

// Cluster is the layout of a TensorFlow cluster: the host:port of every task
// of the worker job and of the optional ps job. Task i of a job is the i-th
// address. It is also the config section train.cluster, where the layout is
// either inline or in a cluster file (File).
type Cluster struct {
	File   string   `json:"file,omitempty" yaml:"file" path:"config" fingerprint:"-" doc:"Cluster file (YAML with keys worker and ps, each a list of host:port), instead of the inline lists."`
	Worker []string `json:"worker,omitempty" yaml:"worker" fingerprint:"-" doc:"host:port of each worker task, in task order (task i is the i-th); each runs one replica of the forward and backward pass on its shard of every batch."`
	PS     []string `json:"ps,omitempty" yaml:"ps" fingerprint:"-" doc:"host:port of the parameter-server task (at most one), which holds the variables and applies the optimizer step (empty: worker 0 does)."`
	// ConnectTimeout bounds the wait for every task to answer when training
	// starts; a task still down then is named in the error.
	ConnectTimeout float64 `json:"connect_timeout,omitempty" yaml:"connect_timeout" range:"(0,86400]" fingerprint:"-" doc:"Seconds to wait for every task of the cluster to answer before training starts."`
	// StepTimeout bounds every session call: TensorFlow otherwise waits
	// for a task that died mid-step forever.
	StepTimeout float64 `json:"step_timeout,omitempty" yaml:"step_timeout" range:"(0,86400]" fingerprint:"-" doc:"Seconds a training step (or validation batch) may take before training stops with an error naming the tasks that do not answer; TensorFlow would otherwise wait forever for a task that died."`
}

// DefaultStepTimeout is Cluster.StepTimeout's default, in seconds.
const DefaultStepTimeout = 600

// DefaultConnectTimeout is Cluster.ConnectTimeout's default, in seconds.
const DefaultConnectTimeout = 60

// Enabled reports whether the section asks for distributed training.
func (c Cluster) Enabled() bool { return c.File != "" || len(c.Worker) > 0 || len(c.PS) > 0 }

// fileLayout is the content of a cluster file.
type fileLayout struct {
	Worker []string `yaml:"worker"`
	PS     []string `yaml:"ps"`
}

// LoadFile reads a cluster file: YAML with the keys worker and (optionally)
// ps, each a list of host:port. Unknown keys are errors. The result is
// validated.
func LoadFile(path string) (Cluster, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Cluster{}, fmt.Errorf("cluster file: %w", err) // names the path
	}
	var l fileLayout
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&l); err != nil {
		return Cluster{}, fmt.Errorf("cluster file %s: %v (expected the keys worker and ps, each a list of host:port)", path, err)
	}
	c := Cluster{Worker: l.Worker, PS: l.PS}
	if err := c.validateLayout("cluster file " + path + ":"); err != nil {
		return Cluster{}, err
	}
	return c, nil
}

// Resolve returns the layout the section describes: the cluster file's when
// File is set (it must then have no inline lists), else the inline one,
// validated. key prefixes the config keys in errors ("train.cluster").
func (c Cluster) Resolve(key string) (Cluster, error) {
	if c.File != "" {
		if len(c.Worker) > 0 || len(c.PS) > 0 {
			return Cluster{}, fmt.Errorf("%s: give either file or the worker/ps lists, not both", key)
		}
		l, err := LoadFile(c.File)
		if err != nil {
			return Cluster{}, fmt.Errorf("%s.file: %w", key, err)
		}
		l.ConnectTimeout, l.StepTimeout = c.ConnectTimeout, c.StepTimeout
		return l, nil
	}
	if err := c.validateLayout(key); err != nil {
		return Cluster{}, err
	}
	return c, nil
}

// Validate checks the inline layout (when there is one) without reading a
// cluster file; key prefixes the config keys in errors.
func (c Cluster) Validate(key string) error {
	if c.File != "" || !c.Enabled() {
		return nil
	}
	return c.validateLayout(key)
}

// validateLayout checks that there is at least one worker, at most one ps
// task, and that every address is a host:port with a port in 1-65535 that
// no other task uses. where is a config key ("train.cluster") or, ending in
// a colon, a file ("cluster file c.yaml:").
func (c Cluster) validateLayout(where string) error {
	sep := "."
	if strings.HasSuffix(where, ":") {
		sep = " "
	}
	key := func(job string) string { return where + sep + job }
	var errs []error
	if len(c.Worker) == 0 {
		errs = append(errs, fmt.Errorf("%s: at least one worker task (host:port) is needed", key(JobWorker)))
	}
	if len(c.PS) > 1 {
		errs = append(errs, fmt.Errorf("%s: %d tasks given; the variables live on one parameter task, so give at most one", key(JobPS), len(c.PS)))
	}
	seen := map[string]string{}
	check := func(job string, i int, addr string) {
		key := fmt.Sprintf("%s[%d]", key(job), i)
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host == "" {
			errs = append(errs, fmt.Errorf("%s: %q is not host:port", key, addr))
			return
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			errs = append(errs, fmt.Errorf("%s: %q: port %q is not a number in 1-65535", key, addr, port))
			return
		}
		norm := strings.ToLower(net.JoinHostPort(canonicalHost(host), port))
		if prev, dup := seen[norm]; dup {
			errs = append(errs, fmt.Errorf("%s: %q is also %s; every task needs its own host:port", key, addr, prev))
			return
		}
		seen[norm] = key
	}
	for i, a := range c.Worker {
		check(JobWorker, i, a)
	}
	for i, a := range c.PS {
		check(JobPS, i, a)
	}
	return errors.Join(errs...)
}

// canonicalHost folds the spellings of the loopback host together, so
// localhost:2222 and 127.0.0.1:2222 count as the same address.
func canonicalHost(h string) string {
	switch strings.ToLower(h) {
	case "localhost", "127.0.0.1", "::1":
		return "localhost"
	}
	return h
}

// Tasks returns the addresses of job (nil for an unknown job).
func (c Cluster) Tasks(job string) []string {
	switch job {
	case JobWorker:
		return c.Worker
	case JobPS:
		return c.PS
	}
	return nil
}

// Address returns the host:port of task of job, or an error naming what is
// wrong (unknown job, index out of range).
func (c Cluster) Address(job string, task int) (string, error) {
	if job != JobWorker && job != JobPS {
		return "", fmt.Errorf("job %q: expected %s or %s", job, JobWorker, JobPS)
	}
	tasks := c.Tasks(job)
	if len(tasks) == 0 {
		return "", fmt.Errorf("job %s: the cluster has no %s tasks", job, job)
	}
	if task < 0 || task >= len(tasks) {
		return "", fmt.Errorf("task %d: job %s has tasks 0-%d", task, job, len(tasks)-1)
	}
	return tasks[task], nil
}

// ParamDevice is where the variables and the optimizer step live: ps task 0,
// or worker 0 without a ps job.
func (c Cluster) ParamDevice() string {
	if len(c.PS) > 0 {
		return Device(JobPS, 0)
	}
	return Device(JobWorker, 0)
}

// Device is the device prefix of a task ("/job:worker/task:1").
func Device(job string, task int) string { return fmt.Sprintf("/job:%s/task:%d", job, task) }

// Layout is a short description of the layout that decides training's
// results: the number of workers and whether there is a ps task. Addresses
// are left out, since moving a task to another host changes nothing.
func (c Cluster) Layout() string {
	if !c.Enabled() {
		return "single-process"
	}
	l := fmt.Sprintf("%d workers", len(c.Worker))
	if len(c.Worker) == 1 {
		l = "1 worker"
	}
	if len(c.PS) > 0 {
		l += ", variables on ps task 0"
	} else {
		l += ", variables on worker 0"
	}
	return l
}

// Def is the layout as TensorFlow's ClusterDef.
func (c Cluster) Def() *corepb.ClusterDef {
	def := &corepb.ClusterDef{}
	for _, job := range []string{JobWorker, JobPS} {
		tasks := c.Tasks(job)
		if len(tasks) == 0 {
			continue
		}
		jd := &corepb.JobDef{Name: job, Tasks: map[int32]string{}}
		for i, a := range tasks {
			jd.Tasks[int32(i)] = a
		}
		def.Job = append(def.Job, jd)
	}
	return def
}

// Target is the gRPC target of task of job, for tf.SessionOptions.Target.
func (c Cluster) Target(job string, task int) (string, error) {
	addr, err := c.Address(job, task)
	if err != nil {
		return "", err
	}
	return "grpc://" + addr, nil
}
