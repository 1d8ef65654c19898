package io.reportcluster.protocol;

/**
 * The one vocabulary of job states, everywhere (REST, journal, Redis). Celery's names, so clients
 * of the old stack keep working.
 */
public enum JobState {
  /** Accepted and waiting for a caller. */
  PENDING,
  /** An attempt is running, or the job is between steps. */
  STARTED,
  /** Waiting for a backoff to expire before the failed step runs again. */
  RETRY,
  SUCCESS,
  FAILURE,
  /** Cancelled by a client. */
  REVOKED;

  public boolean isTerminal() {
    return this == SUCCESS || this == FAILURE || this == REVOKED;
  }
}
