package io.reportcluster.node.mirror;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectReader;
import io.reportcluster.node.redis.RedisConnections;
import io.reportcluster.protocol.Json;
import io.reportcluster.protocol.LiveEvent;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
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
 * every server-sent-event client of this node. One subscription per node, however many clients. A
 * client too slow to keep up loses events rather than slowing the others (its buffer drops).
 */
public final class LiveEvents {
  private static final Logger log = LoggerFactory.getLogger(LiveEvents.class);

  /** One event, decoded, and its JSON as published (sent on to clients as it is). */
  public record Event(LiveEvent event, String json) {
    public String jobId() {
      return event.jobId();
    }

    /** The event's kind, which is also its SSE event name. */
    public String name() {
      return event.event();
    }

    public boolean terminal() {
      return event.terminal();
    }
  }

  private final RedisConnections redis;

  /**
   * An event with its arrival number on this node, to tell a new client's events from older ones.
   */
  private record Numbered(long seq, Event event) {}

  /** Fields a newer node adds to its events are skipped, not a reason to drop the event. */
  private static final ObjectReader READER =
      Json.MAPPER
          .readerFor(LiveEvent.class)
          .without(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  /** Events a client may lag behind before it loses its oldest ones. */
  private static final int CLIENT_BUFFER = 256;

  private final SourceQueueWithComplete<Numbered> queue;
  private final Source<Numbered, NotUsed> hub;
  private final AtomicLong arrived = new AtomicLong();

  /** SSE streams currently attached on this node. */
  private final AtomicInteger listeners = new AtomicInteger();

  public LiveEvents(ActorSystem<?> system, RedisConnections redis) {
    this.redis = redis;
    Pair<SourceQueueWithComplete<Numbered>, Source<Numbered, NotUsed>> pair =
        Source.<Numbered>queue(1024, OverflowStrategy.dropHead())
            .toMat(BroadcastHub.of(Numbered.class, 256), Keep.both())
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

  /**
   * Every event of the cluster, from the moment the source is materialized (see {@link
   * #source(Predicate)}).
   */
  public Source<Event, NotUsed> source() {
    return source(e -> true);
  }

  /**
   * The events {@code which} accepts, from the moment the source is materialized, through a buffer
   * of this client's own. A BroadcastHub starts a new consumer at the oldest element it still holds
   * (up to 255 older ones), so those are dropped by arrival number; and the hub never runs more
   * than its buffer ahead of its slowest consumer, so each consumer drains into its own buffer,
   * which drops its oldest events when its client does not keep up, instead of stalling the hub.
   * The filter comes before that buffer: a client that follows one job buffers only that job's
   * events, so however many events of other jobs pass while it is slow, they never push its own
   * out.
   */
  public Source<Event, NotUsed> source(Predicate<Event> which) {
    return Source.fromMaterializer(
            (mat, attributes) -> {
              listeners.incrementAndGet();
              long seenBefore = arrived.get();
              return hub.dropWhile(n -> n.seq() <= seenBefore)
                  .map(Numbered::event)
                  .filter(which::test)
                  .buffer(CLIENT_BUFFER, OverflowStrategy.dropHead())
                  .watchTermination(
                      (notUsed, done) -> {
                        done.whenComplete((d, failure) -> listeners.decrementAndGet());
                        return notUsed;
                      });
            })
        .mapMaterializedValue(f -> NotUsed.notUsed());
  }

  private void publishLocally(String json) {
    // Every node hears every event of the cluster: decode them only while a client listens.
    if (listeners.get() == 0) {
      arrived.incrementAndGet();
      return;
    }
    try {
      LiveEvent event = READER.readValue(json);
      // One pub/sub connection delivers on one thread: numbers follow the order of the queue.
      queue.offer(new Numbered(arrived.incrementAndGet(), new Event(event, json)));
    } catch (Exception e) {
      log.debug("ignored a malformed live event: {}", e.getMessage());
    }
  }
}
