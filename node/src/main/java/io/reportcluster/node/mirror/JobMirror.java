package io.reportcluster.node.mirror;

import io.reportcluster.protocol.Api.JobView;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Where a job announces its transitions so that others can see them without asking it: the Redis
 * status mirror and live events. Announcing never blocks and never fails the job; the journal stays
 * the source of truth.
 */
public interface JobMirror {

  /** What happened, as named in live events. */
  enum Change {
    SUBMITTED,
    STARTED,
    STEP_COMPLETED,
    RETRY,
    /** A step moved to the next provider of its chain. */
    FALLBACK,
    SUCCEEDED,
    FAILED,
    REVOKED,
    /** A client retried a FAILURE job: it runs again from its failed step. */
    RESUMED,
    /** The job's entity started again (after a restart, or on another node). */
    RECOVERED,
    /** A transition that missed Redis during an outage, written once it is back. */
    RESYNC,
    /** A running job's periodic re-announcement; repairs a flushed mirror, not published. */
    REFRESH
  }

  /**
   * @param seq the job's last persisted sequence number when it announced this view
   * @param incarnation when the announcing copy of the job started (epoch ms): a copy that was
   *     frozen and woke after the job moved elsewhere has a lower seq or an older incarnation, so
   *     its stale views are fenced off
   */
  void jobChanged(JobView view, Change change, long seq, long incarnation);

  /** The mirrored view of a job, if the mirror has it and is reachable. */
  CompletionStage<Optional<JobView>> read(String jobId);

  /**
   * How often a running job re-announces itself ({@link Change#REFRESH}), so that a flushed or
   * stale mirror is right again within this bound; empty: never.
   */
  Optional<Duration> refreshInterval();

  /** No mirror: the embedded default without Redis. */
  JobMirror NONE =
      new JobMirror() {
        @Override
        public void jobChanged(JobView view, Change change, long seq, long incarnation) {}

        @Override
        public CompletionStage<Optional<JobView>> read(String jobId) {
          return CompletableFuture.completedFuture(Optional.empty());
        }

        @Override
        public Optional<Duration> refreshInterval() {
          return Optional.empty();
        }
      };
}
