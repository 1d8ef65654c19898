package io.reportcluster.node.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.IntFunction;

/** A careful client of a cluster's jobs API: submits that survive a 503, waits for the ends. */
public final class JobsClient {
  private static final Set<String> FINISHED = Set.of("SUCCESS", "FAILURE", "REVOKED");

  private final List<HttpJson> nodes;
  private final String run = UUID.randomUUID().toString();
  private int sent;

  /** Submits go to the nodes in turn; reads go to the first. */
  public JobsClient(List<HttpJson> nodes) {
    this.nodes = List.copyOf(nodes);
  }

  /**
   * Submits {@code count} jobs, body {@code i} for the i-th, eight at a time (so that a run starts
   * at once), each with an Idempotency-Key and sent again with it after a 503 (which means "not
   * created; retry"): a cold cluster's first asks may outlast the ask timeout on a loaded machine.
   * Answers the job ids in the order of the bodies.
   */
  public List<String> submit(int count, IntFunction<String> body) {
    int first = sent;
    sent += count;
    ExecutorService senders = Executors.newFixedThreadPool(Math.max(1, Math.min(count, 8)));
    try {
      List<Future<String>> ids = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        int n = first + i;
        String json = body.apply(i);
        ids.add(senders.submit(() -> submitOne(n, json)));
      }
      List<String> out = new ArrayList<>();
      for (Future<String> id : ids) out.add(id.get(60, TimeUnit.SECONDS));
      return out;
    } catch (ExecutionException e) {
      if (e.getCause() instanceof AssertionError a) throw a;
      throw new AssertionError("submit failed: " + e.getCause(), e.getCause());
    } catch (InterruptedException | TimeoutException e) {
      throw new AssertionError("submit did not finish: " + e, e);
    } finally {
      senders.shutdownNow();
    }
  }

  private String submitOne(int n, String json) {
    HttpJson http = nodes.get(n % nodes.size());
    Map<String, String> headers =
        Map.of("Idempotency-Key", run + "-" + n, "Content-Type", "application/json");
    HttpJson.Reply r = http.post("/api/v1/jobs", json, headers);
    for (int retry = 0; r.status() == 503 && retry < 5; retry++) {
      r = http.post("/api/v1/jobs", json, headers);
    }
    if (r.status() != 202 && r.status() != 200) {
      throw new AssertionError("submit " + json + ": " + r.status() + " " + r.body());
    }
    return r.text("job_id");
  }

  public JsonNode view(String id) {
    HttpJson.Reply r = nodes.get(0).get("/api/v1/jobs/" + id);
    if (r.status() != 200) throw new AssertionError("GET job " + id + ": " + r.status());
    return r.body();
  }

  /**
   * Waits until every job has finished, and answers their views, in the order of {@code ids}. Each
   * look reads the jobs in turn only up to the first one still open, so that waiting does not load
   * the node that answers (the tests measure the nodes' timing).
   */
  public Map<String, JsonNode> awaitFinished(List<String> ids, Duration deadline) {
    Map<String, JsonNode> views = new LinkedHashMap<>();
    List<String> open = new ArrayList<>(ids);
    Await.value(
        deadline,
        "every job finished",
        () -> {
          while (!open.isEmpty()) {
            JsonNode v;
            try {
              v = view(open.get(0));
            } catch (AssertionError unreachable) {
              break;
            }
            if (!FINISHED.contains(v.path("state").asText())) break;
            views.put(open.remove(0), v);
          }
          return open.size() + " not finished, e.g. " + (open.isEmpty() ? "" : open.get(0));
        },
        left -> open.isEmpty());
    Map<String, JsonNode> ordered = new LinkedHashMap<>();
    ids.forEach(id -> ordered.put(id, views.get(id)));
    return ordered;
  }

  /** The views that did not end in SUCCESS, for an assertion's message. */
  public static List<String> notSucceeded(Map<String, JsonNode> views) {
    return views.values().stream()
        .filter(v -> !"SUCCESS".equals(v.path("state").asText()))
        .map(v -> v.path("job_id").asText() + " " + v.path("state") + " " + v.path("error"))
        .toList();
  }
}
