package io.reportcluster.node.llm.provider;

import com.typesafe.config.ConfigFactory;
import io.reportcluster.node.testkit.ScriptedLlmServer;
import io.reportcluster.node.testkit.ScriptedLlmServer.Reply;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * What our client adds per call, measured (not a test: run it by hand). A local server answers an
 * OpenAI stream at once (5 pieces, a finish, usage, [DONE]); each client makes the same request in
 * turn, one call at a time, and we take the median of time to the first piece of text and to the
 * whole answer: our {@link OpenAiProvider} (Pekko HTTP, a connection per call, JSON per event)
 * against a bare {@code java.net.http.HttpClient} that reads lines, with a kept-alive connection
 * and with a new connection per call.
 *
 * <pre>
 * mvn -q -pl node dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt
 * java -cp node/target/test-classes:node/target/classes:$(cat /tmp/cp.txt) \
 *   io.reportcluster.node.llm.provider.ClientOverhead 200
 * </pre>
 */
public final class ClientOverhead {
  private ClientOverhead() {}

  public static void main(String[] args) throws Exception {
    // Lets the bare client ask for a connection of its own per call (Connection: close).
    System.setProperty("jdk.httpclient.allowRestrictedHeaders", "connection");
    int calls = args.length > 0 ? Integer.parseInt(args[0]) : 200;
    ActorSystem<Void> system =
        ActorSystem.create(
            Behaviors.empty(),
            "client-overhead",
            ConfigFactory.parseString("pekko.actor.provider = local, pekko.loglevel = WARNING")
                .withFallback(ConfigFactory.load()));
    try (ScriptedLlmServer server = ScriptedLlmServer.start()) {
      OpenAiProvider ours =
          new OpenAiProvider(system, OpenAiProviderTest.settings(server.baseUrl() + "/v1", "k"));
      HttpClient bare = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      HttpClient closing = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      String body =
          "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
              + "\"max_tokens\":321,\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
      LlmRequest request =
          new LlmRequest("job", "Acme", 0, "market", 1, "openai", "hi", "you are an analyst");

      // The first round warms up (JIT, pools) as a node that has run for a while is warm.
      int warmUp = Math.max(calls, 1000);
      for (int round = 0; round < 2; round++) {
        boolean report = round == 1;
        int n = report ? calls : warmUp;
        long[][] pekko = new long[2][n];
        long[][] kept = new long[2][n];
        long[][] fresh = new long[2][n];
        for (int i = 0; i < n; i++) {
          server.enqueue(answer());
          oursOnce(ours, request, pekko, i);
          server.enqueue(answer());
          bareOnce(bare, server.baseUrl(), body, false, kept, i);
          server.enqueue(answer());
          bareOnce(closing, server.baseUrl(), body, true, fresh, i);
        }
        if (report) {
          System.out.printf("%d calls each after %d to warm up, medians (p90) in ms:%n", n, warmUp);
          line("ours: OpenAiProvider on Pekko HTTP", pekko);
          line("bare HttpClient, kept-alive connection", kept);
          line("bare HttpClient, new connection per call", fresh);
        }
        server.reset();
      }
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  private static Reply answer() {
    Reply r = Reply.events();
    for (String piece : new String[] {"Acme ", "makes ", "rockets ", "that ", "land."}) {
      r.data(OpenAiStreams.chunk(piece, null));
    }
    return r.data(OpenAiStreams.chunk(null, "stop"))
        .data(OpenAiStreams.usage(12, 5))
        .data("[DONE]");
  }

  private static void oursOnce(OpenAiProvider p, LlmRequest request, long[][] out, int i)
      throws Exception {
    CompletableFuture<Long> first = new CompletableFuture<>();
    long start = System.nanoTime();
    LlmCall call = p.start(request, piece -> first.complete(System.nanoTime()));
    call.result().toCompletableFuture().get(10, TimeUnit.SECONDS);
    long end = System.nanoTime();
    out[0][i] = first.get() - start;
    out[1][i] = end - start;
  }

  private static void bareOnce(
      HttpClient client, String base, String body, boolean close, long[][] out, int i)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
            .timeout(Duration.ofSeconds(10))
            .header("Authorization", "Bearer k")
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (close) b.header("Connection", "close");
    long start = System.nanoTime();
    HttpResponse<InputStream> response =
        client.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
    long first = 0;
    try (BufferedReader lines =
        new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
      for (String line = lines.readLine(); line != null; line = lines.readLine()) {
        if (first == 0 && line.startsWith("data:")) first = System.nanoTime();
      }
    }
    long end = System.nanoTime();
    out[0][i] = first - start;
    out[1][i] = end - start;
  }

  private static void line(String what, long[][] nanos) {
    System.out.printf(
        "  %-42s first piece %6.2f (%6.2f)   whole answer %6.2f (%6.2f)%n",
        what, pct(nanos[0], 50), pct(nanos[0], 90), pct(nanos[1], 50), pct(nanos[1], 90));
  }

  private static double pct(long[] nanos, int p) {
    long[] sorted = nanos.clone();
    Arrays.sort(sorted);
    return sorted[Math.min(sorted.length - 1, sorted.length * p / 100)] / 1e6;
  }
}
