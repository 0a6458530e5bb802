#!/usr/bin/env bash
# Renders a fairage report.html in headless Chromium and checks that it
# shows what it should: every section present with a non-zero height, every
# chart image decoded (naturalWidth > 0) and laid out, every table with rows
# and visible, and no network request. Saves a full-page PNG screenshot.
#
#   scripts/report-check.sh runs/NAME/report/report.html /tmp/report.png
#
# Installs Debian's chromium with apt-get if it is missing. Exits 1 and
# prints what is wrong when a check fails.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 HTML_FILE OUT_PNG" >&2
  exit 2
fi
html=$(readlink -f "$1")
out=$2
[ -f "$html" ] || { echo "report-check: $1: no such file" >&2; exit 2; }

chrome=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chrome" ]; then
  echo "report-check: installing chromium (apt-get)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  chrome=$(command -v chromium)
fi
# Root needs --no-sandbox; the page is our own, loaded from a file.
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run
  --disable-background-networking --disable-component-update --mute-audio)

# Section ids written by package reports (reports.sectionIDs).
sections="headline toc summary study-table gates attributes age-adjusted within-subject chart-mae chart-errors chart-age-curves chart-heatmap chart-scatter chart-curves chart-balance contact-sheet metadata"
if grep -q 'id="compare-table"' "$html"; then
  sections="compare-table compare-config compare-tests compare-groups compare-curves compare-times compare-runs" # a comparison report
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The checks run in a copy of the page with a script appended: the report
# itself stays script-free. Results go into a <pre> that --dump-dom prints.
probe="$tmp/probe.html"
cp "$html" "$probe"
cat >> "$probe" <<JS
<script>
window.addEventListener("load", () => {
  const problems = [];
  const visible = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  for (const id of "$sections".split(" ")) {
    const el = document.getElementById(id);
    if (!el) problems.push("missing section #" + id);
    else if (!visible(el)) problems.push("section #" + id + " is not visible");
  }
  const imgs = [...document.images];
  imgs.forEach((img, i) => {
    if (!img.complete || img.naturalWidth === 0) problems.push("image " + i + " (" + img.alt + ") did not decode");
    else if (!visible(img)) problems.push("image " + i + " (" + img.alt + ") is not visible");
    if (!img.src.startsWith("data:")) problems.push("image " + i + " loads " + img.src.slice(0, 60));
  });
  const tables = [...document.querySelectorAll("table")];
  tables.forEach((t, i) => {
    if (t.rows.length < 2) problems.push("table " + i + " has no data rows");
    else if (!visible(t)) problems.push("table " + i + " is not visible");
  });
  const remote = performance.getEntriesByType("resource").filter(e => !e.name.startsWith("data:"));
  remote.forEach(e => problems.push("network request: " + e.name));
  const pre = document.createElement("pre");
  pre.id = "report-check";
  pre.textContent = "REPORT-CHECK " + JSON.stringify({
    sections: "$sections".split(" ").length, images: imgs.length, tables: tables.length,
    height: document.documentElement.scrollHeight, problems });
  document.body.appendChild(pre);
});
</script>
JS
"$chrome" "${flags[@]}" --virtual-time-budget=10000 --dump-dom "file://$probe" 2>"$tmp/chrome.log" >"$tmp/dom.html" || true
line=$(grep -o 'REPORT-CHECK {.*}' "$tmp/dom.html" | sed 's/&quot;/"/g' || true)
if [ -z "$line" ]; then
  echo "report-check: Chromium produced no result; its log:" >&2
  tail -20 "$tmp/chrome.log" >&2
  exit 1
fi
json=${line#REPORT-CHECK }
height=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["height"])' "$json")
height=$(( height < 600 ? 600 : (height > 30000 ? 30000 : height) ))
"$chrome" "${flags[@]}" --virtual-time-budget=10000 --window-size=1280,"$height" \
  --screenshot="$(readlink -f "$(dirname "$out")")/$(basename "$out")" "file://$html" 2>>"$tmp/chrome.log" >/dev/null
[ -s "$out" ] || { echo "report-check: no screenshot written" >&2; tail -20 "$tmp/chrome.log" >&2; exit 1; }

python3 - "$json" "$out" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(f"report-check: {r['sections']} sections, {r['images']} images, {r['tables']} tables; "
      f"page {r['height']} px tall; screenshot {sys.argv[2]}")
for p in r["problems"]:
    print("  PROBLEM:", p)
sys.exit(1 if r["problems"] else 0)
PY
