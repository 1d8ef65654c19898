package io.reportcluster.node.testkit;

import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.reportcluster.node.redis.RedisKeys;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The machine's shared Redis, used by one test under a key prefix of its own ({@code
 * rc-test-<random>:}); {@link #close()} deletes every key of that prefix.
 */
public final class TestRedis implements AutoCloseable {
  public static final String URL =
      System.getenv().getOrDefault("REPORTS_TEST_REDIS_URL", "redis://127.0.0.1:6379");

  private final String prefix =
      "rc-test-" + UUID.randomUUID().toString().replace("-", "").substring(0, 12) + ":";
  private final RedisClient client;
  private final StatefulRedisConnection<String, String> connection;

  public TestRedis() {
    client =
        RedisClient.create(
            io.lettuce.core.RedisURI.builder(io.lettuce.core.RedisURI.create(URL))
                .withTimeout(Duration.ofSeconds(5))
                .build());
    try {
      connection = client.connect();
    } catch (RuntimeException e) {
      client.shutdown();
      throw new IllegalStateException(
          "Redis at " + URL + " is needed by this test: " + e.getMessage(), e);
    }
  }

  public String prefix() {
    return prefix;
  }

  public String url() {
    return URL;
  }

  /** HOCON for a node on this Redis and prefix. */
  public String nodeConfig() {
    return "reports.redis.url = \"" + URL + "\"\nreports.redis.prefix = \"" + prefix + "\"\n";
  }

  public RedisCommands<String, String> commands() {
    return connection.sync();
  }

  /** Every key of this test's prefix. */
  public List<String> keys() {
    List<String> out = new ArrayList<>();
    ScanArgs args = ScanArgs.Builder.matches(new RedisKeys(prefix).everything()).limit(500);
    KeyScanCursor<String> cursor = commands().scan(ScanCursor.INITIAL, args);
    while (true) {
      out.addAll(cursor.getKeys());
      if (cursor.isFinished()) return out;
      cursor = commands().scan(cursor, args);
    }
  }

  @Override
  public void close() {
    try {
      List<String> keys = keys();
      if (!keys.isEmpty()) commands().del(keys.toArray(new String[0]));
    } finally {
      connection.close();
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }
}
