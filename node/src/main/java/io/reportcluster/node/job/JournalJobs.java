package io.reportcluster.node.job;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * Which job ids exist, answered from the journal without waking an entity. Reading or cancelling an
 * id that names no job must not start its entity: that costs a remember-entities write, a recovery
 * and memory, and an id touched just before a crash would be restarted at every failover for ever.
 * A job exists once its Submitted event is in the journal, and jobs are never deleted, so ids found
 * once are remembered here (a bounded set) and not looked up again.
 */
public final class JournalJobs {
  private final JdbcReadJournal journal;
  private final Materializer materializer;
  private final Set<String> known;

  public JournalJobs(ActorSystem<?> system, int rememberedIds) {
    this.journal =
        PersistenceQuery.get(Adapter.toClassic(system))
            .getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
    this.materializer = Materializer.matFromSystem(system);
    this.known =
        Collections.synchronizedSet(
            Collections.newSetFromMap(
                new LinkedHashMap<>(16, 0.75f, true) {
                  @Override
                  protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
                    return size() > rememberedIds;
                  }
                }));
  }

  /** True when a job with this id was ever accepted (its first event is in the journal). */
  public CompletionStage<Boolean> exists(String jobId) {
    if (known.contains(jobId)) return CompletableFuture.completedFuture(true);
    String pid = PersistenceId.of(ReportJob.TYPE_KEY.name(), jobId).id();
    CompletableFuture<Boolean> found = new CompletableFuture<>();
    // Completed on the stream's own thread: Pekko's stages would hop to the common pool, which
    // on 2 cores starts a thread per callback (see Jobs.direct).
    journal
        .currentEventsByPersistenceId(pid, 1L, 1L)
        .runWith(Sink.headOption(), materializer)
        .whenCompleteAsync(
            (first, failure) -> {
              if (failure != null) {
                found.completeExceptionally(failure);
              } else {
                if (first.isPresent()) known.add(jobId);
                found.complete(first.isPresent());
              }
            },
            Runnable::run);
    return found;
  }

  /** An id this node just saw accepted: no lookup needed for it. */
  public void accepted(String jobId) {
    known.add(jobId);
  }
}
