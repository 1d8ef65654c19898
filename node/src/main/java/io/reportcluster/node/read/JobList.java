package io.reportcluster.node.read;

import io.reportcluster.protocol.Api.JobMinute;
import io.reportcluster.protocol.Api.JobPage;
import io.reportcluster.protocol.Api.JobSummary;
import io.reportcluster.protocol.Api.ProviderMinute;
import io.reportcluster.protocol.Api.Stats;
import io.reportcluster.protocol.Api.Usage;
import io.reportcluster.protocol.JobState;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import javax.sql.DataSource;

/** Reads of the read side: job lists and the per-minute figures. Blocking JDBC on its own pool. */
public final class JobList {
  private static final String COLUMNS =
      "job_id, list_seq, state, startup, providers, provider, steps_done, steps_total, attempts,"
          + " runs, input_tokens, output_tokens, cost_usd, node, submitted_at, updated_at,"
          + " finished_at, error";

  private final DataSource db;
  private final Executor blocking;
  private final ReadSideSettings settings;

  JobList(DataSource db, Executor blocking, ReadSideSettings settings) {
    this.db = db;
    this.blocking = blocking;
    this.settings = settings;
  }

  public ReadSideSettings settings() {
    return settings;
  }

  /** A page of jobs, newest first, with the counts per state of the same filters. */
  public CompletionStage<JobPage> list(ListQuery query) {
    return CompletableFuture.supplyAsync(() -> run(c -> page(c, query)), blocking);
  }

  /** The last {@code minutes} minutes, one bucket per minute, oldest first. */
  public CompletionStage<Stats> stats(int minutes) {
    return CompletableFuture.supplyAsync(() -> run(c -> stats(c, minutes)), blocking);
  }

  private interface Work<T> {
    T run(Connection c) throws SQLException;
  }

  private <T> T run(Work<T> work) {
    try (Connection c = db.getConnection()) {
      c.setAutoCommit(true);
      c.setReadOnly(true);
      return work.run(c);
    } catch (SQLException e) {
      throw new IllegalStateException("read side query failed: " + e.getMessage(), e);
    }
  }

  private JobPage page(Connection c, ListQuery query) throws SQLException {
    ListQuery.Where where = query.where(true, true);
    List<JobSummary> jobs = new ArrayList<>(query.limit());
    long lastSeq = -1;
    boolean more = false;
    try (PreparedStatement st =
        c.prepareStatement(
            "SELECT "
                + COLUMNS
                + " FROM job_list"
                + where.sql()
                + " ORDER BY list_seq DESC LIMIT "
                + (query.limit() + 1))) {
      JobListHandler.set(st, where.params().toArray());
      try (ResultSet rs = st.executeQuery()) {
        while (rs.next()) {
          if (jobs.size() == query.limit()) {
            more = true;
            break;
          }
          jobs.add(summary(rs));
          lastSeq = rs.getLong("list_seq");
        }
      }
    }
    Map<String, Long> counts = new LinkedHashMap<>();
    for (JobState s : JobState.values()) counts.put(s.name(), 0L);
    ListQuery.Where all = query.where(false, false);
    try (PreparedStatement st =
        c.prepareStatement(
            "SELECT state, COUNT(*) FROM job_list" + all.sql() + " GROUP BY state")) {
      JobListHandler.set(st, all.params().toArray());
      try (ResultSet rs = st.executeQuery()) {
        while (rs.next()) counts.put(rs.getString(1), rs.getLong(2));
      }
    }
    long total = 0;
    for (Map.Entry<String, Long> e : counts.entrySet()) {
      if (query.states().isEmpty() || query.states().contains(JobState.valueOf(e.getKey())))
        total += e.getValue();
    }
    return new JobPage(jobs, more ? ListQuery.cursorAfter(lastSeq) : null, counts, total, lagMs(c));
  }

  private static JobSummary summary(ResultSet rs) throws SQLException {
    String chain = rs.getString("providers");
    List<String> providers = Arrays.stream(chain.split(",")).filter(p -> !p.isEmpty()).toList();
    long finished = rs.getLong("finished_at");
    boolean isFinished = !rs.wasNull();
    return new JobSummary(
        rs.getString("job_id"),
        JobState.valueOf(rs.getString("state")),
        rs.getString("startup"),
        providers,
        rs.getString("provider"),
        rs.getInt("steps_done"),
        rs.getInt("steps_total"),
        rs.getInt("attempts"),
        rs.getInt("runs"),
        new Usage(
            rs.getLong("input_tokens"), rs.getLong("output_tokens"), rs.getDouble("cost_usd")),
        rs.getString("node"),
        Instant.ofEpochMilli(rs.getLong("submitted_at")),
        Instant.ofEpochMilli(rs.getLong("updated_at")),
        isFinished ? Instant.ofEpochMilli(finished) : null,
        rs.getString("error"));
  }

