#!/usr/bin/env bash
# Packages leg: builds each package with scripts/packages.sh into a scratch folder,
# installs it fresh as a newcomer would and pays against the sandbox with the installed copy:
#   python  a new venv, pip install the wheel, the binding's pytest suite on the installed
#           package (CLOUDPAY_TEST_INSTALLED=1: not the source folder, the wheel's library)
#   java    the jar's classes are Java 8 bytecode; a fresh javac/java with only the jar (and
#           Gson, which the typed layer needs) on the class path runs the demo (natives extracted
#           to an empty per-user cache) and the tests, raw and typed (cache reused), then the
#           demo from cloudpay.native.dir; the Windows natives:
#           export tables (the names javac -h declares), imports, and
#           packaging/java/jni_shim_check.c loading the shim and paying through it under wine
#   csharp  the package's file list (the Windows natives: the shipped DLLs, PE x86/x64), then
#           laid out as NuGet restores it, the cashier demo and the binding's tests (raw and typed) compiled
#           with mcs against its assembly and run with mono (library from runtimes/linux-x64)
# Reuses the shipped Linux library (scripts/build-shipped.sh) and the Windows DLLs the windows
# leg built (run it first, as test-all.sh does); a part whose toolchain is absent prints
# "SKIPPED [name]: reason". About a minute on 2 cores (the venv and pip fetching pytest and
# setuptools take half of it).
set -uo pipefail
source "$(dirname "$0")/../lib.sh"

require_sdk_lib
VERSION="$(sdk_version)"
failed=0
ran=0
fail() { echo "FAILED: $*"; failed=1; }
start_sandbox || exit 1
PKG="$LEG_TMP/dist"
WIN="${CLOUDPAY_WINDOWS_DIR:-$TARGET_DIR/windows}"
mkdir -p "$PKG"

python_part() {
    local PY="${PYTHON:-python3}" venv="$LEG_TMP/venv" wheel t=$SECONDS
    command -v "$PY" >/dev/null || { skip_part packages-python "python: no python3"; return; }
    "$PY" -c 'import venv, ensurepip' 2>/dev/null || { skip_part packages-python "python: no venv/ensurepip module"; return; }
    ran=1
    echo "-- python: build the wheel"
    bash "$ROOT/scripts/packages.sh" --out "$PKG" python || { fail "python wheel build"; return; }
    wheel="$(ls "$PKG"/cloudpay_sdk-"$VERSION"-py3-none-manylinux_*_x86_64.whl 2>/dev/null | head -n 1)"
    [[ -n "$wheel" ]] || { fail "no manylinux x86_64 wheel"; return; }
    # Listings are read whole before grep -q (a pipe into it would fail under pipefail).
    grep -qx 'cloudpay/libCloudPayAPI_SDK_CPP.so' <<<"$(unzip -Z1 "$wheel")" || fail "$(basename "$wheel") lacks the library"
    for w in "$PKG"/cloudpay_sdk-*-py3-none-win*.whl; do
        [[ -f "$w" ]] || continue
        grep -qx 'cloudpay/CloudPayAPI_SDK_CPP.dll' <<<"$(unzip -Z1 "$w")" && echo "   $(basename "$w"): DLL inside" ||
            fail "$(basename "$w") lacks the DLL"
    done
    echo "-- python: fresh venv, pip install $(basename "$wheel")"
    "$PY" -m venv "$venv" || { fail "python -m venv"; return; }
    "$venv/bin/python" -m pip install --quiet --no-index "$wheel" || { fail "pip install the wheel"; return; }
    "$venv/bin/python" -m pip install --quiet pytest || { skip_part packages-python "python tests: pytest not installable in the venv"; return; }
    echo "-- python: the binding's tests on the installed package"
    (cd "$LEG_TMP" && env -u CLOUDPAY_SDK_LIB CLOUDPAY_TEST_INSTALLED=1 \
        "$venv/bin/python" -m pytest -q -p no:cacheprovider "$ROOT/bindings/python/tests") || fail "pytest on the installed wheel"
    echo "   python part: $((SECONDS - t)) s"
}

