#!/usr/bin/env bash
# Local RabbitMQ, Redis and s3rver as plain background processes on 127.0.0.1.
#
#   services.sh start  [--dir DIR] [--auto-ports] [--ephemeral] [--owner-pid PID] [--rabbit-nodes N] [--quiet]
#   services.sh stop   [--dir DIR]
#   services.sh status [--dir DIR]
#   services.sh kill   rabbitmq|rabbitmq-K|redis|s3rver [--hard] [--dir DIR]   (chaos: TERM, or KILL with --hard;
#                      `start` brings it back on the same ports and data)
#   services.sh rabbitmqctl|rabbitmq-diagnostics|rabbitmq-queues ARGS... [--dir DIR]
#
# DIR defaults to .farm/services (the developer set, fixed ports, persistent data).
# --auto-ports picks free loopback ports (test sets); --ephemeral removes DIR on stop;
# --owner-pid stops the set (and removes it, when ephemeral) once that process is gone,
# so a test run that is killed still leaves nothing behind.
# --rabbit-nodes 3 starts a RabbitMQ cluster of three nodes on loopback (distinct node names and ports,
# quorum queues replicated on all of them); FARM_RABBITMQ_URL then lists every node, comma-separated.
# After start, DIR/services.env holds the connection settings (FARM_RABBITMQ_URL, ...).
#
# No system service is used or touched: each set has its own Erlang node name, epmd,
# cookie, data and logs under DIR, and `stop` ends exactly the pids it recorded.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Developer-set ports: chosen next to, never on, the system defaults
# (AMQP 5672, dist 25672, epmd 4369, Redis 6379) so a system broker can coexist.
DEFAULT_AMQP=5682 DEFAULT_DIST=25682 DEFAULT_EPMD=4379 DEFAULT_REDIS=6389 DEFAULT_S3=5900
BUCKET=farm
S3_KEY=S3RVER S3_SECRET=S3RVER   # s3rver's fixed credentials

cmd=${1:-status}; shift || true
dir="$FARM_STATE/services" auto_ports=false ephemeral=false owner_pid="" quiet=false rabbit_nodes=""
rest=()
while (($#)); do
  case $1 in
    --dir) dir=$2; shift 2 ;;
    --auto-ports) auto_ports=true; shift ;;
    --ephemeral) ephemeral=true; shift ;;
    --owner-pid) owner_pid=$2; shift 2 ;;
    --quiet) quiet=true; shift ;;
    --rabbit-nodes) rabbit_nodes=$2; shift 2 ;;
    *) rest+=("$1"); shift ;;
  esac
done
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
log() { $quiet || say "$@"; }

RABBIT_SBIN=$(ls -d /usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin 2>/dev/null | sort -V | tail -1 || true)

# ---- ports -----------------------------------------------------------------------------
load_ports() {
  if [[ -f $dir/ports ]]; then
    # shellcheck disable=SC1091
    source "$dir/ports"
  else
    AMQP=$DEFAULT_AMQP DIST=$DEFAULT_DIST EPMD=$DEFAULT_EPMD REDIS=$DEFAULT_REDIS S3=$DEFAULT_S3
  fi
  NODES=${NODES:-1}
}

pick_free_port() { # avoids the kernel's ephemeral range (32768+) and ports already taken
  local p taken=" $* "
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 12000))
    [[ $taken == *" $p "* ]] && continue
    port_open "$p" && continue
    printf '%s\n' "$p"; return 0
  done
  die "services: no free loopback port found"
}

