#!/usr/bin/env bash
# One run on a many-core machine (made for the 16-core device machine, under 10 minutes): the throughput table
# (threads before, worker processes after), CPU against GPU per model size (the rule behind device=auto), and the
# 30-student class load with 14 workers, then on two servers sharing one runs folder with 7 workers each.
# Results go to $OUT (or ./device-results) as JSON and a log.
#
#   bash benchmarks/device_check.sh
#
# That machine has torch, pandas and scikit-learn but not Streamlit. The class load needs Streamlit and its
# dependencies: carried as wheels in .whl/ (ignored by git), made here beforehand with
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
#       --platform any -d .whl streamlit==1.47.0 websockets
# (then delete from .whl what the machine already has: numpy, pandas, pyarrow, protobuf, pillow, packaging, ...).
# Without them the class-load part is skipped, and the script says so.
set -u
cd "$(dirname "$0")/.."
RESULTS="${OUT:-./device-results}"
mkdir -p "$RESULTS"
LOG="$RESULTS/device_check.log"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
PY="${PYTHON:-python3}"
say() { echo "== $*" | tee -a "$LOG"; }

say "machine: $(nproc) cores, $(uname -m), $($PY -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())')"

say "throughput: 1, 2, 4, 8, 14 nn.LSTM trainings at once, threads vs processes (1 epoch each)"
timeout 200 "$PY" benchmarks/throughput.py --counts 1,2,4,8,14 --epochs 1 --json "$RESULTS/throughput.json" 2>&1 \
    | tee -a "$LOG" || say "throughput: stopped (timeout or error); the rows above are what it measured"

# As a script: `python -m benchmarks devices` is the same command but imports the whole benchmark run (altair too).
say "device=auto: one CPU thread against the GPU, names/s per model and size (the rule auto follows)"
timeout 150 "$PY" benchmarks/devices.py --models rnn lstm mylstm --seconds 1 --output "$RESULTS/devices.json" 2>&1 \
    | tee -a "$LOG" || say "devices: stopped (timeout or error); the rows above are what it measured"

if compgen -G ".whl/*.whl" > /dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH="$PYTHONPATH:/tmp/site" STREAMLIT_GLOBAL_DEVELOPMENT_MODE=false
fi
if "$PY" -c "import streamlit, websockets" 2>/dev/null; then
    say "class load: 30 students, 14 workers"
    timeout 120 "$PY" benchmarks/class_load.py --students 30 --workers 14 --timeout 110 \
        --json "$RESULTS/class_load_14.json" 2>&1 | tail -45 | tee -a "$LOG"
    say "class load: 30 students on two servers sharing one runs folder, 7 workers each"
    timeout 120 "$PY" benchmarks/class_load.py --students 30 --workers 7 --servers 2 --timeout 110 \
        --json "$RESULTS/class_load_2x7.json" 2>&1 | tail -45 | tee -a "$LOG"
else
    say "class load SKIPPED: Streamlit (or websockets) is not installed here and no wheels were carried in .whl/" \
        "(see this script's header for the pip download command)"
fi
say "done; results in $RESULTS"