# The jar's Windows natives without a Windows JRE: export tables and a mingw program under wine.
java_windows_natives() { # jar
    local jar="$1" x="$LEG_TMP/jar" jh natives platform arch pe src wine warch want got imports f
    jh="${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}"
    rm -rf "$x" && mkdir -p "$x/h" && unzip -q "$jar" -d "$x/jar"
    javac -h "$x/h" -d "$x/h" "$ROOT/bindings/java/src/cloudpay/CloudPayNative.java" "$ROOT/bindings/java/src/cloudpay/NativeLibraries.java" ||
        { fail "javac -h"; return; }
    want="$(grep -ohE 'Java_cloudpay_CloudPayNative_[A-Za-z0-9_]+' "$x"/h/*.h | sort -u)"
    for platform in windows-x86_64 windows-x86; do
        natives="$x/jar/cloudpay/native/$platform"
        case "$platform" in
            windows-x86_64) arch=x86_64-w64-mingw32; pe=pei-x86-64; warch=win64
                wine="$(command -v wine64 || echo /usr/lib/wine/wine64)"; src="$WIN/x86_64-win7-windows-gnu" ;;
            windows-x86) arch=i686-w64-mingw32; pe=pei-i386; warch=win32; wine=/usr/lib/wine/wine; src="$WIN/i686-win7-windows-gnu" ;;
        esac
        (cd "$natives" && sha256sum --quiet -c SHA256SUMS) || fail "$platform: SHA256SUMS does not match"
        cmp -s "$natives/CloudPayAPI_SDK_CPP.dll" "$src/CloudPayAPI_SDK_CPP.dll" || fail "$platform: not the shipped SDK DLL"
        for f in cloudpay_jni.dll CloudPayAPI_SDK_CPP.dll; do
            "$arch-objdump" -f "$natives/$f" | grep -q "$pe" || fail "$platform/$f is not $pe"
        done
        got="$("$arch-objdump" -p "$natives/cloudpay_jni.dll" | sed -n '/^\[Ordinal\/Name Pointer\] Table/,/^$/p' |
            sed -nE 's/^\s*\[ *[0-9]+\] (.*)$/\1/p' | sort)"
        if [[ "$got" == "$want" ]]; then
            echo "   $platform/cloudpay_jni.dll exports exactly the $(wc -l <<<"$want") natives javac -h declares"
        else
            fail "$platform/cloudpay_jni.dll exports differ from javac -h:"; diff <(echo "$want") <(echo "$got") | sed 's/^/    /'
        fi
        imports="$("$arch-objdump" -p "$natives/cloudpay_jni.dll" | awk '/DLL Name:/ {print tolower($3)}' | sort | tr '\n' ' ')"
        [[ "$imports" == "cloudpayapi_sdk_cpp.dll kernel32.dll msvcrt.dll " ]] &&
            echo "   $platform/cloudpay_jni.dll imports: $imports" || fail "$platform/cloudpay_jni.dll imports $imports"
        "$arch-gcc" -std=c99 -Wall -Wextra -pedantic -Werror -O1 -I"$ROOT/include" -I"$ROOT/examples-c" \
            -I"$ROOT/packaging/java/win32" -I"$jh/include" "$ROOT/packaging/java/jni_shim_check.c" "$ROOT/examples-c/demo_util.c" \
            -lws2_32 -o "$natives/jni_shim_check.exe" || { fail "$platform jni_shim_check.exe build"; continue; }
        if [[ ! -x "$wine" ]]; then
            skip_part "$([[ $warch == win32 ]] && echo wine32 || echo wine64)" "$platform shim load: no $warch wine"; continue
        fi
        echo "-- java: $platform shim loaded and paying under $warch wine (jni_shim_check.exe)"
        # shellcheck disable=SC2086
        (cd "$natives" && WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" WINEPREFIX="$TARGET_DIR/windows/wineprefix-$warch" \
            WINEARCH="$warch" timeout 120 "$wine" ./jni_shim_check.exe . $want) || fail "$platform shim under wine"
    done
}

