package io.reportcluster.protocol;

import java.time.Instant;
import java.util.List;

/**
 * {@code GET /api/v1/providers}: the provider entries a node serves, their limits and prices, and
 * what their budgets hold now. Never an API key or a base URL.
 */
public record ProvidersView(List<Provider> providers) {

  /**
   * One entry. {@code type} and {@code model} are null, and {@code prices} too, for a provider
   * given to the node directly rather than configured (tests).
   */
  public record Provider(
      String name,
      String type,
      String model,
      Limits limits,
      List<String> fallback,
      Budget budget,
      Prices prices) {}

  /** Per window (a minute) across the cluster; null: not limited. */
  public record Limits(
      Integer rpm, Long tpm, Long inputTpm, Long outputTpm, Integer maxConcurrent) {}

  /**
   * What the entry's budget holds in the current window. {@code mode}: {@code shared} (one budget
   * for the cluster, in Redis: the cluster's figures), {@code local-share} (Redis away: this node
   * keeps to its share; this node's figures) or {@code local} (no Redis: this node's figures). A
   * figure is null when it is not counted (its limit is not set) or could not be read now; {@code
   * cooldown_until} is null when no pause after a 429 runs.
   */
  public record Budget(
      String mode,
      Long requestsInWindow,
      Long tokensInWindow,
      Long inputTokensInWindow,
      Long outputTokensInWindow,
      Instant cooldownUntil,
      long windowSeconds) {}

  /** US dollars per million tokens. */
  public record Prices(double inputPerMillion, double outputPerMillion) {}
}
