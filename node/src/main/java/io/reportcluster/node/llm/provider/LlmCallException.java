package io.reportcluster.node.llm.provider;

import java.time.Duration;

/**
 * Why a provider call failed, classified once so the job decides between retry and failure without
 * knowing the provider. Expected failures carry no stack trace: they are data.
 */
public final class LlmCallException extends RuntimeException {

  public enum Kind {
    TIMEOUT(true),
    RATE_LIMITED(true),
    SERVER_ERROR(true),
    CONNECTION(true),
    /** A caller actor crashed while it held the call; the call may be repeated. */
    CALLER_CRASHED(true),
    /**
     * The call was started but its node stopped (or the job moved) before it answered. It counts as
     * a failed attempt, so a call that kills its node is not made for ever.
     */
    INTERRUPTED(true),
    /**
     * Cancelled by us (job cancelled, call timed out, node downed): never reaches a job as news.
     */
    CANCELLED(false),
    BAD_REQUEST(false),
    UNAUTHORIZED(false),
    FORBIDDEN(false),
    /** The model or endpoint does not exist (404): no retry will find it. */
    NOT_FOUND(false),
    /**
     * A quota or spend limit that no retry within a job's backoff will lift (a per-day quota, a
     * spend limit, no credit left): failing the step now is cheaper than burning its retries.
     */
    QUOTA_EXCEEDED(false);

    private final boolean retryable;

    Kind(boolean retryable) {
      this.retryable = retryable;
    }

    public boolean retryable() {
      return retryable;
    }
  }

  private final Kind kind;
  private final Duration retryAfter;

  public LlmCallException(Kind kind, String message, Duration retryAfter) {
    super(message, null, false, false);
    this.kind = kind;
    this.retryAfter = retryAfter;
  }

  public LlmCallException(Kind kind, String message) {
    this(kind, message, null);
  }

  public Kind kind() {
    return kind;
  }

  public boolean retryable() {
    return kind.retryable();
  }

  /** The provider's Retry-After, or null when it gave none. */
  public Duration retryAfter() {
    return retryAfter;
  }

  /** A one-line description for job views: "RATE_LIMITED: slow down". */
  public String describe() {
    return kind + ": " + getMessage();
  }
}
