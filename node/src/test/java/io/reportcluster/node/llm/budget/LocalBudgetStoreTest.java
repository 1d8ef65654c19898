package io.reportcluster.node.llm.budget;

import static org.assertj.core.api.Assertions.assertThat;

import io.reportcluster.node.llm.provider.ProviderSettings.Limits;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The budget rules, on a node's own memory with a clock the test moves: what {@code
 * budget/reserve.lua} does in Redis (RedisBudgetStoreIT checks the same rules there), and what a
 * node keeps to while Redis is away.
 */
class LocalBudgetStoreTest {
  private static final String P = "openai";
  private static final BudgetSettings SETTINGS = BudgetSettings.DEFAULT;

  private final AtomicLong now = new AtomicLong(1_000_000);
  private final LocalBudgetStore store = new LocalBudgetStore(now::get);
  private int calls;

  @Nested
  @DisplayName("Plan.of")
  class Plans {
    @Test
    @DisplayName(
        "600 RPM: 588 spaced requests a window (2% less), a burst of 12, never 589 in a window")
    void requestsLessHeadroomWithTheBurstPaidFor() {
      Plan plan = Plan.of(limits(600, 0), SETTINGS, 1.0);
      assertThat(plan.windowMs()).isEqualTo(60_000);
      assertThat(plan.requests()).as("the pace: 600 less 2 %% headroom").isEqualTo(588.0);
      assertThat(plan.burst()).as("2 %% of 600").isEqualTo(12);
      assertThat(plan.requestCap()).as("no window above it, whatever the burst").isEqualTo(588);
      assertThat(plan.limited()).isTrue();
    }

    @Test
    @DisplayName("a third of 600 RPM (a node of three, Redis away): 196 a window and a burst of 4")
    void aShareDividesEveryLimit() {
      Plan plan = Plan.of(new Limits(600, 100_000, 60_000, 9_000, 10), SETTINGS, 1.0 / 3);
      assertThat(plan.requests()).isEqualTo(196.0);
      assertThat(plan.burst()).isEqualTo(4);
      assertThat(plan.requestCap()).isEqualTo(196);
      assertThat(plan.tokens()).isEqualTo(32_666); // floor(100,000 x 0.98 / 3)
      assertThat(plan.inputTokens()).isEqualTo(19_600);
      assertThat(plan.outputTokens()).isEqualTo(2_940);
      assertThat(plan.concurrent()).isEqualTo(3);
      assertThat(plan.leaseMs()).isEqualTo(SETTINGS.concurrencyLease().toMillis());
    }

    @Test
    @DisplayName("a share smaller than one request a window stays a fraction, with no burst")
    void aShareBelowOneRequestIsAFraction() {
      Plan plan = Plan.of(limits(1, 0), SETTINGS, 0.5);
      assertThat(plan.requests()).isEqualTo(0.49);
      assertThat(plan.burst()).isEqualTo(1);
    }

    @Test
    @DisplayName("no limits: nothing is limited, and every call is granted")
    void noLimits() {
      Plan plan = Plan.of(Limits.NONE, SETTINGS, 1.0);
      assertThat(plan.limited()).isFalse();
      for (int i = 0; i < 1000; i++) assertThat(reserve(plan, 1_000_000)).isEqualTo(granted());
    }
  }

  @Nested
  @DisplayName("requests")
  class Requests {
    @Test
    @DisplayName("a burst goes at once, then one request per interval, each wait exact")
    void burstThenEvenSpacing() {
      Plan plan = requestsPlan(1_000, 10, 3); // one every 100 ms, 3 at once
      for (int i = 0; i < 3; i++) assertThat(reserve(plan, 0)).isEqualTo(granted());
      assertThat(reserve(plan, 0)).isEqualTo(waitFor(Decision.Reason.REQUESTS, 100));
      now.addAndGet(99);
      assertThat(reserve(plan, 0)).isEqualTo(waitFor(Decision.Reason.REQUESTS, 1));
      now.addAndGet(1);
      assertThat(reserve(plan, 0)).isEqualTo(granted());
      assertThat(reserve(plan, 0)).isEqualTo(waitFor(Decision.Reason.REQUESTS, 100));
    }

