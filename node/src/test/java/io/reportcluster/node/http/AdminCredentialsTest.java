package io.reportcluster.node.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigException;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("the admin's credentials, as configured and as checked")
class AdminCredentialsTest {
  private static final String HASH = PasswordHash.of("s3cret".toCharArray(), 1_000).encoded();

  @Test
  @DisplayName("no user, or no password of either kind: no admin credentials, so no admin routes")
  void none() {
    assertThat(AdminCredentials.of("", "s3cret", "")).isEmpty();
    assertThat(AdminCredentials.of("", "", HASH)).isEmpty();
    assertThat(AdminCredentials.of("ops", "", "")).isEmpty();
  }

  @Test
  @DisplayName("a plain password: the right name and password pass, anything else fails")
  void plain() {
    AdminCredentials c = AdminCredentials.of("ops", "s3cret", "").orElseThrow();
    assertThat(c.plainText()).isTrue();
    assertThat(c.matches("ops", "s3cret")).isTrue();
    assertThat(c.matches("ops", "s3cre")).isFalse();
    assertThat(c.matches("ops", "s3cret\u0000")).isFalse();
    assertThat(c.matches("Ops", "s3cret")).isFalse();
    assertThat(c.matches("", "s3cret")).isFalse();
    assertThat(c.matches("ops", "")).isFalse();
  }

  @Test
  @DisplayName("a hash: checked against it; a plain password beside it is ignored")
  void hashed() {
    AdminCredentials c = AdminCredentials.of("ops", "other", HASH).orElseThrow();
    assertThat(c.plainText()).isFalse();
    assertThat(c.matches("ops", "s3cret")).isTrue();
    assertThat(c.matches("ops", "other")).isFalse();
    assertThat(c.matches("root", "s3cret")).isFalse();
  }

  @Test
  @DisplayName("a hash that cannot be read stops the node at start, naming the key, not the value")
  void badHash() {
    String bad = "pbkdf2-sha256$10$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA";
    assertThatThrownBy(() -> AdminCredentials.of("ops", "", bad))
        .isInstanceOf(ConfigException.BadValue.class)
        .hasMessageContaining("reports.management.admin-password-hash")
        .hasMessageContaining("ops/hash-password")
        .hasMessageNotContaining("c2FsdHNhbHRzYWx0");
  }
}
