package io.reportcluster.node.read;

import io.micrometer.core.instrument.Timer;
import io.reportcluster.node.job.ReportJob;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.persistence.query.Sequence;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.jdbc.javadsl.JdbcHandler;

/**
 * Applies a batch of journal events to the read side, in the transaction that also stores the
 * projection's offset: each event counts exactly once. A job's row follows the rules of the job's
 * own view (PENDING until its first call, STARTED once it ran, RETRY while it waits for a backoff,
 * then its outcome); the per-minute tables add up what the charts show.
 */
final class JobListHandler extends JdbcHandler<List<EventEnvelope<ReportJob.Event>>, ReadSession> {
  static final String PROGRESS = "job-list";

  private final Timer lag;

  JobListHandler(Timer lag) {
    this.lag = lag;
  }

  @Override
  public void process(ReadSession session, List<EventEnvelope<ReportJob.Event>> batch)
      throws Exception {
    session.withConnection(
        c -> {
          new Batch(c).apply(batch);
          return null;
        });
    long now = System.currentTimeMillis();
    for (EventEnvelope<ReportJob.Event> e : batch) {
      lag.record(Math.max(0, now - e.timestamp()), TimeUnit.MILLISECONDS);
    }
  }

  /** One batch: statements prepared once, minute figures summed before they are written. */
  private static final class Batch {
    private final Connection c;
    private final Map<String, PreparedStatement> statements = new HashMap<>();
    private final Map<Long, long[]> jobMinutes = new LinkedHashMap<>();
    private final Map<String, Map<Long, double[]>> providerMinutes = new LinkedHashMap<>();

    Batch(Connection c) {
      this.c = c;
    }

    void apply(List<EventEnvelope<ReportJob.Event>> batch) throws SQLException {
      try {
        long lastAt = 0;
        for (EventEnvelope<ReportJob.Event> e : batch) {
          String jobId = PersistenceId.extractEntityId(e.persistenceId());
          apply(jobId, e.event(), ordering(e));
          lastAt = Math.max(lastAt, e.timestamp());
        }
        writeMinutes();
        progress(lastAt, batch.size());
      } finally {
        for (PreparedStatement st : statements.values()) st.close();
      }
    }

    private static long ordering(EventEnvelope<?> e) {
      return e.offset() instanceof Sequence s ? s.value() : 0L;
    }

    private void apply(String jobId, ReportJob.Event event, long ordering) throws SQLException {
      if (event instanceof ReportJob.Submitted e) {
        submitted(jobId, e, ordering);
      } else if (event instanceof ReportJob.AttemptStarted e) {
        update(
            "UPDATE job_list SET state = 'STARTED', attempts = attempts + 1,"
                + " node = COALESCE(?, node), updated_at = ? WHERE job_id = ?",
            jobId,
            e.node(),
            millis(e.at()));
      } else if (event instanceof ReportJob.StepCompleted e) {
        update(
            "UPDATE job_list SET state = 'STARTED', steps_done = steps_done + 1,"
                + " provider = COALESCE(?, provider), input_tokens = input_tokens + ?,"
                + " output_tokens = output_tokens + ?, cost_usd = cost_usd + ?, updated_at = ?"
                + " WHERE job_id = ?",
            jobId,
            e.provider(),
            e.inputTokens(),
            e.outputTokens(),
            e.costUsd(),
            millis(e.finishedAt()));
        double[] m =
            providerMinutes
                .computeIfAbsent(
                    e.provider() == null ? "unknown" : e.provider(), p -> new HashMap<>())
                .computeIfAbsent(minute(e.finishedAt()), k -> new double[4]);
        m[0] += 1;
        m[1] += e.inputTokens();
        m[2] += e.outputTokens();
        m[3] += e.costUsd();
      } else if (event instanceof ReportJob.AttemptFailed e) {
        if (e.nextRetryAt() != null) {
          update(
              "UPDATE job_list SET state = 'RETRY', error = ?, updated_at = ? WHERE job_id = ?",
              jobId,
              clip(e.error()),
              millis(e.finishedAt()));
        } else {
          update(
              "UPDATE job_list SET error = ?, updated_at = ? WHERE job_id = ?",
              jobId,
              clip(e.error()),
              millis(e.finishedAt()));
        }
      } else if (event instanceof ReportJob.ProviderSwitched e) {
        update(
            "UPDATE job_list SET provider = ?, updated_at = ? WHERE job_id = ?",
            jobId,
            e.to(),
            millis(e.at()));
      } else if (event instanceof ReportJob.Succeeded e) {
        finished(jobId, "SUCCESS", null, e.at(), 1);
      } else if (event instanceof ReportJob.JobFailed e) {
        finished(jobId, "FAILURE", e.error(), e.at(), 2);
      } else if (event instanceof ReportJob.Cancelled e) {
        finished(jobId, "REVOKED", "cancelled by a client", e.at(), 3);
      } else if (event instanceof ReportJob.Resumed e) {
        update(
            "UPDATE job_list SET state = 'STARTED', runs = runs + 1, finished_at = NULL,"
                + " error = NULL, updated_at = ? WHERE job_id = ?",
            jobId,
            millis(e.at()));
      }
    }