    @Test
    @DisplayName("an idle budget refills its burst, never more")
    void idleBudgetRefillsItsBurstOnly() {
      Plan plan = requestsPlan(1_000, 10, 3);
      reserve(plan, 0);
      now.addAndGet(10_000);
      for (int i = 0; i < 3; i++) assertThat(reserve(plan, 0)).isEqualTo(granted());
      assertThat(reserve(plan, 0)).isInstanceOf(Decision.Wait.class);
    }

    @ParameterizedTest(name = "{0} RPM, {1} node(s) on their shares")
    @CsvSource({
      "3, 1",
      "7, 1",
      "30, 1",
      "59, 1",
      "100, 1",
      "199, 1",
      "200, 1",
      "600, 1",
      "1000, 1",
      "10000, 1",
      "30, 2",
      "600, 2",
      "600, 3",
      "1000, 3",
      "10000, 3"
    })
    @DisplayName("callers that ask as often as they may never get more than 98% of RPM in a window")
    void anyWindowStaysWithinTheLimitLessHeadroom(int rpm, int nodes) {
      List<Long> granted = new ArrayList<>();
      long start = now.get();
      long end = start + 5 * 60_000;
      List<LocalBudgetStore> stores = new ArrayList<>();
      List<Long> nextAsk = new ArrayList<>();
      for (int n = 0; n < nodes; n++) {
        // Each node its own clock reading (the shared one) and its own memory.
        stores.add(new LocalBudgetStore(now::get));
        nextAsk.add(start);
      }
      Plan plan = Plan.of(limits(rpm, 0), SETTINGS, 1.0 / nodes);
      while (true) {
        int n = 0;
        for (int i = 1; i < nodes; i++) if (nextAsk.get(i) < nextAsk.get(n)) n = i;
        if (nextAsk.get(n) >= end) break;
        now.set(nextAsk.get(n));
        Decision d = reserve(stores.get(n), plan, 0);
        if (d instanceof Decision.Wait w) {
          nextAsk.set(n, now.get() + w.delay().toMillis());
        } else {
          granted.add(now.get());
        }
      }
      granted.sort(null);
      int most = mostInAnyWindow(granted, 60_000);
      assertThat(most)
          .as("most requests granted in any minute, of %d (RPM %d less 2%%)", rpm, rpm)
          .isLessThanOrEqualTo((int) Math.floor(rpm * 0.98));
      // ... and not much less: the budget is there to be used (the burst is paid out of it).
      assertThat(granted.size() / 5.0)
          .as("requests granted per minute, on average")
          .isGreaterThanOrEqualTo(Math.floor(rpm * 0.98) - nodes * (plan.burst() + 1));
    }
  }

  @Nested
  @DisplayName("tokens")
  class Tokens {
    @Test
    @DisplayName("a call waits until the oldest reservations leave the window, to the millisecond")
    void tokensWaitForTheOldestToLeave() {
      Plan plan = tokensPlan(60_000, 1_000);
      long t0 = now.get();
      assertThat(reserve(plan, 600)).isEqualTo(granted());
      now.addAndGet(10_000);
      assertThat(reserve(plan, 300)).isEqualTo(granted());
      now.addAndGet(10_000);
      // 900 in the window; 300 more need the first 600 gone: they leave at t0 + 60 s.
      Decision d = reserve(plan, 300);
      assertThat(d).isEqualTo(waitFor(Decision.Reason.TOKENS, 40_001));
      now.set(t0 + 59_999);
      assertThat(reserve(plan, 300)).isEqualTo(waitFor(Decision.Reason.TOKENS, 2));
      now.set(t0 + 60_000);
      assertThat(reserve(plan, 300)).isEqualTo(granted());
    }

    @Test
    @DisplayName("a call that ends gives back what it reserved and did not use")
    void settlementGivesTokensBack() {
      Plan plan = tokensPlan(60_000, 1_000);
      String big = nextId();
      assertThat(reserve(plan, big, new Cost(100, 700))).isEqualTo(granted());
      assertThat(reserve(plan, 300)).isInstanceOf(Decision.Wait.class);
      store.settle(P, big, null); // the provider's count unknown: the reservation stays
      assertThat(reserve(plan, 300)).isInstanceOf(Decision.Wait.class);
      store.settle(P, big, new Cost(90, 60));
      assertThat(reserve(plan, 300)).isEqualTo(granted());
      assertThat(reserve(plan, 550)).isEqualTo(granted()); // 150 + 300 + 550 = 1000
      assertThat(reserve(plan, 1)).isEqualTo(waitFor(Decision.Reason.TOKENS, 60_001));
    }

