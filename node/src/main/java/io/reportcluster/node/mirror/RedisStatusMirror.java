package io.reportcluster.node.mirror;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.reportcluster.node.metrics.NodeMetrics;
import io.reportcluster.node.redis.RedisConnections;
import io.reportcluster.node.redis.RedisKeys;
import io.reportcluster.protocol.Api.JobView;
import io.reportcluster.protocol.Json;
import io.reportcluster.protocol.LiveEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Mirrors every job transition into Redis: the hash {@code <prefix>job:<id>} (flat fields for
 * redis-cli, plus the whole view as JSON for the API) and a JSON event on the events channel.
 * Finished jobs expire after a TTL.
 *
 * <p>Convergence after an outage: a job's latest view stays in a pending map until Redis has
 * confirmed its write; views that missed Redis (down, or a failed write) are written again on every
 * health check while Redis is up. A newer view always supersedes an older one there, and writes are
 * issued in announcement order, so a repair never puts back an older state. Running jobs also
 * re-announce themselves periodically (see ReportJob), which repairs a flushed Redis without any
 * outage seen here.
 *
 * <p>The unconfirmed views are bounded ({@code reports.redis.max-pending-repairs}): a long outage
 * must not grow the node's memory with every job it runs. Past the bound the view dropped is the
 * oldest one of a <em>running</em> job (the new view itself, if it is a running job's and only
 * finished jobs' views are kept): a running job re-announces its whole view every mirror-refresh,
 * so once Redis is back its hash is right again within that bound anyway. Finished jobs' views are
 * kept before any running job's, because nothing else re-sends them; only when every kept view is a
 * finished job's does the oldest of those go. Its hash then keeps the last state Redis confirmed
 * (none, if Redis came back empty) until the job is woken again (see the README).
 */
public final class RedisStatusMirror implements JobMirror {
  private static final Logger log = LoggerFactory.getLogger(RedisStatusMirror.class);
  private static final ObjectMapper MAPPER = Json.MAPPER;

  /**
   * A job's latest announced view, until Redis confirmed it; {@code inFlight} while a write of it
   * runs.
   */
  private static final class Unconfirmed {
    final JobView view;
    final long seq;
    final long incarnation;
    volatile boolean inFlight;

    Unconfirmed(JobView view, long seq, long incarnation) {
      this.view = view;
      this.seq = seq;
      this.incarnation = incarnation;
    }
  }

  /**
   * Writes the hash only if it is not older than what the hash holds (by journal sequence number,
   * then incarnation), sets or clears its TTL, and says whether it wrote. A node that was frozen
   * (SIGSTOP, a long GC) and wakes after its jobs moved cannot put back their old state: the new
   * owner's writes carry a higher sequence number or a later incarnation.
   */
  private static final String FENCED_WRITE =
      String.join(
          "\n",
          "local cur = redis.call('HMGET', KEYS[1], 'seq', 'incarnation')",
          "local cseq, cinc = tonumber(cur[1]), tonumber(cur[2]) or 0",
          "local seq, inc = tonumber(ARGV[1]), tonumber(ARGV[2])",
          "if cseq and (seq < cseq or (seq == cseq and inc < cinc)) then return 0 end",
          "redis.call('HSET', KEYS[1], 'seq', ARGV[1], 'incarnation', ARGV[2], unpack(ARGV, 7))",
          "if ARGV[3] == '1' then redis.call('EXPIRE', KEYS[1], ARGV[4]) else redis.call('PERSIST', KEYS[1]) end",
          // The live event goes out in the same round trip, and only with a write that won.
          "if ARGV[5] ~= '' then redis.call('PUBLISH', ARGV[5], ARGV[6]) end",
          "return 1");

  private final RedisConnections redis;
  private final RedisKeys keys;
  private final Duration finishedTtl;
  private final Duration refresh;

  /**
   * Held while issuing a job's commands (Redis then applies them in announcement order), and
   * guarding the two maps below.
   */
  private final Object issuing = new Object();

  /** Unconfirmed views of running jobs, per job id, oldest announcement first. */
  private final LinkedHashMap<String, Unconfirmed> running = new LinkedHashMap<>();

  /** Unconfirmed views of finished jobs, per job id, oldest announcement first. */
  private final LinkedHashMap<String, Unconfirmed> finished = new LinkedHashMap<>();

  private final int maxPending;
  private final AtomicLong dropped = new AtomicLong();
  private final Timer lag;

  /**
   * @param maxPending most unconfirmed views kept for repair (at least 1); see the class comment
   *     for which go past it
   */
  public RedisStatusMirror(
      RedisConnections redis,
      Duration finishedTtl,
      Duration refresh,
      int maxPending,
      MeterRegistry registry,
      Timer lag) {
    if (maxPending < 1)
      throw new IllegalArgumentException("reports.redis.max-pending-repairs must be at least 1");
    this.redis = redis;
    this.keys = redis.keys();
    this.finishedTtl = finishedTtl;
    this.refresh = refresh;
    this.maxPending = maxPending;
    this.lag = lag;
    Gauge.builder("reports_mirror_pending_repairs", this, RedisStatusMirror::pendingRepairs)
        .description("job views Redis has not confirmed yet, kept to be written again")
        .register(registry);
    FunctionCounter.builder(
            "reports_mirror_repairs_dropped", this, RedisStatusMirror::droppedRepairs)
        .description("unconfirmed job views dropped past reports.redis.max-pending-repairs")
        .register(registry);
    redis.whileUp(this::repair);
  }

  /** The mirror {@code reports.redis} configures, on these connections. */
  public static RedisStatusMirror fromConfig(
      RedisConnections redis, Config config, NodeMetrics metrics) {
    return new RedisStatusMirror(
        redis,
        config.getDuration("finished-ttl"),
        config.getDuration("mirror-refresh"),
        config.getInt("max-pending-repairs"),
        metrics.registry(),
        metrics.mirrorLag());
  }

  @Override
  public Optional<Duration> refreshInterval() {
    return Optional.of(refresh);
  }

  /** Jobs whose latest transition is not in Redis yet (and is kept to be written again). */
  public int pendingRepairs() {
    synchronized (issuing) {
      return running.size() + finished.size();
    }
  }

  /** Unconfirmed views dropped past the bound since the node started. */
  public long droppedRepairs() {
    return dropped.get();
  }

  @Override
  public void jobChanged(JobView view, Change change, long seq, long incarnation) {
    Unconfirmed latest = new Unconfirmed(view, seq, incarnation);
    synchronized (issuing) {
      // Supersedes whatever older view of this job missed Redis: it must never be written after
      // this one.
      running.remove(view.jobId());
      finished.remove(view.jobId());
      keep(latest);
      redis.commands().ifPresent(commands -> write(commands, latest, change));
    }
  }

  /** Keeps a view until Redis confirms it, dropping one past the bound (under {@link #issuing}). */
  private void keep(Unconfirmed entry) {
    boolean isFinished = entry.view.state().isTerminal();
    if (running.size() + finished.size() >= maxPending) {
      Map<String, Unconfirmed> from = !running.isEmpty() ? running : isFinished ? finished : null;
      if (from != null) {
        Iterator<Map.Entry<String, Unconfirmed>> oldest = from.entrySet().iterator();
        oldest.next();
        oldest.remove();
      }
      long n = dropped.incrementAndGet();
      if (n == 1 || n % 1000 == 0) {
        log.warn(
            "status mirror: {} views wait for Redis (reports.redis.max-pending-repairs); {} dropped so far, "
                + "running jobs first (their refresh re-sends them)",
            maxPending,
            n);
      }
      if (from == null)
        return; // only finished jobs' views are kept: this running job's refresh re-sends it
    }
    (isFinished ? finished : running).put(entry.view.jobId(), entry);
  }

  /** The view kept for this job, if any (under {@link #issuing}). */
  private Unconfirmed kept(String jobId) {
    Unconfirmed e = running.get(jobId);
    return e != null ? e : finished.get(jobId);
  }

  /**
   * Issues the write (under {@link #issuing}); the entry leaves the pending map once Redis
   * confirmed it.
   */
  private void write(
      RedisAsyncCommands<String, String> redisCommands, Unconfirmed entry, Change change) {
    long announced = System.nanoTime();
    entry.inFlight = true;
    writeHash(redisCommands, entry, change)
        .whenComplete(
            (ok, failure) -> {
              entry.inFlight = false;
              if (failure == null) {
                synchronized (issuing) {
                  (entry.view.state().isTerminal() ? finished : running)
                      .remove(entry.view.jobId(), entry);
                }
                lag.record(System.nanoTime() - announced, TimeUnit.NANOSECONDS);
              }
            });
  }

  /** Completes when the hash, its TTL and the event are written; fails if any of them failed. */
  private CompletableFuture<?> writeHash(
      RedisAsyncCommands<String, String> redisCommands, Unconfirmed entry, Change change) {
    JobView view = entry.view;
    String key = keys.job(view.jobId());
    String viewJson;
    try {
      viewJson = MAPPER.writeValueAsString(view);
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
    // A periodic refresh repeats a known state: no news, no event.
    String event;
    try {
      event = change == Change.REFRESH ? "" : MAPPER.writeValueAsString(event(view, change));
    } catch (JsonProcessingException e) {
      return CompletableFuture.failedFuture(e);
    }
    List<String> args = new ArrayList<>(6 + 2 * fields.size());
    args.add(Long.toString(entry.seq));
    args.add(Long.toString(entry.incarnation));
    args.add(view.state().isTerminal() ? "1" : "0");
    args.add(Long.toString(finishedTtl.toSeconds()));
    args.add(event.isEmpty() ? "" : keys.eventsChannel());
    args.add(event);
    fields.forEach(
        (k, v) -> {
          args.add(k);
          args.add(v);
        });
    // One round trip per transition: the fenced hash write, its TTL and the event together.
    return redisCommands
        .<Long>eval(
            FENCED_WRITE, ScriptOutputType.INTEGER, new String[] {key}, args.toArray(new String[0]))
        .toCompletableFuture();
  }

  /** The live event published for a transition. */
  private static LiveEvent event(JobView v, Change change) {
    return new LiveEvent(
        v.jobId(),
        change.name().toLowerCase(),
        v.state(),
        v.currentStep(),
        v.attempts(),
        v.result(),
        v.error(),
        v.node(),
        v.updatedAt(),
        null,
        v.owner());
  }

  /** Writes every view that missed Redis; runs on every health check while Redis is up. */
  void repair() {
    Optional<RedisAsyncCommands<String, String>> commands = redis.commands();
    if (commands.isEmpty()) return;
    List<Unconfirmed> todo;
    synchronized (issuing) {
      if (running.isEmpty() && finished.isEmpty()) return;
      todo = new ArrayList<>(finished.values());
      todo.addAll(running.values());
    }
    int n = 0;
    for (Unconfirmed entry : todo) {
      synchronized (issuing) {
        // Skip a write under way, and a view superseded or dropped meanwhile.
        if (entry.inFlight || kept(entry.view.jobId()) != entry) continue;
        write(commands.get(), entry, Change.RESYNC);
        n++;
      }
    }
    if (n > 0) log.info("status mirror repaired {} jobs after a Redis outage", n);
  }

  @Override
  public CompletionStage<Optional<JobView>> read(String jobId) {
    Optional<RedisAsyncCommands<String, String>> commands = redis.commands();
    if (commands.isEmpty()) return CompletableFuture.completedFuture(Optional.empty());
    return commands
        .get()
        .hget(keys.job(jobId), "view")
        .handle(
            (json, failure) -> {
              if (failure != null || json == null) return Optional.<JobView>empty();
              try {
                return Optional.of(MAPPER.readValue(json, JobView.class));
              } catch (JsonProcessingException e) {
                return Optional.<JobView>empty();
              }
            });
  }
}
