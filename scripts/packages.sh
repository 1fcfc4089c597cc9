#!/usr/bin/env bash
# Packages integrators install the way their language expects, into dist/ or --out DIR:
#   python  cloudpay_sdk-<version>-py3-none-<platform>.whl: the ctypes binding with the library
#           inside; manylinux (scripts/build-shipped.sh), win_amd64 and win32 (from the Windows leg)
#   java    cloudpay-sdk-<version>.jar: the binding's classes (Java 8 bytecode; the typed layer,
#           TypedCloudPay, needs Gson on the class path and is compiled against $GSON_JAR) and, under
#           cloudpay/native/{linux-x86_64,windows-x86_64,windows-x86}/, the JNI shim and the SDK
#           library with their SHA256SUMS (extracted at first load, see NativeLibraries.java)
#   csharp  CloudPay.Sdk.<version>.nupkg: bindings/csharp/CloudPay.cs and CloudPayTyped.cs as CloudPay.Sdk.dll in
#           lib/netstandard2.0/ (mcs -target:library, mono's 4.x profile, only the API
#           netstandard2.0 has), the library under runtimes/{win-x86,win-x64,linux-x64}/native/,
#           README.md and LICENSE.txt
# Usage: bash scripts/packages.sh [--out DIR] [python|java|csharp]...   (default: all)
# Inputs: the shipped Linux library of scripts/build-shipped.sh, and the shipped Windows
# 7 DLLs (and .dll.a) that scripts/legs/windows.sh leaves in target/windows/<target>/
# (CLOUDPAY_WINDOWS_DIR points elsewhere; CLOUDPAY_WIN_X64_DIR / CLOUDPAY_WIN_X86_DIR name the
# two folders). Without them the Python wheels are Linux-only; the jar and the NuGet package
# need them (one artifact for every platform).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

OUT="$ROOT/dist"
KINDS=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --out) OUT="$2"; shift 2 ;;
        python|java|csharp) KINDS+=("$1"); shift ;;
        *) echo "usage: $0 [--out DIR] [python|java|csharp]..." >&2; exit 2 ;;
    esac
