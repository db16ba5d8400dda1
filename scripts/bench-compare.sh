#!/usr/bin/env bash
# Times the engine of two built checkouts side by side, in one run, on the same machine:
#   scripts/bench-compare.sh BEFORE_CHECKOUT ["unet --latent 64 --runs 3" ...]
# Each case runs `farm bench CASE` for BEFORE, then for this checkout, before the next case starts, so both see
# the same machine state. Both checkouts must be built (`./farm setup` in each). Prints a Markdown table of the
# median seconds and peak resident memory (the `median_s=… peak_rss_mb=…` line of each run) and the speed ratio.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

before=${1:?usage: scripts/bench-compare.sh BEFORE_CHECKOUT [CASE ...]}
shift
before=$(cd "$before" && pwd)
cases=("$@")
((${#cases[@]})) || cases=("text --batch 2 --runs 5" "vae --latent 64 --runs 3" "unet --latent 32 --runs 3" "unet --latent 64 --runs 3")

bench() { # CHECKOUT CASE → "median_s peak_rss_mb" from the last line
  local dll="$1/src/Cli/bin/Release/net10.0/Farm.Cli.dll" last
  [[ -f $dll ]] || die "$dll is missing: run ./farm setup in $1"
  # shellcheck disable=SC2086
  last=$(FARM_NATIVE_LIB="$1/src/Diffusion/native/build/libfarmtorch.so" dotnet "$dll" bench $2 | tee -a /dev/stderr | tail -n 1)
  [[ $last =~ median_s=([0-9.]+)\ peak_rss_mb=([0-9]+) ]] || die "unexpected last line: $last"
  printf '%s %s\n' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
}

say "before: $before ($(git -C "$before" rev-parse --short HEAD)); after: $FARM_ROOT ($(git -C "$FARM_ROOT" rev-parse --short HEAD)); load $(cut -d' ' -f1-3 /proc/loadavg)"
rows=()
for case in "${cases[@]}"; do
  read -r before_s before_mb < <(bench "$before" "$case")
  read -r after_s after_mb < <(bench "$FARM_ROOT" "$case")
  rows+=("| \`bench $case\` | $before_s s, $before_mb MiB | $after_s s, $after_mb MiB | $(awk -v b="$before_s" -v a="$after_s" 'BEGIN { printf "%.2f×", b / a }') |")
done
printf '| case | before | after | before / after |\n| --- | --- | --- | --- |\n'
printf '%s\n' "${rows[@]}"
