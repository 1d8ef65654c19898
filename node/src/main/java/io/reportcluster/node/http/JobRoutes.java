package io.reportcluster.node.http;

import io.reportcluster.protocol.Json;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.reportcluster.node.job.ReportJob;
import io.reportcluster.node.llm.provider.ProviderRegistry;
import io.reportcluster.protocol.Api.GenerateAccepted;
import io.reportcluster.protocol.Api.JobAccepted;
import io.reportcluster.node.mirror.JobMirror;
import io.reportcluster.node.persistence.JournalJobs;
import io.reportcluster.protocol.Api.JobView;
import io.reportcluster.protocol.Api.SeedStatus;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RetryAfter;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The job API. It validates input, then only translates HTTP to asks of the ReportJob
 * entities (through Cluster Sharding, so any node answers for any job) and their replies back
 * to HTTP; reads come from the status mirror when it has the job. Every error is JSON
 * {"error", "detail"} with a 4xx/5xx status (see {@link HttpApi}).
 */
public final class JobRoutes extends AllDirectives {
  private static final Logger log = LoggerFactory.getLogger(JobRoutes.class);
  /**
   * Job ids are UUIDs (idempotency keys hash to UUIDs too); anything else cannot name a job, so
   * it never reaches an entity.
   */
  private static final Pattern JOB_ID =
      Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  private static final int MAX_IDEMPOTENCY_KEY = 255;

  /**
   * {@code submitMargin}: a Submit must reach its job this long before the ask times out, or
   * the job refuses it, so the journal write of an accepted one has that long to be answered.
   */
  public record Settings(int maxStartupLength, long maxBodyBytes, Duration askTimeout, Duration submitMargin,
      Duration shedRetryAfter) {}

  private final ClusterSharding sharding;
  private final Settings settings;
  private final ProviderRegistry providers;
  private final JournalJobs journal;
  private final JobMirror mirror;

  public JobRoutes(ActorSystem<?> system, Settings settings, ProviderRegistry providers, JournalJobs journal,
      JobMirror mirror) {
    this.sharding = ClusterSharding.get(system);
    this.settings = settings;
    this.providers = providers;
    this.journal = journal;
    this.mirror = mirror;
  }

  public Route routes() {
    return concat(
        path("generate", () -> post(() -> optionalHeaderValueByName("Idempotency-Key",
            key -> jsonBody(body -> submit(body, key.orElse(null), true))))),
        path(PathMatchers.segment("status").slash(PathMatchers.segment()), id -> get(() -> seedStatus(id))),
        pathPrefix(PathMatchers.segment("api").slash("v1"), () -> concat(
            path("jobs", () -> post(() -> optionalHeaderValueByName("Idempotency-Key",
                key -> jsonBody(body -> submit(body, key.orElse(null), false))))),
            path(PathMatchers.segment("jobs").slash(PathMatchers.segment()), id -> concat(
                get(() -> getJob(id)),
                delete(() -> cancelJob(id)))))));
  }

  // ---------------------------------------------------------------- submit

  /** A validated submit, or the error that explains why it is not one. */
  private record SubmitInput(String startup, String provider, HttpResponse error) {}