choose_ports() {
  if [[ -f $dir/ports ]] && any_running; then
    load_ports
    [[ -z $rabbit_nodes || $rabbit_nodes == "$NODES" ]] || die "services: the set in $dir runs $NODES RabbitMQ node(s); stop it first to change --rabbit-nodes"
    return
  fi
  NODES=${rabbit_nodes:-1}
  [[ $NODES =~ ^[1-9]$ ]] || die "services: --rabbit-nodes must be 1 to 9, got '$NODES'"
  local k extra=""
  if $auto_ports; then
    AMQP=$(pick_free_port); DIST=$(pick_free_port "$AMQP"); EPMD=$(pick_free_port "$AMQP" "$DIST")
    REDIS=$(pick_free_port "$AMQP" "$DIST" "$EPMD"); S3=$(pick_free_port "$AMQP" "$DIST" "$EPMD" "$REDIS")
    for ((k = 2; k <= NODES; k++)); do
      printf -v "AMQP$k" '%s' "$(pick_free_port "$AMQP" "$DIST" "$EPMD" "$REDIS" "$S3")"
      printf -v "DIST$k" '%s' "$(pick_free_port "$AMQP" "$DIST" "$EPMD" "$REDIS" "$S3")"
    done
  else
    AMQP=$DEFAULT_AMQP DIST=$DEFAULT_DIST EPMD=$DEFAULT_EPMD REDIS=$DEFAULT_REDIS S3=$DEFAULT_S3
    # The cluster's other nodes: the next AMQP and distribution ports.
    for ((k = 2; k <= NODES; k++)); do printf -v "AMQP$k" '%s' $((AMQP + k - 1)); printf -v "DIST$k" '%s' $((DIST + k - 1)); done
  fi
  for ((k = 2; k <= NODES; k++)); do extra+="AMQP$k=$(node_amqp "$k")"$'\n'"DIST$k=$(node_dist "$k")"$'\n'; done
  printf 'AMQP=%s\nDIST=%s\nEPMD=%s\nREDIS=%s\nS3=%s\nNODES=%s\n%s' "$AMQP" "$DIST" "$EPMD" "$REDIS" "$S3" "$NODES" "$extra" >"$dir/ports"
}

# RabbitMQ node K (from 1) of the set: its AMQP and distribution ports, Erlang node name, and the name of its directory and pid file.
node_amqp() { if (($1 == 1)); then echo "$AMQP"; else local v="AMQP$1"; echo "${!v}"; fi; }
node_dist() { if (($1 == 1)); then echo "$DIST"; else local v="DIST$1"; echo "${!v}"; fi; }
node_name() { local base; base="farm-$(printf '%s' "$dir" | cksum | cut -d' ' -f1)"; if (($1 == 1)); then echo "$base@localhost"; else echo "$base-$1@localhost"; fi; }
node_key() { if (($1 == 1)); then echo rabbitmq; else echo "rabbitmq-$1"; fi; }

any_running() {
  local f
  for f in epmd rabbitmq rabbitmq-{2..9} redis s3rver watcher; do pidfile_alive "$dir/$f.pid" >/dev/null && return 0; done
  return 1
}

write_env() {
  local k urls="amqp://guest:guest@127.0.0.1:$AMQP/"
  for ((k = 2; k <= NODES; k++)); do urls+=",amqp://guest:guest@127.0.0.1:$(node_amqp "$k")/"; done
  cat >"$dir/services.env" <<EOF
FARM_RABBITMQ_URL=$urls
FARM_REDIS=127.0.0.1:$REDIS
FARM_S3_URL=http://127.0.0.1:$S3
FARM_S3_BUCKET=$BUCKET
FARM_S3_ACCESS_KEY=$S3_KEY
FARM_S3_SECRET_KEY=$S3_SECRET
EOF
}

