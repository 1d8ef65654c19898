package io.reportcluster.node.http;

import io.reportcluster.node.auth.Caller;
import io.reportcluster.node.auth.SubmitLimits;
import io.reportcluster.node.job.Jobs;
import io.reportcluster.node.job.ReportJob;
import io.reportcluster.node.llm.provider.ProviderRegistry;
import io.reportcluster.protocol.Api.GenerateAccepted;
import io.reportcluster.protocol.Api.JobAccepted;
import io.reportcluster.protocol.Api.JobView;
import java.time.Duration;
import java.util.function.Function;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The job API under {@code /api/v1/jobs}: submit, read, cancel, retry. It checks the input, then
 * only translates HTTP to {@link Jobs} and its answers back to HTTP. Every error is JSON {"error",
 * "detail"} with a 4xx/5xx status (see {@link HttpServer}). The seed-compatible {@code /generate}
 * and {@code /status} ({@link SeedRoutes}) share its submit and read.
 */
public final class JobRoutes extends AllDirectives {
  private static final Logger log = LoggerFactory.getLogger(JobRoutes.class);

  /** {@code shedRetryAfter}: Retry-After of a submit refused because the job's node is full. */
  public record Settings(int maxStartupLength, Duration shedRetryAfter) {}

  private final Jobs jobs;
  private final Settings settings;
  private final ProviderRegistry providers;
  private final JsonBody body;

  private final SubmitLimits limits;

  public JobRoutes(Jobs jobs, Settings settings, ProviderRegistry providers, JsonBody body) {
    this(jobs, settings, providers, body, SubmitLimits.NONE);
  }

  public JobRoutes(
      Jobs jobs,
      Settings settings,
      ProviderRegistry providers,
      JsonBody body,
      SubmitLimits limits) {
    this.limits = limits;
    this.jobs = jobs;
    this.settings = settings;
    this.providers = providers;
    this.body = body;
  }

  public Route routes() {
    return pathPrefix(
        PathMatchers.segment("api").slash("v1"),
        () ->
            concat(
                path("jobs", () -> post(() -> submit(false))),
                path(
                    PathMatchers.segment("jobs").slash(PathMatchers.segment()),
                    id -> concat(get(() -> read(id, view -> view)), delete(() -> cancel(id)))),
                path(
                    PathMatchers.segment("jobs").slash(PathMatchers.segment()).slash("retry"),
                    id -> post(() -> retry(id)))));
  }

  /**
   * A submit, with its optional Idempotency-Key. Seed clients know only 202, so for them an
   * idempotent repeat answers 202 with the same job too.
   */
  Route submit(boolean seedApi) {
    return AuthGate.caller(caller -> submit(seedApi, caller));
  }

  /** A key over one of its limits is refused before anything else: 429 with Retry-After. */
  private Route submit(boolean seedApi, Caller caller) {
    return onSuccess(
        limits.admit(caller),
        refusal ->
            refusal.isPresent()
                ? complete(
                    JsonResponses.error(
                            StatusCodes.TOO_MANY_REQUESTS,
                            refusal.get().error(),
                            refusal.get().detail())
                        .addHeader(
                            RawHeader.create(
                                "Retry-After", Long.toString(refusal.get().retryAfterSeconds()))))
                : admitted(seedApi, caller));
  }

