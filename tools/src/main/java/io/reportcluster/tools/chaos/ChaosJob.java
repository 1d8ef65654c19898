package io.reportcluster.tools.chaos;

import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * One submitted job, named by its Idempotency-Key (so a retried submit reaches the same job). Its
 * id is the one the node derives from the key, until a node answers another.
 */
final class ChaosJob {
  final int index;
  final String key;
  volatile String id;

  /** 0: not answered yet; 202 accepted; 200 accepted earlier (a retry found it); -1 gave up. */
  volatile int outcome;

  volatile String acceptedBy;

  /** The journal has the job's final event. */
  volatile boolean terminal;

  ChaosJob(int index, String key) {
    this.index = index;
    this.key = key;
    this.id =
        UUID.nameUUIDFromBytes(("idempotency-key:" + key).getBytes(StandardCharsets.UTF_8))
            .toString();
  }

  boolean accepted() {
    return outcome == 202 || outcome == 200;
  }
}