# ---- readiness probes ------------------------------------------------------------------
# AMQP: send the 0-9-1 protocol header; a ready broker answers with a method frame (type 1,
# Connection.Start). RabbitMQ opens its listener only at the end of boot, so this means ready.
amqp_ready() {
  [[ $(timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && printf 'AMQP\x00\x00\x09\x01' >&3 && head -c 1 <&3" 2>/dev/null \
    | od -An -tx1 | tr -d ' \n') == 01 ]]
}
redis_ready() { [[ $(timeout 3 redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null) == PONG ]]; }
s3_ready() { # the bucket must exist too: HEAD on it answers 200
  [[ $(curl -s -o /dev/null -m 3 -I -w '%{http_code}' "http://127.0.0.1:$1/$BUCKET" 2>/dev/null) == 200 ]]
}

wait_ready() { # NAME PIDFILE LOG TIMEOUT PROBE ARGS...
  local name=$1 pidfile=$2 logf=$3 timeout=$4 i; shift 4
  for ((i = 0; i < timeout * 4; i++)); do
    if "$@"; then log "  $name ready"; return 0; fi
    if ! pidfile_alive "$pidfile" >/dev/null; then
      say "farm: $name exited during start; last lines of $logf:"; tail -n 30 "$logf" >&2 || true
      return 1
    fi
    sleep 0.25
  done
  say "farm: $name did not answer within ${timeout}s; last lines of $logf:"; tail -n 30 "$logf" >&2 || true
  return 1
}

# ---- start -----------------------------------------------------------------------------
spawn() { # PIDFILE LOG CMD... : detached from our session so Ctrl-C here does not reach it
  local pidfile=$1 logf=$2; shift 2
  setsid "$@" </dev/null >>"$logf" 2>&1 &
  write_pidfile "$pidfile" $!
}

start_rabbitmq() { # [K]: node K of the set (default 1)
  local k=${1:-1} r home=$dir/rabbitmq/home key amqp dist j
  key=$(node_key "$k") amqp=$(node_amqp "$k") dist=$(node_dist "$k")
  r=$dir/$key
  [[ -n $RABBIT_SBIN ]] || die "services: rabbitmq-server is not installed (run ./farm test or scripts/setup.sh)"
  mkdir -p "$home" "$r/mnesia" "$r/log"
  # Our own cookie, one for all the set's nodes: HOME points here so the CLI tools and the nodes agree without /var/lib/rabbitmq.
  if [[ ! -f $home/.erlang.cookie ]]; then
    (umask 077; od -An -N16 -tx1 /dev/urandom | tr -d ' \n' | tr 'a-f0-9' 'A-P' >"$home/.erlang.cookie")
    chmod 400 "$home/.erlang.cookie"
  fi
  cat >"$r/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$amqp
# A job is acknowledged only once stored; 6 h instead of 30 min, so a long render is not taken away (docs/decisions.md).
consumer_timeout = 21600000
log.console = false
log.file.level = info
EOF
  if ((NODES > 1)); then
    # A cluster: a fresh node joins the nodes listed (node 1 is started first); quorum queues get a replica on each.
    { echo "cluster_formation.peer_discovery_backend = classic_config"
      for ((j = 1; j <= NODES; j++)); do echo "cluster_formation.classic_config.nodes.$j = $(node_name "$j")"; done
    } >>"$r/rabbitmq.conf"
  fi
  : >"$r/rabbitmq-env.conf"                   # keep /etc/rabbitmq/rabbitmq-env.conf out
  echo '[].' >"$r/enabled_plugins"           # no management plugin locally
  export HOME=$home
  RABBITMQ_NODENAME=$(node_name "$k"); export RABBITMQ_NODENAME
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$amqp RABBITMQ_DIST_PORT=$dist
  export ERL_EPMD_PORT=$EPMD ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_MNESIA_BASE=$r/mnesia RABBITMQ_LOG_BASE=$r/log
  export RABBITMQ_CONFIG_FILE=$r/rabbitmq.conf RABBITMQ_CONF_ENV_FILE=$r/rabbitmq-env.conf
  export RABBITMQ_ADVANCED_CONFIG_FILE=$r/advanced.config RABBITMQ_ENABLED_PLUGINS_FILE=$r/enabled_plugins
  export RABBITMQ_PID_FILE=$r/beam.pid
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  # epmd is started by us (not by erl's -daemon fork) so its pid is known and stop can end it.
  if ! pidfile_alive "$dir/epmd.pid" >/dev/null; then
    spawn "$dir/epmd.pid" "$r/log/epmd.log" epmd -port "$EPMD" -address 127.0.0.1
    for _ in $(seq 40); do port_open "$EPMD" && break; sleep 0.1; done
  fi
  spawn "$dir/$key.pid" "$r/log/stdout.log" "$RABBIT_SBIN/rabbitmq-server"
}

start_redis() {
  local d=$dir/redis persist=(--appendonly yes --appendfsync everysec)
  $ephemeral && persist=(--appendonly no --save "")
  mkdir -p "$d"
  spawn "$dir/redis.pid" "$d/redis.log" redis-server --bind 127.0.0.1 --port "$REDIS" --dir "$d" \
    --daemonize no --protected-mode yes --logfile "" "${persist[@]}"
}

start_s3rver() {
  local d=$dir/s3 js=$FARM_TOOLS/node_modules/s3rver/bin/s3rver.js
  [[ -f $js ]] || die "services: s3rver is not installed in $FARM_TOOLS (run ./farm test or scripts/setup.sh)"
  mkdir -p "$d/data"
  # s3rver 3.7.1 ciphers its ListObjectsV2 continuation tokens with DES, which Node 17+ (OpenSSL 3) offers only
  # through the legacy provider: without it, every listing longer than one page (1,000 keys) fails with a 500.
  spawn "$dir/s3rver.pid" "$d/s3rver.log" node --openssl-legacy-provider "$js" --address 127.0.0.1 --port "$S3" \
    --directory "$d/data" --configure-bucket "$BUCKET" --silent
}

start_watcher() { # stops the set once the owner process is gone, however it ended
  [[ -n $owner_pid ]] || return 0
  stop_pidfile "$dir/watcher.pid" 1
  setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec "$2" stop --dir "$3"' \
    farm-services-watcher "$owner_pid" "${BASH_SOURCE[0]}" "$dir" </dev/null >>"$dir/watcher.log" 2>&1 &
  write_pidfile "$dir/watcher.pid" $!
}

do_start() {
  ((${#rest[@]} == 0)) || die "services: unknown option ${rest[0]}"
  choose_ports
  $ephemeral && : >"$dir/.ephemeral"
  NODE="farm-$(printf '%s' "$dir" | cksum | cut -d' ' -f1)@localhost"
  log "starting services in $dir"
  # Start all three, then wait: RabbitMQ's boot (~5-10 s) overlaps the others.
  pidfile_alive "$dir/rabbitmq.pid" >/dev/null || (start_rabbitmq)
  pidfile_alive "$dir/redis.pid" >/dev/null || start_redis
  pidfile_alive "$dir/s3rver.pid" >/dev/null || start_s3rver
  local ok=true
  wait_ready "rabbitmq (amqp 127.0.0.1:$AMQP)" "$dir/rabbitmq.pid" "$dir/rabbitmq/log/stdout.log" 90 amqp_ready "$AMQP" || ok=false
  # The cluster's other nodes one at a time, once node 1 is up, so each joins it rather than forming a cluster of its own.
  local k key
  for ((k = 2; k <= NODES; k++)); do
    $ok || break
    key=$(node_key "$k")
    pidfile_alive "$dir/$key.pid" >/dev/null || (start_rabbitmq "$k")
    wait_ready "rabbitmq node $k (amqp 127.0.0.1:$(node_amqp "$k"))" "$dir/$key.pid" "$dir/$key/log/stdout.log" 90 amqp_ready "$(node_amqp "$k")" || ok=false
  done
  if $ok && ((NODES > 1)); then
    (rabbit_env; timeout 180 "$RABBIT_SBIN/rabbitmqctl" -n "$RABBITMQ_NODENAME" -q await_online_nodes "$NODES" >/dev/null) \
      || { say "farm: the $NODES RabbitMQ nodes did not form one cluster"; ok=false; }
    log "  rabbitmq: a cluster of $NODES nodes"
  fi
  wait_ready "redis (127.0.0.1:$REDIS)" "$dir/redis.pid" "$dir/redis/redis.log" 30 redis_ready "$REDIS" || ok=false
  wait_ready "s3rver (http://127.0.0.1:$S3, bucket $BUCKET)" "$dir/s3rver.pid" "$dir/s3/s3rver.log" 30 s3_ready "$S3" || ok=false
  if ! $ok; then do_stop; die "services: start failed (see messages above)"; fi
  write_env
  start_watcher
  log "settings written to $dir/services.env"
}

# ---- stop / status ---------------------------------------------------------------------
do_stop() {
  local beam
  [[ -d $dir ]] || return 0
  stop_pidfile "$dir/s3rver.pid" 10
  stop_pidfile "$dir/redis.pid" 10
  # The rabbitmq-server wrapper turns TERM into a clean shutdown of its beam child;
  # the beam pid file is checked after in case the wrapper went first.
  local key
  for key in rabbitmq-{9..2}; do
    [[ -f $dir/$key.pid ]] || continue
    beam=$(cat "$dir/$key/beam.pid" 2>/dev/null || true)
    stop_pidfile "$dir/$key.pid" 30
    if [[ -n $beam ]] && [[ $( { tr '\0' ' ' <"/proc/$beam/cmdline"; } 2>/dev/null) == *"$dir/$key"* ]]; then kill -KILL "$beam" 2>/dev/null || true; fi
    rm -f "$dir/$key/beam.pid"
  done
  beam=$(cat "$dir/rabbitmq/beam.pid" 2>/dev/null || true)
  stop_pidfile "$dir/rabbitmq.pid" 30
  if [[ -n $beam ]] && [[ $( { tr '\0' ' ' <"/proc/$beam/cmdline"; } 2>/dev/null) == *"$dir/rabbitmq"* ]]; then
    kill -TERM "$beam" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$beam" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$beam" 2>/dev/null || true
  fi
  stop_pidfile "$dir/epmd.pid" 5
  rm -f "$dir/services.env" "$dir/rabbitmq/beam.pid"
  # The watcher may be the one running this stop: then it simply exits afterwards.
  if [[ $(pidfile_alive "$dir/watcher.pid" || true) != "$$" ]]; then stop_pidfile "$dir/watcher.pid" 1; fi
  rm -f "$dir/watcher.pid"
  if [[ -f $dir/.ephemeral ]]; then rm -rf "$dir"; fi
  log "services in $dir stopped"
}

do_status() {
  local up=0 name pidfile port
  load_ports
  for name in rabbitmq redis s3rver; do
    pidfile=$dir/$name.pid
    case $name in rabbitmq) port=$AMQP ;; redis) port=$REDIS ;; s3rver) port=$S3 ;; esac
    if pid=$(pidfile_alive "$pidfile") && port_open "$port"; then
      printf '%-9s up    127.0.0.1:%s (pid %s)\n' "$name" "$port" "$pid"; up=$((up + 1))
    else
      printf '%-9s down  127.0.0.1:%s\n' "$name" "$port"
    fi
  done
  local k
  for ((k = 2; k <= NODES; k++)); do # a cluster's other nodes (--rabbit-nodes)
    if pid=$(pidfile_alive "$dir/rabbitmq-$k.pid") && port_open "$(node_amqp "$k")"; then
      printf '%-9s up    127.0.0.1:%s (pid %s)\n' "rabbitmq-$k" "$(node_amqp "$k")" "$pid"
    else
      printf '%-9s down  127.0.0.1:%s\n' "rabbitmq-$k" "$(node_amqp "$k")"; up=$((up - 1))
    fi
  done
  [[ -f $dir/services.env ]] && printf 'settings: %s\n' "$dir/services.env"
  ((up == 3))
}

rabbit_env() { # for the CLI tools: same cookie, epmd and node as the running set
  load_ports
  export HOME=$dir/rabbitmq/home ERL_EPMD_PORT=$EPMD
  export RABBITMQ_NODENAME="farm-$(printf '%s' "$dir" | cksum | cut -d' ' -f1)@localhost"
}

do_kill() { # SERVICE [--hard]: one service of the set down, as a fault would take it; `start` restarts it
  local name=${rest[0]:-} signal=TERM pid beam
  [[ ${rest[1]:-} == --hard ]] && signal=KILL
  [[ $name == @(rabbitmq|rabbitmq-[2-9]|redis|s3rver) ]] || die "services: kill what? (rabbitmq|rabbitmq-K|redis|s3rver)"
  pid=$(pidfile_alive "$dir/$name.pid") || die "services: $name is not running in $dir"
  # rabbitmq: the beam does the work; the wrapper ends with it.
  beam=$( [[ $name == rabbitmq* ]] && cat "$dir/$name/beam.pid" 2>/dev/null || true)
  kill "-$signal" ${beam:+"$beam"} "$pid" 2>/dev/null || true
  for _ in $(seq 300); do
    kill -0 "$pid" 2>/dev/null || { [[ -n $beam ]] && kill -0 "$beam" 2>/dev/null; } || break
    sleep 0.1
  done
  rm -f "$dir/$name.pid"
  log "$name in $dir killed (SIG$signal)"
}

case $cmd in
  start) do_start ;;
  kill) do_kill ;;
  rabbitmqctl|rabbitmq-diagnostics|rabbitmq-queues) # e.g. ./farm services rabbitmqctl list_queues
    rabbit_env; exec "$RABBIT_SBIN/$cmd" -n "$RABBITMQ_NODENAME" "${rest[@]}" ;;
  stop) do_stop ;;
  status) do_status ;;
  *) die "services: unknown command '$cmd' (start|stop|status|kill|rabbitmqctl|rabbitmq-diagnostics|rabbitmq-queues)" ;;
esac
