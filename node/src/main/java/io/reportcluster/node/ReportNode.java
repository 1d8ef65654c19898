package io.reportcluster.node;

import com.typesafe.config.Config;
import io.reportcluster.node.auth.SubmitLimits;
import io.reportcluster.node.cluster.ClusterMembership;
import io.reportcluster.node.cluster.ClusterTls;
import io.reportcluster.node.http.AdminRoutes;
import io.reportcluster.node.http.AuthGate;
import io.reportcluster.node.http.DashboardRoutes;
import io.reportcluster.node.http.EventRoutes;
import io.reportcluster.node.http.HttpLimits;
import io.reportcluster.node.http.HttpServer;
import io.reportcluster.node.http.JobRoutes;
import io.reportcluster.node.http.JsonBody;
import io.reportcluster.node.http.ListRoutes;
import io.reportcluster.node.http.NodeRoutes;
import io.reportcluster.node.http.ProviderRoutes;
import io.reportcluster.node.http.SeedRoutes;
import io.reportcluster.node.job.JobSettings;
import io.reportcluster.node.job.Jobs;
import io.reportcluster.node.job.JournalJobs;
import io.reportcluster.node.job.ReportJob;
import io.reportcluster.node.llm.DeltaSink;
import io.reportcluster.node.llm.LlmCallerPool;
import io.reportcluster.node.llm.PoolMetrics;
import io.reportcluster.node.llm.ProviderOverview;
import io.reportcluster.node.llm.budget.BudgetSettings;
import io.reportcluster.node.llm.budget.Budgets;
import io.reportcluster.node.llm.provider.ProviderRegistry;
import io.reportcluster.node.metrics.NodeMetrics;
import io.reportcluster.node.mirror.JobMirror;
import io.reportcluster.node.mirror.LiveDeltas;
import io.reportcluster.node.mirror.LiveEvents;
import io.reportcluster.node.mirror.RedisStatusMirror;
import io.reportcluster.node.persistence.JournalSchema;
import io.reportcluster.node.read.JobList;
import io.reportcluster.node.read.ReadSide;
import io.reportcluster.node.read.ReadSideSettings;
import io.reportcluster.node.redis.NodeStatsStore;
import io.reportcluster.node.redis.RedisConnections;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.server.Directives;

/**
 * One running node, its parts started in order: journal schema, ActorSystem and membership, the LLM
 * caller pool, Redis (when configured) with the status mirror and live events, the sharded
 * ReportJob entities, the HTTP API, management, node stats. Each part registers its own stop with
 * Coordinated Shutdown when it starts; {@link #close()} runs them.
 */
public final class ReportNode implements AutoCloseable {

  private final ActorSystem<Void> system;
  private final ServerBinding binding;
  private final PoolMetrics metrics;
  private final String nodeName;

  private ReportNode(
      ActorSystem<Void> system, ServerBinding binding, PoolMetrics metrics, String nodeName) {
    this.system = system;
    this.binding = binding;
    this.metrics = metrics;
    this.nodeName = nodeName;
  }

  /** Starts a node with the providers its configuration names. */
  public static ReportNode start(Config config) {
    return start(
        config, system -> ProviderRegistry.fromConfig(system, config.getConfig("reports.llm")));
  }

  /** Starts a node with the given providers (tests use this to observe every call). */
  public static ReportNode start(Config configured, ProviderRegistry providers) {
    return start(configured, system -> providers);
  }