  private Route submit(JsonNode body, String idempotencyKey, boolean seedApi) {
    SubmitInput in = validate(body);
    if (in.error() != null) return complete(in.error());
    if (idempotencyKey != null && (idempotencyKey.isBlank() || idempotencyKey.length() > MAX_IDEMPOTENCY_KEY)) {
      return complete(JsonResponses.error(StatusCodes.BAD_REQUEST, "invalid_idempotency_key",
          "Idempotency-Key must be 1 to " + MAX_IDEMPOTENCY_KEY + " characters"));
    }
    // The same Idempotency-Key always names the same job, on any node: no lookup table needed.
    String jobId = idempotencyKey == null
        ? UUID.randomUUID().toString()
        : UUID.nameUUIDFromBytes(("idempotency-key:" + idempotencyKey).getBytes(StandardCharsets.UTF_8)).toString();
    // Past this instant the job refuses to be created: a client told 503 never has a job behind it.
    Instant deadline = Instant.now().plus(settings.askTimeout()).minus(settings.submitMargin());
    CompletionStage<ReportJob.SubmitReply> reply = direct(job(jobId).ask(
        replyTo -> new ReportJob.Submit(in.startup(), in.provider(), idempotencyKey, deadline, replyTo),
        settings.askTimeout()));
    return completeWithFuture(reply.handle((r, failure) -> {
      if (failure != null) return unavailable(failure);
      if (r instanceof ReportJob.Accepted a) {
        journal.accepted(jobId);
        // Seed clients know only 202, so an idempotent repeat answers 202 with the same job too.
        if (seedApi) return JsonResponses.response(StatusCodes.ACCEPTED, new GenerateAccepted(jobId, "queued"));
        return JsonResponses.response(a.created() ? StatusCodes.ACCEPTED : StatusCodes.OK,
            new JobAccepted(jobId, a.created() ? "queued" : "existing", a.job().state(), a.created()));
      }
      if (r instanceof ReportJob.Overloaded o) {
        // Decided by the job on the node that would run it: that node's queue is the bound.
        return JsonResponses.error(StatusCodes.SERVICE_UNAVAILABLE, "overloaded",
                "node " + o.node() + " has " + o.queueDepth() + " calls waiting (limit " + o.queueLimit()
                    + "); the job was not created; retry later")
            .addHeader(RetryAfter.create(settings.shedRetryAfter().toSeconds()));
      }
      if (r instanceof ReportJob.Expired) return notCreated();
      return JsonResponses.error(StatusCodes.CONFLICT, "idempotency_conflict",
          "this Idempotency-Key already names job " + jobId + " with another request");
    }));
  }

  private SubmitInput validate(JsonNode body) {
    if (!body.isObject()) return invalid("invalid_body", "the body must be a JSON object");
    JsonNode startup = body.get("startup");
    if (startup == null || startup.isNull()) return invalid("invalid_startup", "startup is required");
    if (!startup.isTextual()) return invalid("invalid_startup", "startup must be a string");
    String name = stripSpaces(startup.textValue());
    if (name.isEmpty()) return invalid("invalid_startup", "startup must not be empty or only spaces");
    int bad = firstOf(name, JobRoutes::isControlOrLineBreak);
    if (bad >= 0) {
      return invalid("invalid_startup", "startup must not contain control characters or line breaks (found "
          + codePoint(bad) + ")");
    }
    bad = firstOf(name, cp -> Character.getType(cp) == Character.FORMAT);
    if (bad >= 0) {
      return invalid("invalid_startup", "startup must not contain invisible formatting characters such as bidi "
          + "controls or zero-width characters (found " + codePoint(bad) + ")");
    }
    if (firstOf(name, cp -> Character.getType(cp) == Character.SURROGATE) >= 0) {
      return invalid("invalid_startup", "startup must be valid Unicode text (it holds an unpaired surrogate)");
    }
    if (name.codePointCount(0, name.length()) > settings.maxStartupLength()) {
      return invalid("invalid_startup", "startup is longer than " + settings.maxStartupLength() + " characters");
    }
    String provider = providers.defaultProvider();
    JsonNode p = body.get("provider");
    if (p != null && !p.isNull()) {
      if (!p.isTextual()) return invalid("invalid_provider", "provider must be a string");
      if (providers.find(p.textValue()).isEmpty()) {
        return invalid("invalid_provider", Map.of("message", "unknown provider '" + p.textValue() + "'",
            "known", providers.names()));
      }
      provider = p.textValue();
    }
    return new SubmitInput(name, provider, null);
  }

  /**
   * Every Unicode space, not only what {@link String#strip()} knows: it keeps the no-break
   * spaces (U+00A0, U+2007, U+202F), so a name made of them alone would pass as not blank.
   */
  private static boolean isUnicodeSpace(int cp) {
    return Character.isWhitespace(cp) || Character.isSpaceChar(cp);
  }

