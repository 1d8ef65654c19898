package io.reportcluster.node.http;

import io.reportcluster.node.auth.Caller;
import io.reportcluster.node.read.JobList;
import io.reportcluster.node.read.ListQuery;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The read side over HTTP: {@code GET /api/v1/jobs} (filters, newest first, cursor paging, counts
 * per state) and {@code GET /api/v1/stats} (per-minute figures). Checks the filters, then only
 * translates to {@link JobList}.
 */
public final class ListRoutes extends AllDirectives {
  private static final Logger log = LoggerFactory.getLogger(ListRoutes.class);

  /** Most minutes {@code /api/v1/stats} looks back. */
  static final int MAX_STATS_MINUTES = 120;

  private final Optional<JobList> list;

  public ListRoutes(Optional<JobList> list) {
    this.list = list;
  }

  public Route routes() {
    return pathPrefix(
        PathMatchers.segment("api").slash("v1"),
        () ->
            concat(
                path(
                    "jobs",
                    () -> get(() -> AuthGate.caller(caller -> parameterMap(p -> list(p, caller))))),
                path("stats", () -> get(() -> parameterMap(this::stats)))));
  }

  private Route list(Map<String, String> params, Caller caller) {
    if (list.isEmpty()) return complete(disabled());
    ListQuery query;
    try {
      query = ListQuery.parse(params, list.get().settings()).ownedBy(caller.onlyOwner());
    } catch (ListQuery.BadFilter e) {
      return complete(JsonResponses.error(StatusCodes.BAD_REQUEST, "bad_filter", e.getMessage()));
    }
    return answer(list.get().list(query));
  }

  private Route stats(Map<String, String> params) {
    if (list.isEmpty()) return complete(disabled());
    int minutes = 15;
    String m = params.get("minutes");
    if (m != null) {
      try {
        minutes = Integer.parseInt(m.trim());
      } catch (NumberFormatException e) {
        minutes = -1;
      }
      if (minutes < 1 || minutes > MAX_STATS_MINUTES) {
        return complete(
            JsonResponses.error(
                StatusCodes.BAD_REQUEST,
                "bad_filter",
                "minutes must be a whole number from 1 to " + MAX_STATS_MINUTES));
      }
    }
    return answer(list.get().stats(minutes));
  }

  private Route answer(CompletionStage<?> result) {
    return completeWithFuture(
        result.handle(
            (body, failure) -> {
              if (failure == null) return JsonResponses.response(StatusCodes.OK, body);
              log.warn("read side query failed: {}", failure.toString());
              return JsonResponses.unavailable(
                  "unavailable", "the job list cannot be read right now; retry", 1L);
            }));
  }

  private static HttpResponse disabled() {
    return JsonResponses.unavailable(
        "read_side_disabled", "this node keeps no job list (reports.read-side.enabled = off)", 60L);
  }
}
