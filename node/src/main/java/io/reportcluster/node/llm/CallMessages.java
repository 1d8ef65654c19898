package io.reportcluster.node.llm;

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

  public record CallSucceeded(
      String jobId, int step, int attempt, String text, Instant startedAt, Instant finishedAt)
      implements CallResult {}

  public record CallFailed(
      String jobId,
      int step,
      int attempt,
      LlmCallException failure,
      Instant startedAt,
      Instant finishedAt)
      implements CallResult {}
}
