package io.reportcluster.tools.journal;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.reportcluster.node.job.ReportJob;
import java.nio.file.Files;
import java.sql.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Reads jobs' events from the node's journal through pekko-persistence-query (the JDBC read
 * journal), decoded into {@link ReportJob.Event} records by the node's own serialization. A renamed
 * or changed event therefore fails to compile here, or fails loudly at decoding, instead of
 * silently matching nothing.
 *
 * <p>It runs a local actor system configured by the node's run profile (so the same journal plugin,
 * database and serialization bindings) with {@code tools.conf} on top: no cluster, no remoting,
 * nothing written. Calls block; they are meant for tools, not for the node. Events carry no tags,
 * so jobs are found through {@code currentPersistenceIds} and read one by one.
 */
public final class JournalReader implements AutoCloseable {
  /** Jobs read at once; the profile's pool has 8 connections. */
  private static final int PARALLELISM = 4;

  private static final Duration ONE_JOB_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration ALL_JOBS_TIMEOUT = Duration.ofMinutes(10);

  private final ActorSystem system;
  private final Config config;
  private final JdbcReadJournal journal;
  private final Materializer materializer;

  private JournalReader(ActorSystem system) {
    this.system = system;
    this.config = system.settings().config();
    this.journal =
        PersistenceQuery.get(system)
            .getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
    this.materializer = Materializer.matFromSystem(system);
  }

  /** Starts the reader's actor system; nothing connects to the database before the first read. */
  public static JournalReader open(JournalSource source) {
    if (!Files.isRegularFile(source.profile())) {
      throw new IllegalArgumentException("no node profile " + source.profile());
    }
    Map<String, Object> database = new HashMap<>();
    if (source.url() != null) database.put("reports.db.url", source.url());
    if (source.user() != null) database.put("reports.db.user", source.user());
    if (source.password() != null) database.put("reports.db.password", source.password());
    Config config =
        ConfigFactory.parseResources("tools.conf")
            .withFallback(ConfigFactory.parseMap(database))
            .withFallback(ConfigFactory.parseFile(source.profile().toFile()))
            .withFallback(ConfigFactory.defaultReference())
            .resolve();
    return new JournalReader(ActorSystem.create("reportcluster-tools", config));
  }

  /** The database URL the reader uses (for messages). */
  public String url() {
    return config.getString("reports.db.url");
  }

  /**
   * Fails with the database's own message when the journal cannot be read (no server, no such
   * database, no journal table).
   */
  public void check() {
    await(
        journal
            .currentEventsByPersistenceId(persistenceId("-"), 1L, 1L)
            .runWith(Sink.seq(), materializer),
        ONE_JOB_TIMEOUT);
  }

  /** The id of every job in the journal. */
  public List<String> jobIds() {
    String type = ReportJob.TYPE_KEY.name();
    List<String> pids =
        await(journal.currentPersistenceIds().runWith(Sink.seq(), materializer), ALL_JOBS_TIMEOUT);
    return pids.stream()
        .filter(pid -> PersistenceId.extractEntityType(pid).equals(type))
        .map(PersistenceId::extractEntityId)
        .toList();
  }

  /**
   * A job's events from sequence number {@code from} on; empty for an id the journal does not know.
   */
  public List<JournalEvent> events(String jobId, long from) {
    return await(read(jobId, from), ONE_JOB_TIMEOUT);
  }

  /** The events of several jobs, each from its own sequence number on (jobs read in parallel). */
  public Map<String, List<JournalEvent>> events(Map<String, Long> fromByJob) {
    return events(fromByJob, Long.MAX_VALUE);
  }

  /**
   * The first event of each of these jobs: its Submitted, since a job exists once that is written.
   * One row per job, so much cheaper than the whole history on a large journal.
   */
  public Map<String, List<JournalEvent>> firstEvents(Collection<String> jobIds) {
    Map<String, Long> fromStart = new LinkedHashMap<>();
    for (String id : jobIds) fromStart.put(id, 1L);
    return events(fromStart, 1L);
  }

