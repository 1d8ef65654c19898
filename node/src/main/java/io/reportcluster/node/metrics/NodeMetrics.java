package io.reportcluster.node.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.reportcluster.node.llm.PoolMetrics;
import io.reportcluster.node.llm.provider.LlmAnswer;

/** The node's Prometheus registry, served at {@code /metrics}. */
public final class NodeMetrics {
  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

  public NodeMetrics(String nodeName, PoolMetrics pool) {
    registry.config().commonTags("node", nodeName);
    pool.onUsage(this::countUsage);
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

  /**
   * Tokens and cost of every answered call, by provider entry and model: {@code
   * reports_llm_tokens_total{provider, model, kind=input|output}} and {@code
   * reports_llm_cost_usd_total{provider, model}}.
   */
  private void countUsage(String provider, String model, LlmAnswer.Usage usage, double costUsd) {
    String p = provider == null ? "unknown" : provider;
    String m = model == null ? "unknown" : model;
    if (usage != null) {
      tokens(p, m, "input").increment(usage.inputTokens());
      tokens(p, m, "output").increment(usage.outputTokens());
    }
    Counter.builder("reports_llm_cost_usd")
        .description("what answered calls cost at the configured prices, US dollars")
        .tags("provider", p, "model", m)
        .register(registry)
        .increment(costUsd);
  }

  private Counter tokens(String provider, String model, String kind) {
    return Counter.builder("reports_llm_tokens")
        .description("tokens of answered calls, as the providers counted them")
        .tags("provider", provider, "model", model, "kind", kind)
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
