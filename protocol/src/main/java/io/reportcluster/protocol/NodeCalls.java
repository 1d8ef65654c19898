package io.reportcluster.protocol;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The LLM calls of one node now: those its callers hold, and its queue ({@code GET
 * /api/v1/node/calls}, and each node's {@code calls} in {@code GET /api/v1/cluster}). {@code
 * queued} is the head of the queue only, oldest first (at most 20); {@code queue_depth} and {@code
 * queue_by_provider} count all of it.
 */
public record NodeCalls(
    String node,
    int callers,
    List<InFlight> inFlight,
    int queueDepth,
    Map<String, Integer> queueByProvider,
    List<Queued> queued) {

  /** How many waiting calls a view lists. */
  public static final int QUEUED_SHOWN = 20;

  /**
   * A call a caller holds: its job, step (0-based index and name), provider entry and attempt
   * (1-based), since the caller took it (its budget is reserved first, then it goes to the
   * provider).
   */
  public record InFlight(
      String jobId, int step, String stepName, String provider, int attempt, Instant startedAt) {}

  /**
   * A call waiting for a caller since {@code queued_at}; {@code waiting_for} says why it cannot go
   * yet when its provider is held back ({@code "budget: tokens"}, {@code "budget: cooldown"}, ...),
   * null when it only waits for a free caller.
   */
  public record Queued(
      String jobId,
      int step,
      String stepName,
      String provider,
      Instant queuedAt,
      String waitingFor) {}
}
