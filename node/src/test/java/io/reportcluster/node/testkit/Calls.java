package io.reportcluster.node.testkit;

import io.reportcluster.node.llm.provider.LlmAnswer;
import io.reportcluster.node.llm.provider.LlmCall;
import io.reportcluster.node.llm.provider.LlmCallException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

/** Building blocks for test providers: calls that wait for a gate, calls that are watched. */
public final class Calls {
  private Calls() {}

  /**
   * A call that starts only once {@code gate} completes. Cancelled before that, it never starts;
   * cancelled after, it cancels the call it started.
   */
  public static LlmCall after(CompletionStage<?> gate, Supplier<LlmCall> start) {
    CompletableFuture<LlmAnswer> answer = new CompletableFuture<>();
    AtomicReference<LlmCall> started = new AtomicReference<>();
    AtomicBoolean cancelled = new AtomicBoolean();
    gate.whenComplete(
        (v, failure) -> {
          if (cancelled.get()) return;
          if (failure != null) {
            answer.completeExceptionally(failure);
            return;
          }
          LlmCall call = start.get();
          started.set(call);
          if (cancelled.get()) {
            call.cancel();
            return;
          }
          call.result()
              .whenComplete(
                  (result, f) -> {
                    if (f != null) answer.completeExceptionally(f);
                    else answer.complete(result);
                  });
        });
    return new LlmCall() {
      @Override
      public CompletionStage<String> answer() {
        return answer.thenApply(LlmAnswer::text);
      }

      @Override
      public CompletionStage<LlmAnswer> result() {
        return answer;
      }

      @Override
      public CompletionStage<Void> cancel() {
        cancelled.set(true);
        answer.completeExceptionally(
            new LlmCallException(LlmCallException.Kind.CANCELLED, "cancelled"));
        LlmCall call = started.get();
        return call == null ? CompletableFuture.completedFuture(null) : call.cancel();
      }
    };
  }

  /** The same call, with {@code onEnd} told how it ended (answer, failure or cancellation). */
  public static LlmCall watched(LlmCall call, BiConsumer<String, Throwable> onEnd) {
    CompletionStage<LlmAnswer> result =
        call.result().whenComplete((a, f) -> onEnd.accept(a == null ? null : a.text(), f));
    return new LlmCall() {
      @Override
      public CompletionStage<String> answer() {
        return result.thenApply(LlmAnswer::text);
      }

      @Override
      public CompletionStage<LlmAnswer> result() {
        return result;
      }

      @Override
      public CompletionStage<Void> cancel() {
        return call.cancel();
      }
    };
  }
}