java_part() {
    local t=$SECONDS jar listing cache="$LEG_TMP/cache" x="$LEG_TMP/java" cls stamp tool
    for tool in javac java jar "${CC:-cc}" x86_64-w64-mingw32-gcc i686-w64-mingw32-gcc x86_64-w64-mingw32-objdump; do
        command -v "$tool" >/dev/null || { skip_part packages-java "java: no $tool"; return; }
    done
    ensure_gson || { skip_part packages-java "java: no Gson at $GSON_JAR (apt-get install -y libgoogle-gson-java)"; return; }
    [[ -f "$WIN/x86_64-win7-windows-gnu/CloudPayAPI_SDK_CPP.dll" && -f "$WIN/i686-win7-windows-gnu/CloudPayAPI_SDK_CPP.dll" ]] ||
        { skip_part packages-java "java: no Windows DLLs in $WIN (the windows leg builds them)"; return; }
    ran=1
    echo "-- java: build the jar"
    bash "$ROOT/scripts/packages.sh" --out "$PKG" java || { fail "jar build"; return; }
    jar="$PKG/cloudpay-sdk-$VERSION.jar"
    listing="$(unzip -Z1 "$jar")"
    for f in cloudpay/CloudPay.class cloudpay/TypedCloudPay.class cloudpay/native/VERSION META-INF/LICENSE.txt \
        cloudpay/native/linux-x86_64/{libcloudpay_jni.so,libCloudPayAPI_SDK_CPP.so,SHA256SUMS} \
        cloudpay/native/windows-x86_64/{cloudpay_jni.dll,CloudPayAPI_SDK_CPP.dll,SHA256SUMS} \
        cloudpay/native/windows-x86/{cloudpay_jni.dll,CloudPayAPI_SDK_CPP.dll,SHA256SUMS}; do
        grep -qx "$f" <<<"$listing" || fail "the jar lacks $f"
    done
    for cls in $(grep '\.class$' <<<"$listing"); do
        [[ "$(unzip -p "$jar" "$cls" | head -c 8 | od -An -tx1 | tr -d ' \n')" == cafebabe00000034 ]] ||
            fail "$cls is not Java 8 bytecode (major 52)"
    done
    echo "   $(basename "$jar"): $(wc -l <<<"$listing") entries, $(stat -c %s "$jar") B, classes are Java 8 bytecode"
    java_windows_natives "$jar"

    echo "-- java: fresh javac/java, only the jar (and Gson, for the typed layer) on the class path"
    mkdir -p "$x/classes"
    javac -encoding UTF-8 -cp "$jar:$GSON_JAR" -d "$x/classes" $(find "$ROOT/bindings/java/demo" "$ROOT/bindings/java/tests" -name '*.java') ||
        { fail "javac against the jar"; return; }
    local JAVA=(env XDG_CACHE_HOME="$cache" java -Dfile.encoding=UTF-8 -cp "$jar:$GSON_JAR:$x/classes")
    "${JAVA[@]}" cloudpay.demo.CashierDemo >"$x/demo.out" 2>&1 || { cat "$x/demo.out"; fail "CashierDemo from the jar"; }
    tail -n 2 "$x/demo.out"
    local folder
    folder="$(ls -d "$cache"/cloudpay-sdk/"$VERSION"-*/linux-x86_64 2>/dev/null)"
    if [[ -f "$folder/libcloudpay_jni.so" && -f "$folder/libCloudPayAPI_SDK_CPP.so" ]]; then
        echo "   extracted to ${folder#"$cache"/} ($(stat -c %a "$(dirname "$folder")") folders)"
        stamp="$(stat -c '%i %Y' "$folder"/*)"
        "${JAVA[@]}" cloudpay.tests.CloudPayTest "$ROOT/include/cloud_pay.h" >"$x/tests.out" 2>&1 ||
            { cat "$x/tests.out"; fail "CloudPayTest from the jar"; }
        tail -n 1 "$x/tests.out"
        "${JAVA[@]}" cloudpay.tests.TypedCloudPayTest >"$x/typed.out" 2>&1 || { cat "$x/typed.out"; fail "TypedCloudPayTest from the jar"; }
        tail -n 1 "$x/typed.out"
        [[ "$(stat -c '%i %Y' "$folder"/*)" == "$stamp" ]] && echo "   later runs reused the cache" || fail "a later run extracted again"
    else
        fail "no natives in $cache/cloudpay-sdk/$VERSION-*/linux-x86_64"
    fi
    # cloudpay.native.dir: load from a folder, extract nothing.
    mkdir -p "$x/dir"
    cp "$folder"/lib*.so "$x/dir/"
    env XDG_CACHE_HOME="$x/cache2" java -Dcloudpay.native.dir="$x/dir" -cp "$jar:$x/classes" cloudpay.demo.CashierDemo >"$x/demo2.out" 2>&1 ||
        { cat "$x/demo2.out"; fail "CashierDemo with -Dcloudpay.native.dir"; }
    [[ ! -e "$x/cache2" ]] && echo "   -Dcloudpay.native.dir: paid, nothing extracted" || fail "cloudpay.native.dir still extracted"
    echo "   java part: $((SECONDS - t)) s"
}

