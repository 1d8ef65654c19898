package io.reportcluster.node.llm.provider;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.read.ListAppender;
import com.typesafe.config.ConfigFactory;
import io.reportcluster.node.testkit.Await;
import io.reportcluster.node.testkit.FreePorts;
import io.reportcluster.node.testkit.ScriptedLlmServer;
import io.reportcluster.node.testkit.ScriptedLlmServer.Reply;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * A distinctive key, through every provider's success, every error, a cut stream, a cancel and a
 * refused connection, with every logger at DEBUG (Pekko's own included): the key is sent in its
 * header and appears nowhere else, in no log line, no exception, no URL, no {@code toString}.
 */
@DisplayName("provider API keys stay secret")
class ApiKeyProviderTest {
  static final String KEY = "sk-SECRET-7f3a9c1e5b2d4680";

  static ActorSystem<Void> system;
  static ScriptedLlmServer server;
  static ListAppender<ILoggingEvent> logs;
  static final Map<String, Level> levelsBefore = new HashMap<>();
  static final List<Appender<ILoggingEvent>> consoleBefore = new ArrayList<>();

  @BeforeAll
  static void start() {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    logs = new ListAppender<>();
    logs.setContext(context);
    logs.start();
    for (String name :
        new String[] {Logger.ROOT_LOGGER_NAME, "org.apache.pekko", "io.reportcluster"}) {
      Logger logger = context.getLogger(name);
      levelsBefore.put(name, logger.getLevel());
      logger.setLevel(Level.ALL);
    }
    // Every line at every level is captured, and kept off the console while this test runs.
    Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    root.iteratorForAppenders().forEachRemaining(consoleBefore::add);
    consoleBefore.forEach(root::detachAppender);
    root.addAppender(logs);
    system =
        ActorSystem.create(
            Behaviors.empty(),
            "api-key-test",
            ConfigFactory.parseString("pekko.actor.provider = local, pekko.loglevel = DEBUG")
                .withFallback(ConfigFactory.load()));
    server = ScriptedLlmServer.start();
  }

  @AfterAll
  static void stop() {
    server.close();
    system.terminate();
    Await.until(
        Duration.ofSeconds(10),
        "the actor system stopped",
        () -> system.getWhenTerminated().toCompletableFuture().isDone());
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    root.detachAppender(logs);
    consoleBefore.forEach(root::addAppender);
    levelsBefore.forEach((name, level) -> context.getLogger(name).setLevel(level));
  }

  /** One provider type: how to build it, what it answers, how its errors look. */
  record Wire(
      String name,
      Function<ProviderSettings, LlmProvider> create,
      ProviderSettings.Type type,
      String pathPrefix,
      Reply answer,
      Function<String, String> errorBody,
      Reply inStreamError) {}

  static List<Wire> wires() {
    return List.of(
        new Wire(
            "openai",
            s -> new OpenAiProvider(system, s),
            ProviderSettings.Type.OPENAI,
            "/v1",
            OpenAiStreams.answer("stop", "a", "b"),
            m -> OpenAiStreams.error(m, "invalid_request_error", "x"),
            Reply.events()
                .data(OpenAiStreams.chunk("a", null))
                .data(OpenAiStreams.error("boom " + KEY, "server_error", null))),
        new Wire(
            "anthropic",
            s -> new AnthropicProvider(system, s),
            ProviderSettings.Type.ANTHROPIC,
            "",
            AnthropicProviderTest.answer("end_turn", "a", "b"),
            m -> AnthropicProviderTest.error("invalid_request_error", m),
            AnthropicProviderTest.start(Reply.events())
                .event("error", AnthropicProviderTest.error("overloaded_error", "boom " + KEY))),
        new Wire(
            "gemini",
            s -> new GeminiProvider(system, s),
            ProviderSettings.Type.GEMINI,
            "",
            GeminiProviderTest.answer("STOP", "a", "b"),
            m -> GeminiProviderTest.error(400, "INVALID_ARGUMENT", m, null),
            Reply.events().data(GeminiProviderTest.error(500, "INTERNAL", "boom " + KEY, null))));
  }

  static ProviderSettings settings(Wire w, String baseUrl) {
    return new ProviderSettings(
        w.name(), w.type(), baseUrl, KEY, "model-x", 100, Duration.ofSeconds(30), 1, 1);
  }

  @Test
  @DisplayName(
      "success, every error status (bodies that echo the key too), an error in the stream, a"
          + " cut, a cancel and a refused connection: the key is in no exception, log line or URL")
  void keyAppearsNowhere() throws Exception {
    List<String> failures = new ArrayList<>();
    List<LlmCall> cancelled = new ArrayList<>();
    for (Wire w : wires()) {
      server.reset();
      ProviderSettings settings = settings(w, server.baseUrl() + w.pathPrefix());
      LlmProvider provider = w.create().apply(settings);
      server.enqueue(w.answer());
      assertThat(answer(provider.start(request(w)))).isEqualTo("ab");
      for (int status : new int[] {400, 401, 403, 404, 408, 429, 500, 503, 529}) {
        server.enqueue(
            Reply.json(status, w.errorBody().apply("Incorrect API key provided: " + KEY))
                .header("retry-after", "1"));
        failures.add(failure(provider.start(request(w))));
      }
      server.enqueue(w.inStreamError());
      failures.add(failure(provider.start(request(w))));
      server.enqueue(Reply.events().data("{}").cut());
      failures.add(failure(provider.start(request(w))));
      server.enqueue(Reply.body(200, "text/plain", "key " + KEY));
      failures.add(failure(provider.start(request(w))));
      server.enqueue(Reply.events().data("{}").hold(Duration.ofSeconds(20)));
      LlmCall held = provider.start(request(w));
      Await.until(
          Duration.ofSeconds(5), "the held call arrived", () -> server.requests().size() == 14);
      held.cancel().toCompletableFuture().get(5, TimeUnit.SECONDS);
      cancelled.add(held);
      failures.add(failure(held));
      int port = FreePorts.pick(1).get(0);
      failures.add(
          failure(w.create().apply(settings(w, "http://127.0.0.1:" + port)).start(request(w))));

      for (ScriptedLlmServer.Request r : server.requests()) {
        assertThat(r.path() + "?" + r.query()).doesNotContain(KEY);
        assertThat(r.headers().values().stream().filter(v -> v.contains(KEY)))
            .as("%s sends the key in exactly one header", w.name())
            .hasSize(1);
      }
      assertThat(settings.toString()).doesNotContain(KEY);
      assertThat(provider.toString()).doesNotContain(KEY);
    }

    assertThat(failures).hasSize(3 * 14);
    assertThat(failures).allSatisfy(m -> assertThat(m).doesNotContain(KEY));
    assertThat(failures).filteredOn(m -> m.contains("Incorrect API key provided")).hasSize(3 * 9);
    assertThat(failures)
        .filteredOn(m -> m.contains("Incorrect API key provided"))
        .allSatisfy(m -> assertThat(m).contains("[redacted]"));
    assertThat(cancelled).hasSize(3);

    List<String> lines = new ArrayList<>();
    for (ILoggingEvent e : logs.list) {
      lines.add(e.getFormattedMessage());
      if (e.getThrowableProxy() != null)
        lines.add(ThrowableProxyUtil.asString(e.getThrowableProxy()));
    }
    assertThat(lines).as("log lines captured at DEBUG").isNotEmpty();
    assertThat(lines).allSatisfy(line -> assertThat(line).doesNotContain(KEY));
  }

  static LlmRequest request(Wire w) {
    return new LlmRequest("job-secret", "Acme", 0, "market", 1, w.name(), "prompt", "system");
  }

  static String answer(LlmCall call) throws Exception {
    return call.result().toCompletableFuture().get(10, TimeUnit.SECONDS).text();
  }

  /** Everything a failure says: its message, its description, its string form. */
  static String failure(LlmCall call) {
    CompletableFuture<LlmAnswer> result = call.result().toCompletableFuture();
    try {
      result.get(10, TimeUnit.SECONDS);
      throw new AssertionError("expected a failure");
    } catch (ExecutionException e) {
      LlmCallException f = (LlmCallException) e.getCause();
      return f.getMessage() + " | " + f.describe() + " | " + f;
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
