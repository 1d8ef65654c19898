package io.reportcluster.node.auth;

import io.reportcluster.node.read.JobList;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A key's limits on submits: a rate (per node, per minute), a cap on its unfinished jobs and a
 * daily token and cost budget (both read from the job list, so they lag it by a moment; a burst may
 * overshoot the cap by the submits of that moment).
 */
public final class SubmitLimits {
  /** Why a submit was refused, and when to try again. */
  public record Refusal(String error, String detail, long retryAfterSeconds) {}

  public static final SubmitLimits NONE = new SubmitLimits(Optional.empty());

  private record Window(long minute, int count) {}

  private final Optional<JobList> list;
  private final Map<String, Window> windows = new ConcurrentHashMap<>();

  public SubmitLimits(Optional<JobList> list) {
    this.list = list;
  }

  /** Empty: the submit may go on. */
  public CompletionStage<Optional<Refusal>> admit(Caller caller) {
    if (caller.key().isEmpty()) return CompletableFuture.completedFuture(Optional.empty());
    ApiKey key = caller.key().get();
    if (key.submitsPerMinute() > 0) {
      long now = System.currentTimeMillis();
      long minute = now / 60_000L;
      Window w =
          windows.compute(
              key.id(),
              (id, old) ->
                  old == null || old.minute() != minute
                      ? new Window(minute, 1)
                      : new Window(minute, old.count() + 1));
      if (w.count() > key.submitsPerMinute()) {
        long wait = Math.max(1, ((minute + 1) * 60_000L - now + 999) / 1000);
        return CompletableFuture.completedFuture(
            Optional.of(
                new Refusal(
                    "rate_limited",
                    "key '"
                        + key.name()
                        + "' may submit "
                        + key.submitsPerMinute()
                        + " jobs a minute on this node; retry after "
                        + wait
                        + " s",
                    wait)));
      }
    }
    boolean needsUsage = key.maxUnfinished() > 0 || key.dailyTokens() > 0 || key.dailyCostUsd() > 0;
    if (!needsUsage || list.isEmpty()) return CompletableFuture.completedFuture(Optional.empty());
    Instant midnight = LocalDate.now(ZoneOffset.UTC).atStartOfDay().toInstant(ZoneOffset.UTC);
    long toTomorrow =
        Math.max(1, Duration.between(Instant.now(), midnight.plus(Duration.ofDays(1))).toSeconds());
    return list.get()
        .usage(key.id(), midnight)
        .thenApply(
            u -> {
              if (key.maxUnfinished() > 0 && u.unfinished() >= key.maxUnfinished()) {
                return Optional.of(
                    new Refusal(
                        "too_many_unfinished",
                        "key '"
                            + key.name()
                            + "' has "
                            + u.unfinished()
                            + " unfinished jobs (limit "
                            + key.maxUnfinished()
                            + "); submit again once some finish",
                        5));
              }
              if (key.dailyTokens() > 0 && u.tokens() >= key.dailyTokens()) {
                return Optional.of(
                    new Refusal(
                        "daily_budget_spent",
                        "key '"
                            + key.name()
                            + "' used "
                            + u.tokens()
                            + " of its "
                            + key.dailyTokens()
                            + " tokens today (UTC)",
                        toTomorrow));
              }
              if (key.dailyCostUsd() > 0 && u.costUsd() >= key.dailyCostUsd()) {
                return Optional.of(
                    new Refusal(
                        "daily_budget_spent",
                        String.format(
                            "key '%s' spent $%.4f of its $%.2f today (UTC)",
                            key.name(), u.costUsd(), key.dailyCostUsd()),
                        toTomorrow));
              }
              return Optional.<Refusal>empty();
            });
  }
}
