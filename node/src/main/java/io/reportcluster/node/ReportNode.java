package io.reportcluster.node;

import com.typesafe.config.Config;
import io.reportcluster.node.http.AdminRoutes;
import io.reportcluster.node.http.EventRoutes;
import io.reportcluster.node.http.HttpApi;
import io.reportcluster.node.http.JobRoutes;
import io.reportcluster.node.http.NodeRoutes;
import io.reportcluster.node.job.JobSettings;
import io.reportcluster.node.job.ReportJob;
import io.reportcluster.node.llm.LlmCallerPool;
import io.reportcluster.node.llm.provider.LlmProvider;
import io.reportcluster.node.llm.PoolMetrics;
import io.reportcluster.node.llm.provider.ProviderRegistry;
import io.reportcluster.node.llm.provider.SimulatedProvider;
import io.reportcluster.node.metrics.NodeMetrics;
import io.reportcluster.node.mirror.JobMirror;
import io.reportcluster.node.mirror.LiveEvents;
import io.reportcluster.node.redis.NodeStatsStore;
import io.reportcluster.node.redis.RedisConnections;
import io.reportcluster.node.mirror.RedisStatusMirror;
import io.reportcluster.node.persistence.JournalSchema;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import io.reportcluster.node.redis.DiscoveryRegistration;
import io.reportcluster.node.cluster.SelfDowned;
import io.reportcluster.node.persistence.JournalJobs;
import io.reportcluster.node.redis.RedisServiceDiscovery;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.management.cluster.bootstrap.ClusterBootstrap;
import org.apache.pekko.management.javadsl.PekkoManagement;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;

/**
 * One running node: journal schema, ActorSystem, cluster membership, the LLM caller pool, the
 * sharded ReportJob entities and the HTTP API, started in that order and stopped through
 * Coordinated Shutdown.
 */
public final class ReportNode implements AutoCloseable {

  private final ActorSystem<Void> system;
  private final ServerBinding binding;
  private final PoolMetrics metrics;
  private final String nodeName;

  private ReportNode(ActorSystem<Void> system, ServerBinding binding, PoolMetrics metrics, String nodeName) {
    this.system = system;
    this.binding = binding;
    this.metrics = metrics;
    this.nodeName = nodeName;
  }

  /** Starts a node with the providers its configuration names. */
  public static ReportNode start(Config config) {
    return start(config, configuredProviders(config.getConfig("reports.llm")));
  }

  /** Starts a node with the given providers (tests use this to observe every call). */
  public static ReportNode start(Config configured, ProviderRegistry providers) {
    Config config = withFixedManagementPort(configured);
    Config reports = config.getConfig("reports");
    JournalSchema.createIfMissing(reports.getConfig("db"));

    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "reportcluster", config);
    try {
      boolean bootstrap = reports.getBoolean("cluster.bootstrap");
      Cluster cluster = Cluster.get(system);
      if (!bootstrap && reports.getBoolean("cluster.join-self")
          && config.getStringList("pekko.cluster.seed-nodes").isEmpty()) {
        cluster.manager().tell(Join.create(cluster.selfMember().address()));
      }
      String nodeName = reports.getString("node-name");
      if (nodeName.isBlank()) {
        nodeName = reports.getString("http.host") + ":" + reports.getInt("http.port");
      }

      LlmCallerPool.Settings poolSettings = LlmCallerPool.Settings.fromConfig(reports.getConfig("llm"));
      PoolMetrics metrics = new PoolMetrics(poolSettings.callers(), poolSettings.queueLimit());
      NodeMetrics nodeMetrics = new NodeMetrics(nodeName, metrics);
      ActorRef<LlmCallerPool.Command> pool =
          system.systemActorOf(LlmCallerPool.create(poolSettings, providers, metrics), "llm-callers", Props.empty());
      stopCallsOnShutdown(system, pool, reports.getDuration("llm.drain-timeout"));

      Config redisConfig = reports.getConfig("redis");
      String prefix = redisConfig.getString("prefix");
      RedisConnections redis = null;
      JobMirror mirror = JobMirror.NONE;
      LiveEvents live = null;
      if (!redisConfig.getString("url").isBlank()) {
        redis = new RedisConnections(redisConfig.getString("url"), prefix + "events",
            redisConfig.getDuration("command-timeout"), redisConfig.getDuration("health-interval"));
        mirror = new RedisStatusMirror(redis, prefix, redisConfig.getDuration("finished-ttl"),
            redisConfig.getInt("max-pending-repairs"), nodeMetrics.registry(), nodeMetrics.mirrorLag());
        live = new LiveEvents(system, redis);
        redis.start();
        RedisConnections stopping = redis;
        CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate(), "close-redis",
            () -> CompletableFuture.supplyAsync(() -> {
              stopping.close(); // blocks up to its shutdown timeout: not on the default dispatcher
              return Done.getInstance();
            }, system.dispatchers().lookup(DispatcherSelector.fromConfig("reports-blocking-dispatcher"))));
      }

