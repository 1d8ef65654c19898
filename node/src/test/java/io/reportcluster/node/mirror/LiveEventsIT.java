package io.reportcluster.node.mirror;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import io.reportcluster.node.redis.RedisConnections;
import io.reportcluster.node.redis.RedisKeys;
import io.reportcluster.node.testkit.Await;
import io.reportcluster.node.testkit.TestRedis;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.testkit.TestSubscriber;
import org.apache.pekko.stream.testkit.javadsl.TestSink;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Live events fanned out to this node's SSE clients, from a real Redis channel. A client that
 * follows one job keeps a buffer of that job's events only: however many events of other jobs pass
 * while it does not read (more than its buffer of 256), its own are still there when it reads
 * again.
 */
@DisplayName("live events")
class LiveEventsIT {
  private static final Duration WAIT = Duration.ofSeconds(15);

  /**
   * Events of other jobs that pass while the client does not read: far more than its buffer (256).
   */
  private static final int FLOOD = 3000;

  private ActorSystem<Void> system;
  private TestRedis redis;
  private RedisConnections connections;
  private LiveEvents live;

  @BeforeEach
  void start() {
    system =
        ActorSystem.create(
            Behaviors.empty(),
            "live-events-test",
            ConfigFactory.parseString("pekko.actor.provider = local")
                .withFallback(ConfigFactory.load()));
    redis = new TestRedis();
    connections =
        new RedisConnections(
            redis.url(),
            new RedisKeys(redis.prefix()),
            Duration.ofSeconds(2),
            Duration.ofMillis(200));
    live = new LiveEvents(system, connections);
    connections.start();
    Await.until(WAIT, "subscribed to the events channel", connections::liveEventsUp);
  }

  @AfterEach
  void stop() {
    try {
      if (connections != null) connections.close();
      if (redis != null) redis.close();
    } finally {
      system.terminate();
    }
  }

  @Test
  @DisplayName(
      "a client following one job gets that job's events even after 3000 events of other jobs passed unread")
  void aJobClientsBufferHoldsOnlyItsJobsEvents() {
    String mine = "mine-" + UUID.randomUUID();
    // The client: follows one job, and reads only when the test requests.
    TestSubscriber.Probe<LiveEvents.Event> client =
        live.source(e -> e.jobId().equals(mine)).runWith(TestSink.create(system), system);
    // Another client that reads everything at once: it shows how far the events have travelled.
    Set<String> seen = ConcurrentHashMap.newKeySet();
    live.source(e -> true).runWith(Sink.foreach(e -> seen.add(e.jobId() + "/" + e.name())), system);

    // Both are attached (the client first): events flow, and the job's first one reaches the
    // client.
    client.ensureSubscription();
    String warmup = "warmup-" + UUID.randomUUID();
    Await.until(
        WAIT,
        "the reading client hears a first event",
        () -> {
          publish(warmup, "submitted", "PENDING");
          return seen.contains(warmup + "/submitted");
        });
    publish(mine, "submitted", "PENDING");
    client.request(1);
    assertThat(client.expectNext(WAIT).name()).isEqualTo("submitted");

    // The client stops reading. Its job moves on, a flood of other jobs' events passes, its job
    // ends.
    List<String> own = List.of("started", "step_completed", "retry", "started", "step_completed");
    for (String event : own) publish(mine, event, "STARTED");
    for (int i = 0; i < FLOOD; i++) publish("other-" + i, "step_completed", "STARTED");
    publish(mine, "succeeded", "SUCCESS");
    Await.until(
        WAIT,
        "every event went out (the hub runs at most 256 ahead of its slowest client)",
        () -> seen.contains(mine + "/succeeded"));

    // The client reads again: every event of its job is there, in order, and nothing else.
    client.request(own.size() + 1);
    List<String> received = new ArrayList<>();
    for (int i = 0; i <= own.size(); i++) {
      LiveEvents.Event e;
      try {
        e = client.expectNext(WAIT);
      } catch (AssertionError missing) {
        throw new AssertionError(
            "the client got only "
                + received
                + " of its job's events "
                + own
                + " + [succeeded]: the others were lost",
            missing);
      }
      assertThat(e.jobId()).as("job of event %d", i).isEqualTo(mine);
      received.add(e.name());
    }
    assertThat(received)
        .containsExactly(
            "started", "step_completed", "retry", "started", "step_completed", "succeeded");
    client.cancel();
  }

  private void publish(String jobId, String event, String state) {
    redis
        .commands()
        .publish(
            connections.keys().eventsChannel(),
            "{\"job_id\":\""
                + jobId
                + "\",\"event\":\""
                + event
                + "\",\"state\":\""
                + state
                + "\"}");
  }
}