  private Stats stats(Connection c, int minutes) throws SQLException {
    long now = System.currentTimeMillis() / 60_000L;
    long from = now - minutes + 1;
    Map<Long, JobMinute> jobs = new LinkedHashMap<>();
    for (long m = from; m <= now; m++) {
      jobs.put(m, new JobMinute(Instant.ofEpochMilli(m * 60_000L), 0, 0, 0, 0, null, null));
    }
    try (PreparedStatement st =
        c.prepareStatement(
            "SELECT at_minute, submitted, succeeded, failed, revoked, duration_ms_sum,"
                + " duration_ms_max FROM job_minute WHERE at_minute >= ? ORDER BY at_minute")) {
      st.setLong(1, from);
      try (ResultSet rs = st.executeQuery()) {
        while (rs.next()) {
          long m = rs.getLong(1);
          if (!jobs.containsKey(m)) continue;
          long finished = rs.getLong(3) + rs.getLong(4) + rs.getLong(5);
          jobs.put(
              m,
              new JobMinute(
                  Instant.ofEpochMilli(m * 60_000L),
                  rs.getLong(2),
                  rs.getLong(3),
                  rs.getLong(4),
                  rs.getLong(5),
                  finished == 0 ? null : rs.getLong(6) / finished,
                  finished == 0 ? null : rs.getLong(7)));
        }
      }
    }
    List<ProviderMinute> providers = new ArrayList<>();
    try (PreparedStatement st =
        c.prepareStatement(
            "SELECT at_minute, provider, steps, input_tokens, output_tokens, cost_usd"
                + " FROM provider_minute WHERE at_minute >= ? ORDER BY at_minute, provider")) {
      st.setLong(1, from);
      try (ResultSet rs = st.executeQuery()) {
        while (rs.next()) {
          providers.add(
              new ProviderMinute(
                  Instant.ofEpochMilli(rs.getLong(1) * 60_000L),
                  rs.getString(2),
                  rs.getLong(3),
                  rs.getLong(4),
                  rs.getLong(5),
                  rs.getDouble(6)));
        }
      }
    }
    return new Stats(60, new ArrayList<>(jobs.values()), providers, lagMs(c));
  }

  /**
   * How far the read side is behind: the write time of the journal's newest tagged event minus that
   * of the last event applied (0 when it has applied the newest).
   */
  private static long lagMs(Connection c) throws SQLException {
    long applied = 0;
    try (PreparedStatement st =
        c.prepareStatement("SELECT last_event_at FROM read_side_progress WHERE name = ?")) {
      st.setString(1, JobListHandler.PROGRESS);
      try (ResultSet rs = st.executeQuery()) {
        if (rs.next()) applied = rs.getLong(1);
      }
    }
    long newest = 0;
    try (PreparedStatement st =
            c.prepareStatement(
                // Quoted: the H2 journal tables have lower-case names (PostgreSQL's are too).
                "SELECT j.\"write_timestamp\" FROM \"event_journal\" j WHERE j.\"ordering\" ="
                    + " (SELECT MAX(t.\"event_id\") FROM \"event_tag\" t)");
        ResultSet rs = st.executeQuery()) {
      if (rs.next()) newest = rs.getLong(1);
    }
    return newest == 0 ? 0 : Math.max(0, newest - applied);
  }

  /** What one API key's jobs hold now: unfinished jobs, and tokens and cost since {@code since}. */
  public record KeyUsage(long unfinished, long tokens, double costUsd) {}

  public CompletionStage<KeyUsage> usage(String owner, Instant since) {
    return CompletableFuture.supplyAsync(
        () ->
            run(
                c -> {
                  try (PreparedStatement st =
                      c.prepareStatement(
                          "SELECT SUM(CASE WHEN finished_at IS NULL THEN 1 ELSE 0 END),"
                              + " SUM(CASE WHEN submitted_at >= ? THEN input_tokens + output_tokens"
                              + " ELSE 0 END),"
                              + " SUM(CASE WHEN submitted_at >= ? THEN cost_usd ELSE 0 END)"
                              + " FROM job_list WHERE owner = ?")) {
                    st.setLong(1, since.toEpochMilli());
                    st.setLong(2, since.toEpochMilli());
                    st.setString(3, owner);
                    try (ResultSet rs = st.executeQuery()) {
                      rs.next();
                      return new KeyUsage(rs.getLong(1), rs.getLong(2), rs.getDouble(3));
                    }
                  }
                }),
        blocking);
  }
}
