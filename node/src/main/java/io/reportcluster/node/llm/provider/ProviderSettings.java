package io.reportcluster.node.llm.provider;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueType;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * One provider entry of {@code reports.llm.providers}: what to call and how, and what its tokens
 * cost. Several entries may share a type (two OpenAI models; a vLLM or Ollama server through the
 * {@code openai} type). The API key is read from the environment by the config; it never appears in
 * {@link #toString()}, a log line, a view or an error.
 */
public record ProviderSettings(
    String name,
    Type type,
    String baseUrl,
    String apiKey,
    String model,
    int maxOutputTokens,
    Duration callTimeout,
    double inputPricePerMillion,
    double outputPricePerMillion,
    Limits limits,
    List<String> fallback) {

  public ProviderSettings {
    limits = limits == null ? Limits.NONE : limits;
    fallback = fallback == null ? List.of() : List.copyOf(fallback);
  }

  /** An entry with no limits and no fallback. */
  public ProviderSettings(
      String name,
      Type type,
      String baseUrl,
      String apiKey,
      String model,
      int maxOutputTokens,
      Duration callTimeout,
      double inputPricePerMillion,
      double outputPricePerMillion) {
    this(
        name,
        type,
        baseUrl,
        apiKey,
        model,
        maxOutputTokens,
        callTimeout,
        inputPricePerMillion,
        outputPricePerMillion,
        Limits.NONE,
        List.of());
  }

  /**
   * The provider's limits for this entry, across the cluster, per limit window (a minute): requests
   * ({@code rpm}), tokens in and out together ({@code tpm}), input and output tokens apart, and
   * calls in flight. 0 means not limited.
   */
  public record Limits(int rpm, long tpm, long inputTpm, long outputTpm, int maxConcurrent) {
    public static final Limits NONE = new Limits(0, 0, 0, 0, 0);

    public Limits {
      if (rpm < 0 || tpm < 0 || inputTpm < 0 || outputTpm < 0 || maxConcurrent < 0)
        throw new IllegalArgumentException("limits must not be negative");
    }

    public boolean any() {
      return rpm > 0 || tpm > 0 || inputTpm > 0 || outputTpm > 0 || maxConcurrent > 0;
    }

    static Limits fromConfig(Config limits) {
      return new Limits(
          limits.getInt("rpm"),
          limits.getLong("tpm"),
          limits.getLong("input-tpm"),
          limits.getLong("output-tpm"),
          limits.getInt("max-concurrent"));
    }
  }

  /** The wire format an entry speaks. */
  public enum Type {
    SIMULATED,
    /** OpenAI Chat Completions, and every server that speaks it. */
    OPENAI,
    /** Anthropic Messages. */
    ANTHROPIC,
    /** Google Gemini generateContent. */
    GEMINI;

    static Type of(String name, String entry) {
      try {
        return valueOf(name.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "reports.llm.providers."
                + entry
                + ".type must be simulated, openai, anthropic or gemini, not '"
                + name
                + "'");
      }
    }
  }

  /** The entry {@code reports.llm.providers.<name>}. */
  public static ProviderSettings fromConfig(String name, Config entry) {
    Type type = Type.of(entry.getString("type"), name);
    return new ProviderSettings(
        name,
        type,
        entry.hasPath("base-url") ? entry.getString("base-url") : "",
        entry.hasPath("api-key") ? entry.getString("api-key") : "",
        entry.hasPath("model") ? entry.getString("model") : name,
        entry.hasPath("max-output-tokens") ? entry.getInt("max-output-tokens") : 1024,
        entry.getDuration("call-timeout"),
        entry.getDouble("price.input-per-million"),
        entry.getDouble("price.output-per-million"),
        entry.hasPath("limits") ? Limits.fromConfig(entry.getConfig("limits")) : Limits.NONE,
        fallbackOf(entry, name));
  }

  /** A list of names, or one string of names separated by commas (from an environment variable). */
  private static List<String> fallbackOf(Config entry, String name) {
    if (!entry.hasPath("fallback")) return List.of();
    List<String> names =
        entry.getValue("fallback").valueType() == ConfigValueType.LIST
            ? entry.getStringList("fallback")
            : Arrays.asList(entry.getString("fallback").split(","));
    List<String> chain = names.stream().map(String::trim).filter(n -> !n.isEmpty()).toList();
    if (chain.contains(name))
      throw new IllegalArgumentException(
          "reports.llm.providers." + name + ".fallback must not name the entry itself");
    return chain;
  }

  /**
   * Whether the entry is served: {@code enabled = on} or {@code off}, or {@code auto} (the
   * default): the simulated provider always, the others when they have an API key.
   */
  public static boolean enabled(Config entry) {
    String enabled = entry.hasPath("enabled") ? entry.getString("enabled") : "auto";
    return switch (enabled.toLowerCase(Locale.ROOT)) {
      case "on", "true", "yes" -> true;
      case "off", "false", "no" -> false;
      default ->
          entry.getString("type").equalsIgnoreCase("simulated")
              || (entry.hasPath("api-key") && !entry.getString("api-key").isBlank());
    };
  }

  /** What the tokens of one answer cost, in US dollars, at this entry's prices. */
  public double costUsd(LlmAnswer.Usage usage) {
    if (usage == null) return 0;
    return (usage.inputTokens() * inputPricePerMillion
            + usage.outputTokens() * outputPricePerMillion)
        / 1_000_000.0;
  }

  /** Everything but the key, which is only said to be set or not. */
  @Override
  public String toString() {
    return "ProviderSettings[name="
        + name
        + ", type="
        + type
        + ", baseUrl="
        + baseUrl
        + ", apiKey="
        + (apiKey == null || apiKey.isEmpty() ? "(none)" : "(set)")
        + ", model="
        + model
        + ", maxOutputTokens="
        + maxOutputTokens
        + ", callTimeout="
        + callTimeout
        + ", price per million in/out="
        + inputPricePerMillion
        + "/"
        + outputPricePerMillion
        + ", limits="
        + limits
        + ", fallback="
        + fallback
        + "]";
  }
}
