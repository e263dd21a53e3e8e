#!/usr/bin/env bash
# vrrpd vs keepalived, side by side on identical namespaced LANs.
#
#   sudo benches/vrrp_compare/run.sh [--quick] [vrrp-compare options...]
#
# Builds vrrpd and the harness in release mode, runs every experiment (about 12 minutes;
# --quick: about 2.5 minutes) and prints the results table. Results go to
# target/vrrp-compare/ (results.md, raw.tsv, ratios.svg); captures and daemon logs stay in
# /tmp/vrrp-compare-PID/. Needs root, iproute2, tcpdump and keepalived
# (Debian: apt-get install -y keepalived tcpdump iproute2).
# Every namespace the harness creates starts with "pft-", "pfs-" or "pfc-"; leftovers of an
# interrupted run are removed on exit.
set -euo pipefail

ROOT="$(cd "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT="${VRRP_COMPARE_OUT:-$TARGET/vrrp-compare}"

if [ "$(id -u)" != 0 ]; then
	echo "run.sh: needs root for network namespaces (sudo $0 $*)" >&2
	exit 2
fi
for tool in ip tcpdump keepalived cargo; do
	command -v "$tool" >/dev/null || {
		hint=""
		[ "$tool" = cargo ] && hint=" (under sudo, keep your PATH: sudo env \"PATH=\$PATH\" $0)"
		echo "run.sh: $tool not found$hint" >&2
		exit 2
	}
done

# Removes namespaces of this harness left by an interrupted run (processes first, by pid).
cleanup() {
	local ns pid
	for ns in $(ip netns list | awk '{print $1}' | grep -E '^pf[tsc]-' || true); do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null || true
		done
		ip netns del "$ns" 2>/dev/null || true
	done
}
trap cleanup EXIT INT TERM

CARGO_TARGET_DIR="$TARGET" cargo build --release -p vrrpd -p benches --bin vrrpd --bin vrrp-compare >&2
"$TARGET/release/vrrp-compare" --vrrpd "$TARGET/release/vrrpd" --out "$OUT" "$@"
