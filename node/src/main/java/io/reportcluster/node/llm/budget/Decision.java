package io.reportcluster.node.llm.budget;

import java.time.Duration;
import java.util.Locale;

/** The answer to a reservation: the call may start now, or must wait this long, and for what. */
public sealed interface Decision {

  /** What a call waits for. */
  enum Reason {
    /** The provider said "too many" (a 429): every node pauses its calls. */
    COOLDOWN,
    REQUESTS,
    TOKENS,
    INPUT_TOKENS,
    OUTPUT_TOKENS,
    /** The cluster's calls in flight to this provider are at max-concurrent. */
    CONCURRENCY;

    /** The name in job views, logs and metrics: {@code input_tokens}. */
    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }

    static Reason of(String label) {
      return valueOf(label.toUpperCase(Locale.ROOT));
    }
  }

  record Granted() implements Decision {}

  record Wait(Reason reason, Duration delay) implements Decision {}

  Granted GRANTED = new Granted();
}
