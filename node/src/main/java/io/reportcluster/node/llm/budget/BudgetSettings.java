package io.reportcluster.node.llm.budget;

import com.typesafe.config.Config;
import java.time.Duration;

/** {@code reports.llm.limits}: how the providers' budgets are kept (see application.conf). */
public record BudgetSettings(
    Duration window,
    double headroom,
    double burst,
    Duration recheck,
    Duration defaultCooldown,
    double cooldownJitter,
    Duration fallbackAfterCooldown,
    Duration concurrencyLease) {

  public static final BudgetSettings DEFAULT =
      new BudgetSettings(
          Duration.ofMinutes(1),
          0.02,
          0.02,
          Duration.ofMillis(100),
          Duration.ofSeconds(10),
          0.1,
          Duration.ofSeconds(30),
          Duration.ofMinutes(3));

  public BudgetSettings {
    if (window.isNegative() || window.isZero())
      throw new IllegalArgumentException("reports.llm.limits.window must be positive");
    if (headroom < 0 || headroom >= 1 || burst < 0 || burst >= 1)
      throw new IllegalArgumentException(
          "reports.llm.limits.headroom and burst must be fractions in [0, 1)");
  }

  public static BudgetSettings fromConfig(Config limits) {
    return new BudgetSettings(
        limits.getDuration("window"),
        limits.getDouble("headroom"),
        limits.getDouble("burst"),
        limits.getDuration("recheck"),
        limits.getDuration("default-cooldown"),
        limits.getDouble("cooldown-jitter"),
        limits.getDuration("fallback-after-cooldown"),
        limits.getDuration("concurrency-lease"));
  }
}
