package io.reportcluster.tools.journal;

import java.nio.file.Path;

/**
 * Which journal a tool reads: the node run profile the nodes were started with ({@code
 * config/*.conf}, so the tool reads with the node's own persistence and serialization settings)
 * and, when not null, the database URL and credentials that override the profile's, as
 * REPORTS_DB_URL and friends do for a node.
 */
public record JournalSource(Path profile, String url, String user, String password) {

  public static JournalSource profile(Path profile) {
    return new JournalSource(profile, null, null, null);
  }
}
