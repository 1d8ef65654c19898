package io.reportcluster.node.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class RetryPolicyTest {
  private final RetryPolicy policy =
      new RetryPolicy(3, Duration.ofSeconds(2), Duration.ofSeconds(300), 0.5);

  @Test
  void backoffDoublesPerRetryWithinItsJitterBand() {
    for (int retry = 1; retry <= 5; retry++) {
      long full = 2000L << (retry - 1);
      for (int i = 0; i < 200; i++) {
        assertThat(policy.delay(retry, null).toMillis())
            .as("retry %d", retry)
            .isBetween(full / 2, full);
      }
    }
  }

  @Test
  void backoffIsCapped() {
    assertThat(policy.delay(20, null)).isLessThanOrEqualTo(Duration.ofSeconds(300));
    assertThat(policy.delay(Integer.MAX_VALUE, null)).isLessThanOrEqualTo(Duration.ofSeconds(300));
  }

  @Test
  void jitterSpreadsRetriesOfManyJobs() {
    long distinct =
        java.util.stream.IntStream.range(0, 100)
            .mapToLong(i -> policy.delay(3, null).toMillis())
            .distinct()
            .count();
    assertThat(distinct).isGreaterThan(20);
  }

  @Test
  void aRetryAfterLongerThanTheBackoffWins() {
    assertThat(policy.delay(1, Duration.ofSeconds(30))).isEqualTo(Duration.ofSeconds(30));
    assertThat(policy.delay(1, Duration.ofMillis(1))).isGreaterThanOrEqualTo(Duration.ofSeconds(1));
  }
}
