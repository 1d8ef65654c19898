package io.reportcluster.tools.fakellm;

import io.reportcluster.tools.cli.Cli;
import io.reportcluster.tools.cli.CommandLine;
import io.reportcluster.tools.cli.UsageException;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** The options of {@code ops/fake-llm}, and its help. */
final class FakeLlmOptions implements Cli.Options {
  static final Cli.Usage USAGE =
      new Cli.Usage(
          "fake-llm",
          "fake-llm --help",
          String.join(
              "\n",
              "Usage: fake-llm [options]",
              "",
              "A local stand-in for the OpenAI, Anthropic and Gemini APIs, on one port: Chat",
              "Completions (POST /v1/chat/completions), Messages (POST /v1/messages) and",
              "generateContent (POST /v1beta/models/MODEL:generateContent, and",
              ":streamGenerateContent?alt=sse), streaming or not, with each API's errors and",
              "rate-limit headers. Answers are readable made-up words; a token is a word, in",
              "the prompt (every text part of every message, system included) and the answer.",
              "Prints one line at start (its URL and the base URLs to give a node), then",
              "nothing per request unless --log-requests. Stops on SIGINT/SIGTERM.",
              "",
              "Options:",
              "  --host HOST              interface to listen on (default 127.0.0.1)",
              "  --port N                 port (default 8090; 0 = any free port)",
              "  --api-key KEY            the key every request must carry (default: any",
              "                           non-empty key); a missing or other key answers 401",
              "  --models A,B,...         the models that exist (default: any name); another",
              "                           answers 404",
              "  --ttft-ms MS             time to the first token (default 200)",
              "  --tokens-per-second N    pace of the tokens after it (default 200; 0 = all",
              "                           at once); a non-streaming answer waits for the whole",
              "  --jitter F               each wait is drawn uniformly within +-F of itself",
              "                           (default 0.2; 0 = exact)",
              "  --answer-tokens N        words per answer (default 150), fewer when the",
              "                           request's max tokens is lower (finish: length)",
              "  --error-rate P           share of requests answered with a server error:",
              "                           half 500, half overloaded (OpenAI 503, Anthropic",
              "                           529, Gemini 503) (default 0)",
              "  --cut-rate P             share of streams whose connection is dropped",
              "                           mid-answer, without an end event (default 0)",
              "  --filter-rate P          share of answers stopped by the content filter",
              "                           (OpenAI content_filter, Anthropic refusal, Gemini",
              "                           SAFETY) after half their words (default 0)",
              "  --rpm [PROVIDER=]N       requests per minute allowed, for each provider or",
              "                           for one (openai, anthropic, gemini); repeatable",
              "                           (default 0 = no limit)",
              "  --tpm [PROVIDER=]N       tokens per minute, input plus answer, likewise",
              "  --log-requests           one line per request on stderr (no keys, no text)",
              "  --help                   print this help",
              "",
              "Limits hold per provider in fixed one-minute windows that start with the first",
              "request after the last one ended; a request is charged its input tokens plus",
              "the answer tokens it will get when admitted, and a refused one costs nothing.",
              "Past a limit a request answers 429 as that provider does. OpenAI: retry-after",
              "(whole seconds), retry-after-ms and x-ratelimit-*-requests/-tokens (resets as",
              "durations like 1.2s, 1m3s). Anthropic: retry-after and anthropic-ratelimit-*",
              "(resets as RFC 3339 times). Gemini: no headers, RetryInfo (retryDelay) and",
              "QuotaFailure in the body. With a limit set, every OpenAI and Anthropic answer",
              "carries its limit headers.",
              "",
              "GET /fake/stats: per provider, requests, answers by status, input and output",
              "tokens of the answers delivered whole, 429s, streams cut, streams the client",
              "left, and what it admitted (passed every check up to the limits; the requests",
              "and tokens a limit charges):",
              "  windows                  one entry per limit window, oldest first, the last",
              "                           1000 (none when the provider has no limit):",
              "                           started_at_ms (epoch ms), requests and tokens",
              "                           admitted, rate_limited (its 429s), complete (false",
              "                           for the last one, which the load may have ended in)",
              "  max_sliding_requests     the most requests admitted within any one minute,",
              "                           sliding, limited or not: what a provider that counts",
              "                           a sliding minute would have seen",
              "  max_sliding_tokens       the most tokens admitted within any one minute,",
              "                           likewise",
              "POST /fake/reset zeroes them all and closes the limit window.",
              "",
              "Exit status: 1 if the port cannot be opened, 2 for bad options.",
              ""));

