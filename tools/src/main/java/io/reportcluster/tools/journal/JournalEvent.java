package io.reportcluster.tools.journal;

import io.reportcluster.node.job.ReportJob;

/**
 * One event of a job as the journal holds it: the typed event, decoded by the node's own
 * serialization, its sequence number, and when the journal wrote it (epoch ms, the envelope's
 * timestamp).
 */
public record JournalEvent(long sequenceNr, long writtenAtMs, ReportJob.Event event) {

  /** Succeeded, JobFailed or Cancelled: the job's last event. */
  public boolean isFinal() {
    return event instanceof ReportJob.Succeeded
        || event instanceof ReportJob.JobFailed
        || event instanceof ReportJob.Cancelled;
  }
}
