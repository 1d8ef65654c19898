package io.reportcluster.node.llm.budget;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

import io.reportcluster.node.redis.RedisConnections;
import io.reportcluster.node.redis.RedisKeys;
import io.reportcluster.node.testkit.Await;
import io.reportcluster.node.testkit.TestRedis;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The budget rules of LocalBudgetStoreTest, kept by {@code budget/*.lua} in the shared Redis (under
 * a prefix of each test's own) for two nodes at once: two stores on two connections, as two nodes
 * have, take turns on one budget. Redis keeps time, so waits are checked within the time the test
 * took; windows are 10 s, so nothing leaves a window while a test runs unless it waits for it.
 */
class RedisBudgetStoreIT {
  private static final String P = "openai";
  private static final long WINDOW = 10_000;
  private static final Duration WAIT = Duration.ofSeconds(5);

  private TestRedis redis;
  private RedisConnections nodeA;
  private RedisConnections nodeB;
  private RedisBudgetStore a;
  private RedisBudgetStore b;
  private int calls;

  @BeforeEach
  void connect() {
    redis = new TestRedis();
    nodeA = connection();
    nodeB = connection();
    a = new RedisBudgetStore(nodeA);
    b = new RedisBudgetStore(nodeB);
  }

  private RedisConnections connection() {
    RedisConnections c =
        new RedisConnections(
            redis.url(),
            new RedisKeys(redis.prefix()),
            Duration.ofSeconds(2),
            Duration.ofMillis(200));
    c.start();
    Await.until(WAIT, "connected to Redis", c::isUp);
    return c;
  }

  @AfterEach
  void close() {
    try {
      if (nodeA != null) nodeA.close();
      if (nodeB != null) nodeB.close();
    } finally {
      if (redis != null) redis.close();
    }
  }

  @Test
  @DisplayName("two nodes share one request budget: the burst at once, then one per interval")
  void burstThenSpacingAcrossNodes() {
    Plan plan = new Plan(WINDOW, 10, 3, 0, 0, 0, 0, 0); // one a second, 3 at once
    long t0 = System.nanoTime();
    assertThat(reserve(a, plan, 0)).isEqualTo(Decision.GRANTED);
    assertThat(reserve(b, plan, 0)).isEqualTo(Decision.GRANTED);
    assertThat(reserve(a, plan, 0)).isEqualTo(Decision.GRANTED);
    Decision.Wait w = (Decision.Wait) reserve(b, plan, 0);
    assertThat(w.reason()).isEqualTo(Decision.Reason.REQUESTS);
    assertWaitWithin(w, 1_000, t0);
  }

  @Test
  @DisplayName(
      "the request spacing keeps its fractions of a millisecond (a tenth lost per request adds up)")
  void theTheoreticalArrivalTimeKeepsItsFraction() {
    // One request every 344.827586... ms. Redis counts in whole milliseconds, so the first
    // request's next slot is a whole number plus that fraction.
    Plan plan = new Plan(WINDOW, 29, 1, 0, 0, 0, 0, 0);
    assertThat(reserve(a, plan, 0)).isEqualTo(Decision.GRANTED);
    double tat =
        Double.parseDouble(redis.commands().get(redis.prefix() + "budget:" + P + ":requests"));
    double interval = WINDOW / 29.0;
    assertThat(tat - Math.floor(tat))
        .as("fraction of the next slot %s", tat)
        .isCloseTo(interval - Math.floor(interval), offset(0.001));
  }

  @Test
  @DisplayName("tokens wait until the oldest reservations leave the window")
  void tokensWaitForTheOldestToLeave() {
    Plan plan = tokensPlan(1_000);
    long t0 = System.nanoTime();
    assertThat(reserve(a, plan, 600)).isEqualTo(Decision.GRANTED);
    assertThat(reserve(b, plan, 300)).isEqualTo(Decision.GRANTED);
    Decision.Wait w = (Decision.Wait) reserve(a, plan, 300);
    assertThat(w.reason()).isEqualTo(Decision.Reason.TOKENS);
    assertWaitWithin(w, WINDOW + 1, t0);
  }

  @Test
  @DisplayName("a call that ends gives back, to every node, what it reserved and did not use")
  void settlementGivesTokensBack() {
    Plan plan = tokensPlan(1_000);
    String big = nextId();
    assertThat(reserve(a, plan, big, new Cost(100, 700))).isEqualTo(Decision.GRANTED);
    assertThat(reserve(b, plan, 300)).isInstanceOf(Decision.Wait.class);
    join(a.settle(P, big, null)); // the provider's count unknown: the reservation stays
    assertThat(reserve(b, plan, 300)).isInstanceOf(Decision.Wait.class);
    join(a.settle(P, big, new Cost(90, 60)));
    assertThat(reserve(b, plan, 300)).isEqualTo(Decision.GRANTED);
    assertThat(reserve(b, plan, 550)).isEqualTo(Decision.GRANTED); // 150 + 300 + 550 = 1000
    assertThat(reserve(a, plan, 1)).isInstanceOf(Decision.Wait.class);
  }

  @Test
  @DisplayName("input and output tokens are kept apart when the provider limits them apart")
  void inputAndOutputApart() {
    Plan plan = new Plan(WINDOW, 0, 1, 0, 500, 2_000, 0, 0);
    String first = nextId();
    assertThat(reserve(a, plan, first, new Cost(400, 1_000))).isEqualTo(Decision.GRANTED);
    assertThat(((Decision.Wait) reserve(b, plan, nextId(), new Cost(200, 0))).reason())
        .isEqualTo(Decision.Reason.INPUT_TOKENS);
    assertThat(((Decision.Wait) reserve(b, plan, nextId(), new Cost(0, 1_500))).reason())
        .isEqualTo(Decision.Reason.OUTPUT_TOKENS);
    join(a.settle(P, first, new Cost(250, 10)));
    assertThat(reserve(b, plan, nextId(), new Cost(200, 1_500))).isEqualTo(Decision.GRANTED);
  }

  @Test
  @DisplayName("a call bigger than the whole budget goes alone, in an empty window")
  void aCallBiggerThanTheBudgetGoesAlone() {
    Plan plan = tokensPlan(1_000);
    long t0 = System.nanoTime();
    assertThat(reserve(a, plan, 5_000)).isEqualTo(Decision.GRANTED);
    Decision.Wait w = (Decision.Wait) reserve(b, plan, 1);
    assertThat(w.reason()).isEqualTo(Decision.Reason.TOKENS);
    assertWaitWithin(w, WINDOW + 1, t0);
  }

  @Test
  @DisplayName("a call that must wait is charged nothing")
  void aWaitChargesNothing() {
    Plan plan = new Plan(WINDOW, 10, 2, 100, 0, 0, 0, 0);
    assertThat(reserve(a, plan, 100)).isEqualTo(Decision.GRANTED);
    assertThat(reserve(b, plan, 50)).isInstanceOf(Decision.Wait.class);
    // The burst's second request is still there: the refused call did not take it.
    assertThat(reserve(b, plan, 0)).isEqualTo(Decision.GRANTED);
  }

  @Test
  @DisplayName("a 429 begins one cooldown for every node; later ones extend it, never shorten it")
  void cooldownBeginsOnceThenExtends() {
    Plan plan = new Plan(WINDOW, 600, 6, 0, 0, 0, 0, 0);
    long t0 = System.nanoTime();
    BudgetStore.Cooldown first = join(a.cooldown(P, Duration.ofSeconds(10)));
    assertThat(first.began()).isTrue();
    assertThat(first.left()).isEqualTo(Duration.ofSeconds(10));
    BudgetStore.Cooldown shorter = join(b.cooldown(P, Duration.ofSeconds(5)));
    assertThat(shorter.began()).isFalse();
    assertWithin(shorter.left().toMillis(), 10_000, t0);
    Decision.Wait w = (Decision.Wait) reserve(b, plan, 0);
    assertThat(w.reason()).isEqualTo(Decision.Reason.COOLDOWN);
    assertWaitWithin(w, 10_000, t0);
    long t1 = System.nanoTime();
    BudgetStore.Cooldown longer = join(a.cooldown(P, Duration.ofSeconds(20)));
    assertThat(longer.began()).isFalse();
    assertWithin(longer.left().toMillis(), 20_000, t1);
  }

  @Test
  @DisplayName("a slot in flight is freed when its call ends, on whichever node")
  void settleFreesTheSlot() {
    Plan plan = new Plan(WINDOW, 0, 1, 0, 0, 0, 2, 60_000);
    String first = nextId();
    assertThat(reserve(a, plan, first, new Cost(0, 0))).isEqualTo(Decision.GRANTED);
    assertThat(reserve(b, plan, 0)).isEqualTo(Decision.GRANTED);
    assertThat(((Decision.Wait) reserve(b, plan, 0)).reason())
        .isEqualTo(Decision.Reason.CONCURRENCY);
    join(a.settle(P, first, null));
    assertThat(reserve(b, plan, 0)).isEqualTo(Decision.GRANTED);
  }

  @Test
  @DisplayName("a slot whose call never ended (its node died) is freed when its lease runs out")
  void leaseExpiryFreesTheSlot() {
    Plan plan = new Plan(WINDOW, 0, 1, 0, 0, 0, 1, 1_000);
    long t0 = System.nanoTime();
    assertThat(reserve(a, plan, 0)).isEqualTo(Decision.GRANTED);
    Decision.Wait w = (Decision.Wait) reserve(b, plan, 0);
    assertThat(w.reason()).isEqualTo(Decision.Reason.CONCURRENCY);
    assertWaitWithin(w, 1_000, t0);
    Await.until(WAIT, "the lease ran out", () -> reserve(b, plan, 0) == Decision.GRANTED);
    assertThat(elapsedMs(t0)).as("ms until the slot was free").isGreaterThanOrEqualTo(1_000);
  }

  @Test
  @DisplayName("two nodes asking at once never take more than the budget between them")
  void concurrentReservationsNeverOverspend() {
    Plan plan = tokensPlan(100);
    List<CompletableFuture<Decision>> asks = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      RedisBudgetStore store = i % 2 == 0 ? a : b;
      asks.add(store.reserve(P, plan, nextId(), new Cost(1, 0)).toCompletableFuture());
    }
    long granted =
        asks.stream().map(RedisBudgetStoreIT::join).filter(Decision.GRANTED::equals).count();
    assertThat(granted).as("calls of one token granted on a budget of 100").isEqualTo(100);
  }

  @Test
  @DisplayName(
      "what the window holds, as any node reads it: requests, tokens as settled, the pause;"
          + " reading changes nothing")
  void figuresOfTheSharedWindow() {
    Plan plan = new Plan(WINDOW, 10, 5, 5, 1_000, 500, 200, 0, 0);
    String first = nextId();
    assertThat(reserve(a, plan, first, new Cost(100, 20))).isEqualTo(Decision.GRANTED);
    assertThat(reserve(b, plan, nextId(), new Cost(50, 10))).isEqualTo(Decision.GRANTED);
    join(a.settle(P, first, new Cost(30, 5)));
    long t0 = System.currentTimeMillis();
    join(b.cooldown(P, Duration.ofSeconds(10)));

    BudgetStore.Figures f = join(a.figures(P, WINDOW));
    assertThat(f.requests()).isEqualTo(2);
    assertThat(f.tokens()).isEqualTo(35 + 60);
    assertThat(f.inputTokens()).isEqualTo(80);
    assertThat(f.outputTokens()).isEqualTo(15);
    // Redis keeps the time; this machine's clock and Redis' agree here within a second.
    assertThat(f.cooldownUntilMs()).isBetween(t0 + 10_000 - 1_000, t0 + 10_000 + 1_000);
    assertThat(join(b.figures("never-called", WINDOW))).isEqualTo(BudgetStore.Figures.NONE);

    // Over a window of 1 ms both calls are old: none counts, but nothing was dropped.
    Await.until(
        WAIT,
        "both calls out of a 1 ms window",
        () -> {
          BudgetStore.Figures old = join(a.figures(P, 1));
          return old.requests() == 0 && old.tokens() == 0 && old.inputTokens() == 0;
        });
    assertThat(join(b.figures(P, WINDOW)).tokens()).isEqualTo(95);
  }

  // ------------------------------------------------------------------ helpers

  private static Plan tokensPlan(long tokens) {
    return new Plan(WINDOW, 0, 1, tokens, 0, 0, 0, 0);
  }

  private String nextId() {
    return "call-" + (++calls);
  }

  private Decision reserve(RedisBudgetStore store, Plan plan, long tokens) {
    return reserve(store, plan, nextId(), new Cost(tokens, 0));
  }

  private static Decision reserve(RedisBudgetStore store, Plan plan, String id, Cost cost) {
    return join(store.reserve(P, plan, id, cost));
  }

  private static <T> T join(CompletionStage<T> stage) {
    try {
      return stage.toCompletableFuture().get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("Redis did not answer: " + e, e);
    }
  }

  private static long elapsedMs(long sinceNanos) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sinceNanos);
  }

  /** A wait of {@code fullMs} from about {@code sinceNanos}, less what has passed since then. */
  private static void assertWaitWithin(Decision.Wait w, long fullMs, long sinceNanos) {
    assertWithin(w.delay().toMillis(), fullMs, sinceNanos);
  }

  private static void assertWithin(long ms, long fullMs, long sinceNanos) {
    // Redis' clock ticks in whole ms: allow one either way.
    assertThat(ms).isBetween(fullMs - elapsedMs(sinceNanos) - 1, fullMs + 1);
  }
}
