package io.reportcluster.tools.stats;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class StatsTest {

  @Test
  void percentileIsTheNearestRankSample() {
    double[] samples = {5, 1, 4, 2, 3, 6, 7, 8, 9, 10};
    assertThat(Stats.percentile(samples, 50)).isEqualTo(5);
    assertThat(Stats.percentile(samples, 99)).isEqualTo(10);
    assertThat(Stats.percentile(samples, 10)).isEqualTo(1);
    assertThat(Stats.percentile(samples, 0)).isEqualTo(1);
    assertThat(Stats.percentile(new double[] {42}, 99)).isEqualTo(42);
  }

  @Test
  void percentileLeavesItsSamplesAlone() {
    double[] samples = {3, 1, 2};
    Stats.percentile(samples, 50);
    assertThat(samples).containsExactly(3, 1, 2);
  }

  @Test
  void medianAveragesTheTwoMiddleSamplesOfAnEvenCount() {
    assertThat(Stats.median(List.of(9.0, 1.0, 5.0))).isEqualTo(5.0);
    assertThat(Stats.median(List.of(4.0, 1.0, 2.0, 3.0))).isEqualTo(2.5);
  }

  @Test
  void noSamplesReadAsNotAvailable() {
    assertThat(Stats.percentile(new double[0], 50)).isNaN();
    assertThat(Stats.median(List.of())).isNaN();
    assertThat(Stats.format("%.1f", Double.NaN)).isEqualTo("n/a");
    assertThat(Stats.format("%.2f", 1.005e1)).isEqualTo("10.05");
  }
}
