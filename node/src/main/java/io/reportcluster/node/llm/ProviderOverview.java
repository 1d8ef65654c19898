package io.reportcluster.node.llm;

import io.reportcluster.node.llm.budget.Budgets;
import io.reportcluster.node.llm.provider.ProviderRegistry;
import io.reportcluster.node.llm.provider.ProviderSettings;
import io.reportcluster.protocol.ProvidersView;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The provider entries this node serves, as operators see them: what each is, its limits and
 * prices, its fallback, and what its budget holds now. Built from the entries' settings field by
 * field, so that what must stay secret (the API key, a base URL that may carry credentials) is
 * never in it.
 */
public final class ProviderOverview {
  private final ProviderRegistry providers;
  private final Budgets budgets;

  public ProviderOverview(ProviderRegistry providers, Budgets budgets) {
    this.providers = providers;
    this.budgets = budgets;
  }

  /**
   * Every entry, in the registry's order; one budget read per entry (see {@link Budgets#usage}).
   */
  public CompletionStage<ProvidersView> view() {
    List<CompletableFuture<ProvidersView.Provider>> each = new ArrayList<>();
    for (String name : providers.names()) {
      each.add(budgets.usage(name).thenApply(b -> entry(name, b)).toCompletableFuture());
    }
    return CompletableFuture.allOf(each.toArray(new CompletableFuture[0]))
        .thenApply(v -> new ProvidersView(each.stream().map(CompletableFuture::join).toList()));
  }

  private ProvidersView.Provider entry(String name, ProvidersView.Budget budget) {
    Optional<ProviderSettings> s = providers.settings(name);
    ProviderSettings.Limits l = budgets.limits(name);
    return new ProvidersView.Provider(
        name,
        s.map(e -> e.type().name().toLowerCase(Locale.ROOT)).orElse(null),
        s.map(ProviderSettings::model).orElse(null),
        new ProvidersView.Limits(
            l.rpm() > 0 ? l.rpm() : null,
            l.tpm() > 0 ? l.tpm() : null,
            l.inputTpm() > 0 ? l.inputTpm() : null,
            l.outputTpm() > 0 ? l.outputTpm() : null,
            l.maxConcurrent() > 0 ? l.maxConcurrent() : null),
        s.map(ProviderSettings::fallback).orElse(List.of()),
        budget,
        s.map(e -> new ProvidersView.Prices(e.inputPricePerMillion(), e.outputPricePerMillion()))
            .orElse(null));
  }
}