done
[[ ${#KINDS[@]} -gt 0 ]] || KINDS=(python java csharp)
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
VERSION="$(sdk_version)"
WORK="$TARGET_DIR/packages"
WIN="${CLOUDPAY_WINDOWS_DIR:-$TARGET_DIR/windows}"
LINUX_LIB="$(sdk_lib_dir)/libCloudPayAPI_SDK_CPP.so"
WIN_X64="${CLOUDPAY_WIN_X64_DIR:-$WIN/x86_64-win7-windows-gnu}/CloudPayAPI_SDK_CPP.dll"
WIN_X86="${CLOUDPAY_WIN_X86_DIR:-$WIN/i686-win7-windows-gnu}/CloudPayAPI_SDK_CPP.dll"
require_sdk_lib

# One wheel per library: the code is the same, the tag follows the library (packaging/python/setup.py).
python_wheels() {
    local lib stage
    rm -f "$OUT"/cloudpay_sdk-*.whl
    for lib in "$LINUX_LIB" "$WIN_X64" "$WIN_X86"; do
        [[ -f "$lib" ]] || { echo "no $lib: no wheel for it" >&2; continue; }
        stage="$WORK/python/$(basename "$(dirname "$lib")")"
        rm -rf "$stage"
        mkdir -p "$stage/cloudpay"
        cp packaging/python/pyproject.toml packaging/python/setup.py packaging/LICENSE.txt bindings/python/README.md "$stage/"
        cp bindings/python/cloudpay.py "$stage/cloudpay/__init__.py"
        cp bindings/python/cloudpay_typed.py "$stage/"
        cp "$lib" "$stage/cloudpay/"
        echo "$VERSION" >"$stage/VERSION"
        # Build isolation: pip fetches the backend (setuptools) the way any PEP 517 frontend does.
        python3 -m pip wheel --quiet --no-deps --wheel-dir "$OUT" "$stage"
    done
    ls "$OUT"/cloudpay_sdk-"$VERSION"-py3-none-*.whl
}

require_windows_dlls() {
    local f
    for f in "$WIN_X64" "$WIN_X86" "$(dirname "$WIN_X64")/libCloudPayAPI_SDK_CPP.dll.a" "$(dirname "$WIN_X86")/libCloudPayAPI_SDK_CPP.dll.a"; do
        [[ -f "$f" ]] || { echo "missing $f: run bash scripts/test-all.sh windows first" >&2; return 1; }
    done
}

java_jar() {
    require_windows_dlls || return 1
    local jh w="$WORK/java" have=() f arch cc dir
    jh="${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}"
    while read -r f; do have+=("-DCLOUDPAY_HAVE_$f"); done < <(header_exports)
    rm -rf "$w"
    mkdir -p "$w/classes/cloudpay/native" "$w/classes/META-INF"
    ensure_gson || { echo "no Gson at $GSON_JAR (apt-get install -y libgoogle-gson-java)" >&2; return 1; }
    javac --release 8 -Werror -Xlint:all -encoding UTF-8 -cp "$GSON_JAR" -d "$w/classes" $(find bindings/java/src -name '*.java')
    echo "$VERSION" >"$w/classes/cloudpay/native/VERSION"
    cp packaging/LICENSE.txt "$w/classes/META-INF/"
    local flags=(-std=c99 -Wall -Wextra -pedantic -Werror -O2 -shared "${have[@]}" -I"$ROOT/include")
    dir="$w/classes/cloudpay/native/linux-x86_64"
    mkdir -p "$dir"
    # $ORIGIN: the shim finds the SDK library beside it, wherever the cache folder is.
    "${CC:-cc}" "${flags[@]}" -fPIC -I"$jh/include" -I"$jh/include/linux" bindings/java/native/cloudpay_jni.c         -L"$(sdk_lib_dir)" -lCloudPayAPI_SDK_CPP -Wl,-rpath,'$ORIGIN' -s -o "$dir/libcloudpay_jni.so"
    cp "$LINUX_LIB" "$dir/"
    for arch in "windows-x86_64 x86_64-w64-mingw32 $WIN_X64" "windows-x86 i686-w64-mingw32 $WIN_X86"; do
        set -- $arch
        dir="$w/classes/cloudpay/native/$1"
        mkdir -p "$dir"
        # packaging/java/win32/jni_md.h stands in for the Windows JDK's; --kill-at exports the
        # x86 __stdcall natives undecorated; -static-libgcc: no libgcc DLL to ship.
        "$2-gcc" "${flags[@]}" -static-libgcc -I"$ROOT/packaging/java/win32" -I"$jh/include" bindings/java/native/cloudpay_jni.c             -L"$(dirname "$3")" -lCloudPayAPI_SDK_CPP -Wl,--kill-at -s -o "$dir/cloudpay_jni.dll"
        cp "$3" "$dir/"
    done
    for dir in "$w"/classes/cloudpay/native/*/; do
        (cd "$dir" && sha256sum -- * >"$w/SHA256SUMS" && mv "$w/SHA256SUMS" SHA256SUMS)
    done
    printf 'Implementation-Title: Cloud Pay SDK\nImplementation-Version: %s\nAutomatic-Module-Name: cloudpay\n' "$VERSION" >"$w/manifest.txt"
    rm -f "$OUT/cloudpay-sdk-$VERSION.jar"
    jar --create --file "$OUT/cloudpay-sdk-$VERSION.jar" --manifest "$w/manifest.txt" -C "$w/classes" .
    ls "$OUT/cloudpay-sdk-$VERSION.jar"
}

csharp_nupkg() {
    require_windows_dlls || return 1
    local w="$WORK/nuget" p="$WORK/nuget/pkg" rid
    rm -rf "$w"
    mkdir -p "$p/lib/netstandard2.0" "$p/_rels"
    cat >"$w/AssemblyInfo.cs" <<CS
using System.Reflection;
[assembly: AssemblyTitle("Cloud Pay SDK")]
[assembly: AssemblyProduct("Cloud Pay SDK")]
[assembly: AssemblyVersion("$VERSION.0")]
[assembly: AssemblyFileVersion("$VERSION.0")]
[assembly: AssemblyInformationalVersion("$VERSION")]
CS
    # CS1591: undocumented public members only lack IntelliSense text, they are not errors.
    ensure_mono_serialization || { echo "no mono System.Runtime.Serialization (apt-get install -y libmono-system-runtime-serialization4.0-cil)" >&2; return 1; }
    mcs -nologo -warnaserror -nowarn:1591 -langversion:7 -optimize+ -target:library -r:System.dll -r:System.Runtime.Serialization.dll \
        -doc:"$p/lib/netstandard2.0/CloudPay.Sdk.xml" -out:"$p/lib/netstandard2.0/CloudPay.Sdk.dll" \
        bindings/csharp/CloudPay.cs bindings/csharp/CloudPayTyped.cs "$w/AssemblyInfo.cs"
    for rid in "win-x86 $WIN_X86" "win-x64 $WIN_X64" "linux-x64 $LINUX_LIB"; do
        set -- $rid
        mkdir -p "$p/runtimes/$1/native"
        cp "$2" "$p/runtimes/$1/native/"
    done
    cp bindings/csharp/README.md packaging/LICENSE.txt "$p/"
    sed "s/@VERSION@/$VERSION/" packaging/nuget/CloudPay.Sdk.nuspec >"$p/CloudPay.Sdk.nuspec"
    # The Open Packaging Conventions parts every .nupkg carries (what nuget pack writes).
    cat >"$p/[Content_Types].xml" <<'XML'
<?xml version="1.0" encoding="utf-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml" /><Default Extension="nuspec" ContentType="application/octet" /><Default Extension="dll" ContentType="application/octet" /><Default Extension="so" ContentType="application/octet" /><Default Extension="xml" ContentType="application/octet" /><Default Extension="md" ContentType="application/octet" /><Default Extension="txt" ContentType="application/octet" /></Types>
XML
    cat >"$p/_rels/.rels" <<'XML'
<?xml version="1.0" encoding="utf-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Type="http://schemas.microsoft.com/packaging/2010/07/manifest" Target="/CloudPay.Sdk.nuspec" Id="R0" /></Relationships>
XML
    rm -f "$OUT/CloudPay.Sdk.$VERSION.nupkg"
    (cd "$p" && zip -qrXD "$OUT/CloudPay.Sdk.$VERSION.nupkg" '[Content_Types].xml' _rels CloudPay.Sdk.nuspec README.md LICENSE.txt lib runtimes)
    ls "$OUT/CloudPay.Sdk.$VERSION.nupkg"
}

for kind in "${KINDS[@]}"; do
    case "$kind" in
        python) python_wheels ;;
        java) java_jar ;;
        csharp) csharp_nupkg ;;
    esac
done
