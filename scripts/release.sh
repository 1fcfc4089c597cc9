#!/usr/bin/env bash
# Windows release bundle, as integrators receive the vendor SDK:
#   dist/CloudPaySDK-<version>-windows.zip
#     INTEGRATION.md, include/cloud_pay.h,
#     x86/ and x64/: CloudPayAPI_SDK_CPP.dll, .lib (MSVC), .dll.a (mingw), .def, unstripped/ copy
#     examples/c, examples/csharp, bindings/{csharp,java,python}
# and, beside it, the packages of scripts/packages.sh (Python wheels, the Java jar, the NuGet
# package; --bundle-only leaves them out, as the windows leg does when it checks the bundle).
# Packs what the Windows leg built (bash scripts/test-all.sh windows). Authenticode signing is
# the shop's step: with CLOUDPAY_SIGN_CERT and CLOUDPAY_SIGN_KEY (PEM files) set, both DLLs are
# signed with osslsigncode before packing (CLOUDPAY_SIGN_PASS for an encrypted key).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
bundle_only=0
[[ "${1:-}" == --bundle-only ]] && bundle_only=1

version="$(cargo metadata --no-deps --format-version 1 |
    python3 -c 'import json,sys; print([p["version"] for p in json.load(sys.stdin)["packages"] if p["name"]=="cloud-pay-sdk"][0])')"
name="CloudPaySDK-$version-windows"
stage="$ROOT/dist/$name"
rm -rf "$stage" "$ROOT/dist/$name.zip"
mkdir -p "$stage/include" "$stage/examples/c" "$stage/examples/csharp" "$stage/bindings"

for pair in "x86 i686-win7-windows-gnu" "x64 x86_64-win7-windows-gnu"; do
    set -- $pair
    src="$TARGET_DIR/windows/$2"
    for f in CloudPayAPI_SDK_CPP.dll CloudPayAPI_SDK_CPP.lib libCloudPayAPI_SDK_CPP.dll.a unstripped/CloudPayAPI_SDK_CPP.dll; do
        [[ -f "$src/$f" ]] || { echo "missing $src/$f: run bash scripts/test-all.sh windows first" >&2; exit 1; }
    done
    mkdir -p "$stage/$1/unstripped"
    cp "$src/CloudPayAPI_SDK_CPP.dll" "$src/CloudPayAPI_SDK_CPP.lib" "$src/libCloudPayAPI_SDK_CPP.dll.a" "$stage/$1/"
    cp "$src/unstripped/CloudPayAPI_SDK_CPP.dll" "$stage/$1/unstripped/"
    cp "$src"/CloudPayAPI_SDK_CPP*.def "$stage/$1/CloudPayAPI_SDK_CPP.def"
    if [[ -n "${CLOUDPAY_SIGN_CERT:-}" ]]; then
        osslsigncode sign -certs "$CLOUDPAY_SIGN_CERT" -key "$CLOUDPAY_SIGN_KEY" ${CLOUDPAY_SIGN_PASS:+-pass "$CLOUDPAY_SIGN_PASS"} \
            -n "Cloud Pay SDK" -h sha256 -in "$stage/$1/CloudPayAPI_SDK_CPP.dll" -out "$stage/$1/signed.dll"
        mv "$stage/$1/signed.dll" "$stage/$1/CloudPayAPI_SDK_CPP.dll"
    fi
done
cp include/cloud_pay.h "$stage/include/"
cp windows/INTEGRATION.md "$stage/"
cp examples-c/*.c examples-c/*.h examples-c/README.md "$stage/examples/c/"
cp examples-csharp/*.cs "$stage/examples/csharp/"
for b in csharp java python; do
    # Sources and READMEs only: no build outputs or caches.
    (cd bindings && find "$b" -type f ! -path '*/__pycache__/*' ! -path '*/target/*' ! -name '*.class' ! -name '*.so' \
        -exec install -D -m 644 {} "$stage/bindings/{}" \;)
done
(cd "$ROOT/dist" && rm -f "$name.zip" && zip -qr "$name.zip" "$name")
# The packages take the DLLs as the bundle has them (signed when a certificate was given).
[[ $bundle_only == 1 ]] || CLOUDPAY_WIN_X64_DIR="$stage/x64" CLOUDPAY_WIN_X86_DIR="$stage/x86" bash scripts/packages.sh --out "$ROOT/dist" >&2
echo "$ROOT/dist/$name.zip"
