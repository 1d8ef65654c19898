package io.reportcluster.node.llm;

import io.reportcluster.node.llm.provider.LlmAnswer;
import io.reportcluster.node.llm.provider.LlmCallException;
import io.reportcluster.node.llm.provider.LlmRequest;
import java.time.Instant;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * The messages about one LLM call that pass between a job, the pool and a caller: the call itself,
 * and what its job hears of it. In a file of their own so that the job, the pool and the callers
 * all depend on them, and none of them on another's internals.
 */
public final class CallMessages {
  private CallMessages() {}

  public record Call(LlmRequest request, ActorRef<CallResult> replyTo) {}

  /** What a job hears about its call. */
  public sealed interface CallResult {
    String jobId();

    int step();

    int attempt();
  }

  public record CallStarted(String jobId, int step, int attempt, Instant at)
      implements CallResult {}

  /**
   * An answered call: its text, and who wrote it at what cost ({@code provider} the entry's name,
   * {@code model}, the tokens the provider counted, their cost at the entry's prices, why the model
   * stopped). Unknown parts are null (and the cost 0) for providers that say only the text.
   */
  public record CallSucceeded(
      String jobId,
      int step,
      int attempt,
      String text,
      Instant startedAt,
      Instant finishedAt,
      String provider,
      String model,
      LlmAnswer.Usage usage,
      double costUsd,
      LlmAnswer.FinishReason finishReason)
      implements CallResult {

    /** A call answered with its text alone. */
    public CallSucceeded(
        String jobId, int step, int attempt, String text, Instant startedAt, Instant finishedAt) {
      this(jobId, step, attempt, text, startedAt, finishedAt, null, null, null, 0, null);
    }
  }

  public record CallFailed(
      String jobId,
      int step,
      int attempt,
      LlmCallException failure,
      Instant startedAt,
      Instant finishedAt)
      implements CallResult {}
}
