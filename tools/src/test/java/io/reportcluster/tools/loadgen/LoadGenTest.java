package io.reportcluster.tools.loadgen;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.reportcluster.protocol.Json;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A whole load against a stand-in node on loopback that accepts every job and finishes it. */
class LoadGenTest {
  private HttpServer node;
  private final List<String> submits = new CopyOnWriteArrayList<>();
  private final AtomicInteger ids = new AtomicInteger();

  @BeforeEach
  void start() throws IOException {
    node = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    node.createContext(
        "/api/v1/jobs",
        ex -> {
          if (ex.getRequestMethod().equals("POST")) {
            submits.add(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            String id = "j-" + ids.incrementAndGet();
            answer(ex, 202, "{\"job_id\":\"" + id + "\",\"state\":\"PENDING\",\"created\":true}");
          } else {
            String id = ex.getRequestURI().getPath().substring("/api/v1/jobs/".length());
            answer(ex, 200, "{\"job_id\":\"" + id + "\",\"state\":\"SUCCESS\"}");
          }
        });
    node.start();
  }

  @AfterEach
  void stop() {
    node.stop(0);
  }

  @Test
  void everyJobNamesTheFallbackChainAndTheAcceptedIdsAreWrittenOut(@TempDir Path dir)
      throws Exception {
    Path idsFile = dir.resolve("ids");
    int status =
        LoadGen.main(
            new String[] {
              "--url", "http://127.0.0.1:" + node.getAddress().getPort(),
              "--jobs", "3",
              "--concurrency", "1",
              "--poll-interval", "1",
              "--providers", "openai,anthropic",
              "--job-ids", idsFile.toString(),
              "--quiet"
            });
    assertThat(status).isZero();
    assertThat(submits).hasSize(3);
    for (String body : submits) {
      assertThat(Json.MAPPER.readTree(body).path("providers").toString())
          .isEqualTo("[\"openai\",\"anthropic\"]");
      assertThat(Json.MAPPER.readTree(body).has("provider")).isFalse();
    }
    assertThat(Files.readAllLines(idsFile)).containsExactly("j-1", "j-2", "j-3");
  }

  @Test
  void aRatePacesTheSubmits() {
    long start = System.nanoTime();
    int status =
        LoadGen.main(
            new String[] {
              "--url",
              "http://127.0.0.1:" + node.getAddress().getPort(),
              "--jobs",
              "6",
              "--concurrency",
              "3",
              "--rate",
              "20",
              "--submit-only",
              "--quiet"
            });
    assertThat(status).isZero();
    assertThat(submits).hasSize(6);
    // Job 6 is due 5 / 20 s = 250 ms after the start; unpaced, 6 loopback submits take ~10 ms.
    assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(240_000_000L);
  }

  private static void answer(HttpExchange ex, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().add("Content-Type", "application/json");
    ex.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }
}
