package dev.tributary.chaos;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * An append-only ledger file with group commit: lines are queued, one thread writes every queued
 * line with a single {@code write} and only then completes their stages.
 *
 * <p>A write goes straight to the file (no user-space buffer), so once a stage completed the line
 * is in the operating system's page cache and survives a SIGKILL of this process. A node
 * acknowledges an event to the runtime only after its line's stage completed, so an event the
 * runtime may commit is always in the ledger; a line still queued when the process is killed
 * belongs to an event that was never acknowledged, and is therefore delivered again by the next
 * owner. (A machine crash could lose the page cache too; the suite kills processes, not machines,
 * so it does not fsync.)
 */
final class LedgerWriter implements AutoCloseable {

  private record Pending(String line, CompletableFuture<Void> written) {}

  private static final Pending STOP = new Pending("", new CompletableFuture<>());

  private final BlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
  private final FileOutputStream out;
  private final Thread thread;

  LedgerWriter(Path file) {
    try {
      out = new FileOutputStream(file.toFile(), true);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open the ledger " + file, e);
    }
    thread = new Thread(this::run, "chaos-ledger-writer");
    thread.setDaemon(true);
    thread.start();
  }

  /** Queues one line (without its newline); the stage completes once it is in the file. */
  CompletableFuture<Void> append(String line) {
    Pending p = new Pending(line, new CompletableFuture<>());
    queue.add(p);
    return p.written();
  }

  private void run() {
    List<Pending> batch = new ArrayList<>();
    StringBuilder text = new StringBuilder();
    try {
      while (true) {
        batch.add(queue.take());
        queue.drainTo(batch);
        boolean stop = false;
        text.setLength(0);
        for (Pending p : batch) {
          if (p == STOP) {
            stop = true;
          } else {
            text.append(p.line()).append('\n');
          }
        }
        try {
          out.write(text.toString().getBytes(StandardCharsets.UTF_8));
          out.flush();
          for (Pending p : batch) {
            p.written().complete(null);
          }
        } catch (IOException e) {
          for (Pending p : batch) {
            p.written().completeExceptionally(e);
          }
        }
        batch.clear();
        if (stop) {
          return;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Writes what is queued, then closes the file. */
  @Override
  public void close() {
    queue.add(STOP);
    try {
      thread.join(10_000);
      out.close();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
