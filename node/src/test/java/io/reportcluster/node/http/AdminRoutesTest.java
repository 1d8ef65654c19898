package io.reportcluster.node.http;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.typesafe.config.ConfigFactory;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

@DisplayName("admin routes at start: how the password is stored is said once")
class AdminRoutesTest {
  private static ActorTestKit kit;
  private static final ListAppender<ILoggingEvent> logs = new ListAppender<>();
  private static final String HASH = PasswordHash.of("pw".toCharArray(), 1_000).encoded();

  @BeforeAll
  static void start() {
    kit =
        ActorTestKit.create(
            "admin-routes-test",
            ConfigFactory.parseString("pekko.actor.provider = local")
                .withFallback(ConfigFactory.load()));
    Logger logger =
        ((LoggerContext) LoggerFactory.getILoggerFactory()).getLogger(AdminRoutes.class);
    logs.setContext(logger.getLoggerContext());
    logs.start();
    logger.addAppender(logs);
  }

  @AfterAll
  static void stop() {
    ((LoggerContext) LoggerFactory.getILoggerFactory())
        .getLogger(AdminRoutes.class)
        .detachAppender(logs);
    kit.shutdownTestKit();
  }

  @BeforeEach
  void clear() {
    logs.list.clear();
  }

  private List<String> warnings(String user, String password, String hash) {
    new AdminRoutes(kit.system(), user, password, hash);
    return logs.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
  }

  @Test
  @DisplayName("a plain password: a warning that it is stored in plain text, without it")
  void plain() {
    assertThat(warnings("ops", "pw-Plain-9", ""))
        .singleElement()
        .satisfies(
            w ->
                assertThat(w)
                    .contains("stored in plain text", "admin-password-hash", "ops/hash-password")
                    .doesNotContain("pw-Plain-9"));
  }

  @Test
  @DisplayName("a hash: no warning")
  void hashed() {
    assertThat(warnings("ops", "", HASH)).isEmpty();
  }

  @Test
  @DisplayName("a hash and a plain password: the plain one is ignored, and that is said")
  void both() {
    assertThat(warnings("ops", "pw-Plain-9", HASH))
        .singleElement()
        .satisfies(w -> assertThat(w).contains("is ignored").doesNotContain("pw-Plain-9"));
  }

  @Test
  @DisplayName("no credentials: nothing said (nothing is served)")
  void none() {
    assertThat(warnings("", "", "")).isEmpty();
  }
}
