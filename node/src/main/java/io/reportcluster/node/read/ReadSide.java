package io.reportcluster.node.read;

import com.typesafe.config.Config;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.reportcluster.node.job.ReportJob;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.ShardedDaemonProcessSettings;
import org.apache.pekko.cluster.sharding.typed.javadsl.ShardedDaemonProcess;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.projection.ProjectionBehavior;
import org.apache.pekko.projection.ProjectionId;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.eventsourced.javadsl.EventSourcedProvider;
import org.apache.pekko.projection.javadsl.GroupedProjection;
import org.apache.pekko.projection.javadsl.SourceProvider;
import org.apache.pekko.projection.jdbc.javadsl.JdbcProjection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The read side: a table of jobs kept from the journal by a projection with stored offsets, and the
 * queries on it. One instance of the projection runs in the cluster (a sharded daemon process: it
 * moves to another node when its node leaves or dies, and resumes from its offset), so rows are
 * written in journal order by one writer, which is what lets a list page by the journal ordering
 * without gaps while jobs arrive.
 */
public final class ReadSide {
  private static final Logger log = LoggerFactory.getLogger(ReadSide.class);
  static final String PROJECTION = "job-list";

  private final ActorSystem<?> system;
  private final HikariDataSource db;
  private final ReadSideSettings settings;
  private final Timer lag;
  private final JobList list;

  private ReadSide(
      ActorSystem<?> system,
      HikariDataSource db,
      ReadSideSettings settings,
      Timer lag,
      JobList list) {
    this.system = system;
    this.db = db;
    this.settings = settings;
    this.lag = lag;
    this.list = list;
  }

  /** The list's queries. */
  public JobList list() {
    return list;
  }

  /**
   * Opens the read side's database pool and queries; {@link #startProjection} then joins this node
   * to the projection, once the node serves (a node that fails to start never runs it).
   */
  public static ReadSide open(
      ActorSystem<?> system, Config reports, ReadSideSettings settings, MeterRegistry metrics) {
    Config dbConfig = reports.getConfig("db");
    HikariConfig hc = new HikariConfig();
    hc.setPoolName("read-side");
    hc.setJdbcUrl(dbConfig.getString("url"));
    hc.setUsername(dbConfig.getString("user"));
    hc.setPassword(dbConfig.getString("password"));
    hc.setDriverClassName(dbConfig.getString("driver"));
    hc.setMaximumPoolSize(settings.poolSize());
    hc.setMinimumIdle(1);
    hc.setConnectionTimeout(10_000);
    HikariDataSource db = new HikariDataSource(hc);
    AtomicInteger threads = new AtomicInteger();
    ExecutorService blocking =
        Executors.newFixedThreadPool(
            settings.poolSize(),
            r -> {
              Thread t = new Thread(r, "read-side-" + threads.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    CoordinatedShutdown.get(system)
        .addTask(
            CoordinatedShutdown.PhaseBeforeActorSystemTerminate(),
            "read-side-close",
            () -> {
              blocking.shutdown();
              db.close();
              return CompletableFuture.completedFuture(Done.getInstance());
            });

    backfillTags(db);
    Timer lag =
        Timer.builder("reports_read_side_lag_seconds")
            .description(
                "journal write to read-side row, per event, on the node that runs the projection")
            .publishPercentileHistogram()
            .maximumExpectedValue(Duration.ofMinutes(5))
            .register(metrics);
    return new ReadSide(system, db, settings, lag, new JobList(db, blocking, settings));
  }

  /** Runs the projection where the cluster places it (one instance in the cluster). */
  public void startProjection() {
    SourceProvider<Offset, EventEnvelope<ReportJob.Event>> source =
        EventSourcedProvider.eventsByTag(system, JdbcReadJournal.Identifier(), ReportJob.TAG);
    GroupedProjection<Offset, EventEnvelope<ReportJob.Event>> projection =
        JdbcProjection.groupedWithin(
                ProjectionId.of(PROJECTION, ReportJob.TAG),
                source,
                () -> new ReadSession(db),
                () -> new JobListHandler(lag),
                system)
            .withGroup(settings.batchSize(), settings.batchInterval())
            .withRestartBackoff(Duration.ofMillis(500), Duration.ofSeconds(10), 0.2);
    ShardedDaemonProcess.get(system)
        .init(
            ProjectionBehavior.Command.class,
            PROJECTION,
            1,
            i ->
                Behaviors.setup(
                    ctx -> {
                      // Tests and operators find where it runs by this line.
                      log.info("read side: the {} projection runs on this node", PROJECTION);
                      return ProjectionBehavior.create(projection);
                    }),
            ShardedDaemonProcessSettings.create(system),
            Optional.of(ProjectionBehavior.stopMessage()));
  }

  /**
   * Events journaled before they carried the read side's tag: tags them once, the first time the
   * read side starts on this journal (no offset stored yet), so its history includes them.
   */
  private static void backfillTags(HikariDataSource db) {
    try (Connection c = db.getConnection();
        Statement st = c.createStatement()) {
      c.setAutoCommit(true);
      try (ResultSet rs =
          st.executeQuery(
              "SELECT COUNT(*) FROM \"pekko_projection_offset_store\""
                  + " WHERE \"projection_name\" = '"
                  + PROJECTION
                  + "'")) {
        if (rs.next() && rs.getLong(1) > 0) return;
      }
      int n =
          st.executeUpdate(
              "INSERT INTO \"event_tag\" (\"event_id\", \"tag\") SELECT j.\"ordering\", '"
                  + ReportJob.TAG
                  + "' FROM \"event_journal\" j WHERE j.\"persistence_id\" LIKE '"
                  + ReportJob.TYPE_KEY.name()
                  + "|%' AND NOT EXISTS (SELECT 1 FROM \"event_tag\" t"
                  + " WHERE t.\"event_id\" = j.\"ordering\" AND t.\"tag\" = '"
                  + ReportJob.TAG
                  + "')");
      if (n > 0) log.info("read side: tagged {} events journaled before tags existed", n);
    } catch (SQLException e) {
      // Two nodes starting together on an old journal: one of them tags it. Nothing is lost
      // either way; untagged events only miss from the history.
      log.warn("read side: could not tag the journal's older events: {}", e.getMessage());
    }
  }
}
