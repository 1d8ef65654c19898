package io.reportcluster.node.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.reportcluster.node.llm.PoolMetrics;

/** The node's Prometheus registry, served at {@code /metrics}. */
public final class NodeMetrics {
  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

  public NodeMetrics(String nodeName, PoolMetrics pool) {
    registry.config().commonTags("node", nodeName);
    Gauge.builder("reports_llm_callers", pool, p -> p.callers)
        .description("LLM caller actors on this node")
        .register(registry);
    Gauge.builder("reports_llm_in_flight", pool, PoolMetrics::inFlight)
        .description("LLM calls in flight")
        .register(registry);
    Gauge.builder("reports_llm_queue_depth", pool, PoolMetrics::queueDepth)
        .description("calls waiting for a caller")
        .register(registry);
    FunctionCounter.builder("reports_llm_calls_started", pool, PoolMetrics::callsStarted)
        .register(registry);
    FunctionCounter.builder("reports_llm_calls_succeeded", pool, PoolMetrics::callsSucceeded)
        .register(registry);
    FunctionCounter.builder("reports_llm_calls_failed", pool, PoolMetrics::callsFailed)
        .register(registry);
    FunctionCounter.builder("reports_llm_calls_cancelled", pool, PoolMetrics::callsCancelled)
        .description(
            "calls stopped at the provider before they answered: cancelled or moved jobs, a downed node")
        .register(registry);
  }

  public MeterRegistry registry() {
    return registry;
  }

  /**
   * Time from a job transition being persisted (and announced) to its status hash being
   * acknowledged by Redis: the mirror's lag, with p50/p99 published.
   */
  public Timer mirrorLag() {
    return Timer.builder("reports_mirror_lag")
        .description("persisted transition to visible in Redis")
        .publishPercentiles(0.5, 0.99)
        .register(registry);
  }

  public String scrape() {
    return registry.scrape();
  }
}
