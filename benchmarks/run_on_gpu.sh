#!/usr/bin/env bash
# The GPU checks of skgates, on a machine with CUDA and without network access.
#
#   bash benchmarks/run_on_gpu.sh tests   # tests/test_gpu.py, then the whole suite
#   bash benchmarks/run_on_gpu.sh gpu     # tests/test_gpu.py and the persistence/export tests
#   bash benchmarks/run_on_gpu.sh bench   # bench_tabnet.py --device cuda (needs pytorch-tabnet)
#
# Wheels that the machine lacks (skorch, pytorch-tabnet) are read from .whl/ when it exists
# (pip download them there beforehand); logs and reports go to $OUT (default ./gpu-out).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/skgates-site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/skgates-site:$PWD
else
    export PYTHONPATH=$PWD
fi
export PYTHONUNBUFFERED=1
python3 - <<'EOF' | tee "$OUT/versions.txt"
import numpy, pandas, sklearn, skorch, torch
print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name())
print("numpy", numpy.__version__, "pandas", pandas.__version__, "sklearn", sklearn.__version__,
      "skorch", skorch.__version__)
EOF
case "${1:-tests}" in
tests)
    timeout 240 python3 -m pytest -q -p no:cacheprovider -rs tests/test_gpu.py 2>&1 \
        | tee "$OUT/gpu_tests.log" | tail -40
    timeout 300 python3 -m pytest -q -p no:cacheprovider -n 12 tests 2>&1 \
        | tee "$OUT/suite.log" | tail -25
    ;;
gpu)
    timeout 240 python3 -m pytest -q -p no:cacheprovider -rs -n 4 tests/test_gpu.py \
        tests/test_persistence.py tests/test_export.py 2>&1 | tee "$OUT/gpu_tests.log" | tail -30
    ;;
bench)
    shift
    timeout "${BENCH_TIMEOUT:-560}" python3 benchmarks/bench_tabnet.py --speed --device cuda --threads 1 "$@" 2>&1 \
        | tee "$OUT/bench.log" | tail -30
    ;;
esac
