package io.reportcluster.node.http;

import io.reportcluster.node.llm.ProviderOverview;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/** {@code GET /api/v1/providers}: the provider entries, their limits and their budgets now. */
public final class ProviderRoutes extends AllDirectives {
  private final ProviderOverview overview;

  public ProviderRoutes(ProviderOverview overview) {
    this.overview = overview;
  }

  public Route routes() {
    return path(
        PathMatchers.segment("api").slash("v1").slash("providers"),
        () ->
            get(
                () ->
                    completeWithFuture(
                        overview
                            .view()
                            .thenApply(v -> JsonResponses.response(StatusCodes.OK, v)))));
  }
}
