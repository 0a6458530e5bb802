package tfmodel

// Synchronous data-parallel training on a TensorFlow cluster (train.cluster).
//
// One graph (in-graph replication), one session on worker 0's gRPC target:
//
//   - the variables, their Adam slots and the optimizer step live on the
//     parameter device (ps task 0, or worker 0 without a ps job);
//   - each global batch is fed to worker 0, which cuts it into one shard per
//     worker (shard i is rows [i·⌈N/k⌉, (i+1)·⌈N/k⌉) ∩ [0, N), or row 0 at
//     weight 0 where that is empty) and sends each worker its shard as uint8
//     pixels;
//   - worker i runs the forward and backward pass of its shard; its loss is
//     its shard's share of the global mean (Σ over the shard / N), so the
//     sum of the replicas' gradients is the gradient of the global batch,
//     which one Adam step applies on the parameter device.
//
// Batch norm: each replica normalises with its own shard's statistics (as
// tf.distribute does with a plain BatchNormalization layer; synchronising
// the statistics would add a round trip per layer to every step). The
// moving averages are updated once per step from the shard-size-weighted
// mean of the replicas' updated averages, which equals the single-process
// update of the moving mean exactly and of the moving variance up to the
// between-shard spread of the means. This is why distributed training is
// not bit-identical to single-process training at the same global batch:
// the batch statistics, and so the activations and gradients of all-layers
// training, differ by shard. Head-only training (batch norm frozen) and
// dropout (each replica keeps its rows of the global batch's mask) match up
// to float rounding of the gradient sums.
//
// Placement: op.Gradients cannot place the gradient ops it adds (the C API
// takes no device), and TensorFlow would run every replica's backward pass
// on worker 0. placedGradients therefore builds each replica's gradients in
// a copy of the graph and imports them back with the replica's device.

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"
	graphpb "github.com/tensorflow/tensorflow/tensorflow/go/core/framework/graph_go_proto"
	corepb "github.com/tensorflow/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
	"github.com/tensorflow/tensorflow/tensorflow/go/op"
	"google.golang.org/protobuf/proto"

	"fairage/tfdist"
)

// distPlan is where a data-parallel graph runs.
type distPlan struct {
	cluster tfdist.Cluster
	workers int
	param   string // device of the variables and the optimizer step
}

// newDistPlan resolves train.cluster (reading the cluster file).
func newDistPlan(c tfdist.Cluster) (*distPlan, error) {
	cl, err := c.Resolve("train.cluster")
	if err != nil {
		return nil, err
	}
	return &distPlan{cluster: cl, workers: len(cl.Worker), param: cl.ParamDevice()}, nil
}

// paramDevice is where variables go ("" without a cluster).
func (d *distPlan) paramDevice() string {
	if d == nil {
		return ""
	}
	return d.param
}

