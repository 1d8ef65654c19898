package io.reportcluster.tools.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.reportcluster.node.http.PasswordHash;
import io.reportcluster.tools.cli.UsageException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class HashPasswordTest {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int run(String stdin, String... args) throws UsageException {
    return HashPassword.run(
        HashPassword.parse(args),
        new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)),
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  @Test
  void printsAHashOfTheFirstLineOfStdinThatTheNodeAccepts() throws Exception {
    assertThat(run("correct horse battery staple\nsecond line\n", "--iterations", "1000"))
        .isEqualTo(0);
    String line = out.toString(StandardCharsets.UTF_8).strip();
    assertThat(line).startsWith("pbkdf2-sha256$1000$").doesNotContain("horse");
    PasswordHash hash = PasswordHash.parse(line);
    assertThat(hash.matches("correct horse battery staple".toCharArray())).isTrue();
    assertThat(hash.matches("second line".toCharArray())).isFalse();
  }

  @Test
  void aPasswordWithoutNewlineIsReadWhole() throws Exception {
    assertThat(run("s3cret", "--iterations", "1000")).isEqualTo(0);
    assertThat(
            PasswordHash.parse(out.toString(StandardCharsets.UTF_8).strip())
                .matches("s3cret".toCharArray()))
        .isTrue();
  }

  @Test
  void defaultsToOwaspIterations() throws Exception {
    assertThat(HashPassword.parse(new String[0]).iterations).isEqualTo(600_000);
  }

  @Test
  void noPasswordIsStatusOneAndPrintsNothing() throws Exception {
    assertThat(run("")).isEqualTo(1);
    assertThat(run("\n")).isEqualTo(1);
    assertThat(out.toString(StandardCharsets.UTF_8)).isEmpty();
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("no password read");
  }

  @Test
  void iterationsOutOfRangeAreUsageErrors() {
    assertThatThrownBy(() -> HashPassword.parse(new String[] {"--iterations", "999"}))
        .isInstanceOf(UsageException.class)
        .hasMessageContaining("at least 1000");
    assertThatThrownBy(() -> HashPassword.parse(new String[] {"--iterations", "20000000"}))
        .isInstanceOf(UsageException.class)
        .hasMessageContaining("at most 10000000");
    assertThatThrownBy(() -> HashPassword.parse(new String[] {"s3cret"}))
        .isInstanceOf(UsageException.class)
        .hasMessageContaining("unknown option");
  }
}
