package io.reportcluster.node.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.reportcluster.node.auth.Caller;
import io.reportcluster.node.job.Jobs;
import io.reportcluster.node.mirror.LiveEvents;
import io.reportcluster.protocol.Api.JobView;
import io.reportcluster.protocol.Json;
import io.reportcluster.protocol.LiveEvent;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.marshalling.sse.EventStreamMarshalling;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RetryAfter;
import org.apache.pekko.http.javadsl.model.sse.ServerSentEvent;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Server-sent events: one job's progress ({@code /api/v1/jobs/{id}/events}) or every job's ({@code
 * /api/v1/events}), served by any node whatever node runs the job, because events travel through
 * Redis pub/sub. A client first receives the job's current state, then each transition, and the
 * stream ends after the final one. Heartbeats keep idle streams open. Without Redis, a job stream
 * says so and falls back to polling the job.
 *
 * <p>Open streams are counted per node, both kinds together, and capped at {@code
 * reports.http.max-sse-streams}: past it a new stream is refused with {@code 503 too_many_streams}
 * and Retry-After, so idle listeners cannot take every connection of the node (submits share them).
 * A stream's slot is given back when it ends or its client goes.
 */
public final class EventRoutes extends AllDirectives {
  /** Retry-After (seconds) of a stream refused because this node's streams are all taken. */
  private static final long STREAMS_RETRY_AFTER_SECONDS = 5;

  /**
   * A slot taken for a stream whose response never started (the client left before it was sent) is
   * given back after this long; a stream that starts later is counted again then.
   */
  private static final Duration UNSTARTED_SLOT = Duration.ofSeconds(10);

  /**
   * {@code heartbeat}: an idle stream's keep-alive. {@code poll}: how often a stream whose live
   * events are down polls its job instead. {@code watchdog}: how often a live stream checks the job
   * itself, in case its final event was lost. {@code maxStreams}: streams open at once.
   */
  public record Settings(Duration heartbeat, Duration poll, Duration watchdog, int maxStreams) {}

  private final Jobs jobs;
  private final Optional<LiveEvents> live;
  private final Settings settings;
  private final ActorSystem<?> system;

  /** SSE streams of this node: started, or answered and about to start. */
  private final AtomicInteger openStreams = new AtomicInteger();

  public EventRoutes(
      ActorSystem<?> system, Jobs jobs, Optional<LiveEvents> live, Settings settings) {
    this.system = system;
    this.jobs = jobs;
    this.live = live;
    this.settings = settings;
  }

  public Route routes() {
    return pathPrefix(
        PathMatchers.segment("api").slash("v1"),
        () ->
            concat(
                path(
                    PathMatchers.segment("jobs").slash(PathMatchers.segment()).slash("events"),
                    id -> get(() -> AuthGate.caller(caller -> jobEvents(id, caller)))),
                path("events", () -> get(() -> AuthGate.caller(this::allEvents)))));
  }

  private Route jobEvents(String id, Caller caller) {
    String owner = caller.onlyOwner();
    return onComplete(
        jobs.viewFromEntity(id)
            .thenApply(v -> v.filter(view -> owner == null || owner.equals(view.owner()))),
        tried -> {
          if (tried.isFailure() || tried.get().isEmpty()) {
            return complete(
                tried.isFailure()
                    ? JsonResponses.error(
                        StatusCodes.SERVICE_UNAVAILABLE,
                        "unavailable",
                        "the job did not answer; retry")
                    : JsonResponses.unknownJob(id));
          }
          JobView now = tried.get().get();
          if (now.state().isTerminal()) return stream(Source.single(stateEvent(now)));
          return stream(
              live.filter(LiveEvents::available)
                  .map(l -> liveJobEvents(l, id))
                  .orElseGet(() -> polledJobEvents(id)));
        });
  }

  /** Current state, then live events of this job until its final one. */
  private Source<ServerSentEvent, NotUsed> liveJobEvents(LiveEvents live, String id) {
    // Subscribed before the state is read (prepend materializes both), so nothing falls between.
    // Filtered before the client's buffer: other jobs' events never take this job's place in it.
    Source<LiveEvents.Event, NotUsed> events = live.source(e -> e.jobId().equals(id));
    Source<LiveEvents.Event, NotUsed> state =
        Source.completionStage(jobs.askView(id))
            .mapConcat(v -> v.map(view -> List.of(asEvent(view))).orElse(List.of()));
    Source<LiveEvents.Event, NotUsed> watchdog =
        Source.tick(settings.watchdog(), settings.watchdog(), NotUsed.notUsed())
            .mapAsync(1, t -> jobs.askView(id).exceptionally(f -> Optional.empty()))
            .mapConcat(
                v ->
                    v.filter(view -> view.state().isTerminal())
                        .map(view -> List.of(asEvent(view)))
                        .orElse(List.of()))
            .mapMaterializedValue(c -> NotUsed.notUsed());
    return events
        .merge(watchdog)
        .prepend(state)
        .statefulMapConcat(EventRoutes::notOlderThanTheState)
        .takeWhile(e -> !e.terminal(), true)
        .map(EventRoutes::sse);
  }

  /**
   * Lets the first element (the state) through, then drops events older than it: transitions that
   * were on their way while the client subscribed are already in the state it got.
   */
  private static org.apache.pekko.japi.function.Function<
          LiveEvents.Event, Iterable<LiveEvents.Event>>
      notOlderThanTheState() {
    Version[] state = {null};
    boolean[] first = {true};
    return e -> {
      Version v = Version.of(e.event());
      if (first[0]) {
        first[0] = false;
        state[0] = v;
        return List.of(e);
      }
      return v != null && state[0] != null && v.isBefore(state[0]) ? List.of() : List.of(e);
    };
  }

