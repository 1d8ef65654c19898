package io.reportcluster.tools.chaos;

import io.reportcluster.tools.journal.JobHistories;
import io.reportcluster.tools.journal.JobHistory;
import io.reportcluster.tools.journal.JournalReader;
import io.reportcluster.tools.journal.JournalSource;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The cluster's journal as the run follows it: which accepted jobs have finished, and at the end
 * every job's whole history. Read through {@link JournalReader} (typed events); each job's events
 * are read once, newer ones as they are written.
 */
final class RunJournal {
  final JournalReader reader;
  private final JobHistories histories;
  private final ChaosRun run;

  private RunJournal(ChaosRun run, JournalReader reader) {
    this.run = run;
    this.reader = reader;
    this.histories = new JobHistories(reader);
  }

  static RunJournal open(ChaosRun run) {
    ChaosOptions o = run.o;
    JournalReader reader;
    try {
      reader =
          JournalReader.open(
              new JournalSource(o.clusterProfile(), o.dbUrl, o.dbUser, o.dbPassword));
    } catch (RuntimeException e) {
      throw new Fatal("cannot read the journal with " + o.clusterProfile() + ": " + e.getMessage());
    }
    try {
      reader.check();
    } catch (RuntimeException e) {
      reader.close();
      throw new Fatal("cannot connect to the journal at " + o.dbUrl + ": " + e.getMessage());
    }
    return new RunJournal(run, reader);
  }

  /** Marks accepted jobs terminal once the journal has their final event. */
  void markFinished() {
    Map<String, ChaosJob> open = new HashMap<>();
    for (ChaosJob j : run.openJobs()) open.put(j.id, j);
    if (open.isEmpty()) return;
    for (String id : finishedBy(open.keySet(), Long.MAX_VALUE)) open.get(id).terminal = true;
  }

  /**
   * The ids among these whose job has a final event (Succeeded, JobFailed, Cancelled) written at or
   * before {@code untilWallMs}. A failed read is noted and finds none.
   */
  Set<String> finishedBy(Collection<String> ids, long untilWallMs) {
    Set<String> out = new HashSet<>();
    if (ids.isEmpty()) return out;
    try {
      histories
          .refresh(ids)
          .forEach(
              (id, h) -> {
                if (h.finishedBy(untilWallMs)) out.add(id);
              });
    } catch (RuntimeException e) {
      run.note("journal query failed: " + e.getMessage());
    }
    return out;
  }

  /** The whole history of each of these jobs now; fails when the journal cannot be read. */
  Map<String, JobHistory> histories(Collection<String> ids) {
    return histories.refresh(ids);
  }

  /** The id of every job in the journal. */
  List<String> allJobIds() {
    return reader.jobIds();
  }
}