  /** The text without Unicode spaces at either end. */
  private static String stripSpaces(String s) {
    int start = 0;
    int end = s.length();
    while (start < end && isUnicodeSpace(s.codePointAt(start))) start += Character.charCount(s.codePointAt(start));
    while (end > start && isUnicodeSpace(s.codePointBefore(end))) end -= Character.charCount(s.codePointBefore(end));
    return s.substring(start, end);
  }

  /**
   * Control characters (C0, DEL, C1) and line or paragraph separators (U+2028, U+2029): inside
   * a name they would break or forge lines in logs.
   */
  private static boolean isControlOrLineBreak(int cp) {
    int type = Character.getType(cp);
    return Character.isISOControl(cp) || type == Character.LINE_SEPARATOR || type == Character.PARAGRAPH_SEPARATOR;
  }

  /** The first code point of {@code s} that {@code test} accepts, or -1. */
  private static int firstOf(String s, java.util.function.IntPredicate test) {
    return s.codePoints().filter(test).findFirst().orElse(-1);
  }

  private static String codePoint(int cp) {
    return String.format("U+%04X", cp);
  }

  private static SubmitInput invalid(String error, Object detail) {
    return new SubmitInput(null, null, JsonResponses.error(StatusCodes.BAD_REQUEST, error, detail));
  }

  // ---------------------------------------------------------------- read and cancel

  private Route seedStatus(String id) {
    return withJob(id, job -> view(id, job).thenApply(v -> v.map(
        found -> JsonResponses.response(StatusCodes.OK, new SeedStatus(id, found.state(), found.result())))
        .orElseGet(() -> unknownJob(id))));
  }

  private Route getJob(String id) {
    return withJob(id, job -> view(id, job).thenApply(v -> v.map(found -> JsonResponses.response(StatusCodes.OK, found))
        .orElseGet(() -> unknownJob(id))));
  }

  /**
   * The job's view: from the status mirror when it has the job (no entity is woken up for a
   * poll), else from the entity, the source of truth, if the journal knows the job. Fails only
   * if the entity does not answer.
   */
  private CompletionStage<Optional<JobView>> view(String id, EntityRef<ReportJob.Command> job) {
    return mirror.read(id).thenCompose(mirrored -> mirrored.isPresent()
        ? CompletableFuture.completedFuture(mirrored)
        : askIfExists(journal, id, job, settings.askTimeout()));
  }

  /** The entity's view, but only for a job the journal knows: an unknown id wakes no entity. */
  public static CompletionStage<Optional<JobView>> askIfExists(JournalJobs journal, String id,
      EntityRef<ReportJob.Command> job, Duration timeout) {
    return journal.exists(id).thenCompose(exists -> exists
        ? askView(job, timeout)
        : CompletableFuture.completedFuture(Optional.empty()));
  }

  /** Asks the entity for its view; empty when no such job exists. */
  public static CompletionStage<Optional<JobView>> askView(EntityRef<ReportJob.Command> job, Duration timeout) {
    return direct(job.<ReportJob.GetReply>ask(ReportJob.Get::new, timeout))
        .thenApply(r -> r instanceof ReportJob.Found f ? Optional.of(f.job()) : Optional.<JobView>empty());
  }

  private Route cancelJob(String id) {
    return withJob(id, job -> journal.exists(id).thenCompose(exists -> !exists
        ? CompletableFuture.completedFuture(unknownJob(id))
        : direct(job.<ReportJob.CancelReply>ask(ReportJob.Cancel::new, settings.askTimeout())).handle((r, failure) -> {
      if (failure != null) return unavailable(failure);
      if (r instanceof ReportJob.CancelAccepted a) return JsonResponses.response(StatusCodes.OK, a.job());
      if (r instanceof ReportJob.CancelRefused refused) {
        return JsonResponses.error(StatusCodes.CONFLICT, "job_finished",
            "job " + id + " already finished with " + refused.job().state() + "; nothing to cancel");
      }
      return unknownJob(id);
    })));
  }

  private Route withJob(String id, Function<EntityRef<ReportJob.Command>, CompletionStage<HttpResponse>> ask) {
    if (!isJobId(id)) return complete(unknownJob(id));
    return completeWithFuture(ask.apply(job(id)).exceptionally(this::unavailable));
  }

