#!/usr/bin/env bash
# Redis memory of a sweep's completion record once every image of a 1,000,000-image sweep is counted, in the old
# layout (a set member per index) and the current one (a bit per index):
#   scripts/bench-redis-done-memory.sh [IMAGES] [PORT]
# Starts a throwaway redis-server (no persistence) on PORT (default 26391), fills both keys, prints MEMORY USAGE of
# each, and stops the server.
set -euo pipefail
images=${1:-1000000}
port=${2:-26391}
work=$(mktemp -d)
redis-server --port "$port" --save "" --appendonly no --daemonize yes --pidfile "$work/redis.pid" --logfile "$work/redis.log"
trap 'kill "$(cat "$work/redis.pid")"; rm -rf "$work"' EXIT
until redis-cli -p "$port" PING >/dev/null 2>&1; do sleep 0.1; done
seq 0 $((images - 1)) | awk '{print "SADD set:done " $1}' | redis-cli -p "$port" --pipe >/dev/null
seq 0 $((images - 1)) | awk '{print "SETBIT bitmap:done " $1 " 1"}' | redis-cli -p "$port" --pipe >/dev/null
echo "$(redis-server --version | cut -d' ' -f3), $images images counted"
echo "set (SADD per index):     $(redis-cli -p "$port" MEMORY USAGE set:done SAMPLES 0) bytes, SCARD $(redis-cli -p "$port" SCARD set:done)"
echo "bitmap (SETBIT per index): $(redis-cli -p "$port" MEMORY USAGE bitmap:done SAMPLES 0) bytes, BITCOUNT $(redis-cli -p "$port" BITCOUNT bitmap:done)"
