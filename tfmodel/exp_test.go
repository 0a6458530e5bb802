package tfmodel

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"strings"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"
	"github.com/tensorflow/tensorflow/tensorflow/go/op"
)

func TestExpProfile(t *testing.T) {
	w, _ := strconv.ParseFloat(os.Getenv("W"), 64)
	if w == 0 {
		t.Skip()
	}
	data := makeData(t, 64, 64, 1)
	cfg := DefaultModelConfig()
	cfg.WidthMultiplier = w
	tc := DefaultTrainConfig()
	tc.Strategy, tc.Epochs, tc.BatchSize = "all_layers", 1, 32
	tc.IntraOpThreads, tc.InterOpThreads = 2, 1
	m, err := New(cfg, quiet(WithTraining(tc))...)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Fit(context.Background(), data, data, nil, nil); err != nil {
		t.Fatal(err)
	}
	gr, tg := m.gr, m.gr.training
	tt := tg.towers[false]
	plan := batchPlan{data: data, order: sequential(32), size: 32, prefetch: 1, imageSize: 64}
	bt := plan.build(0, make([]byte, 32*64*64*3))
	lr, _ := tf.NewTensor(float32(1e-4))
	seed, _ := tf.NewTensor([]int64{1, 2})
	feeds := map[tf.Output]*tf.Tensor{gr.images: bt.images, tg.targets: bt.targets, tg.weights: bt.weights, tg.lr: lr, gr.stepSeed: seed}
	vars := gr.vs.filter(func(v *variable) bool { return v.trained && v.part != partOptimizer })
	_ = vars
	timeit := func(name string, fetch []tf.Output, targets []*tf.Operation) {
		m.sess.Run(feeds, fetch, targets)
		start := time.Now()
		const n = 3
		for range n {
			if _, err := m.sess.Run(feeds, fetch, targets); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("%s: %.3fs/step", name, time.Since(start).Seconds()/n)
	}
	timeit("infer", []tf.Output{gr.infer.years}, nil)
	timeit("train forward", []tf.Output{tt.loss}, nil)
	timeit("full step", []tf.Output{tt.loss}, []*tf.Operation{tt.step})
	reads := make([]tf.Output, len(vars))
	for i, v := range vars {
		reads[i] = v.read
	}
	grads := opGradients(t, m, tt.loss, reads)
	timeit("all grads", grads, nil)
	for i, v := range vars {
		if strings.HasSuffix(v.name, "kernel") && (strings.Contains(v.name, "stem") || strings.Contains(v.name, "stage1/block1/conv1") || strings.Contains(v.name, "stage4/block2/conv2")) {
			timeit("grad "+v.name, []tf.Output{grads[i]}, nil)
		}
	}
}

func opGradients(t *testing.T, m *ResNet, loss tf.Output, reads []tf.Output) []tf.Output {
	s := m.gr.root.SubScope("exp")
	g := op.Gradients(s, []tf.Output{loss}, reads)
	if err := m.gr.root.Err(); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestExpOps(t *testing.T) {
	if os.Getenv("W") == "" {
		t.Skip()
	}
	cfg := DefaultModelConfig()
	cfg.WidthMultiplier = 0.5
	tc := DefaultTrainConfig()
	tc.Strategy = "all_layers"
	m, err := New(cfg, quiet(WithTraining(tc))...)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.gr.buildTraining(tc); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, o := range m.gr.g.Operations() {
		if len(o.Name()) > 20 && o.Name()[:20] == "training/train_all/g" {
			count[o.Type()]++
		}
	}
	t.Log(count)
}

func TestExpExport(t *testing.T) {
	if os.Getenv("W") == "" {
		t.Skip()
	}
	w, _ := strconv.ParseFloat(os.Getenv("W"), 64)
	cfg := DefaultModelConfig()
	cfg.WidthMultiplier = w
	tc := DefaultTrainConfig()
	tc.Strategy = "all_layers"
	m, err := New(cfg, quiet(WithTraining(tc))...)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.gr.buildTraining(tc); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Create("/tmp/graph.pb")
	m.gr.g.WriteTo(f)
	f.Close()
	tt := m.gr.training.towers[false]
	t.Logf("step=%s loss=%s images=%s targets=%s weights=%s lr=%s seed=%s init=%s reset=%s", tt.step.Name(), tt.loss.Op.Name(), m.gr.images.Op.Name(),
		m.gr.training.targets.Op.Name(), m.gr.training.weights.Op.Name(), m.gr.training.lr.Op.Name(), m.gr.stepSeed.Op.Name(), m.gr.initVars.Name(), m.gr.training.resetOptimizer.Name())
}
