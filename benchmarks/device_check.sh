#!/usr/bin/env bash
# One run on a many-core machine (made for the 16-core device machine, about 8 minutes): the throughput table
# (threads before, worker processes after), CPU against GPU per model size (the rule behind device=auto), and the
# 30-student class load with 14 workers. Results go to $OUT (or ./device-results) as JSON and a log.
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
timeout 330 "$PY" benchmarks/throughput.py --counts 1,2,4,8,14 --epochs 1 --json "$RESULTS/throughput.json" 2>&1 \
    | tee -a "$LOG" || say "throughput: stopped (timeout or error); the rows above are what it measured"

say "device=auto: one CPU thread against the GPU, names/s per model size"
timeout 90 "$PY" - <<'EOF' 2>&1 | tee -a "$LOG"
import json, os, time
import torch
from rnnviz.data import find_data_dir, load_folder, split_dataset
from rnnviz.train import TrainConfig, Trainer, Control
torch.set_num_threads(1)
dataset = load_folder(find_data_dir())
rows = []
for hidden, batch in [(64, 32), (128, 32), (128, 128), (256, 256), (512, 256)]:
    for device in (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]):
        config = TrainConfig(model="lstm", hidden_size=hidden, batch_size=batch, epochs=1, device=device)
        trainer = Trainer(config, dataset)
        parts = trainer.training_parts()
        began, seen = time.perf_counter(), 0
        for chars, lengths, labels in parts.train.batches(batch, torch.Generator().manual_seed(0)):
            trainer.step(parts, chars.to(trainer.device), lengths.to(trainer.device), labels.to(trainer.device))
            seen += len(labels)
            if time.perf_counter() - began > 6:
                break
        if device == "cuda":
            torch.cuda.synchronize()
        rows.append({"hidden": hidden, "batch": batch, "work": hidden * batch, "device": device,
                     "names_per_s": round(seen / (time.perf_counter() - began))})
        print(json.dumps(rows[-1]), flush=True)
json.dump(rows, open(os.path.join(os.environ.get("OUT", "./device-results"), "device_auto.json"), "w"), indent=2)
EOF

if compgen -G ".whl/*.whl" > /dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi
if "$PY" -c "import streamlit, websockets" 2>/dev/null; then
    say "class load: 30 students, 14 workers"
    timeout 300 "$PY" benchmarks/class_load.py --students 30 --workers 14 --timeout 280 \
        --json "$RESULTS/class_load_14.json" 2>&1 | tail -45 | tee -a "$LOG"
else
    say "class load SKIPPED: Streamlit (or websockets) is not installed here and no wheels were carried in .whl/" \
        "(see this script's header for the pip download command)"
fi
say "done; results in $RESULTS"
