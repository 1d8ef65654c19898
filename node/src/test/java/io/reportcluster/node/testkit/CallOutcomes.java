package io.reportcluster.node.testkit;

import io.reportcluster.node.llm.provider.LlmAnswer;
import io.reportcluster.node.llm.provider.LlmCall;
import io.reportcluster.node.llm.provider.LlmCallException;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** What a provider call came to, waited for with a deadline. */
public final class CallOutcomes {
  private static final Duration DEADLINE = Duration.ofSeconds(10);

  private CallOutcomes() {}

  /** The call's whole answer; fails the test if the call failed. */
  public static LlmAnswer answered(LlmCall call) {
    try {
      return call.result().toCompletableFuture().get(DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw new AssertionError("the call failed: " + e.getCause(), e.getCause());
    } catch (InterruptedException | TimeoutException e) {
      throw new AssertionError("no answer within " + DEADLINE.toSeconds() + " s", e);
    }
  }

  /** The call's failure; fails the test if the call answered. */
  public static LlmCallException failed(LlmCall call) {
    return failure(call.result());
  }

  /** The failure {@code stage} completed with, an {@link LlmCallException}. */
  public static LlmCallException failure(CompletionStage<?> stage) {
    try {
      Object value = stage.toCompletableFuture().get(DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
      throw new AssertionError("expected a failure, got: " + value);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof LlmCallException failure) return failure;
      throw new AssertionError("expected an LlmCallException, got: " + e.getCause(), e.getCause());
    } catch (InterruptedException | TimeoutException e) {
      throw new AssertionError("no outcome within " + DEADLINE.toSeconds() + " s", e);
    }
  }
}
