#!/usr/bin/env bash
# Conntrack state-sync benchmark: ssyncpd against Debian's conntrackd (FTFW over multicast),
# in the same namespace lab, by the same method.
#
#   sudo benches/conntrack_sync/run.sh [ENTRIES] [RUNS]      (defaults: 100000 3; RATE=25000)
#
# BACKUP_EVENTS=0 sets net.netfilter.nf_conntrack_events=0 in the backup's namespace (both
# daemons, floor included): its writes then build no event messages although the master
# listens, which is what an ssyncpd backup costs on its own machine, and less than a
# conntrackd backup would (it listens to its own writes).
#
# Lab: two network namespaces (sybm-m = master, sybm-b = backup) joined by one veth pair
# (the dedicated sync link, 10.98.0.1/.2). For each daemon and run:
#
#   floor:  before the daemons start, ENTRIES entries are written straight into the
#           backup's empty table with ctnetlink (ssyncp-ctgen, batches of 2,000) while a
#           `conntrack -E` listener runs in the master's namespace: the kernel's own cost of
#           committing them in this lab (see "Reading" below), the floor for both daemons.
#   live:   both daemons run and are idle; ENTRIES synthetic UDP conntrack entries are
#           injected into the master's kernel table through ctnetlink (ssyncp-ctgen, 2,000
#           per batch). Measured: time from the start of the injection until the backup's
#           kernel table holds all of them, the lag (that time minus the injection's own
#           duration), the CPU time (user+sys, /proc/PID/stat) both daemons spent, and the
#           bytes and packets the master sent on the sync link.
#   resync: the backup daemon is stopped, its table flushed, and it is started again; it
#           asks for a resync. Measured: time until its kernel holds all entries again,
#           both daemons' CPU time, and the transfer on the wire (a capture of what the
#           master sent: first to last datagram carrying entries, retransmissions included).
#   paced:  after the resync, ENTRIES more entries are injected at RATE per second (default
#           25000, close to the 26.8k flows/s real UDP traffic produced on this kind of
#           machine), as real traffic would create them. Measured: the lag (time until the backup's kernel holds
#           all of them, from wall-clock stamps: the backup's waiter, polling every 0.5 ms,
#           minus the injector's answer for its last batch) and both daemons' CPU time; then
#           both daemons' peak RSS (VmHWM), with 2 × ENTRIES entries in the tables (it is
#           also read right after the resync, with ENTRIES entries).
#
# Reading: master and backup share one kernel here. Two kernel facts then weigh on every
# write into the backup's table, for both daemons alike: the nfnetlink mutex that
# serialises ctnetlink creates is global (the master's ctnetlink work and the backup's
# writes take turns), and conntrack builds an event message for every created entry as
# soon as any namespace has an event listener (the masters' subscriptions), which about
# doubles the cost of a create. The floor row shows the result.
# Both daemons commit to the backup's kernel table (conntrackd with DisableExternalCache).
# Namespaces and processes are removed on exit, also on Ctrl-C. Nothing leaves the lab.
set -euo pipefail

N=${1:-100000}
RUNS=${2:-3}
RATE=${RATE:-25000}
BACKUP_EVENTS=${BACKUP_EVENTS:-}
ROOT="$(cd "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)"
M=sybm-m
B=sybm-b
WORK="$(mktemp -d /tmp/sybm.XXXXXX)"
LASTPID=0
PIDS=()
HZ=$(getconf CLK_TCK)

if [ "$(id -u)" != 0 ]; then
	echo "run.sh needs root for network namespaces: sudo $0" >&2
	exit 1
fi
for tool in ip conntrackd conntrack tcpdump cargo; do
	command -v "$tool" >/dev/null || { echo "run.sh: $tool not found (apt-get install conntrackd conntrack iproute2 tcpdump)" >&2; exit 1; }
done

