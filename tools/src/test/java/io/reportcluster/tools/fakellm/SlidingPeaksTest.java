package io.reportcluster.tools.fakellm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The densest minute of admissions, sliding, on a clock the test moves. */
class SlidingPeaksTest {
  private final AtomicLong now = new AtomicLong(-5_000);
  private final SlidingPeaks peaks = new SlidingPeaks(60_000, now::get);

  private void atMs(long ms) {
    now.set(-5_000 + TimeUnit.MILLISECONDS.toNanos(ms));
  }

  @Test
  void aBurstAcrossTwoFixedWindowsIsCountedWhole() {
    atMs(0);
    peaks.admitted(10);
    atMs(50_000);
    for (int i = 0; i < 3; i++) peaks.admitted(10);
    atMs(70_000);
    peaks.admitted(10);
    peaks.admitted(10);
    // Fixed minutes from 0 would count 4 and 2; the minute (10 s, 70 s] holds 5.
    assertThat(peaks.maxRequests()).isEqualTo(5);
    assertThat(peaks.maxTokens()).isEqualTo(50);
  }

  @Test
  void theIntervalIsHalfOpenAWindowApartIsNotTogether() {
    atMs(0);
    peaks.admitted(1);
    atMs(60_000);
    peaks.admitted(1);
    assertThat(peaks.maxRequests()).isEqualTo(1);
    now.addAndGet(TimeUnit.MILLISECONDS.toNanos(60_000) - 1);
    peaks.admitted(1);
    assertThat(peaks.maxRequests()).isEqualTo(2);
  }

  @Test
  void theTokensPeakMayFallInAnotherMinuteThanTheRequestsPeak() {
    atMs(0);
    peaks.admitted(1_000);
    atMs(61_000);
    for (int i = 0; i < 3; i++) peaks.admitted(10);
    assertThat(peaks.maxRequests()).isEqualTo(3);
    assertThat(peaks.maxTokens()).isEqualTo(1_000);
  }

  @Test
  void aResetForgetsThePeaksAndTheRecentAdmissions() {
    atMs(0);
    peaks.admitted(7);
    peaks.admitted(7);
    peaks.reset();
    assertThat(peaks.maxRequests()).isZero();
    assertThat(peaks.maxTokens()).isZero();
    atMs(1_000);
    peaks.admitted(7);
    assertThat(peaks.maxRequests()).isEqualTo(1);
    assertThat(peaks.maxTokens()).isEqualTo(7);
  }
}
