package io.reportcluster.node.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.reportcluster.node.job.ReportJob;
import io.reportcluster.node.mirror.LiveEvents;
import io.reportcluster.protocol.Api.JobView;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.http.javadsl.marshalling.sse.EventStreamMarshalling;
import org.apache.pekko.http.javadsl.model.sse.ServerSentEvent;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Server-sent events: one job's progress ({@code /api/v1/jobs/{id}/events}) or every job's
 * ({@code /api/v1/events}), served by any node whatever node runs the job, because events
 * travel through Redis pub/sub. A client first receives the job's current state, then each
 * transition, and the stream ends after the final one. Heartbeats keep idle streams open.
 * Without Redis, a job stream says so and falls back to polling the job.
 */
public final class EventRoutes extends AllDirectives {
  /** How often a stream whose live events are down polls its job instead. */
  private static final Duration POLL = Duration.ofSeconds(1);
  /** How often a live stream checks the job itself, in case its final event was lost. */
  private static final Duration WATCHDOG = Duration.ofSeconds(5);

  private final ClusterSharding sharding;
  private final LiveEvents live; // null when no Redis is configured
  private final Duration askTimeout;
  private final Duration heartbeat;

  public EventRoutes(ActorSystem<?> system, LiveEvents live, Duration askTimeout, Duration heartbeat) {
    this.sharding = ClusterSharding.get(system);
    this.live = live;
    this.askTimeout = askTimeout;
    this.heartbeat = heartbeat;
  }

  public Route routes() {
    return pathPrefix(PathMatchers.segment("api").slash("v1"), () -> concat(
        path(PathMatchers.segment("jobs").slash(PathMatchers.segment()).slash("events"), id -> get(() -> jobEvents(id))),
        path("events", () -> get(this::allEvents))));
  }

  private Route jobEvents(String id) {
    if (!JobRoutes.isJobId(id)) return complete(JobRoutes.unknownJob(id));
    EntityRef<ReportJob.Command> job = sharding.entityRefFor(ReportJob.TYPE_KEY, id);
    return onComplete(JobRoutes.askView(job, askTimeout), tried -> {
      if (tried.isFailure() || tried.get().isEmpty()) {
        return complete(tried.isFailure()
            ? Json.error(org.apache.pekko.http.javadsl.model.StatusCodes.SERVICE_UNAVAILABLE, "unavailable",
                "the job did not answer; retry")
            : JobRoutes.unknownJob(id));
      }
      JobView now = tried.get().get();
      if (now.state().isTerminal()) return stream(Source.single(stateEvent(now)));
      return stream(live != null && live.available() ? liveJobEvents(id, job) : polledJobEvents(job));
    });
  }

  /** Current state, then live events of this job until its final one. */
  private Source<ServerSentEvent, NotUsed> liveJobEvents(String id, EntityRef<ReportJob.Command> job) {
    // Subscribed before the state is read (prepend materializes both), so nothing falls between.
    // Filtered before the client's buffer: other jobs' events never take this job's place in it.
    Source<LiveEvents.Event, NotUsed> events = live.source(e -> e.jobId().equals(id));
    Source<LiveEvents.Event, NotUsed> state = Source.completionStage(JobRoutes.askView(job, askTimeout))
        .mapConcat(v -> v.map(view -> List.of(asEvent(view, "state"))).orElse(List.of()));
    Source<LiveEvents.Event, NotUsed> watchdog = Source.tick(WATCHDOG, WATCHDOG, NotUsed.notUsed())
        .mapAsync(1, t -> JobRoutes.askView(job, askTimeout).exceptionally(f -> Optional.empty()))
        .mapConcat(v -> v.filter(view -> view.state().isTerminal()).map(view -> List.of(asEvent(view, "state")))
            .orElse(List.of()))
        .mapMaterializedValue(c -> NotUsed.notUsed());
    return events.merge(watchdog).prepend(state)
        .statefulMapConcat(EventRoutes::notOlderThanTheState)
        .takeWhile(e -> !e.terminal(), true)
        .map(e -> ServerSentEvent.create(e.json(), e.event()));
  }