cleanup() {
	for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
	ip netns del $M 2>/dev/null || true
	ip netns del $B 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building ssyncpd (release)" >&2
(cd "$ROOT" && cargo build --release -q -p ssyncpd)
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"
CTGEN="$BIN/ssyncp-ctgen"

lab() {
	ip netns del $M 2>/dev/null || true
	ip netns del $B 2>/dev/null || true
	ip netns add $M
	ip netns add $B
	ip link add sync0 netns $M type veth peer name sync0 netns $B
	ip -n $M addr add 10.98.0.1/24 dev sync0
	ip -n $B addr add 10.98.0.2/24 dev sync0
	for ns in $M $B; do
		ip -n $ns link set lo up
		ip -n $ns link set sync0 up
		ip netns exec $ns "$CTGEN" count >/dev/null # loads conntrack in the namespace
	done
	if [ -n "$BACKUP_EVENTS" ]; then
		ip netns exec $B sysctl -qw "net.netfilter.nf_conntrack_events=$BACKUP_EVENTS"
	fi
}

# Peak resident set (VmHWM, KiB) of a process.
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
# CPU ticks (user + sys) of a process.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ms_of_ticks() { echo $(( $1 * 1000 / HZ )); }
now_ms() { date +%s%3N; }

start_ssyncpd() { # ns role; sets LASTPID
	local ns=$1 role=$2
	cat >"$WORK/$ns.conf" <<-EOF
		ssyncp {
		    interface sync0
		    sync_id 1
		    role $role
		}
	EOF
	ip netns exec "$ns" "$BIN/ssyncpd" -f "$WORK/$ns.conf" -l info >>"$WORK/$ns.ssyncpd.log" 2>&1 </dev/null &
	LASTPID=$!
	PIDS+=("$LASTPID")
}

start_conntrackd() { # ns local-address; sets LASTPID
	local ns=$1 addr=$2
	cat >"$WORK/$ns.ctd.conf" <<-EOF
		Sync {
		    Mode FTFW {
		        DisableExternalCache On
		        StartupResync On
		    }
		    Multicast {
		        IPv4_address 225.0.0.50
		        Group 3780
		        IPv4_interface $addr
		        Interface sync0
		        SndSocketBuffer 1249280
		        RcvSocketBuffer 1249280
		        Checksum on
		    }
		}
		General {
		    HashSize 32768
		    HashLimit 524288
		    LogFile $WORK/$ns.ctd.log
		    Syslog off
		    LockFile $WORK/$ns.ctd.lock
		    UNIX {
		        Path $WORK/$ns.ctd.sock
		    }
		    NetlinkBufferSize 2097152
		    NetlinkBufferSizeMaxGrowth 8388608
		    NetlinkOverrunResync On
		}
	EOF
	rm -f "$WORK/$ns.ctd.lock"
	ip netns exec "$ns" conntrackd -C "$WORK/$ns.ctd.conf" >>"$WORK/$ns.ctd.out" 2>&1 </dev/null &
	LASTPID=$!
	PIDS+=("$LASTPID")
}

start_daemon() { # kind ns; sets LASTPID
	case "$1" in
	ssyncpd) if [ "$2" = $M ]; then start_ssyncpd $M master; else start_ssyncpd $B backup; fi ;;
	conntrackd) if [ "$2" = $M ]; then start_conntrackd $M 10.98.0.1; else start_conntrackd $B 10.98.0.2; fi ;;
	esac
}

# The resync on the wire, from a capture of what the master sent: first to last datagram
# carrying entries (ssyncpd: SSYNCP BULK messages, Type 1 in the header's low nibble;
# conntrackd: its UDP messages over 120 bytes, as nothing else flows then), retransmissions
# included. Prints "ms datagrams".
wire_span() { # kind pcap
	local filter='udp and ip[2:2] > 120'
	[ "$1" = ssyncpd ] && filter='ip proto 114 and ip[24] & 0x0f = 1'
	tcpdump -r "$2" -n -tt "$filter" 2>/dev/null |
		awk 'NR == 1 { first = $1 } { last = $1; n++ } END { if (n) printf "%.1f %d\n", (last - first) * 1000, n; else print "NA 0" }'
}

tx_of() { ip netns exec $M cat "/sys/class/net/sync0/statistics/$1"; }

results=()

# The kernel floor: ENTRIES creates into the backup's empty table, with an event listener
# in the master's namespace (as the daemons' masters have). Prints milliseconds.
floor_ms() {
	lab
	ip netns exec $M conntrack -E >/dev/null 2>&1 &
	local listener=$!
	PIDS+=("$listener")
	sleep 0.5
	local out
	out=$(ip netns exec $B "$CTGEN" inject "$N")
	kill "$listener" 2>/dev/null || true
	wait "$listener" 2>/dev/null || true
	echo "$out" | awk '{print $5}'
}

