#!/usr/bin/env bash
# Java leg: builds the JNI shim (gcc) and the Java classes (javac), then runs the demo and the
# tests with -Xcheck:jni against the release library and the sandbox; PanicCheck against the
# --features testing library (a panic in an export is Code.INTERNAL through JNI).
set -uo pipefail
source "$(dirname "$0")/../lib.sh"

command -v javac >/dev/null || skip "no JDK (javac)"
command -v java >/dev/null || skip "no java"
CC="${CC:-cc}"
command -v "$CC" >/dev/null || skip "no C compiler for the JNI shim"
ensure_gson || skip "no Gson for the typed layer at $GSON_JAR (apt-get install -y libgoogle-gson-java, or set CLOUDPAY_GSON_JAR)"
require_sdk_lib
JAVA_HOME="${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}"
[[ -f "$JAVA_HOME/include/jni.h" ]] || skip "no jni.h under $JAVA_HOME"
LIB="$(sdk_lib_dir)"
OUT="$TARGET_DIR/java"
J="$ROOT/bindings/java"
rm -rf "$OUT/classes"
mkdir -p "$OUT/classes"

HAVE=()
while read -r f; do HAVE+=("-DCLOUDPAY_HAVE_$f"); done < <(header_exports)
"$CC" -std=c99 -Wall -Wextra -pedantic -Werror -O2 -shared -fPIC "${HAVE[@]}" \
    -I"$JAVA_HOME/include" -I"$JAVA_HOME/include/linux" -I"$ROOT/include" \
    "$J/native/cloudpay_jni.c" -L"$LIB" -lCloudPayAPI_SDK_CPP -Wl,-rpath,"$LIB" -o "$OUT/libcloudpay_jni.so" || exit 1
# --release 8: the jar's classes are Java 8 bytecode (scripts/packages.sh); the tests and the demo
# use newer APIs and are built apart, against those classes.
javac --release 8 -Werror -Xlint:all -encoding UTF-8 -cp "$GSON_JAR" -d "$OUT/classes" $(find "$J/src" -name '*.java') || exit 1
javac -Werror -Xlint:all -encoding UTF-8 -cp "$OUT/classes:$GSON_JAR" -d "$OUT/classes" $(find "$J/demo" "$J/tests" -name '*.java') || exit 1

# The panic check's native, linked against the --features testing library.
require_testing_lib
TLIB="$(testing_lib_dir)"
"$CC" -std=c99 -Wall -Wextra -pedantic -Werror -O2 -shared -fPIC \
    -I"$JAVA_HOME/include" -I"$JAVA_HOME/include/linux" -I"$ROOT/include" \
    "$J/tests/native/panic_jni.c" -L"$TLIB" -lCloudPayAPI_SDK_CPP -Wl,-rpath,"$TLIB" -o "$OUT/libcloudpay_panic_jni.so" || exit 1

start_sandbox || exit 1
JAVA=(java -ea -Xcheck:jni -Dfile.encoding=UTF-8 -Djava.library.path="$OUT" -cp "$OUT/classes:$GSON_JAR")
failed=0
echo "-- cloudpay.demo.CashierDemo"
"${JAVA[@]}" cloudpay.demo.CashierDemo || failed=1
echo "-- cloudpay.tests.CloudPayTest"
"${JAVA[@]}" cloudpay.tests.CloudPayTest "$ROOT/include/cloud_pay.h" || failed=1
echo "-- cloudpay.tests.TypedCloudPayTest"
"${JAVA[@]}" cloudpay.tests.TypedCloudPayTest || failed=1
echo "-- cloudpay.tests.PanicCheck (library built with --features testing)"
"${JAVA[@]}" -Dcloudpay.panic.jni="$OUT/libcloudpay_panic_jni.so" cloudpay.tests.PanicCheck || failed=1
exit $failed