  /** Where a job stands: its last persisted change, then its count of attempts started. */
  private record Version(Instant at, int attempts) {
    static Version of(LiveEvent e) {
      return e.at() == null ? null : new Version(e.at(), e.attempts());
    }

    boolean isBefore(Version other) {
      int c = at.compareTo(other.at);
      return c < 0 || (c == 0 && attempts < other.attempts);
    }
  }

  /** Without live events: say so, then poll the job and send each change. */
  private Source<ServerSentEvent, NotUsed> polledJobEvents(String id) {
    ServerSentEvent notice =
        ServerSentEvent.create(
            "{\"detail\":\"live events are unavailable (Redis unreachable); polling the job every "
                + settings.poll().toMillis()
                + " ms\"}",
            "notice");
    Source<ServerSentEvent, NotUsed> polled =
        Source.tick(Duration.ZERO, settings.poll(), NotUsed.notUsed())
            .mapAsync(1, t -> jobs.askView(id).exceptionally(f -> Optional.empty()))
            .mapConcat(v -> v.map(List::of).orElse(List.of()))
            .statefulMapConcat(
                () -> {
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

  /** Every job's events; a client key's stream carries only its own jobs' transitions. */
  private Route allEvents(Caller caller) {
    String owner = caller.onlyOwner();
    if (live.isEmpty()) {
      return complete(
          JsonResponses.error(
              StatusCodes.SERVICE_UNAVAILABLE,
              "live_events_disabled",
              "this node runs without Redis; configure reports.redis.url for live events"));
    }
    Source<ServerSentEvent, NotUsed> events =
        (owner == null
                ? live.get().source()
                : live.get().source(e -> owner.equals(e.event().owner())))
            .map(EventRoutes::sse);
    if (!live.get().available()) {
      events =
          events.prepend(
              Source.single(
                  ServerSentEvent.create(
                      "{\"detail\":\"live events are unavailable until Redis is reachable again\"}",
                      "notice")));
    }
    return stream(events);
  }

  /** Answers with the stream if this node has a free slot for it, else 503 too_many_streams. */
  private Route stream(Source<ServerSentEvent, NotUsed> events) {
    StreamSlot slot = StreamSlot.take(openStreams, settings.maxStreams());
    if (slot == null) {
      return complete(
          JsonResponses.error(
                  StatusCodes.SERVICE_UNAVAILABLE,
                  "too_many_streams",
                  "this node serves at most "
                      + settings.maxStreams()
                      + " event streams at once (reports.http.max-sse-streams); "
                      + "retry later or on another node")
              .addHeader(RetryAfter.create(STREAMS_RETRY_AFTER_SECONDS)));
    }
    system
        .scheduler()
        .scheduleOnce(UNSTARTED_SLOT, slot::giveBackIfUnstarted, system.executionContext());
    Source<ServerSentEvent, NotUsed> counted =
        events
            .keepAlive(settings.heartbeat(), ServerSentEvent::heartbeat)
            .watchTermination(
                (notUsed, done) -> {
                  slot.started();
                  // Completes when the stream ends, fails, or is cancelled because its client went
                  // away.
                  done.whenComplete((d, failure) -> slot.ended());
                  return notUsed;
                });
    return completeOK(counted, EventStreamMarshalling.toEventStream());
  }

  /**
   * One counted stream: taken when the route answers (so the cap holds however many clients come at
   * once), marked started when its response starts, given back when it ends; given back as well if
   * it never starts (the response was not sent), and then counted again should it start after all.
   */
  private static final class StreamSlot {
    private static final int TAKEN = 0;
    private static final int STARTED = 1;
    private static final int GIVEN_BACK = 2;

    private final AtomicInteger open;
    private final AtomicInteger state = new AtomicInteger(TAKEN);

    private StreamSlot(AtomicInteger open) {
      this.open = open;
    }

    /** A slot, or null when {@code max} streams are open. */
    static StreamSlot take(AtomicInteger open, int max) {
      while (true) {
        int n = open.get();
        if (n >= max) return null;
        if (open.compareAndSet(n, n + 1)) return new StreamSlot(open);
      }
    }

    void started() {
      if (state.compareAndSet(TAKEN, STARTED)) return;
      // Given back before it started: it runs all the same (its response is out), so it counts.
      if (state.compareAndSet(GIVEN_BACK, STARTED)) open.incrementAndGet();
    }

    void ended() {
      if (state.compareAndSet(STARTED, GIVEN_BACK)) open.decrementAndGet();
    }

    void giveBackIfUnstarted() {
      if (state.compareAndSet(TAKEN, GIVEN_BACK)) open.decrementAndGet();
    }
  }

  /** A job's view as the first event of its stream: its state now. */
  private static LiveEvents.Event asEvent(JobView view) {
    return new LiveEvents.Event(
        new LiveEvent(
            view.jobId(),
            "state",
            view.state(),
            view.currentStep(),
            view.attempts(),
            view.result(),
            view.error(),
            view.node(),
            view.updatedAt()),
        json(view));
  }

  private static ServerSentEvent sse(LiveEvents.Event e) {
    return ServerSentEvent.create(e.json(), e.name());
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
