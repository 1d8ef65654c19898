package io.reportcluster.node.llm;

import io.reportcluster.node.llm.provider.LlmAnswer;
import io.reportcluster.protocol.Api.NodeStats;
import io.reportcluster.protocol.NodeCalls;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Live figures of this node's caller pool, written by the pool and its callers and read without
 * messaging by the routes (admission control, stats) and metrics.
 */
public final class PoolMetrics {
  public final int callers;
  public final int queueLimit;
  final AtomicInteger inFlight = new AtomicInteger();
  final AtomicInteger queueDepth = new AtomicInteger();
  final AtomicLong started = new AtomicLong();
  final AtomicLong succeeded = new AtomicLong();
  final AtomicLong failed = new AtomicLong();
  final AtomicLong cancelled = new AtomicLong();
  final PoolCalls calls = new PoolCalls();

  public PoolMetrics(int callers, int queueLimit) {
    this.callers = callers;
    this.queueLimit = queueLimit;
  }

  public int inFlight() {
    return inFlight.get();
  }

  public int queueDepth() {
    return queueDepth.get();
  }

  /** True when a new job must be shed: the calls waiting for a caller reached the bound. */
  public boolean queueFull() {
    return queueDepth.get() >= queueLimit;
  }

  public long callsStarted() {
    return started.get();
  }

  public long callsSucceeded() {
    return succeeded.get();
  }

  public long callsFailed() {
    return failed.get();
  }

  /**
   * Calls stopped at the provider before they answered: cancelled jobs, moved jobs, a downed node.
   */
  public long callsCancelled() {
    return cancelled.get();
  }

  /**
   * This node's figures now, as {@code GET /api/v1/node/stats} and the Redis node stats show them.
   */
  public NodeStats stats(String nodeName) {
    return new NodeStats(
        nodeName,
        callers,
        inFlight(),
        queueDepth(),
        queueLimit,
        callsStarted(),
        callsSucceeded(),
        callsFailed());
  }

  /**
   * The calls this node's callers hold and the head of its queue, now, as {@code GET
   * /api/v1/node/calls} and the Redis node stats show them.
   */
  public NodeCalls calls(String nodeName) {
    return calls.view(nodeName, callers, queueDepth());
  }

  /** Hears of every answered call's tokens and cost (the node's Prometheus counters). */
  public interface UsageListener {
    void answered(String provider, String model, LlmAnswer.Usage usage, double costUsd);
  }

  private volatile UsageListener usageListener = (provider, model, usage, cost) -> {};

  public void onUsage(UsageListener listener) {
    this.usageListener = listener;
  }

  void answered(String provider, String model, LlmAnswer.Usage usage, double costUsd) {
    usageListener.answered(provider, model, usage, costUsd);
  }
}