  /**
   * Hands an ask's answer over to a plain future on the thread that completes it. The stages
   * Pekko returns run every callback asynchronously on the common pool, and on a 2-core machine
   * (common-pool parallelism 1) the JDK then starts a new thread per callback: measured, that
   * capped the whole API at a few hundred requests per second.
   */
  static <T> CompletableFuture<T> direct(CompletionStage<T> stage) {
    CompletableFuture<T> out = new CompletableFuture<>();
    stage.whenCompleteAsync((value, failure) -> {
      if (failure != null) out.completeExceptionally(failure);
      else out.complete(value);
    }, Runnable::run);
    return out;
  }

  /** Job ids are matched in lower case, as UUIDs print; other case would name another entity. */
  static boolean isJobId(String id) {
    return JOB_ID.matcher(id).matches();
  }

  private EntityRef<ReportJob.Command> job(String id) {
    return sharding.entityRefFor(ReportJob.TYPE_KEY, id);
  }

  static HttpResponse unknownJob(String id) {
    return JsonResponses.error(StatusCodes.NOT_FOUND, "unknown_job", "no job with id '" + id + "'");
  }

  HttpResponse unavailable(Throwable failure) {
    log.warn("job entity did not answer: {}", failure.toString());
    return JsonResponses.error(StatusCodes.SERVICE_UNAVAILABLE, "unavailable",
            "the job did not answer within " + settings.askTimeout().toMillis() + " ms; retry")
        .addHeader(RetryAfter.create(1L));
  }

  /** A submit the job refused because it arrived after the client's deadline: nothing exists. */
  private HttpResponse notCreated() {
    return JsonResponses.error(StatusCodes.SERVICE_UNAVAILABLE, "unavailable",
            "the job could not be created within " + settings.askTimeout().toMillis()
                + " ms and was not created; retry (with the same Idempotency-Key, if any)")
        .addHeader(RetryAfter.create(1L));
  }

  // ---------------------------------------------------------------- body, errors

  /** Reads a JSON body: 415 unless it is declared JSON, 413 past the size limit, 400 if malformed. */
  private Route jsonBody(Function<JsonNode, Route> inner) {
    return extractRequestEntity(entity -> {
      if (!entity.getContentType().mediaType().equals(MediaTypes.APPLICATION_JSON)) {
        return complete(JsonResponses.error(StatusCodes.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
            "send the body as application/json, not " + entity.getContentType().mediaType()));
      }
      if (tooLarge(entity)) return complete(tooLargeResponse(settings.maxBodyBytes()));
      return withSizeLimit(settings.maxBodyBytes(), () -> entity(Unmarshaller.entityToString(), text -> {
        if (text.isBlank()) return complete(JsonResponses.error(StatusCodes.BAD_REQUEST, "malformed_json", "the body is empty"));
        JsonNode node;
        try {
          node = Json.MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
          return complete(JsonResponses.error(StatusCodes.BAD_REQUEST, "malformed_json", describe(e)));
        }
        return inner.apply(node);
      }));
    });
  }

  /** Jackson's message without its internal source description, plus where it went wrong. */
  private static String describe(JsonProcessingException e) {
    String message = e.getOriginalMessage();
    if (message.startsWith("Trailing token")) {
      // Jackson's text names its classes and the FAIL_ON_TRAILING_TOKENS feature: not for clients.
      message = "unexpected content after the JSON value";
    }
    int cut = message.indexOf(" (start marker");
    if (cut > 0) message = message.substring(0, cut);
    if (e.getLocation() != null) {
      message += " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
    }
    return message;
  }

  private boolean tooLarge(HttpEntity entity) {
    return entity.getContentLengthOption().isPresent()
        && entity.getContentLengthOption().getAsLong() > settings.maxBodyBytes();
  }

  static HttpResponse tooLargeResponse(long maxBodyBytes) {
    return JsonResponses.error(StatusCodes.PAYLOAD_TOO_LARGE, "body_too_large",
        "the body is larger than " + maxBodyBytes + " bytes");
  }
}
