package io.reportcluster.tools.loadgen;

import java.util.concurrent.Delayed;
import java.util.concurrent.TimeUnit;

/**
 * One job of the load. Its fields are written by whichever worker currently holds it (a job is in
 * the poll queue or in one worker's hands, never both) and read by the summary after the workers
 * are joined; the progress counters live in atomics elsewhere, so no field needs to be volatile.
 */
final class LoadJob implements Delayed {

  /** Where a job ended up; {@code null} in {@link #outcome} while it is still open. */
  enum Outcome {
    SUBMIT_FAILED,
    SUCCESS,
    FAILURE,
    REVOKED
  }

  final int index;
  String id;

  /** System.nanoTime() when the accepting submit answer arrived. */
  long acceptedAtNs;

  /** System.nanoTime() when the job is next due for a poll (only meaningful while queued). */
  long nextPollNs;

  Outcome outcome;

  /** Seconds from acceptance to the first poll that saw a terminal state. */
  double durationS = Double.NaN;

  LoadJob(int index) {
    this.index = index;
  }

  @Override
  public long getDelay(TimeUnit unit) {
    return unit.convert(nextPollNs - System.nanoTime(), TimeUnit.NANOSECONDS);
  }

  @Override
  public int compareTo(Delayed other) {
    return Long.compare(nextPollNs, ((LoadJob) other).nextPollNs);
  }
}
