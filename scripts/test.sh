#!/usr/bin/env bash
# Runs every check and test of the workspace: formatting, lints, docs, unit, property,
# golden-vector, fuzz-corpus and network-namespace tests.
#
# As root it first installs the Debian packages the tests use (keepalived is the interop peer,
# tshark checks our frames) and runs the namespace tests for real. Not as root, namespace
# tests print why they skip (they fail instead when CI is set).
set -euo pipefail
cd "$(dirname -- "${BASH_SOURCE[0]}")/.."

DEBIAN_PACKAGES=(iproute2 iputils-ping nftables tcpdump tshark keepalived conntrack conntrackd frr python3 libcap2-bin bash)

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
	missing=()
	for p in "${DEBIAN_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	if [ "${#missing[@]}" -gt 0 ]; then
		echo "== installing Debian packages: ${missing[*]}"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
else
	echo "== not root: network-namespace tests will skip with a printed reason"
fi

command -v cargo >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs) first" >&2; exit 1; }

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (deny warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo doc (deny warnings)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet

echo "== cargo test"
cargo test --workspace --locked
