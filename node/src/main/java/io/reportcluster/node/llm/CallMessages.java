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

  /**
   * A call to make. {@code waitingSince}: when it was first held back for budget (null: never), so
   * the wait can be measured when it finally starts.
   */
  public record Call(LlmRequest request, ActorRef<CallResult> replyTo, Instant waitingSince) {
    public Call(LlmRequest request, ActorRef<CallResult> replyTo) {
      this(request, replyTo, null);
    }

    Call waiting(Instant since) {
      return waitingSince != null ? this : new Call(request, replyTo, since);
    }
  }

  /** What a job hears about its call. */
  public sealed interface CallResult {
    String jobId();

    int step();

    int attempt();
  }

  /** The call reserved its budget and went to the provider ({@code provider}, the entry's name). */
  public record CallStarted(String jobId, int step, int attempt, Instant at, String provider)
      implements CallResult {
    public CallStarted(String jobId, int step, int attempt, Instant at) {
      this(jobId, step, attempt, at, null);
    }
  }

  /**
   * The call is held back: its provider has no budget for it now ({@code reason}: cooldown,
   * requests, tokens, input_tokens, output_tokens, concurrency) until about {@code until}. It stays
   * queued and is not an attempt; the job may move it to another provider instead.
   */
  public record CallWaiting(
      String jobId, int step, int attempt, String provider, String reason, Instant until)
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
      Instant finishedAt,
      String provider)
      implements CallResult {
    public CallFailed(
        String jobId,
        int step,
        int attempt,
        LlmCallException failure,
        Instant startedAt,
        Instant finishedAt) {
      this(jobId, step, attempt, failure, startedAt, finishedAt, null);
    }
  }
}
