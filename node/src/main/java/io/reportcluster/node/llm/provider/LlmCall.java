package io.reportcluster.node.llm.provider;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * One call in progress at a provider. The caller that started it either gets its answer or cancels
 * it; a cancelled call must stop working (and, with a paid provider, stop billing), and the caller
 * counts it in flight until {@link #cancel()} says it has stopped, so a retry never runs beside the
 * call it replaces.
 */
public interface LlmCall {

  /** The answer's text; completes exceptionally with an {@link LlmCallException} on failure. */
  CompletionStage<String> answer();

  /**
   * The whole answer: text, model, tokens and why it stopped. Providers that know more than the
   * text override it; by default the answer is its text alone.
   */
  default CompletionStage<LlmAnswer> result() {
    return answer().thenApply(LlmAnswer::ofText);
  }

  /**
   * Stops the call (idempotent). The stage completes once the provider no longer works on it: its
   * connection closed, its timer removed. The answer then never completes successfully.
   */
  CompletionStage<Void> cancel();

  /**
   * Once answered: how long the provider said its budget for us is used up (from its rate-limit
   * headers), empty when it said nothing of the kind.
   */
  default java.util.Optional<java.time.Duration> providerPause() {
    return java.util.Optional.empty();
  }

  /**
   * A call whose work is {@code answer} and whose stop is {@code stop} (run once, on the caller's
   * thread; it must not block). Cancelling fails the answer, so nobody waits for it.
   */
  static LlmCall of(CompletableFuture<String> answer, Runnable stop) {
    return new LlmCall() {
      private final CompletableFuture<Void> stopped = new CompletableFuture<>();

      @Override
      public CompletionStage<String> answer() {
        return answer;
      }

      @Override
      public synchronized CompletionStage<Void> cancel() {
        if (!stopped.isDone()) {
          try {
            stop.run();
            answer.completeExceptionally(
                new LlmCallException(LlmCallException.Kind.CANCELLED, "the call was cancelled"));
            stopped.complete(null);
          } catch (RuntimeException e) {
            stopped.completeExceptionally(e);
          }
        }
        return stopped;
      }
    };
  }

  /**
   * Like {@link #of}, for a provider that knows the whole answer (model, tokens, finish reason).
   */
  static LlmCall ofAnswer(CompletableFuture<LlmAnswer> result, Runnable stop) {
    return new LlmCall() {
      private final CompletableFuture<Void> stopped = new CompletableFuture<>();

      @Override
      public CompletionStage<String> answer() {
        return result.thenApply(LlmAnswer::text);
      }

      @Override
      public CompletionStage<LlmAnswer> result() {
        return result;
      }

      @Override
      public synchronized CompletionStage<Void> cancel() {
        if (!stopped.isDone()) {
          try {
            stop.run();
            result.completeExceptionally(
                new LlmCallException(LlmCallException.Kind.CANCELLED, "the call was cancelled"));
            stopped.complete(null);
          } catch (RuntimeException e) {
            stopped.completeExceptionally(e);
          }
        }
        return stopped;
      }
    };
  }
}
