#!/usr/bin/env bash
# Download, here, the wheels that gpu_check.sh installs on the GPU machine (whose image has no
# cvxpy and no network): cvxpy with the solvers lintheory uses, for CPython 3.12 on x86-64 Linux.
# They go to .whl/ (ignored through .git/info/exclude: they are not part of the project); name
# .whl in the device call's `carry`.  About 33 MB (SCS 3.2.7: 3.3.1's wheel alone is 43 MB).
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
PLAT=(--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64
      --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp "${PLAT[@]}" \
  -d .whl cvxpy==1.9.3 clarabel==0.11.1 osqp==1.1.3 scs==3.2.7.post2 highspy==1.16.0 qdldl==0.1.9.post1 \
  "sparsediffpy>=0.6.0,<0.7.0" cffi==2.1.1 pycparser==3.12 latex2mathml==3.81.1
ls -l .whl && du -sh .whl
