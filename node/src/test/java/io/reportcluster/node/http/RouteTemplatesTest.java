package io.reportcluster.node.http;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

@DisplayName("the route of a request path, as metrics label it")
class RouteTemplatesTest {

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource({
    "/generate, /generate",
    "/metrics, /metrics",
    "/status/0c68ddd3-5d1e-4b8e-9a4f-2a7f3c1d9e01, /status/{id}",
    "/api/v1/jobs, /api/v1/jobs",
    "/api/v1/jobs/0c68ddd3-5d1e-4b8e-9a4f-2a7f3c1d9e01, /api/v1/jobs/{id}",
    "/api/v1/jobs/0c68ddd3-5d1e-4b8e-9a4f-2a7f3c1d9e01/events, /api/v1/jobs/{id}/events",
    "/api/v1/jobs/some-id/cancel, /api/v1/jobs/{id}/cancel",
    "/api/v1/jobs/some-id/retry, /api/v1/jobs/{id}/retry",
    "/api/v1/events, /api/v1/events",
    "/api/v1/cluster, /api/v1/cluster",
    "/api/v1/health, /api/v1/health",
    "/api/v1/node/stats, /api/v1/node/stats",
    "/dashboard, /dashboard",
    "/dashboard/, /dashboard",
    "/dashboard/assets/app.js, /dashboard",
    "/dashboard/jobs/0c68ddd3-5d1e-4b8e-9a4f-2a7f3c1d9e01, /dashboard",
    "/admin/cluster/members/pekko://reportcluster@10.0.0.1:25520, /admin",
  })
  @DisplayName("a known route is named by its template: the ids in it become {id}")
  void knownRoutes(String path, String route) {
    assertThat(RouteTemplates.of(path)).isEqualTo(route);
  }

  @ParameterizedTest(name = "\"{0}\"")
  @ValueSource(
      strings = {
        "",
        "/",
        "/wp-login.php",
        "/status",
        "/status/",
        "/status/a/b",
        "/api",
        "/api/v1",
        "/api/v1/jobs/",
        "/api/v1/jobs//events",
        "/api/v1/jobs/some-id/delete",
        "/api/v1/jobs/some-id/events/more",
        "/api/v2/jobs/some-id",
        "/metrics/extra",
        "/generate/0c68ddd3",
        "api/v1/jobs"
      })
  @DisplayName("anything else is \"other\", so unknown paths never add a label value each")
  void otherPaths(String path) {
    assertThat(RouteTemplates.of(path)).isEqualTo(RouteTemplates.OTHER);
  }
}