  /**
   * Lets the first element (the state) through, then drops events older than it: transitions
   * that were on their way while the client subscribed are already in the state it got.
   */
  private static org.apache.pekko.japi.function.Function<LiveEvents.Event, Iterable<LiveEvents.Event>> notOlderThanTheState() {
    Version[] state = {null};
    boolean[] first = {true};
    return e -> {
      Version v = Version.of(e.json());
      if (first[0]) {
        first[0] = false;
        state[0] = v;
        return List.of(e);
      }
      return v != null && state[0] != null && v.isBefore(state[0]) ? List.of() : List.of(e);
    };
  }

  /** Where a job stands: its last persisted change, then its count of attempts started. */
  private record Version(java.time.Instant at, int attempts) {
    static Version of(String json) {
      try {
        com.fasterxml.jackson.databind.JsonNode n = Json.MAPPER.readTree(json);
        com.fasterxml.jackson.databind.JsonNode at = n.hasNonNull("at") ? n.get("at") : n.get("updated_at");
        if (at == null || at.isNull()) return null;
        return new Version(java.time.Instant.parse(at.asText()), n.path("attempts").asInt());
      } catch (Exception e) {
        return null;
      }
    }

    boolean isBefore(Version other) {
      int c = at.compareTo(other.at);
      return c < 0 || (c == 0 && attempts < other.attempts);
    }
  }

  /** Without live events: say so, then poll the job and send each change. */
  private Source<ServerSentEvent, NotUsed> polledJobEvents(EntityRef<ReportJob.Command> job) {
    ServerSentEvent notice = ServerSentEvent.create(
        "{\"detail\":\"live events are unavailable (Redis unreachable); polling the job every second\"}", "notice");
    Source<ServerSentEvent, NotUsed> polled = Source.tick(Duration.ZERO, POLL, NotUsed.notUsed())
        .mapAsync(1, t -> JobRoutes.askView(job, askTimeout).exceptionally(f -> Optional.empty()))
        .mapConcat(v -> v.map(List::of).orElse(List.of()))
        .statefulMapConcat(() -> {
          String[] last = {null};
          return view -> {
            String version = view.state() + "@" + view.updatedAt() + "#" + view.attempts();
            if (version.equals(last[0])) return List.<JobView>of();
            last[0] = version;
            return List.of(view);
          };
        })
        .takeWhile(view -> !view.state().isTerminal(), true)
        .map(EventRoutes::stateEvent)
        .mapMaterializedValue(c -> NotUsed.notUsed());
    return Source.single(notice).concat(polled);
  }

  private Route allEvents() {
    if (live == null) {
      return complete(Json.error(org.apache.pekko.http.javadsl.model.StatusCodes.SERVICE_UNAVAILABLE,
          "live_events_disabled", "this node runs without Redis; configure reports.redis.url for live events"));
    }
    Source<ServerSentEvent, NotUsed> events = live.source().map(e -> ServerSentEvent.create(e.json(), e.event()));
    if (!live.available()) {
      events = events.prepend(Source.single(ServerSentEvent.create(
          "{\"detail\":\"live events are unavailable until Redis is reachable again\"}", "notice")));
    }
    return stream(events);
  }

  private Route stream(Source<ServerSentEvent, NotUsed> events) {
    return completeOK(events.keepAlive(heartbeat, ServerSentEvent::heartbeat), EventStreamMarshalling.toEventStream());
  }

  private static LiveEvents.Event asEvent(JobView view, String event) {
    return new LiveEvents.Event(view.jobId(), event, view.state().isTerminal(), json(view));
  }

  private static ServerSentEvent stateEvent(JobView view) {
    return ServerSentEvent.create(json(view), "state");
  }

  private static String json(JobView view) {
    try {
      return Json.MAPPER.writeValueAsString(view);
    } catch (JsonProcessingException e) {
      return "{}";
    }
  }
}
