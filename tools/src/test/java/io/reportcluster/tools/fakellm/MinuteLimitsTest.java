package io.reportcluster.tools.fakellm;

import static org.assertj.core.api.Assertions.assertThat;

import io.reportcluster.tools.fakellm.MinuteLimits.Window;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The fixed-window budget, on a clock the test moves. */
class MinuteLimitsTest {
  /**
   * The wall time when the limits are made: windows start this many ms after the epoch, or later.
   */
  private static final long EPOCH_MS = 1_700_000_000_000L;

  private final AtomicLong now = new AtomicLong(1_000);

  private void advanceMs(long ms) {
    now.addAndGet(TimeUnit.MILLISECONDS.toNanos(ms));
  }

  private MinuteLimits limits(int rpm, int tpm, long windowMs) {
    return new MinuteLimits(rpm, tpm, windowMs, now::get, () -> EPOCH_MS);
  }

  @Test
  void requestsPastTheLimitAreRefusedUntilTheWindowCloses() {
    MinuteLimits limits = limits(2, 0, 60_000);
    MinuteLimits.Verdict first = limits.admit(10);
    assertThat(first.admitted()).isTrue();
    assertThat(first.requestsLeft()).isEqualTo(1);
    assertThat(first.resetMs()).isEqualTo(60_000);
    advanceMs(1_000);
    assertThat(limits.admit(10).requestsLeft()).isZero();
    advanceMs(1_500);
    MinuteLimits.Verdict refused = limits.admit(10);
    assertThat(refused.exceeded()).isEqualTo(MinuteLimits.Exceeded.REQUESTS);
    assertThat(refused.resetMs()).isEqualTo(57_500);
    advanceMs(57_500);
    MinuteLimits.Verdict again = limits.admit(10);
    assertThat(again.admitted()).isTrue();
    assertThat(again.requestsLeft()).isEqualTo(1);
    assertThat(again.resetMs()).isEqualTo(60_000);
  }

  @Test
  void tokensCountInputAndAnswerAndARefusedRequestCostsNothing() {
    MinuteLimits limits = limits(0, 100, 60_000);
    assertThat(limits.admit(60).tokensLeft()).isEqualTo(40);
    MinuteLimits.Verdict refused = limits.admit(50);
    assertThat(refused.exceeded()).isEqualTo(MinuteLimits.Exceeded.TOKENS);
    assertThat(refused.tokensLeft()).isEqualTo(40);
    assertThat(refused.tokensAsked()).isEqualTo(50);
    // The refused 50 were not charged: 40 still fit.
    assertThat(limits.admit(40).tokensLeft()).isZero();
    assertThat(refused.requestLimit()).isZero();
  }

  @Test
  void theResetIsRoundedUpAndAResetRefillsAtOnce() {
    MinuteLimits limits = limits(1, 0, 1_000);
    limits.admit(1);
    now.addAndGet(1); // one nanosecond on: 999.999999 ms left, reported as 1000
    assertThat(limits.admit(1).resetMs()).isEqualTo(1_000);
    limits.reset();
    assertThat(limits.admit(1).admitted()).isTrue();
    assertThat(limits(0, 0, 1_000).limited()).isFalse();
  }

  @Test
  void eachWindowCountsWhatItAdmittedAndItsRefusalsAndOnlyTheLastIsIncomplete() {
    MinuteLimits limits = limits(2, 0, 60_000);
    assertThat(limits.windows()).isEmpty();
    limits.admit(10);
    advanceMs(1_000);
    limits.admit(20);
    advanceMs(1_000);
    limits.admit(30); // refused: it is counted as a 429, not charged
    assertThat(limits.windows()).containsExactly(new Window(EPOCH_MS, 2, 30, 1, false));

    // Its time is up, but no later window has opened: the load may have ended inside it.
    advanceMs(70_000);
    assertThat(limits.windows()).containsExactly(new Window(EPOCH_MS, 2, 30, 1, false));
    limits.admit(5);
    assertThat(limits.windows())
        .containsExactly(
            new Window(EPOCH_MS, 2, 30, 1, true), new Window(EPOCH_MS + 72_000, 1, 5, 0, false));
  }

  @Test
  void theLastThousandWindowsAreKeptAndAResetForgetsThem() {
    MinuteLimits limits = limits(1, 0, 1_000);
    for (int i = 0; i < MinuteLimits.KEPT_WINDOWS + 5; i++) {
      limits.admit(1);
      limits.admit(1);
      advanceMs(1_000);
    }
    List<Window> windows = limits.windows();
    assertThat(windows).hasSize(MinuteLimits.KEPT_WINDOWS);
    assertThat(windows.get(0)).isEqualTo(new Window(EPOCH_MS + 5_000, 1, 1, 1, true));
    assertThat(windows.get(windows.size() - 1).startedAtMs())
        .isEqualTo(EPOCH_MS + (MinuteLimits.KEPT_WINDOWS + 4) * 1_000L);
    assertThat(windows.subList(0, windows.size() - 1)).allMatch(Window::complete);
    assertThat(windows.get(windows.size() - 1).complete()).isFalse();

    limits.reset();
    assertThat(limits.windows()).isEmpty();
  }
}
