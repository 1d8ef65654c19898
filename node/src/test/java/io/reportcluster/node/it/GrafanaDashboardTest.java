package io.reportcluster.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.reportcluster.node.testkit.GrafanaDashboard;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Static check of {@code ops/grafana/reportcluster.json}: what an import into Grafana needs. That
 * every metric it names is served is checked against a real scrape by {@link MetricsScrapeIT}.
 */
@DisplayName("the Grafana dashboard")
class GrafanaDashboardTest {
  private final GrafanaDashboard dashboard = GrafanaDashboard.read();
  private final JsonNode json = dashboard.json();

  @Test
  @DisplayName("asks for a Prometheus data source on import, and every panel and query uses it")
  void dataSourceIsAnInput() {
    assertThat(json.path("schemaVersion").asInt()).isBetween(36, 41);
    JsonNode input = json.path("__inputs").get(0);
    assertThat(input.path("name").asText()).isEqualTo("DS_PROMETHEUS");
    assertThat(input.path("pluginId").asText()).isEqualTo("prometheus");
    List<String> wrong = new ArrayList<>();
    for (JsonNode panel : json.path("panels")) {
      if (panel.path("type").asText().equals("row")) continue;
      if (!panel.at("/datasource/uid").asText().equals("${DS_PROMETHEUS}"))
        wrong.add(panel.path("title").asText());
      assertThat(panel.path("targets")).as("queries of %s", panel.path("title")).isNotEmpty();
      for (JsonNode target : panel.path("targets")) {
        if (!target.at("/datasource/uid").asText().equals("${DS_PROMETHEUS}"))
          wrong.add(panel.path("title").asText() + " " + target.path("refId").asText());
      }
    }
    assertThat(wrong).as("panels or queries on another data source").isEmpty();
  }

  @Test
  @DisplayName(
      "has a node variable from label_values(reports_llm_callers, node), used by every query")
  void nodeVariable() {
    JsonNode node = json.path("templating").path("list").get(0);
    assertThat(node.path("name").asText()).isEqualTo("node");
    assertThat(node.path("definition").asText())
        .isEqualTo("label_values(reports_llm_callers, node)");
    assertThat(node.at("/query/query").asText())
        .isEqualTo("label_values(reports_llm_callers, node)");
    assertThat(dashboard.exprs()).isNotEmpty().allSatisfy(e -> assertThat(e).contains("$node"));
  }

  @Test
  @DisplayName("panels have distinct ids and do not overlap")
  void layout() {
    List<Integer> ids = new ArrayList<>();
    List<int[]> boxes = new ArrayList<>();
    for (JsonNode panel : json.path("panels")) {
      ids.add(panel.path("id").asInt());
      JsonNode g = panel.path("gridPos");
      int[] box = {
        g.path("x").asInt(), g.path("y").asInt(), g.path("w").asInt(), g.path("h").asInt()
      };
      assertThat(box[0] + box[2])
          .as("right edge of %s", panel.path("title"))
          .isLessThanOrEqualTo(24);
      for (int[] other : boxes) {
        boolean overlap =
            box[0] < other[0] + other[2]
                && other[0] < box[0] + box[2]
                && box[1] < other[1] + other[3]
                && other[1] < box[1] + box[3];
        assertThat(overlap).as("%s overlaps another panel", panel.path("title")).isFalse();
      }
      boxes.add(box);
    }
    assertThat(ids).doesNotHaveDuplicates();
  }

  @Test
  @DisplayName("metric names are read from PromQL: not functions, labels, ranges, variables")
  void metricNamesOfAnExpression() {
    assertThat(
            GrafanaDashboard.metricNames(
                "histogram_quantile(0.95, sum by (le, provider) (rate(a_seconds_bucket{node=~\"$node\","
                    + " state=\"SUCCESS\"}[$__rate_interval]))) / on(node) group_left b_total"
                    + " and 3600 * max without (x) (c_bytes offset 5m) > 1e3"))
        .containsExactlyInAnyOrder("a_seconds_bucket", "b_total", "c_bytes");
    assertThat(dashboard.metricNames())
        .contains(
            "reports_llm_callers",
            "reports_jobs_submitted_total",
            "http_server_requests_seconds_bucket",
            "jvm_memory_used_bytes");
  }
}