one_run() { # kind run floor
	local kind=$1 run=$2 floor=$3
	lab
	local pb pm
	start_daemon "$kind" $B
	pb=$LASTPID
	start_daemon "$kind" $M
	pm=$LASTPID
	sleep 1.5
	local cm0 cb0 tx0 pk0 t0 waited
	cm0=$(ticks "$pm"); cb0=$(ticks "$pb")
	tx0=$(tx_of tx_bytes); pk0=$(tx_of tx_packets)
	t0=$(now_ms)
	ip netns exec $B "$CTGEN" wait "$N" 120000 >"$WORK/wait" &
	local waiter=$!
	ip netns exec $M "$CTGEN" inject "$N" >"$WORK/inject"
	local t_inj=$(( $(now_ms) - t0 ))
	if ! wait $waiter; then
		echo "$kind run $run: backup incomplete: $(ip netns exec $B "$CTGEN" count) of $N" >&2
		return 1
	fi
	waited=$(cat "$WORK/wait")
	local lag=$(( waited > t_inj ? waited - t_inj : 0 ))
	sleep 1
	local cm1 cb1 tx1 pk1
	cm1=$(ticks "$pm"); cb1=$(ticks "$pb")
	tx1=$(tx_of tx_bytes); pk1=$(tx_of tx_packets)
	local live_m live_b bytes pkts
	live_m=$(ms_of_ticks $((cm1 - cm0))); live_b=$(ms_of_ticks $((cb1 - cb0)))
	bytes=$((tx1 - tx0)); pkts=$((pk1 - pk0))

	# Resync: restart the backup with an empty table.
	kill -TERM "$pb"; wait "$pb" 2>/dev/null || true
	ip netns exec $B conntrack -F >/dev/null 2>&1 || true
	local cm2 pb2 rs cap
	ip netns exec $M tcpdump -i sync0 -n -s 64 -B 16384 -w "$WORK/resync.pcap" 'src host 10.98.0.1' 2>/dev/null &
	cap=$!
	PIDS+=("$cap")
	sleep 0.5
	cm2=$(ticks "$pm")
	start_daemon "$kind" $B
	pb2=$LASTPID
	if ! rs=$(ip netns exec $B "$CTGEN" wait "$N" 120000); then
		echo "$kind run $run: resync incomplete" >&2
		rs=NA
	fi
	sleep 1
	kill -INT "$cap" 2>/dev/null || true
	wait "$cap" 2>/dev/null || true
	local wire_ms wire_pkts
	read -r wire_ms wire_pkts < <(wire_span "$kind" "$WORK/resync.pcap")
	local rs_m rs_b hwm1_m hwm1_b
	rs_m=$(ms_of_ticks $(( $(ticks "$pm") - cm2 )))
	rs_b=$(ms_of_ticks "$(ticks "$pb2")")
	hwm1_m=$(hwm_kib "$pm"); hwm1_b=$(hwm_kib "$pb2")

	# Paced: ENTRIES more at RATE entries/s, as real traffic would create them.
	local cm3 cb3
	cm3=$(ticks "$pm"); cb3=$(ticks "$pb2")
	ip netns exec $B "$CTGEN" wait $((2 * N)) 120000 --stamp >"$WORK/wait2" &
	waiter=$!
	ip netns exec $M "$CTGEN" inject "$N" --from "$N" --rate "$RATE" --stamp >"$WORK/inject2"
	if ! wait $waiter; then
		echo "$kind run $run: paced phase incomplete" >&2
		return 1
	fi
	# Both stamps are wall-clock µs: the backup's completion minus the last batch's answer.
	local paced_lag
	paced_lag=$(awk 'NR == FNR { if (FNR == 2) done = $1; next } FNR == 2 { printf "%.1f", (done - $1) / 1000 }' "$WORK/wait2" "$WORK/inject2")
	sleep 1
	local paced_m paced_b
	paced_m=$(ms_of_ticks $(( $(ticks "$pm") - cm3 )))
	paced_b=$(ms_of_ticks $(( $(ticks "$pb2") - cb3 )))
	local hwm_m hwm_b
	hwm_m=$(hwm_kib "$pm"); hwm_b=$(hwm_kib "$pb2")
	kill -TERM "$pm" "$pb2" 2>/dev/null || true
	wait "$pm" "$pb2" 2>/dev/null || true
	printf '%-10s run %d: live %6d ms (inject %5d ms, lag %5d ms) cpu master %5d ms backup %5d ms | wire %d B, %d pkts | resync %6s ms (floor %s ms) cpu master %5d ms backup %5d ms | paced lag %s ms cpu master %d ms backup %d ms | peak RSS %d / %d KiB | resync wire %s ms, %d pkts | peak RSS at ENTRIES %d / %d KiB\n' \
		"$kind" "$run" "$waited" "$t_inj" "$lag" "$live_m" "$live_b" "$bytes" "$pkts" "$rs" "$floor" "$rs_m" "$rs_b" "$paced_lag" "$paced_m" "$paced_b" "$hwm_m" "$hwm_b" "$wire_ms" "$wire_pkts" "$hwm1_m" "$hwm1_b" >&2
	results+=("$kind $waited $t_inj $live_m $live_b $bytes $pkts $rs $rs_m $rs_b $lag $floor $hwm_m $hwm_b $paced_lag $paced_m $paced_b $wire_ms $wire_pkts $hwm1_m $hwm1_b")
}

