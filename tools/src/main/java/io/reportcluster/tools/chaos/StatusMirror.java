package io.reportcluster.tools.chaos;

import io.lettuce.core.KeyValue;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.reportcluster.node.redis.RedisKeys;
import io.reportcluster.node.redis.RedisUrls;
import io.reportcluster.protocol.JobState;
import io.reportcluster.protocol.LiveEvent;
import io.reportcluster.tools.ProtocolJson;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The cluster's Redis, as the nodes write it (keys named by the node's {@link RedisKeys}): each
 * job's status hash, the live events channel, each node's stats hash. The connections live as long
 * as the run (the JVM exits after it).
 */
final class StatusMirror {
  /**
   * A job's hash: its state and the node that runs it (null when the hash or the field is missing).
   */
  record Entry(String state, String node) {
    static final Entry NONE = new Entry(null, null);

    boolean terminal() {
      if (state == null) return false;
      try {
        return JobState.valueOf(state).isTerminal();
      } catch (IllegalArgumentException e) {
        return false;
      }
    }
  }

  private final RedisKeys keys;
  private final StatefulRedisConnection<String, String> redis;

  private StatusMirror(RedisKeys keys, StatefulRedisConnection<String, String> redis) {
    this.keys = keys;
    this.redis = redis;
  }

  /**
   * Connects, and hands every live event published on the cluster's channel to {@code listener}.
   */
  static StatusMirror connect(String url, String prefix, Consumer<LiveEvent> listener) {
    try {
      RedisKeys keys = new RedisKeys(prefix);
      RedisClient client = RedisClient.create(url);
      StatefulRedisConnection<String, String> redis = client.connect();
      redis.setTimeout(Duration.ofSeconds(2));
      redis.sync().ping();
      StatefulRedisPubSubConnection<String, String> live = client.connectPubSub();
      live.addListener(
          new RedisPubSubAdapter<String, String>() {
            @Override
            public void message(String channel, String message) {
              LiveEvent event = ProtocolJson.read(message, LiveEvent.class);
              if (event != null) listener.accept(event);
            }
          });
      live.sync().subscribe(keys.eventsChannel());
      return new StatusMirror(keys, redis);
    } catch (RuntimeException e) {
      throw new Fatal(
          "cannot connect to Redis at "
              + RedisUrls.withoutCredentials(url)
              + ": "
              + RedisUrls.scrub(e.getMessage(), url));
    }
  }

  /**
   * The hash of each of these jobs (read in one pipeline); a hash that cannot be read counts as
   * missing.
   */
  Map<String, Entry> read(Collection<String> jobIds) {
    RedisAsyncCommands<String, String> async = redis.async();
    Map<String, RedisFuture<List<KeyValue<String, String>>>> pending = new LinkedHashMap<>();
    for (String id : jobIds) pending.put(id, async.hmget(keys.job(id), "state", "node"));
    Map<String, Entry> out = new HashMap<>();
    for (Map.Entry<String, RedisFuture<List<KeyValue<String, String>>>> e : pending.entrySet()) {
      try {
        List<KeyValue<String, String>> kv = e.getValue().get(3, TimeUnit.SECONDS);
        out.put(
            e.getKey(), new Entry(kv.get(0).getValueOrElse(null), kv.get(1).getValueOrElse(null)));
      } catch (Exception ex) {
        out.put(e.getKey(), Entry.NONE);
      }
    }
    return out;
  }

  /** The calls_started a node last published in its stats hash, or null. */
  String publishedCallsStarted(String nodeName) {
    return redis.sync().hget(keys.node(nodeName), "calls_started");
  }
}
