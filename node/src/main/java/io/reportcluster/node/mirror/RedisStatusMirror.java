package io.reportcluster.node.mirror;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.reportcluster.node.http.Json;
import io.reportcluster.protocol.Api.JobView;
import io.reportcluster.protocol.JobState;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import io.micrometer.core.instrument.Timer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Mirrors every job transition into Redis: the hash {@code <prefix>job:<id>} (flat fields for
 * redis-cli, plus the whole view as JSON for the API) and a JSON event on the events channel.
 * Finished jobs expire after a TTL.
 *
 * <p>Convergence after an outage: a write that fails leaves the job's latest view in a pending
 * map, written again as soon as Redis is back; running jobs also re-announce themselves
 * periodically (see ReportJob), which repairs a flushed Redis without any outage seen here.
 */
public final class RedisStatusMirror implements JobMirror {
  private static final Logger log = LoggerFactory.getLogger(RedisStatusMirror.class);
  private static final ObjectMapper MAPPER = Json.MAPPER;

  private final RedisConnections redis;
  private final String prefix;
  private final Duration finishedTtl;
  private final Map<String, JobView> pending = new ConcurrentHashMap<>();
  private final Timer lag;

  public RedisStatusMirror(RedisConnections redis, String prefix, Duration finishedTtl, Timer lag) {
    this.redis = redis;
    this.prefix = prefix;
    this.finishedTtl = finishedTtl;
    this.lag = lag;
    redis.whileUp(this::repair);
  }

  public String jobKey(String jobId) {
    return prefix + "job:" + jobId;
  }

  /** Jobs whose latest transition is not in Redis yet. */
  public int pendingRepairs() {
    return pending.size();
  }

  @Override
  public void jobChanged(JobView view, Change change) {
    Optional<RedisAsyncCommands<String, String>> commands = redis.commands();
    if (commands.isEmpty()) {
      pending.put(view.jobId(), view);
      return;
    }
    write(commands.get(), view, change);
  }

  private void write(RedisAsyncCommands<String, String> redisCommands, JobView view, Change change) {
    long announced = System.nanoTime();
    writeHash(redisCommands, view, change).thenRun(() -> lag.record(System.nanoTime() - announced, TimeUnit.NANOSECONDS));
  }

  /** Completes when the hash is written; failures are kept for repair, not propagated. */
  private CompletableFuture<?> writeHash(RedisAsyncCommands<String, String> redisCommands, JobView view, Change change) {
    String key = jobKey(view.jobId());
    String viewJson;
    String eventJson;
    try {
      viewJson = MAPPER.writeValueAsString(view);
      eventJson = MAPPER.writeValueAsString(event(view, change));
    } catch (JsonProcessingException e) {
      log.error("cannot encode job {} for the mirror: {}", view.jobId(), e.getMessage());
      return CompletableFuture.failedFuture(e);
    }
    Map<String, String> fields = new LinkedHashMap<>();
    fields.put("state", view.state().name());
    fields.put("startup", view.startup());
    fields.put("attempts", Integer.toString(view.attempts()));
    fields.put("result", view.result() == null ? "" : view.result());
    fields.put("error", view.error() == null ? "" : view.error());
    fields.put("node", view.node() == null ? "" : view.node());
    fields.put("updated_at", String.valueOf(view.updatedAt()));
    fields.put("current_step", view.currentStep() == null ? "" : view.currentStep());
    fields.put("view", viewJson);
    // Lettuce pipelines these on the connection; no round trip is awaited in between.
    CompletionStage<?> hset = redisCommands.hset(key, fields);
    CompletionStage<?> ttl = view.state().isTerminal()
        ? redisCommands.expire(key, finishedTtl.toSeconds())
        : redisCommands.persist(key);
    // A periodic refresh repeats a known state: it repairs the hash but is no news to subscribers.
    CompletionStage<?> published = change == Change.REFRESH
        ? CompletableFuture.completedFuture(0L)
        : redisCommands.publish(redis.eventsChannel(), eventJson);
    CompletableFuture.allOf(hset.toCompletableFuture(), ttl.toCompletableFuture(), published.toCompletableFuture())
        .whenComplete((ok, failure) -> {
          if (failure != null) {
            // Keep only the newest view: a later successful write must not be undone.
            pending.merge(view.jobId(), view, (old, neu) -> newer(old, neu));
          }
        });
    return hset.toCompletableFuture();
  }

  private static JobView newer(JobView a, JobView b) {
    if (a.updatedAt() == null) return b;
    if (b.updatedAt() == null) return a;
    return b.updatedAt().isBefore(a.updatedAt()) ? a : b;
  }

  /** The live event published for a transition. */
  public record JobEvent(String jobId, String event, JobState state, String currentStep, int attempts, String result,
      String error, String node, Instant at) {}

  private static JobEvent event(JobView v, Change change) {
    return new JobEvent(v.jobId(), change.name().toLowerCase(), v.state(), v.currentStep(), v.attempts(), v.result(),
        v.error(), v.node(), v.updatedAt());
  }

  /** Writes every view that missed Redis; runs when Redis comes back. */
  void repair() {
    Optional<RedisAsyncCommands<String, String>> commands = redis.commands();
    if (commands.isEmpty() || pending.isEmpty()) return;
    // Runs on every health tick while Redis is up, so a write that timed out is repaired too.
    int n = 0;
    for (String jobId : pending.keySet()) {
      JobView view = pending.remove(jobId);
      if (view != null) {
        write(commands.get(), view, Change.RESYNC);
        n++;
      }
    }
    log.info("status mirror repaired {} jobs after a Redis outage", n);
  }

  @Override
  public CompletionStage<Optional<JobView>> read(String jobId) {
    Optional<RedisAsyncCommands<String, String>> commands = redis.commands();
    if (commands.isEmpty()) return CompletableFuture.completedFuture(Optional.empty());
    return commands.get().hget(jobKey(jobId), "view")
        .handle((json, failure) -> {
          if (failure != null || json == null) return Optional.<JobView>empty();
          try {
            return Optional.of(MAPPER.readValue(json, JobView.class));
          } catch (JsonProcessingException e) {
            return Optional.<JobView>empty();
          }
        });
  }
}
