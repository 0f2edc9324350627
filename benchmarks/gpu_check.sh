#!/usr/bin/env bash
# GPU cross-check of lintheory, ready to run on one GPU machine (H200: well under 8 minutes).
#
#   bash benchmarks/gpu_check.sh                     # on the GPU machine: CPU leg + CUDA leg, full profile
#   bash benchmarks/gpu_check.sh --dry-run           # anywhere: list the claims it would run, run nothing
#   DEVICE=cpu PROFILE=quick LIMIT=2 bash benchmarks/gpu_check.sh   # anywhere: the whole path on the CPU
#
# What it runs (benchmarks/gpu_check.py): every claim whose check reads ctx.device (the trained
# models and the batched Monte Carlo) on --device cpu and on --device cuda, and the other
# trained-model claims under --device cuda; then per claim the verdicts, max errors, their
# relative difference and the CPU/CUDA time ratio.  Writes to $OUT (default /tmp/gpu_check):
# gpu_check.json, gpu_check.md, cpu.log, cuda.log (the legs' records stay in $WORK).
#
# The GPU image has torch, numpy, scipy, sympy, matplotlib, joblib, threadpoolctl but neither
# cvxpy nor clarabel.  When the checkout holds a folder .whl/ of wheels (cvxpy and its solvers for
# the device's Python; `benchmarks/gpu_wheels.sh` downloads them, and the device call names .whl in
# `carry`), they are installed into $WORK/wheels first, with no index and no network.  Without
# them lintheory imports cvxpy only inside the routes that solve with it, and a claim that needs
# it is reported as skipped with that reason.  lintheory is not pip-installed
# there: when `import lintheory` finds no installed suites, this script puts the checkout on
# PYTHONPATH and writes a small .dist-info with the suites' entry points next to it (no pip, no
# network).
#
# Knobs (environment): OUT, WORK, DEVICE (cuda|cpu), PROFILE (full|quick), JOBS_CPU (8),
# JOBS_DEVICE (4), LEG_TIMEOUT (330 s per leg), TOTAL_TIMEOUT (420 s), LIMIT (first N claims
# of each kind), SERIAL_LEGS (unset: the two legs run side by side, each on its own cores;
# 1: one after the other), PYTHON (python3).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
OUT=${OUT:-/tmp/gpu_check}
WORK=${WORK:-/tmp/gpu_check_work}
DEVICE=${DEVICE:-cuda}
PROFILE=${PROFILE:-full}
JOBS_CPU=${JOBS_CPU:-8}
JOBS_DEVICE=${JOBS_DEVICE:-4}
LEG_TIMEOUT=${LEG_TIMEOUT:-330}
TOTAL_TIMEOUT=${TOTAL_TIMEOUT:-420}
PY=${PYTHON:-python3}
mkdir -p "$OUT" "$WORK"
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg

has_suites() {  # this checkout's lintheory importable from elsewhere, with its suites' entry points
  (cd / && "$PY" - "$REPO" <<'PYEOF' 2>/dev/null)
import importlib.metadata as m, os, sys
import lintheory
names = {e.name for e in m.entry_points(group="lintheory.suites")}
here = os.path.realpath(os.path.dirname(lintheory.__file__))
sys.exit(0 if "svm" in names and here == os.path.realpath(os.path.join(sys.argv[1], "lintheory")) else 1)
PYEOF
}

if [ -d "$REPO/.whl" ] && ls "$REPO"/.whl/*.whl >/dev/null 2>&1 && ! (cd / && "$PY" -c "import cvxpy" 2>/dev/null); then
  if "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
       --target "$WORK/wheels" "$REPO"/.whl/*.whl; then
    export PYTHONPATH="$WORK/wheels${PYTHONPATH:+:$PYTHONPATH}"
    echo "gpu_check: installed $(ls "$REPO"/.whl/*.whl | wc -l) carried wheels into $WORK/wheels"
  else  # not fatal: the claims that need cvxpy are then reported as skipped
    echo "gpu_check: the carried wheels did not install; claims that need cvxpy will be skipped"
  fi
fi

if ! has_suites; then
  # The checkout on the path, plus a .dist-info that declares the suites' entry points.
  SITE="$WORK/site"
  rm -rf "$SITE" && mkdir -p "$SITE"
  "$PY" - "$REPO" "$SITE" <<'PYEOF'
import pathlib, sys
try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib
repo, site = map(pathlib.Path, sys.argv[1:3])
proj = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
version = "0.0.0"
for line in (repo / "lintheory" / "__init__.py").read_text().splitlines():
    if line.startswith("__version__"):
        version = line.split("=", 1)[1].strip().strip("\"'")
info = site / f"lintheory-{version}.dist-info"
info.mkdir(parents=True)
(info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: lintheory\nVersion: {version}\n")
groups = proj.get("entry-points", {})
text = "".join(f"[{g}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()) + "\n" for g, eps in groups.items())
scripts = proj.get("scripts", {})
if scripts:
    text += "[console_scripts]\n" + "".join(f"{k} = {v}\n" for k, v in scripts.items())
(info / "entry_points.txt").write_text(text)
print(f"gpu_check: lintheory {version} from {repo} with the entry points of {info.name}")
PYEOF
  export PYTHONPATH="$REPO:$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi

ARGS=(--out "$OUT" --work "$WORK" --device "$DEVICE" --profile "$PROFILE"
      --jobs-cpu "$JOBS_CPU" --jobs-device "$JOBS_DEVICE" --leg-timeout "$LEG_TIMEOUT")
if [ -n "${LIMIT:-}" ]; then ARGS+=(--limit "$LIMIT"); fi
if [ -n "${SERIAL_LEGS:-}" ]; then ARGS+=(--serial-legs); fi
if [ "$DEVICE" = cuda ] && [ "${1:-}" != --dry-run ]; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
fi
status=0
timeout "$TOTAL_TIMEOUT" "$PY" benchmarks/gpu_check.py "${ARGS[@]}" "$@" || status=$?
ls -l "$OUT"
exit $status
