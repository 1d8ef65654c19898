package io.reportcluster.tools.fakellm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The fixed-window budget, on a clock the test moves. */
class MinuteLimitsTest {
  private final AtomicLong now = new AtomicLong(1_000);

  private void advanceMs(long ms) {
    now.addAndGet(TimeUnit.MILLISECONDS.toNanos(ms));
  }

  @Test
  void requestsPastTheLimitAreRefusedUntilTheWindowCloses() {
    MinuteLimits limits = new MinuteLimits(2, 0, 60_000, now::get);
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
    MinuteLimits limits = new MinuteLimits(0, 100, 60_000, now::get);
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
    MinuteLimits limits = new MinuteLimits(1, 0, 1_000, now::get);
    limits.admit(1);
    now.addAndGet(1); // one nanosecond on: 999.999999 ms left, reported as 1000
    assertThat(limits.admit(1).resetMs()).isEqualTo(1_000);
    limits.reset();
    assertThat(limits.admit(1).admitted()).isTrue();
    assertThat(new MinuteLimits(0, 0, 1_000, now::get).limited()).isFalse();
  }
}
