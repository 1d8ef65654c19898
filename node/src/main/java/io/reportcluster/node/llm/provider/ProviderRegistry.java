package io.reportcluster.node.llm.provider;

import com.typesafe.config.Config;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.apache.pekko.actor.typed.ActorSystem;

/** The providers this node can call, by name, and the one used when a submit names none. */
public final class ProviderRegistry {
  private final Map<String, LlmProvider> providers;
  private final Map<String, ProviderSettings> settings;
  private final String defaultProvider;

  public ProviderRegistry(Map<String, LlmProvider> providers, String defaultProvider) {
    this(providers, Map.of(), defaultProvider);
  }

  public ProviderRegistry(
      Map<String, LlmProvider> providers,
      Map<String, ProviderSettings> settings,
      String defaultProvider) {
    if (!providers.containsKey(defaultProvider)) {
      throw new IllegalArgumentException(
          "default provider '"
              + defaultProvider
              + "' is not configured; known: "
              + providers.keySet());
    }
    this.providers = Collections.unmodifiableMap(new LinkedHashMap<>(providers));
    this.settings = Map.copyOf(settings);
    this.defaultProvider = defaultProvider;
  }

  /**
   * The providers {@code reports.llm.providers} configures and enables (see {@link
   * ProviderSettings#enabled}), each entry over {@code reports.llm.provider-defaults}.
   */
  public static ProviderRegistry fromConfig(ActorSystem<?> system, Config llm) {
    Map<String, LlmProvider> providers = new LinkedHashMap<>();
    Map<String, ProviderSettings> settings = new LinkedHashMap<>();
    Config entries = llm.getConfig("providers");
    for (String name : new TreeSet<>(entries.root().keySet())) {
      Config entry = entries.getConfig(name).withFallback(llm.getConfig("provider-defaults"));
      if (!ProviderSettings.enabled(entry)) continue;
      ProviderSettings s = ProviderSettings.fromConfig(name, entry);
      providers.put(name, create(system, s, llm));
      settings.put(name, s);
    }
    settings.forEach(
        (name, s) -> {
          for (String next : s.fallback()) {
            if (!providers.containsKey(next))
              throw new IllegalArgumentException(
                  "reports.llm.providers."
                      + name
                      + ".fallback names '"
                      + next
                      + "', which is not a configured and enabled provider; enabled: "
                      + providers.keySet());
          }
        });
    return new ProviderRegistry(providers, settings, llm.getString("default-provider"));
  }

  private static LlmProvider create(ActorSystem<?> system, ProviderSettings s, Config llm) {
    return switch (s.type()) {
      case SIMULATED ->
          new SimulatedProvider(
              s.name(), SimulatedProvider.Settings.fromConfig(llm.getConfig("simulated")));
      case OPENAI -> new OpenAiProvider(system, s);
      case ANTHROPIC -> new AnthropicProvider(system, s);
      case GEMINI -> new GeminiProvider(system, s);
    };
  }

  public static ProviderRegistry of(LlmProvider... providers) {
    Map<String, LlmProvider> byName = new LinkedHashMap<>();
    for (LlmProvider p : providers) byName.put(p.name(), p);
    return new ProviderRegistry(byName, providers[0].name());
  }

  public Optional<LlmProvider> find(String name) {
    return Optional.ofNullable(providers.get(name));
  }

  /** The entry a provider was configured from; empty for providers given directly (tests). */
  public Optional<ProviderSettings> settings(String name) {
    return Optional.ofNullable(settings.get(name));
  }

  /**
   * The providers a step of a job that names only {@code provider} may use, in order: the entry
   * itself, then its configured fallback.
   */
  public List<String> chainFor(String provider) {
    List<String> chain = new ArrayList<>();
    chain.add(provider);
    settings(provider).ifPresent(s -> s.fallback().forEach(chain::add));
    return List.copyOf(chain);
  }

  /** Each entry's limits, by name. */
  public Map<String, ProviderSettings.Limits> limits() {
    Map<String, ProviderSettings.Limits> limits = new LinkedHashMap<>();
    settings.forEach((name, s) -> limits.put(name, s.limits()));
    return limits;
  }

  public String defaultProvider() {
    return defaultProvider;
  }

  public Set<String> names() {
    return providers.keySet();
  }
}
