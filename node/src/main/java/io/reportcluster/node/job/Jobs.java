package io.reportcluster.node.job;

import io.reportcluster.node.mirror.JobMirror;
import io.reportcluster.protocol.Api.JobView;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;

/**
 * What the API does with jobs, in the job's own terms: submit, read, cancel. It names the job (a
 * new UUID, or the one an Idempotency-Key hashes to), sets the submit's deadline, asks the {@link
 * ReportJob} entity through Cluster Sharding (so any node serves any job), reads from the status
 * mirror first and asks an entity only for a job the journal knows. Routes translate HTTP to these
 * calls and their answers back to HTTP, nothing more.
 */
public final class Jobs {
  /**
   * Job ids are UUIDs (idempotency keys hash to UUIDs too); anything else cannot name a job, so it
   * never reaches an entity. Matched in lower case, as UUIDs print: other case would name another
   * entity.
   */
  private static final Pattern JOB_ID =
      Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

  /**
   * {@code askTimeout}: how long an entity has to answer. {@code submitMargin}: a Submit must reach
   * its job this long before the ask times out, or the job refuses it, so the journal write of an
   * accepted one has that long to be answered.
   */
  public record Settings(Duration askTimeout, Duration submitMargin) {}

  /** A submit's job id and what the job answered. */
  public record Submission(String jobId, ReportJob.SubmitReply reply) {}

  private final ClusterSharding sharding;
  private final Settings settings;
  private final JournalJobs journal;
  private final JobMirror mirror;

  public Jobs(ActorSystem<?> system, Settings settings, JournalJobs journal, JobMirror mirror) {
    this.sharding = ClusterSharding.get(system);
    this.settings = settings;
    this.journal = journal;
    this.mirror = mirror;
  }

  public Duration askTimeout() {
    return settings.askTimeout();
  }

  /** True for a string that can name a job; every other id is unknown without asking anyone. */
  public static boolean isJobId(String id) {
    return JOB_ID.matcher(id).matches();
  }

  /**
   * Asks a job to exist. The same Idempotency-Key always names the same job, on any node, so no
   * lookup table is needed; without one the job gets a new id. Fails only if the job does not
   * answer within the ask timeout.
   */
  public CompletionStage<Submission> submit(
      String startup, List<String> providers, String idempotencyKey) {
    return submit(startup, providers, idempotencyKey, null);
  }

  /**
   * A submit of an API key ({@code owner}; null without keys). Its Idempotency-Keys are its own:
   * two clients' same key names two jobs.
   */
  public CompletionStage<Submission> submit(
      String startup, List<String> providers, String idempotencyKey, String owner) {
    String scope = owner == null ? "" : owner + ":";
    String jobId =
        idempotencyKey == null
            ? UUID.randomUUID().toString()
            : UUID.nameUUIDFromBytes(
                    ("idempotency-key:" + scope + idempotencyKey).getBytes(StandardCharsets.UTF_8))
                .toString();
    // Past this instant the job refuses to be created: a client told 503 never has a job behind it.
    Instant deadline = Instant.now().plus(settings.askTimeout()).minus(settings.submitMargin());
    return direct(
            job(jobId)
                .<ReportJob.SubmitReply>ask(
                    replyTo ->
                        new ReportJob.Submit(
                            startup, providers, idempotencyKey, deadline, replyTo, owner),
                    settings.askTimeout()))
        .thenApply(
            reply -> {
              if (reply instanceof ReportJob.Accepted) journal.accepted(jobId);
              return new Submission(jobId, reply);
            });
  }

  /**
   * The job's view: from the status mirror when it has the job (no entity is woken up for a poll),
   * else from the entity, the source of truth, if the journal knows the job. Empty for an unknown
   * job; fails only if the entity does not answer.
   */
  public CompletionStage<Optional<JobView>> view(String id) {
    return view(id, null);
  }

