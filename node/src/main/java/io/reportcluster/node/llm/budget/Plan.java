package io.reportcluster.node.llm.budget;

import io.reportcluster.node.llm.provider.ProviderSettings.Limits;

/**
 * The limits one reservation is checked against: a provider entry's limits less the headroom, and
 * divided among the live members when a node keeps its own share. {@code requests} is the pace
 * (GCRA, may be fractional: one request every few windows) and {@code requestCap} the most requests
 * any window may hold, whatever the burst.
 */
record Plan(
    long windowMs,
    double requests,
    int burst,
    long requestCap,
    long tokens,
    long inputTokens,
    long outputTokens,
    int concurrent,
    long leaseMs) {

  /** A plan without a window cap on requests: their pace and burst alone (the stores' tests). */
  Plan(
      long windowMs,
      double requests,
      int burst,
      long tokens,
      long inputTokens,
      long outputTokens,
      int concurrent,
      long leaseMs) {
    this(windowMs, requests, burst, 0, tokens, inputTokens, outputTokens, concurrent, leaseMs);
  }

  /**
   * @param share the part of the limits this budget may use: 1 for the cluster's shared budget, 1/n
   *     for one of n nodes keeping to its share
   */
  static Plan of(Limits limits, BudgetSettings settings, double share) {
    double keep = (1 - settings.headroom()) * share;
    double requests = 0;
    int burst = 1;
    if (limits.rpm() > 0) {
      double exact = limits.rpm() * keep;
      requests = exact >= 1 ? Math.floor(exact) : exact;
      // At least 2 where the limit allows: a call that arrives a little after its slot (timers,
      // a Redis round trip, a busy node) then still finds it, instead of the slot being lost.
      burst =
          (int)
              Math.max(requests >= 10 ? 2 : 1, Math.floor(limits.rpm() * settings.burst() * share));
    }
    return new Plan(
        settings.window().toMillis(),
        requests,
        burst,
        tokens(limits.rpm(), keep),
        tokens(limits.tpm(), keep),
        tokens(limits.inputTpm(), keep),
        tokens(limits.outputTpm(), keep),
        limits.maxConcurrent() == 0
            ? 0
            : (int) Math.max(1, Math.floor(limits.maxConcurrent() * share)),
        settings.concurrencyLease().toMillis());
  }

  private static long tokens(long limit, double keep) {
    return limit == 0 ? 0 : (long) Math.max(1, Math.floor(limit * keep));
  }

  boolean limited() {
    return requests > 0 || tokens > 0 || inputTokens > 0 || outputTokens > 0 || concurrent > 0;
  }
}
