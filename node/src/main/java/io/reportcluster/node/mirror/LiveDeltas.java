package io.reportcluster.node.mirror;

import io.reportcluster.node.llm.DeltaSink;
import io.reportcluster.node.llm.provider.LlmRequest;
import io.reportcluster.node.redis.RedisConnections;
import io.reportcluster.protocol.JobState;
import io.reportcluster.protocol.Json;
import io.reportcluster.protocol.LiveEvent;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Running steps' text, published as {@code delta} live events on the Redis events channel, so a
 * client following a job on any node sees the text while it streams in. Pieces are coalesced per
 * call and sent every {@code reports.redis.delta-interval} (one publish per call per interval,
 * however many tokens arrived), in order. Best effort, like all live events: nothing here is
 * persisted, and with Redis unreachable the pieces are dropped (the step's final text is in the
 * journal either way).
 */
public final class LiveDeltas implements DeltaSink, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LiveDeltas.class);

  /** One call's text not yet sent. */
  private static final class Pending {
    final LlmRequest request;
    final StringBuilder text = new StringBuilder();

    /** Taken by a flush: new pieces go to a new Pending. */
    boolean sent;

    Pending(LlmRequest request) {
      this.request = request;
    }
  }

  private final RedisConnections redis;
  private final String nodeName;
  private final Map<String, Pending> pending = new ConcurrentHashMap<>();
  private final ScheduledExecutorService flusher =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "live-deltas");
            t.setDaemon(true);
            return t;
          });

  public LiveDeltas(RedisConnections redis, String nodeName, Duration interval) {
    this.redis = redis;
    this.nodeName = nodeName;
    flusher.scheduleWithFixedDelay(
        this::flush, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public void delta(LlmRequest request, String text) {
    if (text == null || text.isEmpty()) return;
    String key = key(request);
    while (true) {
      Pending p = pending.computeIfAbsent(key, k -> new Pending(request));
      synchronized (p) {
        if (!p.sent) {
          p.text.append(text);
          return;
        }
      }
      // A flush took this one between the lookup and the lock: it is gone from the map now.
      pending.remove(key, p);
    }
  }

  private static String key(LlmRequest r) {
    return r.jobId() + "/" + r.step() + "/" + r.attempt();
  }

  /** Sends every call's pending text, one event per call. */
  void flush() {
    if (pending.isEmpty()) return;
    List<LiveEvent> out = new ArrayList<>();
    for (String key : List.copyOf(pending.keySet())) {
      Pending p = pending.remove(key);
      if (p == null) continue;
      String text;
      synchronized (p) {
        p.sent = true;
        text = p.text.toString();
      }
      LlmRequest r = p.request;
      out.add(
          new LiveEvent(
              r.jobId(),
              "delta",
              JobState.STARTED,
              r.stepName(),
              r.attempt(),
              null,
              null,
              nodeName,
              Instant.now(),
              text));
    }
    redis
        .commands()
        .ifPresent(
            c -> {
              for (LiveEvent e : out) {
                try {
                  c.publish(redis.keys().eventsChannel(), Json.MAPPER.writeValueAsString(e));
                } catch (Exception failure) {
                  log.debug("a delta was not published: {}", failure.toString());
                }
              }
            });
  }

  @Override
  public void close() {
    flusher.shutdownNow();
  }
}