      JobSettings jobSettings = JobSettings.fromConfig(reports);
      Duration refresh = redis == null ? null : redisConfig.getDuration("mirror-refresh");
      ReportJob.init(system, new ReportJob.Deps(jobSettings, pool, metrics, nodeName, mirror, refresh));
      JournalJobs journal = new JournalJobs(system, reports.getInt("http.remembered-job-ids"));

      long maxBody = reports.getBytes("http.max-body-bytes");
      Duration askTimeout = reports.getDuration("http.ask-timeout");
      JobRoutes jobs = new JobRoutes(system, new JobRoutes.Settings(
          jobSettings.maxStartupLength(),
          maxBody,
          askTimeout,
          reports.getDuration("http.submit-margin"),
          reports.getDuration("llm.shed-retry-after")), providers, journal, mirror);
      EventRoutes events = new EventRoutes(system, live, journal, askTimeout, reports.getDuration("http.sse-heartbeat"),
          reports.getInt("http.max-sse-streams"));
      NodeRoutes node = new NodeRoutes(system, nodeName, metrics, nodeMetrics, redis, prefix);
      ServerBinding binding = Http.get(system)
          .newServerAt(reports.getString("http.host"), reports.getInt("http.port"))
          .bind(new HttpApi(maxBody).of(events.routes(), jobs.routes(), node.routes(), new AdminRoutes(system,
              reports.getString("management.admin-user"), reports.getString("management.admin-password")).routes()))
          .toCompletableFuture()
          .get(30, TimeUnit.SECONDS)
          // On shutdown: stop accepting, let requests in flight finish, then close.
          .addToCoordinatedShutdown(Duration.ofSeconds(5), system);
      if (reports.getBoolean("management.enabled") || bootstrap) {
        startManagement(system, config, redis, prefix, bootstrap, reports.getDuration("cluster.discovery-ttl"));
      }
      if (redis != null) {
        NodeStatsStore stats = new NodeStatsStore(redis, prefix, nodeName,
            "http://" + binding.localAddress().getHostString() + ":" + binding.localAddress().getPort(), metrics,
            redisConfig.getDuration("node-stats-ttl"));
        CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceUnbind(), "remove-node-stats",
            () -> {
              stats.remove();
              return CompletableFuture.completedFuture(Done.getInstance());
            });
      }
      return new ReportNode(system, binding, metrics, nodeName);
    } catch (Exception e) {
      system.terminate();
      throw new IllegalStateException("node failed to start: " + e.getMessage(), e);
    }
  }

  /**
   * What happens to LLM calls when the node stops. Graceful leave: calls in flight finish (and
   * their steps are persisted) before the shards, and so the jobs, move to other nodes; calls
   * still running after the drain timeout are cancelled at the provider, and made again where
   * their jobs go. Downed by the cluster: every call stops at once, since its job already runs
   * elsewhere.
   */
  private static void stopCallsOnShutdown(ActorSystem<Void> system, ActorRef<LlmCallerPool.Command> pool,
      Duration drainTimeout) {
    SelfDowned.onDowned(system, () -> pool.tell(new LlmCallerPool.Abort("this node was downed by the cluster")));
    CoordinatedShutdown shutdown = CoordinatedShutdown.get(system);
    // The first phase: a downed node must not go on calling while its HTTP server unbinds.
    shutdown.addTask(CoordinatedShutdown.PhaseBeforeServiceUnbind(), "stop-llm-calls-if-downed", () -> {
      if (SelfDowned.isShutdownReason(system)) {
        pool.tell(new LlmCallerPool.Abort("this node was downed by the cluster"));
      }
      return CompletableFuture.completedFuture(Done.getInstance());
    });
    shutdown.addTask(CoordinatedShutdown.PhaseBeforeClusterShutdown(), "drain-llm-calls", () -> {
      if (SelfDowned.isShutdownReason(system)) return CompletableFuture.completedFuture(Done.getInstance());
      return AskPattern.<LlmCallerPool.Command, Done>ask(pool, LlmCallerPool.Drain::new, drainTimeout, system.scheduler())
          .exceptionally(timeout -> {
            pool.tell(new LlmCallerPool.Abort("the drain timeout (" + drainTimeout.toSeconds() + " s) passed"));
            return Done.getInstance();
          });
    });
  }

  /**
   * pekko-management (cluster endpoints, health, bootstrap contact point) and, with bootstrap,
   * this node's entry in Redis discovery followed by Cluster Bootstrap.
   */
  private static void startManagement(ActorSystem<Void> system, Config config, RedisConnections redis, String prefix,
      boolean bootstrap, Duration discoveryTtl) throws Exception {
    var classic = Adapter.toClassic(system);
    var uri = PekkoManagement.get(classic).start().toCompletableFuture().get(30, TimeUnit.SECONDS);
    if (!bootstrap) return;
    if (redis == null) throw new IllegalStateException("reports.cluster.bootstrap needs reports.redis.url");
    RedisServiceDiscovery.register(classic, redis, prefix, discoveryTtl.toMillis());
    DiscoveryRegistration registration = new DiscoveryRegistration(redis, prefix,
        config.getString("pekko.management.cluster.bootstrap.contact-point-discovery.service-name"),
        uri.host().address(), uri.port(), discoveryTtl.toMillis());
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseClusterLeave(), "leave-discovery", () -> {
      registration.remove();
      return CompletableFuture.completedFuture(Done.getInstance());
    });
    ClusterBootstrap.get(classic).start();
  }

  /**
   * With Cluster Bootstrap, a management port of 0 is replaced by a free port chosen now.
   * Bootstrap takes this node's own contact point from the configured port before the server
   * binds; left at 0, no node finds itself among the contact points discovered in Redis (they
   * carry the bound ports), so none forms the cluster and every node waits forever.
   */
  static Config withFixedManagementPort(Config config) {
    if (!config.getBoolean("reports.cluster.bootstrap") || config.getInt("pekko.management.http.port") != 0) {
      return config;
    }
    String host = config.getString("pekko.management.http.bind-hostname");
    try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName(host))) {
      return com.typesafe.config.ConfigFactory.parseString("pekko.management.http.port = " + probe.getLocalPort())
          .withFallback(config);
    } catch (java.io.IOException e) {
      throw new IllegalStateException("no free management port on " + host + ": " + e.getMessage(), e);
    }
  }

  static ProviderRegistry configuredProviders(Config llm) {
    Map<String, LlmProvider> providers = new LinkedHashMap<>();
    providers.put("simulated", new SimulatedProvider(SimulatedProvider.Settings.fromConfig(llm.getConfig("simulated"))));
    return new ProviderRegistry(providers, llm.getString("default-provider"));
  }

  public ActorSystem<Void> system() {
    return system;
  }

  public InetSocketAddress httpAddress() {
    return binding.localAddress();
  }

  public String baseUrl() {
    return "http://" + httpAddress().getHostString() + ":" + httpAddress().getPort();
  }

  public PoolMetrics metrics() {
    return metrics;
  }

  public String nodeName() {
    return nodeName;
  }

  /** Stops the node through Coordinated Shutdown and waits for it. */
  @Override
  public void close() {
    system.terminate();
    try {
      system.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("node did not stop within 60 s", e);
    }
  }
}
