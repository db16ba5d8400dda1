#!/usr/bin/env bash
# Idempotent setup for a Debian 12 machine: apt packages, s3rver, the native library and
# the .NET build. Each step checks first and does nothing when it is already done, so a
# second run takes seconds. Run by `./farm demo`, `./farm test` and the CLI hand-off.
#
#   setup.sh            everything
#   setup.sh --no-apt   skip the apt step (machines where someone else manages packages)
#
# System services: Debian's rabbitmq-server and redis-server packages start a system
# service on install. We never use those (our own processes run on other ports, see
# scripts/services.sh), so packages are installed with a policy-rc.d that forbids
# service starts; on a systemd machine the units are also disabled afterwards.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

APT_PACKAGES=(libtorch-dev libdnnl-dev libopenblas0-pthread cmake g++ make redis-server rabbitmq-server curl procps libfontconfig1 fonts-dejavu-core chromium)
NATIVE_SRC="$FARM_ROOT/src/Diffusion/native"
NATIVE_BUILD="$NATIVE_SRC/build"
BUILD_STAMP="$FARM_STATE/build.stamp"

with_apt=true
[[ ${1:-} == --no-apt ]] && with_apt=false

run_step() { # NAME FUNCTION
  "$2" || die "setup step '$1' failed (see the output above)"
}

installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]; }

step_apt() {
  local missing=() p
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  for p in "${APT_PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
  ((${#missing[@]})) || return 0
  [[ $(id -u) == 0 ]] || { say "farm: need root to install packages (try: sudo $0)"; return 1; }
  local own_policy=false
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\n# farm setup: no service starts during package installs\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    own_policy=true
  fi
  local rc=0
  long_step "apt: installing ${missing[*]}" "$FARM_STATE/apt.log" apt_install "${missing[@]}" || rc=$?
  if $own_policy; then rm -f /usr/sbin/policy-rc.d; fi
  if ((rc)); then tail -n 20 "$FARM_STATE/apt.log" >&2 2>/dev/null; return "$rc"; fi
  if [[ -d /run/systemd/system ]]; then
    for p in rabbitmq-server redis-server; do
      [[ " ${missing[*]} " == *" $p "* ]] && systemctl disable --now "$p" >/dev/null 2>&1 || true
    done
  fi
}

apt_install() {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

step_dotnet() {
  command -v dotnet >/dev/null && return 0
  say "farm: the .NET 10 SDK is required ('dotnet' not on PATH); Debian's archive does not carry it"
  return 1
}

step_s3rver() {
  local want="$FARM_ROOT/scripts/tools"
  if cmp -s "$want/package-lock.json" "$FARM_TOOLS/package-lock.json" &&
     [[ -f $FARM_TOOLS/node_modules/s3rver/bin/s3rver.js ]]; then return 0; fi
  mkdir -p "$FARM_TOOLS"
  cp "$want/package.json" "$want/package-lock.json" "$FARM_TOOLS/"
  long_step "npm: installing s3rver $S3RVER_VERSION into ${FARM_TOOLS#"$FARM_ROOT"/}" "$FARM_STATE/npm.log" \
    npm_ci_tools ||
    { tail -n 20 "$FARM_STATE/npm.log" >&2; rm -f "$FARM_TOOLS/package-lock.json"; return 1; }
}

npm_ci_tools() { cd "$FARM_TOOLS" && npm ci --no-audit --no-fund --loglevel=error; }

step_native() {
  if [[ ! -f $NATIVE_SRC/CMakeLists.txt ]]; then
    say "note: src/Diffusion/native/CMakeLists.txt not found; skipping the native library build"
    return 0
  fi
  if [[ ! -f $NATIVE_BUILD/CMakeCache.txt ]]; then
    long_step "cmake: configuring the native library" "$FARM_STATE/cmake.log" \
      cmake -S "$NATIVE_SRC" -B "$NATIVE_BUILD" -DCMAKE_BUILD_TYPE=Release ||
      { tail -n 30 "$FARM_STATE/cmake.log" >&2; return 1; }
  fi
  # cmake --build is a quick no-op when nothing changed; only talk when it does work.
  long_step --lazy "cmake: building the native library" "$FARM_STATE/cmake-build.log" cmake --build "$NATIVE_BUILD" -j2 ||
    { tail -n 40 "$FARM_STATE/cmake-build.log" >&2; return 1; }
}

step_dotnet_build() {
  local native_changed=false
  if [[ -f $BUILD_STAMP && -d $NATIVE_BUILD ]] &&
     [[ -n $(find "$NATIVE_BUILD" -maxdepth 2 -name '*.so*' -newer "$BUILD_STAMP" -print -quit) ]]; then
    native_changed=true
  fi
  if ! $native_changed && ! newer_than_stamp "$BUILD_STAMP" "$FARM_ROOT/src" "$FARM_ROOT/tests" \
      "$FARM_ROOT/Farm.sln" "$FARM_ROOT"/Directory.*.props; then
    return 0
  fi
  local next="$BUILD_STAMP.next"
  touch "$next"   # taken before the build, so an edit made during it triggers the next one
  long_step "dotnet: building Farm.sln (Release)" "$FARM_STATE/build.log" \
    dotnet build "$FARM_ROOT/Farm.sln" -c Release -nologo -v q -clp:NoSummary ||
    { grep -E 'error|Error' "$FARM_STATE/build.log" | sort -u | head -n 40 >&2; rm -f "$next"; return 1; }
  mv "$next" "$BUILD_STAMP"
}

mkdir -p "$FARM_STATE"
# Several ./farm commands may start at once (a coordinator, workers, a submit): one setup at a time,
# the others wait and then find everything done.
mkdir -p "$FARM_STATE"
exec 9>"$FARM_STATE/setup.lock"
flock 9

if $with_apt; then run_step "apt packages" step_apt; fi
run_step ".NET SDK" step_dotnet
run_step "s3rver (npm)" step_s3rver
run_step "native library (cmake)" step_native
run_step "dotnet build" step_dotnet_build