    @Test
    @DisplayName("input and output tokens are kept apart when the provider limits them apart")
    void inputAndOutputApart() {
      Plan plan = new Plan(60_000, 0, 1, 0, 500, 2_000, 0, 0);
      String first = nextId();
      assertThat(reserve(plan, first, new Cost(400, 1_000))).isEqualTo(granted());
      assertThat(reserve(plan, nextId(), new Cost(200, 0)))
          .isEqualTo(waitFor(Decision.Reason.INPUT_TOKENS, 60_001));
      assertThat(reserve(plan, nextId(), new Cost(0, 1_500)))
          .isEqualTo(waitFor(Decision.Reason.OUTPUT_TOKENS, 60_001));
      store.settle(P, first, new Cost(250, 10));
      assertThat(reserve(plan, nextId(), new Cost(200, 1_500))).isEqualTo(granted());
    }

    @Test
    @DisplayName("a call bigger than the whole budget goes alone, in an empty window")
    void aCallBiggerThanTheBudgetGoesAlone() {
      Plan plan = tokensPlan(60_000, 1_000);
      long t0 = now.get();
      assertThat(reserve(plan, 100)).isEqualTo(granted());
      now.addAndGet(1_000);
      // Charged as the whole budget: it waits for the window to empty, then fills it.
      assertThat(reserve(plan, 5_000)).isEqualTo(waitFor(Decision.Reason.TOKENS, 59_001));
      now.set(t0 + 60_000);
      assertThat(reserve(plan, 5_000)).isEqualTo(granted());
      assertThat(reserve(plan, 1)).isEqualTo(waitFor(Decision.Reason.TOKENS, 60_001));
    }

    @Test
    @DisplayName("a call that must wait is charged nothing")
    void aWaitChargesNothing() {
      Plan plan = new Plan(1_000, 10, 1, 100, 0, 0, 0, 0);
      assertThat(reserve(plan, 100)).isEqualTo(granted());
      now.addAndGet(100); // the next request's slot
      assertThat(reserve(plan, 50)).isEqualTo(waitFor(Decision.Reason.TOKENS, 901));
      // Had the refused call taken the slot, this one would wait for the next.
      assertThat(reserve(plan, 0)).isEqualTo(granted());
    }
  }

  @Nested
  @DisplayName("cooldown and calls in flight")
  class CooldownAndConcurrency {
    @Test
    @DisplayName("a 429 begins one cooldown; later ones extend it, never shorten it")
    void cooldownBeginsOnceThenExtends() {
      Plan plan = requestsPlan(60_000, 600, 6);
      assertThat(cooldown(Duration.ofSeconds(10)))
          .isEqualTo(new BudgetStore.Cooldown(true, Duration.ofSeconds(10)));
      now.addAndGet(1_000);
      assertThat(cooldown(Duration.ofSeconds(5)))
          .isEqualTo(new BudgetStore.Cooldown(false, Duration.ofSeconds(9)));
      assertThat(reserve(plan, 0)).isEqualTo(waitFor(Decision.Reason.COOLDOWN, 9_000));
      now.addAndGet(1_000);
      assertThat(cooldown(Duration.ofSeconds(20)))
          .isEqualTo(new BudgetStore.Cooldown(false, Duration.ofSeconds(20)));
      now.addAndGet(20_000);
      assertThat(reserve(plan, 0)).isEqualTo(granted());
      assertThat(cooldown(Duration.ofSeconds(1)).began()).as("a new pause after the end").isTrue();
    }

