package io.reportcluster.node.llm.budget;

import static org.assertj.core.api.Assertions.assertThat;

import io.reportcluster.node.llm.provider.ProviderSettings.Limits;
import io.reportcluster.protocol.ProvidersView;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The budgets of a node without Redis: its share of each limit, as many nodes as are up. */
class BudgetsTest {
  // 600 RPM: a burst of 12 for the whole cluster, 6 for each of two nodes, 4 for each of three.
  private static final Map<String, Limits> LIMITS = Map.of("openai", new Limits(600, 0, 0, 0, 0));
  private final AtomicInteger members = new AtomicInteger(1);
  private final Budgets budgets =
      new Budgets(BudgetSettings.DEFAULT, LIMITS, Optional.empty(), members::get);
  private int calls;

  @Test
  @DisplayName("a node alone has the whole limit")
  void aNodeAloneHasTheWholeLimit() {
    assertThat(grantedAtOnce()).isEqualTo(12);
    assertThat(budgets.mode()).isEqualTo("local");
  }

  @Test
  @DisplayName("a node of two keeps to half of each limit, so that the two stay within it")
  void aNodeOfTwoKeepsToHalf() {
    members.set(2);
    assertThat(grantedAtOnce()).isEqualTo(6);
  }

  @Test
  @DisplayName("a node of three keeps to a third")
  void aNodeOfThreeKeepsToAThird() {
    members.set(3);
    assertThat(grantedAtOnce()).isEqualTo(4);
  }

  @Test
  @DisplayName(
      "operators see the requests in the window, nothing for limits not set, and a 429's pause")
  void usageOfANodeAlone() {
    for (int i = 0; i < 3; i++) {
      budgets.reserve("openai", "call-" + (++calls), new Cost(10, 0)).toCompletableFuture().join();
    }
    ProvidersView.Budget usage = budgets.usage("openai").toCompletableFuture().join();
    assertThat(usage.mode()).isEqualTo("local");
    assertThat(usage.requestsInWindow()).isEqualTo(3L);
    assertThat(usage.tokensInWindow()).as("no token limit: not counted").isNull();
    assertThat(usage.inputTokensInWindow()).isNull();
    assertThat(usage.outputTokensInWindow()).isNull();
    assertThat(usage.cooldownUntil()).isNull();
    assertThat(usage.windowSeconds()).isEqualTo(60);

    Instant before = Instant.now();
    budgets.rateLimited("other", Duration.ofSeconds(30)).toCompletableFuture().join();
    ProvidersView.Budget paused = budgets.usage("other").toCompletableFuture().join();
    assertThat(paused.cooldownUntil())
        .isBetween(before.plusSeconds(29), Instant.now().plusSeconds(30));
    assertThat(paused.requestsInWindow()).as("no limits at all").isNull();
  }

  /**
   * Requests granted one after the other until one must wait for the next interval (~100 ms and
   * more here). A wait of a millisecond or two is asked again: the burst's last request may be
   * refused by a rounding error of the clock's arithmetic, and granted a moment later.
   */
  private int grantedAtOnce() {
    int granted = 0;
    while (granted <= 100) {
      Decision d =
          budgets
              .reserve("openai", "call-" + (++calls), new Cost(0, 0))
              .toCompletableFuture()
              .join();
      if (d instanceof Decision.Granted) granted++;
      else if (((Decision.Wait) d).delay().toMillis() > 5) break;
    }
    return granted;
  }
}
