package io.reportcluster.tools.fakellm;

import io.reportcluster.tools.cli.Cli;
import java.io.IOException;
import java.util.concurrent.CountDownLatch;

/**
 * {@code ops/fake-llm}: a local stand-in for the OpenAI, Anthropic and Gemini APIs, for demos,
 * benchmarks and end-to-end runs on machines that cannot reach the real ones (options and behaviour
 * in {@link FakeLlmOptions#USAGE}). Serves until the JVM is stopped.
 */
public final class FakeLlm {
  private FakeLlm() {}

  /** {@code fake-llm [options]}: serves until SIGINT/SIGTERM; 1 if the port cannot be opened. */
  public static int main(String[] args) {
    return Cli.run(FakeLlmOptions.USAGE, args, FakeLlmOptions::parse, FakeLlm::serve);
  }

  private static int serve(FakeLlmOptions options) {
    FakeLlmServer server;
    try {
      server = FakeLlmServer.start(options);
    } catch (IOException | RuntimeException e) {
      System.err.println(
          "fake-llm: cannot listen on "
              + options.host
              + ":"
              + options.port
              + ": "
              + e.getMessage());
      return 1;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(server::close, "fake-llm-stop"));
    System.out.println(startLine(server.uri().toString(), options));
    System.out.flush();
    try {
      new CountDownLatch(1).await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    server.close();
    return 0;
  }

  /** The one line printed at start: where it listens and what to give a node. Never the key. */
  static String startLine(String url, FakeLlmOptions o) {
    return "fake-llm: listening on "
        + url
        + " ("
        + (o.apiKey == null ? "any non-empty API key" : "API key required")
        + "; stats: "
        + url
        + "/fake/stats)  REPORTS_OPENAI_BASE_URL="
        + url
        + "/v1 REPORTS_ANTHROPIC_BASE_URL="
        + url
        + " REPORTS_GEMINI_BASE_URL="
        + url;
  }
}
