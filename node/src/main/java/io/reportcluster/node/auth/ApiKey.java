package io.reportcluster.node.auth;

/**
 * A client's key as the node knows it: never the token itself, only its public id, a name, a role
 * and its limits.
 *
 * @param id the public part of the token (rck_&lt;id&gt;_&lt;secret&gt;): names the key in job
 *     ownership, logs and metrics
 * @param submitsPerMinute most submits a minute on each node; 0: no limit
 * @param maxUnfinished most jobs not yet finished; 0: no limit
 * @param dailyTokens most tokens its jobs may use per UTC day; 0: no limit
 * @param dailyCostUsd most its jobs may cost per UTC day, US dollars; 0: no limit
 */
public record ApiKey(
    String id,
    String name,
    Role role,
    int submitsPerMinute,
    int maxUnfinished,
    long dailyTokens,
    double dailyCostUsd) {

  public enum Role {
    /** Submits, reads and cancels its own jobs. */
    CLIENT,
    /** Everything: every job, the cluster's figures, metrics, management writes. */
    ADMIN
  }

  public boolean isAdmin() {
    return role == Role.ADMIN;
  }
}
