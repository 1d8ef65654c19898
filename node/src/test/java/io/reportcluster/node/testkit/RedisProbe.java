package io.reportcluster.node.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import io.reportcluster.node.redis.RedisKeys;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The test's own view of Redis, as an operator with {@code redis-cli} would have it: the mirror's
 * hashes and TTLs, the node list, and the live events channel. Everything it reads or writes is
 * under one prefix that no other test uses, and {@link #deleteAll()} removes exactly those keys.
 */
public final class RedisProbe implements AutoCloseable {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private final ClientResources resources;
  private final RedisClient client;
  private final StatefulRedisConnection<String, String> connection;
  private final RedisCommands<String, String> redis;
  private final String prefix;
  private final RedisKeys keys;
  private final List<JsonNode> events = new CopyOnWriteArrayList<>();
  private StatefulRedisPubSubConnection<String, String> pubSub;

  /** A prefix of its own for one test class: {@code rc-test-<random>:}. */
  public static String uniquePrefix() {
    return "rc-test-" + UUID.randomUUID().toString().replace("-", "").substring(0, 12) + ":";
  }

  public RedisProbe(String url, String prefix) {
    if (!prefix.startsWith("rc-test-"))
      throw new IllegalArgumentException("test keys must start with rc-test-");
    this.prefix = prefix;
    this.keys = new RedisKeys(prefix);
    // The probe itself reconnects quickly after a restart of a private server.
    this.resources =
        ClientResources.builder().reconnectDelay(Delay.constant(Duration.ofMillis(100))).build();
    this.client = RedisClient.create(resources, RedisURI.create(url));
    client.setOptions(
        ClientOptions.builder()
            .timeoutOptions(TimeoutOptions.enabled(Duration.ofSeconds(3)))
            .build());
    this.connection = client.connect(StringCodec.UTF8);
    this.redis = connection.sync();
  }

  public String prefix() {
    return prefix;
  }

  public String jobKey(String jobId) {
    return keys.job(jobId);
  }

  public String nodeKey(String nodeName) {
    return keys.node(nodeName);
  }

  public String nodesKey() {
    return keys.nodes();
  }

  public String eventsChannel() {
    return keys.eventsChannel();
  }

  /** HGETALL of the job's mirror hash (empty when there is none). */
  public Map<String, String> job(String jobId) {
    return redis.hgetall(jobKey(jobId));
  }

  public Map<String, String> hash(String key) {
    return redis.hgetall(key);
  }

  /** TTL in seconds: -1 without expiry, -2 when the key does not exist. */
  public long ttl(String key) {
    return redis.ttl(key);
  }

  public long pttl(String key) {
    return redis.pttl(key);
  }

  public Set<String> members(String key) {
    return redis.smembers(key);
  }

  public void hset(String key, String field, String value) {
    requireOwn(key);
    redis.hset(key, field, value);
  }

  public void del(String key) {
    requireOwn(key);
    redis.del(key);
  }

  /**
   * Subscribes to the events channel and returns once Redis confirmed the subscription, so no event
   * published afterwards can be missed.
   */
  public void subscribeEvents() {
    pubSub = client.connectPubSub(StringCodec.UTF8);
    pubSub.addListener(
        new RedisPubSubAdapter<>() {
          @Override
          public void message(String channel, String message) {
            try {
              events.add(MAPPER.readTree(message));
            } catch (Exception e) {
              events.add(MAPPER.createObjectNode().put("malformed", message));
            }
          }
        });
    pubSub.sync().subscribe(eventsChannel());
  }

  /** Every event received so far, in arrival order. */
  public List<JsonNode> events() {
    return List.copyOf(events);
  }

  /** The events of one job received so far, in arrival order. */
  public List<JsonNode> eventsOf(String jobId) {
    return events.stream().filter(e -> jobId.equals(e.path("job_id").asText())).toList();
  }

  /** Deletes every key under this probe's prefix (SCAN, never KEYS); returns how many. */
  public long deleteAll() {
    long deleted = 0;
    ScanCursor cursor = ScanCursor.INITIAL;
    ScanArgs match = ScanArgs.Builder.matches(keys.everything()).limit(500);
    do {
      KeyScanCursor<String> page = redis.scan(cursor, match);
      for (String key : page.getKeys()) {
        requireOwn(key);
        deleted += redis.del(key);
      }
      cursor = page;
    } while (!cursor.isFinished());
    return deleted;
  }

  private void requireOwn(String key) {
    if (!key.startsWith(prefix))
      throw new IllegalArgumentException(key + " is not under " + prefix);
  }

  @Override
  public void close() {
    if (pubSub != null) pubSub.close();
    connection.close();
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    resources.shutdown(0, 2, java.util.concurrent.TimeUnit.SECONDS);
  }
}
