# Shared helpers for the farm scripts. Sourced, not run.
# shellcheck shell=bash

FARM_ROOT="${FARM_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
FARM_STATE="$FARM_ROOT/.farm"             # everything local and git-ignored lives here
FARM_TOOLS="$FARM_STATE/tools"            # npm tools (s3rver)
S3RVER_VERSION="3.7.1"

say()  { printf '%s\n' "$*" >&2; }
step() { printf '==> %s\n' "$*" >&2; }
die()  { printf 'farm: %s\n' "$*" >&2; exit 1; }

# Runs a long setup step with its output in LOG, showing it is alive: "==> LABEL", a dot every 5 s, then
# "done in N s" (or "failed after N s"). With --lazy, a step that ends within 3 s prints nothing (a no-op build).
long_step() { # [--lazy] LABEL LOG COMMAND...
  local lazy=false
  [[ $1 == --lazy ]] && { lazy=true; shift; }
  local label=$1 log=$2; shift 2
  local start=$SECONDS shown=false rc=0 ticks=0
  "$@" >"$log" 2>&1 &
  local pid=$!
  $lazy || { printf '==> %s ' "$label" >&2; shown=true; }
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    ticks=$((ticks + 1))
    if ! $shown && ((ticks >= 3)); then printf '==> %s ' "$label" >&2; shown=true; fi
    if $shown && ((ticks % 5 == 0)); then printf '.' >&2; fi
  done
  wait "$pid" || rc=$?
  if $shown || ((rc)); then
    $shown || printf '==> %s ' "$label" >&2
    if ((rc)); then printf ' failed after %d s (log: %s)\n' $((SECONDS - start)) "${log#"$FARM_ROOT"/}" >&2
    else printf ' done in %d s\n' $((SECONDS - start)) >&2; fi
  fi
  return "$rc"
}

# pid files hold "PID STARTTIME" so a recycled pid is never mistaken for ours.
proc_starttime() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }                        # drop "pid (comm) ", comm may contain spaces
  # shellcheck disable=SC2086
  set -- $stat
  printf '%s\n' "${20}"                  # field 22 overall = 20th after comm
}

write_pidfile() { # FILE PID
  printf '%s %s\n' "$2" "$(proc_starttime "$2" || echo 0)" >"$1"
}

# Prints the pid recorded in FILE when that very process is still alive.
pidfile_alive() {
  local pid start now
  [[ -f $1 ]] || return 1
  read -r pid start <"$1" || return 1
  [[ -n ${pid:-} ]] || return 1
  now=$(proc_starttime "$pid") || return 1
  [[ -z ${start:-} || $start == 0 || $start == "$now" ]] || return 1
  printf '%s\n' "$pid"
}

# Ends the process recorded in FILE: TERM, then KILL after TIMEOUT seconds.
stop_pidfile() { # FILE TIMEOUT
  local pid i
  if pid=$(pidfile_alive "$1"); then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < $2 * 10; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$1"
}

# True when something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Newest-mtime check used to skip rebuilds: true when any file under the given
# paths matching the build inputs is newer than STAMP (or STAMP is missing).
newer_than_stamp() { # STAMP PATH...
  local stamp=$1; shift
  [[ -f $stamp ]] || return 0
  [[ -n $(find "$@" \( -name bin -o -name obj -o -name build -o -name TestResults \) -prune -o \
      -type f \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.targets' \
      -o -name '*.sln' -o -name '*.json' -o -name '*.txt' -o -name '*.cpp' -o -name '*.h' \
      -o -name '*.hpp' -o -name '*.cmake' -o -name '*.html' -o -name '*.css' -o -name '*.js' \) \
      -newer "$stamp" -print -quit 2>/dev/null) ]]
}