// waitForTasks waits until every task accepts TCP connections on its
// address, so a worker that is not up yet is waited for (up to the connect
// timeout) and then named, instead of TensorFlow waiting forever.
func (d *distPlan) waitForTasks(log *slog.Logger) error {
	timeout := time.Duration(d.cluster.ConnectTimeout * float64(time.Second))
	if timeout <= 0 {
		timeout = tfdist.DefaultConnectTimeout * time.Second
	}
	deadline := time.Now().Add(timeout)
	for _, job := range []string{tfdist.JobWorker, tfdist.JobPS} {
		for i, addr := range d.cluster.Tasks(job) {
			logged := false
			for {
				c, err := net.DialTimeout("tcp", addr, time.Second)
				if err == nil {
					c.Close()
					break
				}
				if time.Now().After(deadline) {
					return fmt.Errorf("train.cluster: %s at %s did not answer within %v (%v); start it with `pipeline worker --cluster FILE --job %s --task %d` on that host, or raise train.cluster.connect_timeout",
						tfdist.Device(job, i), addr, timeout, err, job, i)
				}
				if !logged {
					log.Info("waiting for cluster task", "task", tfdist.Device(job, i), "address", addr, "timeout", timeout)
					logged = true
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
	}
	return nil
}

// openSession starts a session on worker 0 of the cluster and checks that
// every task's CPU is among its devices.
func (d *distPlan) openSession(g *tf.Graph, intra, inter int, prec PrecisionChoice, log *slog.Logger) (*tf.Session, error) {
	if err := d.waitForTasks(log); err != nil {
		return nil, err
	}
	cp := &corepb.ConfigProto{
		IntraOpParallelismThreads: int32(intra),
		InterOpParallelismThreads: int32(inter),
		OperationTimeoutInMs:      int64(d.cluster.StepTimeout * 1000),
		// No UsePerSessionThreads (a distributed session refuses it): the
		// tasks run their pieces in their own servers' pools, which
		// `pipeline worker` sizes.
		// No ClusterDef: the workers already serve this cluster, and
		// TensorFlow refuses to propagate one naming a task as it booted.
		// Variables of this session are its own on every task, so a model
		// trained earlier on the same workers cannot leak into this one.
		IsolateSessionState: true,
	}
	prec.rewrite(cp) // mixed precision (precision.go), as in a local session
	cfg, err := proto.Marshal(cp)
	if err != nil {
		return nil, fmt.Errorf("encode session config: %w", err)
	}
	target, err := d.cluster.Target(tfdist.JobWorker, 0)
	if err != nil {
		return nil, err
	}
	sess, err := tf.NewSession(g, &tf.SessionOptions{Target: target, Config: cfg})
	if err != nil {
		return nil, fmt.Errorf("start TensorFlow session on %s: %w", target, err)
	}
	devs, err := sess.ListDevices()
	if err != nil {
		sess.Close()
		return nil, d.explain(fmt.Errorf("list the cluster's devices: %w", err))
	}
	var names []string
	for _, job := range []string{tfdist.JobWorker, tfdist.JobPS} {
		for i := range d.cluster.Tasks(job) {
			want := fmt.Sprintf("/job:%s/replica:0/task:%d/", job, i)
			found := false
			for _, dv := range devs {
				found = found || strings.HasPrefix(dv.Name, want)
			}
			if !found {
				sess.Close()
				return nil, fmt.Errorf("train.cluster: %s (%s) answered but is not a task of this cluster: is it serving another cluster file?",
					tfdist.Device(job, i), d.cluster.Tasks(job)[i])
			}
		}
	}
	for _, dv := range devs {
		names = append(names, dv.Name)
	}
	log.Info("tensorflow cluster session", "version", tf.Version(), "target", target, "layout", d.cluster.Layout(),
		"devices", names, "intra_op_threads", intra, "inter_op_threads", inter)
	return sess, nil
}

// explain adds to an error from a session call which tasks do not answer
// now (TensorFlow's message names a task by device at best, and a step that
// timed out names none), and what to do.
func (d *distPlan) explain(err error) error {
	if d == nil || err == nil {
		return err
	}
	var down, tasks []string
	for _, job := range []string{tfdist.JobWorker, tfdist.JobPS} {
		for i, a := range d.cluster.Tasks(job) {
			task := fmt.Sprintf("%s=%s", tfdist.Device(job, i), a)
			tasks = append(tasks, task)
			if c, err := net.DialTimeout("tcp", a, 2*time.Second); err != nil {
				down = append(down, task)
			} else {
				c.Close()
			}
		}
	}
	if len(down) > 0 {
		return fmt.Errorf("%w: cluster task %s does not answer; restart it, then --resume continues from the last checkpoint",
			err, strings.Join(down, ", "))
	}
	return fmt.Errorf("%w (cluster tasks %s all answer)", err, strings.Join(tasks, ", "))
}

// shard is a replica's rows of the global batch: [start, start+n) of total.
type shard struct {
	total, start, n tf.Output // int32 scalars
}

// globalShape is x's shape with the batch dimension of the global batch.
func (sh *shard) globalShape(s *op.Scope, x tf.Output) tf.Output {
	shp := op.Shape(s.SubScope("shape"), x)
	rest := op.Slice(s.SubScope("rest"), shp, op.Const(s.SubScope("one"), []int32{1}), op.Const(s.SubScope("all"), []int32{-1}))
	return op.ConcatV2(s.SubScope("global"), []tf.Output{op.Reshape(s.SubScope("total"), sh.total, op.Const(s.SubScope("vec"), []int32{1})), rest},
		op.Const(s.SubScope("axis"), int32(0)))
}

// rows keeps the shard's rows of a tensor of the global batch.
func (sh *shard) rows(s *op.Scope, x tf.Output) tf.Output {
	rank := x.Shape().NumDimensions()
	begin := []tf.Output{sh.start}
	size := []tf.Output{sh.n}
	for range max(rank, 1) - 1 {
		begin = append(begin, op.Const(s.SubScope("zero"), int32(0)))
		size = append(size, op.Const(s.SubScope("rest"), int32(-1)))
	}
	return op.Slice(s.SubScope("rows"), x, op.Pack(s.SubScope("begin"), begin), op.Pack(s.SubScope("size"), size))
}

// bnStat is one training batch norm of a replica: its moving-statistics
// variables and the updated values it computed from its shard.
type bnStat struct {
	mean, variance  *variable
	newMean, newVar tf.Output
}

// replicaStep is trainTower on a cluster: one replica of the forward and
// backward pass per worker, the gradients summed on the parameter device,
// one Adam step.
func (gr *graph) replicaStep(s *op.Scope, m mode, headOnly bool, tc TrainConfig, tg *trainGraph, l2 tf.Output, iterations *variable) (*trainTower, error) {
	d := gr.dist
	k := int32(d.workers)
	// Shard bounds, computed where the batch is fed (worker 0).
	ss := s.SubScope("shard")
	c32 := func(name string, v int32) tf.Output { return op.Const(ss.SubScope(name), v) }
	n := op.Size(ss.SubScope("n"), tg.targets, op.SizeOutType(tf.Int32))
	per := op.FloorDiv(ss.SubScope("per"), op.AddV2(ss.SubScope("ceil"), n, c32("k_minus_1", k-1)), c32("k", k))
	nf := op.Cast(ss.SubScope("n_float"), n, tf.Float)
	vars := gr.trainedVars(m, headOnly)
	reads := make([]tf.Output, len(vars))
	for i, v := range vars {
		reads[i] = v.read
	}

	agg := s.SubScope("aggregate").WithDevice(d.param)
	sums := make([][]tf.Output, len(vars))
	var losses, absErrs []tf.Output
	var stats [][]bnStat
	var fracs, nonEmpty []tf.Output
	for i := range k {
		is := ss.SubScope(fmt.Sprintf("replica_%d", i))
		start := op.Minimum(is.SubScope("start"), n, op.Mul(is.SubScope("offset"), per, c32("index", i)))
		end := op.Minimum(is.SubScope("end"), n, op.Mul(is.SubScope("next"), per, c32("index_next", i+1)))
		rows := op.Sub(is.SubScope("rows"), end, start)
		has := op.Greater(is.SubScope("non_empty"), rows, c32("zero", 0))
		// A replica without rows (a last batch smaller than the cluster)
		// gets row 0 at weight 0 instead: TensorFlow's kernels do not all
		// accept an empty batch (Conv2D then batch norm fail), and a zero
		// weight makes its loss, error and gradients exactly zero; its
		// batch-norm statistics are left out below.
		sh := &shard{total: n, start: op.Select(is.SubScope("start_or_0"), has, start, c32("first", 0)),
			n: op.Maximum(is.SubScope("rows_or_1"), rows, c32("one", 1))}
		keep := op.Cast(is.SubScope("keep"), has, tf.Float)
		images := sh.rows(is.SubScope("images"), gr.images)
		targets := sh.rows(is.SubScope("targets"), tg.targets)
		weights := op.Mul(is.SubScope("weights_kept"), sh.rows(is.SubScope("weights"), tg.weights), keep)
		frac := op.Div(is.SubScope("frac"), op.Cast(is.SubScope("rows_float"), rows, tf.Float), nf)
		fracs, nonEmpty = append(fracs, frac), append(nonEmpty, has)

		device := tfdist.Device(tfdist.JobWorker, int(i))
		rs := s.SubScope(fmt.Sprintf("replica_%d", i)).WithDevice(device)
		t := &tower{mode: m, arch: gr.cfg.Arch, vs: gr.vs, dropSeed: gr.stepSeed, shard: sh}
		out, err := gr.towerOn(t, rs, gr.normalise(rs.SubScope("input"), images))
		if err != nil {
			return nil, fmt.Errorf("replica %d: %w", i, err)
		}
		ls := rs.SubScope("loss")
		lo := gr.shardLoss(ls, out, string(tc.Loss), targets, weights, nf)
		lo.absErr = op.Mul(ls.SubScope("abs_err_kept"), lo.absErr, keep)
		if i == 0 && l2.Op != nil {
			lo.loss = op.AddV2(ls.SubScope("total"), lo.loss, l2) // weight decay once per step
		}
		grads, err := gr.placedGradients(rs, device, lo.loss, reads)
		if err != nil {
			return nil, fmt.Errorf("build %s gradients of replica %d: %w", m.name, i, err)
		}
		gs := rs.SubScope("masked")
		for j, g := range grads {
			if g.Op == nil {
				continue
			}
			// Belt and braces for the zero-weight stand-in row above.
			sums[j] = append(sums[j], op.Select(gs.SubScope("grad"), has, g, op.ZerosLike(gs.SubScope("zero"), g)))
		}
		losses, absErrs = append(losses, lo.loss), append(absErrs, lo.absErr)
		stats = append(stats, out.bnStats)
	}

	grads := make([]tf.Output, len(vars))
	for j := range vars {
		if len(sums[j]) > 0 {
			grads[j] = op.AddN(agg.SubScope("grad"), sums[j])
		}
	}
	updates, err := gr.averageBNStats(agg.SubScope("batch_norm"), stats, fracs, nonEmpty)
	if err != nil {
		return nil, err
	}
	lo := lossOut{loss: op.AddN(agg.SubScope("loss"), losses), absErr: op.AddN(agg.SubScope("abs_err"), absErrs)}
	if err := gr.root.Err(); err != nil {
		return nil, fmt.Errorf("build %s replicas: %w", m.name, cleanScopeErr(err))
	}
	return gr.applyStep(agg, lo, updates, vars, grads, tc, tg, iterations)
}

// normalise is the input normalisation of buildGraph on a batch of images.
func (gr *graph) normalise(s *op.Scope, images tf.Output) tf.Output {
	norm := inputNormFor(gr.cfg.Arch)
	x := op.Sub(s, op.Cast(s, images, tf.Float), op.Const(s.SubScope("mean"), norm.Mean))
	return op.Div(s, x, op.Const(s.SubScope("std"), norm.Std))
}

// shardLoss is lossOf for one shard: its share of the global batch's mean
// loss (Σ over the shard / N), and its summed absolute error in years.
func (gr *graph) shardLoss(s *op.Scope, out *towerOut, loss string, targets, weights, nf tf.Output) lossOut {
	axis := op.Const(s.SubScope("axis"), []int32{0})
	target := op.Mul(s.SubScope("target_scaled"), targets, op.Const(s.SubScope("inv_age_max"), float32(1/gr.cfg.AgeMax)))
	diff := op.Sub(s.SubScope("diff"), out.scaled, target)
	var per tf.Output
	if loss == "mse" {
		per = op.Square(s.SubScope("per_sample"), diff)
	} else {
		per = op.Abs(s.SubScope("per_sample"), diff)
	}
	l := op.Div(s.SubScope("share"), op.Sum(s.SubScope("sum"), op.Mul(s.SubScope("weighted"), per, weights), axis), nf)
	errYears := op.Abs(s.SubScope("abs_years"), op.Sub(s.SubScope("err_years"), out.years, targets))
	return lossOut{loss: l, absErr: op.Sum(s.SubScope("abs_err"), errYears, axis)}
}

// averageBNStats assigns each training batch norm's moving statistics the
// shard-size-weighted mean of the replicas' updated values (see the file
// comment), skipping replicas without rows.
func (gr *graph) averageBNStats(s *op.Scope, stats [][]bnStat, fracs, nonEmpty []tf.Output) ([]*tf.Operation, error) {
	if len(stats) == 0 {
		return nil, nil
	}
	var updates []*tf.Operation
	for j, first := range stats[0] {
		var means, vars []tf.Output
		for i, rep := range stats {
			if len(rep) != len(stats[0]) || rep[j].mean != first.mean {
				return nil, errors.New("replicas disagree on their batch-norm layers (a bug)")
			}
			ws := s.SubScope("weighted")
			w := func(x tf.Output) tf.Output {
				return op.Select(ws.SubScope("keep"), nonEmpty[i], op.Mul(ws.SubScope("mul"), x, fracs[i]), op.ZerosLike(ws.SubScope("zero"), x))
			}
			means, vars = append(means, w(rep[j].newMean)), append(vars, w(rep[j].newVar))
		}
		updates = append(updates,
			op.AssignVariableOp(s.SubScope("update_mean"), first.mean.handle, op.AddN(s.SubScope("mean"), means)),
			op.AssignVariableOp(s.SubScope("update_variance"), first.variance.handle, op.AddN(s.SubScope("variance"), vars)))
	}
	return updates, nil
}

// placedGradients is op.Gradients(y, xs) with the gradient ops on device:
// they are built in a copy of the graph and imported back with the device
// as their default, their inputs mapped onto the forward ops of gr.
func (gr *graph) placedGradients(s *op.Scope, device string, y tf.Output, xs []tf.Output) ([]tf.Output, error) {
	marker := op.NoOp(s.SubScope("gradients_of")).Name() // ".../replica_i/gradients_of/NoOp"
	prefix := strings.TrimSuffix(marker, "gradients_of/NoOp") + "gradients"
	var buf bytes.Buffer
	if _, err := gr.g.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("export graph: %w", err)
	}
	scratch := tf.NewGraph()
	if err := scratch.Import(buf.Bytes(), ""); err != nil {
		return nil, fmt.Errorf("copy graph: %w", err)
	}
	in := func(o tf.Output) tf.Output { return scratch.Operation(o.Op.Name()).Output(o.Index) }
	sxs := make([]tf.Output, len(xs))
	for i, x := range xs {
		sxs[i] = in(x)
	}
	sg, err := scratch.AddGradients(prefix, []tf.Output{in(y)}, sxs, nil)
	if err != nil {
		return nil, err
	}
	buf.Reset()
	if _, err := scratch.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("export gradients: %w", err)
	}
	var def graphpb.GraphDef
	if err := proto.Unmarshal(buf.Bytes(), &def); err != nil {
		return nil, fmt.Errorf("read gradients: %w", err)
	}
	mine := func(name string) bool { return strings.HasPrefix(name, prefix+"/") }
	part := &graphpb.GraphDef{Versions: def.Versions}
	opts := tf.GraphImportOptions{Device: device}
	for _, nd := range def.Node {
		if !mine(nd.Name) {
			continue
		}
		for _, input := range nd.Input {
			if strings.HasPrefix(input, "^") {
				if !mine(input[1:]) {
					return nil, fmt.Errorf("gradient op %s depends on %s by control only; cannot place it", nd.Name, input)
				}
				continue
			}
			name, idx := input, 0
			if at := strings.LastIndexByte(input, ':'); at >= 0 {
				fmt.Sscan(input[at+1:], &idx)
				name = input[:at]
			}
			if !mine(name) {
				src := gr.g.Operation(name)
				if src == nil {
					return nil, fmt.Errorf("gradient op %s reads %s, which the graph does not have", nd.Name, input)
				}
				opts.AddInputMapping(name, idx, src.Output(idx))
			}
		}
		part.Node = append(part.Node, nd)
	}
	b, err := proto.Marshal(part)
	if err != nil {
		return nil, err
	}
	if err := gr.g.ImportWithOptions(b, opts); err != nil {
		return nil, fmt.Errorf("import gradients on %s: %w", device, err)
	}
	out := make([]tf.Output, len(sg))
	for i, g := range sg {
		if g.Op == nil {
			continue
		}
		o := gr.g.Operation(g.Op.Name())
		if o == nil {
			return nil, fmt.Errorf("gradient %s missing after import", g.Op.Name())
		}
		out[i] = o.Output(g.Index)
	}
	return out, nil
}

// ParamBytes returns the size of the network's variables (what a replica
// reads each step) and of those all-layers training updates (what it sends
// back as gradients), in bytes of float32: the traffic model of a step.
func (r *ResNet) ParamBytes() (vars, trained int64) {
	mv := r.gr.modelVars()
	var tr []*variable
	for _, v := range mv {
		if v.trained {
			tr = append(tr, v)
		}
	}
	return bytesOf(mv), bytesOf(tr)
}
