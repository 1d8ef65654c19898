package io.reportcluster.node.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.reportcluster.node.llm.PoolMetrics;
import io.reportcluster.node.llm.budget.Budgets;
import io.reportcluster.node.llm.budget.Decision;
import io.reportcluster.node.llm.provider.LlmAnswer;
import io.reportcluster.node.llm.provider.LlmCallException;
import io.reportcluster.protocol.JobState;
import java.time.Duration;
import java.util.Locale;

/**
 * The node's Prometheus registry, served at {@code /metrics}: every series carries {@code
 * node=<reports.node-name>}. Jobs, steps and retries ({@link JobMetrics}), HTTP requests, the
 * caller pool, tokens and cost, budgets, fallbacks, the mirror's lag, and the JVM.
 */
public final class NodeMetrics implements JobMetrics, AutoCloseable {
  /**
   * Buckets of job and step durations: a call takes from a fraction of a second to minutes, a job
   * with backoffs and budget waits up to hours.
   */
  private static final Duration[] JOB_BUCKETS =
      seconds(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200);

  /** Buckets of HTTP request durations (an SSE response is timed to its head). */
  private static final Duration[] HTTP_BUCKETS =
      seconds(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30);

  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final JvmGcMetrics gc = new JvmGcMetrics();

  public NodeMetrics(String nodeName, PoolMetrics pool) {
    registry.config().commonTags("node", nodeName);
    new JvmMemoryMetrics().bindTo(registry);
    gc.bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
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

  /**
   * The providers' budgets: {@code reports_llm_budget_wait_seconds{provider}} (a histogram of how
   * long each call waited for budget before it started, zero included; buckets add up across
   * nodes), {@code reports_llm_budget_denied_total{provider, reason}} (each time a call was held
   * back), {@code reports_llm_cooldowns_total{provider}} (429 pauses begun) and {@code
   * reports_llm_budget_limit{provider, kind}} (the configured limits).
   */
  public void watch(Budgets budgets) {
    budgets.listen(
        new Budgets.Listener() {
          @Override
          public void granted(String provider, Duration waited) {
            Timer.builder("reports_llm_budget_wait")
                .description("time a call waited for its provider's budget before it started")
                .tags("provider", provider)
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofMinutes(5))
                .register(registry)
                .record(waited);
          }

          @Override
          public void denied(String provider, Decision.Reason reason) {
            // (granted calls are counted by reports_llm_budget_wait_seconds_count)
            Counter.builder("reports_llm_budget_denied")
                .description("calls held back for lack of budget, by what was missing")
                .tags("provider", provider, "reason", reason.label())
                .register(registry)
                .increment();
          }

          @Override
          public void cooldown(String provider, boolean began) {
            if (!began) return;
            Counter.builder("reports_llm_cooldowns")
                .description("cluster-wide pauses of a provider after a 429, begun by this node")
                .tags("provider", provider)
                .register(registry)
                .increment();
          }
        });
    budgets
        .limitsByProvider()
        .forEach(
            (provider, l) -> {
              if (l.tpm() > 0) {
                Gauge.builder(
                        "reports_llm_budget_tokens_in_window",
                        budgets,
                        b -> b.tokensInWindow(provider))
                    .description(
                        "tokens the cluster has reserved or used in the provider's current window,"
                            + " as of this node's last call")
                    .tags("provider", provider)
                    .register(registry);
              }
              limit(provider, "requests", l.rpm());
              limit(provider, "tokens", l.tpm());
              limit(provider, "input_tokens", l.inputTpm());
              limit(provider, "output_tokens", l.outputTpm());
              limit(provider, "concurrent", l.maxConcurrent());
            });
  }

  private void limit(String provider, String kind, long value) {
    if (value <= 0) return;
    Gauge.builder("reports_llm_budget_limit", () -> value)
        .description("a provider entry's configured limit per window (0 = none: not shown)")
        .tags("provider", provider, "kind", kind)
        .register(registry);
  }

  /** A step moved to the next provider of its chain. */
  public void fallback(String from, String to, String reason) {
    Counter.builder("reports_llm_fallbacks")
        .description("steps moved to the next provider of their chain")
        .tags("from", from, "to", to, "reason", reason)
        .register(registry)
        .increment();
  }

  // ------------------------------------------------------------------ jobs

  /** {@code reports_jobs_submitted_total{provider}}. */
  @Override
  public void submitted(String provider) {
    Counter.builder("reports_jobs_submitted")
        .description("jobs accepted and journaled, by the first provider of their chain")
        .tags("provider", label(provider))
        .register(registry)
        .increment();
  }

  /**
   * {@code reports_jobs_finished_total{state, provider}} and {@code
   * reports_job_duration_seconds{state, provider}} (a histogram, submitted to finished).
   */
  @Override
  public void finished(JobState outcome, String provider, Duration sinceSubmitted) {
    String state = outcome.name();
    String p = label(provider);
    Counter.builder("reports_jobs_finished")
        .description("jobs ended, by final state and the first provider of their chain")
        .tags("state", state, "provider", p)
        .register(registry)
        .increment();
    Timer.builder("reports_job_duration")
        .description("time from a job's submit to its end")
        .tags("state", state, "provider", p)
        .serviceLevelObjectives(JOB_BUCKETS)
        .register(registry)
        .record(sinceSubmitted);
  }

  /** {@code reports_step_duration_seconds{provider, step}}: the answering call's duration. */
  @Override
  public void stepCompleted(String provider, String step, Duration took) {
    Timer.builder("reports_step_duration")
        .description("duration of the call that completed a step, by the provider that answered")
        .tags("provider", label(provider), "step", label(step))
        .serviceLevelObjectives(JOB_BUCKETS)
        .register(registry)
        .record(took);
  }

  /** {@code reports_job_retries_total{reason}}: reason is the failure's kind, lower case. */
  @Override
  public void retried(LlmCallException.Kind reason) {
    Counter.builder("reports_job_retries")
        .description("failed attempts that will be tried again after a backoff, by failure kind")
        .tags("reason", reason.name().toLowerCase(Locale.ROOT))
        .register(registry)
        .increment();
  }

  // ------------------------------------------------------------------ HTTP

  /**
   * {@code http_server_requests_seconds{method, route, status}}; {@code route} must be a template
   * (few values), never a raw path.
   */
  public void httpRequest(String method, String route, int status, long nanos) {
    Timer.builder("http_server_requests")
        .description("HTTP requests this node answered, to the response's head")
        .tags("method", method, "route", route, "status", Integer.toString(status))
        .serviceLevelObjectives(HTTP_BUCKETS)
        .register(registry)
        .record(Duration.ofNanos(nanos));
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

  /** Stops listening to the JVM's GC notifications. */
  @Override
  public void close() {
    gc.close();
  }

  private static String label(String value) {
    return value == null ? "unknown" : value;
  }

  private static Duration[] seconds(double... values) {
    Duration[] out = new Duration[values.length];
    for (int i = 0; i < values.length; i++) out[i] = Duration.ofNanos((long) (values[i] * 1e9));
    return out;
  }
}