    private void submitted(String jobId, ReportJob.Submitted e, long ordering) throws SQLException {
      List<String> chain =
          e.providers() == null || e.providers().isEmpty() ? List.of(e.provider()) : e.providers();
      // A row exists already only if this event was applied before; the insert then does nothing.
      PreparedStatement st =
          statement(
              "INSERT INTO job_list (job_id, list_seq, state, startup, providers, provider,"
                  + " steps_done, steps_total, attempts, runs, input_tokens, output_tokens, cost_usd,"
                  + " submitted_at, updated_at, owner) SELECT ?, ?, 'PENDING', ?, ?, ?, 0, ?, 0, 1,"
                  + " 0, 0, 0, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM job_list WHERE job_id = ?)");
      long at = millis(e.at());
      set(
          st,
          jobId,
          ordering,
          clip(e.startup()),
          "," + String.join(",", chain) + ",",
          chain.get(0),
          e.steps().size(),
          at,
          at,
          e.owner(),
          jobId);
      st.executeUpdate();
      jobMinutes.computeIfAbsent(minute(e.at()), k -> new long[6])[0] += 1;
    }

    /** {@code slot}: 1 succeeded, 2 failed, 3 revoked in the minute's figures. */
    private void finished(String jobId, String state, String error, Instant at, int slot)
        throws SQLException {
      update(
          "UPDATE job_list SET state = ?, error = ?, finished_at = ?, updated_at = ?"
              + " WHERE job_id = ?",
          jobId,
          state,
          clip(error),
          millis(at),
          millis(at));
      PreparedStatement q = statement("SELECT submitted_at FROM job_list WHERE job_id = ?");
      q.setString(1, jobId);
      long duration = 0;
      try (ResultSet rs = q.executeQuery()) {
        if (rs.next()) duration = Math.max(0, millis(at) - rs.getLong(1));
      }
      long[] m = jobMinutes.computeIfAbsent(minute(at), k -> new long[6]);
      m[slot] += 1;
      m[4] += duration;
      m[5] = Math.max(m[5], duration);
    }

    /** Runs an UPDATE whose last parameter is the job id. */
    private void update(String sql, String jobId, Object... params) throws SQLException {
      PreparedStatement st = statement(sql);
      Object[] all = new Object[params.length + 1];
      System.arraycopy(params, 0, all, 0, params.length);
      all[params.length] = jobId;
      set(st, all);
      st.executeUpdate();
    }