csharp_part() {
    local t=$SECONDS nupkg listing f pkgdir app="$LEG_TMP/cs-app" tool
    for tool in mcs mono zip unzip; do
        command -v "$tool" >/dev/null || { skip_part packages-csharp "csharp: no $tool"; return; }
    done
    ensure_mono_serialization || { skip_part packages-csharp "csharp: no mono System.Runtime.Serialization"; return; }
    [[ -f "$WIN/x86_64-win7-windows-gnu/CloudPayAPI_SDK_CPP.dll" && -f "$WIN/i686-win7-windows-gnu/CloudPayAPI_SDK_CPP.dll" ]] ||
        { skip_part packages-csharp "csharp: no Windows DLLs in $WIN (the windows leg builds them)"; return; }
    ran=1
    echo "-- csharp: build the NuGet package"
    bash "$ROOT/scripts/packages.sh" --out "$PKG" csharp || { fail "nupkg build"; return; }
    nupkg="$PKG/CloudPay.Sdk.$VERSION.nupkg"
    listing="$(unzip -Z1 "$nupkg")"
    for f in '[Content_Types].xml' _rels/.rels CloudPay.Sdk.nuspec README.md LICENSE.txt \
        lib/netstandard2.0/CloudPay.Sdk.dll lib/netstandard2.0/CloudPay.Sdk.xml \
        runtimes/win-x86/native/CloudPayAPI_SDK_CPP.dll runtimes/win-x64/native/CloudPayAPI_SDK_CPP.dll \
        runtimes/linux-x64/native/libCloudPayAPI_SDK_CPP.so; do
        grep -qxF "$f" <<<"$listing" || fail "the package lacks $f"
    done
    unzip -p "$nupkg" CloudPay.Sdk.nuspec | grep -q "<id>CloudPay.Sdk</id>" || fail "nuspec id"
    unzip -p "$nupkg" CloudPay.Sdk.nuspec | grep -q "<version>$VERSION</version>" || fail "nuspec version is not $VERSION"
    echo "   $(basename "$nupkg"): $(wc -l <<<"$listing") entries, $(stat -c %s "$nupkg") B"

    # Restored as NuGet lays a package out: <packages>/<id lower case>/<version>/.
    pkgdir="$LEG_TMP/nuget-packages/cloudpay.sdk/$VERSION"
    mkdir -p "$pkgdir"
    unzip -q "$nupkg" -d "$pkgdir" && cp "$nupkg" "$pkgdir/cloudpay.sdk.$VERSION.nupkg"
    cmp -s "$pkgdir/runtimes/win-x64/native/CloudPayAPI_SDK_CPP.dll" "$WIN/x86_64-win7-windows-gnu/CloudPayAPI_SDK_CPP.dll" &&
        cmp -s "$pkgdir/runtimes/win-x86/native/CloudPayAPI_SDK_CPP.dll" "$WIN/i686-win7-windows-gnu/CloudPayAPI_SDK_CPP.dll" ||
        fail "runtimes/win-*/native/ do not hold the shipped Windows DLLs"
    if command -v x86_64-w64-mingw32-objdump >/dev/null; then
        x86_64-w64-mingw32-objdump -f "$pkgdir/runtimes/win-x64/native/CloudPayAPI_SDK_CPP.dll" | grep -q pei-x86-64 || fail "win-x64 DLL is not x64"
        x86_64-w64-mingw32-objdump -f "$pkgdir/runtimes/win-x86/native/CloudPayAPI_SDK_CPP.dll" | grep -q pei-i386 || fail "win-x86 DLL is not x86"
    fi
    echo "-- csharp: a fresh program compiled against the package, run with mono"
    # What a build does with a package reference: the lib/ assembly and, for the running
    # runtime identifier, runtimes/<rid>/native/ are copied beside the program.
    mkdir -p "$app"
    cp "$pkgdir/lib/netstandard2.0/CloudPay.Sdk.dll" "$pkgdir/runtimes/linux-x64/native/libCloudPayAPI_SDK_CPP.so" "$app/"
    mcs -nologo -warnaserror -langversion:7 -r:System.dll -r:"$pkgdir/lib/netstandard2.0/CloudPay.Sdk.dll" -out:"$app/CashierDemo.exe" \
        "$ROOT/examples-csharp/CashierDemo.cs" "$ROOT/examples-csharp/DemoSupport.cs" || { fail "mcs CashierDemo against the package"; return; }
    mcs -nologo -warnaserror -langversion:7 -r:System.dll -r:"$pkgdir/lib/netstandard2.0/CloudPay.Sdk.dll" -out:"$app/CloudPayTests.exe" \
        "$ROOT/bindings/csharp/tests/CloudPayTests.cs" "$ROOT/examples-csharp/DemoSupport.cs" || { fail "mcs CloudPayTests against the package"; return; }
    mcs -nologo -warnaserror -langversion:7 -r:System.dll -r:"$pkgdir/lib/netstandard2.0/CloudPay.Sdk.dll" -out:"$app/TypedTests.exe" \
        "$ROOT/bindings/csharp/tests/TypedTests.cs" "$ROOT/examples-csharp/DemoSupport.cs" || { fail "mcs TypedTests against the package"; return; }
    (cd "$LEG_TMP" && env -u LD_LIBRARY_PATH mono "$app/CashierDemo.exe" >"$app/demo.out" 2>&1) || { cat "$app/demo.out"; fail "CashierDemo from the package"; }
    tail -n 2 "$app/demo.out"
    (cd "$LEG_TMP" && env -u LD_LIBRARY_PATH mono "$app/CloudPayTests.exe" "$ROOT/include/cloud_pay.h" >"$app/tests.out" 2>&1) ||
        { cat "$app/tests.out"; fail "CloudPayTests from the package"; }
    tail -n 1 "$app/tests.out"
    (cd "$LEG_TMP" && env -u LD_LIBRARY_PATH mono "$app/TypedTests.exe" >"$app/typed.out" 2>&1) || { cat "$app/typed.out"; fail "TypedTests from the package"; }
    tail -n 1 "$app/typed.out"
    echo "   csharp part: $((SECONDS - t)) s"
}

python_part
java_part
csharp_part
[[ $ran == 1 ]] || skip "no package toolchain (python3, JDK + mingw, mono)"
exit $failed
