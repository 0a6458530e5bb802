#!/usr/bin/env bash
# Makes TensorFlow usable from Go in this checkout, with no extra environment
# afterwards (`go build/vet/test ./...` just work):
#
#   build/tf/{lib,include}  libtensorflow (C API) and its headers, taken from
#                           LIBTENSORFLOW_DIR, the system, or the PyPI wheel
#   build/tfgo/             module github.com/tensorflow/tensorflow: a copy of
#                           tensorflow/go plus Go code generated from the TF
#                           protos, and a cgo file pointing at build/tf
#   go.mod                  require + replace => ./build/tfgo
#
# Why this way: the Go bindings import generated proto packages that the TF
# repository does not contain, and no registry here serves the libtensorflow
# tarball; see ARCHITECTURE.md §6 (TensorFlow from Go: checked facts).
#
# Environment:
#   FAIRAGE_CACHE      download cache (default ~/.cache/fairage)
#   LIBTENSORFLOW_DIR  use this libtensorflow (a folder with lib/ and include/)
#   TF_VARIANT         cpu (default: tensorflow-cpu wheel) or gpu (tensorflow
#                      wheel; its CUDA libraries are the pip packages listed in
#                      cuda_packages below, unpacked into build/tf/nvidia so the
#                      library's $ORIGIN/../nvidia/*/lib runpath finds them)
#   SETUP_TF_FORCE=1   ignore the stamp and redo everything
#
# Idempotent: a stamp makes a second run a no-op that takes about a second.
set -euo pipefail

tf_version=2.18.0
protoc_gen_go_version=v1.36.12 # also the google.golang.org/protobuf runtime
grpcio_tools_version=1.68.1    # provides protoc when none is installed
tf_module=github.com/tensorflow/tensorflow
tf_module_version=v${tf_version}+incompatible

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${FAIRAGE_CACHE:-$HOME/.cache/fairage}
variant=${TF_VARIANT:-cpu}
build=$root/build
tfdir=$build/tf
tfgo=$build/tfgo
stamp=$build/.setup-tf.stamp

say() { echo "setup-tf: $*"; }
die() {
  echo "setup-tf: error: $*" >&2
  exit 1
}
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"; }

case $variant in
cpu) wheel_name=tensorflow_cpu pip_name=tensorflow-cpu ;;
gpu) wheel_name=tensorflow pip_name=tensorflow ;;
*) die "TF_VARIANT=$variant: expected cpu or gpu" ;;
esac

# CUDA 12 libraries the GPU wheel is built against (tensorflow[and-cuda] 2.18).
cuda_packages=(
  nvidia-cublas-cu12==12.5.3.2 nvidia-cuda-cupti-cu12==12.5.82
  nvidia-cuda-nvcc-cu12==12.5.82 nvidia-cuda-nvrtc-cu12==12.5.82
  nvidia-cuda-runtime-cu12==12.5.82 nvidia-cudnn-cu12==9.3.0.75
  nvidia-cufft-cu12==11.2.3.61 nvidia-curand-cu12==10.3.6.82
  nvidia-cusolver-cu12==11.6.3.83 nvidia-cusparse-cu12==12.5.1.3
  nvidia-nccl-cu12==2.21.5 nvidia-nvjitlink-cu12==12.5.82
)

need go "install Go (the version go.mod names, https://go.dev/dl/) and put it on PATH"
need nm "install binutils (apt-get install binutils)"

