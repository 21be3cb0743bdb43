package dev.tributary.pekko;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * Continuations on the stages Pekko's Java API returns for an ask, without a thread per call.
 *
 * <p>Those stages are Scala's {@code FutureConverters} futures, which turn every non-async
 * continuation ({@code thenApply}, {@code whenComplete}, ...) into its async twin on the default
 * executor, the common pool, so that callbacks never run on the thread that completes the ask. On a
 * machine with 2 cores or fewer the common pool's parallelism is 1, and then the JDK runs each such
 * task on a new thread: one thread per event. Here a continuation is attached with an explicit
 * executor that runs it on the completing thread (Pekko's parasitic execution context, i.e. the
 * thread of the actor that replied), and callers get a plain {@link CompletableFuture}.
 */
final class Replies {
  /** Runs a task on the calling thread. */
  static final Executor DIRECT = Runnable::run;

  private Replies() {}

  /** Calls {@code action} on the thread that completes {@code reply}. */
  static <R> void whenComplete(
      CompletionStage<R> reply, BiConsumer<? super R, ? super Throwable> action) {
    reply.whenCompleteAsync(action, DIRECT);
  }

  /**
   * A plain future completed, on the thread that completes {@code reply}, with {@code fn} of its
   * value, or with its failure (unwrapped from a {@link CompletionException}).
   */
  static <R, U> CompletableFuture<U> map(CompletionStage<R> reply, Function<R, U> fn) {
    CompletableFuture<U> out = new CompletableFuture<>();
    whenComplete(
        reply,
        (value, failure) -> {
          if (failure != null) {
            out.completeExceptionally(unwrap(failure));
            return;
          }
          try {
            out.complete(fn.apply(value));
          } catch (RuntimeException e) {
            out.completeExceptionally(unwrap(e));
          }
        });
    return out;
  }

  static Throwable unwrap(Throwable failure) {
    return failure instanceof CompletionException && failure.getCause() != null
        ? failure.getCause()
        : failure;
  }
}
