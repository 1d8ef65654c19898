package io.reportcluster.node.llm.provider;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * A provider that needs no network: log-normal latency and configurable rates of timeouts, 429s
 * (with Retry-After), 500s and 400s. The outcome of a call depends only on the seed, the job id,
 * the step and the attempt, so a run is reproducible whatever the scheduling. It answers readable
 * report text built from the startup's name.
 */
public final class SimulatedProvider implements LlmProvider {

  public record Settings(
      long seed,
      Duration latencyMedian,
      double latencySpread,
      double timeoutRate,
      double rateLimitRate,
      double serverErrorRate,
      double badRequestRate,
      Duration rateLimitRetryAfter) {

    public static Settings fromConfig(Config c) {
      return new Settings(
          c.getLong("seed"),
          c.getDuration("latency-median"),
          c.getDouble("latency-spread"),
          c.getDouble("timeout-rate"),
          c.getDouble("rate-limit-rate"),
          c.getDouble("server-error-rate"),
          c.getDouble("bad-request-rate"),
          c.getDuration("rate-limit-retry-after"));
    }

    public Settings withLatency(Duration median, double spread) {
      return new Settings(
          seed,
          median,
          spread,
          timeoutRate,
          rateLimitRate,
          serverErrorRate,
          badRequestRate,
          rateLimitRetryAfter);
    }
  }

  /** What the dice decided for one call. */
  public enum Outcome {
    ANSWER,
    TIMEOUT,
    RATE_LIMITED,
    SERVER_ERROR,
    BAD_REQUEST
  }

  private static final ScheduledExecutorService TIMER = timer();

  private static ScheduledExecutorService timer() {
    ScheduledThreadPoolExecutor timer =
        new ScheduledThreadPoolExecutor(
            1,
            r -> {
              Thread t = new Thread(r, "simulated-llm-timer");
              t.setDaemon(true);
              return t;
            });
    // A cancelled call leaves the queue at once instead of waiting there until its time.
    timer.setRemoveOnCancelPolicy(true);
    return timer;
  }

  private final String name;
  private final Settings settings;

  public SimulatedProvider(Settings settings) {
    this("simulated", settings);
  }

  public SimulatedProvider(String name, Settings settings) {
    this.name = name;
    this.settings = settings;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public LlmCall start(LlmRequest request) {
    SplittableRandom dice = dice(request);
    Outcome outcome = outcome(dice);
    long latencyMicros = latencyMicros(dice);
    CompletableFuture<LlmAnswer> answer = new CompletableFuture<>();
    if (outcome == Outcome.TIMEOUT) {
      // Never answers: the caller's call-timeout cancels it and turns it into a retryable failure.
      return LlmCall.ofAnswer(answer, () -> {});
    }
    Runnable finish =
        () -> {
          switch (outcome) {
            case RATE_LIMITED ->
                answer.completeExceptionally(
                    new LlmCallException(
                        LlmCallException.Kind.RATE_LIMITED,
                        "simulated 429: rate limit reached",
                        settings.rateLimitRetryAfter()));
            case SERVER_ERROR ->
                answer.completeExceptionally(
                    new LlmCallException(
                        LlmCallException.Kind.SERVER_ERROR, "simulated 500: internal error"));
            case BAD_REQUEST ->
                answer.completeExceptionally(
                    new LlmCallException(
                        LlmCallException.Kind.BAD_REQUEST,
                        "simulated 400: the prompt was rejected"));
            default -> answer.complete(answer(request, text(request, dice)));
          }
        };
    if (latencyMicros <= 0) {
      finish.run();
      return LlmCall.ofAnswer(answer, () -> {});
    }
    ScheduledFuture<?> pending = TIMER.schedule(finish, latencyMicros, TimeUnit.MICROSECONDS);
    // Cancelling removes the pending answer: the simulated "server" stops working on it.
    return LlmCall.ofAnswer(answer, () -> pending.cancel(false));
  }

  /**
   * The answer with the tokens a real provider would count, approximated as words (of the system
   * prompt and the message in, of the text out), so cost accounting can be tried without a key.
   */
  private static LlmAnswer answer(LlmRequest request, String text) {
    long in = words(request.system()) + words(request.prompt());
    return new LlmAnswer(
        text, "simulated", new LlmAnswer.Usage(in, words(text)), LlmAnswer.FinishReason.STOP);
  }

  private static long words(String s) {
    return s == null || s.isBlank() ? 0 : s.trim().split("\\s+").length;
  }

  /** The outcome this provider gives the call, without making it (tests use this to plan). */
  public Outcome outcomeOf(LlmRequest request) {
    return outcome(dice(request));
  }

  private SplittableRandom dice(LlmRequest r) {
    long h = settings.seed();
    h = h * 31 + r.jobId().hashCode();
    h = h * 31 + r.step();
    h = h * 31 + r.attempt();
    return new SplittableRandom(h);
  }

  private Outcome outcome(SplittableRandom dice) {
    double u = dice.nextDouble();
    double edge = settings.timeoutRate();
    if (u < edge) return Outcome.TIMEOUT;
    edge += settings.rateLimitRate();
    if (u < edge) return Outcome.RATE_LIMITED;
    edge += settings.serverErrorRate();
    if (u < edge) return Outcome.SERVER_ERROR;
    edge += settings.badRequestRate();
    if (u < edge) return Outcome.BAD_REQUEST;
    return Outcome.ANSWER;
  }

  private long latencyMicros(SplittableRandom dice) {
    double median = settings.latencyMedian().toNanos() / 1000.0;
    double factor =
        settings.latencySpread() <= 0
            ? 1.0
            : Math.exp(settings.latencySpread() * dice.nextGaussian());
    return Math.round(median * factor);
  }

  private static final String[][] PHRASES = {
    {
      "a growing niche",
      "a crowded but expanding market",
      "an underserved segment",
      "a market at an inflection point"
    },
    {
      "strong early traction",
      "a defensible data advantage",
      "a capital-efficient model",
      "a clear path to revenue"
    },
    {
      "execution speed",
      "regulatory exposure",
      "customer concentration",
      "dependence on a few suppliers"
    },
  };

  private static String text(LlmRequest r, SplittableRandom dice) {
    String a = PHRASES[0][dice.nextInt(PHRASES[0].length)];
    String b = PHRASES[1][dice.nextInt(PHRASES[1].length)];
    String c = PHRASES[2][dice.nextInt(PHRASES[2].length)];
    String s = r.startup();
    return switch (r.stepName()) {
      case "market" ->
          s + " addresses " + a + "; demand is driven by automation budgets and shows " + b + ".";
      case "competitors" ->
          s + " competes with incumbents and two funded challengers; its edge is " + b + ".";
      case "team" ->
          "The founders of "
              + s
              + " combine domain depth with shipping experience; hiring is the next test.";
      case "risks" -> "The main risks for " + s + " are " + c + " and the pace of its competitors.";
      case "synthesis" ->
          "Summary: "
              + s
              + " targets "
              + a
              + " with "
              + b
              + ". Watch "
              + c
              + ". Verdict: worth a closer look.";
      default -> s + ": notes on " + r.stepName() + " (" + a + ", " + b + ").";
    };
  }
}