    private void writeMinutes() throws SQLException {
      for (Map.Entry<Long, long[]> e : jobMinutes.entrySet()) {
        long[] m = e.getValue();
        PreparedStatement up =
            statement(
                "UPDATE job_minute SET submitted = submitted + ?, succeeded = succeeded + ?,"
                    + " failed = failed + ?, revoked = revoked + ?,"
                    + " duration_ms_sum = duration_ms_sum + ?,"
                    + " duration_ms_max = CASE WHEN duration_ms_max > ? THEN duration_ms_max"
                    + " ELSE ? END WHERE at_minute = ?");
        set(up, m[0], m[1], m[2], m[3], m[4], m[5], m[5], e.getKey());
        if (up.executeUpdate() == 0) {
          PreparedStatement in =
              statement(
                  "INSERT INTO job_minute (at_minute, submitted, succeeded, failed, revoked,"
                      + " duration_ms_sum, duration_ms_max) VALUES (?, ?, ?, ?, ?, ?, ?)");
          set(in, e.getKey(), m[0], m[1], m[2], m[3], m[4], m[5]);
          in.executeUpdate();
        }
      }
      for (Map.Entry<String, Map<Long, double[]>> p : providerMinutes.entrySet()) {
        for (Map.Entry<Long, double[]> e : p.getValue().entrySet()) {
          double[] m = e.getValue();
          PreparedStatement up =
              statement(
                  "UPDATE provider_minute SET steps = steps + ?, input_tokens = input_tokens + ?,"
                      + " output_tokens = output_tokens + ?, cost_usd = cost_usd + ?"
                      + " WHERE provider = ? AND at_minute = ?");
          set(up, (long) m[0], (long) m[1], (long) m[2], m[3], p.getKey(), e.getKey());
          if (up.executeUpdate() == 0) {
            PreparedStatement in =
                statement(
                    "INSERT INTO provider_minute (provider, at_minute, steps, input_tokens,"
                        + " output_tokens, cost_usd) VALUES (?, ?, ?, ?, ?, ?)");
            set(in, p.getKey(), e.getKey(), (long) m[0], (long) m[1], (long) m[2], m[3]);
            in.executeUpdate();
          }
        }
      }
    }

    private void progress(long lastAt, int events) throws SQLException {
      PreparedStatement up =
          statement(
              "UPDATE read_side_progress SET last_event_at = ?, events = events + ?"
                  + " WHERE name = ?");
      set(up, lastAt, (long) events, PROGRESS);
      if (up.executeUpdate() == 0) {
        PreparedStatement in =
            statement(
                "INSERT INTO read_side_progress (name, last_event_at, events) VALUES (?, ?, ?)");
        set(in, PROGRESS, lastAt, (long) events);
        in.executeUpdate();
      }
    }

    private PreparedStatement statement(String sql) throws SQLException {
      PreparedStatement st = statements.get(sql);
      if (st == null) {
        st = c.prepareStatement(sql);
        statements.put(sql, st);
      }
      return st;
    }
  }

  static void set(PreparedStatement st, Object... params) throws SQLException {
    for (int i = 0; i < params.length; i++) {
      Object p = params[i];
      if (p == null) st.setNull(i + 1, Types.VARCHAR);
      else if (p instanceof String s) st.setString(i + 1, s);
      else if (p instanceof Integer n) st.setInt(i + 1, n);
      else if (p instanceof Long n) st.setLong(i + 1, n);
      else if (p instanceof Double d) st.setDouble(i + 1, d);
      else throw new IllegalArgumentException("no SQL type for " + p.getClass());
    }
  }

  private static long millis(Instant at) {
    return at == null ? System.currentTimeMillis() : at.toEpochMilli();
  }

  static long minute(Instant at) {
    return millis(at) / 60_000L;
  }

  /** Text columns hold at most 1000 characters (a startup is at most 200 by default). */
  private static String clip(String s) {
    return s == null || s.length() <= 1000 ? s : s.substring(0, 1000);
  }
}
