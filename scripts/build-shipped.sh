#!/usr/bin/env bash
# Builds the shipped Linux library as the packages carry it: the pinned nightly, std from source,
# no panic locations (scripts/lib.sh, shipped_rustc; docs/architecture.md, "The shipped library").
#   bash scripts/build-shipped.sh    # -> target/shipped/<host>/release/libCloudPayAPI_SDK_CPP.so
# `cargo build --release -p cloud-pay-capi` builds the same code with the stable toolchain and
# std as rustup ships it: about 0.4 MB larger, fine for development.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT" || exit 1

[[ -n "$HOST_TARGET" ]] || { echo "build-shipped: rustc -vV names no host target" >&2; exit 1; }
problem="$(shipped_toolchain_problem)"
[[ -z "$problem" ]] || { echo "build-shipped: $problem" >&2; exit 1; }
shipped_rustc "$HOST_TARGET" "$TARGET_DIR/shipped" --release || exit 1
lib="$(sdk_lib_dir)/libCloudPayAPI_SDK_CPP.so"
echo "build-shipped: $lib ($(stat -c %s "$lib") B, $NIGHTLY)"