    @Test
    @DisplayName("a slot in flight is freed when its call ends")
    void settleFreesTheSlot() {
      Plan plan = new Plan(60_000, 0, 1, 0, 0, 0, 2, 180_000);
      String a = nextId();
      assertThat(reserve(plan, a, new Cost(0, 0))).isEqualTo(granted());
      assertThat(reserve(plan, 0)).isEqualTo(granted());
      assertThat(reserve(plan, 0)).isEqualTo(waitFor(Decision.Reason.CONCURRENCY, 180_000));
      store.settle(P, a, null);
      assertThat(reserve(plan, 0)).isEqualTo(granted());
    }

    @Test
    @DisplayName("a slot whose call never ended (its node died) is freed when its lease runs out")
    void leaseExpiryFreesTheSlot() {
      Plan plan = new Plan(60_000, 0, 1, 0, 0, 0, 1, 5_000);
      assertThat(reserve(plan, 0)).isEqualTo(granted());
      now.addAndGet(4_000);
      assertThat(reserve(plan, 0)).isEqualTo(waitFor(Decision.Reason.CONCURRENCY, 1_000));
      now.addAndGet(1_000);
      assertThat(reserve(plan, 0)).isEqualTo(granted());
    }
  }

  @Nested
  @DisplayName("figures for operators")
  class Figures {
    @Test
    @DisplayName(
        "the window's requests and tokens as settled, and the pause; what left the window is gone")
    void whatTheWindowHolds() {
      Plan plan = new Plan(60_000, 600, 10, 600, 10_000, 5_000, 2_000, 0, 0);
      String first = nextId();
      assertThat(reserve(plan, first, new Cost(100, 20))).isEqualTo(granted());
      now.addAndGet(30_000);
      assertThat(reserve(plan, nextId(), new Cost(50, 10))).isEqualTo(granted());
      store.settle(P, first, new Cost(30, 5));
      cooldown(Duration.ofSeconds(5));

      assertThat(figures())
          .isEqualTo(new BudgetStore.Figures(now.get() + 5_000, 2, 30 + 5 + 60, 30 + 50, 5 + 10));
      now.addAndGet(30_000); // the first call left the window, and the pause is over
      assertThat(figures()).isEqualTo(new BudgetStore.Figures(0, 1, 60, 50, 10));
      assertThat(store.figures("never-called", 60_000).toCompletableFuture().join())
          .isEqualTo(BudgetStore.Figures.NONE);
    }
  }

  // ------------------------------------------------------------------ helpers

  private static Limits limits(int rpm, long tpm) {
    return new Limits(rpm, tpm, 0, 0, 0);
  }

  private static Plan requestsPlan(long windowMs, double requests, int burst) {
    return new Plan(windowMs, requests, burst, 0, 0, 0, 0, 0);
  }

  private static Plan tokensPlan(long windowMs, long tokens) {
    return new Plan(windowMs, 0, 1, tokens, 0, 0, 0, 0);
  }

  private String nextId() {
    return "call-" + (++calls);
  }

  /** A call of {@code tokens} tokens, all of them input. */
  private Decision reserve(Plan plan, long tokens) {
    return reserve(store, plan, tokens);
  }

  private Decision reserve(LocalBudgetStore s, Plan plan, long tokens) {
    return s.reserve(P, plan, nextId(), new Cost(tokens, 0)).toCompletableFuture().join();
  }

  private Decision reserve(Plan plan, String id, Cost cost) {
    return store.reserve(P, plan, id, cost).toCompletableFuture().join();
  }

  private BudgetStore.Figures figures() {
    return store.figures(P, 60_000).toCompletableFuture().join();
  }

  private BudgetStore.Cooldown cooldown(Duration pause) {
    return store.cooldown(P, pause).toCompletableFuture().join();
  }

  private static Decision granted() {
    return Decision.GRANTED;
  }

  private static Decision waitFor(Decision.Reason reason, long ms) {
    return new Decision.Wait(reason, Duration.ofMillis(ms));
  }

  /** The most of {@code sorted} times within any half-open window {@code [t, t + window)}. */
  static int mostInAnyWindow(List<Long> sorted, long window) {
    int most = 0;
    int from = 0;
    for (int to = 0; to < sorted.size(); to++) {
      while (sorted.get(to) - sorted.get(from) >= window) from++;
      most = Math.max(most, to - from + 1);
    }
    return most;
  }
}
