package io.reportcluster.node.http;

import io.reportcluster.node.llm.PoolMetrics;
import io.reportcluster.node.llm.budget.Budgets;
import io.reportcluster.node.metrics.NodeMetrics;
import io.reportcluster.node.redis.NodeStatsStore;
import io.reportcluster.node.redis.RedisConnections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * This node's figures (JSON and Prometheus), its calls, its health, and the cluster overview (with
 * every node's calls).
 */
public final class NodeRoutes extends AllDirectives {
  private final ActorSystem<?> system;
  private final String nodeName;
  private final PoolMetrics metrics;
  private final NodeMetrics prometheus;
  private final Optional<RedisConnections> redis;
  private final Optional<NodeStatsStore> nodeStats;
  private final Budgets budgets;

  public NodeRoutes(
      ActorSystem<?> system,
      String nodeName,
      PoolMetrics metrics,
      NodeMetrics prometheus,
      Optional<RedisConnections> redis,
      Budgets budgets) {
    this.system = system;
    this.budgets = budgets;
    this.prometheus = prometheus;
    this.nodeName = nodeName;
    this.metrics = metrics;
    this.redis = redis;
    this.nodeStats = redis.map(NodeStatsStore::new);
  }

  public Route routes() {
    return concat(
        path(
            "metrics",
            () ->
                get(
                    () ->
                        complete(
                            HttpResponse.create()
                                .withEntity(
                                    HttpEntities.create(PROMETHEUS_TEXT, prometheus.scrape()))))),
        pathPrefix(
            PathMatchers.segment("api").slash("v1"),
            () ->
                concat(
                    path(
                        PathMatchers.segment("node").slash("stats"),
                        () ->
                            get(
                                () ->
                                    complete(
                                        JsonResponses.response(
                                            StatusCodes.OK, metrics.stats(nodeName))))),
                    path(
                        PathMatchers.segment("node").slash("calls"),
                        () ->
                            get(
                                () ->
                                    complete(
                                        JsonResponses.response(
                                            StatusCodes.OK, metrics.calls(nodeName))))),
                    path("health", () -> get(() -> complete(health()))),
                    path("cluster", () -> get(() -> completeWithFuture(cluster()))))));
  }

  /** Prometheus' text exposition format is plain UTF-8 text. */
  private static final ContentType.WithCharset PROMETHEUS_TEXT = ContentTypes.TEXT_PLAIN_UTF8;

  /** 200 while the node serves jobs; Redis down is "degraded", not dead. */
  private HttpResponse health() {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("status", redis.isPresent() && !redis.get().isUp() ? "degraded" : "ok");
    body.put("node", nodeName);
    body.put("redis", redis.map(r -> r.isUp() ? "up" : "unreachable").orElse("disabled"));
    body.put(
        "live_events", redis.map(r -> r.liveEventsUp() ? "up" : "unavailable").orElse("disabled"));
    body.put("cluster_member", Cluster.get(system).selfMember().status().toString());
    // shared | local-share (Redis away: this node keeps to its share of each limit) | local
    body.put("rate_limits", budgets.mode());
    return JsonResponses.response(StatusCodes.OK, body);
  }

  /** Members as this node sees them, and every node's figures from Redis (or this node's only). */
  private CompletionStage<HttpResponse> cluster() {
    List<Map<String, Object>> members =
        StreamSupport.stream(Cluster.get(system).state().getMembers().spliterator(), false)
            .map(NodeRoutes::member)
            .collect(Collectors.toList());
    CompletionStage<List<Map<String, Object>>> nodes =
        nodeStats
            .flatMap(NodeStatsStore::readAll)
            .orElseGet(() -> CompletableFuture.completedFuture(List.of(statsAsMap())));
    return nodes.handle(
        (list, failure) -> {
          Map<String, Object> body = new LinkedHashMap<>();
          body.put("self", Cluster.get(system).selfMember().address().toString());
          body.put("members", members);
          body.put("nodes", failure == null ? list : List.of(statsAsMap()));
          return JsonResponses.response(StatusCodes.OK, body);
        });
  }

  private static Map<String, Object> member(Member m) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("address", m.address().toString());
    out.put("status", m.status().toString());
    out.put("roles", m.getRoles());
    return out;
  }

  private Map<String, Object> statsAsMap() {
    return Map.of(
        "node",
        nodeName,
        "callers",
        Integer.toString(metrics.callers),
        "in_flight",
        Integer.toString(metrics.inFlight()),
        "queue_depth",
        Integer.toString(metrics.queueDepth()),
        NodeStatsStore.CALLS,
        metrics.calls(nodeName));
  }
}
