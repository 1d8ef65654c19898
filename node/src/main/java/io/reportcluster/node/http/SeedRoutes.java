package io.reportcluster.node.http;

import io.reportcluster.protocol.Api.SeedStatus;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The endpoints of the Flask service this replaces, unchanged for its clients: {@code POST
 * /generate} answers 202 {@code {"job_id", "status": "queued"}} and {@code GET /status/{id}}
 * answers {@code {"job_id", "state", "result"}}.
 */
public final class SeedRoutes extends AllDirectives {
  private final JobRoutes jobs;

  public SeedRoutes(JobRoutes jobs) {
    this.jobs = jobs;
  }

  public Route routes() {
    return concat(
        path("generate", () -> post(() -> jobs.submit(true))),
        path(
            PathMatchers.segment("status").slash(PathMatchers.segment()),
            id ->
                get(() -> jobs.read(id, view -> new SeedStatus(id, view.state(), view.result())))));
  }
}
