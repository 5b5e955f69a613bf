#!/usr/bin/env bash
# One-shot GPU throughput check, prepared for a short loan of a GPU machine
# that has JAX and PyTorch but no TensorFlow (the TensorFlow wheel is too big to
# bring along). It times the project's ResNet-20 (keras_resnet_opt.models) with
# a bare Keras `model.fit` on the JAX backend, XLA on, in float32 and mixed
# bfloat16, against the same network in plain PyTorch on the same GPU, and how
# the throughput of K concurrent runs on one GPU adds up (K = 1, 2, 4; the
# question `scripts/compare.py --workers K` answers for full runs). It does NOT
# time the project's TensorFlow path (tf.data pipeline, callbacks, export):
# label its figures "Keras on JAX" in benchmarks/README.md.
#
# Needs Keras and the two small dependencies the machine lacks, as wheels in
# .whl/ (git-ignored), fetched on this side with:
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
#     --platform manylinux2014_x86_64 -d .whl keras==3.15.1 namex optree
# Usage there: bash benchmarks/gpu_check.sh OUT_DIR [SCALE]
#   SCALE multiplies the images per epoch (default 1: 51,200 images = 400 steps).
# Tried on the 2-core CPU here (a Python with jax, keras and torch installed,
# PYTHON=that-python TORCH_DEVICE=cpu, SCALE 0.01): every step ran, in 6.5 min.
set -euo pipefail

out_dir=${1:?usage: gpu_check.sh OUT_DIR [SCALE]}
scale=${2:-1}
py=${PYTHON:-python3}
torch_device=${TORCH_DEVICE:-cuda}
mkdir -p "$out_dir"

if compgen -G ".whl/*.whl" > /dev/null; then
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH="/tmp/site:${PYTHONPATH:-}"
fi
export PYTHONPATH="$PWD:${PYTHONPATH:-}"
export KERAS_BACKEND=jax
# Several processes share the GPU: allocate on demand, not 75% up front each.
export XLA_PYTHON_CLIENT_PREALLOCATE=false

images=$("$py" -c "print(max(128, int(51200 * $scale) // 128 * 128))")
(nvidia-smi -L || true) > "$out_dir/device.txt" 2>&1
"$py" -c "import jax, keras; print('jax', jax.__version__, 'keras', keras.__version__, jax.devices())" >> "$out_dir/device.txt"

# 1. One run at a time: batch 128 (the recipes') and 512, float32 and bf16, XLA on.
for precision in float32 mixed_bfloat16; do
  for batch in 128 512; do
    "$py" benchmarks/throughput.py --bare-only --jit --models resnet20 --images "$images" --epochs 3 --repeats 2 \
      --batch-size "$batch" --precision "$precision" --torch --torch-device "$torch_device" --json \
      | tail -n 1 >> "$out_dir/single.jsonl"
  done
done

# 2. K runs at once on the one GPU (bf16, batch 128): total images/s against K = 1.
for k in 1 2 4; do
  for i in $(seq 1 "$k"); do
    "$py" benchmarks/throughput.py --bare-only --jit --models resnet20 --images "$images" --epochs 3 --repeats 1 \
      --batch-size 128 --precision mixed_bfloat16 --json | tail -n 1 > "$out_dir/concurrent-k$k-$i.json" &
  done
  wait
done
"$py" - "$out_dir" <<'EOF'
import glob, json, sys
out = sys.argv[1]
totals = {}
for k in (1, 2, 4):
    rates = [json.load(open(f))["results"][0]["bare_keras_images_per_s"] for f in glob.glob(f"{out}/concurrent-k{k}-*.json")]
    totals[k] = sum(rates)
summary = {f"K={k}": {"total_images_per_s": round(t, 1), "speedup_vs_K1": round(t / totals[1], 2)} for k, t in totals.items()}
json.dump(summary, open(f"{out}/concurrent.json", "w"), indent=2)
print(json.dumps(summary, indent=2))
EOF
cat "$out_dir/device.txt" "$out_dir/single.jsonl"
