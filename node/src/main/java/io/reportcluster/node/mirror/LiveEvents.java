package io.reportcluster.node.mirror;

import com.fasterxml.jackson.databind.JsonNode;
import io.reportcluster.node.http.Json;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.javadsl.BroadcastHub;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.SourceQueueWithComplete;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Job events of the whole cluster as they arrive on this node from Redis pub/sub, fanned out to
 * every server-sent-event client of this node. One subscription per node, however many clients.
 * A client too slow to keep up loses events rather than slowing the others (its buffer drops).
 */
public final class LiveEvents {
  private static final Logger log = LoggerFactory.getLogger(LiveEvents.class);

  /** One event: its job, its kind, the final-state flag and the JSON as published. */
  public record Event(String jobId, String event, boolean terminal, String json) {}

  private final RedisConnections redis;
  private final SourceQueueWithComplete<Event> queue;
  private final Source<Event, NotUsed> hub;

  public LiveEvents(ActorSystem<?> system, RedisConnections redis) {
    this.redis = redis;
    Pair<SourceQueueWithComplete<Event>, Source<Event, NotUsed>> pair = Source.<Event>queue(1024, OverflowStrategy.dropHead())
        .toMat(BroadcastHub.of(Event.class, 256), Keep.both())
        .run(system);
    this.queue = pair.first();
    this.hub = pair.second();
    // Keep the hub drained when no client listens, so it never backs up.
    hub.runWith(org.apache.pekko.stream.javadsl.Sink.ignore(), system);
    redis.onEvent(this::publishLocally);
  }

  /** True when events from other nodes can arrive (the pub/sub subscription is up). */
  public boolean available() {
    return redis.liveEventsUp();
  }

  public Source<Event, NotUsed> source() {
    return hub;
  }

  private void publishLocally(String json) {
    try {
      JsonNode node = Json.MAPPER.readTree(json);
      String state = node.path("state").asText("");
      boolean terminal = state.equals("SUCCESS") || state.equals("FAILURE") || state.equals("REVOKED");
      queue.offer(new Event(node.path("job_id").asText(), node.path("event").asText(), terminal, json));
    } catch (Exception e) {
      log.debug("ignored a malformed live event: {}", e.getMessage());
    }
  }
}
