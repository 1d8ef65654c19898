package io.reportcluster.node.mirror;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.reportcluster.node.redis.RedisConnections;
import io.reportcluster.node.redis.RedisKeys;
import io.reportcluster.node.testkit.Await;
import io.reportcluster.node.testkit.TestRedis;
import io.reportcluster.protocol.Api.JobView;
import io.reportcluster.protocol.JobState;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The mirror keeps the newest copy of a job: a node that was frozen and wakes after the job moved
 * (lower journal sequence number, or same number from an older incarnation) cannot write its stale
 * view over the new owner's.
 */
class StatusMirrorFencingIT {
  private TestRedis redis;
  private RedisConnections connections;
  private RedisStatusMirror mirror;

  @BeforeEach
  void connect() {
    redis = new TestRedis();
    connections =
        new RedisConnections(
            redis.url(),
            new RedisKeys(redis.prefix()),
            Duration.ofSeconds(2),
            Duration.ofMillis(200));
    connections.start();
    Await.until(Duration.ofSeconds(10), "Redis connected", connections::isUp);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    mirror =
        new RedisStatusMirror(
            connections,
            Duration.ofHours(1),
            Duration.ofSeconds(10),
            100,
            registry,
            registry.timer("lag"));
  }

  @AfterEach
  void close() {
    connections.close();
    redis.close();
  }

  private static JobView view(JobState state, String node) {
    Instant now = Instant.now();
    return new JobView(
        "job-1",
        "Acme",
        "simulated",
        state,
        1,
        null,
        List.of(),
        null,
        null,
        node,
        now,
        now,
        null,
        null,
        null);
  }

  private Map<String, String> hash() {
    return redis.commands().hgetall(connections.keys().job("job-1"));
  }

  private void announceAndSettle(JobView v, long seq, long incarnation) {
    mirror.jobChanged(v, JobMirror.Change.REFRESH, seq, incarnation);
    Await.until(Duration.ofSeconds(5), "write confirmed", () -> mirror.pendingRepairs() == 0);
  }

  @Test
  void aStaleCopyCannotOverwriteTheNewOwnersView() {
    announceAndSettle(view(JobState.SUCCESS, "node-b"), 7, 2_000);
    assertThat(hash()).containsEntry("state", "SUCCESS").containsEntry("node", "node-b");

    announceAndSettle(view(JobState.STARTED, "node-a"), 2, 1_000); // frozen node woke up
    announceAndSettle(view(JobState.STARTED, "node-a"), 7, 1_000); // same seq, older copy

    assertThat(hash()).containsEntry("state", "SUCCESS").containsEntry("node", "node-b");
    assertThat(redis.commands().ttl(connections.keys().job("job-1"))).isBetween(1L, 3600L);
  }

  @Test
  void theSameCopyMovesForwardAndANewerSequenceWinsWhateverItsCopy() {
    announceAndSettle(view(JobState.PENDING, "node-a"), 1, 1_000);
    announceAndSettle(view(JobState.STARTED, "node-a"), 1, 1_000); // runtime change, same seq
    assertThat(hash()).containsEntry("state", "STARTED");
    assertThat(redis.commands().ttl(connections.keys().job("job-1"))).isEqualTo(-1L);

    announceAndSettle(view(JobState.SUCCESS, "node-a"), 6, 1_000);
    assertThat(hash()).containsEntry("state", "SUCCESS").containsEntry("seq", "6");
  }
}
