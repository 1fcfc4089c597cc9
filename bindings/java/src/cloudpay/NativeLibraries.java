package cloudpay;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Loads the SDK library and the JNI shim, first match wins:
 * <ol>
 * <li>system property {@code cloudpay.jni}: the shim's path (the SDK library must be on the
 *     loader's path or already loaded);</li>
 * <li>system property {@code cloudpay.native.dir}: a folder holding the SDK library and the
 *     shim (e.g. where a shop installs them; nothing is extracted);</li>
 * <li>the natives packed in the jar for this platform ({@code cloudpay/native/<platform>/},
 *     listed with their SHA-256 in {@code SHA256SUMS}), extracted once into a per-user cache
 *     folder {@code cloudpay-sdk/<version>-<digest>/<platform>/} (%LOCALAPPDATA% on Windows,
 *     $XDG_CACHE_HOME or ~/.cache elsewhere) and checked against their SHA-256 at every load;</li>
 * <li>{@code System.loadLibrary("cloudpay_jni")} (java.library.path).</li>
 * </ol>
 * The SDK library is loaded before the shim, so the shim's import of it is satisfied on
 * Windows (already loaded) as on Linux (the shim's $ORIGIN run path).
 */
final class NativeLibraries {
    private NativeLibraries() {}

    private static final String RESOURCES = "/cloudpay/native/";

    static void load() {
        String shim = System.getProperty("cloudpay.jni");
        if (shim != null) {
            System.load(shim);
            return;
        }
        boolean windows = System.getProperty("os.name", "").startsWith("Windows");
        String sdkName = windows ? "CloudPayAPI_SDK_CPP.dll" : System.mapLibraryName("CloudPayAPI_SDK_CPP");
        String shimName = windows ? "cloudpay_jni.dll" : System.mapLibraryName("cloudpay_jni");
        String dir = System.getProperty("cloudpay.native.dir");
        if (dir != null) {
            System.load(new File(dir, sdkName).getAbsolutePath());
            System.load(new File(dir, shimName).getAbsolutePath());
            return;
        }
        String platform = platform(windows);
        byte[] sums = platform == null ? null : resource(RESOURCES + platform + "/SHA256SUMS");
        if (sums == null) {
            System.loadLibrary("cloudpay_jni");
            return;
        }
        Path folder;
        try {
            folder = extract(platform, sums);
        } catch (IOException e) {
            UnsatisfiedLinkError err = new UnsatisfiedLinkError("cannot extract the Cloud Pay natives for " + platform + ": " + e);
            err.initCause(e);
            throw err;
        }
        System.load(folder.resolve(sdkName).toString());
        System.load(folder.resolve(shimName).toString());
    }

    /** linux-x86_64, windows-x86_64, windows-x86; null for a platform the jar has no natives for. */
    static String platform(boolean windows) {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String a = arch.equals("amd64") || arch.equals("x86_64") ? "x86_64"
            : arch.matches("x86|i[3-6]86") ? "x86" : null;
        if (a == null) return null;
        if (windows) return "windows-" + a;
        if (os.startsWith("linux")) return "linux-" + a;
        return null;
    }

    private static Path extract(String platform, byte[] sums) throws IOException {
        String version = new String(orEmpty(resource(RESOURCES + "VERSION")), StandardCharsets.UTF_8).trim();
        Path folder = cacheRoot().resolve("cloudpay-sdk").resolve(version + "-" + hex(sha256(sums)).substring(0, 16)).resolve(platform);
        createPrivateDirectories(folder);
        for (String line : new String(sums, StandardCharsets.UTF_8).split("\n")) {
            line = line.trim();
            if (line.isEmpty()) continue;
            String[] parts = line.split("\\s+\\*?", 2);   // "<sha256>  <file>", as sha256sum writes
            String want = parts[0], name = parts[1];
            Path file = folder.resolve(name);
            if (Files.isRegularFile(file) && want.equals(hex(sha256(Files.readAllBytes(file))))) continue;
            // Another JVM may extract the same file at the same time: write a temporary copy,
            // check it, then move it into place in one step.
            Path tmp = Files.createTempFile(folder, name, ".tmp");
            try {
                try (InputStream in = NativeLibraries.class.getResourceAsStream(RESOURCES + platform + "/" + name);
                     OutputStream out = Files.newOutputStream(tmp)) {
                    if (in == null) throw new IOException("the jar lacks " + platform + "/" + name);
                    copy(in, out);
                }
                if (!want.equals(hex(sha256(Files.readAllBytes(tmp)))))
                    throw new IOException(platform + "/" + name + " in the jar does not match its SHA-256");
                try {
                    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
            if (!want.equals(hex(sha256(Files.readAllBytes(file)))))
                throw new IOException(file + " does not match its SHA-256 after extraction");
        }
        return folder;
    }

    private static Path cacheRoot() {
        List<String> candidates = new ArrayList<>();
        candidates.add(System.getenv("LOCALAPPDATA"));   // Windows
        candidates.add(System.getenv("XDG_CACHE_HOME"));
        String home = System.getProperty("user.home");
        if (home != null) candidates.add(new File(home, ".cache").getPath());
        for (String c : candidates) {
            if (c == null || c.isEmpty()) continue;
            Path p = Paths.get(c);
            if (Files.isDirectory(p) ? Files.isWritable(p) : p.getParent() != null && Files.isWritable(p.getParent())) return p;
        }
        return Paths.get(System.getProperty("java.io.tmpdir"), "cloudpay-sdk-" + System.getProperty("user.name", "user"));
    }

    /** Owner-only folders where POSIX permissions exist: other users must not swap the libraries. */
    private static void createPrivateDirectories(Path folder) throws IOException {
        if (Files.isDirectory(folder)) return;
        Path parent = folder.getParent();
        if (parent != null) createPrivateDirectories(parent);
        try {
            if (folder.getFileSystem().supportedFileAttributeViews().contains("posix"))
                Files.createDirectory(folder, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            else
                Files.createDirectory(folder);
        } catch (FileAlreadyExistsException e) {
            // created by another JVM meanwhile
        }
    }

    private static byte[] resource(String name) {
        try (InputStream in = NativeLibraries.class.getResourceAsStream(name)) {
            if (in == null) return null;
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            copy(in, out);
            return out.toByteArray();
        } catch (IOException e) {
            return null;
        }
    }

    private static byte[] orEmpty(byte[] b) { return b == null ? new byte[0] : b; }

    private static void copy(InputStream in, OutputStream out) throws IOException {
        byte[] buf = new byte[65536];
        for (int n; (n = in.read(buf)) > 0; ) out.write(buf, 0, n);
    }

    private static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);   // every Java platform has SHA-256
        }
    }

    private static String hex(byte[] b) {
        StringBuilder s = new StringBuilder(b.length * 2);
        for (byte x : b) s.append(String.format("%02x", x & 0xff));
        return s.toString();
    }
}