  /**
   * Starts a node whose providers are made once its ActorSystem runs (their HTTP clients use it).
   */
  public static ReportNode start(
      Config configured, Function<ActorSystem<?>, ProviderRegistry> makeProviders) {
    Config config = ClusterTls.apply(ClusterMembership.withFixedManagementPort(configured));
    Config reports = config.getConfig("reports");
    NodeAccess.checkBinding(reports);
    JournalSchema.createIfMissing(reports.getConfig("db"));

    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "reportcluster", config);
    try {
      ClusterMembership.joinSelfIfAlone(system, config);
      ProviderRegistry providers = makeProviders.apply(system);
      String nodeName = nodeName(reports);

      LlmCallerPool.Settings poolSettings =
          LlmCallerPool.Settings.fromConfig(reports.getConfig("llm"));
      PoolMetrics metrics = new PoolMetrics(poolSettings.callers(), poolSettings.queueLimit());
      NodeMetrics nodeMetrics = new NodeMetrics(nodeName, metrics);
      system.getWhenTerminated().thenRun(nodeMetrics::close);
      Config redisConfig = reports.getConfig("redis");
      Optional<RedisConnections> redis =
          RedisConnections.fromConfig(redisConfig).map(r -> r.startWithin(system));
      DeltaSink deltas =
          redis
              .<DeltaSink>map(
                  r -> {
                    LiveDeltas live =
                        new LiveDeltas(r, nodeName, redisConfig.getDuration("delta-interval"));
                    system.getWhenTerminated().thenRun(live::close);
                    return live;
                  })
              .orElse(DeltaSink.NONE);
      Budgets budgets =
          new Budgets(
              BudgetSettings.fromConfig(reports.getConfig("llm.limits")),
              providers.limits(),
              redis,
              () -> ClusterMembership.upMembers(system));
      nodeMetrics.watch(budgets);
      ActorRef<LlmCallerPool.Command> pool =
          LlmCallerPool.start(system, poolSettings, providers, metrics, deltas, budgets);

      JobMirror mirror =
          redis
              .<JobMirror>map(r -> RedisStatusMirror.fromConfig(r, redisConfig, nodeMetrics))
              .orElse(JobMirror.NONE);
      Optional<LiveEvents> live = redis.map(r -> new LiveEvents(system, r));

      JobSettings jobSettings = JobSettings.fromConfig(reports);
      ReportJob.init(
          system,
          new ReportJob.Deps(
              jobSettings, pool, metrics, nodeName, mirror, nodeMetrics::fallback, nodeMetrics));
      Jobs jobs =
          new Jobs(
              system,
              new Jobs.Settings(
                  reports.getDuration("http.ask-timeout"),
                  reports.getDuration("http.submit-margin")),
              new JournalJobs(system, reports.getInt("http.remembered-job-ids")),
              mirror);
      ReadSideSettings readSettings = ReadSideSettings.fromConfig(reports.getConfig("read-side"));
      Optional<ReadSide> readSide =
          readSettings.enabled()
              ? Optional.of(ReadSide.open(system, reports, readSettings, nodeMetrics.registry()))
              : Optional.empty();
      Optional<JobList> list = readSide.map(ReadSide::list);
      AuthGate gate =
          new AuthGate(
              NodeAccess.start(system, reports),
              system.dispatchers().lookup(DispatcherSelector.blocking()));

      ServerBinding binding =
          startHttp(
              system,
              reports,
              jobs,
              jobSettings,
              providers,
              live,
              nodeName,
              metrics,
              nodeMetrics,
              redis,
              budgets,
              list,
              gate);
      ClusterMembership.startManagement(system, config, redis);
      redis.ifPresent(
          r ->
              publishNodeStats(
                  system, redisConfig, new NodeStatsStore(r), nodeName, metrics, binding));
      // Last: a node that fails to start (a port in use) never joins the projection.
      readSide.ifPresent(ReadSide::startProjection);
      return new ReportNode(system, binding, metrics, nodeName);
    } catch (Exception e) {
      system.terminate();
      throw new IllegalStateException("node failed to start: " + e.getMessage(), e);
    }
  }

  private static ServerBinding startHttp(
      ActorSystem<?> system,
      Config reports,
      Jobs jobs,
      JobSettings jobSettings,
      ProviderRegistry providers,
      Optional<LiveEvents> live,
      String nodeName,
      PoolMetrics metrics,
      NodeMetrics nodeMetrics,
      Optional<RedisConnections> redis,
      Budgets budgets,
      Optional<JobList> list,
      AuthGate gate)
      throws Exception {
    Config http = reports.getConfig("http");
    HttpLimits limits = HttpLimits.fromConfig(http);
    JobRoutes jobRoutes =
        new JobRoutes(
            jobs,
            new JobRoutes.Settings(
                jobSettings.maxStartupLength(), reports.getDuration("llm.shed-retry-after")),
            providers,
            new JsonBody(limits.maxBodyBytes(), limits.maxJsonDepth()),
            new SubmitLimits(list));
    EventRoutes events =
        new EventRoutes(
            system,
            jobs,
            live,
            new EventRoutes.Settings(
                http.getDuration("sse-heartbeat"),
                http.getDuration("sse-poll-interval"),
                http.getDuration("sse-watchdog-interval"),
                http.getInt("max-sse-streams")));
    AdminRoutes admin =
        new AdminRoutes(
            system,
            reports.getString("management.admin-user"),
            reports.getString("management.admin-password"),
            reports.getString("management.admin-password-hash"));
    return HttpServer.start(
        system,
        http.getString("host"),
        http.getInt("port"),
        http.getDuration("shutdown-deadline"),
        limits,
        nodeMetrics,
        gate.around(
            Directives.concat(
                events.routes(),
                new SeedRoutes(jobRoutes).routes(),
                jobRoutes.routes(),
                new ListRoutes(list).routes(),
                new NodeRoutes(system, nodeName, metrics, nodeMetrics, redis, budgets).routes(),
                new ProviderRoutes(new ProviderOverview(providers, budgets)).routes(),
                admin.routes(),
                new DashboardRoutes().routes())));
  }

  /** This node's figures in Redis while it runs; taken out as soon as it starts to leave. */
  private static void publishNodeStats(
      ActorSystem<?> system,
      Config redis,
      NodeStatsStore store,
      String nodeName,
      PoolMetrics metrics,
      ServerBinding binding) {
    NodeStatsStore.Publishing publishing =
        store.publish(
            () -> metrics.stats(nodeName),
            () -> metrics.calls(nodeName),
            HttpServer.baseUrl(binding),
            redis.getDuration("node-stats-interval"),
            redis.getDuration("node-stats-ttl"));
    CoordinatedShutdown.get(system)
        .addTask(
            CoordinatedShutdown.PhaseServiceUnbind(),
            "remove-node-stats",
            () -> {
              publishing.stop();
              return CompletableFuture.completedFuture(Done.getInstance());
            });
  }

  /** {@code reports.node-name}, or host:port of the API when it is empty. */
  private static String nodeName(Config reports) {
    String name = reports.getString("node-name");
    return name.isBlank()
        ? reports.getString("http.host") + ":" + reports.getInt("http.port")
        : name;
  }

  public ActorSystem<Void> system() {
    return system;
  }

  public InetSocketAddress httpAddress() {
    return binding.localAddress();
  }

  public String baseUrl() {
    return HttpServer.baseUrl(binding);
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
