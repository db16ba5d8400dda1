#!/usr/bin/env bash
# Peak memory of loading a full-size checkpoint in the original single-file layout, as people download it:
#   scripts/bench-checkpoint-memory.sh sd15|sdxl [WORK_DIR]
# Writes a random-weight fp16 file with diffusers' own conversion scripts (needs the diffusers reference set up:
# ../shared/bench/diffusers-reference/README.md, and DIFFUSERS_GIT, the bare diffusers repository it was set up
# from), then renders one step at 64×64 from it under /usr/bin/time -v and prints the peak resident memory against
# the f32 weights. The tokenizer comes from the sd-tiny / sdxl-tiny fixture folders (the real CLIP vocabulary).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

family=${1:?usage: scripts/bench-checkpoint-memory.sh sd15|sdxl [WORK_DIR]}
work=${2:-${TMPDIR:-/tmp}/farm-checkpoint-memory}
: "${DIFFUSERS_GIT:?set DIFFUSERS_GIT to the bare diffusers repository (see ../shared/bench/diffusers-reference/README.md)}"
source "${REF_DIR:-$HOME/.cache/diffusers-reference}/env.sh"
fixtures=$FARM_ROOT/../shared/fixtures
case $family in
  sd15) tokenizers=("$fixtures/sd-tiny/model/tokenizer") ;;
  sdxl) tokenizers=("$fixtures/sdxl-tiny/model/tokenizer" "$fixtures/sdxl-tiny/model/tokenizer_2") ;;
  *) die "family must be sd15 or sdxl, got '$family'" ;;
esac

mkdir -p "$work/scripts" "$work/$family.config"
for script in convert_diffusers_to_original_stable_diffusion convert_diffusers_to_original_sdxl; do
  git -C "$DIFFUSERS_GIT" show "HEAD:scripts/$script.py" >"$work/scripts/$script.py"
done
cp -r "${tokenizers[@]}" "$work/$family.config/"
checkpoint=$work/$family-full.safetensors
[[ -f $checkpoint ]] || "$PY" "$FARM_ROOT/scripts/bench/write_full_checkpoint.py" "$family" "$checkpoint" --scripts "$work/scripts"

say "rendering one step from $checkpoint ($(lscpu | sed -n 's/^Model name: *//p'))"
/usr/bin/time -v dotnet "$FARM_ROOT/src/Cli/bin/Release/net10.0/Farm.Cli.dll" render --model "$checkpoint" --config "$work/$family.config" \
  --prompt "a cat" --steps 1 --width 64 --height 64 --out "$work/$family.png" 2>"$work/time.txt"
peak_kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.txt")
# The f32 size of the weights: parameter count from the file header (F16 → 2 bytes each, so bytes × 2).
weights=$("$PY" -c 'import json,struct,sys; f=open(sys.argv[1],"rb"); n=struct.unpack("<Q",f.read(8))[0]; h=json.loads(f.read(n)); h.pop("__metadata__",None); print(sum(e-b for b,e in (v["data_offsets"] for v in h.values()))*2)' "$checkpoint")
awk -v kb="$peak_kb" -v w="$weights" 'BEGIN { printf "peak_rss_mb=%d weights_f32_mb=%d ratio=%.2f\n", kb / 1024, w / 1048576, kb * 1024 / w }'