  private Map<String, List<JournalEvent>> events(Map<String, Long> fromByJob, long to) {
    List<Map.Entry<String, List<JournalEvent>>> read =
        await(
            Source.from(new ArrayList<>(fromByJob.entrySet()))
                .mapAsyncUnordered(
                    PARALLELISM,
                    e ->
                        read(e.getKey(), e.getValue(), to).thenApply(l -> Map.entry(e.getKey(), l)))
                .runWith(Sink.seq(), materializer),
            ALL_JOBS_TIMEOUT);
    Map<String, List<JournalEvent>> out = new LinkedHashMap<>();
    for (Map.Entry<String, List<JournalEvent>> e : read) out.put(e.getKey(), e.getValue());
    return out;
  }

  private CompletionStage<List<JournalEvent>> read(String jobId, long from) {
    return read(jobId, from, Long.MAX_VALUE);
  }

  private CompletionStage<List<JournalEvent>> read(String jobId, long from, long to) {
    return journal
        .currentEventsByPersistenceId(persistenceId(jobId), from, to)
        .map(JournalReader::toEvent)
        .runWith(Sink.seq(), materializer);
  }

  private static JournalEvent toEvent(EventEnvelope envelope) {
    if (!(envelope.event() instanceof ReportJob.Event event)) {
      throw new IllegalStateException(
          envelope.persistenceId()
              + " event "
              + envelope.sequenceNr()
              + " is a "
              + envelope.event().getClass().getName()
              + ", not a ReportJob.Event");
    }
    return new JournalEvent(envelope.sequenceNr(), envelope.timestamp(), event);
  }

  /**
   * The writer of each event of these jobs: job id to sequence number to writer UUID. A new writer
   * is a new incarnation of the job's entity, so this shows whether two incarnations wrote at once.
   * The query API's envelopes do not carry the writer, so it is read from the journal table's
   * writer column (names from the plugin's configuration); event payloads are never read this way.
   */
  public Map<String, Map<Long, String>> writers(Collection<String> jobIds) {
    Config table = config.getConfig("jdbc-read-journal.tables.event_journal");
    Config columns = table.getConfig("columnNames");
    String schema = table.getString("schemaName");
    String sql =
        "SELECT "
            + columns.getString("persistenceId")
            + ", "
            + columns.getString("sequenceNumber")
            + ", "
            + columns.getString("writer")
            + " FROM "
            + (schema.isEmpty() ? "" : schema + ".")
            + table.getString("tableName")
            + " WHERE "
            + columns.getString("persistenceId")
            + " = ANY(?)";
    Map<String, Map<Long, String>> out = new HashMap<>();
    if (jobIds.isEmpty()) return out;
    try (Connection c =
            DriverManager.getConnection(
                url(),
                config.getString("reports.db.user"),
                config.getString("reports.db.password"));
        PreparedStatement ps = c.prepareStatement(sql)) {
      Array pids =
          c.createArrayOf("varchar", jobIds.stream().map(JournalReader::persistenceId).toArray());
      ps.setArray(1, pids);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.computeIfAbsent(PersistenceId.extractEntityId(rs.getString(1)), k -> new TreeMap<>())
              .put(rs.getLong(2), rs.getString(3));
        }
      }
    } catch (SQLException e) {
      throw new IllegalStateException(
          "cannot read the journal's writers at " + url() + ": " + e.getMessage(), e);
    }
    return out;
  }

  static String persistenceId(String jobId) {
    return PersistenceId.of(ReportJob.TYPE_KEY.name(), jobId).id();
  }

  private static <T> T await(CompletionStage<T> stage, Duration timeout) {
    try {
      return stage.toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      throw new IllegalStateException(
          cause.getMessage() == null ? cause.toString() : cause.getMessage(), cause);
    } catch (TimeoutException e) {
      throw new IllegalStateException(
          "the journal did not answer within " + timeout.toSeconds() + " s", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while reading the journal", e);
    }
  }

  @Override
  public void close() {
    system.terminate();
    try {
      system.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      // the JVM is on its way out anyway
    }
  }
}
