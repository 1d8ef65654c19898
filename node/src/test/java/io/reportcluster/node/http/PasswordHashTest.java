package io.reportcluster.node.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@DisplayName("a stored password: PBKDF2-HMAC-SHA256, salted, self-describing")
class PasswordHashTest {

  @Test
  @DisplayName("the stored form names the scheme, the iterations, the salt and the hash")
  void storedForm() {
    String encoded = PasswordHash.of("s3cret".toCharArray(), 1_000).encoded();
    assertThat(encoded).matches("pbkdf2-sha256\\$1000\\$[A-Za-z0-9+/]{22}\\$[A-Za-z0-9+/]{43}");
  }

  @Test
  @DisplayName("the password it was made from matches; any other does not")
  void matches() {
    PasswordHash hash =
        PasswordHash.parse(PasswordHash.of("s3cret".toCharArray(), 1_000).encoded());
    assertThat(hash.matches("s3cret".toCharArray())).isTrue();
    assertThat(hash.matches("s3cret ".toCharArray())).isFalse();
    assertThat(hash.matches("S3cret".toCharArray())).isFalse();
    assertThat(hash.matches("".toCharArray())).isFalse();
  }

  @Test
  @DisplayName("two hashes of one password differ (a fresh salt each), and both match it")
  void salted() {
    PasswordHash a = PasswordHash.of("pw".toCharArray(), 1_000);
    PasswordHash b = PasswordHash.of("pw".toCharArray(), 1_000);
    assertThat(a.encoded()).isNotEqualTo(b.encoded());
    assertThat(a.matches("pw".toCharArray()) && b.matches("pw".toCharArray())).isTrue();
  }

  @Test
  @DisplayName("a Unicode password is hashed as itself")
  void unicode() {
    PasswordHash hash = PasswordHash.of("pässwörd 🔑".toCharArray(), 1_000);
    assertThat(hash.matches("pässwörd 🔑".toCharArray())).isTrue();
    assertThat(hash.matches("passwword 🔑".toCharArray())).isFalse();
  }

  @ParameterizedTest(name = "\"{0}\"")
  @ValueSource(
      strings = {
        "",
        "s3cret",
        "bcrypt$1000$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
        "pbkdf2-sha256$1000$c2FsdHNhbHRzYWx0",
        "pbkdf2-sha256$many$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
        "pbkdf2-sha256$999$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
        "pbkdf2-sha256$1000$!!!$aGFzaGhhc2hoYXNoaGFzaA",
        "pbkdf2-sha256$1000$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
        "pbkdf2-sha256$1000$c2FsdHNhbHRzYWx0$aGFzaA",
        "pbkdf2-sha256$1000$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA$extra"
      })
  @DisplayName("what is not a stored form is refused, without repeating it")
  void refused(String encoded) {
    assertThatThrownBy(() -> PasswordHash.parse(encoded))
        .isInstanceOf(IllegalArgumentException.class)
        .satisfies(
            e -> {
              if (encoded.length() > 8) assertThat(e.getMessage()).doesNotContain(encoded);
            });
  }

  @Test
  @DisplayName("its text form shows the scheme and iterations, never the hash")
  void toStringHidesTheHash() {
    PasswordHash hash = PasswordHash.of("pw".toCharArray(), 1_000);
    String[] parts = hash.encoded().split("\\$");
    assertThat(hash.toString())
        .contains("pbkdf2-sha256", "1000")
        .doesNotContain(parts[2], parts[3]);
  }
}