# --- fast path -------------------------------------------------------------
# The stamp records everything that decides the outputs; when it matches and
# the outputs are in place there is nothing to do.
want_stamp=$(
  {
    sha256sum "$0" | cut -d' ' -f1
    echo "$variant ${LIBTENSORFLOW_DIR:-} $root"
  } | sha256sum | cut -d' ' -f1
)
if [ "${SETUP_TF_FORCE:-0}" != 1 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want_stamp" ] &&
  [ -f "$tfgo/go.mod" ] && [ -e "$(cat "$tfgo/.libdir" 2>/dev/null)/libtensorflow.so" ] &&
  grep -q "^replace $tf_module => ./build/tfgo" "$root/go.mod"; then
  say "up to date ($(cat "$tfgo/.libtensorflow"))"
  exit 0
fi
mkdir -p "$build" "$cache/wheels"
rm -f "$stamp"

# --- 1. libtensorflow --------------------------------------------------------
# Sets libdir and incdir, and cgo_paths=relative when they live in build/tf
# (so the cgo flags can use ${SRCDIR} and survive moving the checkout).
# exports LIB SYM...: LIB defines every SYM. (grep reads a file, not a pipe
# from nm: with pipefail, grep -q closing the pipe early would make nm's
# SIGPIPE count as a failure.)
exports() {
  local lib=$1 sym
  shift
  nm -D --defined-only "$lib" >"$build/.nm.out" 2>/dev/null || return 1
  for sym in "$@"; do
    grep -q " T $sym\(@.*\)\{0,1\}\$" "$build/.nm.out" || return 1
  done
}

find_system_lib() {
  local d
  for d in /usr/local/lib /usr/lib /usr/lib/x86_64-linux-gnu /usr/lib64; do
    if [ -e "$d/libtensorflow.so" ] && [ -f "${d%/lib*}/include/tensorflow/c/c_api.h" ]; then
      echo "$d"
      return 0
    fi
  done
  return 1
}

download_wheel() {
  local whl
  whl=$(ls "$cache/wheels/${wheel_name}-${tf_version}-"*manylinux*x86_64*.whl 2>/dev/null | head -1 || true)
  if [ -z "$whl" ]; then
    need python3 "needed for pip to download the $pip_name wheel"
    python3 -m pip --version >/dev/null 2>&1 || die "pip not found: install python3-pip (needed to download $pip_name)"
    say "downloading $pip_name==$tf_version wheel into $cache/wheels" >&2
    python3 -m pip download --no-deps --only-binary=:all: \
      --python-version 3.11 --platform manylinux2014_x86_64 \
      --dest "$cache/wheels" "$pip_name==$tf_version" >&2 ||
      die "pip download $pip_name==$tf_version failed (is PyPI reachable? see pip's message above)"
    whl=$(ls "$cache/wheels/${wheel_name}-${tf_version}-"*manylinux*x86_64*.whl 2>/dev/null | head -1 || true)
    [ -n "$whl" ] || die "pip download succeeded but no ${wheel_name}-${tf_version} wheel is in $cache/wheels"
  fi
  echo "$whl"
}

# Copies the headers the Go package includes, and everything they include in
# turn, out of the wheel: the whole include/ tree is 160 MB of C++ we never use.
extract_headers() {
  local whl=$1 dest=$2 listing queue=() seen=" " h inc
  listing=$(unzip -Z1 "$whl" 'tensorflow/include/*')
  queue=(tensorflow/c/c_api.h tensorflow/c/c_api_experimental.h tensorflow/c/eager/c_api.h)
  while [ ${#queue[@]} -gt 0 ]; do
    h=${queue[0]}
    queue=("${queue[@]:1}")
    case $seen in *" $h "*) continue ;; esac
    seen="$seen$h "
    grep -qxF "tensorflow/include/$h" <<<"$listing" || continue # system header
    mkdir -p "$dest/$(dirname "$h")"
    unzip -p "$whl" "tensorflow/include/$h" >"$dest/$h"
    while read -r inc; do queue+=("$inc"); done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$dest/$h")
  done
  [ -f "$dest/tensorflow/c/c_api.h" ] || die "wheel $whl has no include/tensorflow/c/c_api.h"
}

extract_cuda() {
  local pkgs=$1 whl
  need python3 "needed for pip to download the CUDA packages"
  say "GPU variant: unpacking CUDA libraries (${#cuda_packages[@]} pip packages) into $pkgs"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux2014_x86_64 --platform manylinux_2_27_x86_64 \
    --dest "$cache/wheels" "${cuda_packages[@]}" ||
    die "pip download of the CUDA packages failed (is PyPI reachable?)"
  for whl in "$cache"/wheels/nvidia_*.whl; do
    unzip -qo "$whl" 'nvidia/*' -d "$(dirname "$pkgs")"
  done
}

from_wheel() {
  local whl tmp
  need unzip "install unzip (apt-get install unzip) to unpack the $pip_name wheel"
  whl=$(download_wheel)
  tmp=$(mktemp -d "$build/.tf.tmp-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/lib" "$tmp/include"
  unzip -qjo "$whl" tensorflow/libtensorflow_cc.so.2 tensorflow/libtensorflow_framework.so.2 -d "$tmp/lib" ||
    die "wheel $whl lacks tensorflow/libtensorflow_cc.so.2 or libtensorflow_framework.so.2 (TF >= 2.20 lays libraries out differently)"
  # -ltensorflow (in the bindings' lib.go) must find the C API: in 2.18 it is
  # exported by libtensorflow_cc.
  ln -s libtensorflow_cc.so.2 "$tmp/lib/libtensorflow.so.2"
  ln -s libtensorflow.so.2 "$tmp/lib/libtensorflow.so"
  ln -s libtensorflow_framework.so.2 "$tmp/lib/libtensorflow_framework.so"
  extract_headers "$whl" "$tmp/include"
  if [ "$variant" = gpu ]; then
    extract_cuda "$tmp/nvidia"
  fi
  echo "wheel $(basename "$whl")" >"$tmp/SOURCE"
  rm -rf "$tfdir"
  mv "$tmp" "$tfdir"
  trap - EXIT
}

if [ -n "${LIBTENSORFLOW_DIR:-}" ]; then
  given=$LIBTENSORFLOW_DIR
  LIBTENSORFLOW_DIR=$(cd "$given" 2>/dev/null && pwd) || die "LIBTENSORFLOW_DIR=$given: no such folder"
  libdir=$LIBTENSORFLOW_DIR/lib incdir=$LIBTENSORFLOW_DIR/include cgo_paths=absolute
  source_desc="LIBTENSORFLOW_DIR=$LIBTENSORFLOW_DIR"
  [ -e "$libdir/libtensorflow.so" ] || die "LIBTENSORFLOW_DIR: $libdir/libtensorflow.so not found (expected lib/ and include/ as in Google's libtensorflow tarball)"
  [ -f "$incdir/tensorflow/c/c_api.h" ] || die "LIBTENSORFLOW_DIR: $incdir/tensorflow/c/c_api.h not found"
elif sysdir=$(find_system_lib); then
  libdir=$sysdir incdir=${sysdir%/lib*}/include cgo_paths=absolute
  source_desc="system $libdir"
else
  if ! [ -f "$tfdir/SOURCE" ] || ! grep -q "^wheel ${wheel_name}-${tf_version}-" "$tfdir/SOURCE" ||
    { [ "$variant" = gpu ] && ! [ -d "$tfdir/nvidia" ]; }; then
    from_wheel
  fi
  libdir=$tfdir/lib incdir=$tfdir/include cgo_paths=relative
  source_desc=$(cat "$tfdir/SOURCE")
fi
if [ "$cgo_paths" = absolute ]; then
  # Other cgo packages of the project (tfdist) point at build/tf as the
  # bindings do by default; with a library from elsewhere build/tf holds
  # links to it (a later wheel install replaces them: SOURCE is absent).
  rm -rf "$tfdir"
  mkdir -p "$tfdir"
  ln -s "$libdir" "$tfdir/lib"
  ln -s "$incdir" "$tfdir/include"
fi
# TF_NewSession is the C API itself; gradients and eager are what the Go
# bindings also call.
exports "$libdir/libtensorflow.so" TF_NewSession TF_AddGradientsWithPrefix TFE_NewContext ||
  die "$libdir/libtensorflow.so does not export the TensorFlow C API the Go bindings need (nm -D finds no TF_NewSession, TF_AddGradientsWithPrefix or TFE_NewContext)"
rm -f "$build/.nm.out"
say "libtensorflow: $source_desc (C API found)"

# --- 2. protoc and protoc-gen-go -----------------------------------------------
if command -v protoc >/dev/null 2>&1; then
  protoc=(protoc)
else
  pvenv=$build/protoc-venv
  if ! [ -x "$pvenv/bin/python" ] || ! "$pvenv/bin/python" -c "import grpc_tools" 2>/dev/null; then
    need python3 "needed to install protoc (PyPI grpcio-tools); or install protoc (apt-get install protobuf-compiler)"
    say "installing protoc (grpcio-tools==$grpcio_tools_version) into $pvenv"
    python3 -m venv "$pvenv" || die "python3 -m venv failed (apt-get install python3-venv)"
    "$pvenv/bin/python" -m pip install --quiet "grpcio-tools==$grpcio_tools_version" ||
      die "pip install grpcio-tools failed (is PyPI reachable?)"
  fi
  # grpc_tools.protoc adds its bundled google/protobuf/*.proto include root.
  protoc=("$pvenv/bin/python" -m grpc_tools.protoc)
fi
gen=$build/bin/protoc-gen-go
if ! [ -x "$gen" ] || [ "$("$gen" --version 2>/dev/null)" != "protoc-gen-go $protoc_gen_go_version" ]; then
  say "installing protoc-gen-go@$protoc_gen_go_version into $build/bin"
  GOBIN=$build/bin GOFLAGS=-mod=mod go install "google.golang.org/protobuf/cmd/protoc-gen-go@$protoc_gen_go_version" ||
    die "go install protoc-gen-go failed (is the Go module proxy reachable?)"
fi

# --- 3. the Go module build/tfgo -----------------------------------------------
# Run outside the main module so its go.mod (maybe replacing TF already) is not consulted.
src=$(cd "$cache" && GOFLAGS= go mod download -json "$tf_module@$tf_module_version" 2>/dev/null |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || true
[ -n "$src" ] && [ -d "$src/tensorflow/go" ] ||
  die "go mod download $tf_module@$tf_module_version failed (is the Go module proxy reachable?)"

out=$(mktemp -d "$build/.tfgo.tmp-XXXXXX")
trap 'rm -rf "$out"' EXIT
mkdir -p "$out/tensorflow"
cp -r "$src/tensorflow/go" "$out/tensorflow/go"
cp "$src/LICENSE" "$out/"
chmod -R u+w "$out"

# The proto closure: tensorflow/core/{framework,protobuf} and their imports,
# resolved against the include roots TF's Bazel build uses.
inc_roots=("$src" "$src/third_party/xla" "$src/third_party/xla/third_party/tsl")
declare -A proto_file=()
queue=()
for f in "$src"/tensorflow/core/framework/*.proto "$src"/tensorflow/core/protobuf/*.proto; do
  queue+=("${f#"$src"/}")
done
while [ ${#queue[@]} -gt 0 ]; do
  p=${queue[0]}
  queue=("${queue[@]:1}")
  [ -n "${proto_file[$p]:-}" ] && continue
  case $p in google/protobuf/*) continue ;; esac # well-known types come with protoc
  for r in "${inc_roots[@]}"; do
    if [ -f "$r/$p" ]; then
      proto_file[$p]=$r/$p
      break
    fi
  done
  [ -n "${proto_file[$p]:-}" ] || die "proto $p not found under the include roots of $src"
  while read -r i; do queue+=("$i"); done < <(sed -n 's/^import \(public \|weak \)\{0,1\}"\([^"]*\)";.*/\2/p' "${proto_file[$p]}")
done

# Go packages for protos whose go_package points outside this module (tsl,
# xla) or that have none; graph_debug_info gets its own package because
# graph_go_proto and for_core_protos_go_proto would otherwise import each other.
gopkg=$tf_module/tensorflow/go
mopts=()
for p in "${!proto_file[@]}"; do
  target=
  gp=$(sed -n 's/^option go_package = "\([^";]*\).*/\1/p' "${proto_file[$p]}")
  base=$(basename "$p" .proto)
  case $p in
  tensorflow/core/framework/graph_debug_info.proto) target=$gopkg/core/framework/graph_debug_info_go_proto ;;
  *)
    case $gp in
    "$tf_module"/*) ;;
    github.com/google/tsl/tsl/go/*) target=$gopkg/tsl/${gp#github.com/google/tsl/tsl/go/} ;;
    *) target=$gopkg/$(dirname "${p#tensorflow/}")/${base}_go_proto ;;
    esac
    ;;
  esac
  if [ "$gp" = github.com/google/tsl/tsl/go/stream_executor ]; then
    target=$gopkg/tsl/protobuf/dnn_go_proto
  fi
  if [ -n "$target" ]; then
    mopts+=("--go_opt=M$p=$target")
  fi
done
# shellcheck disable=SC2046
"${protoc[@]}" "${inc_roots[@]/#/-I}" \
  --plugin=protoc-gen-go="$gen" --go_out="$out" --go_opt=module=$tf_module "${mopts[@]}" \
  $(printf '%s\n' "${!proto_file[@]}" | sort) ||
  die "protoc failed on the TensorFlow protos (see its message above)"
nprotos=${#proto_file[@]}

cat >"$out/go.mod" <<EOF
// Generated by scripts/setup-tf.sh: TensorFlow's Go bindings ($tf_version) plus
// Go code generated from its protos. Do not edit; rerun the script.
module $tf_module

go 1.22

require google.golang.org/protobuf ${protoc_gen_go_version}
EOF

# cgo flags travel with the generated tree, so no CGO_* environment is needed.
# Both cgo packages get them: the bindings and genop's (the op generator).
write_cgo() { # folder under build/tfgo, Go package name
  local dir=$1 pkg=$2 up cflags ldflags
  if [ "$cgo_paths" = relative ]; then
    up=$(sed 's|[^/]*|..|g' <<<"$dir")/../tf # from build/tfgo/$dir to build/tf
    cflags="-I\${SRCDIR}/$up/include"
    ldflags="-L\${SRCDIR}/$up/lib -Wl,-rpath,\${SRCDIR}/$up/lib"
  else
    cflags="-I$incdir"
    ldflags="-L$libdir -Wl,-rpath,$libdir"
  fi
  cat >"$out/$dir/zz_fairage_cgo.go" <<EOF
// Code generated by scripts/setup-tf.sh. DO NOT EDIT.

package $pkg

// Where libtensorflow and its headers are: $source_desc.
// (A blank line keeps this out of the cgo preamble.)

// #cgo CFLAGS: $cflags
// #cgo LDFLAGS: $ldflags
import "C"
EOF
}
write_cgo tensorflow/go tensorflow
write_cgo tensorflow/go/genop/internal internal
echo "$source_desc, $nprotos protos" >"$out/.libtensorflow"
echo "$libdir" >"$out/.libdir"

rm -rf "$tfgo"
mv "$out" "$tfgo"
trap - EXIT
say "Go bindings: $tfgo ($nprotos protos generated with $("${protoc[@]}" --version), protoc-gen-go $protoc_gen_go_version)"

# --- 4. go.mod ----------------------------------------------------------------
cd "$root"
if ! grep -q "^replace $tf_module => ./build/tfgo" go.mod; then
  go mod edit -require="$tf_module@$tf_module_version" -replace="$tf_module=./build/tfgo"
  say "go.mod: require $tf_module $tf_module_version, replace => ./build/tfgo"
fi
if ! grep -q "^google.golang.org/protobuf $protoc_gen_go_version " go.sum; then
  GOFLAGS=-mod=mod go get "google.golang.org/protobuf@$protoc_gen_go_version" >/dev/null 2>&1 ||
    die "go get google.golang.org/protobuf@$protoc_gen_go_version failed (is the Go module proxy reachable?)"
fi

# --- 5. smoke test: build the bindings and run a graph -------------------------
# The check lives under build/_tfcheck: "_" keeps it out of ./... patterns.
mkdir -p "$build/_tfcheck"
cat >"$build/_tfcheck/main.go" <<'EOF'
// Command _tfcheck runs a one-op graph to prove the bindings link and load.
package main

import (
	"fmt"
	"os"

	tf "github.com/tensorflow/tensorflow/tensorflow/go"
	"github.com/tensorflow/tensorflow/tensorflow/go/op"
)

func main() {
	s := op.NewScope()
	// Ops get their type as name, so each needs its own sub-scope.
	sum := op.Add(s, op.Const(s.SubScope("a"), int32(40)), op.Const(s.SubScope("b"), int32(2)))
	g, err := s.Finalize()
	if err == nil {
		var sess *tf.Session
		if sess, err = tf.NewSession(g, nil); err == nil {
			var out []*tf.Tensor
			if out, err = sess.Run(nil, []tf.Output{sum}, nil); err == nil {
				fmt.Printf("TensorFlow %s from Go: 40+2=%v\n", tf.Version(), out[0].Value())
				return
			}
		}
	}
	fmt.Fprintln(os.Stderr, "tfcheck:", err)
	os.Exit(1)
}
EOF
say "building the bindings (first time takes a minute)"
check=$(TF_CPP_MIN_LOG_LEVEL=1 go run ./build/_tfcheck 2>&1) || die "smoke test failed: $check"
say "$(tail -n 1 <<<"$check")"
echo "$want_stamp" >"$stamp"
