#!/usr/bin/env bash
# Times the engine against Hugging Face diffusers side by side, in one run, on the same machine:
#   scripts/bench-vs-diffusers.sh [--rounds N] [CASE ...]      CASE: unet64 unet32 vae64 vae32 clip (default: all)
# For each case the two sides run alternately, ROUNDS times each (default 2), so both see the same machine
# state. diffusers comes from ../shared/bench/diffusers-reference (its README: setup.sh, once per machine); the
# engine from this checkout's build (`./farm setup`). Both use 2 threads, full SD1.5 shapes, random weights,
# float32, and report the median of their timed runs after a warm-up and their peak resident memory.
# Prints the CPU, then a Markdown table: per case the medians over the rounds, Farm / diffusers, and the peaks.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

rounds=2
[[ ${1:-} == --rounds ]] && { rounds=${2:?--rounds N}; shift 2; }
cases=("$@")
((${#cases[@]})) || cases=(unet64 unet32 vae64 vae32 clip)

reference="$FARM_ROOT/../shared/bench/diffusers-reference"
ref_env="${REF_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/diffusers-reference}/env.sh"
[[ -f $ref_env ]] || die "diffusers is not set up here: follow $reference/README.md (setup.sh), then run this again"
dll="$FARM_ROOT/src/Cli/bin/Release/net10.0/Farm.Cli.dll"
[[ -f $dll ]] || die "$dll is missing: run ./farm setup first"

farm_args() { # CASE → the `farm bench` arguments timing the same work as reference.py CASE
  case $1 in
    unet64) echo "unet --latent 64 --runs 3" ;;
    unet32) echo "unet --latent 32 --runs 3" ;;
    vae64) echo "vae --latent 64 --runs 3" ;;
    vae32) echo "vae --latent 32 --runs 3" ;;
    clip) echo "text --batch 2 --runs 5" ;;
    *) die "unknown case '$1' (use unet64, unet32, vae64, vae32 or clip)" ;;
  esac
}

farm_run() { # CASE → "median_s peak_mb"
  local last
  # shellcheck disable=SC2046
  last=$(dotnet "$dll" bench $(farm_args "$1") --threads 2 | tail -n 1)
  [[ $last =~ median_s=([0-9.]+)\ peak_rss_mb=([0-9]+) ]] || die "unexpected last line from farm bench: $last"
  echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
}

diffusers_run() { # CASE → "median_s peak_mb"
  local runs=3 last
  [[ $1 == clip ]] && runs=5
  # shellcheck disable=SC1090
  last=$(source "$ref_env" && OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 "$PY" "$reference/reference.py" "$1" --runs "$runs" | tail -n 1)
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(r["median_s"], round(r["peak_rss_mb"]))' "$last"
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

say "cpu: $(lscpu | sed -n 's/^Model name: *//p') (family $(sed -n 's/^cpu family\t*: //p;T;q' /proc/cpuinfo), model $(sed -n 's/^model\t*: //p;T;q' /proc/cpuinfo)), $(nproc) cores, $(grep -o 'avx512_bf16\|amx_bf16\|avx512f\|avx2' /proc/cpuinfo | sort -u | tr '\n' ' ')"
say "commit $(git -C "$FARM_ROOT" rev-parse --short HEAD), $rounds rounds per case, load $(cut -d' ' -f1-3 /proc/loadavg)"
rows=()
for c in "${cases[@]}"; do
  farm_s=() farm_mb=() ref_s=() ref_mb=()
  for ((r = 1; r <= rounds; r++)); do
    read -r s mb < <(diffusers_run "$c"); ref_s+=("$s") ref_mb+=("$mb")
    say "  $c round $r: diffusers $s s, $mb MiB (load $(cut -d' ' -f1 /proc/loadavg))"
    read -r s mb < <(farm_run "$c"); farm_s+=("$s") farm_mb+=("$mb")
    say "  $c round $r: farm      $s s, $mb MiB (load $(cut -d' ' -f1 /proc/loadavg))"
  done
  f=$(median "${farm_s[@]}") d=$(median "${ref_s[@]}")
  rows+=("| $c | $f s (${farm_s[*]}) | $d s (${ref_s[*]}) | $(awk -v f="$f" -v d="$d" 'BEGIN { printf "%.2f", f / d }') | $(median "${farm_mb[@]}") / $(median "${ref_mb[@]}") MiB |")
done
printf '| case | Farm | diffusers | Farm / diffusers | peak: Farm / diffusers |\n| --- | --- | --- | --- | --- |\n'
printf '%s\n' "${rows[@]}"
