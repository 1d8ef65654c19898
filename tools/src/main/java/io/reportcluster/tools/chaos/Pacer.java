package io.reportcluster.tools.chaos;

import java.util.concurrent.TimeUnit;

/**
 * Decides when the next job may be submitted. auto: the jobs come in kills + 1 equal bursts, the
 * first at the start and one just before each event (the chaos thread releases it, waits until it
 * is accepted, gives the jobs a second to start, then strikes), so that every event hits a node
 * with jobs running and queued however fast the jobs finish; max: all at once; a number: that many
 * submits per second.
 */
final class Pacer {
  private final ChaosRun run;
  private final ChaosOptions o;
  private long nextNs = System.nanoTime();

  /** auto: jobs with an index below this may be submitted. */
  private int released;

  Pacer(ChaosRun run) {
    this.run = run;
    this.o = run.o;
    released = o.rate.equals("auto") ? share(0) : o.jobs;
  }

  /** The jobs released up to and including burst k. */
  int share(int k) {
    return (int) Math.round((double) o.jobs * (k + 1) / (o.kills + 1));
  }

  synchronized void release(int upTo) {
    released = Math.max(released, Math.min(upTo, o.jobs));
    notifyAll();
  }

  synchronized int released() {
    return released;
  }

  /** Waits until job index may go; false at the deadline. */
  synchronized boolean acquire(int index) {
    while (true) {
      long now = System.nanoTime();
      if (now > run.deadlineNs || run.stopChaos) return false;
      if (index < released && now >= nextNs) {
        if (o.fixedRate > 0) nextNs = now + (long) (1e9 / o.fixedRate);
        return true;
      }
      try {
        long waitMs =
            index < released ? Math.max(1, TimeUnit.NANOSECONDS.toMillis(nextNs - now)) : 200;
        wait(Math.min(waitMs, 200));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
  }
}
