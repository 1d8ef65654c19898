package io.reportcluster.node.it;

import io.lettuce.core.RedisClient;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanIterator;
import io.lettuce.core.api.StatefulRedisConnection;
import java.util.ArrayList;
import java.util.List;

/** Removes a test's keys from the shared Redis (tests use a unique prefix each). */
final class RedisKeys {
  private RedisKeys() {}

  static void deleteByPrefix(String prefix) {
    RedisClient client = RedisClient.create("redis://127.0.0.1:6379");
    try (StatefulRedisConnection<String, String> c = client.connect()) {
      List<String> keys = new ArrayList<>();
      ScanIterator.scan(c.sync(), ScanArgs.Builder.matches(prefix + "*").limit(500)).forEachRemaining(keys::add);
      if (!keys.isEmpty()) c.sync().del(keys.toArray(new String[0]));
    } finally {
      client.shutdown();
    }
  }
}
