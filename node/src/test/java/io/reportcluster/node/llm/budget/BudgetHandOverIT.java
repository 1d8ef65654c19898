package io.reportcluster.node.llm.budget;

import static org.assertj.core.api.Assertions.assertThat;

import io.reportcluster.node.llm.provider.ProviderSettings.Limits;
import io.reportcluster.node.redis.RedisConnections;
import io.reportcluster.node.redis.RedisKeys;
import io.reportcluster.node.testkit.Await;
import io.reportcluster.node.testkit.RedisServer;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * A node's budget across a Redis outage, against a redis-server of the test's own (killed and
 * started again; never the shared one): the node keeps to its share while Redis is away, and hands
 * what it spent over when Redis returns, so the window that spans the outage is not spent twice.
 */
@DisplayName("rate limits across a Redis outage")
class BudgetHandOverIT {
  /** 1,000 tokens per window, 980 of them usable (2 % headroom); a window no test outlives. */
  private static final Limits LIMITS = new Limits(0, 1_000, 0, 0, 0);

  private static final BudgetSettings SETTINGS =
      new BudgetSettings(
          Duration.ofMinutes(5),
          0.02,
          0.0,
          Duration.ofMillis(100),
          Duration.ofSeconds(10),
          0.1,
          Duration.ofSeconds(30),
          Duration.ofMinutes(3));

  private RedisServer server;
  private RedisConnections redis;
  private int members = 1;
  private Budgets budgets;

  @BeforeEach
  void start() {
    server = RedisServer.start();
    redis =
        new RedisConnections(
            server.url(),
            new RedisKeys("handover:"),
            Duration.ofSeconds(1),
            Duration.ofMillis(100));
    redis.start();
    Await.until(Duration.ofSeconds(10), "Redis connected", redis::isUp);
    budgets = new Budgets(SETTINGS, Map.of("p", LIMITS), Optional.of(redis), () -> members);
  }

  @AfterEach
  void stop() {
    redis.close();
    server.close();
  }

  private Decision reserve(String id, long tokens) throws Exception {
    return budgets
        .reserve("p", id, new Cost(tokens, 0))
        .toCompletableFuture()
        .get(5, TimeUnit.SECONDS);
  }

  @Test
  @DisplayName(
      "with Redis away a node of three keeps to a third; back, the shared budget counts what it"
          + " spent meanwhile")
  void shareThenHandOver() throws Exception {
    assertThat(reserve("before", 100)).isEqualTo(Decision.GRANTED);
    assertThat(budgets.mode()).isEqualTo("shared");

    server.kill();
    members = 3;
    Await.until(Duration.ofSeconds(10), "Redis seen gone", () -> !redis.isUp());
    // Its share: 980 / 3 = 326 tokens, of which it spent 100 in the window before Redis went.
    assertThat(reserve("away-1", 200)).isEqualTo(Decision.GRANTED);
    assertThat(budgets.mode()).isEqualTo("local-share");
    assertThat(reserve("away-2", 100))
        .as("100 before + 200 + 100 is past its third of the limit")
        .isInstanceOf(Decision.Wait.class);

    server.restart();
    Await.until(Duration.ofSeconds(10), "Redis back", redis::isUp);
    // The restarted Redis lost everything (it saves nothing): shared = the 100 + 200 handed over.
    // Without the hand-over, 500 + 200 would fit in 980.
    assertThat(reserve("back-1", 500)).isEqualTo(Decision.GRANTED);
    assertThat(budgets.mode()).isEqualTo("shared");
    Decision over = reserve("back-2", 200);
    assertThat(over).as("300 + 500 + 200 > 980").isInstanceOf(Decision.Wait.class);
    assertThat(((Decision.Wait) over).reason()).isEqualTo(Decision.Reason.TOKENS);
  }
}
