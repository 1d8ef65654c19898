package io.reportcluster.node.llm;

import static org.assertj.core.api.Assertions.assertThat;

import io.reportcluster.node.llm.provider.LlmCallException;
import io.reportcluster.node.llm.provider.LlmRequest;
import io.reportcluster.node.llm.provider.SimulatedProvider;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class SimulatedProviderTest {

  private static SimulatedProvider provider(
      long seed, double timeouts, double limits, double errors, double bad) {
    return new SimulatedProvider(
        new SimulatedProvider.Settings(
            seed, Duration.ZERO, 0, timeouts, limits, errors, bad, Duration.ofSeconds(7)));
  }

  private static LlmRequest request(String job, int step, String stepName, int attempt) {
    return new LlmRequest(job, "TeslaAI", step, stepName, attempt, "simulated", "prompt");
  }

  @Test
  void answersReadableTextThatNamesTheStartup() throws Exception {
    String text =
        provider(1, 0, 0, 0, 0)
            .start(request("j", 0, "market", 1))
            .answer()
            .toCompletableFuture()
            .get(1, TimeUnit.SECONDS);
    assertThat(text).contains("TeslaAI").hasSizeGreaterThan(40);
  }

  @Test
  void outcomesAreDeterministicUnderASeedAndFollowTheConfiguredRates() {
    SimulatedProvider a = provider(42, 0.1, 0.1, 0.1, 0.1);
    SimulatedProvider b = provider(42, 0.1, 0.1, 0.1, 0.1);
    Map<SimulatedProvider.Outcome, Integer> counts = new EnumMap<>(SimulatedProvider.Outcome.class);
    for (int i = 0; i < 10_000; i++) {
      LlmRequest r = request("job-" + i, i % 5, "market", 1 + i % 3);
      assertThat(a.outcomeOf(r)).isEqualTo(b.outcomeOf(r));
      counts.merge(a.outcomeOf(r), 1, Integer::sum);
    }
    // 10% each, 60% answers, within a generous statistical margin.
    assertThat(counts.get(SimulatedProvider.Outcome.ANSWER)).isBetween(5_600, 6_400);
    for (var failure :
        new SimulatedProvider.Outcome[] {
          SimulatedProvider.Outcome.TIMEOUT,
          SimulatedProvider.Outcome.RATE_LIMITED,
          SimulatedProvider.Outcome.SERVER_ERROR,
          SimulatedProvider.Outcome.BAD_REQUEST
        }) {
      assertThat(counts.get(failure)).as("%s", failure).isBetween(800, 1_200);
    }
  }

  @Test
  void aRetryOfTheSameStepRollsNewDice() {
    SimulatedProvider p = provider(7, 0, 0.5, 0, 0);
    long differing = 0;
    for (int i = 0; i < 200; i++) {
      if (p.outcomeOf(request("job-" + i, 0, "market", 1))
          != p.outcomeOf(request("job-" + i, 0, "market", 2))) differing++;
    }
    assertThat(differing).isGreaterThan(50);
  }

  @Test
  void failuresCarryTheirKindAndA429CarriesRetryAfter() {
    LlmCallException limited = failure(provider(1, 0, 1, 0, 0));
    assertThat(limited.kind()).isEqualTo(LlmCallException.Kind.RATE_LIMITED);
    assertThat(limited.retryAfter()).isEqualTo(Duration.ofSeconds(7));
    assertThat(failure(provider(1, 0, 0, 1, 0)).kind())
        .isEqualTo(LlmCallException.Kind.SERVER_ERROR);
    LlmCallException bad = failure(provider(1, 0, 0, 0, 1));
    assertThat(bad.kind()).isEqualTo(LlmCallException.Kind.BAD_REQUEST);
    assertThat(bad.retryable()).isFalse();
  }

  @Test
  void aSimulatedTimeoutNeverAnswers() {
    CompletableFuture<String> f =
        provider(1, 1, 0, 0, 0).start(request("j", 0, "market", 1)).answer().toCompletableFuture();
    assertThat(f).isNotDone();
  }

  @Test
  void latencyFollowsTheConfiguredMedian() throws Exception {
    SimulatedProvider p =
        new SimulatedProvider(
            new SimulatedProvider.Settings(
                3, Duration.ofMillis(100), 0, 0, 0, 0, 0, Duration.ZERO));
    long start = System.nanoTime();
    p.start(request("j", 0, "market", 1)).answer().toCompletableFuture().get(5, TimeUnit.SECONDS);
    assertThat(Duration.ofNanos(System.nanoTime() - start))
        .isGreaterThanOrEqualTo(Duration.ofMillis(95));
  }

  private static LlmCallException failure(SimulatedProvider p) {
    try {
      p.start(request("j", 0, "market", 1)).answer().toCompletableFuture().get(1, TimeUnit.SECONDS);
      throw new AssertionError("expected a failure");
    } catch (ExecutionException e) {
      return (LlmCallException) e.getCause();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
