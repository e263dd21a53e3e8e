#!/usr/bin/env bash
# demo.sh - two vrrpd routers on a throw-away namespaced LAN: watch the election, crash
# the master, see the virtual IP move, watch the old master preempt when it returns.
#
#   sudo ./scripts/demo.sh
#
# Builds vrrpd (release), creates network namespaces vd-demo-{hub,r1,r2}, and removes
# them again on exit (also on Ctrl-C). Nothing leaves the namespaces.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
	echo "demo.sh needs root for network namespaces: sudo $0" >&2
	exit 1
fi
for tool in ip cargo; do
	command -v "$tool" >/dev/null || { echo "demo.sh: $tool not found" >&2; exit 1; }
done

ROOT="$(cd "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)"
NS=vd-demo-
VIP=10.99.0.200
WORK="$(mktemp -d /tmp/vrrpd-demo.XXXXXX)"
PIDS=()

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

cleanup() {
	for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
	for n in r1 r2 hub; do ip netns del "$NS$n" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "building vrrpd (cargo build --release -p vrrpd)"
(cd "$ROOT" && cargo build --release -p vrrpd)
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/vrrpd"

say "building the LAN: hub bridge + r1 (10.99.0.11) + r2 (10.99.0.12)"
for n in r1 r2 hub; do ip netns del "$NS$n" 2>/dev/null || true; done # stale run
ip netns add "${NS}hub"
ip -n "${NS}hub" link add br0 type bridge
ip -n "${NS}hub" link set br0 up
for k in 1 2; do
	ns="${NS}r$k"
	ip netns add "$ns"
	ip -n "${NS}hub" link add "r${k}e0" type veth peer name eth0 netns "$ns"
	ip -n "${NS}hub" link set "r${k}e0" master br0 up
	ip -n "$ns" link set lo up
	ip -n "$ns" link set eth0 up
	ip -n "$ns" addr add "10.99.0.1$k/24" dev eth0
done

# r1 has the higher priority, so it should win the election.
for k in 1 2; do
	prio=$([ "$k" = 1 ] && echo 150 || echo 100)
	cat >"$WORK/r$k.conf" <<CONF
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority $prio
    advert_int 1
    virtual_ipaddress {
        $VIP/24
    }
}
CONF
done

start() { # start K: run vrrpd on router K in the background
	# Each daemon needs its own control socket: the filesystem is shared by the namespaces.
	ip netns exec "${NS}r$1" "$BIN" -f "$WORK/r$1.conf" --control-socket "$WORK/r$1.sock" \
		>>"$WORK/r$1.log" 2>&1 &
	PIDS[$1]=$!
	disown "$!" # no "Killed" job messages when the demo kills it
}
holder() { # print which routers hold the VIP
	local who=""
	for k in 1 2; do
		if ip -n "${NS}r$k" -4 -o addr show | grep -q " $VIP/"; then who+=" r$k"; fi
	done
	echo "${who:- nobody}"
}
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
wait_for() { # wait_for " rK" SECONDS: poll until exactly that holder, print elapsed time
	local want="$1" limit_ms=$(($2 * 1000)) start
	start=$(now_ms)
	while [ "$(holder)" != "$want" ]; do
		if (($(now_ms) - start > limit_ms)); then
			echo "   timed out: VIP held by$(holder)"
			for k in 1 2; do echo "-- r$k log"; tail -n 5 "$WORK/r$k.log" | sed 's/^/   /'; done
			return 1
		fi
		sleep 0.05
	done
	local ms=$(($(now_ms) - start))
	printf '   VIP %s held by%s after %d.%03d s\n' "$VIP" "$want" $((ms / 1000)) $((ms % 1000))
}

say "starting vrrpd on r1 (priority 150) and r2 (priority 100)"
start 1
start 2
echo "   both start as BACKUP; the higher priority times out first (3 x 1 s + skew)"
wait_for " r1" 15

sleep 2
say "crashing the master: kill -9 vrrpd on r1"
kill -KILL "${PIDS[1]}"
# A crashed daemon cannot clean up; take the stale VIP away as a dead box would.
ip -n "${NS}r1" addr del "$VIP/24" dev eth0 2>/dev/null || true
echo "   r2 stops hearing adverts and takes over after its Master_Down_Interval (~3.6 s)"
wait_for " r2" 15

say "r1 comes back: it removes leftovers, hears r2 (100) and preempts with 150"
start 1
wait_for " r1" 15

sleep 2
say "graceful stop of r1 (SIGTERM): priority-0 advert, r2 takes over at skew time"
kill -TERM "${PIDS[1]}"
wait_for " r2" 15

say "vrrpd logs (state changes)"
for k in 1 2; do
	echo "-- r$k"
	grep -E -- '->' "$WORK/r$k.log" | sed 's/^/   /'
done
say "done; cleaning up namespaces"
