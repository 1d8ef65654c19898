package io.reportcluster.tools.stats;

import java.util.Arrays;
import java.util.Collection;
import java.util.Locale;

/** The figures the tools report: nearest-rank percentiles and medians. */
public final class Stats {
  private Stats() {}

  /**
   * Nearest-rank percentile: the smallest sample with at least {@code p}% of the samples at or
   * below it. NaN when there are no samples.
   */
  public static double percentile(double[] samples, double p) {
    if (samples.length == 0) return Double.NaN;
    double[] sorted = samples.clone();
    Arrays.sort(sorted);
    int rank = (int) Math.ceil(p / 100.0 * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length, rank) - 1)];
  }

  /** The middle sample, or the mean of the two middle ones; NaN when there are none. */
  public static double median(Collection<Double> samples) {
    double[] sorted = samples.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    int n = sorted.length;
    if (n == 0) return Double.NaN;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }

  /** The value with the given format (Locale.ROOT), or {@code n/a} for NaN (no samples). */
  public static String format(String format, double value) {
    return Double.isNaN(value) ? "n/a" : String.format(Locale.ROOT, format, value);
  }
}
