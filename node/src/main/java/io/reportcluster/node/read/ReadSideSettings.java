package io.reportcluster.node.read;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * {@code reports.read-side}: the job table kept from the journal.
 *
 * @param enabled keep and serve it (off: {@code GET /api/v1/jobs} answers 503)
 * @param poolSize connections of its own pool, for the projection's writes and the list's reads
 * @param batchSize most events applied in one transaction
 * @param batchInterval longest wait to fill a batch
 * @param defaultLimit page size of a list that names none
 * @param maxLimit largest page a list may ask for
 */
public record ReadSideSettings(
    boolean enabled,
    int poolSize,
    int batchSize,
    Duration batchInterval,
    int defaultLimit,
    int maxLimit) {

  public static ReadSideSettings fromConfig(Config readSide) {
    return new ReadSideSettings(
        readSide.getBoolean("enabled"),
        readSide.getInt("pool-size"),
        readSide.getInt("batch-size"),
        readSide.getDuration("batch-interval"),
        readSide.getInt("default-limit"),
        readSide.getInt("max-limit"));
  }
}