  private Route admitted(boolean seedApi, Caller caller) {
    return optionalHeaderValueByName(
        "Idempotency-Key",
        key ->
            body.read(
                json -> {
                  SubmitBody in = SubmitBody.of(json, settings.maxStartupLength(), providers);
                  if (in.error() != null) return complete(in.error());
                  HttpResponse badKey = SubmitBody.checkIdempotencyKey(key.orElse(null));
                  if (badKey != null) return complete(badKey);
                  return completeWithFuture(
                      jobs.submit(in.startup(), in.providers(), key.orElse(null), caller.owner())
                          .handle(
                              (s, failure) -> {
                                if (failure != null) return unavailable(failure);
                                String jobId = s.jobId();
                                if (s.reply() instanceof ReportJob.Accepted a) {
                                  if (seedApi)
                                    return JsonResponses.response(
                                        StatusCodes.ACCEPTED,
                                        new GenerateAccepted(jobId, "queued"));
                                  return JsonResponses.response(
                                      a.created() ? StatusCodes.ACCEPTED : StatusCodes.OK,
                                      new JobAccepted(
                                          jobId,
                                          a.created() ? "queued" : "existing",
                                          a.job().state(),
                                          a.created()));
                                }
                                if (s.reply() instanceof ReportJob.Overloaded o) {
                                  // Decided by the job on the node that would run it: that node's
                                  // queue is the bound.
                                  return JsonResponses.unavailable(
                                      "overloaded",
                                      "node "
                                          + o.node()
                                          + " has "
                                          + o.queueDepth()
                                          + " calls waiting (limit "
                                          + o.queueLimit()
                                          + "); the job was not created; retry later",
                                      settings.shedRetryAfter().toSeconds());
                                }
                                if (s.reply() instanceof ReportJob.Expired) {
                                  // The job refused a submit that arrived after the client's
                                  // deadline: nothing exists.
                                  return JsonResponses.unavailable(
                                      "unavailable",
                                      "the job could not be created within "
                                          + jobs.askTimeout().toMillis()
                                          + " ms and was not created; retry (with the same Idempotency-Key, if any)",
                                      1L);
                                }
                                return JsonResponses.error(
                                    StatusCodes.CONFLICT,
                                    "idempotency_conflict",
                                    "this Idempotency-Key already names job "
                                        + jobId
                                        + " with another request");
                              }));
                }));
  }

  /** A job's view in the shape {@code shape} gives it, or 404. */
  Route read(String id, Function<JobView, Object> shape) {
    return AuthGate.caller(caller -> read(id, shape, caller));
  }

  private Route read(String id, Function<JobView, Object> shape, Caller caller) {
    return completeWithFuture(
        jobs.view(id, caller.onlyOwner())
            .thenApply(
                v ->
                    v.map(found -> JsonResponses.response(StatusCodes.OK, shape.apply(found)))
                        .orElseGet(() -> JsonResponses.unknownJob(id)))
            .exceptionally(this::unavailable));
  }

  private Route cancel(String id) {
    return AuthGate.caller(caller -> cancel(id, caller));
  }

  private Route cancel(String id, Caller caller) {
    return completeWithFuture(
        jobs.cancel(id, caller.onlyOwner())
            .handle(
                (r, failure) -> {
                  if (failure != null) return unavailable(failure);
                  if (r.isEmpty()) return JsonResponses.unknownJob(id);
                  if (r.get() instanceof ReportJob.CancelAccepted a)
                    return JsonResponses.response(StatusCodes.OK, a.job());
                  if (r.get() instanceof ReportJob.CancelRefused refused) {
                    return JsonResponses.error(
                        StatusCodes.CONFLICT,
                        "job_finished",
                        "job "
                            + id
                            + " already finished with "
                            + refused.job().state()
                            + "; nothing to cancel");
                  }
                  return JsonResponses.unknownJob(id);
                }));
  }

  /** 202 and the job's view when it was in FAILURE and runs again; 409 otherwise. */
  private Route retry(String id) {
    return AuthGate.caller(caller -> retry(id, caller));
  }

  private Route retry(String id, Caller caller) {
    return completeWithFuture(
        jobs.retry(id, caller.onlyOwner())
            .handle(
                (r, failure) -> {
                  if (failure != null) return unavailable(failure);
                  if (r.isEmpty()) return JsonResponses.unknownJob(id);
                  if (r.get() instanceof ReportJob.RetryAccepted a)
                    return JsonResponses.response(StatusCodes.ACCEPTED, a.job());
                  if (r.get() instanceof ReportJob.RetryRefused refused) {
                    return JsonResponses.error(
                        StatusCodes.CONFLICT,
                        "not_failed",
                        "job "
                            + id
                            + " is "
                            + refused.job().state()
                            + "; only a job in FAILURE can be retried");
                  }
                  return JsonResponses.unknownJob(id);
                }));
  }

  private HttpResponse unavailable(Throwable failure) {
    log.warn("job entity did not answer: {}", failure.toString());
    return JsonResponses.unavailable(
        "unavailable",
        "the job did not answer within " + jobs.askTimeout().toMillis() + " ms; retry",
        1L);
  }
}
