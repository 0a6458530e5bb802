// Package tfmodel owns the TensorFlow age regressors: ResNet graphs built in
// Go (graph mode, gradients from TensorFlow's C++ registry via
// op.Gradients), their training loop, checkpoints and batch prediction.
// *ResNet implements regressor.Regressor.
//
// It is the only package that imports TensorFlow. It does not decode images
// (it reads packed uint8 pixels, see dataset.Packed), choose samples or
// weights (the balance plan does), or augment (it calls a
// regressor.Augmenter).
//
// Typical use from a train stage:
//
//	m, err := tfmodel.New(modelCfg, tfmodel.WithTraining(trainCfg))
//	hist, err := m.Fit(ctx, train, valid, aug, onEpoch)
//	err = m.Save(dir)
//
// and from an evaluate stage:
//
//	m, err := tfmodel.Load(dir)
//	ages, err := m.Predict(ctx, data)
//
// Graph layout. One graph holds the variables once and up to three
// "towers" that read them: inference (batch norm on moving statistics, no
// dropout), all-layers training (batch norm on batch statistics, updating
// the moving ones) and head-only training (backbone frozen: its batch norm
// stays in inference mode and only head variables get gradients). Towers
// share the uint8 image placeholder; normalisation happens in the graph.
// Training ops are added to the graph the first time Fit runs; a TensorFlow
// session picks up graph extensions on its next run.
//
// Pretrained backbones. face_resnet (faceresnet.go) is dlib's
// face-recognition ResNet as @vladmandic/face-api runs it; with
// ModelConfig.Pretrained "face-api" its backbone starts from that package's
// weights (read by package weights from build/models, pinned by digest,
// recorded in model.json; pretrained.go). Each architecture has its own
// input normalisation (backbone.go). Head-only phases train the head on
// cached backbone features when the epoch's images repeat
// (featurecache.go); TrainConfig.FreezeStages and BackboneLRScale govern
// fine-tuning (stages.go).
//
// Determinism. Initial weights come from stateless random ops seeded by
// ModelConfig.Seed and the variable's name; shuffling and dropout masks from
// TrainConfig.Seed, the epoch and the step. With the same seed, data and
// thread counts, CPU runs repeat bit for bit (see the tests for the
// tolerance that holds with several intra-op threads).
package tfmodel
