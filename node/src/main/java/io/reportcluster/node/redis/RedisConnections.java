package io.reportcluster.node.redis;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.SslOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's two Redis connections (commands, and pub/sub for live events), kept up in the
 * background. Redis is never on the critical path of a job: when it is unreachable, commands fail
 * fast instead of queueing, {@link #isUp()} says so, and the connections come back by themselves
 * (Lettuce reconnects an established connection; a first connection that failed is retried here).
 * Listeners run on every health check while Redis is reachable, so they can repair what they
 * missed; periodic writers (node stats, discovery heartbeats) run at their own interval, and only
 * while Redis is reachable.
 *
 * <p>A node without Redis has no instance of this class at all ({@link #fromConfig} answers empty):
 * that is the one way "no Redis" is said.
 */
public final class RedisConnections implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RedisConnections.class);

  private final ClientResources resources;
  private final RedisClient client;
  private final RedisURI uri;

  /** The URL without user and password: the only form of it that logs and errors show. */
  private final String where;

  private final String url;
  private final RedisKeys keys;
  private final Duration retryInterval;
  private final ScheduledExecutorService scheduler =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "redis-connections");
            t.setDaemon(true);
            return t;
          });
  private final AtomicReference<StatefulRedisConnection<String, String>> commands =
      new AtomicReference<>();
  private final AtomicReference<StatefulRedisPubSubConnection<String, String>> pubSub =
      new AtomicReference<>();
  private final List<Consumer<String>> eventListeners = new CopyOnWriteArrayList<>();
  private final List<Runnable> tickListeners = new CopyOnWriteArrayList<>();
  private volatile boolean wasUp;

  /** The reason last logged for a connection that failed, so a lasting one is logged once. */
  private volatile String lastFailure;

  private volatile boolean closed;

  /**
   * The connections {@code reports.redis} asks for, not yet started; empty when it names no URL
   * (the embedded default).
   */
  public static Optional<RedisConnections> fromConfig(Config redis) {
    if (redis.getString("url").isBlank()) return Optional.empty();
    return Optional.of(
        new RedisConnections(
            redis.getString("url"),
            RedisTls.fromConfig(redis.getConfig("tls")),
            new RedisKeys(redis.getString("prefix")),
            redis.getDuration("command-timeout"),
            redis.getDuration("health-interval")));
  }

  public RedisConnections(
      String url, RedisKeys keys, Duration commandTimeout, Duration retryInterval) {
    this(url, RedisTls.DEFAULT, keys, commandTimeout, retryInterval);
  }

  /**
   * Connections to {@code url} ({@code redis://} or {@code rediss://}, with or without user and
   * password), a {@code rediss://} server checked against {@code tls}.
   */
  public RedisConnections(
      String url, RedisTls tls, RedisKeys keys, Duration commandTimeout, Duration retryInterval) {
    this.url = url;
    this.where = RedisUrls.withoutCredentials(url);
    this.uri = parse(url, where);
    if (tls.required() && !uri.isSsl())
      throw new ConfigException.BadValue(
          "reports.redis.url",
          "reports.redis.tls.required is on but the URL is not rediss://: " + where);
    // Read before any client thread starts, so that a bad trust store stops the start cleanly.
    Optional<SslOptions> ssl = tls.sslOptions();
    this.keys = keys;
    this.retryInterval = retryInterval;
    // Lettuce's default reconnect backoff doubles up to 30 s: after a long outage the node would
    // notice Redis back (and repair the mirror) up to 30 s late. Retry at the health interval.
    this.resources =
        ClientResources.builder().reconnectDelay(Delay.constant(retryInterval)).build();
    this.client = RedisClient.create(resources);
    ClientOptions.Builder options =
        ClientOptions.builder()
            .autoReconnect(true)
            // During an outage a command fails at once: the caller records what it must repair.
            .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
            .timeoutOptions(TimeoutOptions.enabled(commandTimeout))
            .socketOptions(SocketOptions.builder().connectTimeout(commandTimeout).build());
    ssl.ifPresent(options::sslOptions);
    client.setOptions(options.build());
  }

  /** Lettuce's reading of the URL; its complaint about a bad one never repeats the password. */
  private static RedisURI parse(String url, String where) {
    try {
      return RedisURI.create(url);
    } catch (RuntimeException e) {
      throw new ConfigException.BadValue(
          "reports.redis.url",
          "not a Redis URL: " + where + " (" + e.getClass().getSimpleName() + ")");
    }
  }

  /**
   * Starts connecting, and closes the connections when {@code system} stops, after every part that
   * writes to Redis has had its last say.
   */
  public RedisConnections startWithin(ActorSystem<?> system) {
    start();
    CoordinatedShutdown.get(system)
        .addTask(
            CoordinatedShutdown.PhaseBeforeActorSystemTerminate(),
            "close-redis",
            () ->
                CompletableFuture.supplyAsync(
                    () -> {
                      close(); // blocks up to its shutdown timeout: not on the default dispatcher
                      return Done.getInstance();
                    },
                    system
                        .dispatchers()
                        .lookup(DispatcherSelector.fromConfig("reports-blocking-dispatcher"))));
    return this;
  }

  /** Starts connecting in the background and watching the connection's health. */
  public void start() {
    scheduler.execute(this::connectMissing);
    scheduler.scheduleWithFixedDelay(
        this::watch, retryInterval.toMillis(), retryInterval.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Live events published on the events channel by any node, as raw JSON. */
  public void onEvent(Consumer<String> listener) {
    eventListeners.add(listener);
  }

  /** Called (on a background thread) on every health check while Redis is reachable. */
  public void whileUp(Runnable listener) {
    tickListeners.add(listener);
  }

  /**
   * Runs {@code task} (on a background thread) every {@code interval}, at times when Redis is
   * reachable; skipped while it is not.
   */
  public void every(Duration interval, Runnable task) {
    scheduler.scheduleWithFixedDelay(
        () -> {
          if (!closed && isUp()) runQuietly(task);
        },
        interval.toMillis(),
        interval.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  public boolean isUp() {
    StatefulRedisConnection<String, String> c = commands.get();
    return c != null && c.isOpen();
  }

  public boolean liveEventsUp() {
    StatefulRedisPubSubConnection<String, String> c = pubSub.get();
    return c != null && c.isOpen();
  }

  /** The async command API when Redis is reachable now. */
  public Optional<RedisAsyncCommands<String, String>> commands() {
    StatefulRedisConnection<String, String> c = commands.get();
    return c != null && c.isOpen() ? Optional.of(c.async()) : Optional.empty();
  }

  /** The names of every key and channel, under this node's prefix. */
  public RedisKeys keys() {
    return keys;
  }

  private void watch() {
    if (closed) return;
    connectMissing();
    boolean up = isUp();
    if (up && !wasUp) {
      log.info("Redis at {} is reachable", where);
      lastFailure = null;
    } else if (!up && wasUp) {
      log.warn(
          "Redis at {} is unreachable: status mirror and live events degraded, jobs go on", where);
    }
    wasUp = up;
    if (up) tickListeners.forEach(RedisConnections::runQuietly);
  }

  private static void runQuietly(Runnable r) {
    try {
      r.run();
    } catch (RuntimeException e) {
      log.warn("Redis listener failed: {}", e.toString());
    }
  }

  private void connectMissing() {
    if (closed) return;
    if (commands.get() == null) {
      try {
        commands.set(client.connect(StringCodec.UTF8, uri));
      } catch (RuntimeException e) {
        connectionFailed(e);
        return;
      }
    }
    if (pubSub.get() == null) {
      try {
        StatefulRedisPubSubConnection<String, String> ps =
            client.connectPubSub(StringCodec.UTF8, uri);
        ps.addListener(
            new RedisPubSubAdapter<>() {
              @Override
              public void message(String channel, String message) {
                for (Consumer<String> l : eventListeners) l.accept(message);
              }
            });
        ps.async().subscribe(keys.eventsChannel());
        pubSub.set(ps);
      } catch (RuntimeException e) {
        log.debug("Redis pub/sub at {} not reachable yet: {}", where, reason(e));
      }
    }
  }

  /**
   * A connection that cannot be made: a refused password, a certificate that does not check out or
   * a server that is down is logged once, at WARN (an operator must act on the first two), then at
   * DEBUG while it lasts.
   */
  private void connectionFailed(RuntimeException e) {
    String reason = reason(e);
    if (reason.equals(lastFailure)) {
      log.debug("Redis at {} not reachable yet: {}", where, reason);
    } else {
      log.warn("Redis at {} cannot be used yet (retried every health check): {}", where, reason);
      lastFailure = reason;
    }
  }

  /** What went wrong, from the innermost cause (WRONGPASS, a PKIX failure), password masked. */
  private String reason(Throwable e) {
    Throwable inner = e;
    while (inner.getCause() != null && inner.getCause() != inner) inner = inner.getCause();
    String message =
        inner.getMessage() == null ? inner.getClass().getSimpleName() : inner.getMessage();
    return RedisUrls.scrub(message, url);
  }

  @Override
  public void close() {
    closed = true;
    scheduler.shutdownNow();
    Optional.ofNullable(pubSub.get()).ifPresent(StatefulRedisPubSubConnection::close);
    Optional.ofNullable(commands.get()).ifPresent(StatefulRedisConnection::close);
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    resources.shutdown(0, 2, TimeUnit.SECONDS);
  }
}
