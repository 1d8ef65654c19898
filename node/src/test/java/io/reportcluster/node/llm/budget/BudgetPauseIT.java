package io.reportcluster.node.llm.budget;

import static org.assertj.core.api.Assertions.assertThat;

import io.reportcluster.node.llm.provider.ProviderSettings.Limits;
import io.reportcluster.node.redis.RedisConnections;
import io.reportcluster.node.redis.RedisKeys;
import io.reportcluster.node.testkit.Await;
import io.reportcluster.node.testkit.TestRedis;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * A 429 pauses its provider for every node, on the shared Redis (a prefix of the test's own): for a
 * provider with limits at the next reservation, for one without within the recheck interval.
 */
@DisplayName("a 429's pause across nodes")
class BudgetPauseIT {
  private TestRedis redis;
  private RedisConnections first;
  private RedisConnections second;

  private Budgets nodeA;
  private Budgets nodeB;

  @BeforeEach
  void start() {
    redis = new TestRedis();
    first = connect();
    second = connect();
    Map<String, Limits> limits = Map.of("limited", new Limits(1_000, 0, 0, 0, 0));
    nodeA = new Budgets(BudgetSettings.DEFAULT, limits, Optional.of(first), () -> 2);
    nodeB = new Budgets(BudgetSettings.DEFAULT, limits, Optional.of(second), () -> 2);
  }

  private RedisConnections connect() {
    RedisConnections c =
        new RedisConnections(
            redis.url(),
            new RedisKeys(redis.prefix()),
            Duration.ofSeconds(2),
            Duration.ofMillis(200));
    c.start();
    Await.until(Duration.ofSeconds(10), "Redis connected", c::isUp);
    return c;
  }

  @AfterEach
  void stop() {
    first.close();
    second.close();
    redis.close();
  }

  private static Decision reserve(Budgets b, String provider, String id) {
    try {
      return b.reserve(provider, id, new Cost(10, 10))
          .toCompletableFuture()
          .get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Test
  @DisplayName("one node's 429 holds back the other node's calls of that provider, then lets go")
  void aPauseReachesEveryNode() throws Exception {
    for (String provider : new String[] {"limited", "free"}) {
      assertThat(reserve(nodeB, provider, provider + "-before")).isEqualTo(Decision.GRANTED);
      Duration left =
          nodeA
              .rateLimited(provider, Duration.ofSeconds(3))
              .toCompletableFuture()
              .get(5, TimeUnit.SECONDS);
      assertThat(left).isLessThanOrEqualTo(Duration.ofSeconds(3));

      Await.until(
          Duration.ofSeconds(2),
          provider + ": node B sees the pause",
          () -> reserve(nodeB, provider, provider + "-during") instanceof Decision.Wait);
      Decision.Wait held = (Decision.Wait) reserve(nodeB, provider, provider + "-held");
      assertThat(held.reason()).isEqualTo(Decision.Reason.COOLDOWN);
      assertThat(held.delay()).isLessThanOrEqualTo(Duration.ofSeconds(3));
      assertThat(
              nodeA
                  .rateLimited(provider, Duration.ofSeconds(1))
                  .toCompletableFuture()
                  .get(5, TimeUnit.SECONDS))
          .as("a shorter pause leaves the running one as it is")
          .isGreaterThan(Duration.ofSeconds(1));

      Await.until(
          Duration.ofSeconds(6),
          provider + ": the pause ends",
          () -> reserve(nodeB, provider, provider + "-after") == Decision.GRANTED);
    }
  }
}