  /**
   * The view for a caller that may see only {@code asOwner}'s jobs (null: any job): another's job
   * is empty, as an unknown one.
   */
  public CompletionStage<Optional<JobView>> view(String id, String asOwner) {
    return view0(id)
        .thenApply(v -> v.filter(job -> asOwner == null || asOwner.equals(job.owner())));
  }

  private CompletionStage<Optional<JobView>> view0(String id) {
    if (!isJobId(id)) return CompletableFuture.completedFuture(Optional.empty());
    return mirror
        .read(id)
        .thenCompose(
            mirrored ->
                mirrored.isPresent()
                    ? CompletableFuture.completedFuture(mirrored)
                    : viewFromEntity(id));
  }

  /** The entity's view, but only for a job the journal knows: an unknown id wakes no entity. */
  public CompletionStage<Optional<JobView>> viewFromEntity(String id) {
    if (!isJobId(id)) return CompletableFuture.completedFuture(Optional.empty());
    return journal
        .exists(id)
        .thenCompose(
            exists -> exists ? askView(id) : CompletableFuture.completedFuture(Optional.empty()));
  }

  /**
   * Asks the entity for its view without the journal check, for a job known to exist (a stream that
   * already found it); empty when no such job exists.
   */
  public CompletionStage<Optional<JobView>> askView(String id) {
    return direct(job(id).<ReportJob.GetReply>ask(ReportJob.Get::new, settings.askTimeout()))
        .thenApply(
            r -> r instanceof ReportJob.Found f ? Optional.of(f.job()) : Optional.<JobView>empty());
  }

  /** Cancels a job the journal knows; empty for an unknown one. */
  public CompletionStage<Optional<ReportJob.CancelReply>> cancel(String id) {
    return cancel(id, null);
  }

  /** As {@link #cancel(String)}, for a caller that may touch only {@code asOwner}'s jobs. */
  public CompletionStage<Optional<ReportJob.CancelReply>> cancel(String id, String asOwner) {
    return this.<ReportJob.CancelReply>askKnown(
            id, replyTo -> new ReportJob.Cancel(replyTo, asOwner))
        .thenApply(r -> r.filter(reply -> !(reply instanceof ReportJob.NotFound)));
  }

  /** Runs a FAILURE job again from its failed step; empty for an unknown job. */
  public CompletionStage<Optional<ReportJob.RetryReply>> retry(String id, String asOwner) {
    return this.<ReportJob.RetryReply>askKnown(id, replyTo -> new ReportJob.Retry(replyTo, asOwner))
        .thenApply(r -> r.filter(reply -> !(reply instanceof ReportJob.NotFound)));
  }

  /** Asks a job the journal knows (so an unknown id starts no entity); empty for an unknown one. */
  private <R> CompletionStage<Optional<R>> askKnown(
      String id, java.util.function.Function<ActorRef<R>, ReportJob.Command> command) {
    if (!isJobId(id)) return CompletableFuture.completedFuture(Optional.empty());
    return journal
        .exists(id)
        .thenCompose(
            exists ->
                !exists
                    ? CompletableFuture.completedFuture(Optional.<R>empty())
                    : direct(job(id).<R>ask(command::apply, settings.askTimeout()))
                        .thenApply(Optional::of));
  }

  private EntityRef<ReportJob.Command> job(String id) {
    return sharding.entityRefFor(ReportJob.TYPE_KEY, id);
  }

  /**
   * Hands an ask's answer over to a plain future on the thread that completes it. The stages Pekko
   * returns run every callback asynchronously on the common pool, and on a 2-core machine
   * (common-pool parallelism 1) the JDK then starts a new thread per callback: measured, that
   * capped the whole API at a few hundred requests per second.
   */
  static <T> CompletableFuture<T> direct(CompletionStage<T> stage) {
    CompletableFuture<T> out = new CompletableFuture<>();
    stage.whenCompleteAsync(
        (value, failure) -> {
          if (failure != null) out.completeExceptionally(failure);
          else out.complete(value);
        },
        Runnable::run);
    return out;
  }
}
