package io.reportcluster.node.http;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("client text in a log line")
class LogSafeTest {
  @Test
  @DisplayName("cannot break or forge a line: controls, separators and bidi controls are escaped")
  void escapes() {
    assertThat(LogSafe.text("ops\n2026-01-01 INFO admin user=root outcome=\"200 OK\""))
        .isEqualTo("ops\\u000a2026-01-01 INFO admin user=root outcome=\\\"200 OK\\\"");
    assertThat(LogSafe.text("a\u0000b\rc\u2028d\u202Ee\u0085"))
        .isEqualTo("a\\u0000b\\u000dc\\u2028d\\u202ee\\u0085");
    assertThat(LogSafe.text("émoji 🚀 ok")).isEqualTo("émoji 🚀 ok");
  }

  @Test
  @DisplayName("is cut after 300 characters")
  void cut() {
    assertThat(LogSafe.text("x".repeat(10_000))).hasSize(303).endsWith("...");
  }
}
