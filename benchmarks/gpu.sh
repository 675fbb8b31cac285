#!/usr/bin/env bash
# The speed benchmarks on a CUDA GPU, each under a time limit that leaves room to rerun:
# the convlstm-speed grid (float32, then bf16 autocast; channels-last as always) and the
# forecaster's time to accuracy (training steps, ours against torchgeo's ConvLSTM).
# Usage: bash benchmarks/gpu.sh [OUT]  (default runs/bench-gpu); needs `make .venv/.installed`.
set -euo pipefail
out="${1:-runs/bench-gpu}"
bin="$(dirname "$0")/../.venv/bin"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
timeout 240 "$bin/seqimaging" bench convlstm-speed --device cuda --repeats 5 --out "$out"
timeout 240 "$bin/seqimaging" bench time-to-accuracy --device cuda --out "$out"