for run in $(seq 1 "$RUNS"); do
	floor=$(floor_ms)
	for kind in ssyncpd conntrackd; do
		one_run "$kind" "$run" "$floor" || results+=("$kind FAIL")
	done
done

echo
echo "Entries: $N synthetic UDP conntrack entries injected on the master with ctnetlink; $RUNS runs; medians."
printf '%s\n' "${results[@]}" | awk -v n="$N" -v rate="$RATE" '
function median(arr, cnt,   i, j, t) {
	for (i = 1; i <= cnt; i++) for (j = i + 1; j <= cnt; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
	return cnt % 2 ? arr[(cnt + 1) / 2] : (arr[cnt / 2] + arr[cnt / 2 + 1]) / 2
}
function med(col, k,   i, a) { for (i = 1; i <= c[k]; i++) a[i] = v[col, k, i]; return median(a, c[k]) }
$2 != "FAIL" {
	k = $1; c[k]++
	for (i = 2; i <= NF; i++) v[i, k, c[k]] = $i
}
END {
	print "| measure | conntrackd | ssyncpd | conntrackd / ssyncpd |"
	print "|---|---|---|---|"
	row("resync: backup kernel holds all entries", 8, 1000, "s")
	row("resync on the wire: first to last datagram with entries, retransmissions included", 18, 1, "ms")
	printf "| resync on the wire: datagrams | %d | %d | — |\n", med(19, "conntrackd"), med(19, "ssyncpd")
	row("live, unpaced: backup kernel holds all entries (from the injection start)", 2, 1000, "s")
	cpu("live, unpaced: CPU per entry, master", 4)
	cpu("live, unpaced: CPU per entry, backup", 5)
	printf "| live, paced at %d/s: lag of the backup kernel behind the last injected entry | %.1f ms | %.1f ms | — |\n", rate, med(15, "conntrackd"), med(15, "ssyncpd")
	cpu("live, paced: CPU per entry, master", 16)
	cpu("live, paced: CPU per entry, backup", 17)
	cpu("resync: CPU per entry, master", 9)
	cpu("resync: CPU per entry, backup", 10)
	k1 = "conntrackd"; k2 = "ssyncpd"
	printf "| wire bytes per entry (live) | %.1f B | %.1f B | %.2f |\n", med(6, k1) / n, med(6, k2) / n, med(6, k1) / med(6, k2)
	printf "| entries per datagram (live) | %.1f | %.1f | — |\n", n / med(7, k1), n / med(7, k2)
	printf "| peak RSS (VmHWM) after the resync (%d entries in the table), master / backup | %.1f / %.1f MiB | %.1f / %.1f MiB | — |\n", n, med(20, k1) / 1024, med(21, k1) / 1024, med(20, k2) / 1024, med(21, k2) / 1024
	printf "| peak RSS (VmHWM) at the end (%d entries in the table), master / backup | %.1f / %.1f MiB | %.1f / %.1f MiB | — |\n", 2 * n, med(13, k1) / 1024, med(14, k1) / 1024, med(13, k2) / 1024, med(14, k2) / 1024
	printf "| kernel floor: %d creates into the empty backup table (ctgen, no daemon) | %.2f s | | |\n", n, med(12, k2) / 1000
}
function row(label, col, div, unit,   a, b) {
	a = med(col, "conntrackd"); b = med(col, "ssyncpd")
	if (unit == "s") printf "| %s | %.2f s | %.2f s | %.1f× |\n", label, a / div, b / div, (b > 0 ? a / b : 0)
	else printf "| %s | %.1f ms | %.1f ms | %.1f× |\n", label, a, b, (b > 0 ? a / b : 0)
}
function cpu(label, col,   a, b) {
	a = med(col, "conntrackd"); b = med(col, "ssyncpd")
	printf "| %s | %.2f µs | %.2f µs | %.1f× |\n", label, a * 1000 / n, b * 1000 / n, (b > 0 ? a / b : 0)
}'
