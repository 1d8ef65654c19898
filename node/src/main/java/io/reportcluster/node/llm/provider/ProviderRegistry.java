package io.reportcluster.node.llm.provider;

import com.typesafe.config.Config;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** The providers this node can call, by name, and the one used when a submit names none. */
public final class ProviderRegistry {
  private final Map<String, LlmProvider> providers;
  private final String defaultProvider;

  public ProviderRegistry(Map<String, LlmProvider> providers, String defaultProvider) {
    if (!providers.containsKey(defaultProvider)) {
      throw new IllegalArgumentException(
          "default provider '"
              + defaultProvider
              + "' is not configured; known: "
              + providers.keySet());
    }
    this.providers = Collections.unmodifiableMap(new LinkedHashMap<>(providers));
    this.defaultProvider = defaultProvider;
  }

  /** The providers {@code reports.llm} configures. */
  public static ProviderRegistry fromConfig(Config llm) {
    Map<String, LlmProvider> providers = new LinkedHashMap<>();
    providers.put(
        "simulated",
        new SimulatedProvider(SimulatedProvider.Settings.fromConfig(llm.getConfig("simulated"))));
    return new ProviderRegistry(providers, llm.getString("default-provider"));
  }

  public static ProviderRegistry of(LlmProvider... providers) {
    Map<String, LlmProvider> byName = new LinkedHashMap<>();
    for (LlmProvider p : providers) byName.put(p.name(), p);
    return new ProviderRegistry(byName, providers[0].name());
  }

  public Optional<LlmProvider> find(String name) {
    return Optional.ofNullable(providers.get(name));
  }

  public String defaultProvider() {
    return defaultProvider;
  }

  public Set<String> names() {
    return providers.keySet();
  }
}