  String host = "127.0.0.1";
  int port = 8090;
  String apiKey;
  Set<String> models;
  int ttftMs = 200;
  int tokensPerSecond = 200;
  double jitter = 0.2;
  int answerTokens = 150;
  double errorRate;
  double cutRate;
  double filterRate;
  final Map<Provider, Integer> rpm = new EnumMap<>(Provider.class);
  final Map<Provider, Integer> tpm = new EnumMap<>(Provider.class);

  /**
   * The limits' window, and the sliding one of the stats; not in the help: tests, and a short run
   * of ops/bench/limits, shorten it so they need not wait minutes.
   */
  long windowMs = 60_000;

  boolean logRequests;
  boolean help;

  @Override
  public boolean help() {
    return help;
  }

  static FakeLlmOptions parse(String... argv) throws UsageException {
    FakeLlmOptions o = new FakeLlmOptions();
    CommandLine args = new CommandLine(argv);
    while (args.next()) {
      switch (args.flag()) {
        case "--help", "-h" -> o.help = true;
        case "--host" -> o.host = args.value();
        case "--port" -> o.port = args.intValue(0);
        case "--api-key" -> o.apiKey = args.value();
        case "--models" -> o.models = models(args.value());
        case "--ttft-ms" -> o.ttftMs = args.intValue(0);
        case "--tokens-per-second" -> o.tokensPerSecond = args.intValue(0);
        case "--jitter" -> o.jitter = args.doubleValue(0, 1);
        case "--answer-tokens" -> o.answerTokens = args.intValue(1);
        case "--error-rate" -> o.errorRate = args.doubleValue(0, 1);
        case "--cut-rate" -> o.cutRate = args.doubleValue(0, 1);
        case "--filter-rate" -> o.filterRate = args.doubleValue(0, 1);
        case "--rpm" -> limit(o.rpm, "--rpm", args.value());
        case "--tpm" -> limit(o.tpm, "--tpm", args.value());
        case "--window-ms" -> o.windowMs = args.intValue(1);
        case "--log-requests" -> o.logRequests = true;
        default -> throw args.unknown();
      }
    }
    if (o.help) return o;
    if (o.port > 65_535) throw new UsageException("--port must be at most 65535, got " + o.port);
    if (o.apiKey != null && o.apiKey.isBlank()) {
      throw new UsageException("--api-key must not be empty");
    }
    if (o.models != null && o.models.isEmpty()) {
      throw new UsageException("--models needs at least one name");
    }
    return o;
  }

  /** The limit in requests (or tokens) per window of one provider; 0 when there is none. */
  static int limitOf(Map<Provider, Integer> limits, Provider p) {
    return limits.getOrDefault(p, 0);
  }

  private static Set<String> models(String list) {
    Set<String> names = new TreeSet<>();
    Arrays.stream(list.split(",")).map(String::trim).filter(s -> !s.isEmpty()).forEach(names::add);
    return names;
  }

  /** {@code N} sets the limit of every provider, {@code PROVIDER=N} that of one. */
  private static void limit(Map<Provider, Integer> limits, String flag, String value)
      throws UsageException {
    int eq = value.indexOf('=');
    String name = eq < 0 ? null : value.substring(0, eq).trim();
    String number = eq < 0 ? value : value.substring(eq + 1);
    int n;
    try {
      n = Integer.parseInt(number.trim());
    } catch (NumberFormatException e) {
      throw new UsageException(flag + " needs [PROVIDER=]N, got '" + value + "'");
    }
    if (n < 0) throw new UsageException(flag + " must be at least 0, got " + n);
    if (name == null) {
      for (Provider p : Provider.values()) limits.put(p, n);
      return;
    }
    Provider p = Provider.named(name);
    if (p == null) {
      throw new UsageException(
          flag + ": unknown provider '" + name + "' (openai, anthropic or gemini)");
    }
    limits.put(p, n);
  }
}
