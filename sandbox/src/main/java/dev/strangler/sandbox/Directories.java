package dev.strangler.sandbox;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Temporary directories of the sandbox, the demo and the tests. */
public final class Directories {

    private static final Logger LOG = LoggerFactory.getLogger(Directories.class);

    private Directories() {
    }

    /** Deletes a directory and everything in it; best effort, a failure is logged. */
    public static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            LOG.warn("could not delete {}: {}", dir, e.toString());
        }
    }

    /** Something done under a lock on a file, so that processes sharing a cache (parallel test JVMs) take turns. */
    public interface Locked<T> {
        T run() throws IOException;
    }

    /** Runs {@code action} holding an exclusive lock on {@code lockFile} (created if needed), across processes. */
    public static <T> T withFileLock(Path lockFile, Locked<T> action) throws IOException {
        Files.createDirectories(lockFile.getParent());
        try (java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(lockFile,
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
             java.nio.channels.FileLock ignored = channel.lock()) {
            return action.run();
        }
    }
}
